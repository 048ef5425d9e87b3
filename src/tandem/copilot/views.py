"""The co-pilot API: suggestions and next actions for a conversation, draft checks, rules."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, StrictBool

from tandem.api.deps import AdminPrincipal, CurrentPrincipal, SessionDep, SettingsDep
from tandem.conversations import service as conversations
from tandem.copilot import service
from tandem.copilot.compliance import ComplianceRules, has_blocking
from tandem.core.errors import ValidationError
from tandem.privacy.mask import masked_kinds
from tandem.workspaces.service import change_privacy_settings, get_workspace
from tandem.workspaces.settings import MaskKind, workspace_settings

router = APIRouter(prefix="/api/v1", tags=["copilot"])


class SuggestionOut(BaseModel):
    """A suggested reply and its source."""

    text: str
    source_kind: str
    source_title: str
    source_ref: str
    score: float


class NextActionOut(BaseModel):
    """A step the agent may take next."""

    label: str
    kind: str
    target: str | None


class HistoryOut(BaseModel):
    """One of the customer's other conversations."""

    id: str
    status: str
    created_at: datetime
    subject: str | None
    resolved_at: datetime | None


class CopilotOut(BaseModel):
    """Everything the co-pilot offers for one conversation."""

    suggestions: list[SuggestionOut]
    next_actions: list[NextActionOut]
    history: list[HistoryOut]


class CheckIn(BaseModel):
    """A draft reply to check, optionally for a conversation."""

    model_config = ConfigDict(extra="forbid")

    text: str
    conversation_id: str | None = None


class FlagOut(BaseModel):
    """One compliance problem in a draft."""

    code: str
    severity: str
    message: str
    start: int | None
    end: int | None


class CheckOut(BaseModel):
    """The flags of a draft; ok is false when any flag blocks sending."""

    flags: list[FlagOut]
    ok: bool


class RulesBody(BaseModel):
    """A workspace's compliance rules (omitted lists fall back to the defaults)."""

    model_config = ConfigDict(extra="forbid")

    forbidden_phrases: list[str] | None = None
    required_phrases: list[str] | None = None
    allow_supervisor_override: StrictBool = False

    @classmethod
    def of(cls, rules: ComplianceRules) -> RulesBody:
        """Build from the rules."""
        return cls(**rules.as_dict())


@router.get("/conversations/{conversation_id}/copilot", response_model=CopilotOut)
def copilot(conversation_id: str, principal: CurrentPrincipal, session: SessionDep) -> CopilotOut:
    """Return suggested replies, next actions and the customer's other conversations."""
    conversation = conversations.get_conversation(session, conversation_id)
    return CopilotOut(
        suggestions=[SuggestionOut(**vars(s)) for s in service.suggestions(session, conversation)],
        next_actions=[
            NextActionOut(**vars(a)) for a in service.next_actions(session, conversation)
        ],
        history=[
            HistoryOut(**vars(h)) for h in conversations.customer_history(session, conversation)
        ],
    )


@router.post("/copilot/check", response_model=CheckOut)
def check_draft(
    body: CheckIn, principal: CurrentPrincipal, session: SessionDep, settings: SettingsDep
) -> CheckOut:
    """Check a draft reply against the workspace's compliance rules."""
    if len(body.text) > settings.max_message_chars:
        raise ValidationError(
            f"text is {len(body.text)} characters; the limit is {settings.max_message_chars}"
        )
    if body.conversation_id is not None:
        conversations.get_conversation(session, body.conversation_id)  # 404 if not ours
    flags = service.check(session, get_workspace(session, principal.workspace_id), body.text)
    return CheckOut(flags=[FlagOut(**f.as_dict()) for f in flags], ok=not has_blocking(flags))


@router.get("/copilot/rules", response_model=RulesBody)
def read_rules(principal: CurrentPrincipal, session: SessionDep) -> RulesBody:
    """Return the workspace's compliance rules."""
    return RulesBody.of(service.rules_for(get_workspace(session, principal.workspace_id)))


@router.put("/copilot/rules", response_model=RulesBody)
def write_rules(body: RulesBody, principal: AdminPrincipal, session: SessionDep) -> RulesBody:
    """Replace the workspace's compliance rules (admins only)."""
    workspace = get_workspace(session, principal.workspace_id)
    rules = service.update_rules(session, workspace, body.model_dump(exclude_none=True))
    return RulesBody.of(rules)


class PrivacyBody(BaseModel):
    """Which personal data is masked before messages are stored (card numbers always are)."""

    model_config = ConfigDict(extra="forbid")

    mask: list[MaskKind] = Field(default_factory=list, max_length=5)


@router.get("/privacy", response_model=PrivacyBody, tags=["privacy"])
def read_privacy(principal: CurrentPrincipal, session: SessionDep) -> PrivacyBody:
    """Return the kinds of personal data masked before storage (card numbers are always)."""
    workspace = get_workspace(session, principal.workspace_id)
    return PrivacyBody(mask=sorted(masked_kinds(workspace_settings(workspace).privacy.mask)))


@router.put("/privacy", response_model=PrivacyBody, tags=["privacy"])
def write_privacy(body: PrivacyBody, principal: AdminPrincipal, session: SessionDep) -> PrivacyBody:
    """Choose which personal data is masked in new messages (admins only)."""
    workspace = get_workspace(session, principal.workspace_id)
    changed = change_privacy_settings(session, workspace, body.model_dump())
    return PrivacyBody(mask=sorted(masked_kinds(changed.privacy.mask)))
