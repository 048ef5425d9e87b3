"""Off-topic: is a message nothing this workspace's customers ask, rather than a hard question?

A message the intent model cannot place is either junk or small chatter ("what's the capital of
Peru", "asdfgh") or a real, store-related need the model is unsure about ("do you do wholesale?").
The first deserves a short scope reply; the second a person. We tell them apart by nearest
neighbour on the signal embedding: the message is off-topic when it is closer to the built-in
background (`tandem.triage.background`, decontaminated against the workspace) than to any of the
workspace's own examples and answer titles, by at least `margin`. The margin is derived from the
workspace's data: leaving each of its examples out in turn, at most `MAX_EXAMPLE_RATE` of them
would be called off-topic.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tandem.knowledge.models import Answer, TrainingExample
from tandem.triage.background import background_matrix, decontaminate
from tandem.triage.embedders import nearest_cosine
from tandem.triage.pipeline import SIGNAL_EMBEDDER

# Share of the workspace's own examples we accept calling off-topic (they would get a scope
# reply instead of a person when the model is unsure about them).
MAX_EXAMPLE_RATE = 0.01


@dataclass(frozen=True)
class ScopeReference:
    """The workspace's in-scope examples, the background they compete with, and the margin."""

    examples: np.ndarray  # unit rows (examples and answer titles)
    background: np.ndarray  # unit rows, decontaminated (plus the model's out-of-scope examples)
    margin: float

    def check(self, vector: np.ndarray) -> tuple[bool, dict[str, float]]:
        """Return whether a message is off-topic, with the two similarities that say why."""
        if len(self.examples) == 0 or len(self.background) == 0:
            return False, {}
        v = np.asarray(vector, dtype=np.float32)
        nearest_example = float((self.examples @ v).max())
        nearest_background = float((self.background @ v).max())
        why = {
            "nearest_example": round(nearest_example, 4),
            "nearest_background": round(nearest_background, 4),
            "margin": round(self.margin, 4),
        }
        return nearest_background - nearest_example > self.margin, why


def build_reference(
    examples: np.ndarray, background: np.ndarray, *, max_rate: float = MAX_EXAMPLE_RATE
) -> ScopeReference:
    """Decontaminate the background and derive the margin by leave-one-out (pure numpy)."""
    background = background[decontaminate(background, examples)]
    if len(examples) < 2 or len(background) == 0:
        return ScopeReference(examples, background, margin=0.0)
    gap = nearest_cosine(examples, background) - nearest_cosine(examples, examples, same=True)
    margin = max(float(np.quantile(gap, 1.0 - max_rate)), 0.0)
    return ScopeReference(examples, background, margin=margin)


def _fingerprint(session: Session, oos_label: str | None) -> tuple[Any, ...]:
    examples = session.execute(
        select(func.count(TrainingExample.id), func.max(TrainingExample.created_at))
    ).one()
    answers = session.execute(select(func.count(Answer.id), func.max(Answer.updated_at))).one()
    return (*examples, *answers, oos_label)


class ScopeCache:
    """One scope reference per workspace, refreshed when its examples or answers change.

    New examples join the reference at once; the margin and the decontaminated background
    (a pass over every example against the whole background) are recomputed only when the
    examples have grown or shrunk by REBUILD_GROWTH since they were last computed, so a desk
    that learns from every resolution does not redo that pass per message.
    """

    def __init__(self) -> None:
        self._entries: dict[str, tuple[tuple[Any, ...], ScopeReference, tuple[int, int]]] = {}
        self._lock = threading.Lock()

    def get(self, session: Session, *, workspace_id: str, oos_label: str | None) -> ScopeReference:
        """Return the scoped workspace's reference (the session must be scoped to it)."""
        from tandem.triage.intent import embed_texts

        key = _fingerprint(session, oos_label)
        with self._lock:
            cached = self._entries.get(workspace_id)
            if cached is not None and cached[0] == key:
                return cached[1]
        if cached is not None:
            grown = self._grown(session, key, cached)
            if grown is not None:
                with self._lock:
                    self._entries[workspace_id] = grown
                return grown[1]
        rows = session.execute(select(TrainingExample.text, TrainingExample.intent)).all()
        inside = [text for text, intent in rows if intent != oos_label]
        outside = [text for text, intent in rows if oos_label and intent == oos_label]
        inside += [title for (title,) in session.execute(select(Answer.title))]
        examples = embed_texts(SIGNAL_EMBEDDER, inside)  # mostly from the embedding cache
        built = (len(inside), len(outside))
        if cached is not None and cached[0][-1] == oos_label and _close(built, cached[2]):
            reference = replace(cached[1], examples=examples)
            with self._lock:
                self._entries[workspace_id] = (key, reference, cached[2])
            return reference
        background = background_matrix(SIGNAL_EMBEDDER)
        reference = build_reference(examples, background)
        if outside:  # the workspace's own out-of-scope examples are background too
            extra = embed_texts(SIGNAL_EMBEDDER, outside)
            reference = replace(reference, background=np.vstack([reference.background, extra]))
        with self._lock:
            self._entries[workspace_id] = (key, reference, built)
        return reference

    @staticmethod
    def _grown(
        session: Session, key: tuple[Any, ...], cached: tuple[Any, ScopeReference, tuple[int, int]]
    ) -> tuple[tuple[Any, ...], ScopeReference, tuple[int, int]] | None:
        """Append examples added since the cached reference, or None when more changed.

        The common change on a learning desk is one new example; reading only the new rows
        keeps that from re-reading (and re-stacking) every example for each message.
        """
        from tandem.triage.intent import embed_texts

        old_key, reference, built = cached
        count, _newest, *answers = key
        old_count, old_newest, *old_answers = old_key
        if answers != old_answers or old_newest is None or count <= old_count:
            return None
        oos_label = answers[-1]
        rows = session.execute(
            select(TrainingExample.text, TrainingExample.intent).where(
                TrainingExample.created_at > old_newest
            )
        ).all()
        if len(rows) != count - old_count or any(oos_label and i == oos_label for _, i in rows):
            return None  # something else changed too (or an out-of-scope example): rebuild
        added = embed_texts(SIGNAL_EMBEDDER, [text for text, _ in rows])
        inside = len(reference.examples) + len(rows)
        if not _close((inside, built[1]), built):
            return None  # grown by a tenth: time to recompute the margin
        return key, replace(reference, examples=np.vstack([reference.examples, added])), built


REBUILD_GROWTH = 0.1


def _close(counts: tuple[int, int], built_with: tuple[int, int]) -> bool:
    """Whether a reference computed from built_with (inside, outside) examples still holds."""
    (inside, outside), (built_inside, built_outside) = counts, built_with
    near = abs(inside - built_inside) <= REBUILD_GROWTH * built_inside
    return built_inside > 0 and near and outside == built_outside


scope_cache = ScopeCache()
