"""Intent classification on frozen sentence embeddings, with a calibrated answer threshold.

The classifier is a multinomial logistic regression on the (L2-normalised) embedding, blended,
when cross-validation shows it helps, with a soft nearest-neighbour vote over the training rows
(its log-probabilities are added to the logits, so close paraphrases of a training example are
caught where the linear boundary is off), and scaled by a temperature fitted on cross-validated
predictions. Whether to *answer* is decided by a second, tiny logistic model: it maps four
cheap signals about a prediction (top probability, margin to the runner-up, the in-scope energy
of the regression logits and the cosine to the predicted intent's centroid) to the probability
that the answer is right. Out-of-scope messages look unlike every intent, which the energy and
centroid signals see and the softmax alone does not. The answer threshold is then chosen on the
same out-of-fold predictions with `calibration.choose_threshold`, so it comes from training
data only. Everything at prediction time is a few matrix products in numpy.
"""

from __future__ import annotations

import io
import json
import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np

from tandem.triage.calibration import (
    LogisticCalibrator,
    choose_threshold,
    expected_calibration_error,
    fit_temperature,
)

ProgressFn = Callable[[str, int, int], None]

ARTIFACT_FORMAT = "tandem.intent-model"
ARTIFACT_VERSION = 2
# Version 1 artifacts (no neighbour vote) still load and predict exactly as they were trained.
SUPPORTED_VERSIONS = (1, 2)
DEFAULT_EMBEDDER = "use-m3+minilm-l6-int8"
# Inverse L2 strength; picked on Banking77/CLINC150 validation splits (flat between 10 and 30).
DEFAULT_C = 20.0
CV_FOLDS = 5
# Out-of-scope examples are rare in training sets but common in live traffic; when setting the
# threshold they are re-weighted to stand for at least this share of messages.
DEFAULT_OOS_SHARE = 0.2
EMBED_CHUNK = 256
# Soft kNN vote blended into the logits: weight * log P_knn(class), where P_knn sums
# exp(cosine / temperature) over the nearest training rows. Set by 5-fold CV on a Banking77
# training split (scripts/experiment_intents.py): +0.4 points accuracy, +2.5 points automation
# there, but -0.5 points on CLINC150, so each training run keeps the vote only when its own
# out-of-fold accuracy improves by at least KNN_MIN_GAIN; otherwise no rows are stored.
KNN_NEIGHBOURS = 20
KNN_TEMPERATURE = 0.02
KNN_WEIGHT = 0.5
KNN_MIN_GAIN = 0.001
KNN_CHUNK = 512
_FEATURES = ("log_top_probability", "log_margin", "in_scope_energy", "centroid_cosine")


@dataclass(frozen=True)
class IntentPrediction:
    """One message's top intent, whether to escalate it, and the top-3 alternatives.

    ``confidence`` is the calibrated probability that ``intent`` is right; ``ranked`` holds the
    temperature-scaled class probabilities. ``is_out_of_scope`` is True when the policy would not
    answer: the top intent is the out-of-scope label or confidence is below the threshold.
    """

    intent: str
    confidence: float
    is_out_of_scope: bool
    ranked: list[tuple[str, float]]


class ArtifactError(ValueError):
    """Raised when a serialised intent model is malformed or of an unknown version."""


def _softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=1, keepdims=True)
    return z


def _fit_linear(
    x: np.ndarray, y: np.ndarray, n_classes: int, c: float
) -> tuple[np.ndarray, np.ndarray]:
    """Fit a class-balanced multinomial logistic regression; absent classes get -inf bias."""
    from sklearn.linear_model import LogisticRegression

    clf = LogisticRegression(C=c, max_iter=2000, class_weight="balanced")
    with warnings.catch_warnings():
        # A fold may lack a rare class or stop a little short of lbfgs' tolerance; both are fine.
        warnings.simplefilter("ignore")
        clf.fit(x, y)
    coef = np.zeros((n_classes, x.shape[1]), dtype=np.float32)
    intercept = np.full(n_classes, -1e4, dtype=np.float32)
    present = clf.classes_.astype(int)
    if len(present) == 2:  # sklearn returns one row for two classes: rewrite as +-w/2
        half = clf.coef_[0] / 2
        coef[present[0]], coef[present[1]] = -half, half
        intercept[present[0]], intercept[present[1]] = -clf.intercept_[0] / 2, clf.intercept_[0] / 2
    else:
        coef[present] = clf.coef_
        intercept[present] = clf.intercept_
    return coef, intercept


def _knn_log_probs(
    x: np.ndarray,
    neighbours: np.ndarray,
    neighbour_labels: np.ndarray,
    n_classes: int,
    k: int = KNN_NEIGHBOURS,
    temperature: float = KNN_TEMPERATURE,
) -> np.ndarray:
    """Return log P(class) from a softmax-weighted vote of each row's k nearest neighbours."""
    k = min(k, len(neighbours))
    out = np.empty((len(x), n_classes), dtype=np.float64)
    for start in range(0, len(x), KNN_CHUNK):
        sims = x[start : start + KNN_CHUNK] @ neighbours.T
        rows = np.arange(len(sims))[:, None]
        nearest = np.argpartition(-sims, k - 1, axis=1)[:, :k] if k < sims.shape[1] else None
        top = sims if nearest is None else sims[rows, nearest]
        labels = neighbour_labels[nearest] if nearest is not None else neighbour_labels
        weights = np.exp((top - top.max(axis=1, keepdims=True)) / temperature)
        votes = np.full((len(sims), n_classes), 1e-6)
        np.add.at(
            votes, (np.broadcast_to(rows, top.shape), np.broadcast_to(labels, top.shape)), weights
        )
        out[start : start + len(sims)] = np.log(votes / votes.sum(axis=1, keepdims=True))
    return out


def _neutral_for_out_of_scope(votes: np.ndarray, oos_index: int | None) -> np.ndarray:
    """Give the out-of-scope class the best in-scope vote, so the vote only re-ranks intents.

    A catch-all class has no neighbourhood of paraphrases: a fresh off-topic message's nearest
    training rows are mostly in-scope ones, and their vote would pull it into some intent
    (measured on CLINC150: -2 points accuracy, -2.5 points automation). Whether a message is in
    scope at all stays the regression's call.
    """
    if oos_index is None:
        return votes
    votes[:, oos_index] = np.delete(votes, oos_index, axis=1).max(axis=1)
    return votes


def _centroids(x: np.ndarray, y: np.ndarray, n_classes: int) -> np.ndarray:
    sums = np.zeros((n_classes, x.shape[1]), dtype=np.float64)
    np.add.at(sums, y, x)
    norms = np.linalg.norm(sums, axis=1, keepdims=True)
    return (sums / np.where(norms == 0, 1.0, norms)).astype(np.float32)


def _signals(
    logits: np.ndarray, probs: np.ndarray, sims: np.ndarray, oos_index: int | None
) -> tuple[np.ndarray, np.ndarray]:
    """Return (top class index, the four answer-correctness features) per row."""
    rows = np.arange(len(probs))
    order = np.argsort(-probs, axis=1)[:, :2]  # a model always has at least two classes
    top = order[:, 0]
    p1, p2 = probs[rows, top], probs[rows, order[:, 1]]
    in_scope = logits if oos_index is None else np.delete(logits, oos_index, axis=1)
    peak = in_scope.max(axis=1)
    energy = peak + np.log(np.exp(in_scope - peak[:, None]).sum(axis=1))
    features = np.column_stack(
        [np.log(p1 + 1e-12), np.log(p1 + 1e-12) - np.log(p2 + 1e-12), energy, sims[rows, top]]
    )
    return top, features.astype(np.float64)


class IntentModel:
    """A trained intent classifier plus the threshold above which it may answer on its own."""

    def __init__(
        self,
        *,
        classes: Sequence[str],
        coef: np.ndarray,
        intercept: np.ndarray,
        centroids: np.ndarray,
        temperature: float,
        calibrator: LogisticCalibrator | None,
        threshold: float,
        embedder_name: str,
        oos_label: str | None,
        precision_target: float,
        info: dict[str, Any] | None = None,
        neighbours: np.ndarray | None = None,
        neighbour_labels: np.ndarray | None = None,
        knn_weight: float = KNN_WEIGHT,
    ) -> None:
        self.classes = list(classes)
        self.coef = np.ascontiguousarray(coef, dtype=np.float32)
        self.intercept = np.asarray(intercept, dtype=np.float32)
        self.centroids = np.ascontiguousarray(centroids, dtype=np.float32)
        self.temperature = float(temperature)
        self.calibrator = calibrator
        self.threshold = float(threshold)
        self.embedder_name = embedder_name
        self.oos_label = oos_label
        self.precision_target = float(precision_target)
        self.info: dict[str, Any] = dict(info or {})
        self._oos_index = self.classes.index(oos_label) if oos_label in self.classes else None
        # Without stored training rows (version 1 artifacts, or the vote did not help in
        # cross-validation) the model is the plain regression.
        self.neighbours = (
            None if neighbours is None else np.ascontiguousarray(neighbours, dtype=np.float32)
        )
        self.neighbour_labels = (
            None if neighbour_labels is None else np.asarray(neighbour_labels, dtype=np.int64)
        )
        self.knn_weight = float(knn_weight) if self.neighbours is not None else 0.0
        # One matrix product gives both the logits and the centroid cosines.
        self._stacked = np.vstack([self.coef, self.centroids]).T.copy()

    # ------------------------------------------------------------------ training
    @classmethod
    def train(
        cls,
        texts: Sequence[str],
        labels: Sequence[str],
        *,
        embedder_name: str = DEFAULT_EMBEDDER,
        oos_label: str | None = None,
        precision_target: float = 0.95,
        progress: ProgressFn | None = None,
    ) -> IntentModel:
        """Embed the texts, then train as in `train_embeddings`."""
        if len(texts) != len(labels):
            raise ValueError(f"{len(texts)} texts but {len(labels)} labels")
        return cls.train_embeddings(
            embed_texts(embedder_name, texts, progress),
            labels,
            embedder_name=embedder_name,
            oos_label=oos_label,
            precision_target=precision_target,
            progress=progress,
        )

    @classmethod
    def train_embeddings(
        cls,
        matrix: np.ndarray,
        labels: Sequence[str],
        *,
        embedder_name: str = DEFAULT_EMBEDDER,
        oos_label: str | None = None,
        precision_target: float = 0.95,
        progress: ProgressFn | None = None,
        c: float = DEFAULT_C,
        oos_share: float = DEFAULT_OOS_SHARE,
    ) -> IntentModel:
        """Cross-validate to calibrate confidence and pick the threshold, then refit on all rows."""
        x = np.ascontiguousarray(matrix, dtype=np.float32)
        classes, y = np.unique(np.asarray(labels, dtype=str), return_inverse=True)
        if x.ndim != 2 or len(x) != len(y):
            raise ValueError("matrix must have one row per label")
        counts = np.bincount(y, minlength=len(classes))
        if len(classes) < 2:
            raise ValueError("need at least two distinct labels to train an intent model")
        if counts.min() < 2:
            rare = ", ".join(sorted(str(classes[i]) for i in np.flatnonzero(counts < 2))[:5])
            raise ValueError(f"every intent needs at least 2 examples (too few: {rare})")
        oos_index = int(np.flatnonzero(classes == oos_label)[0]) if oos_label in classes else None
        report = progress or (lambda _stage, _done, _total: None)

        logits, votes, sims = _out_of_fold(x, y, len(classes), c, oos_index, report)
        plain_accuracy = float(np.mean(logits.argmax(axis=1) == y))
        blended = logits + KNN_WEIGHT * votes
        knn_weight = (
            KNN_WEIGHT
            if float(np.mean(blended.argmax(axis=1) == y)) >= plain_accuracy + KNN_MIN_GAIN
            else 0.0
        )
        scores = blended if knn_weight else logits
        temperature = fit_temperature(scores, y)
        top, features = _signals(logits, _softmax(scores / temperature), sims, oos_index)
        answerable = np.ones(len(y), dtype=bool) if oos_index is None else top != oos_index
        correct = (top == y) & answerable
        weights = _traffic_weights(y, oos_index, oos_share)
        calibrator = LogisticCalibrator.fit(
            features[answerable], correct[answerable], weights[answerable]
        )
        confidence = _confidence(features, calibrator)
        choice = choose_threshold(
            confidence, correct, precision_target, answerable=answerable, weights=weights
        )
        report("fit", 0, 1)
        coef, intercept = _fit_linear(x, y, len(classes), c)
        report("fit", 1, 1)
        info = {
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "n_train": len(y),
            "n_out_of_scope_train": int(counts[oos_index]) if oos_index is not None else 0,
            "c": c,
            "knn": {"k": KNN_NEIGHBOURS, "temperature": KNN_TEMPERATURE, "weight": knn_weight},
            "cv_accuracy_without_knn": plain_accuracy,
            "oos_share": oos_share if oos_index is not None else None,
            "cv": {
                "accuracy": float(np.mean(top == y)),
                "threshold": choice.to_dict(),
                "expected_calibration_error": expected_calibration_error(
                    confidence[answerable], correct[answerable]
                ),
            },
        }
        return cls(
            classes=[str(s) for s in classes],
            coef=coef,
            intercept=intercept,
            centroids=_centroids(x, y, len(classes)),
            temperature=temperature,
            calibrator=calibrator,
            threshold=choice.threshold,
            embedder_name=embedder_name,
            oos_label=oos_label,
            precision_target=precision_target,
            info=info,
            # Rounded as the artifact stores them, so a reloaded model predicts identically.
            neighbours=x.astype(np.float16).astype(np.float32) if knn_weight else None,
            neighbour_labels=y if knn_weight else None,
            knn_weight=knn_weight,
        )

    # ---------------------------------------------------------------- prediction
    def predict(self, texts: Sequence[str]) -> list[IntentPrediction]:
        """Embed the texts with the model's embedder and predict their intents."""
        from tandem.triage.embedders import get_embedder

        if not texts:
            return []
        return self.predict_embeddings(get_embedder(self.embedder_name).encode(list(texts)))

    def predict_embeddings(self, matrix: np.ndarray) -> list[IntentPrediction]:
        """Predict from already-computed embeddings (rows as produced by the model's embedder)."""
        x = np.asarray(matrix, dtype=np.float32)
        if x.ndim == 1:
            x = x[None, :]
        if x.shape[1] != self.coef.shape[1]:
            raise ValueError(
                f"embeddings have {x.shape[1]} dims; model {self.embedder_name!r} expects "
                f"{self.coef.shape[1]}"
            )
        both = x @ self._stacked
        n = len(self.classes)
        logits, sims = both[:, :n] + self.intercept, both[:, n:]
        scores = self._blend(x, logits)
        probs = _softmax(scores / self.temperature)
        top, features = _signals(logits, probs, sims, self._oos_index)
        confidence = _confidence(features, self.calibrator)
        best = np.argsort(-probs, axis=1)[:, :3]
        out = []
        for i, k in enumerate(top):
            is_oos_class = k == self._oos_index
            # An out-of-scope top class is reported with its own probability, not answer odds.
            conf = float(probs[i, k]) if is_oos_class else float(confidence[i])
            out.append(
                IntentPrediction(
                    intent=self.classes[k],
                    confidence=conf,
                    is_out_of_scope=bool(is_oos_class or conf < self.threshold),
                    ranked=[(self.classes[j], float(probs[i, j])) for j in best[i]],
                )
            )
        return out

    def _blend(self, x: np.ndarray, logits: np.ndarray) -> np.ndarray:
        if self.neighbours is None or self.neighbour_labels is None or self.knn_weight == 0:
            return logits
        votes = _knn_log_probs(x, self.neighbours, self.neighbour_labels, len(self.classes))
        votes = _neutral_for_out_of_scope(votes, self._oos_index)
        return logits + self.knn_weight * votes

    # ------------------------------------------------------------- persistence
    def to_bytes(self) -> bytes:
        """Serialise to a versioned .npz: numeric arrays plus JSON metadata, no pickle."""
        meta = {
            "format": ARTIFACT_FORMAT,
            "version": ARTIFACT_VERSION,
            "classes": self.classes,
            "embedder": self.embedder_name,
            "oos_label": self.oos_label,
            "threshold": self.threshold if math.isfinite(self.threshold) else None,
            "precision_target": self.precision_target,
            "temperature": self.temperature,
            "calibrator_features": list(_FEATURES) if self.calibrator else None,
            "calibrator_intercept": self.calibrator.intercept if self.calibrator else None,
            "knn_weight": self.knn_weight,
            "info": self.info,
        }
        arrays = {"coef": self.coef, "intercept": self.intercept, "centroids": self.centroids}
        if self.neighbours is not None and self.neighbour_labels is not None:
            # Half precision halves the artifact; cosines move by ~1e-3, votes not at all.
            arrays["neighbours"] = self.neighbours.astype(np.float16)
            arrays["neighbour_labels"] = self.neighbour_labels.astype(np.int32)
        if self.calibrator is not None:
            arrays["calibrator_mean"] = self.calibrator.mean
            arrays["calibrator_scale"] = self.calibrator.scale
            arrays["calibrator_coef"] = self.calibrator.coef
        arrays["meta_json"] = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
        buffer = io.BytesIO()
        np.savez_compressed(buffer, **arrays)  # type: ignore[arg-type]
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> IntentModel:
        """Load a model written by `to_bytes`; object arrays are refused, so no code runs."""
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as npz:
                arrays = {name: npz[name] for name in npz.files}
            meta = json.loads(arrays.pop("meta_json").tobytes().decode("utf-8"))
        except Exception as exc:
            raise ArtifactError(f"not a readable intent model artifact: {exc}") from exc
        if not isinstance(meta, dict) or meta.get("format") != ARTIFACT_FORMAT:
            raise ArtifactError("not an intent model artifact")
        version = meta.get("version")
        if version not in SUPPORTED_VERSIONS:
            raise ArtifactError(
                f"intent model artifact version {version} is not supported "
                f"(this Tandem reads versions {', '.join(map(str, SUPPORTED_VERSIONS))}); "
                "retrain the intent model"
            )
        try:
            calibrator = None
            if meta["calibrator_intercept"] is not None:
                calibrator = LogisticCalibrator(
                    mean=arrays["calibrator_mean"],
                    scale=arrays["calibrator_scale"],
                    coef=arrays["calibrator_coef"],
                    intercept=float(meta["calibrator_intercept"]),
                )
            threshold = meta["threshold"]
            neighbours = neighbour_labels = None
            # A version 2 model stores training rows only when its neighbour vote is on.
            if version >= 2 and float(meta["knn_weight"]) > 0:
                neighbours, neighbour_labels = arrays["neighbours"], arrays["neighbour_labels"]
                known = (neighbour_labels >= 0) & (neighbour_labels < len(meta["classes"]))
                if len(neighbours) != len(neighbour_labels) or not known.all():
                    raise ValueError("neighbour rows and labels do not match the classes")
            return cls(
                classes=[str(c) for c in meta["classes"]],
                coef=arrays["coef"],
                intercept=arrays["intercept"],
                centroids=arrays["centroids"],
                temperature=meta["temperature"],
                calibrator=calibrator,
                threshold=math.inf if threshold is None else threshold,
                embedder_name=meta["embedder"],
                oos_label=meta["oos_label"],
                precision_target=meta["precision_target"],
                info=meta.get("info", {}),
                neighbours=neighbours,
                neighbour_labels=neighbour_labels,
                knn_weight=float(meta.get("knn_weight", 0.0)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ArtifactError(f"intent model artifact is incomplete: {exc}") from exc

    def describe(self) -> dict[str, Any]:
        """Return a JSON-able summary of the model and its cross-validated figures."""
        cv = self.info.get("cv", {})
        chosen = cv.get("threshold", {})
        knn = self.info.get("knn") if self.neighbours is not None else None
        return {
            "artifact_version": ARTIFACT_VERSION,
            "classifier": (
                f"logistic-regression(C={self.info.get('c', DEFAULT_C)}, balanced)"
                + (
                    f" + {self.knn_weight:g} x knn(k={knn['k']}, T={knn['temperature']})"
                    if knn
                    else ""
                )
                + " + temperature + answer-correctness calibrator"
            ),
            "embedder": self.embedder_name,
            "n_classes": len(self.classes),
            "oos_label": self.oos_label,
            "threshold": self.threshold if math.isfinite(self.threshold) else None,
            "precision_target": self.precision_target,
            "temperature": round(self.temperature, 4),
            "n_train": self.info.get("n_train"),
            "created_at": self.info.get("created_at"),
            "cv_accuracy": cv.get("accuracy"),
            "cv_precision": chosen.get("precision"),
            "cv_precision_lower_bound": chosen.get("precision_lower_bound"),
            "cv_automation_rate": chosen.get("coverage"),
            "cv_expected_calibration_error": cv.get("expected_calibration_error"),
        }


def _out_of_fold(
    x: np.ndarray,
    y: np.ndarray,
    n_classes: int,
    c: float,
    oos_index: int | None,
    report: ProgressFn,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return held-out regression logits, neighbour votes and centroid cosines.

    That is what the model says about messages it has not seen.
    """
    from sklearn.model_selection import StratifiedKFold

    folds = int(min(CV_FOLDS, np.bincount(y).max()))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "least populated class has fewer members than folds"
        splits = list(StratifiedKFold(n_splits=folds, shuffle=True, random_state=0).split(x, y))
    logits = np.zeros((len(y), n_classes), dtype=np.float64)
    sims = np.zeros_like(logits)
    votes = np.zeros_like(logits)
    report("cross-validate", 0, folds)
    for k, (fit_rows, held_rows) in enumerate(splits, start=1):
        coef, intercept = _fit_linear(x[fit_rows], y[fit_rows], n_classes, c)
        logits[held_rows] = x[held_rows] @ coef.T + intercept
        votes[held_rows] = _neutral_for_out_of_scope(
            _knn_log_probs(x[held_rows], x[fit_rows], y[fit_rows], n_classes), oos_index
        )
        sims[held_rows] = x[held_rows] @ _centroids(x[fit_rows], y[fit_rows], n_classes).T
        report("cross-validate", k, folds)
    return logits, votes, sims


def _traffic_weights(y: np.ndarray, oos_index: int | None, oos_share: float) -> np.ndarray:
    """Weight rows so out-of-scope ones make up at least `oos_share` of the total."""
    weights = np.ones(len(y))
    if oos_index is None:
        return weights
    is_oos = y == oos_index
    share = max(float(is_oos.mean()), oos_share)
    weights[is_oos] = share / is_oos.mean()
    weights[~is_oos] = (1 - share) / (~is_oos).mean()
    return weights


def _confidence(features: np.ndarray, calibrator: LogisticCalibrator | None) -> np.ndarray:
    # Without a calibrator (every held-out answer was right, or every one wrong) fall back
    # to the temperature-scaled top probability.
    return np.minimum(np.exp(features[:, 0]), 1.0) if calibrator is None else calibrator(features)


def embed_texts(
    embedder_name: str, texts: Sequence[str], progress: ProgressFn | None = None
) -> np.ndarray:
    """Embed many texts in chunks, reporting progress as ("embed", done, total)."""
    from tandem.triage.embedders import get_embedder

    embedder = get_embedder(embedder_name)
    total = len(texts)
    out = np.zeros((total, embedder.dim), dtype=np.float32)
    # Similar lengths batch together, so the transformer pads far less.
    order = sorted(range(total), key=lambda i: len(texts[i]))
    if progress:
        progress("embed", 0, total)
    for start in range(0, total, EMBED_CHUNK):
        rows = order[start : start + EMBED_CHUNK]
        out[rows] = embedder.encode([texts[i] for i in rows])
        if progress:
            progress("embed", min(start + EMBED_CHUNK, total), total)
    return out
