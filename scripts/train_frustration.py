"""Train the frustration model shipped as src/tandem/triage/signals/frustration.npz.

Usage: python scripts/train_frustration.py --data /work/shared/data/goemotions

GoEmotions (Reddit comments, 27 emotions + neutral) is read from --data and never copied into the
repository: only the logistic-regression weights and their metadata are written. The positive class
is any of anger, annoyance, disgust or disappointment. Model selection and the decision threshold
use a fixed-seed 10% validation slice of train; the reported figures are on the dev split.
A second, 3-class valence model (negative / neutral / positive, GoEmotions' sentiment grouping)
gives a polarity for languages VADER does not read.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (
    average_precision_score,
    f1_score,
    precision_score,
    recall_score,
    roc_auc_score,
)
from sklearn.model_selection import train_test_split

from tandem.triage.signals._common import EMBEDDER_NAME, MAX_EMBED_CHARS
from tandem.triage.signals.sentiment import (
    CUE_NAMES,
    SUPPORT_PRIORS,
    support_cues,
    typographic_cues,
)

SEED = 20261123
POSITIVE = ("anger", "annoyance", "disgust", "disappointment")
GRID_C = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0)
# GoEmotions' own sentiment grouping of its emotions; ambiguous ones count as neutral here.
VALENCE_POSITIVE = (
    "admiration", "amusement", "approval", "caring", "desire", "excitement", "gratitude", "joy",
    "love", "optimism", "pride", "relief",
)  # fmt: skip
VALENCE_NEGATIVE = (
    "anger", "annoyance", "disappointment", "disapproval", "disgust", "embarrassment", "fear",
    "grief", "nervousness", "remorse", "sadness",
)  # fmt: skip
VALENCE_CLASSES = ("negative", "neutral", "positive")
DEFAULT_OUT = Path(__file__).resolve().parents[1] / "src/tandem/triage/signals/frustration.npz"


def read_split(folder: Path, split: str, positive_ids: set[int]) -> tuple[list[str], np.ndarray]:
    """Read one GoEmotions TSV split into texts and 0/1 labels."""
    texts: list[str] = []
    labels: list[int] = []
    with (folder / f"{split}.tsv").open(encoding="utf-8", newline="") as handle:
        for row in csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE):
            ids = {int(x) for x in row[1].split(",") if x}
            texts.append(row[0])
            labels.append(int(bool(ids & positive_ids)))
    return texts, np.array(labels, dtype=np.int8)


def read_valence(folder: Path, split: str, names: list[str]) -> np.ndarray:
    """Return 0/1/2 (negative/neutral/positive) per row; mixed rows count as neutral."""
    pos = {names.index(n) for n in VALENCE_POSITIVE}
    neg = {names.index(n) for n in VALENCE_NEGATIVE}
    labels: list[int] = []
    with (folder / f"{split}.tsv").open(encoding="utf-8", newline="") as handle:
        for row in csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE):
            ids = {int(x) for x in row[1].split(",") if x}
            is_pos, is_neg = bool(ids & pos), bool(ids & neg)
            labels.append(2 if is_pos and not is_neg else 0 if is_neg and not is_pos else 1)
    return np.array(labels, dtype=np.int8)


def fit_valence(x: np.ndarray, y: np.ndarray, x_dev: np.ndarray, y_dev: np.ndarray) -> tuple:
    """Fit the 3-class valence model and return it with its dev metrics."""
    model = LogisticRegression(C=1.0, max_iter=2000)
    model.fit(x, y)
    proba = model.predict_proba(x_dev)
    polar = y_dev != 1
    score = proba[:, 2] - proba[:, 0]
    metrics = {
        "accuracy_3_class": round(float((proba.argmax(axis=1) == y_dev).mean()), 4),
        "roc_auc_positive_vs_negative": round(
            float(roc_auc_score(y_dev[polar] == 2, score[polar])), 4
        ),
    }
    return model, metrics


def embed(texts: list[str], cache_dir: Path | None) -> np.ndarray:
    """Embed texts with the shared encoder, caching the matrix outside the repository."""
    from tandem.triage.embedders import get_embedder

    digest = hashlib.sha256("\n".join(texts).encode()).hexdigest()[:16]
    path = cache_dir / f"goemotions-{EMBEDDER_NAME}-{digest}.npy" if cache_dir else None
    if path is not None and path.exists():
        return np.load(path)
    encoder = get_embedder(EMBEDDER_NAME)
    started = time.time()
    parts = []
    for i in range(0, len(texts), 256):
        parts.append(encoder.encode([t[:MAX_EMBED_CHARS] for t in texts[i : i + 256]]))
        if i % 5120 == 0:
            print(f"  embedded {i}/{len(texts)} ({time.time() - started:.0f}s)", file=sys.stderr)
    matrix = np.vstack(parts).astype(np.float32)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path, matrix)
    return matrix


def features(vectors: np.ndarray, texts: list[str], with_cues: bool) -> np.ndarray:
    """Return the model input: the embedding, plus the typographic cues when asked."""
    if not with_cues:
        return vectors
    cues = np.vstack([typographic_cues(t) for t in texts])
    return np.hstack([vectors, cues]).astype(np.float32)


def best_f1_threshold(y: np.ndarray, p: np.ndarray) -> float:
    """Return the probability cut that maximises F1 on (y, p)."""
    candidates = np.unique(np.round(p, 3))
    scores = [(f1_score(y, p >= t, zero_division=0), t) for t in candidates[::-1]]
    return float(max(scores)[1])


def fit(x: np.ndarray, y: np.ndarray, x_val: np.ndarray, y_val: np.ndarray) -> tuple:
    """Pick C by validation ROC-AUC and return (model, C, validation AUC, threshold)."""
    best = None
    for c in GRID_C:
        model = LogisticRegression(C=c, max_iter=2000, class_weight="balanced")
        model.fit(x, y)
        auc = roc_auc_score(y_val, model.predict_proba(x_val)[:, 1])
        print(f"  C={c:<5} validation AUC={auc:.4f}", file=sys.stderr)
        if best is None or auc > best[2]:
            best = (model, c, auc)
    assert best is not None
    model, c, auc = best
    threshold = best_f1_threshold(y_val, model.predict_proba(x_val)[:, 1])
    return model, c, auc, threshold


def prior_logits(texts: list[str]) -> np.ndarray:
    """Return the fixed support-desk prior added to each text's logit at run time."""
    return np.array([sum(SUPPORT_PRIORS[k] * v for k, v in support_cues(t).items()) for t in texts])


def evaluate(
    model: LogisticRegression,
    x: np.ndarray,
    y: np.ndarray,
    threshold: float,
    extra_logit: np.ndarray | None = None,
) -> dict:
    """Return ROC-AUC, average precision, and F1/precision/recall at the threshold."""
    logit = model.decision_function(x)
    if extra_logit is not None:
        logit = logit + extra_logit
    p = 1.0 / (1.0 + np.exp(-logit))
    pred = p >= threshold
    return {
        "roc_auc": round(float(roc_auc_score(y, p)), 4),
        "average_precision": round(float(average_precision_score(y, p)), 4),
        "f1": round(float(f1_score(y, pred)), 4),
        "precision": round(float(precision_score(y, pred)), 4),
        "recall": round(float(recall_score(y, pred)), 4),
        "threshold": round(threshold, 3),
    }


def main() -> None:
    """Train, evaluate on dev, and write the .npz."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="GoEmotions folder")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--cache-dir", type=Path, default=Path.home() / ".cache/tandem")
    args = parser.parse_args()

    folder = args.data / "original"
    label_names = (folder / "labels.txt").read_text(encoding="utf-8").split()
    positive_ids = {label_names.index(name) for name in POSITIVE}
    train_texts, train_y = read_split(folder, "train", positive_ids)
    dev_texts, dev_y = read_split(folder, "dev", positive_ids)
    print(
        f"train {len(train_texts)} ({train_y.mean():.3f} positive), dev {len(dev_texts)}",
        file=sys.stderr,
    )
    train_vec = embed(train_texts, args.cache_dir)
    dev_vec = embed(dev_texts, args.cache_dir)

    idx = np.arange(len(train_texts))
    fit_idx, val_idx = train_test_split(idx, test_size=0.1, random_state=SEED, stratify=train_y)
    results = {}
    for with_cues in (False, True):
        name = "with_cues" if with_cues else "embedding_only"
        print(f"{name}:", file=sys.stderr)
        x_all = features(train_vec, train_texts, with_cues)
        model, c, val_auc, threshold = fit(
            x_all[fit_idx], train_y[fit_idx], x_all[val_idx], train_y[val_idx]
        )
        x_dev = features(dev_vec, dev_texts, with_cues)
        dev_metrics = evaluate(model, x_dev, dev_y, threshold)
        results[name] = {"C": c, "validation_roc_auc": round(val_auc, 4), "dev": dev_metrics}
        if with_cues:
            shipped = model
            shipped_threshold, shipped_c = threshold, c
            results["with_cues_and_support_priors"] = {
                "dev": evaluate(model, x_dev, dev_y, threshold, prior_logits(dev_texts))
            }

    train_valence = read_valence(folder, "train", label_names)
    dev_valence = read_valence(folder, "dev", label_names)
    valence, valence_metrics = fit_valence(
        train_vec[fit_idx], train_valence[fit_idx], dev_vec, dev_valence
    )
    results["valence"] = {"dev": valence_metrics}

    coef = shipped.coef_[0].astype(np.float32)
    metrics = {
        "dev": results["with_cues"]["dev"],
        "dev_embedding_only": results["embedding_only"]["dev"],
        "dev_with_support_priors": results["with_cues_and_support_priors"]["dev"],
        "validation_roc_auc": results["with_cues"]["validation_roc_auc"],
        "valence_dev": valence_metrics,
        "cue_weights": {
            n: round(float(w), 3) for n, w in zip(CUE_NAMES, coef[-len(CUE_NAMES) :], strict=True)
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        args.out,
        coef=coef,
        intercept=np.float32(shipped.intercept_[0]),
        threshold=np.float32(shipped_threshold),
        embedding_dim=np.int32(train_vec.shape[1]),
        cue_names=np.array(CUE_NAMES),
        embedder=np.array(EMBEDDER_NAME),
        source=np.array(
            "GoEmotions (Google Research, Reddit comments), monologg/GoEmotions-pytorch "
            "data/original train.tsv; Apache-2.0"
        ),
        positive_labels=np.array(",".join(POSITIVE)),
        trained_rows=np.int32(len(fit_idx)),
        seed=np.int32(SEED),
        regularisation_c=np.float32(shipped_c),
        metrics=np.array(json.dumps(metrics, sort_keys=True)),
        valence_coef=valence.coef_.astype(np.float32),
        valence_intercept=valence.intercept_.astype(np.float32),
        valence_classes=np.array(VALENCE_CLASSES),
    )
    print(json.dumps({"out": str(args.out), "bytes": args.out.stat().st_size, **results}, indent=2))


if __name__ == "__main__":
    main()
