"""Train, store and load a workspace's intent model versions; build its triage engine."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tandem.conversations.models import Conversation
from tandem.core.errors import NotFoundError, ValidationError
from tandem.db.base import utcnow
from tandem.db.session import scope_session
from tandem.events.service import audit
from tandem.knowledge.models import TrainingExample
from tandem.knowledge.service import pending_examples, training_rows
from tandem.triage import promotion
from tandem.triage.calibration import wilson_bounds, z_score
from tandem.triage.intent import DEFAULT_UNSEEN_SHARE, NOT_YET_LEARNED, IntentModel
from tandem.triage.models import ModelVersion
from tandem.triage.pipeline import Triage
from tandem.workspaces.models import Workspace
from tandem.workspaces.settings import workspace_settings

MIN_EXAMPLES_PER_INTENT = 5
# How much of a workspace's traffic the threshold treats as needs no trained intent covers.
# Without evidence it is DEFAULT_UNSEEN_SHARE; once the active version has met enough
# conversations, it is what the workspace observed (an upper confidence bound), never less
# than MIN_UNSEEN_SHARE.
UNSEEN_EVIDENCE_CONVERSATIONS = 300
MIN_UNSEEN_SHARE = 0.05
TrainProgress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class TrainingSet:
    """The examples a training run uses (intents with enough of them) and its precision target."""

    texts: list[str]
    labels: list[str]
    precision_target: float
    created_at: list[datetime] = field(default_factory=list)  # per example, when known
    oos_label: str | None = None  # the label of needs no trained intent covers, if any
    unseen_share: float = DEFAULT_UNSEEN_SHARE  # see observed_unseen_share

    def counts(self) -> dict[str, int]:
        """Return how many examples each intent has."""
        counts: dict[str, int] = {}
        for label in self.labels:
            counts[label] = counts.get(label, 0) + 1
        return dict(sorted(counts.items()))


def training_set(session: Session, *, workspace: Workspace) -> TrainingSet:
    """Return the scoped workspace's usable examples, or raise ValidationError saying why not."""
    stored = training_rows(session)
    labels = [row[1] for row in stored]
    counts: dict[str, int] = {}
    for label in labels:
        counts[label] = counts.get(label, 0) + 1
    usable = {label for label, n in counts.items() if n >= MIN_EXAMPLES_PER_INTENT}
    if len(usable) < 2:
        raise ValidationError(
            f"training needs at least 2 intents with {MIN_EXAMPLES_PER_INTENT}+ examples each; "
            f"this workspace has {len(usable)}"
        )
    # Examples of intents too rare to learn yet train as "none of the intents the model knows":
    # real needs it must not answer as the nearest known one.
    rare = [
        (text, NOT_YET_LEARNED, created) for text, label, created in stored if label not in usable
    ]
    rows = [row for row in stored if row[1] in usable] + (rare if len(rare) >= 2 else [])
    rows.sort(key=lambda row: row[2])  # oldest first, as the evaluation split expects
    target = workspace_settings(workspace).precision_target
    return TrainingSet(
        [r[0] for r in rows],
        [r[1] for r in rows],
        target,
        created_at=[r[2] for r in rows],
        oos_label=NOT_YET_LEARNED if len(rare) >= 2 else None,
        unseen_share=observed_unseen_share(session),
    )


def observed_unseen_share(session: Session) -> float:
    """Return the share of traffic to calibrate for as needs no trained intent covers.

    Evidence: the conversations since the active version was trained, and how many of them
    people resolved with an intent that version does not know (a need it had not learned).
    An upper 95 % bound of that share, within [MIN_UNSEEN_SHARE, DEFAULT_UNSEEN_SHARE]; the
    default until there are UNSEEN_EVIDENCE_CONVERSATIONS conversations to go by.
    """
    active = session.scalar(select(ModelVersion).where(ModelVersion.status == "active"))
    known = set((active.description or {}).get("per_intent_examples") or {}) if active else set()
    if active is None or not known:
        return DEFAULT_UNSEEN_SHARE
    since = Conversation.created_at > active.created_at
    conversations = session.scalar(select(func.count(Conversation.id)).where(since)) or 0
    if conversations < UNSEEN_EVIDENCE_CONVERSATIONS:
        return DEFAULT_UNSEEN_SHARE
    labels = session.scalars(
        select(TrainingExample.intent)
        .join(Conversation, Conversation.id == TrainingExample.conversation_id)
        .where(since)
    ).all()
    unseen = sum(1 for label in labels if label not in known)
    _, upper = wilson_bounds(
        np.array([unseen / conversations]), np.array([float(conversations)]), z_score(0.95)
    )
    return float(min(DEFAULT_UNSEEN_SHARE, max(MIN_UNSEEN_SHARE, float(upper[0]))))


def fit_intent_model(
    data: TrainingSet, *, embedder_name: str | None = None, progress: TrainProgress | None = None
) -> IntentModel:
    """Train an intent model on a training set (slow, and touches no database)."""
    kwargs: dict[str, Any] = {
        "precision_target": data.precision_target,
        "progress": progress,
        "oos_label": data.oos_label,
        "unseen_share": data.unseen_share,
    }
    if embedder_name:
        kwargs["embedder_name"] = embedder_name
    return IntentModel.train(data.texts, data.labels, **kwargs)


@dataclass(frozen=True)
class CandidatePlan:
    """What a retraining run trains the candidate on and judges it by (read in a transaction)."""

    train: TrainingSet
    held_texts: list[str]
    held_labels: list[str]
    active_artifact: bytes | None  # the version active when the run started


def plan_candidate(session: Session, *, workspace: Workspace) -> CandidatePlan:
    """Split the examples: the first model trains on all; later ones leave a slice to judge by."""
    data = training_set(session, workspace=workspace)
    active = active_version(session, workspace.id)
    if active is None:
        return CandidatePlan(data, [], [], None)
    # Judged only on examples added since the active version was trained: neither has seen them.
    fresh = [created > active.created_at for created in data.created_at]
    split = promotion.split_for_evaluation(data.labels, fresh)
    train = TrainingSet(
        [data.texts[i] for i in split.train],
        [data.labels[i] for i in split.train],
        data.precision_target,
        oos_label=data.oos_label,
        unseen_share=data.unseen_share,
    )
    # Needs agents named that have no approved intent yet: no version may answer them.
    pending_texts, pending_labels = pending_examples(session)
    return CandidatePlan(
        train,
        [data.texts[i] for i in split.held_out] + pending_texts,
        [data.labels[i] for i in split.held_out] + pending_labels,
        active.artifact,
    )


@dataclass(frozen=True)
class Judgement:
    """The candidate's and the active version's figures on the slice, and the decision."""

    candidate: promotion.SliceFigures
    active: promotion.SliceFigures | None
    decision: promotion.Decision

    def as_dict(self) -> dict[str, Any]:
        """Return what the candidate's version keeps as its evaluation."""
        return {
            "held_out": self.candidate.n,
            "candidate": self.candidate.as_dict(),
            "active": self.active.as_dict() if self.active else None,
            "promoted": self.decision.promote,
            "reason": self.decision.reason,
        }


def judge(model: IntentModel, plan: CandidatePlan) -> Judgement:
    """Score the candidate and the active version on the held-back slice (slow; no database)."""
    candidate = promotion.score(model, plan.held_texts, plan.held_labels)
    active = None
    if plan.active_artifact is not None:
        previous = IntentModel.from_bytes(plan.active_artifact)
        active = promotion.score(previous, plan.held_texts, plan.held_labels)
    decision = promotion.decide(candidate, active, target=plan.train.precision_target)
    return Judgement(candidate, active, decision)


def train_model(
    session: Session,
    *,
    workspace: Workspace,
    embedder_name: str | None = None,
    progress: TrainProgress | None = None,
    trigger: str = "cli",
) -> ModelVersion:
    """Train a candidate on the workspace's examples, judge it, store it, promote if not worse."""
    plan = plan_candidate(session, workspace=workspace)
    model = fit_intent_model(plan.train, embedder_name=embedder_name, progress=progress)
    return store_model(
        session,
        workspace_id=workspace.id,
        model=model,
        judgement=judge(model, plan),
        trigger=trigger,
    )


def store_model(
    session: Session,
    *,
    workspace_id: str,
    model: IntentModel,
    activate: bool | None = None,
    judgement: Judgement | None = None,
    trigger: str = "cli",
    requested_by: str | None = None,
) -> ModelVersion:
    """Save a trained model as the workspace's next version; activate it as judged (or told)."""
    scope_session(session, workspace_id)
    latest = session.scalar(select(func.max(ModelVersion.version)))
    promote = judgement.decision.promote if judgement is not None else bool(activate)
    version = ModelVersion(
        workspace_id=workspace_id,
        version=(latest or 0) + 1,
        kind="intent",
        artifact=model.to_bytes(),
        description=model.describe(),
        evaluation=judgement.as_dict() if judgement is not None else {},
        trigger=trigger,
        requested_by=requested_by,
        promotion_reason=judgement.decision.reason if judgement is not None else None,
    )
    session.add(version)
    session.flush()
    if promote:
        activate_version(session, workspace_id=workspace_id, version=version.version)
    return version


def activate_version(
    session: Session, *, workspace_id: str, version: int, reason: str | None = None
) -> ModelVersion:
    """Make one version active (any version can be rolled back to); retire the others.

    A supervisor's promotion or rollback gives a reason; it is audited with the change.
    """
    scope_session(session, workspace_id)
    rows = session.scalars(select(ModelVersion)).all()
    chosen = next((row for row in rows if row.version == version), None)
    if chosen is None:
        raise NotFoundError(f"no model version {version}")
    previous = [row.version for row in rows if row.status == "active"]
    for row in rows:
        if row.status == "active" and row is not chosen:
            row.status = "retired"
    chosen.status, chosen.activated_at = "active", utcnow()
    session.flush()
    audit(
        session,
        workspace_id=workspace_id,
        type="model.activated",
        data={
            "version": version,
            "previous": previous[0] if previous else None,
            **({"reason": reason} if reason else {}),
        },
    )
    return chosen


def active_version(session: Session, workspace_id: str) -> ModelVersion | None:
    """Return the workspace's active model version, if it has one."""
    scope_session(session, workspace_id)
    return session.scalar(select(ModelVersion).where(ModelVersion.status == "active"))


class TriageCache:
    """One Triage per workspace, rebuilt only when the active model or settings change."""

    def __init__(self) -> None:
        self._entries: dict[str, tuple[tuple[object, ...], Triage]] = {}
        self._lock = threading.Lock()

    def get(self, session: Session, workspace: Workspace) -> Triage:
        """Return the workspace's triage engine, loading its active model if needed."""
        scope_session(session, workspace.id)
        row = session.execute(
            select(ModelVersion.id, ModelVersion.version).where(ModelVersion.status == "active")
        ).first()
        settings = workspace_settings(workspace)
        key = (
            row.id if row else None,
            settings.languages,
            tuple(sorted(settings.entity_patterns.items())),
        )
        with self._lock:
            cached = self._entries.get(workspace.id)
            if cached is not None and cached[0] == key:
                return cached[1]
        model = None
        if row is not None:
            artifact = session.scalar(
                select(ModelVersion.artifact).where(ModelVersion.id == row.id)
            )
            model = IntentModel.from_bytes(artifact or b"")
        triage = Triage(
            model,
            languages=list(settings.languages),
            entity_patterns=settings.entity_patterns or None,
            model_version=row.version if row else None,
        )
        with self._lock:
            self._entries[workspace.id] = (key, triage)
        return triage


triage_cache = TriageCache()
