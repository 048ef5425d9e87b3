"""Compose what the AI says: the approved answer with its source, or the handoff notice."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

# The AI always says it is an AI and how to reach a person, in the customer's language.
_AI_NOTICE = {
    "en": 'I\'m Tandem, the AI assistant. Not what you needed? Say "talk to a human" at any time.',
    "es": 'Soy Tandem, el asistente de IA. ¿No es lo que buscabas? Escribe "hablar con una persona" cuando quieras.',
    "de": 'Ich bin Tandem, der KI-Assistent. Nicht das Richtige? Schreiben Sie jederzeit "mit einem Menschen sprechen".',
    "fr": "Je suis Tandem, l'assistant IA. Ce n'est pas ce qu'il vous faut ? Écrivez « parler à un humain » à tout moment.",
}
_SOURCE = {"en": "Source", "es": "Fuente", "de": "Quelle", "fr": "Source"}
_HANDOFF = {
    "en": "I'm passing this conversation to our support team, with everything you've told me, so you "
    "won't need to repeat yourself. {wait}",
    "es": "Paso esta conversación a nuestro equipo de soporte con todo lo que me has contado, así que no "
    "tendrás que repetirlo. {wait}",
    "de": "Ich übergebe dieses Gespräch mit allem, was Sie mir gesagt haben, an unser Support-Team – Sie "
    "müssen nichts wiederholen. {wait}",
    "fr": "Je transmets cette conversation à notre équipe avec tout ce que vous m'avez dit : vous n'aurez "
    "rien à répéter. {wait}",
}
_WAIT = {
    "en": "A person will reply here{eta}.",
    "es": "Una persona te responderá aquí{eta}.",
    "de": "Eine Person antwortet Ihnen hier{eta}.",
    "fr": "Une personne vous répondra ici{eta}.",
}
_CLOSED = {
    "en": "Our team is away right now and will be back {back}; your message is saved and a person will "
    "reply here then.",
    "es": "Nuestro equipo no está disponible ahora y volverá {back}; tu mensaje queda guardado y una "
    "persona te responderá aquí.",
    "de": "Unser Team ist gerade nicht da und ab {back} wieder erreichbar; Ihre Nachricht ist gespeichert "
    "und eine Person antwortet Ihnen dann hier.",
    "fr": "Notre équipe est absente pour le moment et sera de retour {back} ; votre message est enregistré "
    "et une personne vous répondra ici.",
}
_ETA = {
    "en": " in about {minutes} minutes",
    "es": " en unos {minutes} minutos",
    "de": " in etwa {minutes} Minuten",
    "fr": " dans environ {minutes} minutes",
}


class AnswerSource(Protocol):
    """An approved answer as the responder needs it."""

    @property
    def title(self) -> str: ...
    @property
    def body(self) -> str: ...
    @property
    def source_url(self) -> str | None: ...


@dataclass(frozen=True)
class Reply:
    """What to post, and the facts to store with it."""

    text: str
    source_title: str | None = None
    source_url: str | None = None


def _lang(language: str | None) -> str:
    return language if language in _AI_NOTICE else "en"


def compose_answer(answer: AnswerSource, *, language: str | None) -> Reply:
    """Return the approved answer, its source, and the AI notice (never new policy)."""
    lang = _lang(language)
    source = answer.title + (f" ({answer.source_url})" if answer.source_url else "")
    text = f"{answer.body.strip()}\n\n{_SOURCE[lang]}: {source}\n{_AI_NOTICE[lang]}"
    return Reply(text=text, source_title=answer.title, source_url=answer.source_url)


def compose_handoff(
    *, language: str | None, wait_minutes: int | None = None, back_at: str | None = None
) -> Reply:
    """Return the notice that a human is taking over, and roughly when (or when the team is back)."""
    lang = _lang(language)
    if back_at:
        return Reply(text=_HANDOFF[lang].format(wait=_CLOSED[lang].format(back=back_at)))
    eta = _ETA[lang].format(minutes=max(wait_minutes, 1)) if wait_minutes is not None else ""
    return Reply(text=_HANDOFF[lang].format(wait=_WAIT[lang].format(eta=eta)))
