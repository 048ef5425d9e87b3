"""View data for the AI page's teaching sections: retraining, versions, test box, persona.

Read-only: every change goes through tandem.triage.training or tandem.workspaces.ai_settings.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy.orm import Session

from tandem.core.schemas import value_from_row
from tandem.triage import training
from tandem.triage.models import ModelVersion, TrainingRun
from tandem.workspaces.ai_settings import (
    FALLBACKS,
    NOTICE_LANGUAGES,
    read_ai_settings,
    workspace_ai_settings,
)
from tandem.workspaces.models import Workspace
from tandem.workspaces.settings import workspace_settings

STAGE_LABELS = {
    "queued": "Waiting for the training worker",
    "preparing": "Reading the examples and loading the language model",
    "embed": "Embedding the examples",
    "cross-validate": "Cross-validating",
    "fit": "Fitting the final model",
    "evaluating": "Judging it on held-back examples, next to the active version",
    "storing": "Saving the new version",
    "done": "Done",
}
# The figures of a version, in the order the page shows them: (describe() key, label, kind).
FIGURES = (
    ("cv_precision", "Precision (cross-validated)", "percent"),
    ("cv_automation_rate", "Automation rate", "percent"),
    ("cv_unseen_escalation", "Unseen needs escalated", "percent"),
    ("threshold", "Answer threshold", "number"),
    ("n_train", "Training examples", "count"),
)
FALLBACK_LABELS = {
    "escalate": "Hand the conversation to a person",
    "default_language": "Answer in the default language",
}


@dataclass(frozen=True)
class Figure:
    """One number about a model, formatted for the page ("—" when the model lacks it)."""

    key: str
    label: str
    text: str


@dataclass(frozen=True)
class VersionRow:
    """A model version as the versions table lists it."""

    version: int
    status: str
    created_at: Any
    activated_at: Any
    figures: list[Figure]
    promotion_reason: str | None = None  # why it was, or was not, promoted
    needs_reason: bool = False  # a candidate its evaluation did not promote


@dataclass(frozen=True)
class RunView:
    """A training run as the page shows it: progress while going, the outcome after."""

    id: str
    status: str
    stage_label: str
    done: int
    total: int
    active: bool
    error: str | None
    model_version: int | None
    example_counts: list[tuple[str, int]] = field(default_factory=list)


def format_figure(value: Any, kind: str) -> str:
    """Return a figure as text: a percentage, a number, a count, or "—" when unknown."""
    if value is None or isinstance(value, bool):
        return "—"
    try:
        number = float(value)
    except (TypeError, ValueError):
        return "—"
    if kind == "percent":
        return f"{number * 100:.1f}%"
    if kind == "count":
        return f"{int(number)}"
    return f"{number:.3f}"


def figures(description: Mapping[str, Any] | None) -> list[Figure]:
    """Return a version's headline figures from its stored describe() output."""
    data = description or {}
    return [Figure(key, label, format_figure(data.get(key), kind)) for key, label, kind in FIGURES]


def version_row(version: ModelVersion) -> VersionRow:
    """Return one versions-table row."""
    held_back = (version.evaluation or {}).get("promoted") is False
    return value_from_row(
        VersionRow,
        version,
        figures=figures(version.description),
        needs_reason=version.status == "candidate" and held_back,
    )


def run_view(run: TrainingRun) -> RunView:
    """Return a run's progress or outcome for the page."""
    return RunView(
        id=run.id,
        status=run.status,
        stage_label=STAGE_LABELS.get(run.stage, run.stage.replace("-", " ").replace("_", " ")),
        done=run.done,
        total=run.total,
        active=training.is_active(run),
        error=run.error,
        model_version=run.model_version,
        example_counts=sorted((run.example_counts or {}).items()),
    )


def training_context(
    session: Session, *, run: TrainingRun | None = None, notice: str | None = None
) -> dict[str, Any]:
    """Return the retraining section: the run to show (default: the latest) and the versions."""
    shown = run or next(iter(training.recent_runs(session, limit=1)), None)
    versions = training.list_versions(session)
    produced = None
    if shown is not None and shown.model_version is not None:
        produced = next((v for v in versions if v.version == shown.model_version), None)
    return {
        "run": run_view(shown) if shown is not None else None,
        "produced": version_row(produced) if produced is not None else None,
        "versions": [version_row(v) for v in versions],
        "training_notice": notice,
    }


def active_threshold(versions: Sequence[ModelVersion]) -> float | None:
    """Return the active version's answer threshold, if there is an active version."""
    for version in versions:
        if version.status == "active":
            value = (version.description or {}).get("threshold")
            return float(value) if isinstance(value, int | float) else None
    return None


def preview_view(plan: Mapping[str, Any], *, threshold: float | None) -> dict[str, Any]:
    """Return the test box's result: intent and confidence, signals, reply or escalation."""
    triage = plan.get("triage") or {}
    decision = plan.get("decision") or {}
    ranked = [(str(name), float(score)) for name, score in triage.get("ranked") or []]
    return {
        "action": decision.get("action", "escalate"),
        "intent": triage.get("intent"),
        "confidence": triage.get("confidence"),
        "threshold": threshold,
        "ranked": ranked[:3],
        "reasons": list(decision.get("reasons") or []),
        "reply": plan.get("reply"),
        "source": plan.get("source"),
        "signals": [
            ("Language", triage.get("language") or "—"),
            ("Like none of the intents", "yes" if triage.get("off_topic") else "no"),
            ("Sentiment", triage.get("sentiment_label") or "—"),
            ("Frustration", format_figure(triage.get("frustration"), "percent")),
            ("Asks for a human", format_figure(triage.get("human_request"), "percent")),
            ("Sensitive topics", ", ".join(sorted(triage.get("sensitive_topics") or {})) or "—"),
            ("Personal data", ", ".join(triage.get("personal_data") or []) or "—"),
        ],
        "related": list(plan.get("related_articles") or []),
    }


def persona_context(workspace: Workspace) -> dict[str, Any]:
    """Return the persona form: name, notice per language, language rules."""
    current = workspace_ai_settings(workspace)
    stored = workspace_settings(workspace)
    # What customers get with the fields left empty: the store's name, said in each language.
    unnamed = read_ai_settings(
        stored.model_copy(update={"assistant_name": None}), workspace_name=workspace.name
    )
    unwritten = replace(current, notices={})
    return {
        "persona": current,
        "name_override": stored.assistant_name or "",
        "default_name": unnamed.assistant_name,
        "notice_languages": NOTICE_LANGUAGES,
        "default_notices": {lang: unwritten.notice(lang) for lang in NOTICE_LANGUAGES},
        "fallbacks": [(value, FALLBACK_LABELS[value]) for value in FALLBACKS],
        "languages": list(stored.languages),
    }


def teach_context(session: Session, workspace: Workspace) -> dict[str, Any]:
    """Return everything the AI page's teaching sections show when the page opens."""
    return {**training_context(session), **persona_context(workspace), "form": {}}
