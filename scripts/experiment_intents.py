"""Compare intent-classifier variants on cached embeddings; prints JSON.

Protocol: embeddings of the training and validation CSVs are computed once per embedder part
(USE-m3 and MiniLM-L6 int8, each L2-normalised) and cached as .npz under --cache. Every variant
is scored by 5-fold cross-validation on the TRAINING split only: accuracy, macro-F1, and the
automation (coverage) at the precision target with the threshold chosen exactly the way
`IntentModel.train_embeddings` chooses it (temperature, answer-correctness calibrator and
`choose_threshold` on the out-of-fold predictions). Only the variants named with --confirm are
then refitted on the whole training split and scored once on the validation split, with the
temperature/calibrator/threshold taken from the training CV (as the product does).

    .venv/bin/python scripts/experiment_intents.py \
        --train /tmp/evalsplits/b77_train.csv --test /tmp/evalsplits/b77_val.csv \
        --label-column category --confirm baseline --confirm <winner>

Data stays outside the repository; the cache lives in /tmp by default.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from tandem.triage.calibration import LogisticCalibrator, choose_threshold, fit_temperature
from tandem.triage.embedders import normalise
from tandem.triage.evaluation import load_labeled_rows
from tandem.triage.intent import _centroids, _confidence, _signals, _softmax, embed_texts

Data = dict[str, Any]  # "use", "minilm" (float32 rows), "texts" (list[str])
FitFn = Callable[..., np.ndarray]  # -> scores (n_test, n_classes)


def load(paths: list[str], label_column: str, cache: Path, tag: str) -> tuple[Data, list[str]]:
    file = cache / f"{tag}.npz"
    if file.exists():
        d = np.load(file)
        data = {"use": d["use"], "minilm": d["minilm"], "texts": [str(t) for t in d["texts"]]}
        return data, [str(s) for s in d["labels"]]
    texts: list[str] = []
    labels: list[str] = []
    for path in paths:
        t, lab = load_labeled_rows(path, label_column=label_column)
        texts += t
        labels += lab
    use, mini = embed_texts("use-m3", texts), embed_texts("minilm-l6-int8", texts)
    cache.mkdir(parents=True, exist_ok=True)
    np.savez(file, use=use, minilm=mini, labels=np.array(labels), texts=np.array(texts))
    return {"use": use, "minilm": mini, "texts": texts}, labels


def subset(data: Data, rows: np.ndarray) -> Data:
    return {
        "use": data["use"][rows],
        "minilm": data["minilm"][rows],
        "texts": [data["texts"][i] for i in rows],
    }


def concat(data: Data, use_weight: float = 1.0) -> np.ndarray:
    """The product's embedding is normalise([use, minilm]); use_weight rescales the USE block."""
    return normalise(np.hstack([use_weight * data["use"], data["minilm"]]))


def lr_scores(
    x_fit: np.ndarray,
    y: np.ndarray,
    x_test: np.ndarray,
    n_classes: int,
    c: float = 20.0,
    class_weight: str | None = "balanced",
) -> np.ndarray:
    """Log-probabilities of a multinomial LR (absent classes get a very low score)."""
    from sklearn.linear_model import LogisticRegression

    clf = LogisticRegression(C=c, max_iter=3000, class_weight=class_weight)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(x_fit, y)
    out = np.full((x_test.shape[0], n_classes), -1e4)
    out[:, clf.classes_] = clf.predict_log_proba(x_test)
    return out


def lr_logits(x_fit, y, x_test, n_classes, c=20.0, class_weight="balanced"):  # type: ignore[no-untyped-def]
    """Raw logits (what intent.py uses) rather than log-probabilities."""
    from sklearn.linear_model import LogisticRegression

    clf = LogisticRegression(C=c, max_iter=3000, class_weight=class_weight)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(x_fit, y)
    out = np.full((len(x_test), n_classes), -1e4)
    out[:, clf.classes_] = clf.decision_function(x_test)
    return out


def tfidf_scores(
    fit: Data, y: np.ndarray, test: Data, n_classes: int, c: float = 10.0, kind: str = "char"
) -> np.ndarray:
    from sklearn.feature_extraction.text import TfidfVectorizer

    if kind == "char":
        vec = TfidfVectorizer(
            analyzer="char_wb", ngram_range=(2, 5), min_df=2, sublinear_tf=True, lowercase=True
        )
    else:
        vec = TfidfVectorizer(ngram_range=(1, 2), min_df=1, sublinear_tf=True, lowercase=True)
    a = vec.fit_transform(fit["texts"])
    b = vec.transform(test["texts"])
    return lr_scores(a, y, b, n_classes, c=c)


def knn_scores(
    x_fit: np.ndarray,
    y: np.ndarray,
    x_test: np.ndarray,
    n_classes: int,
    k: int = 10,
    tau: float = 0.05,
) -> np.ndarray:
    """Soft kNN: per class, log of summed exp(cos/tau) over the k nearest training rows."""
    sims = x_test @ x_fit.T
    idx = np.argpartition(-sims, k, axis=1)[:, :k]
    top = np.take_along_axis(sims, idx, axis=1)
    w = np.exp((top - top.max(axis=1, keepdims=True)) / tau)
    votes = np.full((len(x_test), n_classes), 1e-6)
    np.add.at(votes, (np.repeat(np.arange(len(x_test)), k), y[idx].ravel()), w.ravel())
    votes /= votes.sum(axis=1, keepdims=True)
    return np.log(votes)


def log_softmax(s: np.ndarray) -> np.ndarray:
    z = s - s.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def blend(parts: list[tuple[float, np.ndarray]]) -> np.ndarray:
    return sum(w * log_softmax(s) for w, s in parts)  # type: ignore[return-value]


def variants() -> dict[str, FitFn]:
    v: dict[str, FitFn] = {}
    v["baseline"] = lambda f, y, t, k: lr_logits(concat(f), y, concat(t), k)
    for c in (5.0, 10.0, 50.0, 100.0):
        v[f"C={c:g}"] = lambda f, y, t, k, c=c: lr_logits(concat(f), y, concat(t), k, c=c)
    v["unbalanced"] = lambda f, y, t, k: lr_logits(concat(f), y, concat(t), k, class_weight=None)
    for w in (0.7, 1.4, 2.0):
        v[f"use_weight={w:g}"] = lambda f, y, t, k, w=w: lr_logits(concat(f, w), y, concat(t, w), k)

    def standardised(f: Data, y: np.ndarray, t: Data, k: int, c: float = 1.0) -> np.ndarray:
        a, b = concat(f), concat(t)
        mu, sd = a.mean(axis=0), a.std(axis=0) + 1e-6
        return lr_logits((a - mu) / sd, y, (b - mu) / sd, k, c=c)

    v["standardised C=1"] = standardised
    v["standardised C=0.1"] = lambda f, y, t, k: standardised(f, y, t, k, c=0.1)
    v["per-embedder LR avg"] = lambda f, y, t, k: blend(
        [
            (0.5, lr_scores(f["use"], y, t["use"], k)),
            (0.5, lr_scores(f["minilm"], y, t["minilm"], k)),
        ]
    )
    v["baseline + per-embedder LRs"] = lambda f, y, t, k: blend(
        [
            (1.0, lr_scores(concat(f), y, concat(t), k)),
            (0.5, lr_scores(f["use"], y, t["use"], k)),
            (0.5, lr_scores(f["minilm"], y, t["minilm"], k)),
        ]
    )
    v["baseline + char-tfidf 0.5"] = lambda f, y, t, k: blend(
        [(1.0, lr_scores(concat(f), y, concat(t), k)), (0.5, tfidf_scores(f, y, t, k))]
    )
    v["baseline + char-tfidf 1.0"] = lambda f, y, t, k: blend(
        [(1.0, lr_scores(concat(f), y, concat(t), k)), (1.0, tfidf_scores(f, y, t, k))]
    )
    v["baseline + word-tfidf 0.5"] = lambda f, y, t, k: blend(
        [(1.0, lr_scores(concat(f), y, concat(t), k)), (0.5, tfidf_scores(f, y, t, k, kind="word"))]
    )
    v["baseline + knn 0.3"] = lambda f, y, t, k: blend(
        [
            (1.0, lr_scores(concat(f), y, concat(t), k)),
            (0.3, knn_scores(concat(f), y, concat(t), k)),
        ]
    )

    def mlp(f: Data, y: np.ndarray, t: Data, k: int) -> np.ndarray:
        from sklearn.neural_network import MLPClassifier

        clf = MLPClassifier(
            hidden_layer_sizes=(512,), alpha=1e-3, early_stopping=False, max_iter=60, random_state=0
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            clf.fit(concat(f), y)
        out = np.full((len(t["texts"]), k), -1e4)
        out[:, clf.classes_] = np.log(np.clip(clf.predict_proba(concat(t)), 1e-12, 1))
        return out

    v["mlp(512)"] = mlp

    def svc(f: Data, y: np.ndarray, t: Data, k: int) -> np.ndarray:
        from sklearn.svm import LinearSVC

        clf = LinearSVC(C=1.0, class_weight="balanced", max_iter=5000)
        clf.fit(concat(f), y)
        out = np.full((len(t["texts"]), k), -1e4)
        out[:, clf.classes_] = clf.decision_function(concat(t))
        return out  # temperature scaling turns the margins into probabilities

    v["linear-svc C=1"] = svc

    def knn_pca(f: Data, y: np.ndarray, t: Data, k: int, dims: int) -> np.ndarray:
        """LR + 0.5 kNN(k=20, tau=0.02) where the kNN runs on a PCA projection (for latency)."""
        a, b = concat(f), concat(t)
        mean = a.mean(axis=0)
        basis = np.linalg.svd(a - mean, full_matrices=False)[2][:dims].T
        pa, pb = normalise((a - mean) @ basis), normalise((b - mean) @ basis)
        return blend([(1.0, lr_scores(a, y, b, k)), (0.5, knn_scores(pa, y, pb, k, 20, 0.02))])

    for dims in (64, 128, 256):
        v[f"lr + 0.5 knn(k=20,tau=0.02) on pca{dims}"] = lambda f, y, t, k, d=dims: knn_pca(
            f, y, t, k, d
        )
    # Blends over the same components; components are computed once per fold (see `components`).
    for spec in BLENDS:
        v[spec] = lambda f, y, t, k, spec=spec: blend_spec(spec, components(f, y, t, k))
    return v


BLENDS = [
    "lr + 0.3 knn(k=10,tau=0.05)",
    "lr + 0.5 knn(k=10,tau=0.05)",
    "lr + 1.0 knn(k=10,tau=0.05)",
    "lr + 0.3 knn(k=20,tau=0.05)",
    "lr + 0.3 knn(k=10,tau=0.02)",
    "lr + 0.5 knn(k=20,tau=0.02)",
    "lr + 0.3 knn(k=10,tau=0.05) + 0.5 word",
    "lr + 0.3 knn(k=10,tau=0.05) + 0.3 word + 0.3 char",
    "lr + 0.5 word + 0.3 char",
]
_component_cache: dict[tuple[int, int], dict[str, np.ndarray]] = {}


def components(f: Data, y: np.ndarray, t: Data, k: int) -> dict[str, np.ndarray]:
    key = (id(f["use"]), id(t["use"]))
    if key not in _component_cache:
        a, b = concat(f), concat(t)
        comp = {"lr": lr_scores(a, y, b, k), "word": tfidf_scores(f, y, t, k, kind="word")}
        comp["char"] = tfidf_scores(f, y, t, k)
        for kk in (10, 20):
            for tau in (0.05, 0.02):
                comp[f"knn(k={kk},tau={tau:g})"] = knn_scores(a, y, b, k, kk, tau)
        _component_cache[key] = comp
    return _component_cache[key]


def blend_spec(spec: str, comp: dict[str, np.ndarray]) -> np.ndarray:
    parts = []
    for term in spec.split(" + "):
        weight, _, name = term.rpartition(" ")
        parts.append((float(weight) if weight else 1.0, comp[name]))
    return blend(parts)


def summarise(
    scores: np.ndarray, sims: np.ndarray, y: np.ndarray, target: float
) -> tuple[dict[str, float], tuple[float, LogisticCalibrator | None, float]]:
    """Out-of-fold figures plus the (temperature, calibrator, threshold) intent.py would keep."""
    from sklearn.metrics import f1_score

    temperature = fit_temperature(scores, y)
    top, features = _signals(scores, _softmax(scores / temperature), sims, None)
    correct = top == y
    calibrator = LogisticCalibrator.fit(features, correct)
    choice = choose_threshold(_confidence(features, calibrator), correct, target)
    figures = {
        "accuracy": float(correct.mean()),
        "macro_f1": float(f1_score(y, top, average="macro")),
        "automation": choice.coverage,
        "answered_precision": choice.precision,
        "threshold": choice.threshold,
    }
    return figures, (temperature, calibrator, choice.threshold)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", action="append", required=True)
    parser.add_argument("--test", action="append", required=True)
    parser.add_argument("--label-column", default="label")
    parser.add_argument("--precision-target", type=float, default=0.97)
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "intent_exp")
    parser.add_argument("--tag", default="b77")
    parser.add_argument("--only", action="append", help="run just these variants")
    parser.add_argument("--blends", action="store_true", help="run just the BLENDS variants")
    parser.add_argument("--confirm", action="append", default=[], help="also score on --test")
    args = parser.parse_args()

    train, train_labels = load(args.train, args.label_column, args.cache, f"{args.tag}_train")
    test, test_labels = load(args.test, args.label_column, args.cache, f"{args.tag}_test")
    classes, y = np.unique(np.asarray(train_labels), return_inverse=True)
    y_test = np.searchsorted(classes, np.asarray(test_labels))
    k = len(classes)
    from sklearn.model_selection import StratifiedKFold

    splits = list(StratifiedKFold(5, shuffle=True, random_state=0).split(y, y))
    table = []
    chosen = variants()
    names = BLENDS if args.blends else (args.only or list(chosen))
    folds = [(subset(train, a), subset(train, b)) for a, b in splits]
    for name in [*names, *[c for c in args.confirm if c not in names]]:
        fit = chosen[name]
        started = time.perf_counter()
        scores = np.zeros((len(y), k))
        sims = np.zeros((len(y), k))
        for (fit_rows, held), (part, rest) in zip(splits, folds, strict=True):
            scores[held] = fit(part, y[fit_rows], rest, k)
            sims[held] = concat(rest) @ _centroids(concat(part), y[fit_rows], k).T
        cv, (temperature, calibrator, threshold) = summarise(scores, sims, y, args.precision_target)
        row: dict[str, Any] = {
            "variant": name,
            "cv": cv,
            "cv_seconds": round(time.perf_counter() - started, 1),
        }
        if name in args.confirm:
            s = fit(train, y, test, k)
            sim = concat(test) @ _centroids(concat(train), y, k).T
            top, features = _signals(s, _softmax(s / temperature), sim, None)
            answered = _confidence(features, calibrator) >= threshold
            right = top == y_test
            row["val"] = {
                "accuracy": float(right.mean()),
                "automation": float(answered.mean()),
                "answered_precision": float(right[answered].mean()),
            }
        table.append(row)
        print(json.dumps(row), flush=True)
    print(json.dumps({"results": table}, indent=1))


if __name__ == "__main__":
    main()
