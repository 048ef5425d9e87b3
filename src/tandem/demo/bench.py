"""Measure the demo store's front line on a question set (text,label,kind), with no side effects.

The demo workspace is seeded into a fresh temporary SQLite database and trained as `make demo`
does; every question then goes through `plan_reply`, which stores nothing. Kinds: `covered`
(the FAQ answers it; `label` is the right intent), `human_only`, `store_adjacent` and `general`
(the AI should not answer them from an FAQ or an article).
"""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import select

from tandem.core.errors import ValidationError
from tandem.db.session import scope_session, transaction
from tandem.demo.seed import DEMO_WORKSPACE, seed_demo
from tandem.knowledge.bench import temporary_database
from tandem.triage.flows import Plan, plan_reply
from tandem.workspaces.models import Workspace

Progress = Callable[[str, int, int], None]
KINDS = ("covered", "human_only", "store_adjacent", "general")


def load_questions(path: Path) -> list[tuple[str, str, str]]:
    """Return (text, label, kind) rows of a question set."""
    if not path.is_file():
        raise ValidationError(f"{path}: file not found")
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    if not rows or not {"text", "label", "kind"} <= set(rows[0]):
        raise ValidationError(f"{path}: needs the columns text, label, kind")
    return [(r["text"], r["label"], r["kind"]) for r in rows if r["text"].strip()]


def answered_with(plan: Plan) -> tuple[bool, str | None]:
    """Return whether the plan answers from an FAQ or an article, and with which intent.

    Robust to the front line growing: a small-talk or scope reply is not an answer, an
    article answer may come without an intent.
    """
    if plan.answer is not None:
        return True, plan.answer.intent
    for name in ("grounded", "article", "knowledge_answer"):
        if getattr(plan, name, None) is not None:
            return True, getattr(getattr(plan, name), "intent", None)
    return False, None


def run_demo_benchmark(*, questions: Path, progress: Progress | None = None) -> dict[str, Any]:
    """Seed and train the demo store in a throwaway database, then plan a reply per question."""
    rows = load_questions(questions)
    with temporary_database() as factory:
        with transaction(factory) as session:
            seed_demo(session, train=True, progress=progress)
        with transaction(factory) as session:
            workspace = session.scalar(select(Workspace).where(Workspace.name == DEMO_WORKSPACE))
            assert workspace is not None
        outcomes: list[tuple[str, str, bool, str | None, str]] = []
        # Planning writes nothing: a plain session (closed without commit) rather than a
        # transaction, so anything written by mistake is thrown away.
        with factory() as session:
            scope_session(session, workspace.id)
            for done, (text, label, kind) in enumerate(rows, start=1):
                plan = plan_reply(session, workspace, text)
                answered, intent = answered_with(plan)
                action = str(plan.decision.as_dict().get("action", ""))
                outcomes.append((label, kind, answered, intent, action))
                if progress and (done % 25 == 0 or done == len(rows)):
                    progress("planning replies", done, len(rows))
    return summarise(outcomes)


def summarise(outcomes: list[tuple[str, str, bool, str | None, str]]) -> dict[str, Any]:
    """Return shares per kind: answered, right/wrong intent for covered, and the actions."""
    by_kind: dict[str, list[tuple[str, bool, str | None, str]]] = defaultdict(list)
    for label, kind, answered, intent, action in outcomes:
        by_kind[kind].append((label, answered, intent, action))
    report: dict[str, Any] = {"questions": len(outcomes), "kinds": {}}
    for kind in sorted(
        by_kind, key=lambda k: (k not in KINDS, KINDS.index(k) if k in KINDS else 0, k)
    ):
        rows = by_kind[kind]
        n = len(rows)
        actions: dict[str, int] = defaultdict(int)
        for *_, action in rows:
            actions[action or "none"] += 1
        entry: dict[str, Any] = {
            "rows": n,
            "answered_share": round(sum(r[1] for r in rows) / n, 4),
            "actions": dict(sorted(actions.items())),
        }
        if kind == "covered":
            right = sum(1 for label, ok, intent, _ in rows if ok and intent == label)
            wrong = sum(1 for label, ok, intent, _ in rows if ok and intent != label)
            entry["answered_right_share"] = round(right / n, 4)
            entry["answered_wrong_share"] = round(wrong / n, 4)
            entry["precision"] = round(right / (right + wrong), 4) if right + wrong else None
        else:
            entry["answered_with_faq_or_article_share"] = entry["answered_share"]
        report["kinds"][kind] = entry
    return report
