"""The workspace's assistant persona and language rules, read and validated in one place.

Stored in `Workspace.settings` (JSON) under the keys below; every reader (responder, front line,
console, API) goes through `read_ai_settings`, every writer through `validate_ai_changes`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from tandem.core.errors import ValidationError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from tandem.workspaces.models import Workspace

LanguageFallback = Literal["escalate", "default_language"]
FALLBACKS: tuple[LanguageFallback, ...] = ("escalate", "default_language")
MAX_NAME_CHARS = 60
MAX_NOTICE_CHARS = 300
NOTICE_LANGUAGES = ("en", "es", "de", "fr")
# The share of AI answers that must be right; the answer threshold is derived from it at training.
DEFAULT_PRECISION_TARGET = 0.95
MIN_PRECISION_TARGET = 0.5
MAX_PRECISION_TARGET = 0.999

# The notice the AI adds to each of its messages: it is an AI and a person is one message away.
# "{name}" is the assistant's name. Workspaces may override any language.
DEFAULT_NOTICES: dict[str, str] = {
    "en": 'I\'m {name}, an AI assistant. Not what you needed? Say "talk to a human" at any time.',
    "es": "Soy {name}, un asistente de IA. ¿No es lo que buscabas? "
    'Escribe "hablar con una persona" cuando quieras.',
    "de": "Ich bin {name}, ein KI-Assistent. Nicht das Richtige? Schreiben Sie "
    'jederzeit "mit einem Menschen sprechen".',
    "fr": "Je suis {name}, un assistant IA. Ce n'est pas ce qu'il vous faut ? "
    "Écrivez « parler à un humain » à tout moment.",
}


@dataclass(frozen=True)
class AiSettings:
    """How the assistant presents itself and which language it answers in."""

    assistant_name: str
    notices: Mapping[str, str] = field(default_factory=dict)  # language -> override template
    language_fallback: LanguageFallback = "escalate"
    default_language: str = "en"
    precision_target: float = DEFAULT_PRECISION_TARGET

    def notice(self, language: str | None) -> str:
        """Return the AI notice in a language (the default language's when none is known)."""
        lang = language if language in NOTICE_LANGUAGES else self.default_language
        if lang not in NOTICE_LANGUAGES:
            lang = "en"
        template = self.notices.get(lang) or DEFAULT_NOTICES[lang]
        return template.replace("{name}", self.assistant_name)

    def as_dict(self) -> dict[str, Any]:
        """Return the settings as the API shows them."""
        return {
            "assistant_name": self.assistant_name,
            "ai_notice": {lang: self.notice(lang) for lang in NOTICE_LANGUAGES},
            "ai_notice_overrides": dict(self.notices),
            "language_fallback": self.language_fallback,
            "default_language": self.default_language,
            "precision_target": self.precision_target,
        }


def default_assistant_name(workspace_name: str) -> str:
    """Return "<store name> assistant": the store speaks to its customers, not our product."""
    return f"{workspace_name.strip()} assistant"[:MAX_NAME_CHARS]


def read_ai_settings(settings: Mapping[str, Any] | None, *, workspace_name: str) -> AiSettings:
    """Return a workspace's AI persona settings, with defaults for anything unset."""
    data = settings or {}
    languages = list(data.get("languages") or ["en"])
    # The store's own name when the workspace records one (the demo's workspace is "demo", its
    # store "Northwind Threads"), else the workspace's.
    store = data.get("store")
    store_name = store.get("name") if isinstance(store, Mapping) else None
    if isinstance(store_name, str) and store_name.strip():
        workspace_name = store_name
    fallback = data.get("language_fallback")
    notices = data.get("ai_notice") or {}
    return AiSettings(
        assistant_name=str(data.get("assistant_name") or default_assistant_name(workspace_name)),
        notices={k: str(v) for k, v in notices.items() if isinstance(k, str) and v}
        if isinstance(notices, Mapping)
        else {},
        language_fallback=fallback if fallback in FALLBACKS else "escalate",
        default_language=str(data.get("default_language") or languages[0]),
        precision_target=_precision_or_default(data.get("precision_target")),
    )


def _precision_or_default(value: Any) -> float:
    try:
        target = float(value)
    except (TypeError, ValueError):
        return DEFAULT_PRECISION_TARGET
    ok = MIN_PRECISION_TARGET <= target <= MAX_PRECISION_TARGET
    return target if ok else DEFAULT_PRECISION_TARGET


def validate_ai_changes(changes: Mapping[str, Any], *, languages: list[str]) -> dict[str, Any]:
    """Return the settings keys to store for a change request, or raise ValidationError."""
    out: dict[str, Any] = {}
    if "assistant_name" in changes:
        name = str(changes["assistant_name"] or "").strip()
        if len(name) > MAX_NAME_CHARS:
            raise ValidationError(f"assistant_name is longer than {MAX_NAME_CHARS} characters")
        out["assistant_name"] = name or None  # empty: back to the default
    if "ai_notice" in changes:
        notices = changes["ai_notice"] or {}
        if not isinstance(notices, Mapping):
            raise ValidationError("ai_notice must map a language code to a text")
        cleaned: dict[str, str] = {}
        for lang, text in notices.items():
            if lang not in NOTICE_LANGUAGES:
                raise ValidationError(
                    f"ai_notice language {lang!r} is not one of {', '.join(NOTICE_LANGUAGES)}"
                )
            value = str(text or "").strip()
            if len(value) > MAX_NOTICE_CHARS:
                raise ValidationError(f"ai_notice is longer than {MAX_NOTICE_CHARS} characters")
            if value:
                cleaned[lang] = value
        out["ai_notice"] = cleaned
    if "language_fallback" in changes:
        if changes["language_fallback"] not in FALLBACKS:
            raise ValidationError(f"language_fallback must be one of {', '.join(FALLBACKS)}")
        out["language_fallback"] = changes["language_fallback"]
    if "default_language" in changes:
        if changes["default_language"] not in languages:
            raise ValidationError(
                "default_language must be one of the workspace's languages "
                f"({', '.join(languages)})"
            )
        out["default_language"] = changes["default_language"]
    if "precision_target" in changes:
        out["precision_target"] = _check_precision(changes["precision_target"])
    return out


def _check_precision(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValidationError("precision_target must be a number such as 0.95")
    if not MIN_PRECISION_TARGET <= value <= MAX_PRECISION_TARGET:
        raise ValidationError(
            f"precision_target must be between {MIN_PRECISION_TARGET:g} "
            f"and {MAX_PRECISION_TARGET:g} (a share of answers, e.g. 0.95)"
        )
    return round(float(value), 4)


def workspace_ai_settings(workspace: Workspace) -> AiSettings:
    """Return a workspace's AI persona settings."""
    return read_ai_settings(workspace.settings, workspace_name=workspace.name)


def change_ai_settings(
    session: Session, *, workspace: Workspace, changes: Mapping[str, Any]
) -> AiSettings:
    """Validate and store changes to a workspace's AI settings; return the result."""
    from tandem.workspaces.service import update_settings

    languages = list((workspace.settings or {}).get("languages") or ["en"])
    update_settings(session, workspace, validate_ai_changes(changes, languages=languages))
    return workspace_ai_settings(workspace)
