"""Measure the handoff summariser against TweetSumm's human summaries and print JSON on stdout.

Usage:
    python scripts/eval_summaries.py --data ../shared/data/tweetsumm/dialogues.jsonl \
        [--split dev|test|all] [--json OUT] [--embedder use-m3]

Split: the first 350 dialogues of the file are dev (where the summariser was tuned), the rest
test. The data is read from --data and never copied into the repository.

ROUGE is computed here, without a dependency, as in Google's rouge-score (use_stemmer=False):
text is lower-cased, every run of characters outside [a-z0-9] separates tokens; ROUGE-N F1 is
over clipped n-gram counts and ROUGE-L F1 over the longest common subsequence (summary level
ROUGE-Lsum is not used: both texts are single token sequences). Each dialogue has 1-5 human
summaries; per dialogue we take the max over them ("max", the usual multi-reference figure) and
the mean over them ("mean"), then average over dialogues. Latency is wall time per summarize
call with vectors already computed (embedding time excluded).
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from tandem.handoff.summary import (
    DEFAULT_WEIGHTS,
    Turn,
    _candidates,
    _summarize,
    sentences,
    summarize,
)

DEV_SIZE = 350
_TOKEN_SPLIT = re.compile(r"[^a-z0-9]+")
_SPEAKER = re.compile(r"\n\t(?=(?:Customer|Agent):\t)")

Summariser = Callable[[list[Turn], np.ndarray | None], str]


def tokenize(text: str) -> list[str]:
    """Split text into lower-case ASCII word tokens the way rouge-score does."""
    return [t for t in _TOKEN_SPLIT.split(text.lower()) if t]


def _f1(overlap: int, n_candidate: int, n_reference: int) -> float:
    if overlap == 0 or n_candidate == 0 or n_reference == 0:
        return 0.0
    precision, recall = overlap / n_candidate, overlap / n_reference
    return 2 * precision * recall / (precision + recall)


def rouge_n_f1(candidate: Sequence[str], reference: Sequence[str], n: int) -> float:
    """Return ROUGE-N F1 between two token lists (clipped n-gram counts)."""
    cand = Counter(tuple(candidate[i : i + n]) for i in range(len(candidate) - n + 1))
    ref = Counter(tuple(reference[i : i + n]) for i in range(len(reference) - n + 1))
    overlap = sum((cand & ref).values())
    return _f1(overlap, sum(cand.values()), sum(ref.values()))


def lcs_length(a: Sequence[str], b: Sequence[str]) -> int:
    """Return the length of the longest common subsequence of two token lists."""
    if not a or not b:
        return 0
    previous = [0] * (len(b) + 1)
    for token in a:
        current = [0]
        for j, other in enumerate(b, start=1):
            if token == other:
                current.append(previous[j - 1] + 1)
            else:
                current.append(max(previous[j], current[j - 1]))
        previous = current
    return previous[-1]


def rouge_l_f1(candidate: Sequence[str], reference: Sequence[str]) -> float:
    """Return ROUGE-L F1 (LCS-based, beta = 1) between two token lists."""
    return _f1(lcs_length(candidate, reference), len(candidate), len(reference))


def parse_dialogue(raw: str) -> list[Turn]:
    """Split a TweetSumm dialogue string into turns (Customer -> customer, Agent -> agent)."""
    turns = []
    for chunk in _SPEAKER.split(raw.strip()):
        speaker, _, text = chunk.partition(":\t")
        turns.append(Turn(author="customer" if speaker == "Customer" else "agent", text=text))
    return turns


def load(path: Path, split: str) -> list[tuple[list[Turn], list[str]]]:
    """Return (turns, human summaries) pairs of the requested split."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    if split == "dev":
        rows = rows[:DEV_SIZE]
    elif split == "test":
        rows = rows[DEV_SIZE:]
    return [(parse_dialogue(r["dialogue"]), [" ".join(s) for s in r["summaries"]]) for r in rows]


def lead_n(turns: Sequence[Turn], n: int = 3) -> str:
    """Baseline: the first n sentences of the conversation, any author, uncleaned."""
    out: list[str] = []
    for turn in turns:
        out.extend(s for s in re.split(r"(?<=[.!?])\s+|\n+", turn.text.strip()) if s.strip())
        if len(out) >= n:
            break
    return " ".join(out[:n])


def first_customer_turn(turns: Sequence[Turn]) -> str:
    """Baseline: the customer's first message, as written."""
    return next((t.text.strip() for t in turns if t.author == "customer"), "")


def clean_lead_n(turns: Sequence[Turn], n: int = 3) -> str:
    """Baseline: the first n sentences after the summariser's cleaning and filler removal."""
    return " ".join([c.text for c in _candidates(turns) if not c.filler][:n])


def template_first_last(turns: Sequence[Turn]) -> str:
    """Baseline: the summariser's template with a fixed rule (no scoring).

    The customer's first substantive sentence and support's last one, labelled.
    """
    useful = [c for c in _candidates(turns) if not c.filler]
    customer = [c.text for c in useful if c.author == "customer"][:1]
    support = [c.text for c in useful if c.author != "customer"][-1:]
    return "\n".join([f"Customer: {t}" for t in customer] + [f"Agent: {t}" for t in support])


def evaluate(
    data: list[tuple[list[Turn], list[str]]],
    summariser: Summariser,
    vectors: list[np.ndarray | None],
) -> dict[str, Any]:
    """Return mean ROUGE (max and mean over references), lengths and latency of one summariser."""
    scores: dict[str, list[float]] = {k: [] for k in ("l_max", "l_mean", "1_max", "2_max")}
    lengths: list[int] = []
    times: list[float] = []
    for (turns, references), vecs in zip(data, vectors, strict=True):
        start = time.perf_counter()
        summary = summariser(turns, vecs)
        times.append((time.perf_counter() - start) * 1000)
        cand = tokenize(summary)
        refs = [tokenize(r) for r in references]
        rl = [rouge_l_f1(cand, r) for r in refs]
        scores["l_max"].append(max(rl))
        scores["l_mean"].append(statistics.fmean(rl))
        scores["1_max"].append(max(rouge_n_f1(cand, r, 1) for r in refs))
        scores["2_max"].append(max(rouge_n_f1(cand, r, 2) for r in refs))
        lengths.append(len(cand))
    times.sort()
    return {
        "rouge_l_f1": round(statistics.fmean(scores["l_max"]), 4),
        "rouge_l_f1_mean_over_refs": round(statistics.fmean(scores["l_mean"]), 4),
        "rouge_1_f1": round(statistics.fmean(scores["1_max"]), 4),
        "rouge_2_f1": round(statistics.fmean(scores["2_max"]), 4),
        "n_dialogues": len(data),
        "mean_words": round(statistics.fmean(lengths), 1),
        "ms_per_summary_p50": round(times[len(times) // 2], 3),
        "ms_per_summary_p95": round(times[min(len(times) - 1, int(len(times) * 0.95))], 3),
    }


def embed_all(data: list[tuple[list[Turn], list[str]]], name: str) -> list[np.ndarray | None]:
    """Embed every dialogue's candidate sentences (the rows summarize expects)."""
    from tandem.triage.embedders import get_embedder

    embedder = get_embedder(name)
    return [embedder.encode(sentences(turns)) for turns, _ in data]


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments, run the summariser and the baselines, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="TweetSumm dialogues.jsonl")
    parser.add_argument("--split", choices=("dev", "test", "all"), default="dev")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--embedder", help="also measure summarize with these sentence vectors")
    args = parser.parse_args(argv)

    data = load(args.data, args.split)
    no_vectors: list[np.ndarray | None] = [None] * len(data)
    systems: dict[str, tuple[Summariser, list[np.ndarray | None]]] = {
        "summarize": (lambda t, v: summarize(t), no_vectors),
        # Ablation: the same sentences without the "Customer:" / "Agent:" labels, which are
        # useful to the reader but also match words every human summary uses.
        "summarize_without_labels": (
            lambda t, v: _summarize(t, 3, 400, None, replace(DEFAULT_WEIGHTS, labels=False)),
            no_vectors,
        ),
        "baseline_lead_3": (lambda t, v: lead_n(t, 3), no_vectors),
        "baseline_lead_2": (lambda t, v: lead_n(t, 2), no_vectors),
        "baseline_first_customer_turn": (lambda t, v: first_customer_turn(t), no_vectors),
        "baseline_clean_lead_3": (lambda t, v: clean_lead_n(t, 3), no_vectors),
        "baseline_template_first_customer_last_support": (
            lambda t, v: template_first_last(t),
            no_vectors,
        ),
    }
    if args.embedder:
        vectors = embed_all(data, args.embedder)
        systems[f"summarize+{args.embedder}"] = (lambda t, v: summarize(t, vectors=v), vectors)
    results: dict[str, Any] = {
        "split": args.split,
        "rouge_l_f1_is": "mean over dialogues of the max over that dialogue's human summaries",
        "rouge_l_f1_mean_over_refs_is": "mean over dialogues of the mean over its summaries",
    }
    for name, (summariser, vecs) in systems.items():
        results[name] = evaluate(data, summariser, vecs)
    text = json.dumps(results, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
