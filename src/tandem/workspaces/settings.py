"""A workspace's settings: one typed model, every default in one place, validated on write.

`Workspace.settings` (a JSON column) holds only what a workspace changed; everything else comes
from the defaults below. Readers call `workspace_settings(workspace)` and get a typed, frozen
`WorkspaceSettings`; writers call `workspaces.service.update_settings`, which validates the
merged result with this model and refuses (422) anything it would not accept. A stored value
that no longer validates (an older release's key, a hand-edited row) is dropped with a warning
on read, so a damaged entry never takes a workspace down.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic import ValidationError as PydanticValidationError

from tandem.core.errors import ValidationError

if TYPE_CHECKING:
    from tandem.copilot.compliance import ComplianceRules
    from tandem.routing.admin import RoutingSettings
    from tandem.workspaces.models import Workspace

logger = logging.getLogger(__name__)

LanguageFallback = Literal["escalate", "default_language"]
MaskKind = Literal[
    "card_number", "card_security_code", "iban", "bank_account_number", "email", "phone"
]

# The share of AI answers that must be right; the answer threshold is derived from it at training.
DEFAULT_PRECISION_TARGET = 0.95
MIN_PRECISION_TARGET = 0.5
MAX_PRECISION_TARGET = 0.999
MAX_NAME_CHARS = 60
MAX_NOTICE_CHARS = 300
NOTICE_LANGUAGES = ("en", "es", "de", "fr")
DEFAULT_HUMAN_ONLY_TOPICS = (
    "legal_threat",
    "cancellation",
    "refund_dispute",
    "complaint",
    "vulnerable_customer",
    "security_incident",
)
_LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}$")
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StoreInfo(BaseModel):
    """What the AI may say about the store itself (its name, support hours)."""

    model_config = ConfigDict(extra="allow", frozen=True)

    name: str | None = Field(None, max_length=100)
    support_hours: str | None = Field(None, max_length=300)


class CopilotSettings(_Part):
    """Co-pilot options: which entities an intent needs before a reply is complete."""

    required_entities: dict[str, tuple[str, ...]] | None = None  # None = the built-in table


class PrivacySettings(_Part):
    """Which personal data is masked before storage (card numbers always are)."""

    mask: tuple[MaskKind, ...] = ()

    @field_validator("mask")
    @classmethod
    def _sorted(cls, kinds: tuple[MaskKind, ...]) -> tuple[MaskKind, ...]:
        return tuple(sorted(set(kinds)))


class SecuritySettings(_Part):
    """Login rules for the workspace's team."""

    require_admin_two_factor: bool = False


class WorkspaceSettings(BaseModel):
    """Every setting a workspace has, with its default."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # --- the AI front line ---
    precision_target: float = Field(
        DEFAULT_PRECISION_TARGET, ge=MIN_PRECISION_TARGET, le=MAX_PRECISION_TARGET
    )
    languages: tuple[str, ...] = ("en",)
    ai_allowed_intents: tuple[str, ...] | None = None  # None = every intent with an approved answer
    human_only_topics: tuple[str, ...] = DEFAULT_HUMAN_ONLY_TOPICS
    frustration_threshold: float = Field(0.75, ge=0.0, le=1.0)
    entity_patterns: dict[str, str] = Field(default_factory=dict)  # entity kind -> regex
    # --- the learning loop: scheduled retraining (None / false = only when a supervisor asks) ---
    retrain_after_examples: int | None = Field(None, ge=1, le=1_000_000)
    retrain_nightly: bool = False
    # --- the assistant's persona ---
    assistant_name: str | None = Field(
        None, max_length=MAX_NAME_CHARS
    )  # None = "<store> assistant"
    ai_notice: dict[str, str] = Field(default_factory=dict)  # language -> notice template
    language_fallback: LanguageFallback = "escalate"
    default_language: str | None = None  # None = the first of `languages`
    store: StoreInfo | None = None
    # --- rules, routing, privacy, security ---
    compliance: dict[str, Any] | None = None  # see copilot.compliance.ComplianceRules
    copilot: CopilotSettings = Field(default_factory=CopilotSettings)
    privacy: PrivacySettings = Field(default_factory=PrivacySettings)
    routing: dict[str, Any] | None = None  # see routing.admin.RoutingSettings
    security: SecuritySettings = Field(default_factory=SecuritySettings)

    @field_validator("precision_target", "frustration_threshold", mode="before")
    @classmethod
    def _a_number(cls, value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError("must be a number such as 0.95")
        return round(float(value), 4)

    @field_validator("languages")
    @classmethod
    def _languages(cls, codes: tuple[str, ...]) -> tuple[str, ...]:
        if not codes:
            raise ValueError("a workspace needs at least one language")
        bad = [c for c in codes if not _LANGUAGE_CODE.match(c)]
        if bad:
            raise ValueError(f"{bad} are not ISO 639-1 codes such as 'en' or 'de'")
        return tuple(dict.fromkeys(codes))

    @field_validator("ai_allowed_intents", "human_only_topics")
    @classmethod
    def _names(cls, names: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if names is None:
            return None
        bad = [n for n in names if not _NAME.match(n)]
        if bad:
            raise ValueError(f"{bad} are not names like 'order_status'")
        return tuple(dict.fromkeys(names))

    @field_validator("entity_patterns")
    @classmethod
    def _patterns(cls, patterns: dict[str, str]) -> dict[str, str]:
        for kind, pattern in patterns.items():
            if not _NAME.match(kind):
                raise ValueError(f"{kind!r} is not a name like 'order_number'")
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"the pattern for {kind!r} is not a valid regex: {exc}") from None
        return patterns

    @field_validator("assistant_name")
    @classmethod
    def _assistant_name(cls, name: str | None) -> str | None:
        return (name or "").strip() or None  # empty: back to the default

    @field_validator("ai_notice")
    @classmethod
    def _notices(cls, notices: dict[str, str]) -> dict[str, str]:
        cleaned: dict[str, str] = {}
        for lang, text in notices.items():
            if lang not in NOTICE_LANGUAGES:
                raise ValueError(f"language {lang!r} is not one of {', '.join(NOTICE_LANGUAGES)}")
            value = (text or "").strip()
            if len(value) > MAX_NOTICE_CHARS:
                raise ValueError(f"the notice is longer than {MAX_NOTICE_CHARS} characters")
            if value:
                cleaned[lang] = value
        return cleaned

    @field_validator("compliance", mode="before")
    @classmethod
    def _compliance(cls, value: Any) -> Any:
        from tandem.copilot.compliance import ComplianceRules

        try:
            return None if value is None else ComplianceRules.from_settings(value).as_dict()
        except ValidationError as exc:
            raise ValueError(exc.message) from None

    @field_validator("routing", mode="before")
    @classmethod
    def _routing(cls, value: Any) -> Any:
        from tandem.routing.admin import parse_routing_settings

        try:
            return None if value is None else parse_routing_settings(value).as_dict()
        except ValidationError as exc:
            raise ValueError(exc.message) from None

    @model_validator(mode="after")
    def _default_language_is_spoken(self) -> WorkspaceSettings:
        if self.default_language is not None and self.default_language not in self.languages:
            raise ValueError(
                "default_language must be one of the workspace's languages "
                f"({', '.join(self.languages)})"
            )
        return self

    # --- derived views -----------------------------------------------------------------------

    @property
    def answer_language(self) -> str:
        """The language the AI answers in when it cannot answer in the customer's."""
        return self.default_language or self.languages[0]

    @property
    def compliance_rules(self) -> ComplianceRules:
        """The compliance rules for agent replies (the built-in ones when unset)."""
        from tandem.copilot.compliance import ComplianceRules

        return ComplianceRules.from_settings(self.compliance)

    @property
    def routing_settings(self) -> RoutingSettings:
        """Auto-assignment and business hours."""
        from tandem.routing.admin import parse_routing_settings

        return parse_routing_settings(self.routing or {})

    def stored(self) -> dict[str, Any]:
        """Return the JSON form kept in `Workspace.settings` (only what was set)."""
        return self.model_dump(mode="json", exclude_unset=True)


def _message(exc: PydanticValidationError) -> str:
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error["loc"]) or "settings"
        text = str(error["msg"]).removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            text = "is not a setting"
        parts.append(f"{where}: {text}")
    return "; ".join(parts)


def validate_settings(data: Mapping[str, Any]) -> WorkspaceSettings:
    """Return the settings for a stored or requested dict, or raise ValidationError (422)."""
    try:
        return WorkspaceSettings.model_validate(dict(data))
    except PydanticValidationError as exc:
        raise ValidationError(f"invalid workspace settings: {_message(exc)}") from None


def read_settings(data: Mapping[str, Any] | None) -> WorkspaceSettings:
    """Return the settings stored in a JSON dict, dropping (and logging) any damaged entry."""
    raw = dict(data or {})
    for _ in range(len(raw) + 1):
        try:
            return WorkspaceSettings.model_validate(raw)
        except PydanticValidationError as exc:
            # A field error names its key; the one whole-model rule is about default_language.
            bad = {str(e["loc"][0]) if e["loc"] else "default_language" for e in exc.errors()}
        logger.warning("ignoring invalid stored workspace settings: %s", sorted(bad))
        raw = {k: v for k, v in raw.items() if k not in bad}
    return WorkspaceSettings()


def workspace_settings(workspace: Workspace | None) -> WorkspaceSettings:
    """Return a workspace's settings (all defaults for None)."""
    return read_settings(workspace.settings if workspace is not None else None)
