"""The sentence index behind grounded answers, and its calibration (pure numpy, no database).

An article is scored for a question as the mean of two cosines: to its best sentence, and to
its best chunk, a chunk being the normalised sum of its sentences (its title and heading count
as sentences). On one-response-per-intent help centers (Bitext, 27 intents, two seeds) that
found the right article for 72-73 % of questions, against 63-64 % with one embedding per chunk
and 45 % with TF-IDF; TF-IDF added to it did not help (`tandem bench kb`). Sentence vectors
also let a pseudo-question cut from an article be scored without matching itself, cheaply.

Boilerplate: a body sentence as close as `BOILERPLATE_COSINE` to a sentence of another article
("feel free to reach out to our support team") is neither a pseudo-question nor quoted.

Calibration: pseudo-questions are what a customer would type: each title and heading in ten
question forms of the article's language ("How do I <title>?", "Question about <title>"), and
the body sentences no other article comes near (`PSEUDO_FOREIGN_MAX`), cut out of the index.
Labelled examples of an intent the article serves join them. They are positives when their own
article comes first; the same questions with their article left out, and the built-in off-topic
background, are negatives. A small logistic model maps (top score, margin to the runner-up,
share of the question's content words found in the article) to the probability of being right;
`choose_threshold` picks the lowest probability whose precision lower bound meets the target.

Measured with `tandem bench kb` on Bitext, tuned on 14 intents (seed 7, and 7-article subsets)
and reported on the other 13 (seed 13): at the 0.95 target the old pseudo-questions (titles and
sentences as they are: statements, shared steps, boilerplate) proved no threshold at all; these
answer 14 % of the held-out help center's questions at 99 % precision and 38-56 % of 7-article
help centers' at 100 %, escalating every CLINC out-of-scope row. The bare title (cut out) and
sentences other articles repeat were dropped as pseudo-questions because their left-out copies
were confident "mistakes" no customer would make; chunk- and sentence-level cosines as separate
features, and not scoring boilerplate, did not help.
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
MAX_TEXT_QUESTIONS_PER_ARTICLE = 40
MAX_EXAMPLES_PER_ARTICLE = 20
# A body sentence this close (cosine) to a sentence of another article is boilerplate.
BOILERPLATE_COSINE = 0.7
BOILERPLATE_OTHER_ARTICLES = 1
# A body sentence is a pseudo-question only when no other article has one this close: shared
# steps ("3. Find the order") are not what anyone asks, and their left-out copies were the
# confident "mistakes" that kept every threshold from clearing.
PSEUDO_FOREIGN_MAX = 0.5
FEATURE_NAMES = ("top", "margin", "overlap")

Encode = Callable[[Sequence[str]], np.ndarray]

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
LIST_MARK = re.compile(r"^(\d{1,3}[.)]|[-*•])$")
_WORD = re.compile(r"[^\W\d_]{3,}")
_PLACEHOLDER = re.compile(r"\{\{[^}]*\}\}")

# How a customer asks about a title or heading, per language (the background's languages).
QUESTION_TEMPLATES: dict[str, tuple[str, ...]] = {
    "en": (
        "{t}?",
        "How do I {t}?",
        "Question about {t}",
        "I need help with {t}",
        "Can you tell me about {t}?",
        "I have a question about {t}",
        "Help with {t} please",
        "What should I know about {t}?",
        "I would like information on {t}",
        "Where can I find information about {t}?",
    ),
    "es": (
        "¿{t}?",
        "¿Cómo puedo {t}?",
        "Pregunta sobre {t}",
        "Necesito ayuda con {t}",
        "¿Me puede informar sobre {t}?",
        "Tengo una pregunta sobre {t}",
        "Ayuda con {t}, por favor",
        "¿Qué debo saber sobre {t}?",
        "Quisiera información sobre {t}",
        "¿Dónde encuentro información sobre {t}?",
    ),
    "de": (
        "{t}?",
        "Wie kann ich {t}?",
        "Frage zu {t}",
        "Ich brauche Hilfe bei {t}",
        "Können Sie mir etwas zu {t} sagen?",
        "Ich habe eine Frage zu {t}",
        "Hilfe bei {t} bitte",
        "Was muss ich über {t} wissen?",
        "Ich hätte gern Informationen zu {t}",
        "Wo finde ich Informationen zu {t}?",
    ),
    "fr": (
        "{t} ?",
        "Comment puis-je {t} ?",
        "Question sur {t}",
        "J'ai besoin d'aide pour {t}",
        "Pouvez-vous me renseigner sur {t} ?",
        "J'ai une question sur {t}",
        "De l'aide pour {t}, s'il vous plaît",
        "Que dois-je savoir sur {t} ?",
        "Je voudrais des informations sur {t}",
        "Où trouver des informations sur {t} ?",
    ),
}

# Function words that say nothing about what a question is about (3+ letters; the tokenizer
# skips shorter words).
_STOPWORDS = """
    the and for are but not you your yours can could would should will shall may might must
    have has had having does did doing done was were been being this that these those there
    here what which who whom whose when where why how any all some each every more most other
    such only own same than too very just also with without from into onto about above below
    over under again further then once our ours out off they them their theirs she her his him
    its itself myself yourself ourselves themselves let please help need want like know tell
    get got make made use used one way thing things hello thanks thank able sure okay yes
    que con por para los las del una uno unos unas como más pero sus mis mucho muy est esta
    este esto eso esa ese hay han has hace quiero puedo puede necesito ayuda hola gracias
    der die das den dem des ein eine einen einem einer und oder aber nicht ich sie wir ihr
    mit von für auf ist sind war wie was wer kann können möchte bitte hallo danke hilfe
    les des une pour par avec dans sur pas qui que quoi est sont mon mes ton vos votre nous
    vous ils elle comment puis peux veux besoin aide bonjour merci
"""
STOPWORDS = frozenset(_STOPWORDS.split())


def content_words(text: str) -> frozenset[str]:
    """Return a text's content words, lower-cased and cut to 5 letters (a crude stem)."""
    words = (w.lower() for w in _WORD.findall(_PLACEHOLDER.sub(" ", text)))
    return frozenset(w[:5] for w in words if w not in STOPWORDS)


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


def _boilerplate(
    vectors: np.ndarray, article: np.ndarray, body: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Mark body sentences that closely repeat a body sentence of other articles.

    Also return each body sentence's highest cosine to a body sentence of another article.
    """
    out = np.zeros(len(vectors), dtype=bool)
    foreign = np.full(len(vectors), -1.0, dtype=np.float32)
    rows = np.flatnonzero(body)
    n_articles = int(article.max()) + 1 if len(article) else 0
    if n_articles < 2 or len(rows) == 0:
        return out, foreign
    one_hot = np.zeros((len(rows), n_articles), dtype=np.float32)
    one_hot[np.arange(len(rows)), article[rows]] = 1.0
    for start in range(0, len(rows), 1024):
        block = rows[start : start + 1024]
        sims = vectors[block] @ vectors[rows].T
        sims[article[block][:, None] == article[rows][None, :]] = -1.0
        foreign[block] = sims.max(axis=1)
        seen = ((sims >= BOILERPLATE_COSINE).astype(np.float32) @ one_hot) > 0
        out[block] = seen.sum(axis=1) >= BOILERPLATE_OTHER_ARTICLES
    return out, foreign


@dataclass(frozen=True)
class SentenceIndex:
    """Sentences of every chunk, grouped by article, with their embeddings."""

    article_ids: list[str]
    passages: list[Passage]  # grouped by article
    texts: list[str]
    vectors: np.ndarray  # (sentences, dim), unit rows
    sentence_chunk: np.ndarray
    quotable: np.ndarray  # True for sentences of a chunk's text (not its title or heading)
    boilerplate: np.ndarray  # True for body sentences other articles repeat
    foreign: np.ndarray  # each body sentence's highest cosine to another article's
    words: list[frozenset[str]]  # each sentence's content words
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
        sentence_article = chunk_article[sentence_chunk]
        is_body = np.array(quotable, dtype=bool)
        boilerplate, foreign = _boilerplate(vectors, sentence_article, is_body)
        sums = np.zeros((len(grouped), vectors.shape[1]), dtype=np.float32)
        np.add.at(sums, sentence_chunk, vectors)
        return cls(
            article_ids=order,
            passages=grouped,
            texts=texts,
            vectors=vectors,
            sentence_chunk=sentence_chunk,
            quotable=is_body,
            boilerplate=boilerplate,
            foreign=foreign,
            words=[content_words(t) for t in texts],
            chunk_article=chunk_article,
            chunk_sums=sums,
            sentence_starts=np.searchsorted(sentence_article, np.arange(len(order))),
            chunk_starts=np.searchsorted(chunk_article, np.arange(len(order))),
        )

    @property
    def sentence_article(self) -> np.ndarray:
        """Return the article of each sentence."""
        return self.chunk_article[self.sentence_chunk]

    def components(
        self, queries: np.ndarray, removed: Sequence[np.ndarray] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Return each query's best-sentence and best-chunk cosine per article.

        removed[i] are sentences query i cannot match. A removed sentence still counts in its
        chunk: a customer's paraphrase is about what the chunk says, it just never repeats a
        sentence word for word.
        """
        queries = np.atleast_2d(np.asarray(queries, dtype=np.float32))
        sentences = queries @ self.vectors.T
        norms = np.linalg.norm(self.chunk_sums, axis=1)
        chunks = (queries @ self.chunk_sums.T) / np.maximum(norms, 1e-12)
        for i, gone in enumerate(removed or ()):
            if len(gone):
                sentences[i, gone] = -1.0
        best_sentence = np.maximum.reduceat(sentences, self.sentence_starts, axis=1)
        best_chunk = np.maximum.reduceat(chunks, self.chunk_starts, axis=1)
        return best_sentence, best_chunk

    def scores(
        self, queries: np.ndarray, removed: Sequence[np.ndarray] | None = None
    ) -> np.ndarray:
        """Return each query's score per article: the mean of its best sentence and chunk."""
        best_sentence, best_chunk = self.components(queries, removed)
        return (best_sentence + best_chunk) / 2

    def article_words(self, article: int, removed: np.ndarray | None = None) -> set[str]:
        """Return the content words of an article, without those of removed sentences."""
        start = int(self.sentence_starts[article])
        stop = (
            int(self.sentence_starts[article + 1])
            if article + 1 < len(self.sentence_starts)
            else len(self.texts)
        )
        gone = set() if removed is None else {int(s) for s in removed}
        words: set[str] = set()
        for s in range(start, stop):
            if s not in gone:
                words |= self.words[s]
        return words


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


def overlap(question: frozenset[str], article: set[str]) -> float:
    """Return the share of a question's content words the article contains (0: none)."""
    return len(question & article) / (len(question) + 1)


def features(
    index: SentenceIndex,
    vectors: np.ndarray,
    texts: Sequence[str],
    removed: Sequence[np.ndarray] | None = None,
    excluded: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Return each question's best article and its (top score, margin, word overlap).

    excluded[i] is an article question i may not get (the left-out article), or -1.
    """
    scores = index.scores(vectors, removed)
    if excluded is not None:
        scores[np.arange(len(scores)), excluded] = -np.inf
    best, top, margin = top_and_margin(scores)
    cache: dict[int, set[str]] = {}
    lexical = np.zeros(len(scores))
    for i, (text, article) in enumerate(zip(texts, best, strict=True)):
        gone = removed[i] if removed is not None else None
        own = int(article)
        if gone is not None and len(gone):
            words = index.article_words(own, gone)
        else:
            words = cache.setdefault(own, index.article_words(own))
        lexical[i] = overlap(content_words(text), words)
    return best, np.column_stack([top, margin, lexical])


@dataclass(frozen=True)
class PseudoQuestion:
    """A question an article should answer, and the index sentences it was cut from."""

    article: int
    text: str
    removed: np.ndarray


def _language(text: str) -> str:
    from tandem.triage.signals.language import detect_language

    language, _ = detect_language(text, allowed=list(QUESTION_TEMPLATES))
    return language or "en"


def _template_subject(title: str, language: str) -> str:
    title = title.strip().rstrip(".?!:")
    first = title.split(" ", 1)[0]
    if language == "de" or first.isupper() or not title:
        return title
    return title[0].lower() + title[1:]


def pseudo_questions(index: SentenceIndex, examples: dict[str, list[str]]) -> list[PseudoQuestion]:
    """Return what each article's customers would ask, with the sentences each came from.

    Titles and headings, as they are and in question forms of the article's language; body
    sentences that are not boilerplate; labelled examples of an intent the article serves.
    """
    questions: list[PseudoQuestion] = []
    sentence_article = index.sentence_article
    for a, article_id in enumerate(index.article_ids):
        own = np.flatnonzero(sentence_article == a)
        language = _language(" ".join(index.texts[s] for s in own[:6]))
        templates = QUESTION_TEMPLATES.get(language, QUESTION_TEMPLATES["en"])
        asked: dict[str, np.ndarray] = {}
        for s in own:  # title and heading come first in each chunk
            text = index.texts[s]
            if text in asked:
                continue
            same = own[[index.texts[o] == text for o in own]]
            if not index.quotable[s]:
                # Asked in question forms, the title kept: customers' questions match it too.
                # (The bare title with itself cut out found its article 43 % of the time.)
                subject = _template_subject(text, language)
                for template in templates:
                    asked.setdefault(template.format(t=subject), np.zeros(0, dtype=int))
            elif not index.boilerplate[s] and index.foreign[s] < PSEUDO_FOREIGN_MAX:
                asked[text] = same
        for text, gone in list(asked.items())[:MAX_TEXT_QUESTIONS_PER_ARTICLE]:
            questions.append(PseudoQuestion(a, text, gone))
        for text in examples.get(article_id, [])[:MAX_EXAMPLES_PER_ARTICLE]:
            questions.append(PseudoQuestion(a, text, np.zeros(0, dtype=int)))
    return questions


@dataclass(frozen=True)
class KnowledgeCalibration:
    """When retrieval may answer: a confidence model over retrieval features and its threshold."""

    calibrator: LogisticCalibrator | None  # None: the top score itself is the confidence
    used: tuple[int, ...]  # the columns of `features` the calibrator reads
    choice: ThresholdChoice
    n_questions: int
    n_background: int

    @property
    def threshold(self) -> float:
        """Return the confidence an answer needs (math.inf: never answer)."""
        return self.choice.threshold

    def confidences(self, table: np.ndarray) -> np.ndarray:
        """Return the estimated probability that the top article is right, per feature row."""
        table = np.atleast_2d(table)
        if self.calibrator is None:
            return np.asarray(table[:, 0], dtype=np.float64)
        return self.calibrator(table[:, list(self.used)])

    def assess(
        self, index: SentenceIndex, vectors: np.ndarray, texts: Sequence[str]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Return each question's best article and the confidence that it is right."""
        best, table = features(index, np.atleast_2d(vectors), texts)
        return best, self.confidences(table)


def never(target: float) -> KnowledgeCalibration:
    """Return the calibration of an empty knowledge base: never answer."""
    choice = ThresholdChoice(math.inf, target, 0.95, math.nan, math.nan, 0.0, 0, 0)
    return KnowledgeCalibration(None, (0,), choice, 0, 0)


def _fit(
    table: np.ndarray, correct: np.ndarray, weights: np.ndarray
) -> tuple[LogisticCalibrator | None, tuple[int, ...]]:
    """Fit on the features, dropping any that would count against being right."""
    used = list(range(len(FEATURE_NAMES)))
    while used:
        calibrator = LogisticCalibrator.fit(table[:, used], correct, weights)
        if calibrator is None:
            break
        bad = [u for u, c in zip(used, calibrator.coef, strict=True) if c <= 0]
        if not bad:
            return calibrator, tuple(used)
        if 0 in bad:
            break  # a model that prefers lower scores is noise: rank by score alone
        used = [u for u in used if u not in bad]
    return None, (0,)


def calibrate(
    index: SentenceIndex,
    questions: Sequence[PseudoQuestion],
    question_vectors: np.ndarray,
    background: np.ndarray,
    background_texts: Sequence[str],
    *,
    target: float,
) -> KnowledgeCalibration:
    """Fit the confidence model and choose its threshold (see the module docstring)."""
    n_articles = len(index.article_ids)
    if not questions or n_articles == 0:
        return never(target)
    articles = np.array([q.article for q in questions], dtype=int)
    texts = [q.text for q in questions]
    removed = [q.removed for q in questions]
    best, table = features(index, question_vectors, texts, removed)
    # Every article counts the same, however many pseudo-questions it has.
    base = 1.0 / (n_articles * np.bincount(articles, minlength=n_articles)[articles])
    has_lo, has_bg = n_articles > 1, len(background) > 0
    lo_share = UNCOVERED_SHARE / (2 if has_bg else 1) if has_lo else 0.0
    bg_share = (UNCOVERED_SHARE - lo_share) if has_bg else 0.0
    rows = [(table, best == articles, (1 - lo_share - bg_share) * base)]
    if has_lo:
        _, lo_table = features(index, question_vectors, texts, removed, excluded=articles)
        rows.append((lo_table, np.zeros(len(texts), bool), lo_share * base))
    if has_bg:
        _, bg_table = features(index, background, background_texts)
        weight = np.full(len(bg_table), bg_share / len(bg_table))
        rows.append((bg_table, np.zeros(len(bg_table), bool), weight))
    table = np.vstack([r[0] for r in rows])
    correct = np.concatenate([r[1] for r in rows])
    weights = np.concatenate([r[2] for r in rows])
    # A question whose article has nothing left once it is cut out tells nothing either way.
    finite = np.isfinite(table).all(axis=1)
    table, correct, weights = table[finite], correct[finite], weights[finite]
    if len(table) == 0:
        return never(target)
    calibrator, used = _fit(table, correct, weights)
    calibration = KnowledgeCalibration(
        calibrator, used, never(target).choice, len(questions), len(background)
    )
    choice = choose_threshold(calibration.confidences(table), correct, target, weights=weights)
    return KnowledgeCalibration(calibrator, used, choice, len(questions), len(background))
