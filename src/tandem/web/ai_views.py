"""The AI page's teaching sections: retrain now (with progress), versions, test box, persona.

Thin edges: each form calls the same function the team API calls (tandem.triage.training,
tandem.workspaces.ai_settings) and re-renders its section; admins only, like the page.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Response
from pydantic import BaseModel, Field

from tandem.core.errors import TandemError
from tandem.triage import training
from tandem.web import ai_presenter
from tandem.web.auth import ConsoleRoute
from tandem.web.page import AdminPage
from tandem.workspaces.ai_settings import NOTICE_LANGUAGES, change_ai_settings

router = APIRouter(prefix="/console/admin/ai", route_class=ConsoleRoute)

MODEL_SECTION = "admin/_ai_model.html"
PERSONA_SECTION = "admin/_ai_persona.html"
PREVIEW_RESULT = "admin/_ai_preview_result.html"


@router.post("/train")
def retrain(page: AdminPage) -> Response:
    """Queue a training run (or show the one already going) and start showing its progress."""
    before = training.active_run(page.session, workspace_id=page.workspace_id)
    run = training.request_training(
        page.session, workspace=page.workspace(), requested_by=page.user.id
    )
    notice = "A training run is already going." if before is not None else "Training started."
    context = ai_presenter.training_context(page.session, run=run, notice=notice)
    return page.render(MODEL_SECTION, context, status_code=202)


@router.get("/train/{run_id}")
def training_progress(run_id: str, page: AdminPage) -> Response:
    """Show a run's progress (the page polls this until the run is done)."""
    run = training.get_run(page.session, run_id)
    return page.render(MODEL_SECTION, ai_presenter.training_context(page.session, run=run))


@router.post("/models/{version}/activate")
def activate_version(
    version: int, page: AdminPage, reason: Annotated[str, Form(max_length=500)] = ""
) -> Response:
    """Make a model version the active one: promote a candidate (with a reason) or roll back."""

    def change() -> str:
        training.activate(
            page.session, workspace_id=page.workspace_id, version=version, reason=reason or None
        )
        return f"Version {version} is now active."

    return page.form_result(
        MODEL_SECTION, lambda: ai_presenter.training_context(page.session), change
    )


@router.post("/preview")
def preview(page: AdminPage, text: Annotated[str, Form()] = "") -> Response:
    """Show what the AI would do with a test message (nothing is stored or sent)."""
    workspace = page.workspace()
    try:
        plan = training.preview(
            page.session, workspace=workspace, text=text, max_chars=page.config.max_message_chars
        )
    except TandemError as exc:
        return page.render(PREVIEW_RESULT, {"error": exc.message}, status_code=422)
    threshold = ai_presenter.active_threshold(training.list_versions(page.session))
    return page.render(
        PREVIEW_RESULT, {"result": ai_presenter.preview_view(plan, threshold=threshold)}
    )


class PersonaForm(BaseModel):
    """The persona form: the assistant's name, a notice per language, the language rules."""

    assistant_name: str = Field("", max_length=1000)
    notice_en: str = Field("", max_length=5000)
    notice_es: str = Field("", max_length=5000)
    notice_de: str = Field("", max_length=5000)
    notice_fr: str = Field("", max_length=5000)
    language_fallback: str = Field("", max_length=100)
    default_language: str = Field("", max_length=100)

    def changes(self) -> dict[str, Any]:
        """Return the form as an AI settings change request (validated by ai_settings)."""
        return {
            "assistant_name": self.assistant_name,
            "ai_notice": {lang: getattr(self, f"notice_{lang}") for lang in NOTICE_LANGUAGES},
            "language_fallback": self.language_fallback,
            "default_language": self.default_language,
        }


@router.post("/persona")
def set_persona(page: AdminPage, form: Annotated[PersonaForm, Form()]) -> Response:
    """Set the assistant's name, its AI notice per language and the language rules."""
    workspace = page.workspace()

    def change() -> str:
        change_ai_settings(page.session, workspace=workspace, changes=form.changes())
        return "Assistant settings saved."

    return page.form_result(
        PERSONA_SECTION,
        lambda: ai_presenter.persona_context(workspace),
        change,
        form.model_dump(),
    )
