"""The workspace's assistant persona and language rules, as the front line and console use them.

The values live in `WorkspaceSettings` (workspaces/settings.py, which owns their defaults and
validation); this module turns them into the persona the AI speaks with.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, get_args

from tandem.core.errors import ValidationError
from tandem.workspaces.settings import (
    DEFAULT_PRECISION_TARGET,
    MAX_NAME_CHARS,
    NOTICE_LANGUAGES,
    LanguageFallback,
    WorkspaceSettings,
    workspace_settings,
)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from tandem.workspaces.models import Workspace

FALLBACKS: tuple[LanguageFallback, ...] = get_args(LanguageFallback)
AI_KEYS = (
    "assistant_name",
    "ai_notice",
    "language_fallback",
    "default_language",
    "precision_target",
    "retrain_after_examples",
    "retrain_nightly",
)

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

# The default name, "<store> assistant", said in each notice language (a notice never mixes
# languages: "Soy Northwind Threads assistant" did).
DEFAULT_NAMES: dict[str, str] = {
    "en": "the {store} assistant",
    "es": "el asistente de {store}",
    "de": "der Assistent von {store}",
    "fr": "l'assistant de {store}",
}


@dataclass(frozen=True)
class AiSettings:
    """How the assistant presents itself and which language it answers in."""

    assistant_name: str
    notices: Mapping[str, str] = field(default_factory=dict)  # language -> override template
    language_fallback: LanguageFallback = "escalate"
    default_language: str = "en"
    precision_target: float = DEFAULT_PRECISION_TARGET
    retrain_after_examples: int | None = None
    retrain_nightly: bool = False
    # The default name per language; empty when the workspace named its assistant.
    names: Mapping[str, str] = field(default_factory=dict)

    def notice(self, language: str | None) -> str:
        """Return the AI notice in a language (the default language's when none is known)."""
        lang = language if language in NOTICE_LANGUAGES else self.default_language
        if lang not in NOTICE_LANGUAGES:
            lang = "en"
        template = self.notices.get(lang) or DEFAULT_NOTICES[lang]
        return template.replace("{name}", self.names.get(lang, self.assistant_name))

    def as_dict(self) -> dict[str, Any]:
        """Return the settings as the API shows them."""
        return {
            "assistant_name": self.assistant_name,
            "ai_notice": {lang: self.notice(lang) for lang in NOTICE_LANGUAGES},
            "ai_notice_overrides": dict(self.notices),
            "language_fallback": self.language_fallback,
            "default_language": self.default_language,
            "precision_target": self.precision_target,
            "retrain_after_examples": self.retrain_after_examples,
            "retrain_nightly": self.retrain_nightly,
        }


def default_assistant_name(workspace_name: str) -> str:
    """Return "<store name> assistant": the store speaks to its customers, not our product."""
    return f"{workspace_name.strip()} assistant"[:MAX_NAME_CHARS]


def read_ai_settings(settings: WorkspaceSettings, *, workspace_name: str) -> AiSettings:
    """Return a workspace's AI persona from its settings."""
    # The store's own name when the workspace records one (the demo's workspace is "demo", its
    # store "Northwind Threads"), else the workspace's.
    if settings.store is not None and settings.store.name and settings.store.name.strip():
        workspace_name = settings.store.name
    store = workspace_name.strip()
    names = (
        {}
        if settings.assistant_name
        else {
            lang: DEFAULT_NAMES[lang].format(store=store)[:MAX_NAME_CHARS] for lang in DEFAULT_NAMES
        }
    )
    return AiSettings(
        assistant_name=settings.assistant_name or default_assistant_name(workspace_name),
        names=names,
        notices=dict(settings.ai_notice),
        language_fallback=settings.language_fallback,
        default_language=settings.answer_language,
        precision_target=settings.precision_target,
        retrain_after_examples=settings.retrain_after_examples,
        retrain_nightly=settings.retrain_nightly,
    )


def workspace_ai_settings(workspace: Workspace) -> AiSettings:
    """Return a workspace's AI persona settings."""
    return read_ai_settings(workspace_settings(workspace), workspace_name=workspace.name)


def change_ai_settings(
    session: Session, *, workspace: Workspace, changes: Mapping[str, Any]
) -> AiSettings:
    """Validate and store changes to a workspace's AI settings; return the result."""
    from tandem.workspaces.service import update_settings

    unknown = sorted(set(changes) - set(AI_KEYS))
    if unknown:
        raise ValidationError(f"{unknown} are not AI settings; allowed: {', '.join(AI_KEYS)}")
    wanted = dict(changes)
    if "ai_notice" in wanted and wanted["ai_notice"] is None:
        wanted["ai_notice"] = {}  # null: back to the default notices
    update_settings(session, workspace, wanted)
    return workspace_ai_settings(workspace)
