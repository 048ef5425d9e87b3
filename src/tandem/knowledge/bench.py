"""Measure answers grounded in a help center: one article per intent, asked in other words.

The workspace is what a desk that only imported its help center looks like: articles, and no
intents, training examples or approved answers. Each article is one agent response of an intent
(picked with a fixed seed); the other phrasings of that intent are the questions, and
out-of-scope messages (e.g. CLINC150's `oos` rows) must not be answered from them.
"""

from __future__ import annotations

import csv
import random
import statistics
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from tandem.core.errors import ValidationError
from tandem.db.migrate import upgrade
from tandem.db.session import get_engine, session_factory, transaction
from tandem.knowledge.grounded import calibration_for, find_grounded_answer
from tandem.knowledge.importers import Document, Section
from tandem.knowledge.models import Article
from tandem.knowledge.service import import_documents
from tandem.triage.embedders import get_embedder
from tandem.triage.pipeline import SIGNAL_EMBEDDER
from tandem.workspaces.models import Workspace
from tandem.workspaces.service import create_workspace

Progress = Callable[[str, int, int], None]
OOS_LABEL = "oos"


@contextmanager
def temporary_database() -> Iterator[sessionmaker[Session]]:
    """Yield a session factory on a fresh, migrated SQLite file that is deleted afterwards."""
    with tempfile.TemporaryDirectory(prefix="tandem-bench-") as folder:
        url = f"sqlite:///{Path(folder) / 'bench.db'}"
        upgrade(url)
        try:
            yield session_factory(get_engine(url))
        finally:
            get_engine(url).dispose()


def _read_csv(path: Path) -> list[dict[str, str]]:
    if not path.is_file():
        raise ValidationError(f"{path}: file not found")
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def load_intent_rows(
    path: Path, *, text_column: str, label_column: str, answer_column: str
) -> dict[str, list[tuple[str, str]]]:
    """Return (question, agent answer) rows per intent from a CSV."""
    grouped: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for row in _read_csv(path):
        missing = [c for c in (text_column, label_column, answer_column) if c not in row]
        if missing:
            raise ValidationError(f"{path}: no column {missing[0]!r}")
        if row[text_column].strip() and row[answer_column].strip():
            grouped[row[label_column]].append((row[text_column], row[answer_column]))
    return dict(sorted(grouped.items()))


def load_out_of_scope(paths: Sequence[Path], *, label: str = OOS_LABEL) -> list[str]:
    """Return the texts labelled out of scope in CSV files with text,intent columns."""
    texts: list[str] = []
    for path in paths:
        texts += [r["text"] for r in _read_csv(path) if r.get("intent") == label and r["text"]]
    return texts


def _title(intent: str) -> str:
    return intent.replace("_", " ").strip().capitalize()


def build_articles(
    grouped: dict[str, list[tuple[str, str]]], *, seed: int, titles: bool
) -> tuple[list[Document], dict[str, list[str]]]:
    """Pick one answer per intent as its article; return the articles and the other questions."""
    rng = random.Random(seed)  # noqa: S311 - reproducible sampling, not security
    documents, questions = [], {}
    for intent, rows in grouped.items():
        chosen = rng.randrange(len(rows))
        title = _title(intent) if titles else rows[chosen][1].split(".")[0][:120]
        documents.append(
            Document(title=title, source=f"bench:{intent}", sections=[Section("", rows[chosen][1])])
        )
        questions[intent] = [text for i, (text, _) in enumerate(rows) if i != chosen]
    return documents, questions


def _ask(
    session: Session, workspace: Workspace, texts: list[str], progress: Progress | None, stage: str
) -> tuple[list[str | None], list[float]]:
    """Return the article id answered (or None) and the latency in ms for each text."""
    vectors = get_embedder(SIGNAL_EMBEDDER).encode(texts)
    answered: list[str | None] = []
    latencies: list[float] = []
    for done, (text, vector) in enumerate(zip(texts, vectors, strict=True), start=1):
        started = time.perf_counter()
        answer = find_grounded_answer(session, workspace, text=text, vector=vector, language=None)
        latencies.append((time.perf_counter() - started) * 1000)
        answered.append(answer.article_id if answer else None)
        if progress and (done % 100 == 0 or done == len(texts)):
            progress(stage, done, len(texts))
    return answered, latencies


def run_kb_benchmark(
    *,
    data: Path,
    out_of_scope: Sequence[Path],
    precision_target: float = 0.95,
    seed: int = 13,
    titles: bool = True,
    text_column: str = "instruction",
    label_column: str = "intent",
    answer_column: str = "response",
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Import one article per intent into a fresh workspace and measure grounded answers."""
    grouped = load_intent_rows(
        data, text_column=text_column, label_column=label_column, answer_column=answer_column
    )
    if len(grouped) < 2:
        raise ValidationError(f"{data}: needs at least 2 intents")
    documents, questions = build_articles(grouped, seed=seed, titles=titles)
    oos = load_out_of_scope(out_of_scope)
    with temporary_database() as factory:
        with transaction(factory) as session:
            workspace = create_workspace(
                session, name="kb-bench", settings={"precision_target": precision_target}
            )
        with transaction(factory, workspace.id) as session:
            import_documents(
                session,
                workspace_id=workspace.id,
                documents=documents,
                embedder=get_embedder(SIGNAL_EMBEDDER),
            )
        return _measure(factory, workspace, questions, oos, progress)


def _measure(
    factory: sessionmaker[Session],
    workspace: Workspace,
    questions: dict[str, list[str]],
    oos: list[str],
    progress: Progress | None,
) -> dict[str, Any]:
    with transaction(factory, workspace.id) as session:
        article_intent = {
            a.id: a.source.removeprefix("bench:") for a in session.query(Article).all()
        }
        started = time.perf_counter()
        calibration = calibration_for(session, workspace)
        calibration_seconds = time.perf_counter() - started
        texts = [t for rows in questions.values() for t in rows]
        truth = [intent for intent, rows in questions.items() for _ in rows]
        answered, latencies = _ask(session, workspace, texts, progress, "asking")
        oos_answered, _ = _ask(session, workspace, oos, progress, "out of scope")
    got = [article_intent[a] if a else None for a in answered]
    n_answered = sum(g is not None for g in got)
    n_right = sum(g == t for g, t in zip(got, truth, strict=True))
    per_intent: dict[str, dict[str, float]] = {}
    for intent in questions:
        mine = [g for g, t in zip(got, truth, strict=True) if t == intent]
        per_intent[intent] = {
            "answered": round(sum(g is not None for g in mine) / len(mine), 3),
            "right": round(sum(g == intent for g in mine) / len(mine), 3),
        }
    confusions = Counter(
        f"{t} -> {g}" for g, t in zip(got, truth, strict=True) if g is not None and g != t
    )
    return {
        "articles": len(questions),
        "questions": len(texts),
        "precision_target": calibration.choice.target,
        "answered_share": round(n_answered / len(texts), 4),
        "precision": round(n_right / n_answered, 4) if n_answered else None,
        "right_share": round(n_right / len(texts), 4),
        "out_of_scope_rows": len(oos),
        "out_of_scope_escalated_share": (
            round(sum(a is None for a in oos_answered) / len(oos), 4) if oos else None
        ),
        "calibration": {
            **calibration.choice.to_dict(),
            "pseudo_questions": calibration.n_questions,
            "background_rows": calibration.n_background,
            "seconds": round(calibration_seconds, 2),
        },
        "latency_ms_p50": round(statistics.median(latencies), 2),
        "top_confusions": dict(confusions.most_common(8)),
        "per_intent": per_intent,
    }
