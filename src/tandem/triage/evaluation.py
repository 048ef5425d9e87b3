"""Measure an intent model on a held-out test set the way the support desk will use it."""

from __future__ import annotations

import csv
import io
import json
import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tandem.triage.intent import DEFAULT_EMBEDDER, IntentModel, ProgressFn, embed_texts

LATENCY_SAMPLE = 300
LATENCY_WARMUP = 10


class DataError(ValueError):
    """Raised when a labelled dataset file cannot be read; the message is meant for humans."""


def load_labeled_rows(
    path: str | Path, text_column: str = "text", label_column: str | None = "label"
) -> tuple[list[str], list[str]]:
    """Read (texts, labels) from a CSV or JSONL file; labels is empty when label_column is None."""
    file = Path(path)
    wanted = [text_column] if label_column is None else [text_column, label_column]
    rows = load_rows(file, wanted)
    texts, labels = [], []
    for where, row in rows:
        text = row.get(text_column)
        if text is None:
            raise DataError(f"{file}: {where} has no {text_column!r} value")
        texts.append(str(text))
        if label_column is not None:
            label = row.get(label_column)
            if label is None or not str(label).strip():
                raise DataError(f"{file}: {where} has an empty {label_column!r} value")
            labels.append(str(label).strip())
    return texts, labels


def load_rows(file: Path, wanted: Sequence[str]) -> list[tuple[str, dict[str, Any]]]:
    """Read a CSV or JSONL file's rows as (where, row), checking the wanted columns exist."""
    if not file.is_file():
        raise DataError(f"{file}: file not found")
    text = _read_utf8(file)
    jsonl = file.suffix.lower() in {".jsonl", ".ndjson"}
    try:
        handle = io.StringIO(text, newline="")
        rows = _jsonl_rows(handle, file, list(wanted)) if jsonl else _csv_rows(handle, file, wanted)
    except csv.Error as exc:
        raise DataError(f"{file}: malformed CSV ({exc})") from exc
    if not rows:
        raise DataError(f"{file}: no data rows")
    return rows


def _read_utf8(file: Path) -> str:
    """Return a file's text, or say on which line it stops being UTF-8."""
    data = file.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise DataError(
            f"{file}: line {line} is not UTF-8 text (byte 0x{data[exc.start]:02x}: {exc.reason}); "
            "save the file as UTF-8"
        ) from exc


def _csv_rows(handle: Any, file: Path, wanted: Sequence[str]) -> list[tuple[str, dict[str, Any]]]:
    reader = csv.DictReader(handle)
    _check_columns(file, list(reader.fieldnames or []), wanted)
    # reader.line_num is the physical line the row ended on, which is what an editor shows.
    return [(f"line {reader.line_num}", row) for row in reader]


def _jsonl_rows(handle: Any, file: Path, wanted: list[str]) -> list[tuple[str, dict[str, Any]]]:
    rows = []
    for number, line in enumerate(handle, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"{file}: line {number} is not valid JSON ({exc.msg})") from exc
        if not isinstance(row, dict):
            raise DataError(f"{file}: line {number} is not a JSON object")
        _check_columns(file, list(row), wanted, where=f" line {number}")
        rows.append((f"line {number}", row))
    return rows


def _check_columns(file: Path, columns: list[str], wanted: Sequence[str], where: str = "") -> None:
    missing = [c for c in wanted if c not in columns]
    if missing:
        names = ", ".join(repr(c) for c in missing)
        found = ", ".join(repr(c) for c in columns) or "none"
        raise DataError(f"{file}{where}: missing column {names} (found: {found})")


def evaluate_intents(
    train_texts: Sequence[str],
    train_labels: Sequence[str],
    test_texts: Sequence[str],
    test_labels: Sequence[str],
    *,
    oos_label: str | None = None,
    precision_target: float = 0.95,
    embedder_name: str | None = None,
    progress: ProgressFn | None = None,
) -> dict[str, Any]:
    """Train on the training rows, then report accuracy, automation and latency on the test rows."""
    from sklearn.metrics import f1_score

    if len(test_texts) != len(test_labels) or not test_texts:
        raise ValueError("need a non-empty test set with one label per text")
    name = embedder_name or DEFAULT_EMBEDDER
    model = IntentModel.train(
        train_texts,
        train_labels,
        embedder_name=name,
        oos_label=oos_label,
        precision_target=precision_target,
        progress=progress,
    )

    def test_progress(stage: str, done: int, total: int) -> None:
        if progress:
            progress("embed test" if stage == "embed" else stage, done, total)

    predictions = model.predict_embeddings(embed_texts(name, test_texts, test_progress))
    truth = np.asarray(test_labels, dtype=str)
    predicted = np.asarray([p.intent for p in predictions], dtype=str)
    answered = np.asarray([not p.is_out_of_scope for p in predictions], dtype=bool)
    right = predicted == truth
    report: dict[str, Any] = {
        "accuracy": float(right.mean()),
        "macro_f1": float(f1_score(truth, predicted, average="macro", zero_division=0)),
        "automation_rate": float(answered.mean()),
        "answered_precision": float(right[answered].mean()) if answered.any() else None,
    }
    if oos_label is not None:
        is_oos = truth == oos_label
        report["oos_escalation_recall"] = (
            float((~answered[is_oos]).mean()) if is_oos.any() else None
        )
        report["in_scope_automation_rate"] = (
            float(answered[~is_oos].mean()) if (~is_oos).any() else None
        )
    p50, p95 = measure_latency(model, test_texts, progress=progress)
    report.update(
        {
            "threshold": model.threshold if math.isfinite(model.threshold) else None,
            "latency_ms_p50": p50,
            "latency_ms_p95": p95,
            "n_train": len(train_texts),
            "n_test": len(test_texts),
            "model": model.describe(),
        }
    )
    return report


def measure_latency(
    model: IntentModel,
    texts: Sequence[str],
    *,
    sample: int = LATENCY_SAMPLE,
    progress: ProgressFn | None = None,
) -> tuple[float, float]:
    """Return (p50, p95) milliseconds to embed and classify one message at a time."""
    from tandem.triage.embedders import get_embedder

    embedder = get_embedder(model.embedder_name)
    picks = np.random.default_rng(0).choice(len(texts), size=min(sample, len(texts)), replace=False)
    chosen = [texts[int(i)] for i in picks]
    for text in chosen[:LATENCY_WARMUP]:  # first calls pay for lazy loading and allocation
        model.predict_embeddings(embedder.encode([text]))
    timings = []
    for i, text in enumerate(chosen, start=1):
        started = time.perf_counter()
        model.predict_embeddings(embedder.encode([text]))
        timings.append((time.perf_counter() - started) * 1000)
        if progress and (i % 25 == 0 or i == len(chosen)):
            progress("latency", i, len(chosen))
    p50, p95 = np.percentile(timings, [50, 95])
    return round(float(p50), 2), round(float(p95), 2)
