"""AI commands: import knowledge, train the intent model, benchmarks that print JSON."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from tandem.cli.main import app, cli_transaction, console, fail
from tandem.cli.progress import progress_bar
from tandem.core.errors import TandemError
from tandem.db.session import scope_session
from tandem.workspaces.service import get_workspace_by_name

kb_app = typer.Typer(help="Knowledge base: articles and approved answers.", no_args_is_help=True)
bench_app = typer.Typer(help="Benchmarks that print JSON.", no_args_is_help=True)
app.add_typer(kb_app, name="kb")
model_app = typer.Typer(
    help="Model versions: list them, promote a candidate, roll back.", no_args_is_help=True
)
app.add_typer(bench_app, name="bench")
app.add_typer(model_app, name="model")

WorkspaceOpt = Annotated[str, typer.Option("--workspace", "-w", help="Workspace name.")]


@kb_app.command("import")
def kb_import(
    files: Annotated[list[Path], typer.Argument(help=".md, .html or .csv files")],
    workspace: WorkspaceOpt,
    answers: Annotated[
        bool,
        typer.Option(
            "--answers",
            help="CSV rows with an intent column become approved answers the AI may send.",
        ),
    ] = False,
) -> None:
    """Import articles (chunked and embedded for retrieval), or approved answers per intent."""
    from tandem.knowledge.importers import read_documents
    from tandem.knowledge.service import import_documents, upsert_answer
    from tandem.triage.embedders import get_embedder
    from tandem.triage.pipeline import SIGNAL_EMBEDDER

    documents = []
    try:
        for path in files:
            documents.extend(read_documents(path))
    except TandemError as exc:
        raise fail(exc.message) from None
    with cli_transaction() as session:
        ws = get_workspace_by_name(session, workspace)
        scope_session(session, ws.id)
        if answers:
            with_intent = [d for d in documents if d.intent]
            if not with_intent:
                raise fail("--answers needs a CSV with an 'intent' column")
            for doc in with_intent:
                upsert_answer(
                    session,
                    workspace_id=ws.id,
                    intent=doc.intent or "",
                    title=doc.title,
                    body=doc.body,
                )
            console.print(
                f"Imported {len(with_intent)} approved answers into {ws.name}.", highlight=False
            )
            return
        with progress_bar() as update:
            result = import_documents(
                session,
                workspace_id=ws.id,
                documents=documents,
                embedder=get_embedder(SIGNAL_EMBEDDER),
                progress=lambda done, total: update("embedding articles", done, total),
            )
    console.print(
        f"Imported {result.articles} articles ({result.chunks} chunks) into {workspace}.",
        highlight=False,
    )


@app.command()
def train(
    workspace: WorkspaceOpt,
    data: Annotated[
        Path | None, typer.Option(help="Labelled CSV or JSONL to add before training.")
    ] = None,
    text_column: Annotated[str, typer.Option(help="Column with the message text.")] = "text",
    label_column: Annotated[str, typer.Option(help="Column with the intent label.")] = "label",
    embedder: Annotated[
        str | None, typer.Option(help="Embedder name (default: the model's).")
    ] = None,
) -> None:
    """Train the workspace's intent model on its examples and activate the new version."""
    from tandem.knowledge.service import add_training_examples
    from tandem.triage.evaluation import DataError, load_labeled_rows
    from tandem.triage.service import train_model

    rows: list[tuple[str, str]] = []
    if data is not None:
        try:
            texts, labels = load_labeled_rows(
                data, text_column=text_column, label_column=label_column
            )
        except DataError as exc:
            raise fail(str(exc)) from None
        rows = list(zip(texts, labels, strict=True))
    with cli_transaction() as session:
        ws = get_workspace_by_name(session, workspace)
        scope_session(session, ws.id)
        if rows:
            added = add_training_examples(session, workspace_id=ws.id, rows=rows, source="import")
            console.print(f"Added {added} labelled examples.", highlight=False)
        with progress_bar() as update:
            version = train_model(session, workspace=ws, embedder_name=embedder, progress=update)
        description = dict(version.description)
        status, reason = version.status, version.promotion_reason
    if status == "active":
        console.print(
            f"Model version {version.version} is active for {workspace}.", highlight=False
        )
    else:
        console.print(
            f"Model version {version.version} stays a candidate: {reason}. "
            f"Promote it anyway with: tandem model promote {version.version} -w {workspace} "
            '--reason "..."',
            highlight=False,
        )
    console.print(threshold_summary(description), highlight=False)
    console.print_json(json.dumps(description, default=str))


def threshold_summary(description: dict[str, object]) -> str:
    """Return the two figures the threshold stands for, in words (training data only)."""

    def pct(key: str) -> str:
        value = description.get(key)
        return f"{value:.1%}" if isinstance(value, int | float) else "n/a"

    return (
        f"Expected, from training data only: in-scope precision {pct('cv_in_scope_precision')} "
        f"at {pct('cv_in_scope_automation')} automation; needs no intent covers escalated: "
        f"{pct('cv_unseen_escalation')}."
    )


@bench_app.command("triage")
def bench_triage(
    messages: Annotated[
        Path | None, typer.Option(help="CSV of messages to triage (default: the demo store's).")
    ] = None,
    text_column: Annotated[str, typer.Option()] = "text",
    count: Annotated[int, typer.Option(min=10, help="How many messages to time.")] = 500,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the JSON here.")] = None,
) -> None:
    """Time the whole per-message triage (all signals + intent) on a trained model."""
    from tandem.triage.bench import run_triage_benchmark

    result = _run_bench(
        run_triage_benchmark, messages_path=messages, text_column=text_column, count=count
    )
    text = json.dumps(result, indent=2)
    if json_out:
        json_out.write_text(text + "\n", encoding="utf-8")
        console.print(
            f"latency p50 {result['latency_ms_p50']} ms, p95 {result['latency_ms_p95']} ms"
        )
    else:
        sys.stdout.write(text + "\n")


def _run_bench(run: Callable[..., dict[str, Any]], **options: Any) -> dict[str, Any]:
    """Run a benchmark with progress bars; a bad input or data file ends the command cleanly."""
    with progress_bar() as update:
        try:
            return run(progress=update, **options)
        except (TandemError, ValueError) as exc:
            raise fail(str(exc)) from None


def _print_json(result: dict[str, object], json_out: Path | None, summary: str) -> None:
    text = json.dumps(result, indent=2)
    if json_out:
        json_out.write_text(text + "\n", encoding="utf-8")
        console.print(summary, highlight=False)
    else:
        sys.stdout.write(text + "\n")


@bench_app.command("kb")
def bench_kb(
    data: Annotated[Path, typer.Option(help="CSV with a question, intent and agent answer.")],
    out_of_scope: Annotated[
        list[Path] | None,
        typer.Option(
            "--out-of-scope",
            help="CSV(s) with text,intent whose 'oos' rows must not be answered "
            "(default: CLINC150 val and oos_val beside the data folder).",
        ),
    ] = None,
    precision_target: Annotated[float, typer.Option(min=0.5, max=0.999)] = 0.95,
    seed: Annotated[int, typer.Option(help="Picks the one answer per intent.")] = 13,
    text_column: Annotated[str, typer.Option()] = "instruction",
    label_column: Annotated[str, typer.Option()] = "intent",
    answer_column: Annotated[str, typer.Option()] = "response",
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the JSON here.")] = None,
) -> None:
    """Answer from a help center of one article per intent; measure precision and escalation."""
    from tandem.knowledge.bench import run_kb_benchmark

    if out_of_scope is None:
        clinc = data.resolve().parent.parent / "clinc150"
        out_of_scope = [p for p in (clinc / "val.csv", clinc / "oos_val.csv") if p.is_file()]
    result = _run_bench(
        run_kb_benchmark,
        data=data,
        out_of_scope=out_of_scope,
        precision_target=precision_target,
        seed=seed,
        text_column=text_column,
        label_column=label_column,
        answer_column=answer_column,
    )
    _print_json(
        result, json_out, f"answered {result['answered_share']}, precision {result['precision']}"
    )


@bench_app.command("demo")
def bench_demo(
    questions: Annotated[Path, typer.Option(help="CSV with text,label,kind columns.")],
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the JSON here.")] = None,
) -> None:
    """Seed and train the demo store in a throwaway database; measure what it would answer."""
    from tandem.demo.bench import run_demo_benchmark

    result = _run_bench(run_demo_benchmark, questions=questions)
    _print_json(result, json_out, f"{result['questions']} questions planned")


@model_app.command("list")
def model_list(
    workspace: WorkspaceOpt,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """List the workspace's model versions, newest first, with their held-back figures."""
    from rich.table import Table

    from tandem.triage.training import list_versions

    table = Table("version", "status", "trigger", "held out", "precision", "automation", "why")
    with cli_transaction() as session:
        scope_session(session, get_workspace_by_name(session, workspace).id)
        versions = list_versions(session)
        if as_json:
            rows = [
                {
                    "version": v.version,
                    "status": v.status,
                    "trigger": v.trigger,
                    "promotion_reason": v.promotion_reason,
                    "evaluation": v.evaluation,
                }
                for v in versions
            ]
            print(json.dumps(rows, default=str))
            return
        for v in versions:
            figures = (v.evaluation or {}).get("candidate") or {}
            precision = figures.get("precision")
            table.add_row(
                str(v.version),
                v.status,
                v.trigger,
                str((v.evaluation or {}).get("held_out", "")),
                f"{precision:.1%}" if isinstance(precision, float) else "",
                f"{figures['automation']:.1%}" if "automation" in figures else "",
                v.promotion_reason or "",
            )
    console.print(table)


def _activate(workspace: str, version: int, reason: str | None) -> None:
    from tandem.triage.training import activate

    try:
        with cli_transaction() as session:
            ws = get_workspace_by_name(session, workspace)
            scope_session(session, ws.id)
            activate(session, workspace_id=ws.id, version=version, reason=reason)
    except TandemError as exc:
        raise fail(exc.message) from None
    console.print(f"Model version {version} is active for {workspace}.", highlight=False)


@model_app.command("promote")
def model_promote(
    version: Annotated[int, typer.Argument(help="The version to make active.")],
    workspace: WorkspaceOpt,
    reason: Annotated[
        str | None, typer.Option(help="Why (audited; needed for a candidate not promoted).")
    ] = None,
) -> None:
    """Make a candidate version active by hand."""
    _activate(workspace, version, reason)


@model_app.command("rollback")
def model_rollback(
    version: Annotated[int, typer.Argument(help="The earlier version to go back to.")],
    workspace: WorkspaceOpt,
    reason: Annotated[str | None, typer.Option(help="Why (audited).")] = None,
) -> None:
    """Go back to an earlier version; the next message is answered by it."""
    _activate(workspace, version, reason)
