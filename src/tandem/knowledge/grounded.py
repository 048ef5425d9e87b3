"""Answer a customer by quoting the knowledge base, only when retrieval is provably right.

The question's multilingual embedding is scored against every AI-enabled article's sentences
and chunks (`grounded_index.SentenceIndex`); the best article's 1-3 most relevant consecutive
sentences are quoted with a link, extractively: nothing is invented. It answers only when its
estimated probability of being the right article clears a threshold calibrated, per workspace
and precision target, from the articles themselves, labelled examples and the built-in
background (`grounded_index.calibrate`), never typed by hand. Index and calibration are cached
per knowledge fingerprint, so they are rebuilt only when articles, examples or answers change.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tandem.knowledge.grounded_index import (
    LIST_MARK,
    MAX_EXAMPLES_PER_ARTICLE,
    KnowledgeCalibration,
    SentenceIndex,
    calibrate,
    never,
    pseudo_questions,
)
from tandem.knowledge.models import Answer, Article, TrainingExample
from tandem.knowledge.service import article_link, knowledge_fingerprint, retriever_cache
from tandem.triage.background import background_matrix, background_texts, decontaminate
from tandem.triage.embedders import get_embedder
from tandem.triage.pipeline import SIGNAL_EMBEDDER
from tandem.workspaces.models import Workspace
from tandem.workspaces.settings import workspace_settings

MAX_PASSAGE_CHARS = 600
MAX_PASSAGE_SENTENCES = 3


@dataclass(frozen=True)
class GroundedAnswer:
    """An extract of the article that answers a question, with where to read the rest."""

    article_id: str
    title: str
    passage: str
    url: str
    score: float  # the article's retrieval score for the question
    threshold: float  # the calibrated confidence an answer needs
    confidence: float  # estimated probability that the article is the right one


@dataclass(frozen=True)
class Grounding:
    """A workspace's sentence index and its calibration."""

    index: SentenceIndex
    calibration: KnowledgeCalibration


# --- building and calibrating -------------------------------------------------------------------


def linked_examples(session: Session) -> dict[str, list[str]]:
    """Return labelled example texts per article id, for articles that serve an intent.

    An article serves an intent when it is tagged with it, or when the intent's approved
    answer links to it.
    """
    links: dict[str, set[str]] = {}
    articles = session.execute(select(Article.id, Article.intent, Article.url)).all()
    for article_id, intent, _ in articles:
        if intent:
            links.setdefault(intent, set()).add(article_id)
    for intent, source in session.execute(select(Answer.intent, Answer.source_url)):
        for article_id, _, url in articles:
            if source and (source == url or source.endswith(f"/articles/{article_id}")):
                links.setdefault(intent, set()).add(article_id)
    examples: dict[str, list[str]] = {}
    if not links:
        return examples
    rows = session.execute(
        select(TrainingExample.text, TrainingExample.intent)
        .where(TrainingExample.intent.in_(list(links)))
        .order_by(TrainingExample.created_at, TrainingExample.id)
    )
    for text, intent in rows:
        for article_id in links[intent]:
            own = examples.setdefault(article_id, [])
            if len(own) < MAX_EXAMPLES_PER_ARTICLE:
                own.append(text)
    return examples


class SentenceVectors:
    """Sentence embeddings remembered by text, so an edit re-embeds only what changed."""

    def __init__(self, limit: int = 50_000) -> None:
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._limit = limit
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Return one unit row per text (the signal embedder's)."""
        with self._lock:
            fresh = [t for t in dict.fromkeys(texts) if t not in self._vectors]
        found = dict(zip(fresh, get_embedder(SIGNAL_EMBEDDER).encode(fresh), strict=True))
        with self._lock:
            for text in texts:
                if text in self._vectors:
                    self._vectors.move_to_end(text)
                    found.setdefault(text, self._vectors[text])
            self._vectors.update(found)
            while len(self._vectors) > self._limit:
                self._vectors.popitem(last=False)
        return np.vstack([found[t] for t in texts]) if texts else np.zeros((0, 1), np.float32)


sentence_vectors = SentenceVectors()


def build_grounding(session: Session, *, workspace_id: str, target: float) -> Grounding | None:
    """Index and calibrate the scoped workspace's AI-enabled articles (None: it has none)."""
    retriever = retriever_cache.get(
        session, workspace_id=workspace_id, embedder_name=SIGNAL_EMBEDDER
    )
    if not len(retriever):
        return None
    index = SentenceIndex.build(retriever.passages, sentence_vectors.encode)
    questions = pseudo_questions(index, linked_examples(session))
    question_vectors = sentence_vectors.encode([q.text for q in questions])
    background = background_matrix(SIGNAL_EMBEDDER)
    keep = decontaminate(background, np.vstack([question_vectors, index.vectors]))
    kept_texts = [t for t, k in zip(background_texts(), keep, strict=True) if k]
    calibration = calibrate(
        index, questions, question_vectors, background[keep], kept_texts, target=target
    )
    return Grounding(index, calibration)


def _examples_fingerprint(session: Session) -> tuple[Any, ...]:
    examples = session.execute(
        select(func.count(TrainingExample.id), func.max(TrainingExample.created_at))
    ).one()
    answers = session.execute(select(func.count(Answer.id), func.max(Answer.updated_at))).one()
    return (*examples, *answers)


def precision_target(workspace: Workspace) -> float:
    """Return the workspace's precision target (the desk's default when unset)."""
    return workspace_settings(workspace).precision_target


class GroundingCache:
    """One grounding per workspace, rebuilt when its knowledge, examples or target change."""

    def __init__(self) -> None:
        self._entries: dict[str, tuple[tuple[Any, ...], Grounding | None]] = {}
        self._lock = threading.Lock()

    def get(self, session: Session, *, workspace: Workspace) -> Grounding | None:
        """Return the scoped workspace's grounding (None when it has no AI-enabled article)."""
        target = precision_target(workspace)
        key = (knowledge_fingerprint(session), _examples_fingerprint(session), target)
        with self._lock:
            cached = self._entries.get(workspace.id)
            if cached is not None and cached[0] == key:
                return cached[1]
        grounding = build_grounding(session, workspace_id=workspace.id, target=target)
        with self._lock:
            self._entries[workspace.id] = (key, grounding)
        return grounding


grounding_cache = GroundingCache()


def calibration_for(session: Session, workspace: Workspace) -> KnowledgeCalibration:
    """Return the scoped workspace's knowledge-base calibration (never answer without articles)."""
    grounding = grounding_cache.get(session, workspace=workspace)
    return grounding.calibration if grounding else never(precision_target(workspace))


# --- answering ----------------------------------------------------------------------------------


def _clip(text: str, limit: int = MAX_PASSAGE_CHARS) -> str:
    if len(text) <= limit:
        return text
    return text[: limit - 1].rsplit(" ", 1)[0].rstrip(",;:") + "…"


def extract_passage(index: SentenceIndex, article: int, vector: np.ndarray) -> str:
    """Return the 1-3 consecutive sentences of an article's best chunk that answer the question."""
    sims = index.vectors @ np.asarray(vector, dtype=np.float32)
    in_article = index.chunk_article[index.sentence_chunk] == article
    candidates = np.flatnonzero(in_article & index.quotable & ~index.boilerplate)
    if len(candidates) == 0:  # nothing but boilerplate: quote it rather than nothing
        candidates = np.flatnonzero(in_article & index.quotable)
    if len(candidates) == 0:
        return _clip(index.passages[index.chunk_starts[article]].text.strip())
    chunk = index.sentence_chunk[candidates[np.argmax(sims[candidates])]]
    own = [int(s) for s in candidates if index.sentence_chunk[s] == chunk]
    first = last = int(np.argmax(sims[own]))
    typical = float(np.median(sims[own]))
    while last - first + 1 < MAX_PASSAGE_SENTENCES:
        # Grow towards the more relevant neighbour, while it is at least typically relevant.
        options = [i for i in (first - 1, last + 1) if 0 <= i < len(own)]
        if not options:
            break
        best = max(options, key=lambda i: sims[own[i]])
        lo, hi = min(first, best), max(last, best)
        chosen = [index.texts[own[i]] for i in range(lo, hi + 1)]
        if sims[own[best]] < typical or len(" ".join(chosen)) > MAX_PASSAGE_CHARS:
            break
        first, last = lo, hi
    parts = [index.texts[own[i]] for i in range(first, last + 1)]
    joined = parts[0] + "".join(
        ("\n" if LIST_MARK.match(p.split(" ", 1)[0]) else " ") + p for p in parts[1:]
    )
    return _clip(joined)


def find_grounded_answer(
    session: Session,
    workspace: Workspace,
    *,
    text: str,
    vector: np.ndarray | None,
    language: str | None,
) -> GroundedAnswer | None:
    """Return an extract of the article that answers a question, or None when not sure enough.

    The session must be scoped to the workspace and `vector` be the text's signal embedding
    (use-m3, as triage computes it). Retrieval is cross-lingual, so `language` changes nothing
    yet; it is taken so callers need not change when it does.
    """
    del language
    if vector is None or not text.strip():
        return None
    grounding = grounding_cache.get(session, workspace=workspace)
    if grounding is None or not grounding.calibration.choice.feasible:
        return None
    index = grounding.index
    best, confidences = grounding.calibration.assess(index, vector, [text])
    confidence = float(confidences[0])
    if confidence < grounding.calibration.threshold:
        return None
    article = session.get(Article, index.article_ids[int(best[0])])
    if article is None:
        return None
    return GroundedAnswer(
        article_id=article.id,
        title=article.title,
        passage=extract_passage(index, int(best[0]), vector),
        url=article_link(article, widget_key=workspace.widget_key),
        score=round(float(index.scores(vector)[0, int(best[0])]), 4),
        threshold=grounding.calibration.threshold,
        confidence=confidence,
    )
