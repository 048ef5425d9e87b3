"""Measure every triage signal and print the figures as JSON on stdout.

Usage: python scripts/measure_signals.py [--data ../shared/data] [--latency-messages 300]

Held-out sentences come from tests/triage/signals/heldout.json (written for evaluation, never
used as exemplars). Public datasets are read from --data and never copied: Bitext (human
request, complaint, cancellation, rephrase pairs), GoEmotions dev (frustration), the multilingual
tickets (language) and the Twitter customer-support sample (latency, fire rates on real tweets).
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import f1_score, precision_score, recall_score, roc_auc_score

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

import train_frustration  # noqa: E402

from tandem.triage.signals import (  # noqa: E402
    Turn,
    detect_bot_loop,
    detect_human_request,
    detect_language,
    detect_sensitive_topics,
    extract_entities,
    find_personal_data,
    score_sentiment,
    warm_up,
)
from tandem.triage.signals import human_request as hr  # noqa: E402
from tandem.triage.signals import sensitive as sens  # noqa: E402
from tandem.triage.signals import sentiment as sent  # noqa: E402
from tandem.triage.signals._common import embed_texts  # noqa: E402
from tandem.triage.signals.bot_loop import REPHRASE_HIGH, REPHRASE_LOW  # noqa: E402

HELDOUT = json.loads((ROOT / "tests/triage/signals/heldout.json").read_text(encoding="utf-8"))
CROSS_LINGUAL = [
    "Llevo tres semanas esperando y nadie me contesta, es una vergüenza",
    "¿Me podrías decir cuándo llega mi pedido?",
    "Ich bin stinksauer, mein Paket ist schon wieder verschwunden!",
    "Können Sie mir bitte die Rechnung schicken?",
    "C'est la troisième fois que je vous écris, c'est inadmissible",
    "Merci, tout est en ordre",
    "Sono davvero arrabbiato, nessuno risolve il mio problema",
    "Estou muito irritado, ninguém me responde há dias",
    "Ik ben het zat, mijn bestelling is weer te laat",
]


def prf(y: Sequence[bool], pred: Sequence[bool]) -> dict[str, Any]:
    """Return precision, recall, F1 and counts for boolean labels and predictions."""
    y_arr, p_arr = np.asarray(y, dtype=bool), np.asarray(pred, dtype=bool)
    return {
        "precision": round(float(precision_score(y_arr, p_arr, zero_division=0)), 4),
        "recall": round(float(recall_score(y_arr, p_arr, zero_division=0)), 4),
        "f1": round(float(f1_score(y_arr, p_arr, zero_division=0)), 4),
        "tp": int((y_arr & p_arr).sum()),
        "fp": int((~y_arr & p_arr).sum()),
        "fn": int((y_arr & ~p_arr).sum()),
    }


def read_csv(path: Path) -> list[dict[str, str]]:
    """Read a CSV file into dictionaries."""
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def measure_language(data: Path) -> dict[str, Any]:
    """Accuracy on the labelled multilingual tickets, on full bodies and on short openings."""
    rows = read_csv(data / "tickets/tickets-4k.csv")
    allowed = sorted({r["language"] for r in rows})
    result: dict[str, Any] = {"rows": len(rows), "languages": allowed}
    for name, pick in [
        ("body", lambda r: r["body"]),
        ("subject", lambda r: r["subject"]),
        ("first_4_words", lambda r: " ".join(r["body"].split()[:4])),
    ]:
        texts = [pick(r) for r in rows]
        free = [detect_language(t)[0] for t in texts]
        restricted = [detect_language(t, allowed)[0] for t in texts]
        gold = [r["language"] for r in rows]
        result[name] = {
            "accuracy": round(float(np.mean([a == g for a, g in zip(free, gold, strict=True)])), 4),
            "accuracy_restricted": round(
                float(np.mean([a == g for a, g in zip(restricted, gold, strict=True)])), 4
            ),
        }
    short = ["hi", "ok", "Hola", "danke", "agent please", "where is my order", "😀😀", "12345"]
    result["short_examples"] = {t: detect_language(t) for t in short}
    return result


def measure_human_request(data: Path) -> dict[str, Any]:
    """Held-out and Bitext precision/recall at score >= 0.5, with pattern/embedding ablations."""
    pos, neg = HELDOUT["human_request"]["positive"], HELDOUT["human_request"]["negative"]
    texts, y = pos + neg, [True] * len(pos) + [False] * len(neg)
    vectors = embed_texts(texts)
    combined = [detect_human_request(t, v) >= 0.5 for t, v in zip(texts, vectors, strict=True)]
    pattern = [hr._pattern_score(hr.fold_message(t)) >= 0.5 for t in texts]
    embedding = [hr.embedding_score(v) >= 0.5 for v in vectors]
    rows = read_csv(data / "bitext/Bitext_Sample_Customer_Support_Training_Dataset.csv")
    bt_texts = [r["instruction"] for r in rows]
    bt_vec = embed_texts(bt_texts)
    scores = [detect_human_request(t, v) for t, v in zip(bt_texts, bt_vec, strict=True)]
    intents = [r["intent"] for r in rows]
    strict_y = [i == "contact_human_agent" for i in intents]
    keep = [i != "contact_customer_service" for i in intents]
    ccs = [
        s >= 0.5 for s, i in zip(scores, intents, strict=True) if i == "contact_customer_service"
    ]
    return {
        "heldout": {
            "n_positive": len(pos),
            "n_negative": len(neg),
            "combined": prf(y, combined),
            "pattern_only": prf(y, pattern),
            "embedding_only": prf(y, embedding),
        },
        "bitext_contact_human_agent_vs_all": prf(strict_y, [s >= 0.5 for s in scores]),
        "bitext_excluding_contact_customer_service": prf(
            [a for a, k in zip(strict_y, keep, strict=True) if k],
            [s >= 0.5 for s, k in zip(scores, keep, strict=True) if k],
        ),
        "bitext_fire_rate_on_contact_customer_service": round(float(np.mean(ccs)), 4),
        "_bitext": (bt_texts, bt_vec, intents),
    }


def _frustration_views(texts: list[str], vectors: np.ndarray) -> dict[str, np.ndarray]:
    model = sent._model()
    emb = vectors @ model.coef[: model.dim] + model.intercept
    cues = np.vstack([sent.typographic_cues(t) for t in texts]) @ model.coef[model.dim :]
    priors = train_frustration.prior_logits(texts)
    return {"embedding_part": emb, "with_learned_cues": emb + cues, "runtime": emb + cues + priors}


def _binary(y: np.ndarray, logits: np.ndarray, threshold: float) -> dict[str, float]:
    cut = float(np.log(threshold / (1 - threshold)))
    return {
        "roc_auc": round(float(roc_auc_score(y, logits)), 4),
        "f1": round(float(f1_score(y, logits >= cut)), 4),
        "precision": round(float(precision_score(y, logits >= cut, zero_division=0)), 4),
        "recall": round(float(recall_score(y, logits >= cut)), 4),
    }


def read_valence_dev(folder: Path, labels: list[str]) -> np.ndarray:
    """Return 1 (positive), 0 (negative) or -1 (neutral or mixed) per GoEmotions dev row."""
    valence = train_frustration.read_valence(folder, "dev", labels)
    return np.where(valence == 2, 1, np.where(valence == 0, 0, -1))


def measure_frustration(data: Path) -> dict[str, Any]:
    """GoEmotions dev and support-message AUC/F1, with and without the cues and priors."""
    threshold = sent.frustration_threshold()
    folder = data / "goemotions/original"
    labels = (folder / "labels.txt").read_text(encoding="utf-8").split()
    positive = {labels.index(n) for n in train_frustration.POSITIVE}
    dev_texts, dev_y = train_frustration.read_split(folder, "dev", positive)
    dev_vec = train_frustration.embed(dev_texts, Path.home() / ".cache/tandem")
    views = _frustration_views(dev_texts, dev_vec)
    support = HELDOUT["frustration"]
    s_texts = support["frustrated"] + support["calm"]
    s_y = np.array([1] * len(support["frustrated"]) + [0] * len(support["calm"]))
    s_views = _frustration_views(s_texts, embed_texts(s_texts))
    cross = {}
    for text, vector in zip(CROSS_LINGUAL, embed_texts(CROSS_LINGUAL), strict=True):
        s = score_sentiment(text, vector)
        cross[text] = {"frustration": round(s.frustration, 3), "label": s.label}
    polar = read_valence_dev(folder, labels)
    valence = np.array([sent._model().valence(v) for v in dev_vec[polar >= 0]])
    vader = np.array(
        [sent._vader().polarity_scores(t)["compound"] for t in np.array(dev_texts)[polar >= 0]]
    )
    is_positive = polar[polar >= 0] == 1
    return {
        "polarity_auc_positive_vs_negative_goemotions_dev": {
            "rows": int(is_positive.size),
            "vader_compound": round(float(roc_auc_score(is_positive, vader)), 4),
            "embedding_valence": round(float(roc_auc_score(is_positive, valence)), 4),
        },
        "threshold": round(threshold, 3),
        "goemotions_dev": {k: _binary(dev_y, v, threshold) for k, v in views.items()},
        "goemotions_dev_rows": len(dev_texts),
        "support_heldout": {k: _binary(s_y, v, threshold) for k, v in s_views.items()},
        "support_heldout_rows": len(s_texts),
        "cross_lingual_examples": cross,
        "model_metadata": {k: v for k, v in sent.model_metadata().items() if k != "metrics"},
    }


def measure_sensitive(bitext: tuple[list[str], np.ndarray, list[str]]) -> dict[str, Any]:
    """Per-topic precision/recall on held-out sentences; Bitext complaint and cancellation."""
    held = HELDOUT["sensitive"]
    texts = [t for group in held.values() for t in group]
    gold = [topic for topic, group in held.items() for _ in group]
    vectors = embed_texts(texts)
    got = [detect_sensitive_topics(t, v) for t, v in zip(texts, vectors, strict=True)]
    patterns = [sens.pattern_scores(t) for t in texts]
    also = HELDOUT["sensitive_also_acceptable"]
    per_topic = {}
    for topic in sorted(sens.ALL_TOPICS):
        # A second topic that is also true ("my husband died, close his account") is no error.
        y = [g == topic or topic in also.get(t, []) for g, t in zip(gold, texts, strict=True)]
        per_topic[topic] = {
            "combined": prf(y, [topic in g for g in got]),
            "pattern_only": prf(y, [topic in p for p in patterns]),
        }
    fired_on_negatives = sum(1 for g, r in zip(gold, got, strict=True) if g == "negative" and r)
    bt_texts, bt_vec, intents = bitext
    bt = [detect_sensitive_topics(t, v) for t, v in zip(bt_texts, bt_vec, strict=True)]
    cancel_keep = [i != "check_cancellation_fee" for i in intents]
    refund_intents = {"check_refund_policy", "get_refund", "track_refund"}
    other_topics = (sens.LEGAL_THREAT, sens.VULNERABLE_CUSTOMER, sens.SECURITY_INCIDENT)
    return {
        "heldout": per_topic,
        "heldout_all_topics_precision": round(
            sum(v["combined"]["tp"] for v in per_topic.values())
            / max(1, sum(v["combined"]["tp"] + v["combined"]["fp"] for v in per_topic.values())),
            4,
        ),
        "heldout_negatives_with_any_topic": f"{fired_on_negatives}/{len(held['negative'])}",
        "bitext_complaint": prf(
            [i == "complaint" for i in intents], ["complaint" in r for r in bt]
        ),
        "bitext_cancellation_(cancel_order+delete_account)": prf(
            [
                i in {"cancel_order", "delete_account"}
                for i, k in zip(intents, cancel_keep, strict=True)
                if k
            ],
            ["cancellation" in r for r, k in zip(bt, cancel_keep, strict=True) if k],
        ),
        "bitext_refund_dispute_fire_rate_on_refund_questions": round(
            float(
                np.mean(
                    [
                        "refund_dispute" in r
                        for r, i in zip(bt, intents, strict=True)
                        if i in refund_intents
                    ]
                )
            ),
            4,
        ),
        "bitext_fire_rate_legal_vulnerable_security": {
            t: round(float(np.mean([t in r for r in bt])), 4) for t in other_topics
        },
    }


def measure_spans(
    cases: list[dict[str, Any]], find: Callable[[str], list[tuple[str, str]]], skip: str | None
) -> dict[str, Any]:
    """Span-level precision/recall of (kind, exact text) pairs over labelled cases."""
    tp = fp = fn = 0
    for case in cases:
        if skip and case.get(skip):
            continue
        expected = {tuple(e) for e in case["expected"]}
        got = set(find(case["text"]))
        tp, fp, fn = tp + len(expected & got), fp + len(got - expected), fn + len(expected - got)
    return {
        "precision": round(tp / max(1, tp + fp), 4),
        "recall": round(tp / max(1, tp + fn), 4),
        "tp": tp,
        "fp": fp,
        "fn": fn,
    }


def measure_bot_loop(bitext: tuple[list[str], np.ndarray, list[str]]) -> dict[str, Any]:
    """Scenario accuracy, and how well similarity separates same-need Bitext pairs."""
    correct, details = 0, []
    for case in HELDOUT["bot_loop"]:
        history = [Turn(text, ai_answered=answered) for text, answered in case["history"]]
        result = detect_bot_loop(history, Turn(case["current"]))
        correct += (result.score >= 0.5) == case["loop"]
        details.append((case["current"], case["loop"], result.score, result.reasons))
    _, vectors, intents = bitext
    rng = np.random.default_rng(7)
    i, j = rng.integers(0, len(intents), 20000), rng.integers(0, len(intents), 20000)
    mask = i != j
    sims = (vectors[i[mask]] * vectors[j[mask]]).sum(axis=1)
    same = np.array(intents)[i[mask]] == np.array(intents)[j[mask]]
    cut = (REPHRASE_LOW + REPHRASE_HIGH) / 2
    return {
        "scenarios_accuracy": f"{correct}/{len(HELDOUT['bot_loop'])}",
        "scenarios": details,
        "bitext_same_intent_pairs": {
            "pairs": int(mask.sum()),
            "same_intent_share": round(float(same.mean()), 4),
            "roc_auc_of_similarity": round(float(roc_auc_score(same, sims)), 4),
            f"at_similarity_{cut:.3f}": prf(same, sims >= cut),
        },
    }


def measure_fire_rates(data: Path) -> dict[str, Any]:
    """Share of real inbound support tweets (unlabelled) on which each detector fires."""
    tweets = [r["text"] for r in read_csv(data / "twcs_sample/twcs.csv") if r["inbound"] == "True"]
    vectors = embed_texts(tweets)
    counts: dict[str, int] = {"human_request": 0, "frustrated": 0}
    for text, vector in zip(tweets, vectors, strict=True):
        counts["human_request"] += detect_human_request(text, vector) >= 0.5
        counts["frustrated"] += score_sentiment(text, vector).label == "frustrated"
        for topic in detect_sensitive_topics(text, vector):
            counts[topic] = counts.get(topic, 0) + 1
    return {"inbound_tweets": len(tweets), "fired": counts}


def measure_latency(data: Path, n: int) -> dict[str, Any]:
    """Per-signal p50/p95 in ms over real support messages, with precomputed vectors."""
    bitext = [
        r["instruction"]
        for r in read_csv(data / "bitext/Bitext_Sample_Customer_Support_Training_Dataset.csv")
    ]
    tweets = [r["text"] for r in read_csv(data / "twcs_sample/twcs.csv") if r["inbound"] == "True"]
    tickets = [r["body"] for r in read_csv(data / "tickets/tickets-4k.csv")]
    rng = np.random.default_rng(3)
    pool = [
        *rng.choice(bitext, n // 3),
        *rng.choice(tweets, n // 3),
        *rng.choice(tickets, n - 2 * (n // 3)),
    ]
    # Wall time suffers when other work shares the 2 cores; CPU time of the calling thread
    # (process time for the multi-threaded encoder) shows what the signal itself costs.
    timings: dict[str, list[float]] = {}
    cpu: dict[str, list[float]] = {}
    history = [
        Turn(t, v, ai_answered=True) for t, v in zip(pool[:3], embed_texts(pool[:3]), strict=True)
    ]

    def timed(name: str, fn: Callable[..., object], *args: object) -> None:
        clock = time.process_time if name.startswith("embedding") else time.thread_time
        start, start_cpu = time.perf_counter(), clock()
        fn(*args)
        timings.setdefault(name, []).append((time.perf_counter() - start) * 1000)
        cpu.setdefault(name, []).append((clock() - start_cpu) * 1000)

    fired = {"human_request": 0, "sensitive_any": 0, "frustrated": 0}
    for item in pool:
        text = str(item)
        timed("embedding (shared, not in budget)", embed_texts, [text])
        vector = embed_texts([text])[0]
        timed("language", detect_language, text)
        timed("human_request", detect_human_request, text, vector)
        timed("sentiment", score_sentiment, text, vector)
        timed("sensitive", detect_sensitive_topics, text, vector)
        timed("entities", extract_entities, text)
        timed("pii_fast", find_personal_data, text)
        timed("bot_loop", detect_bot_loop, history, Turn(text, vector))
        fired["human_request"] += detect_human_request(text, vector) >= 0.5
        fired["sensitive_any"] += bool(detect_sensitive_topics(text, vector))
        fired["frustrated"] += score_sentiment(text, vector).label == "frustrated"
    for item in pool[:100]:
        timed("pii_thorough (handoff only, not in budget)", find_personal_data, str(item), True)
    budget = [k for k in timings if "not in budget" not in k]
    report: dict[str, Any] = {"messages": len(pool), "fire_counts_on_sample": fired}
    for label, source in (("wall_ms", timings), ("cpu_ms", cpu)):
        stats = {k: _pcts(v) for k, v in source.items()}
        totals = [sum(source[k][i] for k in budget) for i in range(len(pool))]
        chat = 2 * (n // 3)  # the pool holds Bitext and tweets first, then ticket emails
        stats["all_signals_total"] = _pcts(totals)
        stats["all_signals_total_chat_messages"] = _pcts(totals[:chat])
        stats["all_signals_total_email_tickets"] = _pcts(totals[chat:])
        report[label] = stats
    return report


def _pcts(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "p50": round(statistics.median(ordered), 3),
        "p95": round(ordered[int(0.95 * (len(ordered) - 1))], 3),
        "max": round(ordered[-1], 3),
    }


def main() -> None:
    """Run every measurement and print one JSON document."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared/data")
    parser.add_argument("--latency-messages", type=int, default=300)
    args = parser.parse_args()
    warm_up(thorough_pii=True)
    report: dict[str, Any] = {"language": measure_language(args.data)}
    human = measure_human_request(args.data)
    bitext = human.pop("_bitext")
    report["human_request"] = human
    report["frustration"] = measure_frustration(args.data)
    report["sensitive"] = measure_sensitive(bitext)
    report["entities"] = measure_spans(
        HELDOUT["entities"],
        lambda t: [(e.kind, t[e.start : e.end]) for e in extract_entities(t)],
        None,
    )
    report["pii_fast"] = measure_spans(
        HELDOUT["pii"],
        lambda t: [(p.kind, t[p.start : p.end]) for p in find_personal_data(t)],
        "thorough_only",
    )
    report["pii_thorough"] = measure_spans(
        HELDOUT["pii"],
        lambda t: [(p.kind, t[p.start : p.end]) for p in find_personal_data(t, thorough=True)],
        None,
    )
    report["bot_loop"] = measure_bot_loop(bitext)
    report["twcs_fire_rates"] = measure_fire_rates(args.data)
    report["latency"] = measure_latency(args.data, args.latency_messages)
    print(json.dumps(report, indent=2, ensure_ascii=False, default=str))


if __name__ == "__main__":
    main()
