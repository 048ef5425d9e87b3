"""Measure the co-pilot: suggestion latency over stored cases, and hit rate on a replay.

    .venv/bin/python scripts/bench_copilot.py \
        ../shared/data/bitext/Bitext_Sample_Customer_Support_Training_Dataset.csv

Cases come from a train part of the Bitext requests (question = request, answer = agent response,
intent = label); held-out requests are asked in a conversation, and a hit is a top-3 suggestion
from a case with the request's intent. Everything runs against a throwaway SQLite database
through the real services; the data never leaves the given path. Prints JSON.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import statistics
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tandem.conversations import service as conversations
from tandem.conversations.service import Author
from tandem.copilot import service as copilot
from tandem.copilot.models import ResolvedCase
from tandem.db.migrate import upgrade
from tandem.db.session import get_engine, session_factory, transaction
from tandem.triage.embedders import get_embedder
from tandem.triage.pipeline import MAX_TRIAGE_CHARS, SIGNAL_EMBEDDER, embed
from tandem.workspaces.service import create_workspace

Row = tuple[str, str, str]  # request, response, intent


def read_bitext(path: Path) -> list[Row]:
    """Return (request, response, intent) rows of the Bitext CSV."""
    with path.open(newline="", encoding="utf-8") as handle:
        return [
            (r["instruction"].strip(), r["response"].strip(), r["intent"].strip())
            for r in csv.DictReader(handle)
            if r["instruction"].strip() and r["response"].strip() and r["intent"].strip()
        ]


def split(rows: list[Row], held_out: float, seed: int) -> tuple[list[Row], list[Row]]:
    """Split per intent so every intent is in both parts."""
    rng = random.Random(seed)  # noqa: S311 - reproducible split, not security
    by_intent: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        by_intent[row[2]].append(row)
    train, test = [], []
    for group in by_intent.values():
        rng.shuffle(group)
        cut = max(1, round(len(group) * held_out))
        test.extend(group[:cut])
        train.extend(group[cut:])
    rng.shuffle(train)
    rng.shuffle(test)
    return train, test


def store_cases(factory: sessionmaker[Session], workspace_id: str, rows: list[Row]) -> None:
    """Store each row as a resolved conversation's case, embedded in batches."""
    embedder = get_embedder(SIGNAL_EMBEDDER)
    for start in range(0, len(rows), 256):
        batch = rows[start : start + 256]
        vectors = embedder.encode([q for q, _, _ in batch])
        with transaction(factory, workspace_id) as session:
            for (question, answer, intent), vector in zip(batch, vectors, strict=True):
                conversation = conversations.start_conversation(
                    session, workspace_id=workspace_id
                ).conversation
                session.add(
                    ResolvedCase(
                        workspace_id=workspace_id,
                        conversation_id=conversation.id,
                        question=question,
                        answer=answer,
                        intent=intent,
                        language="en",
                        embedder=SIGNAL_EMBEDDER,
                        embedding=np.asarray(vector, dtype=np.float32).tobytes(),
                    )
                )


def ask(factory: sessionmaker[Session], workspace_id: str, conversation_id: str, text: str) -> Any:
    """Post a customer message and time the co-pilot's suggestions for it."""
    with transaction(factory, workspace_id) as session:
        conversation = conversations.get_conversation(session, conversation_id, lock=True)
        conversations.post_message(
            session, conversation, author=Author.CUSTOMER, text=text, max_chars=100_000
        )
    with transaction(factory, workspace_id) as session:
        conversation = conversations.get_conversation(session, conversation_id)
        started = time.perf_counter()
        embed(SIGNAL_EMBEDDER, text[:MAX_TRIAGE_CHARS])  # cached: suggestions reuse it
        embedded = time.perf_counter()
        found = copilot.suggestions(session, conversation, limit=3)
        done = time.perf_counter()
        return found, (done - started) * 1000, (embedded - started) * 1000


def percentile(values: list[float], q: float) -> float:
    """Return the q-quantile (0..1) of values."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run(path: Path, *, latency_cases: int, held_out: float, max_requests: int, seed: int) -> Any:
    """Run both measurements and return the JSON report."""
    rows = read_bitext(path)
    train, test = split(rows, held_out, seed)
    test = test[:max_requests]
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        upgrade(url)
        factory = session_factory(get_engine(url))
        with transaction(factory) as session:
            small = create_workspace(session, name="bench-latency").id
            full = create_workspace(session, name="bench-replay").id

        store_cases(factory, small, train[:latency_cases])
        with transaction(factory, small) as session:
            probe = conversations.start_conversation(session, workspace_id=small).conversation.id
        measured = [ask(factory, small, probe, q) for q, _, _ in test[:200]]
        timings = [m[1] for m in measured]
        embed_ms = [m[2] for m in measured]

        store_cases(factory, full, train)
        with transaction(factory, full) as session:
            current = conversations.start_conversation(session, workspace_id=full).conversation.id
            intent_of = {
                cid: intent
                for cid, intent in session.execute(
                    select(ResolvedCase.conversation_id, ResolvedCase.intent)
                )
            }
        hits1 = hits3 = answered = 0
        top1_by_band: dict[str, list[int]] = defaultdict(list)
        full_timings = []
        for question, _, intent in test:
            found, elapsed, _ = ask(factory, full, current, question)
            full_timings.append(elapsed)
            same = [intent_of.get(s.source_ref) == intent for s in found]
            answered += bool(found)
            hits1 += bool(same[:1] and same[0])
            hits3 += any(same)
            if found:
                band = f"{min(0.9, int(found[0].score * 10) / 10):.1f}"
                top1_by_band[band].append(int(same[0]))
    n = len(test)
    return {
        "data": str(path.name),
        "embedder": SIGNAL_EMBEDDER,
        "case_min_score": copilot.CASE_MIN_SCORE,
        "latency": {
            "cases": min(latency_cases, len(train)),
            "requests": len(timings),
            "first_ms": round(timings[0], 1),
            "p50_ms": round(statistics.median(timings[1:]), 1),
            "p95_ms": round(percentile(timings[1:], 0.95), 1),
            "embed_p50_ms": round(statistics.median(embed_ms[1:]), 1),
            "note": "total includes embedding the message; the first call loads the case index",
        },
        "replay": {
            "train_cases": len(train),
            "held_out_requests": n,
            "intents": len({r[2] for r in rows}),
            "with_suggestion": round(answered / n, 4),
            "hit_at_1": round(hits1 / n, 4),
            "hit_at_3": round(hits3 / n, 4),
            "top1_precision_by_score": {
                band: {"n": len(v), "same_intent": round(sum(v) / len(v), 3)}
                for band, v in sorted(top1_by_band.items())
            },
            "p50_ms": round(statistics.median(full_timings[1:]), 1),
            "p95_ms": round(percentile(full_timings[1:], 0.95), 1),
        },
    }


def main() -> None:
    """Parse arguments, run, print JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bitext_csv", type=Path)
    parser.add_argument("--latency-cases", type=int, default=1000)
    parser.add_argument("--held-out", type=float, default=0.2)
    parser.add_argument("--max-requests", type=int, default=900)
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()
    report = run(
        args.bitext_csv,
        latency_cases=args.latency_cases,
        held_out=args.held_out,
        max_requests=args.max_requests,
        seed=args.seed,
    )
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
