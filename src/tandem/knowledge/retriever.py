"""Find the knowledge passages nearest to a message (vector index from faiss)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import faiss
import numpy as np


@dataclass(frozen=True)
class Passage:
    """A retrievable piece of knowledge and where it came from."""

    key: str
    title: str
    text: str
    source: str
    article_id: str = ""
    url: str | None = None
    heading: str = ""


@dataclass(frozen=True)
class Hit:
    """A passage and its cosine similarity to the query."""

    passage: Passage
    score: float


class Retriever(Protocol):
    """Searches a workspace's knowledge by meaning."""

    def search(self, vector: np.ndarray, k: int = 3) -> list[Hit]:
        """Return up to k passages, most similar first."""
        ...


# Exact search is instant at knowledge-base sizes; past this, HNSW keeps queries sub-millisecond.
HNSW_FROM = 20_000


class VectorRetriever:
    """An in-memory faiss index over unit-length passage embeddings (inner product = cosine)."""

    def __init__(self, passages: Sequence[Passage], vectors: np.ndarray) -> None:
        if len(passages) != len(vectors):
            raise ValueError("one vector per passage is needed")
        self._passages = list(passages)
        self._vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self._vectors.setflags(write=False)
        self._index: faiss.Index | None = None
        if self._passages:
            dim = int(vectors.shape[1])
            if len(self._passages) >= HNSW_FROM:
                self._index = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
            else:
                self._index = faiss.IndexFlatIP(dim)
            self._index.add(self._vectors)
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._passages)

    @property
    def passages(self) -> list[Passage]:
        """Return the indexed passages, in index order."""
        return list(self._passages)

    @property
    def vectors(self) -> np.ndarray:
        """Return the passages' vectors (read-only), one row per passage in index order."""
        return self._vectors

    def search(self, vector: np.ndarray, k: int = 3) -> list[Hit]:
        """Return up to k passages, most similar first."""
        if self._index is None:
            return []
        query = np.ascontiguousarray(vector, dtype=np.float32).reshape(1, -1)
        with self._lock:
            scores, keys = self._index.search(query, min(k, len(self._passages)))
        return [
            Hit(self._passages[int(key)], float(score))
            for key, score in zip(keys[0], scores[0], strict=True)
            if key >= 0
        ]
