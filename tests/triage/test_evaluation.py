"""Evaluating an intent model: the data loader, the report and the `eval intents` command."""

from __future__ import annotations

import csv
import json
import random
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from tandem.cli.evaluate import eval_app
from tandem.triage import embedders
from tandem.triage.evaluation import DataError, evaluate_intents, load_labeled_rows

KEYWORDS = {
    "refund": ["refund", "money", "reimburse", "back"],
    "password": ["password", "login", "locked", "reset"],
    "shipping": ["shipping", "delivery", "parcel", "courier"],
    "invoice": ["invoice", "receipt", "billing", "vat"],
    "cancel": ["cancel", "stop", "terminate", "undo"],
}
FILLER = ["please", "hello", "my", "i", "need", "help", "with", "the", "today", "thanks", "a", "is"]
OFF_TOPIC = ["weather", "football", "recipe", "movie", "poem", "planet", "guitar", "holiday"]


class BagOfWordsEmbedder:
    """A deterministic hashed bag-of-words stand-in for the real sentence embedders."""

    name = "test-bow"
    dim = 64

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Return one normalised word-count vector per text."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in text.lower().split():
                out[i, zlib.crc32(word.encode()) % self.dim] += 1.0
        return embedders.normalise(out) if len(texts) else out


@pytest.fixture(autouse=True)
def bag_of_words(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Make 'test-bow' a known embedder name for the duration of a test."""
    monkeypatch.setitem(embedders._FACTORIES, "test-bow", BagOfWordsEmbedder)
    yield
    embedders._cache.pop("test-bow", None)


def make_rows(n_per_intent: int, seed: int, oos: int = 0) -> list[dict[str, str]]:
    """Short messages mixing filler words with two of an intent's keywords."""
    rng = random.Random(seed)
    rows = []
    for intent, words in KEYWORDS.items():
        for _ in range(n_per_intent):
            text = rng.sample(FILLER, 3) + rng.sample(words, 2)
            rng.shuffle(text)
            rows.append({"text": " ".join(text), "label": intent})
    for _ in range(oos):
        rows.append(
            {"text": " ".join(rng.sample(FILLER, 3) + rng.sample(OFF_TOPIC, 2)), "label": "oos"}
        )
    return rows


def write_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    """Write rows with a header line."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


# -------------------------------------------------------------------------------- loader
def test_loads_csv_and_jsonl(tmp_path: Path) -> None:
    rows = make_rows(2, seed=0)
    texts, labels = load_labeled_rows(write_csv(tmp_path / "a.csv", rows))
    assert texts == [r["text"] for r in rows] and labels == [r["label"] for r in rows]
    jsonl = tmp_path / "a.jsonl"
    jsonl.write_text(
        "\n".join(json.dumps({"q": r["text"], "y": r["label"]}) for r in rows) + "\n\n"
    )
    assert load_labeled_rows(jsonl, "q", "y") == (texts, labels)
    assert load_labeled_rows(jsonl, "q", None) == (texts, [])


def test_missing_file_is_a_readable_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"nope\.csv: file not found"):
        load_labeled_rows(tmp_path / "nope.csv")


def test_missing_column_names_what_was_found(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "b.csv", [{"text": "hi", "category": "x"}])
    with pytest.raises(DataError) as caught:
        load_labeled_rows(path)
    assert "missing column 'label'" in str(caught.value)
    assert "found: 'text', 'category'" in str(caught.value)
    assert load_labeled_rows(path, label_column="category") == (["hi"], ["x"])


def test_bad_rows_point_at_their_line(tmp_path: Path) -> None:
    blank = tmp_path / "c.csv"
    blank.write_text("text,label\nhello,greet\nbye,\n", encoding="utf-8")
    with pytest.raises(DataError, match="line 3 has an empty 'label'"):
        load_labeled_rows(blank)
    broken = tmp_path / "d.jsonl"
    broken.write_text('{"text": "a", "label": "b"}\n{"text": oops}\n', encoding="utf-8")
    with pytest.raises(DataError, match="line 2 is not valid JSON"):
        load_labeled_rows(broken)
    header_only = tmp_path / "e.csv"
    header_only.write_text("text,label\n", encoding="utf-8")
    with pytest.raises(DataError, match="no data rows"):
        load_labeled_rows(header_only)


# -------------------------------------------------------------------------------- report
def split(rows: list[dict[str, str]]) -> tuple[list[str], list[str]]:
    """Return (texts, labels)."""
    return [r["text"] for r in rows], [r["label"] for r in rows]


def test_report_has_exactly_the_documented_fields() -> None:
    train, test = split(make_rows(30, seed=1)), split(make_rows(10, seed=2))
    stages: set[str] = set()
    report = evaluate_intents(
        *train, *test, embedder_name="test-bow", progress=lambda s, _d, _t: stages.add(s)
    )
    assert set(report) == {
        "accuracy",
        "macro_f1",
        "automation_rate",
        "answered_precision",
        "threshold",
        "latency_ms_p50",
        "latency_ms_p95",
        "n_train",
        "n_test",
        "model",
    }
    assert stages >= {"embed", "cross-validate", "fit", "embed test", "latency"}
    assert report["accuracy"] >= 0.95 and report["macro_f1"] >= 0.95
    assert report["automation_rate"] >= 0.8 and report["answered_precision"] >= 0.95
    assert report["n_train"] == 150 and report["n_test"] == 50
    assert 0 < report["latency_ms_p50"] <= report["latency_ms_p95"]
    assert report["model"]["embedder"] == "test-bow"
    json.dumps(report)


def test_out_of_scope_figures() -> None:
    train, test = split(make_rows(30, seed=3, oos=30)), split(make_rows(10, seed=4, oos=40))
    report = evaluate_intents(
        *train, *test, oos_label="oos", precision_target=0.9, embedder_name="test-bow"
    )
    assert report["oos_escalation_recall"] >= 0.9
    assert report["in_scope_automation_rate"] >= 0.8
    assert report["answered_precision"] >= 0.9
    assert report["model"]["oos_label"] == "oos"


# ------------------------------------------------------------------------------- command
def test_cli_trains_on_several_files_and_writes_json(tmp_path: Path) -> None:
    rows = make_rows(30, seed=5, oos=20)
    first = write_csv(tmp_path / "train1.csv", rows[::2])
    second = write_csv(tmp_path / "train2.csv", rows[1::2])
    test = write_csv(tmp_path / "test.csv", make_rows(8, seed=6, oos=10))
    out = tmp_path / "report.json"
    args = ["intents", "--train", str(first), "--train", str(second), "--test", str(test)]
    args += ["--out-of-scope-label", "oos", "--precision-target", "0.9"]
    args += ["--embedder", "test-bow", "--json", str(out)]
    result = CliRunner().invoke(eval_app, args)
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert report["n_train"] == len(rows) and report["n_test"] == 50
    assert report["oos_escalation_recall"] >= 0.8
    assert "Intent evaluation" in result.stdout and "automation_rate" in result.stdout


def test_cli_prints_json_to_stdout_and_the_table_to_stderr(tmp_path: Path) -> None:
    train = write_csv(tmp_path / "train.csv", make_rows(20, seed=7))
    test = write_csv(tmp_path / "test.csv", make_rows(5, seed=8))
    args = ["intents", "--train", str(train), "--test", str(test), "--embedder", "test-bow"]
    result = CliRunner().invoke(eval_app, args)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["n_test"] == 25
    assert "Intent evaluation" in result.stderr


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--test", "missing.csv"], "missing.csv: file not found"),
        (["--test", "TRAIN", "--label-column", "intent"], "missing column 'intent'"),
        (["--test", "TRAIN", "--precision-target", "1.5"], "--precision-target must be between"),
        (["--test", "TRAIN", "--embedder", "no-such-model"], "unknown embedder"),
    ],
)
def test_cli_bad_input_is_one_line_and_exit_code_2(
    tmp_path: Path, extra: list[str], message: str
) -> None:
    train = write_csv(tmp_path / "train.csv", make_rows(10, seed=9))
    extra = [
        str(train) if a == "TRAIN" else str(tmp_path / a) if a.endswith(".csv") else a
        for a in extra
    ]
    result = CliRunner().invoke(eval_app, ["intents", "--train", str(train), *extra])
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.output
    assert len(result.stderr.strip().splitlines()) == 1
