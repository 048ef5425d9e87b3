"""The replay simulator: a stream through the real desk; bad streams refused before any write."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tandem.conversations.models import Conversation
from tandem.core.errors import ValidationError
from tandem.knowledge.models import TrainingExample
from tandem.learning.replay import (
    ReplayConfig,
    StreamError,
    StreamRow,
    intent_code,
    read_stream,
    replay,
)
from tandem.triage.evaluation import DataError
from tandem.triage.models import ModelVersion
from tandem.workspaces.models import Workspace

from ..triage.training_data import EXAMPLES

MAX_CHARS = 4000

# The shared small training set, with four more phrasings of each intent.
PHRASINGS = {
    intent: [*texts, *more]
    for (intent, texts), more in zip(
        EXAMPLES.items(),
        [
            [
                "my parcel has not arrived",
                "can you tell me where my package is",
                "the tracking page shows nothing for my order",
                "is my order on its way",
            ],
            [
                "my password is not accepted",
                "I need a new password for my account",
                "the login page says my password is wrong",
                "help me get back into my account",
            ],
            [
                "what time do you open in the morning",
                "is the shop open late on thursdays",
                "until when are you open on saturday",
                "what are your hours this weekend",
            ],
        ],
        strict=True,
    )
}


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_a_stream_is_read_with_labels_as_intent_codes(tmp_path: Path) -> None:
    stream = _write(
        tmp_path / "s.csv",
        'text,label,answer\nwhere is my money?,reverted_card_payment?,"It is on its way."\n'
        "hi there,greeting,\n",
    )
    rows = read_stream(stream, answer_column="answer", max_chars=MAX_CHARS)
    assert rows == [
        StreamRow("line 2", "where is my money?", "reverted_card_payment", "It is on its way."),
        StreamRow("line 3", "hi there", "greeting", None),
    ]
    assert intent_code("  card arrival ") == intent_code("card_arrival") == "card_arrival"


@pytest.mark.parametrize(
    ("content", "options", "expected"),
    [
        ("message,label\nhello,greet\n", {}, "'text'"),
        ("text,label\nhello,greet\n", {"answer_column": "reply"}, "'reply'"),
        ("text,label\nhello,greet\n,greet\n", {}, "line 3 has an empty 'text'"),
        ("text,label\nhello,greet\nbye,\n", {}, "line 3 has an empty 'label'"),
        ("text,label\nhello,greet\nbye,???\n", {}, "line 3: label '???' has no letters"),
        (
            "text,label\nhello,card arrival\nbye,card_arrival\n",
            {},
            "line 3: labels 'card arrival' and 'card_arrival' would both become",
        ),
        ("text,label\n", {}, "no data rows"),
        ('{"text": "hi", "label": "a"}\n{"text": "yo"}\n', {"suffix": ".jsonl"}, "line 2"),
    ],
)
def test_a_bad_stream_is_refused_naming_the_row(
    tmp_path: Path, content: str, options: dict[str, str], expected: str
) -> None:
    suffix = options.pop("suffix", ".csv")
    stream = _write(tmp_path / f"s{suffix}", content)
    with pytest.raises(DataError) as caught:
        read_stream(stream, max_chars=MAX_CHARS, **options)
    assert expected in str(caught.value)


def test_non_utf8_bytes_are_refused_naming_the_line(tmp_path: Path) -> None:
    stream = tmp_path / "latin1.csv"
    stream.write_bytes("text,label\nhello,greet\ncaf\xe9 open?,hours\n".encode("latin-1"))
    with pytest.raises(DataError, match=r"line 3 is not UTF-8 text \(byte 0xe9"):
        read_stream(stream, max_chars=MAX_CHARS)


def test_a_message_longer_than_the_desk_accepts_is_refused(tmp_path: Path) -> None:
    stream = _write(tmp_path / "long.csv", f"text,label\nhello,greet\n{'x' * 50},greet\n")
    with pytest.raises(StreamError, match="line 3"):
        read_stream(stream, max_chars=20)


def test_config_is_checked() -> None:
    with pytest.raises(ValidationError, match="--window"):
        ReplayConfig(window=0)
    with pytest.raises(ValidationError, match="--precision-target"):
        ReplayConfig(precision_target=1.0)


def _rows(passes: int) -> list[StreamRow]:
    """Round-robin over the intents, each pass the same questions from new customers."""
    rows = []
    for _ in range(passes):
        for i in range(10):
            for label, texts in PHRASINGS.items():
                rows.append(StreamRow(f"row {len(rows) + 2}", texts[i], label, None))
    return rows


def test_a_replay_learns_from_resolutions_and_answers_more(
    factory: sessionmaker[Session],
) -> None:
    config = ReplayConfig(window=30, retrain_every=15, precision_target=0.9, seed=None)
    report = replay(factory, _rows(2), config=config, max_chars=MAX_CHARS)

    first, second = report["windows"]
    # A fresh workspace knows nothing: the first customers all go to the (simulated) agent.
    assert first["messages"] == 30 and first["first_message"] == 1
    assert first["answered"] + first["escalations"] == 30
    assert first["automation_rate"] < 0.5
    # What the agents resolved trained a model through the real job, on the schedule.
    assert first["model_version"] is not None and first["versions_trained"]
    assert second["automation_rate"] > first["automation_rate"]
    assert second["answered_precision"] is not None and second["answered_precision"] >= 0.9
    summary = report["summary"]
    assert summary["messages"] == 60 and summary["labels"] == 3
    assert summary["escalations"] == first["escalations"] + second["escalations"]
    # Each escalation was resolved with its label: exactly one example each.
    assert second["n_examples"] == summary["escalations"]
    assert [v["version"] for v in report["versions"]] == sorted(
        v["version"] for v in report["versions"]
    )
    assert all(v["trigger"] == "schedule" for v in report["versions"])
    with factory() as session:
        (workspace,) = session.scalars(select(Workspace)).all()
        assert workspace.name.startswith("replay-")
        examples = session.scalars(select(TrainingExample)).all()
        assert len(examples) == summary["escalations"]
        assert {e.intent for e in examples} <= set(PHRASINGS)
        assert session.scalar(select(ModelVersion.version).where(ModelVersion.status == "active"))
        assert len(session.scalars(select(Conversation)).all()) == 60


def test_the_same_stream_and_seed_give_the_same_order(factory: sessionmaker[Session]) -> None:
    only_a_person = StreamRow("row 99", "I want to talk to a human agent", "contact_human", None)
    rows = [*_rows(1)[:8], only_a_person]
    config = ReplayConfig(window=5, retrain_every=100, seed=3)
    first = replay(factory, rows, config=config, max_chars=MAX_CHARS)
    second = replay(factory, rows, config=config, max_chars=MAX_CHARS)
    assert first["windows"] == second["windows"]
    assert [w["messages"] for w in first["windows"]] == [5, 4]
    assert first["summary"]["escalations"] == 9  # no model yet: every customer reaches a person
    # Asking only for a person states no need: resolved without a label, so no example.
    assert first["windows"][-1]["n_examples"] == 8
    with factory() as session:
        texts = session.scalars(select(TrainingExample.text)).all()
        assert len(texts) == 16 and only_a_person.text not in texts


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TANDEM_DATA_DIR": str(cwd / "data")}
    return subprocess.run(
        [sys.executable, "-m", "tandem", "replay", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=300,
        check=False,
    )


def test_the_cli_refuses_a_bad_stream_before_writing_anything(
    tmp_path: Path, database_url: str, factory: sessionmaker[Session]
) -> None:
    stream = _write(tmp_path / "bad.csv", "text,label\nhello,greet\n,greet\n")
    out = tmp_path / "report.json"
    done = _cli(
        "--stream", str(stream), "--json", str(out), "--database-url", database_url, cwd=tmp_path
    )
    assert done.returncode == 2
    assert "line 3 has an empty 'text'" in done.stderr
    assert "Traceback" not in done.stderr
    assert not out.exists()
    with factory() as session:
        assert session.scalars(select(Workspace)).all() == []


def test_the_cli_writes_the_report_and_the_chart(tmp_path: Path) -> None:
    lines = ["text,label"] + [f"{t},{label}" for label, ts in PHRASINGS.items() for t in ts[:4]]
    stream = _write(tmp_path / "stream.csv", "\n".join(lines) + "\n")
    out, chart = tmp_path / "report.json", tmp_path / "curve.png"
    args = ["--stream", str(stream), "--window", "6", "--retrain-every", "100"]
    done = _cli(*args, "--json", str(out), "--plot", str(chart), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    report = json.loads(out.read_text(encoding="utf-8"))
    assert [w["messages"] for w in report["windows"]] == [6, 6]
    assert report["summary"]["messages"] == 12
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "12 messages" in done.stdout and "% in window 2;" in done.stdout
    assert not list(tmp_path.glob(".*.partial"))

    to_stdout = _cli(*args, cwd=tmp_path)  # no --json: the JSON alone on stdout
    assert to_stdout.returncode == 0, to_stdout.stderr
    assert json.loads(to_stdout.stdout)["summary"]["messages"] == 12
    assert "12 messages" in to_stdout.stderr
