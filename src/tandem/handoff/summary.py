"""Extractive summary of a conversation for the human agent who takes it over (no LLM)."""

from __future__ import annotations

import html
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from tandem.handoff.meta_talk import strip_meta_talk

# Each turn is cut to this many characters before anything else: the gist of a message is in its
# opening, and it bounds the work on pasted logs.
MAX_TURN_CHARS = 3000
# Very long conversations are read from their first and last MAX_TURNS / 2 turns; a turn
# contributes at most MAX_SENTENCES_PER_TURN candidate sentences.
MAX_TURNS = 200
MAX_SENTENCES_PER_TURN = 12
ELLIPSIS = "\u2026"
_FINAL_PUNCTUATION = ".!?\u2026\u3002\uff01\uff1f"
# Shorter sentences ("What now", a signature) are not summary material.
MIN_WORDS = 3

LABELS = {"customer": "Customer", "ai": "AI", "agent": "Agent"}
# Other spellings of the speakers; any other author but the ignored ones is the customer.
_AUTHOR_ALIASES = dict.fromkeys(("user", "visitor", "contact"), "customer") | {
    **dict.fromkeys(("bot", "assistant"), "ai"),
    **dict.fromkeys(("human", "operator", "staff"), "agent"),
}
_IGNORED_AUTHORS = frozenset({"system", "note", "internal"})


@dataclass(frozen=True)
class Turn:
    """One message of the conversation: author is customer, ai, agent or system."""

    author: str
    text: str


@dataclass(frozen=True)
class Weights:
    """Hold the scoring knobs (defaults tuned by ROUGE-L on the TweetSumm dev split)."""

    # Customer side: the first substantive sentences state the problem.
    customer_position: float = 2.0
    customer_first_turn: float = 0.5
    customer_length: float = 0.5
    customer_cue: float = 0.25
    # Support side (AI or agent): late, long, action-bearing sentences say what was done.
    support_late: float = 1.5
    support_last_turn: float = 0.25
    support_length: float = 3.0
    support_action: float = 0.5
    # Either side: shared words with the rest of the conversation (or vector centrality).
    centrality: float = 0.5
    saturation: int = 12
    customer_sentences: int = 1
    support_sentences: int = 1
    # A pick shorter than this many words takes the next sentence of its turn along.
    merge_below: int = 8
    labels: bool = True


DEFAULT_WEIGHTS = Weights()


@dataclass(frozen=True)
class _Candidate:
    index: int
    turn: int
    author: str
    text: str
    words: tuple[str, ...]  # content words, lower-cased
    length: int  # words
    content: int  # words left once pleasantries are removed

    @property
    def filler(self) -> bool:
        """Tell whether too little is left once pleasantries are removed."""
        return self.content < MIN_WORDS

    @property
    def problem(self) -> bool:
        """Tell whether the sentence reads like a complaint or a question."""
        return "?" in self.text or bool(_PROBLEM.search(self.text.lower()))

    @property
    def action(self) -> bool:
        """Tell whether the sentence reads like an instruction or something done."""
        return bool(_ACTION.search(self.text.lower()))


_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'"})
_TAG = re.compile(r"</?[a-zA-Z][^<>]{0,300}>")
_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_HANDLE = re.compile(r"(?<![\w@])@\w+")
_TRAILING_HASHTAGS = re.compile(r"(?:\s*#\w+)+\s*$")
_HASH = re.compile(r"(?<![\w&])#(?=[^\W\d_])")
_SIGNATURE = re.compile(r"(?:\s\d)?\s*(?<!\w)[\^*~]\s?[A-Z][A-Za-z]{0,5}\b\.?")
# Initials closing a support message ("... an update HP"), unless an article or pronoun
# shows they are a word ("send you an SMS", "reset your PIN").
_TRAILING_INITIALS = re.compile(
    r"(?<!\ba)(?<!\ban)(?<!\bthe)(?<!\byour)(?<!\bour)(?<!\bmy)(?<!\bvia)(?<!\bby)"
    r"(?<!\bto)(?<!\bof)[\s,:-]+[A-Z]{2,3}\W*$"
)
_SIGN_OFF = re.compile(r"(?:\b(?:thanks|regards|rgds|cheers)\s?[,-]\s?|\s-\s?)[A-Z][a-z]{1,12}\W*$")
_PART = re.compile(r"\(?\b\d/\d\b\)?|[<>]{2,}|\.{3,}|\u2026")
_LEADING_GREETING = re.compile(
    r"^(?:(?:hi|hello|hey|dear|hola|bonjour|hallo|salut|ciao|no problem|no worries|thanks|"
    r"thank you|ok|okay|oh no)\b"
    r"[^,.!?\n]{0,20}[,!]\s*|(?:hi|hello|hey)(?: there| all| team)?\s+(?=[a-z]))(?=\w)",
    re.IGNORECASE,
)
_SPACE = re.compile(r"[ \t\r\f\v]+")
_UNWANTED_CHAR = re.compile(r"[^\x00-\x7f]")
# So: emoji and pictographs; Sk: skin tones; Cc/Cf/Co/Cn/Cs: controls, joiners, private use.
_DROPPED_CATEGORIES = frozenset({"So", "Sk", "Cc", "Cf", "Co", "Cn", "Cs"})
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|(?<=[\u3002\uff01\uff1f])\s*|\n+")
_WORD = re.compile(r"\w+")
_UNSPACED = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\u0e00-\u0e7f]")
_LETTER_OR_DIGIT = re.compile(r"[^\W_]")

# Pleasantries, apologies and hand-over talk: a sentence with fewer than MIN_WORDS words left
# once these are removed is filler ("Hi there!", "So sorry to hear that, Dan.").
# The guard lets the engine skip mid-word positions once instead of once per alternative; the
# patterns run on lower-cased text (IGNORECASE makes every alternative slower).
_WORD_START = r"(?:^|(?<=\W)(?=\w))"
_FILLER = re.compile(
    _WORD_START + r"(?:(?:hi|hello|hey|hiya)(?: there| all| team| guys| everyone)?|dear|greetings|"
    r"good (?:morning|afternoon|evening|day)|"
    r"hola|bonjour|salut|hallo|ciao|gracias|merci|danke|grazie|obrigad[oa]|"
    r"thanks?(?: you)?(?: so| very)?(?: much| a lot)?(?: for (?:reaching out|contacting us|"
    r"getting in touch|your (?:patience|message|tweet|reply|feedback|understanding|help|time)|"
    r"the (?:update|reply|info|information|help)|that|this|letting us know))?|thx|ty|cheers|"
    r"(?:much )?appreciated?(?: it)?|ok(?:ay)?|great|cool|perfect|awesome|fab|sure|"
    r"no (?:problem|worries)|you'?re welcome|(?:good)?bye|take care|"
    r"have an? (?:good|great|nice|lovely|wonderful) \w+|"
    r"(?:we'?re |i'?m |we are |i am )?(?:so |really |very |truly )?sorry(?: to hear)?"
    r"(?: about)?(?: that| this)?|(?:we |i )?apologi[sz]e(?: for)?|apologies(?: for)?|"
    r"(?:the |any )?(?:inconvenience|trouble|confusion|frustration)|"
    r"(?:we'?re |i'?m |we are |i am )?(?:happy|glad|here) to help|"
    r"we'?d (?:like|love) to help|let (?:us|me) know if[^.!?]*|is there anything else[^.!?]*|"
    r"how (?:can|may) (?:we|i) (?:help|assist)(?: you)?(?: today)?|hope (?:this|that) helps|"
    r"(?:i'?m |i am |we'?re |we are |i'?ll |i will |let me )?(?:connect|connecting|transfer|"
    r"transferring|pass|passing|hand|handing) you (?:to|with|over)[^.!?]*|"
    r"(?:a|an) (?:human|live|real) (?:agent|person|colleague)[^.!?]*|one moment(?: please)?|"
    r"(?:please )?bear with (?:us|me)|(?:i|we)(?:'ll| will) be right with you|"
    r"give (?:me|us) a (?:moment|minute|sec(?:ond)?)|"
    r"i'?m (?:an? |your )?(?:ai|virtual|automated|digital) (?:assistant|agent|bot))\b"
)
_PROBLEM = re.compile(
    _WORD_START
    + r"(?:not?|never|can'?t|cannot|won'?t|didn'?t|doesn'?t|isn'?t|wasn'?t|haven'?t|unable|"
    r"issue|problem|error|wrong|broken|fail\w*|still|refund\w*|charged?|cancel\w*|delay\w*|"
    r"missing|lost|late|help|why|waiting|complain\w*|worst|disappoint\w*)\b"
)
_ACTION = re.compile(
    _WORD_START
    + r"(?:please|kindly|you (?:can|could|will|should|may|need)|we(?:'ll| will| can| have|'ve)|"
    r"i(?:'ll| will| can| have|'ve)|has been|have been|will be|dm|send|check|confirm|visit|"
    r"refund\w*|replace\w*|forward\w*|passed|escalat\w*|cancel\w*|credit\w*|fix\w*|reset|"
    r"recommend|suggest|follow|contact|reach out)\b"
)
_STOPWORD_TEXT = (
    "a an the and or but if of to in on at for with from by about as is are was were be been "
    "being am do does did have has had i me my we our us you your he she it its they them their "
    "this that these those there here so just very really can could would should will shall "
    "may might must not no yes ok please thanks thank hi hello hey what which who how when "
    "where why all any some more most than too then also now get got"
)
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())


def clean(text: str, *, support: bool = False) -> str:
    """Return message text without markup, links, handles, hashtags, emoji and signatures."""
    text = html.unescape(text[:MAX_TURN_CHARS]).translate(_APOSTROPHES)
    # Each pattern runs only when its trigger character occurs: most messages have none.
    if support and ("^" in text or "*" in text or "~" in text):
        text = _SIGNATURE.sub(" ", text)
    if "<" in text:
        text = _TAG.sub(" ", text)
    if "://" in text or "www." in text.lower():
        text = _URL.sub(" ", text)
    if "@" in text:
        text = _HANDLE.sub(" ", text)
    if "/" in text or ".." in text or ELLIPSIS in text or "<" in text or ">" in text:
        text = _PART.sub(" ", text)
    if "#" in text:
        text = _HASH.sub("", _sub_tail(_TRAILING_HASHTAGS, " ", text))
    text = _CONTROL.sub(" ", text)
    if not text.isascii():
        text = _UNWANTED_CHAR.sub(_drop_symbol, text)
    lines = [_SPACE.sub(" ", line).strip() for line in text.splitlines()]
    text = "\n".join(line for line in lines if line)
    if support:
        text = _sub_tail(_SIGN_OFF, "", _sub_tail(_TRAILING_INITIALS, "", text))
    return text.strip(" \n-")


def _sub_tail(pattern: re.Pattern[str], replacement: str, text: str, width: int = 80) -> str:
    """Apply an end-anchored pattern to the last width characters only (it cannot reach further)."""
    if len(text) <= width:
        return pattern.sub(replacement, text)
    return text[:-width] + pattern.sub(replacement, text[-width:])


def _drop_symbol(match: re.Match[str]) -> str:
    ch = match.group()
    return "" if unicodedata.category(ch) in _DROPPED_CATEGORIES else ch


def _word_count(text: str) -> int:
    """Count words; in scripts written without spaces every two characters count as one."""
    count = len(_WORD.findall(text))
    return count if text.isascii() else count + len(_UNSPACED.findall(text)) // 2


def _leftover(sentence: str, *, customer: bool) -> str:
    text = strip_meta_talk(sentence) if customer else sentence.lower()
    return _FILLER.sub(" ", text)


def content_words(sentence: str, *, customer: bool) -> int:
    """Count the words left once pleasantries (and, for customers, meta talk) are removed."""
    return _word_count(_leftover(sentence, customer=customer))


def says_something(sentence: str) -> bool:
    """Tell whether a customer sentence keeps a word beyond pleasantries, meta talk, stopwords."""
    leftover = _leftover(sentence, customer=True)
    return any(w not in _STOPWORDS for w in _WORD.findall(leftover)) or not leftover.isascii()


def without_greeting(sentence: str) -> str:
    """Return a sentence without its leading greeting ("Hi team, my order..." -> "my order...")."""
    return _LEADING_GREETING.sub("", sentence)


def split_sentences(text: str) -> list[str]:
    """Return a text's sentences (lines count as sentences), at most MAX_SENTENCES_PER_TURN."""
    parts = [p.strip(" ,;-") for p in _SENTENCE_END.split(text)]
    return [p for p in parts if _LETTER_OR_DIGIT.search(p)][:MAX_SENTENCES_PER_TURN]


def _candidates(turns: Sequence[Turn]) -> list[_Candidate]:
    out: list[_Candidate] = []
    for turn_index, turn in enumerate(turns):
        if MAX_TURNS // 2 <= turn_index < len(turns) - MAX_TURNS // 2:
            continue
        author = str(turn.author or "").strip().lower()
        author = _AUTHOR_ALIASES.get(author, author)
        if author in _IGNORED_AUTHORS or not isinstance(turn.text, str):
            continue
        author = author if author in LABELS else "customer"
        for raw in split_sentences(clean(turn.text, support=author != "customer")):
            content = content_words(raw, customer=author == "customer")
            sentence = without_greeting(raw)
            words = tuple(w for w in _WORD.findall(sentence.lower()) if w not in _STOPWORDS)
            length = _word_count(sentence)
            out.append(_Candidate(len(out), turn_index, author, sentence, words, length, content))
    return out


def sentences(turns: Sequence[Turn]) -> list[str]:
    """Return the candidate sentences, in order: pass their embeddings as summarize's vectors."""
    return [c.text for c in _candidates(turns)]


def _lexical_centrality(cands: Sequence[_Candidate]) -> list[float]:
    """Return how much each sentence's content words recur elsewhere, scaled to 0..1."""
    document_frequency: Counter[str] = Counter()
    for c in cands:
        document_frequency.update(set(c.words))
    scores = []
    for c in cands:
        own = set(c.words)
        shared = sum(document_frequency[w] - 1 for w in own)
        scores.append(shared / math.sqrt(len(own)) if own else 0.0)
    top = max(scores, default=0.0) or 1.0
    return [s / top for s in scores]


def _vector_centrality(vectors: np.ndarray) -> list[float]:
    """Return each row's mean cosine to the other rows, scaled to 0..1 (O(n), not O(n^2))."""
    if len(vectors) < 2:
        return [0.0] * len(vectors)
    own = np.einsum("ij,ij->i", vectors, vectors)
    mean = (vectors @ vectors.sum(axis=0) - own) / (len(vectors) - 1)
    low, high = float(mean.min()), float(mean.max())
    return [0.0 if high <= low else float((m - low) / (high - low)) for m in mean]


def _score(
    cands: Sequence[_Candidate], vectors: np.ndarray | None, weights: Weights
) -> list[float]:
    """Score every candidate; fillers get a large penalty."""
    central = _lexical_centrality(cands) if vectors is None else _vector_centrality(vectors)
    scores = [-10.0] * len(cands)
    for side in ("customer", "support"):
        members = [
            c for c in cands if not c.filler and (c.author == "customer") == (side == "customer")
        ]
        turn_order = sorted({c.turn for c in members})
        for rank, c in enumerate(members):
            length = min(c.length, weights.saturation) / weights.saturation
            score = weights.centrality * central[c.index]
            if side == "customer":
                score += weights.customer_position / (1.0 + rank)
                score += weights.customer_first_turn * (c.turn == turn_order[0])
                score += weights.customer_length * length
                score += weights.customer_cue * c.problem
            else:
                score += weights.support_late * rank / max(1, len(members) - 1)
                score += weights.support_last_turn * (c.turn == turn_order[-1])
                score += weights.support_length * length
                score += weights.support_action * c.action
            scores[c.index] = score
    return scores


def shorten(text: str, limit: int) -> str:
    """Return text cut to at most limit characters, at a word boundary, with an ellipsis."""
    if len(text) <= limit:
        return text
    if limit <= 1:
        return ELLIPSIS[:limit]
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:-") + ELLIPSIS


def _fit(bodies: list[str], budget: int) -> list[str]:
    """Shorten the longest bodies first so that together they fit in budget characters."""
    if sum(len(b) for b in bodies) <= budget:
        return bodies
    limits = {}
    remaining, left = budget, sorted(range(len(bodies)), key=lambda i: len(bodies[i]))
    while left:
        share = max(1, remaining // len(left))
        i = left.pop(0)
        limits[i] = min(len(bodies[i]), share)
        remaining -= limits[i]
    return [shorten(b, limits[i]) for i, b in enumerate(bodies)]


def _render(chosen: Sequence[_Candidate], max_chars: int, labels: bool) -> str:
    """Join the chosen sentences, one line per speaker run, within max_chars."""
    groups: list[tuple[str, list[str]]] = []
    for c in chosen:
        body = c.text if c.text[-1] in _FINAL_PUNCTUATION else c.text + "."
        if groups and groups[-1][0] == c.author:
            groups[-1][1].append(body)
        else:
            groups.append((c.author, [body]))
    prefixes = [f"{LABELS[author]}: " if labels else "" for author, _ in groups]
    bodies = [" ".join(parts) for _, parts in groups]
    overhead = sum(len(p) for p in prefixes) + len(groups) - 1
    bodies = _fit(bodies, max(len(groups), max_chars - overhead))
    lines = [prefix + body for prefix, body in zip(prefixes, bodies, strict=True)]
    return shorten("\n".join(lines), max_chars)


def _select(
    cands: Sequence[_Candidate], scores: Sequence[float], max_sentences: int, weights: Weights
) -> list[_Candidate]:
    """Pick the best customer and support sentences, completing short picks."""
    useful = [c for c in cands if not c.filler]
    if not useful:
        # Only short or polite sentences: keep the customer's first one with any content left
        # ("Refund pls"), none if it was all pleasantries ("Hi there!").
        return [c for c in cands if c.author == "customer" and c.content > 0][:1]
    ranked = sorted(useful, key=lambda c: -scores[c.index])
    customer = [c for c in ranked if c.author == "customer"]
    support = [c for c in ranked if c.author != "customer"]
    wanted = weights.customer_sentences + weights.support_sentences
    # A side with too few sentences leaves its places to the other side.
    n_support = min(len(support), weights.support_sentences)
    n_customer = min(len(customer), wanted - n_support)
    n_support = min(len(support), wanted - n_customer)
    picked = (customer[:n_customer] + support[:n_support])[:max_sentences]
    for c in list(picked):
        following = cands[c.index + 1] if c.index + 1 < len(cands) else None
        if (
            len(picked) < max_sentences
            and c.length < weights.merge_below
            and following is not None
            and following.turn == c.turn
            and not following.filler
            and following not in picked
        ):
            picked.append(following)
    return sorted(picked, key=lambda c: c.index)


def _summarize(
    turns: Sequence[Turn],
    max_sentences: int,
    max_chars: int,
    vectors: np.ndarray | None,
    weights: Weights,
) -> str:
    """Summarise with explicit weights (summarize uses DEFAULT_WEIGHTS)."""
    if max_sentences <= 0 or max_chars <= 0:
        return ""
    cands = _candidates(turns)
    if not cands:
        return ""
    if vectors is not None:
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[0] != len(cands):
            raise ValueError(
                f"vectors need one row per sentences(turns) entry: "
                f"expected {len(cands)} rows, got shape {vectors.shape}"
            )
    scores = _score(cands, vectors, weights)
    chosen = _select(cands, scores, max_sentences, weights)
    return _render(chosen, max_chars, weights.labels) if chosen else ""


def summarize(
    turns: Sequence[Turn],
    *,
    max_sentences: int = 3,
    max_chars: int = 400,
    vectors: np.ndarray | None = None,
) -> str:
    """Return a short summary: the customer's key problem and what support already said."""
    return _summarize(turns, max_sentences, max_chars, vectors, DEFAULT_WEIGHTS)
