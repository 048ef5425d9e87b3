"""Versions that never silently get worse: a candidate is judged on examples it never saw.

Retraining holds back an evaluation slice (the newest examples of each intent added since the
active version was trained, plus the needs agents named that have no approved intent yet, which
no model should answer), trains the
candidate on the rest, and scores the candidate and the active version on that same slice.
The candidate is promoted only when its answered precision holds the workspace's target within
its confidence bound and it automates no less than the active version. Pure functions: the
caller trains, stores and owns the transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tandem.triage.calibration import wilson_bounds, z_score
from tandem.triage.intent import IntentModel

HOLD_OUT_SHARE = 0.15  # of each intent's examples, the newest
MAX_HELD_OUT = 1000
KEEP_FOR_TRAINING = 5  # an intent keeps at least this many examples in the candidate's training
CONFIDENCE_LEVEL = 0.95


@dataclass(frozen=True)
class EvaluationSplit:
    """Which examples train the candidate and which judge it (indices into the training set)."""

    train: list[int]
    held_out: list[int]


def split_for_evaluation(
    labels: Sequence[str], eligible: Sequence[bool] | None = None
) -> EvaluationSplit:
    """Hold back the newest share of each intent's examples (labels are oldest first).

    Only `eligible` examples may be held back (those added since the active version was
    trained, so that neither version has seen them); each intent keeps KEEP_FOR_TRAINING.
    """
    by_intent: dict[str, list[int]] = {}
    for index, label in enumerate(labels):
        by_intent.setdefault(label, []).append(index)
    held: list[int] = []
    for indices in by_intent.values():
        spare = len(indices) - KEEP_FOR_TRAINING
        take = min(spare, round(len(indices) * HOLD_OUT_SHARE)) if spare > 0 else 0
        candidates = [i for i in indices if eligible is None or eligible[i]]
        take = min(take, len(candidates))
        if take > 0:
            held.extend(candidates[-take:])
    if len(held) > MAX_HELD_OUT:
        held = sorted(held)[-MAX_HELD_OUT:]  # the newest overall
    chosen = set(held)
    return EvaluationSplit(
        train=[i for i in range(len(labels)) if i not in chosen], held_out=sorted(chosen)
    )


@dataclass(frozen=True)
class SliceFigures:
    """How a model did on the evaluation slice."""

    n: int
    answered: int
    correct: int
    per_intent: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def automation(self) -> float:
        """The share of the slice the model would answer."""
        return self.answered / self.n if self.n else 0.0

    @property
    def precision(self) -> float | None:
        """The share of its answers that are right (None when it answered nothing)."""
        return self.correct / self.answered if self.answered else None

    def precision_upper(self, level: float = CONFIDENCE_LEVEL) -> float | None:
        """The upper confidence bound of that precision (small slices are forgiven more)."""
        if not self.answered:
            return None
        _, upper = wilson_bounds(
            np.array([self.correct / self.answered]), np.array([self.answered]), z_score(level)
        )
        return float(upper[0])

    def as_dict(self) -> dict[str, Any]:
        """Return the figures as a version stores them."""
        upper = self.precision_upper()
        return {
            "n": self.n,
            "answered": self.answered,
            "correct": self.correct,
            "automation": round(self.automation, 4),
            "precision": round(self.precision, 4) if self.precision is not None else None,
            "precision_upper": round(upper, 4) if upper is not None else None,
            "per_intent": self.per_intent,
        }


def score(model: IntentModel, texts: Sequence[str], labels: Sequence[str]) -> SliceFigures:
    """Return what the model answers on the slice and how often it is right."""
    predictions = model.predict(list(texts)) if texts else []
    per_intent: dict[str, dict[str, int]] = {}
    answered = correct = 0
    for prediction, label in zip(predictions, labels, strict=True):
        row = per_intent.setdefault(label, {"n": 0, "answered": 0, "correct": 0})
        row["n"] += 1
        if prediction.is_out_of_scope:
            continue
        answered += 1
        row["answered"] += 1
        if prediction.intent == label:
            correct += 1
            row["correct"] += 1
    return SliceFigures(len(labels), answered, correct, dict(sorted(per_intent.items())))


@dataclass(frozen=True)
class Decision:
    """Whether the candidate replaces the active version, and why."""

    promote: bool
    reason: str


def decide(candidate: SliceFigures, active: SliceFigures | None, *, target: float) -> Decision:
    """Promote only when precision holds the target (within its bound) and automation holds."""
    if active is None:
        return Decision(True, "first model: nothing to compare with")
    if candidate.n == 0:
        return Decision(False, "no held-back examples to judge it on; promote by hand if wanted")
    upper = candidate.precision_upper()
    if upper is not None and upper < target:
        return Decision(
            False,
            f"precision {candidate.precision:.1%} on {candidate.answered} held-back answers is "
            f"below the {target:.1%} target",
        )
    if candidate.automation < active.automation:
        return Decision(
            False,
            f"automation {candidate.automation:.1%} is lower than the active version's "
            f"{active.automation:.1%} on the same {candidate.n} held-back examples",
        )
    return Decision(
        True,
        f"holds the {target:.1%} target and automates {candidate.automation:.1%} "
        f"(active: {active.automation:.1%}) of {candidate.n} held-back examples",
    )
