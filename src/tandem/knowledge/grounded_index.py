"""The sentence index behind grounded answers, and its calibration (pure numpy, no database).

An article is scored for a question as the mean of two cosines: to its best sentence, and to
its best chunk, a chunk being the normalised sum of its sentences (its title and heading count
as sentences). On one-response-per-intent help centers (Bitext, 27 intents, two seeds) that
found the right article for 72-73 % of questions, against 63-64 % with one embedding per chunk
and 45 % with TF-IDF; TF-IDF added to it did not help (`tandem bench kb`). Sentence vectors
also let a pseudo-question cut from an article be scored without matching itself, cheaply.

Calibration: pseudo-questions from each article (title, headings, sentences, and labelled
examples of an intent the article serves) are positives when their own article comes first;
the same questions with their article left out of the index, and the built-in off-topic
background, are negatives. A small logistic model maps (top score, margin) to the probability
of being right; `choose_threshold` picks the lowest probability whose precision lower bound
meets the target.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from tandem.knowledge.retriever import Passage
from tandem.triage.calibration import LogisticCalibrator, ThresholdChoice, choose_threshold

# Questions the knowledge base does not cover, as a share of traffic when choosing the threshold:
# half of it near the articles' domain (left-out articles), half off-topic (the background).
UNCOVERED_SHARE = 0.3
MAX_TEXT_QUESTIONS_PER_ARTICLE = 12
MAX_EXAMPLES_PER_ARTICLE = 20

Encode = Callable[[Sequence[str]], np.ndarray]

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
LIST_MARK = re.compile(r"^(\d{1,3}[.)]|[-*•])$")


def split_sentences(text: str) -> list[str]:
    """Split text into sentences and list items (a list item's number stays with its text)."""
    sentences: list[str] = []
    for line in text.splitlines():
        pending = ""
        for piece in _SENTENCE_END.split(line.strip()):
            if LIST_MARK.match(piece):
                pending = f"{pending}{piece} "
            elif piece:
                sentences.append(f"{pending}{piece}".strip())
                pending = ""
    return sentences


@dataclass(frozen=True)
class SentenceIndex:
    """Sentences of every chunk, grouped by article, with their embeddings."""

    article_ids: list[str]
    passages: list[Passage]  # grouped by article
    texts: list[str]
    vectors: np.ndarray  # (sentences, dim), unit rows
    sentence_chunk: np.ndarray
    quotable: np.ndarray  # True for sentences of a chunk's text (not its title or heading)
    chunk_article: np.ndarray
    chunk_sums: np.ndarray  # (chunks, dim): the sum of each chunk's sentence vectors
    sentence_starts: np.ndarray  # first sentence of each article
    chunk_starts: np.ndarray  # first chunk of each article

    @classmethod
    def build(cls, passages: Sequence[Passage], encode: Encode) -> SentenceIndex:
        """Split and embed passages (article by article, in first-seen order)."""
        order = list(dict.fromkeys(p.article_id for p in passages))
        grouped = sorted(passages, key=lambda p: order.index(p.article_id))
        texts, chunk_of, quotable = [], [], []
        for c, passage in enumerate(grouped):
            parts = [(passage.title, False), (passage.heading, False)]
            parts += [(s, True) for s in split_sentences(passage.text)]
            for text, body in parts:
                if text.strip():
                    texts.append(text.strip())
                    chunk_of.append(c)
                    quotable.append(body)
        sentence_chunk = np.array(chunk_of, dtype=int)
        chunk_article = np.array([order.index(p.article_id) for p in grouped], dtype=int)
        vectors = np.asarray(encode(texts), dtype=np.float32).reshape(len(texts), -1)
        sums = np.zeros((len(grouped), vectors.shape[1]), dtype=np.float32)
        np.add.at(sums, sentence_chunk, vectors)
        sentence_article = chunk_article[sentence_chunk]
        return cls(
            article_ids=order,
            passages=grouped,
            texts=texts,
            vectors=vectors,
            sentence_chunk=sentence_chunk,
            quotable=np.array(quotable, dtype=bool),
            chunk_article=chunk_article,
            chunk_sums=sums,
            sentence_starts=np.searchsorted(sentence_article, np.arange(len(order))),
            chunk_starts=np.searchsorted(chunk_article, np.arange(len(order))),
        )

    def scores(
        self, queries: np.ndarray, removed: Sequence[np.ndarray] | None = None
    ) -> np.ndarray:
        """Return each query's score per article; removed[i] are sentences query i cannot match.

        A removed sentence still counts in its chunk: a customer's paraphrase is about what the
        chunk says, it just never repeats a sentence word for word. (Cutting it from the chunk
        too found the right article for 64 % of a small test set's pseudo-questions against 90 %,
        far below what real paraphrases get, so no threshold ever cleared.)
        """
        queries = np.atleast_2d(np.asarray(queries, dtype=np.float32))
        sentences = queries @ self.vectors.T
        norms = np.linalg.norm(self.chunk_sums, axis=1)
        chunks = (queries @ self.chunk_sums.T) / np.maximum(norms, 1e-12)
        for i, gone in enumerate(removed or ()):
            if len(gone) == 0:
                continue
            sentences[i, gone] = -np.inf
        best_sentence = np.maximum.reduceat(sentences, self.sentence_starts, axis=1)
        best_chunk = np.maximum.reduceat(chunks, self.chunk_starts, axis=1)
        return (best_sentence + best_chunk) / 2


def top_and_margin(scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (best article, its score, margin to the runner-up; none scores 0) per row."""
    scores = np.atleast_2d(scores)
    if scores.shape[1] == 1:
        return np.zeros(len(scores), dtype=int), scores[:, 0], scores[:, 0].copy()
    order = np.argsort(-scores, axis=1)[:, :2]
    rows = np.arange(len(scores))
    top, second = scores[rows, order[:, 0]], scores[rows, order[:, 1]]
    second = np.where(np.isfinite(second), second, 0.0)
    return order[:, 0], top, top - second


@dataclass(frozen=True)
class PseudoQuestion:
    """A question an article should answer, and the index sentences it was cut from."""

    article: int
    text: str
    removed: np.ndarray


def pseudo_questions(index: SentenceIndex, examples: dict[str, list[str]]) -> list[PseudoQuestion]:
    """Return each article's title, headings and sentences (cut out), and its examples."""
    questions: list[PseudoQuestion] = []
    sentence_article = index.chunk_article[index.sentence_chunk]
    for a, article_id in enumerate(index.article_ids):
        own = np.flatnonzero(sentence_article == a)
        seen: dict[str, None] = {}
        for s in own:  # title and heading come first in each chunk
            if len(seen) >= MAX_TEXT_QUESTIONS_PER_ARTICLE:
                break
            seen.setdefault(index.texts[s], None)
        for text in seen:
            same = own[[index.texts[s] == text for s in own]]
            questions.append(PseudoQuestion(a, text, same))
        for text in examples.get(article_id, [])[:MAX_EXAMPLES_PER_ARTICLE]:
            questions.append(PseudoQuestion(a, text, np.zeros(0, dtype=int)))
    return questions


@dataclass(frozen=True)
class KnowledgeCalibration:
    """When retrieval may answer: a confidence model over (top score, margin) and its threshold."""

    calibrator: LogisticCalibrator | None  # None: the top score itself is the confidence
    choice: ThresholdChoice
    n_questions: int
    n_background: int

    @property
    def threshold(self) -> float:
        """Return the confidence an answer needs (math.inf: never answer)."""
        return self.choice.threshold

    def confidence(self, top: float, margin: float) -> float:
        """Return the estimated probability that the top article is right."""
        if self.calibrator is None:
            return float(top)
        return float(self.calibrator(np.array([[top, margin]]))[0])


def never(target: float) -> KnowledgeCalibration:
    """Return the calibration of an empty knowledge base: never answer."""
    choice = ThresholdChoice(math.inf, target, 0.95, math.nan, math.nan, 0.0, 0, 0)
    return KnowledgeCalibration(None, choice, 0, 0)


def calibrate(
    index: SentenceIndex,
    questions: Sequence[PseudoQuestion],
    question_vectors: np.ndarray,
    background: np.ndarray,
    *,
    target: float,
) -> KnowledgeCalibration:
    """Fit the confidence model and choose its threshold (see the module docstring)."""
    n_articles = len(index.article_ids)
    if not questions or n_articles == 0:
        return never(target)
    articles = np.array([q.article for q in questions], dtype=int)
    scores = index.scores(question_vectors, [q.removed for q in questions])
    best, top, margin = top_and_margin(scores)
    # Every article counts the same, however many pseudo-questions it has.
    base = 1.0 / (n_articles * np.bincount(articles, minlength=n_articles)[articles])
    has_lo, has_bg = n_articles > 1, len(background) > 0
    lo_share = UNCOVERED_SHARE / (2 if has_bg else 1) if has_lo else 0.0
    bg_share = (UNCOVERED_SHARE - lo_share) if has_bg else 0.0
    rows = [(top, margin, best == articles, (1 - lo_share - bg_share) * base)]
    if has_lo:
        scores[np.arange(len(scores)), articles] = -np.inf
        _, lo_top, lo_margin = top_and_margin(scores)
        rows.append((lo_top, lo_margin, np.zeros(len(top), bool), lo_share * base))
    if has_bg:
        _, bg_top, bg_margin = top_and_margin(index.scores(background))
        weight = np.full(len(bg_top), bg_share / len(bg_top))
        rows.append((bg_top, bg_margin, np.zeros(len(bg_top), bool), weight))
    features = np.column_stack(
        [np.concatenate([r[0] for r in rows]), np.concatenate([r[1] for r in rows])]
    )
    correct = np.concatenate([r[2] for r in rows])
    weights = np.concatenate([r[3] for r in rows])
    # A question whose article has nothing left once it is cut out tells nothing either way.
    finite = np.isfinite(features).all(axis=1)
    features, correct, weights = features[finite], correct[finite], weights[finite]
    if len(features) == 0:
        return never(target)
    calibrator = LogisticCalibrator.fit(features, correct, weights)
    if calibrator is not None and np.any(calibrator.coef <= 0):
        calibrator = None  # a model that prefers lower scores is noise: rank by score alone
    confidence = features[:, 0] if calibrator is None else calibrator(features)
    choice = choose_threshold(confidence, correct, target, weights=weights)
    return KnowledgeCalibration(calibrator, choice, len(questions), len(background))
