"""The AI API: retrain with progress, model versions, the test box and the assistant's persona.

Admins change things; every team member may look (and try messages in the test box).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter
from pydantic import Field

from tandem.api.deps import (
    AdminPrincipal,
    CurrentPrincipal,
    SessionDep,
    SettingsDep,
    SupervisorPrincipal,
)
from tandem.core.schemas import BodyIn, RowOut
from tandem.triage import training
from tandem.triage.models import ModelVersion, TrainingRun
from tandem.workspaces.ai_settings import change_ai_settings, workspace_ai_settings
from tandem.workspaces.service import get_workspace

router = APIRouter(prefix="/api/v1/ai", tags=["ai"])


class TrainingRunOut(RowOut):
    """A training run: queued, running (stage, done of total), succeeded or failed."""

    id: str
    status: Literal["queued", "running", "succeeded", "failed"]
    stage: str
    done: int
    total: int
    requested_by: str | None
    error: str | None
    model_version: int | None
    example_counts: dict[str, int]
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def of(cls, run: TrainingRun) -> TrainingRunOut:
        """Build from a stored run."""
        return cls.from_row(run, example_counts=dict(run.example_counts or {}))


class ModelVersionOut(RowOut):
    """A stored model version: its cross-validated figures, and how it did on held-back examples."""

    version: int
    status: str = Field(description="candidate (never promoted) | active | retired")
    created_at: datetime
    activated_at: datetime | None
    trigger: str = Field(description="supervisor | schedule | cli | seed")
    requested_by: str | None
    promotion_reason: str | None = Field(description="Why it was, or was not, promoted.")
    evaluation: dict[str, Any] = Field(
        description="The candidate's and the then-active version's precision and automation on "
        "the same held-back examples (empty for the first model)."
    )
    figures: dict[str, Any]

    @classmethod
    def of(cls, version: ModelVersion) -> ModelVersionOut:
        """Build from a stored version; its figures come from IntentModel.describe."""
        return cls.from_row(version, figures=dict(version.description or {}))


class PreviewIn(BodyIn):
    """A message to try: what would the AI do with it?"""

    text: str


class AiSettingsIn(BodyIn):
    """Changes to the assistant's persona and rules; omitted fields stay as they are."""

    assistant_name: str | None = None
    ai_notice: dict[str, str] | None = Field(
        None, description="Notice overrides by language (en, es, de, fr); empty text = default."
    )
    language_fallback: str | None = Field(None, description="escalate | default_language")
    default_language: str | None = None
    precision_target: float | None = Field(None, description="e.g. 0.95 (applies from next run)")
    retrain_after_examples: int | None = Field(
        None, description="Retrain on its own after this many new examples (null: only by hand)."
    )
    retrain_nightly: bool | None = Field(
        None, description="Retrain once a day when there are new examples."
    )


@router.post("/train", status_code=202, response_model=TrainingRunOut)
def start_training(principal: SupervisorPrincipal, session: SessionDep) -> TrainingRunOut:
    """Retrain the intent model in the background (returns the run already going, if any)."""
    run = training.request_training(
        session,
        workspace=get_workspace(session, principal.workspace_id),
        requested_by=principal.user.id,
    )
    return TrainingRunOut.of(run)


@router.get("/train", response_model=list[TrainingRunOut])
def list_training_runs(_principal: CurrentPrincipal, session: SessionDep) -> list[TrainingRunOut]:
    """List the latest training runs, newest first."""
    return [TrainingRunOut.of(run) for run in training.recent_runs(session)]


@router.get("/train/{run_id}", response_model=TrainingRunOut)
def get_training_run(
    run_id: str, _principal: CurrentPrincipal, session: SessionDep
) -> TrainingRunOut:
    """Show a training run's progress or outcome."""
    return TrainingRunOut.of(training.get_run(session, run_id))


@router.get("/models", response_model=list[ModelVersionOut])
def list_models(_principal: CurrentPrincipal, session: SessionDep) -> list[ModelVersionOut]:
    """List the model versions, newest first, with their figures."""
    return [ModelVersionOut.of(v) for v in training.list_versions(session)]


class ActivateIn(BodyIn):
    """Why you promote or roll back (audited; required for a candidate that was not promoted)."""

    reason: str | None = Field(None, max_length=500)


@router.post("/models/{version}/activate", response_model=ModelVersionOut)
def activate_model(
    version: int,
    principal: SupervisorPrincipal,
    session: SessionDep,
    body: ActivateIn | None = None,
) -> ModelVersionOut:
    """Make a model version the active one: promote a candidate by hand, or roll back."""
    chosen = training.activate(
        session,
        workspace_id=principal.workspace_id,
        version=version,
        reason=body.reason if body else None,
    )
    return ModelVersionOut.of(chosen)


@router.post("/preview")
def preview(
    body: PreviewIn, principal: CurrentPrincipal, session: SessionDep, settings: SettingsDep
) -> dict[str, Any]:
    """Show what the AI would do with a message: triage, decision, reply (nothing is stored)."""
    return training.preview(
        session,
        workspace=get_workspace(session, principal.workspace_id),
        text=body.text,
        max_chars=settings.max_message_chars,
    )


@router.get("/settings")
def get_ai_settings(principal: CurrentPrincipal, session: SessionDep) -> dict[str, Any]:
    """Show the assistant's name, AI notice per language, language rules and precision target."""
    return workspace_ai_settings(get_workspace(session, principal.workspace_id)).as_dict()


@router.put("/settings")
def put_ai_settings(
    body: AiSettingsIn, principal: AdminPrincipal, session: SessionDep
) -> dict[str, Any]:
    """Change the assistant's persona and rules (only the fields sent)."""
    changed = change_ai_settings(
        session,
        workspace=get_workspace(session, principal.workspace_id),
        changes=body.model_dump(exclude_unset=True),
    )
    return changed.as_dict()
