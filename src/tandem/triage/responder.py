"""Compose what the AI says: an answer with its source, small talk, a scope reply, a handoff.

Every AI message is in one language and ends with the workspace's AI notice (it is an AI, and a
person is one message away), exactly once, in that same language.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from tandem.workspaces.ai_settings import AiSettings

LANGUAGES = ("en", "es", "de", "fr")  # the languages the AI's own sentences are written in
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


_ONLY_IN = {
    "en": "This answer is only available in English.",
    "es": "Esta respuesta solo está disponible en español.",
    "de": "Diese Antwort gibt es nur auf Deutsch.",
    "fr": "Cette réponse n'est disponible qu'en français.",
}
_ARTICLE = {
    "en": "From our help centre",
    "es": "De nuestro centro de ayuda",
    "de": "Aus unserem Hilfe-Center",
    "fr": "Extrait de notre centre d'aide",
}
_SMALL_TALK = {
    "greeting": {
        "en": "Hello! How can I help you today?",
        "es": "¡Hola! ¿En qué puedo ayudarte hoy?",
        "de": "Hallo! Wie kann ich Ihnen heute helfen?",
        "fr": "Bonjour ! Comment puis-je vous aider aujourd'hui ?",
    },
    "thanks": {
        "en": "You're welcome! If there's anything else, just ask.",
        "es": "¡De nada! Si necesitas algo más, aquí estoy.",
        "de": "Gern geschehen! Wenn Sie noch etwas brauchen, fragen Sie einfach.",
        "fr": "Avec plaisir ! Si vous avez besoin d'autre chose, n'hésitez pas.",
    },
    "goodbye": {
        "en": "Thanks for getting in touch. Goodbye, and have a great day!",
        "es": "Gracias por escribirnos. ¡Hasta pronto y que tengas un buen día!",
        "de": "Danke für Ihre Nachricht. Auf Wiedersehen und einen schönen Tag!",
        "fr": "Merci de nous avoir écrit. Au revoir et bonne journée !",
    },
}
_SCOPE = {
    "en": "Sorry, that's outside what I can help with here.",
    "es": "Lo siento, eso queda fuera de lo que puedo resolver aquí.",
    "de": "Damit kann ich Ihnen hier leider nicht helfen.",
    "fr": "Désolé, cela sort de ce que je peux traiter ici.",
}
_SCOPE_TOPICS = {
    "en": "I can help with questions such as: {topics}.",
    "es": "Puedo ayudarte con preguntas como: {topics}.",
    "de": "Ich helfe Ihnen gern bei Fragen wie: {topics}.",
    "fr": "Je peux vous aider sur des questions comme : {topics}.",
}
_SCOPE_HUMAN = {
    "en": 'For anything else, a person is one message away: say "talk to a human".',
    "es": 'Para cualquier otra cosa, una persona está a un mensaje: escribe "hablar con una persona".',
    "de": 'Für alles andere ist ein Mensch nur eine Nachricht entfernt: schreiben Sie "mit einem '
    'Menschen sprechen".',
    "fr": "Pour tout le reste, une personne est à un message : écrivez « parler à un humain ».",
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
    language: str = "en"
    source_title: str | None = None
    source_url: str | None = None


def _lang(language: str | None) -> str:
    return language if language in LANGUAGES else "en"


def reply_language(language: str | None, *, supported: Sequence[str], default: str) -> str:
    """Return the language to reply in: the customer's when we can, else the default one."""
    if language in supported and language in LANGUAGES:
        return language
    return _lang(default)


def _with_notice(text: str, *, lang: str, persona: AiSettings) -> str:
    return f"{text.strip()}\n\n{persona.notice(lang)}"


def compose_answer(
    answer: AnswerSource, *, language: str, persona: AiSettings, untranslated: bool = False
) -> Reply:
    """Return the approved answer, its source, and the AI notice (never new policy).

    untranslated: the customer wrote in another language and the answer exists only in
    `language` (the default one); one sentence, in that language, says so.
    """
    lang = _lang(language)
    source = answer.title + (f" ({answer.source_url})" if answer.source_url else "")
    note = f"{_ONLY_IN[lang]}\n\n" if untranslated else ""
    text = f"{note}{answer.body.strip()}\n\n{_SOURCE[lang]}: {source}"
    return Reply(
        text=_with_notice(text, lang=lang, persona=persona),
        language=lang,
        source_title=answer.title,
        source_url=answer.source_url,
    )


def compose_article_answer(
    *,
    title: str,
    passage: str,
    url: str | None,
    language: str,
    persona: AiSettings,
    untranslated: bool = False,
) -> Reply:
    """Return a quoted knowledge-base passage with the article's name and link, and the notice."""
    lang = _lang(language)
    note = f"{_ONLY_IN[lang]}\n\n" if untranslated else ""
    source = title + (f" ({url})" if url else "")
    text = f"{note}{passage.strip()}\n\n{_ARTICLE[lang]}: {source}"
    return Reply(
        text=_with_notice(text, lang=lang, persona=persona),
        language=lang,
        source_title=title,
        source_url=url,
    )


def compose_small_talk(kind: str, *, language: str, persona: AiSettings) -> Reply:
    """Return a greeting and an offer to help, or a closing line, with the notice."""
    lang = _lang(language)
    text = _SMALL_TALK.get(kind, _SMALL_TALK["greeting"])[lang]
    return Reply(text=_with_notice(text, lang=lang, persona=persona), language=lang)


def compose_scope(topics: Sequence[str], *, language: str, persona: AiSettings) -> Reply:
    """Return what the AI can help with (a few answer titles) and how to reach a person."""
    lang = _lang(language)
    parts = [_SCOPE[lang]]
    if topics:
        parts.append(_SCOPE_TOPICS[lang].format(topics="; ".join(t.rstrip(" ?.") for t in topics)))
    parts.append(_SCOPE_HUMAN[lang])
    return Reply(text=_with_notice(" ".join(parts), lang=lang, persona=persona), language=lang)


def compose_handoff(
    *, language: str | None, wait_minutes: int | None = None, back_at: str | None = None
) -> Reply:
    """Return the notice that a human is taking over, and roughly when (or when the team is back)."""
    lang = _lang(language)
    if back_at:
        text = _HANDOFF[lang].format(wait=_CLOSED[lang].format(back=back_at))
        return Reply(text=text, language=lang)
    eta = _ETA[lang].format(minutes=max(wait_minutes, 1)) if wait_minutes is not None else ""
    return Reply(text=_HANDOFF[lang].format(wait=_WAIT[lang].format(eta=eta)), language=lang)
