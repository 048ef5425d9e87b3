"""Language identification with py3langid, tempered for the very short messages of a chat."""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from functools import cache, lru_cache
from typing import Any

# The n-gram model is overconfident on a handful of characters; confidence is scaled by how
# much text there is, reaching full weight at this many letters (an ideogram counts as three).
FULL_CONFIDENCE_LETTERS = 20
# Top two languages this close (ratio) means the model could not tell: report no language.
_FLAT_RATIO = 1.15

_URL = re.compile(r"https?://\S+|www\.\S+|\S+@\S+\.\w+", re.IGNORECASE)
_TAG = re.compile(r"<[^>]{0,200}>")
_MENTION = re.compile(r"[@#]\w+")
_LETTER = re.compile(r"[^\W\d_]")
_DENSE_SCRIPT = re.compile(r"[\u0e00-\u0e7f\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")

# One-word openers the n-gram model has too little to go on; ambiguous words are left out.
_SHORT_WORDS: dict[str, str] = {
    "hello": "en", "thanks": "en", "thank you": "en", "please": "en", "help": "en",
    "hola": "es", "gracias": "es", "buenas": "es", "buenos dias": "es", "ayuda": "es",
    "danke": "de", "guten tag": "de", "bitte": "de", "moin": "de", "servus": "de",
    "bonjour": "fr", "merci": "fr", "salut": "fr", "bonsoir": "fr", "aide": "fr",
    "ciao": "it", "grazie": "it", "buongiorno": "it", "aiuto": "it",
    "obrigado": "pt", "obrigada": "pt", "ola": "pt", "olá": "pt", "bom dia": "pt",
    "bedankt": "nl", "dank je": "nl", "dank u": "nl", "goedemorgen": "nl", "hoi": "nl",
}  # fmt: skip
_SHORT_WORD_CONFIDENCE = 0.5
# Marks only one of the common support languages writes: Spanish opens a question or an
# exclamation upside down, German alone has the sharp s. The n-gram model misses them on a
# short message ("¿Aceptan PayPal?" came out es at 0.04); a mark settles a language the model
# is unsure of, never one it is sure of.
_MARKS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("es", re.compile("[¿¡]")),
    ("de", re.compile("ß")),
)
MARK_CONFIDENCE = 0.9
# Function words: a short message carries few letters but often two of these ("mon code promo
# est invalide" came out Latin at 0.28). Words in more than one list say nothing and are dropped.
_FUNCTION_WORDS_BY_LANGUAGE: dict[str, str] = {
    "en": "the my is are you your to and for what how can do does did it this that with of have "
    "has was where when why not i me we our an be will would there from a in on no so",
    "es": "el los las mi mis es está están tu tus su sus que qué por para con una y pero cómo "
    "dónde cuándo cuál hay tengo quiero puedo del al lo muy sí también ya esta este de en la a "
    "no se me te un",
    "de": "der die das den dem ist sind ich mein meine meinen nicht und mit für wie wo wann "
    "warum ein eine einen kann habe hat noch schon auch auf von ihr sie wir es des",
    "fr": "le la les mon ma mes est sont je j vous votre vos et ne pas pour avec une des du au "
    "aux ce cette qui que où quand comment pourquoi mais il elle nous sur dans c n qu de en a se "
    "me te un",
    "it": "il lo gli mio mia è sono non per con che come dove quando perché una della del ho ma "
    "di in a la se me te un",
    "pt": "o os as meu minha é são não você para com uma que como onde quando do da dos das eu "
    "tenho de em a se me te no",
    "nl": "de het een mijn is zijn niet en voor met wat hoe waar wanneer ik je u jullie van op in "
    "te",
}


def _distinct_function_words() -> dict[str, frozenset[str]]:
    sets = {lang: set(words.split()) for lang, words in _FUNCTION_WORDS_BY_LANGUAGE.items()}
    shared = {w for a in sets for b in sets if a != b for w in sets[a] & sets[b]}
    return {lang: frozenset(words - shared) for lang, words in sets.items()}


_FUNCTION_WORDS = _distinct_function_words()
_WORD = re.compile(r"[^\W\d_]+")
# This many function words of one language, and none of any other, settle an unsure guess.
FUNCTION_WORD_HITS = 2
# The opening settles the language (same accuracy on the multilingual tickets at 300 as at
# 500 characters); the n-gram scan costs ~1.5 ms per 1000 characters.
SCANNED_CHARS = 300

_lock = threading.Lock()


@cache
def _identifier() -> Any:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def supported_languages() -> list[str]:
    """Return the ISO 639 codes the identifier knows."""
    return sorted(set(_identifier().nb_classes))


def _clean(text: str) -> str:
    text = _TAG.sub(" ", text)
    text = _URL.sub(" ", text)
    return _MENTION.sub(" ", text)


def detect_language(text: str, allowed: Sequence[str] | None = None) -> tuple[str | None, float]:
    """Return (ISO 639-1 code or None, confidence 0..1) for a message."""
    return _detect(text[:SCANNED_CHARS], _check_allowed(allowed))


# Cached: the pipeline and score_sentiment may both ask about the same message.
@lru_cache(maxsize=64)
def _detect(text: str, allowed_set: frozenset[str] | None) -> tuple[str | None, float]:
    cleaned = _clean(text)
    letters = len(_LETTER.findall(cleaned)) + 2 * len(_DENSE_SCRIPT.findall(cleaned))
    if letters == 0:
        return None, 0.0
    short = " ".join(cleaned.lower().split()).strip(" !.?¡¿,")
    if short in _SHORT_WORDS and (allowed_set is None or _SHORT_WORDS[short] in allowed_set):
        return _SHORT_WORDS[short], _SHORT_WORD_CONFIDENCE
    marked = next((lang for lang, mark in _MARKS if mark.search(cleaned)), None)
    if marked is None:
        marked = _function_word_language(cleaned)
    if marked is not None and allowed_set is not None and marked not in allowed_set:
        marked = None
    lang, confidence = _ranked(cleaned, letters, allowed_set)
    if marked is not None and confidence < MARK_CONFIDENCE:
        return marked, MARK_CONFIDENCE
    return lang, confidence


def _function_word_language(text: str) -> str | None:
    words = _WORD.findall(text.lower())
    hits = {lang: sum(w in fw for w in words) for lang, fw in _FUNCTION_WORDS.items()}
    found = [lang for lang, n in hits.items() if n]
    if len(found) == 1 and hits[found[0]] >= FUNCTION_WORD_HITS:
        return found[0]
    return None


def _ranked(
    cleaned: str, letters: int, allowed_set: frozenset[str] | None
) -> tuple[str | None, float]:
    with _lock:  # rank() is read-only but the identifier is not documented as thread-safe
        ranked = _identifier().rank(cleaned)
    if allowed_set is not None:
        ranked = [(lang, p) for lang, p in ranked if lang in allowed_set]
    total = sum(p for _, p in ranked)
    if not ranked or total <= 0.0:
        return None, 0.0
    best_lang, best_p = ranked[0]
    second_p = ranked[1][1] if len(ranked) > 1 else 0.0
    if second_p > 0 and best_p / second_p < _FLAT_RATIO:
        return None, 0.0
    confidence = (best_p / total) * min(1.0, letters / FULL_CONFIDENCE_LETTERS)
    # When the allowed languages hold little of the model's belief the text is probably in
    # another language altogether: keep the answer but say it is a guess.
    confidence *= min(1.0, total / 0.5)
    return best_lang, round(float(confidence), 4)


def _check_allowed(allowed: Sequence[str] | None) -> frozenset[str] | None:
    if allowed is None:
        return None
    if isinstance(allowed, str):
        raise TypeError("allowed must be a sequence of language codes, not a string")
    codes = frozenset(code.strip().lower() for code in allowed)
    unknown = codes - set(_identifier().nb_classes)
    if unknown:
        raise ValueError(f"unsupported language code(s): {sorted(unknown)}")
    if not codes:
        raise ValueError("allowed must name at least one language")
    return codes
