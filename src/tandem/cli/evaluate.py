"""`tandem eval ...`: measure the AI front line on labelled data."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

eval_app = typer.Typer(
    help="Measure the AI front line on labelled data (accuracy, automation, latency).",
    no_args_is_help=True,
)


@eval_app.callback()
def _group() -> None:
    """Measure the AI front line on labelled data."""
    # A callback keeps this a command group, so `eval intents` works even with one command.


def _fail(message: str) -> typer.Exit:
    Console(stderr=True, highlight=False, soft_wrap=True).print(f"[bold red]error:[/] {message}")
    return typer.Exit(code=2)


@eval_app.command("intents")
def intents(
    train: Annotated[
        list[Path],
        typer.Option("--train", help="Training CSV/JSONL; repeat to concatenate several files."),
    ],
    test: Annotated[Path, typer.Option("--test", help="Test CSV/JSONL.")],
    text_column: Annotated[str, typer.Option(help="Column holding the message.")] = "text",
    label_column: Annotated[str, typer.Option(help="Column holding the intent.")] = "label",
    out_of_scope_label: Annotated[
        str | None,
        typer.Option("--out-of-scope-label", help="Label of messages no intent covers."),
    ] = None,
    precision_target: Annotated[
        float, typer.Option(help="Required precision of the answers the model gives alone.")
    ] = 0.95,
    embedder: Annotated[
        str | None, typer.Option(help="Embedder name, e.g. 'use-m3+minilm-l6-int8'.")
    ] = None,
    json_path: Annotated[
        Path | None, typer.Option("--json", help="Write the JSON report here (default: stdout).")
    ] = None,
) -> None:
    """Train an intent model on --train, then report how it does on --test."""
    from tandem.triage.evaluation import DataError, evaluate_intents, load_labeled_rows

    if not 0.0 < precision_target < 1.0:
        raise _fail(f"--precision-target must be between 0 and 1 (got {precision_target})")
    try:
        train_texts: list[str] = []
        train_labels: list[str] = []
        for path in train:
            texts, labels = load_labeled_rows(path, text_column, label_column)
            train_texts += texts
            train_labels += labels
        test_texts, test_labels = load_labeled_rows(test, text_column, label_column)
    except DataError as exc:
        raise _fail(str(exc)) from None

    # The table and progress go to stderr whenever stdout carries the JSON.
    console = Console(stderr=json_path is None)
    progress = Progress(
        TextColumn("{task.description:<16}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=False,
    )
    tasks: dict[str, TaskID] = {}

    def report(stage: str, done: int, total: int) -> None:
        if stage not in tasks:
            tasks[stage] = progress.add_task(stage, total=total)
        progress.update(tasks[stage], completed=done, total=total)

    try:
        with progress:
            result = evaluate_intents(
                train_texts,
                train_labels,
                test_texts,
                test_labels,
                oos_label=out_of_scope_label,
                precision_target=precision_target,
                embedder_name=embedder,
                progress=report,
            )
    except (DataError, ValueError) as exc:
        raise _fail(str(exc)) from None

    console.print(_table(result))
    text = json.dumps(result, indent=2)
    if json_path is None:
        sys.stdout.write(text + "\n")
        return
    try:
        json_path.write_text(text + "\n", encoding="utf-8")
    except OSError as exc:
        raise _fail(f"cannot write {json_path}: {exc.strerror or exc}") from None
    console.print(f"JSON report written to {json_path}")


def _table(result: dict[str, Any]) -> Table:
    """Return the headline figures as a two-column table."""
    table = Table(title="Intent evaluation", show_header=True, header_style="bold")
    table.add_column("metric")
    table.add_column("value", justify="right")
    percent = {
        "accuracy",
        "macro_f1",
        "automation_rate",
        "answered_precision",
        "oos_escalation_recall",
        "in_scope_automation_rate",
    }
    for key, value in result.items():
        if key == "model":
            continue
        if value is None:
            shown = "-"
        elif key in percent:
            shown = f"{100 * value:.2f}%"
        elif key == "threshold":
            shown = f"{value:.4f}"
        elif key.startswith("latency"):
            shown = f"{value:.2f} ms"
        else:
            shown = str(value)
        table.add_row(key, shown)
    model = result.get("model", {})
    table.add_row("embedder", str(model.get("embedder")))
    table.add_row("precision target", str(model.get("precision_target")))
    return table
