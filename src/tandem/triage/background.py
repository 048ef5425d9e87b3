"""The built-in background: general out-of-domain messages that ship with the product.

A workspace's own data says what its customers ask; it says nothing about what they ask that it
does not cover. The background (our own writing, in `data/background_<lang>.txt`: trivia,
homework, weather, chit-chat, other companies' products, nonsense) stands for those unseen needs
when the answer threshold and the knowledge-base threshold are calibrated. Rows too close to the
workspace's own examples are dropped first (`decontaminate`): a shoe shop's background must not
contain "do you sell shoes".

A second, smaller background (`data/store_background_<lang>.txt`) holds what customers ask shops
beyond the routine FAQ topics: student discounts, gift wrapping, warranties, wholesale, careers.
These are real needs, for a person rather than a scope reply, and they sit close to a store's own
topics, so they are decontaminated more strictly (`STORE_DECONTAMINATE_COSINE`): a shop that has
taught "gift wrapping" loses every background row near it.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from importlib import resources

import numpy as np

from tandem.triage.embedders import nearest_cosine

LANGUAGES = ("en", "es", "de", "fr")
# A background row this close (cosine) to a workspace example is taken as in scope for it.
DECONTAMINATE_COSINE = 0.80
# A store-background row this close to a workspace example is taken as taught (see above).
STORE_DECONTAMINATE_COSINE = 0.70

_lock = threading.Lock()
_matrices: dict[str, np.ndarray] = {}


GENERAL = "background"
STORE = "store_background"


@lru_cache(maxsize=2)
def background_texts(kind: str = GENERAL) -> tuple[str, ...]:
    """Return every line of a background, all languages, without blanks or duplicates."""
    seen: dict[str, None] = {}
    data = resources.files("tandem.triage") / "data"
    for lang in LANGUAGES:
        for line in (data / f"{kind}_{lang}.txt").read_text(encoding="utf-8").splitlines():
            text = line.strip()
            if text and not text.startswith("#"):
                seen.setdefault(text, None)
    return tuple(seen)


def background_matrix(embedder_name: str, kind: str = GENERAL) -> np.ndarray:
    """Return a background embedded with an embedder (computed once per process)."""
    key = f"{kind}:{embedder_name}"
    with _lock:
        cached = _matrices.get(key)
    if cached is not None:
        return cached
    from tandem.triage.intent import embed_texts

    matrix = embed_texts(embedder_name, list(background_texts(kind)))
    with _lock:
        _matrices.setdefault(key, matrix)
        return _matrices[key]


def decontaminate(
    background: np.ndarray, examples: np.ndarray, cosine: float = DECONTAMINATE_COSINE
) -> np.ndarray:
    """Return a mask of background rows not within `cosine` of any (normalised) example row."""
    if len(background) == 0 or len(examples) == 0:
        return np.ones(len(background), dtype=bool)
    return nearest_cosine(background, examples) < cosine
