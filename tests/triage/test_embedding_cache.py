"""The embedding cache: what was embedded once is reused, within a memory bound."""

from __future__ import annotations

import numpy as np
import pytest

from tandem.triage.embedders import EmbeddingCache, embedding_cache, get_embedder
from tandem.triage.intent import embed_texts
from tandem.triage.pipeline import SIGNAL_EMBEDDER


def record_encodes(monkeypatch: pytest.MonkeyPatch, name: str) -> list[list[str]]:
    """Return a list that collects every batch the embedder is asked to encode from now on."""
    embedder = get_embedder(name)
    encoded: list[list[str]] = []
    real_encode = embedder.encode

    def counting(batch: list[str]) -> np.ndarray:
        encoded.append(list(batch))
        return real_encode(batch)

    monkeypatch.setattr(embedder, "encode", counting)
    return encoded


def test_rows_are_kept_read_only_and_forgotten_oldest_first_beyond_the_bound() -> None:
    row_bytes = 4 * 4  # four float32
    cache = EmbeddingCache(max_bytes=2 * row_bytes)
    cache.put_many("m", ["a", "b"], np.ones((2, 4), dtype=np.float32))
    (a, missing) = cache.get_many("m", ["a", "c"])
    assert a is not None and missing is None
    with pytest.raises(ValueError):
        a[0] = 5.0  # a cached row cannot be changed behind the cache's back
    cache.put_many("m", ["c"], np.zeros((1, 4), dtype=np.float32))  # "b" is the oldest now
    assert [row is not None for row in cache.get_many("m", ["a", "b", "c"])] == [
        True,
        False,
        True,
    ]
    assert cache.get_many("other-model", ["a"]) == [None]  # per embedder


def test_embed_texts_encodes_only_what_it_has_not_seen(monkeypatch: pytest.MonkeyPatch) -> None:
    embedding_cache.clear()
    texts = ["where is my parcel", "do you sell gift cards", "where is my parcel"]
    first = embed_texts(SIGNAL_EMBEDDER, texts)
    real_encode = get_embedder(SIGNAL_EMBEDDER).encode
    encoded = record_encodes(monkeypatch, SIGNAL_EMBEDDER)
    again = embed_texts(SIGNAL_EMBEDDER, [*texts, "are you open on sunday"])
    assert encoded == [["are you open on sunday"]]
    np.testing.assert_allclose(again[:3], first, rtol=1e-6)
    np.testing.assert_allclose(
        again[3], real_encode(["are you open on sunday"])[0], rtol=1e-5, atol=1e-6
    )


def test_a_message_the_front_line_embedded_is_not_embedded_again_for_training(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tandem.triage.intent import DEFAULT_EMBEDDER
    from tandem.triage.pipeline import embed

    embedding_cache.clear()
    live = embed(DEFAULT_EMBEDDER, "my parcel says delivered but it is not here")
    encoded = record_encodes(monkeypatch, DEFAULT_EMBEDDER)
    rows = embed_texts(DEFAULT_EMBEDDER, ["my parcel says delivered but it is not here", "hi"])
    assert encoded == [["hi"]]  # only the text the front line never saw
    np.testing.assert_array_equal(rows[0], live)
    # And the other way round: what training embedded, the front line reuses as it is.
    np.testing.assert_array_equal(embed(DEFAULT_EMBEDDER, "hi"), rows[1])
