"""`tandem replay`: prove the learning loop on a labelled stream (JSON figures, a chart)."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from tandem.cli.main import app, fail
from tandem.cli.progress import progress_bar
from tandem.config import get_settings
from tandem.core.errors import TandemError


@app.command()
def replay(
    stream: Annotated[
        Path, typer.Option(help="Labelled CSV or JSONL stream of customer messages.")
    ],
    text_column: Annotated[str, typer.Option(help="Column with the message text.")] = "text",
    label_column: Annotated[str, typer.Option(help="Column with the intent label.")] = "label",
    answer_column: Annotated[
        str | None,
        typer.Option(help="Column with the agent's answer (default: a fixed answer per label)."),
    ] = None,
    window: Annotated[int, typer.Option(help="Messages per reported window.")] = 1000,
    retrain_every: Annotated[
        int, typer.Option(help="Retrain after this many new examples (the workspace schedule).")
    ] = 500,
    precision_target: Annotated[
        float, typer.Option(help="The workspace's precision target.")
    ] = 0.95,
    seed: Annotated[
        int | None, typer.Option(help="Shuffle the stream with this seed (omit: keep its order).")
    ] = 0,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Write the JSON report here (default: stdout).")
    ] = None,
    plot_out: Annotated[
        Path | None, typer.Option("--plot", help="Draw the learning curve to this PNG.")
    ] = None,
    database_url: Annotated[
        str | None,
        typer.Option(help="Replay into this database and keep it (default: a throwaway SQLite)."),
    ] = None,
) -> None:
    """Replay a stream through a fresh workspace: the AI learns from the simulated agents."""
    from tandem.learning.replay import ReplayConfig, StreamError, plot, read_stream, run
    from tandem.triage.evaluation import DataError

    max_chars = get_settings().max_message_chars
    try:
        config = ReplayConfig(
            window=window,
            retrain_every=retrain_every,
            precision_target=precision_target,
            seed=seed,
        )
        # The whole stream is checked before anything is written.
        rows = read_stream(
            stream,
            text_column=text_column,
            label_column=label_column,
            answer_column=answer_column,
            max_chars=max_chars,
        )
    except (StreamError, DataError) as exc:
        raise fail(str(exc)) from None
    except TandemError as exc:
        raise fail(exc.message) from None
    for path in (json_out, plot_out):
        if path is not None and not path.parent.is_dir():
            raise fail(f"{path.parent} is not a directory")
    try:
        with _database(database_url) as url, progress_bar() as update:
            report = run(
                url,
                rows,
                config=config,
                max_chars=max_chars,
                progress=lambda done, total: update("replay", done, total),
            )
    except TandemError as exc:  # e.g. a --database-url that cannot be migrated
        raise fail(exc.message) from None
    if plot_out is not None:
        plot(report, plot_out, title=f"Replay of {stream.name}")
    _write_json(report, json_out)
    summary = report["summary"]
    # A short tail (10,003 messages in windows of 1,000 leave 3) says little: report the last
    # full window when there is one.
    full = [w for w in report["windows"] if w["messages"] == window] or report["windows"]
    last = full[-1]
    where = f" Report: {json_out}" if json_out is not None else ""
    typer.echo(
        f"{summary['messages']} messages in {summary['wall_seconds']} s: automation "
        f"{summary['automation_rate']:.1%} overall, {last['automation_rate']:.1%} in window "
        f"{last['window']}; precision of AI answers {_pct(summary['answered_precision'])}.{where}",
        err=json_out is None,  # stdout then carries the JSON alone
    )


def _pct(value: float | None) -> str:
    return f"{value:.1%}" if value is not None else "n/a (nothing answered)"


@contextmanager
def _database(url: str | None) -> Iterator[str]:
    """Yield the database to replay into: the given one, or a SQLite file removed afterwards."""
    if url:
        yield url
        return
    with tempfile.TemporaryDirectory(prefix="tandem-replay-") as folder:
        yield f"sqlite:///{Path(folder) / 'replay.db'}"


def _write_json(report: dict[str, Any], path: Path | None) -> None:
    text = json.dumps(report, indent=2) + "\n"
    if path is None:
        sys.stdout.write(text)
        return
    # Written whole or not at all: a reader never sees half a report.
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)
