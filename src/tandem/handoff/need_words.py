"""The customer's need in their own words, for the handoff packet and the console's queue.

A message states a need when something is left once pleasantries ("Hi!", "thanks") and talk
about the conversation itself ("let me talk to a person", "third time I'm asking", "nobody
helps") are removed. The need is the newest customer message that says enough (MIN_WORDS
words); failing that, the newest with anything left ("refund?"). So an order number sent as a
reply does not replace the question it answers, and a frustrated "This is ridiculous!!!" never
becomes the need. Pure functions over text: no model, no database.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tandem.handoff.summary import (
    MAX_TURN_CHARS,
    MIN_WORDS,
    clean,
    content_words,
    says_something,
    shorten,
    split_sentences,
    without_greeting,
)

NEED_MAX_CHARS = 200
# A message's first sentences carry its request; later ones add detail.
NEED_MAX_SENTENCES = 2


@dataclass(frozen=True)
class StatedNeed:
    """Which message states the need (its index in the list given) and the words shown."""

    index: int
    text: str


def _states_something(sentence: str, min_words: int) -> bool:
    cleaned = clean(sentence)
    return content_words(cleaned, customer=True) >= min_words and says_something(cleaned)


def need_in_words(text: str, *, min_words: int = MIN_WORDS, max_chars: int = NEED_MAX_CHARS) -> str:
    """Return the sentences of a customer message that state a need, or "" if none does."""
    kept = [
        " ".join(without_greeting(sentence).split())
        for sentence in split_sentences(text[:MAX_TURN_CHARS])
        if _states_something(sentence, min_words)
    ]
    if not kept:
        return ""
    return shorten(" ".join(kept[:NEED_MAX_SENTENCES]), max_chars)


def choose_need(texts: Sequence[str], *, max_chars: int = NEED_MAX_CHARS) -> StatedNeed | None:
    """Return the newest of the customer's messages (oldest first) that states a need."""
    for min_words in (MIN_WORDS, 1):
        for index in range(len(texts) - 1, -1, -1):
            words = need_in_words(texts[index], min_words=min_words, max_chars=max_chars)
            if words:
                return StatedNeed(index=index, text=words)
    return None
