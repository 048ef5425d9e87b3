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

Needs no intent covers ("unseen needs") are calibrated for without any out-of-scope training data
(artifact version 3): the built-in background of general out-of-domain messages
(`triage.background`, decontaminated against the workspace's examples) is an extra class the
regression learns, and *leave-intents-out* cross-validation holds whole groups of intents out of
training, so their messages show what a need the model has never seen looks like (they are always
wrong answers). Two more signals feed the answer-correctness model: the cosine to the nearest
training example and the probability mass on the out-of-scope classes. The threshold is chosen
on in-scope, leave-intents-out, background (and any labelled out-of-scope) rows weighted so unseen
needs are `unseen_share` of traffic, and both figures are reported: expected precision on in-scope
messages and expected escalation of unseen needs.
"""

from __future__ import annotations

import io
import json
import math
import warnings
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from tandem.triage.calibration import (
    LogisticCalibrator,
    ThresholdChoice,
    choose_threshold,
    escalation_threshold,
    expected_calibration_error,
    fit_temperature,
)
from tandem.triage.embedders import nearest_cosine

ProgressFn = Callable[[str, int, int], None]

ARTIFACT_FORMAT = "tandem.intent-model"
ARTIFACT_VERSION = 3
# Version 1 artifacts (no neighbour vote) and version 2 (no unseen-need signals) still load and
# predict exactly as they were trained.
SUPPORTED_VERSIONS = (1, 2, 3)
# The background's class: never shown, never answered.
BACKGROUND_LABEL = "__background__"
# The store background's class (`triage.background`): what customers ask shops beyond the routine
# FAQ topics. Never answered, never shown, and not off-topic: a person answers those.
STORE_BACKGROUND_LABEL = "__store_background__"
# The store background covers many topics (discounts, engraving, careers...): one linear class
# cannot hold them all, so it trains as up to this many classes, one per k-means cluster, each
# labelled STORE_BACKGROUND_LABEL + its number. On the demo store's dev questions, store-adjacent
# ones answered from an FAQ: 11 of 173 as one class, 5 with 16 clusters, 7 with 32.
STORE_BACKGROUND_CLUSTERS = 16
# The class of real needs whose intents have too few examples to learn yet (a desk that learns
# from resolutions has many): out of scope, yet not off-topic, so they go to a person. (No
# intent code starts with "_", so this never meets a real intent.)
NOT_YET_LEARNED = "_not_yet_learned"
# Unseen needs (held-out intents, background, labelled out-of-scope rows) are weighted to stand
# for this share of traffic when the threshold is chosen.
DEFAULT_UNSEEN_SHARE = 0.2
# The threshold also escalates at least this share of unseen needs (as estimated on held-out
# intents, background and labelled out-of-scope rows): precision over all answers alone would
# let a model answer many unseen needs as long as its in-scope answers are very good.
DEFAULT_UNSEEN_ESCALATION = 0.9
# Whole intents are held out in this many groups for leave-intents-out cross-validation.
INTENT_GROUPS = 5
# The background is subsampled to at most this many times the training rows (small workspaces
# train fast; large ones use all of it).
BACKGROUND_PER_ROW = 2.0
BACKGROUND_MIN_ROWS = 300
# Nearest-example cosines are taken against at most this many stored rows per intent.
REFERENCE_ROWS_PER_CLASS = 64
DEFAULT_EMBEDDER = "use-m3+minilm-l6-int8"
# Inverse L2 strength; picked on Banking77/CLINC150 validation splits (flat between 10 and 30).
DEFAULT_C = 20.0
CV_FOLDS = 5
# A fold model misses 1/folds of each intent's examples, so with few examples per intent it is
# weaker than the final model and the threshold comes out too cautious. Small training sets (up
# to SMALL_SET_ROWS of the workspace's own rows) therefore use more folds: twice the fold fits,
# training 3,000 Banking77 rows took 127 s instead of 103 s. Measured on the demo store's dev
# questions (its earlier 900 examples): 5 -> 10 folds raised paraphrases answered right from
# 0.77 to 0.82, wrong answers 0.000 -> 0.004.
SMALL_SET_ROWS = 4000
SMALL_SET_FOLDS = 10
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
# Training runs its cross-validation fits this many at a time, each on one BLAS thread. Measured
# on 2 cores with Banking77-sized folds: OpenBLAS's own two threads made an lbfgs fit 2.5x slower
# than one thread (they compete with sklearn's OpenMP loss for the cores), and two one-thread
# fits side by side were 1.6x faster again. The fitted weights agree to ~1e-4.
FIT_WORKERS = 2
# Where the rows standing for unseen needs come from; each is an equal part of unseen traffic.
UNSEEN_KINDS = ("held_out_intent", "background", "out_of_scope")
_FEATURES = ("log_top_probability", "log_margin", "in_scope_energy", "centroid_cosine")
_FEATURES_V3 = (*_FEATURES, "nearest_example_cosine", "log_out_of_scope_probability")


@dataclass(frozen=True)
class IntentPrediction:
    """One message's top intent, whether to escalate it, and the top-3 alternatives.

    ``confidence`` is the calibrated probability that ``intent`` is right; ``ranked`` holds the
    temperature-scaled class probabilities. ``is_out_of_scope`` is True when the policy would not
    answer: the top intent is the out-of-scope label or confidence is below the threshold.
    ``off_topic`` is True when the message looks like none of the intents at all (the top class
    is the built-in background or the out-of-scope label); ``intent`` is then the nearest intent.
    ``untaught`` is True when it is a store question none of the intents covers (the store
    background's class won): out of scope, yet for a person rather than a scope reply.
    """

    intent: str
    confidence: float
    is_out_of_scope: bool
    ranked: list[tuple[str, float]]
    off_topic: bool = False
    untaught: bool = False


def is_reserved(name: str) -> bool:
    """Return whether a class is one of the built-in backgrounds' (never an intent)."""
    return name == BACKGROUND_LABEL or is_store_background(name)


def is_store_background(name: str) -> bool:
    """Return whether a class is (a cluster of) the store background's."""
    return name.startswith(STORE_BACKGROUND_LABEL)


class ArtifactError(ValueError):
    """Raised when a serialised intent model is malformed or of an unknown version."""


def _softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=1, keepdims=True)
    return z


@contextmanager
def _one_blas_thread() -> Iterator[None]:
    """Run a training's matrix work on one BLAS thread (see FIT_WORKERS); restore it after."""
    with threadpool_limits(limits=1, user_api="blas"):
        yield


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


def _neutral_for_out_of_scope(
    votes: np.ndarray, oos_index: int | Sequence[int] | None
) -> np.ndarray:
    """Give the out-of-scope class the best in-scope vote, so the vote only re-ranks intents.

    A catch-all class has no neighbourhood of paraphrases: a fresh off-topic message's nearest
    training rows are mostly in-scope ones, and their vote would pull it into some intent
    (measured on CLINC150: -2 points accuracy, -2.5 points automation). Whether a message is in
    scope at all stays the regression's call.
    """
    out = _as_index_list(oos_index)
    if not out:
        return votes
    best_in_scope = np.delete(votes, out, axis=1).max(axis=1)
    for k in out:
        votes[:, k] = best_in_scope
    return votes


def _as_index_list(index: int | Sequence[int] | None) -> list[int]:
    if index is None:
        return []
    if isinstance(index, (int, np.integer)):
        return [int(index)]
    return sorted(int(k) for k in index)


def _centroids(x: np.ndarray, y: np.ndarray, n_classes: int) -> np.ndarray:
    sums = np.zeros((n_classes, x.shape[1]), dtype=np.float64)
    np.add.at(sums, y, x)
    norms = np.linalg.norm(sums, axis=1, keepdims=True)
    return (sums / np.where(norms == 0, 1.0, norms)).astype(np.float32)


def _signals(
    logits: np.ndarray,
    probs: np.ndarray,
    sims: np.ndarray,
    oos_index: int | Sequence[int] | None,
    nearest: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Return (top class index, the answer-correctness features) per row.

    Four features without `nearest` (artifact versions 1-2); with it, also the nearest-example
    cosine and the log probability of the out-of-scope classes (version 3).
    """
    rows = np.arange(len(probs))
    order = np.argsort(-probs, axis=1)[:, :2]  # a model always has at least two classes
    top = order[:, 0]
    p1, p2 = probs[rows, top], probs[rows, order[:, 1]]
    out = _as_index_list(oos_index)
    in_scope = np.delete(logits, out, axis=1) if out else logits
    peak = in_scope.max(axis=1)
    energy = peak + np.log(np.exp(in_scope - peak[:, None]).sum(axis=1))
    columns = [np.log(p1 + 1e-12), np.log(p1 + 1e-12) - np.log(p2 + 1e-12), energy, sims[rows, top]]
    if nearest is not None:
        p_out = probs[:, out].sum(axis=1) if out else np.zeros(len(probs))
        columns += [nearest, np.log(p_out + 1e-6)]
    return top, np.column_stack(columns).astype(np.float64)


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
        reference: np.ndarray | None = None,
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
        # The classes a message is out of scope for: the labelled out-of-scope class and the
        # built-in background (version 3).
        self._out_indices = [
            i for i, name in enumerate(self.classes) if name == oos_label or is_reserved(name)
        ]
        # Version 3: the nearest-example cosine needs (a sample of) the in-scope training rows.
        self.reference = (
            None if reference is None else np.ascontiguousarray(reference, dtype=np.float32)
        )
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
        use_background: bool = True,
        unseen_share: float = DEFAULT_UNSEEN_SHARE,
    ) -> IntentModel:
        """Embed the texts (and the built-in backgrounds), then train as in `train_embeddings`."""
        from tandem.triage.background import STORE, background_matrix

        if len(texts) != len(labels):
            raise ValueError(f"{len(texts)} texts but {len(labels)} labels")
        return cls.train_embeddings(
            embed_texts(embedder_name, texts, progress),
            labels,
            embedder_name=embedder_name,
            oos_label=oos_label,
            precision_target=precision_target,
            progress=progress,
            background=background_matrix(embedder_name) if use_background else None,
            store_background=background_matrix(embedder_name, STORE) if use_background else None,
            unseen_share=unseen_share,
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
        background: np.ndarray | None = None,
        store_background: np.ndarray | None = None,
        unseen_share: float = DEFAULT_UNSEEN_SHARE,
        intent_groups: int = INTENT_GROUPS,
        unseen_escalation: float = DEFAULT_UNSEEN_ESCALATION,
    ) -> IntentModel:
        """Cross-validate to calibrate confidence and pick the threshold, then refit on all rows.

        `background` (embedded with the same embedder) stands for needs no intent covers, and
        `store_background` for store questions beyond the workspace's intents; with
        `intent_groups` >= 2 whole intents are also held out (leave-intents-out), so the
        threshold accounts for unseen needs even without out-of-scope training rows.
        """
        x = np.ascontiguousarray(matrix, dtype=np.float32)
        label_array = np.asarray(labels, dtype=str)
        if x.ndim != 2 or len(x) != len(label_array):
            raise ValueError("matrix must have one row per label")
        reserved = sorted(name for name in set(label_array.tolist()) if is_reserved(name))
        if reserved:
            raise ValueError(f"{reserved[0]!r} is reserved and cannot be a training label")
        counts_given = dict(zip(*np.unique(label_array, return_counts=True), strict=True))
        if len(counts_given) < 2:
            raise ValueError("need at least two distinct labels to train an intent model")
        rare = sorted(str(k) for k, n in counts_given.items() if n < 2)
        if rare:
            raise ValueError(
                f"every intent needs at least 2 examples (too few: {', '.join(rare[:5])})"
            )
        report = progress or (lambda _stage, _done, _total: None)
        n_given = len(label_array)
        scope_mask_given = label_array != oos_label if oos_label else np.ones(n_given, bool)
        from tandem.triage.background import DECONTAMINATE_COSINE, STORE_DECONTAMINATE_COSINE

        in_scope_given = x[scope_mask_given]
        limit = max(BACKGROUND_MIN_ROWS, int(BACKGROUND_PER_ROW * n_given))
        extra = _usable_background(background, in_scope_given, DECONTAMINATE_COSINE, limit)
        store_extra = _usable_background(
            store_background, in_scope_given, STORE_DECONTAMINATE_COSINE
        )
        if len(extra):
            x = np.vstack([x, extra])
            label_array = np.r_[label_array, np.full(len(extra), BACKGROUND_LABEL)]
        if len(store_extra):
            x = np.vstack([x, store_extra])
            label_array = np.r_[label_array, _store_background_labels(store_extra)]
        classes, y = np.unique(label_array, return_inverse=True)
        n_classes = len(classes)
        counts = np.bincount(y, minlength=n_classes)
        reserved_class = np.array([is_reserved(name) for name in classes])
        out = [i for i, name in enumerate(classes) if name == oos_label or reserved_class[i]]
        is_out = np.isin(y, out)
        # Both backgrounds are one source of unseen needs: a new source would dilute the weight
        # of held-out intents, the hard and realistic one.
        kind = np.where(
            ~is_out,
            "in_scope",
            np.where(reserved_class[y], "background", "out_of_scope"),
        )

        folds = SMALL_SET_FOLDS if n_given <= SMALL_SET_ROWS else CV_FOLDS
        oof = _out_of_fold(x, y, n_classes, c, out, report, folds)
        plain_accuracy = float(np.mean(oof.logits.argmax(axis=1) == y))
        blended = oof.logits + KNN_WEIGHT * oof.votes
        knn_weight = (
            KNN_WEIGHT
            if float(np.mean(blended.argmax(axis=1) == y)) >= plain_accuracy + KNN_MIN_GAIN
            else 0.0
        )
        temperature = fit_temperature(oof.scores(knn_weight), y)
        top, features = _signals(
            oof.logits, _softmax(oof.scores(knn_weight) / temperature), oof.sims, out, oof.nearest
        )
        answerable = ~np.isin(top, out)
        correct = (top == y) & answerable & ~is_out
        held = _leave_intents_out(x, y, n_classes, c, out, intent_groups, knn_weight, report)
        if held is not None:
            held_top, held_features = _signals(
                held.logits,
                _softmax(held.scores(knn_weight) / temperature),
                held.sims,
                out,
                held.nearest,
            )
            features = np.vstack([features, held_features])
            answerable = np.r_[answerable, ~np.isin(held_top, out)]
            correct = np.r_[correct, np.zeros(len(held_top), dtype=bool)]
            kind = np.r_[kind, np.full(len(held_top), "held_out_intent")]
        weights = _unseen_weights(kind, unseen_share)
        calibrator = LogisticCalibrator.fit(
            features[answerable], correct[answerable], weights[answerable]
        )
        confidence = _confidence(features, calibrator)
        choice = choose_threshold(
            confidence, correct, precision_target, answerable=answerable, weights=weights
        )
        unseen_floor = escalation_threshold(
            confidence,
            kind != "in_scope",
            unseen_escalation,
            answerable=answerable,
            weights=weights,
        )
        threshold = max(choice.threshold, unseen_floor)
        report("fit", 0, 1)
        with _one_blas_thread():
            coef, intercept = _fit_linear(x, y, n_classes, c)
        report("fit", 1, 1)
        answered = answerable & (confidence >= threshold)
        info = {
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "n_train": n_given,
            "n_out_of_scope_train": int(counts_given.get(oos_label, 0)) if oos_label else 0,
            "n_background": len(extra),
            "n_store_background": len(store_extra),
            "c": c,
            "cv_folds": folds,
            "knn": {"k": KNN_NEIGHBOURS, "temperature": KNN_TEMPERATURE, "weight": knn_weight},
            "cv_accuracy_without_knn": plain_accuracy,
            "unseen_share": unseen_share,
            "intent_groups": intent_groups if held is not None else 0,
            "cv": {
                "accuracy": float(np.mean(top[: len(y)][~is_out] == y[~is_out])),
                "threshold": _threshold_report(choice, threshold, answered, correct, weights),
                "unseen_escalation_target": unseen_escalation,
                "unseen_escalation_threshold": unseen_floor
                if math.isfinite(unseen_floor)
                else None,
                "expected_calibration_error": expected_calibration_error(
                    confidence[answerable], correct[answerable]
                ),
                **_cv_figures(kind, answered, correct),
            },
            "per_intent_examples": {
                str(classes[i]): int(counts[i]) for i in range(n_classes) if i not in out
            },
        }
        reference_rows = _reference_rows(y, out)
        return cls(
            classes=[str(name) for name in classes],
            coef=coef,
            intercept=intercept,
            centroids=_centroids(x, y, n_classes),
            temperature=temperature,
            calibrator=calibrator,
            threshold=threshold,
            embedder_name=embedder_name,
            oos_label=oos_label,
            precision_target=precision_target,
            info=info,
            # Rounded as the artifact stores them, so a reloaded model predicts identically.
            neighbours=_half(x) if knn_weight else None,
            neighbour_labels=y if knn_weight else None,
            knn_weight=knn_weight,
            reference=_half(x[reference_rows]),
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
        nearest = None if self.reference is None else nearest_cosine(x, self.reference)
        top, features = _signals(logits, probs, sims, self._out_indices, nearest)
        confidence = _confidence(features, self.calibrator)
        in_scope_probs = probs.copy()
        in_scope_probs[:, self._out_indices] = -1.0
        best = np.argsort(-probs, axis=1)[:, :3]
        out = []
        for i, k in enumerate(top):
            outside = bool(k in self._out_indices)
            name = self.classes[k]
            # Like a need agents handle that nobody has taught yet: a person's, not "I can't help".
            untaught = is_store_background(name)
            off_topic = outside and name != NOT_YET_LEARNED and not untaught
            # An out-of-scope top class is reported with its own probability, not answer odds.
            conf = float(probs[i, k]) if outside else float(confidence[i])
            if is_reserved(name):
                # A background is not an intent: report the nearest real one (with its own
                # probability), never answered.
                nearest_intent = int(in_scope_probs[i].argmax())
                name, conf = self.classes[nearest_intent], float(probs[i, nearest_intent])
            out.append(
                IntentPrediction(
                    intent=name,
                    confidence=conf,
                    is_out_of_scope=bool(outside or conf < self.threshold),
                    ranked=[
                        (self.classes[j], float(probs[i, j]))
                        for j in best[i]
                        if not is_reserved(self.classes[j])
                    ],
                    off_topic=off_topic,
                    untaught=untaught,
                )
            )
        return out

    def _blend(self, x: np.ndarray, logits: np.ndarray) -> np.ndarray:
        if self.neighbours is None or self.neighbour_labels is None or self.knn_weight == 0:
            return logits
        votes = _knn_log_probs(x, self.neighbours, self.neighbour_labels, len(self.classes))
        votes = _neutral_for_out_of_scope(votes, self._out_indices)
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
            "calibrator_features": (
                (list(_FEATURES_V3) if self.reference is not None else list(_FEATURES))
                if self.calibrator
                else None
            ),
            "calibrator_intercept": self.calibrator.intercept if self.calibrator else None,
            "knn_weight": self.knn_weight,
            "info": self.info,
        }
        arrays = {"coef": self.coef, "intercept": self.intercept, "centroids": self.centroids}
        if self.neighbours is not None and self.neighbour_labels is not None:
            # Half precision halves the artifact; cosines move by ~1e-3, votes not at all.
            arrays["neighbours"] = self.neighbours.astype(np.float16)
            arrays["neighbour_labels"] = self.neighbour_labels.astype(np.int32)
        if self.reference is not None:
            arrays["reference"] = self.reference.astype(np.float16)
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
            reference = arrays["reference"] if version >= 3 else None
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
                reference=reference,
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
            # Version 3: what the threshold means for in-scope messages and for unseen needs.
            "cv_in_scope_precision": cv.get("in_scope_precision"),
            "cv_in_scope_automation": cv.get("in_scope_automation"),
            "cv_unseen_escalation": cv.get("unseen_escalation"),
            "cv_unseen_escalation_by_source": cv.get("unseen_escalation_by_source"),
            "n_background": self.info.get("n_background"),
            "n_store_background": self.info.get("n_store_background"),
            "per_intent_examples": self.info.get("per_intent_examples"),
        }


@dataclass(frozen=True)
class _HeldOut:
    """What a model trained without some rows says about them."""

    logits: np.ndarray
    votes: np.ndarray
    sims: np.ndarray
    nearest: np.ndarray

    def scores(self, knn_weight: float) -> np.ndarray:
        return self.logits + knn_weight * self.votes if knn_weight else self.logits


def _held_out_signals(
    x_fit: np.ndarray,
    y_fit: np.ndarray,
    x_held: np.ndarray,
    n_classes: int,
    c: float,
    out: list[int],
) -> _HeldOut:
    coef, intercept = _fit_linear(x_fit, y_fit, n_classes, c)
    in_scope_fit = ~np.isin(y_fit, out)
    return _HeldOut(
        logits=(x_held @ coef.T + intercept).astype(np.float64),
        votes=_neutral_for_out_of_scope(_knn_log_probs(x_held, x_fit, y_fit, n_classes), out),
        sims=(x_held @ _centroids(x_fit, y_fit, n_classes).T).astype(np.float64),
        nearest=nearest_cosine(x_held, x_fit[in_scope_fit]),
    )


def _fits_side_by_side(
    x: np.ndarray,
    y: np.ndarray,
    n_classes: int,
    c: float,
    out: list[int],
    splits: Sequence[tuple[np.ndarray, np.ndarray]],
) -> Iterator[_HeldOut]:
    """Yield, in order, what a fit on each split's first rows says about its second rows.

    FIT_WORKERS fits run at once, each on one BLAS thread; rows are copied only when a fit
    starts, so at most FIT_WORKERS copies of the training rows exist at a time.
    """

    def fit(split: tuple[np.ndarray, np.ndarray]) -> _HeldOut:
        fit_rows, held_rows = split
        return _held_out_signals(x[fit_rows], y[fit_rows], x[held_rows], n_classes, c, out)

    with (
        _one_blas_thread(),
        ThreadPoolExecutor(max_workers=FIT_WORKERS, thread_name_prefix="tandem-fit") as pool,
    ):
        yield from pool.map(fit, splits)


def _out_of_fold(
    x: np.ndarray,
    y: np.ndarray,
    n_classes: int,
    c: float,
    out: list[int],
    report: ProgressFn,
    folds: int = CV_FOLDS,
) -> _HeldOut:
    """Return held-out logits, neighbour votes, centroid and nearest-example cosines.

    That is what the model says about messages it has not seen.
    """
    from sklearn.model_selection import StratifiedKFold

    folds = int(min(folds, np.bincount(y).max()))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "least populated class has fewer members than folds"
        splits = list(StratifiedKFold(n_splits=folds, shuffle=True, random_state=0).split(x, y))
    logits = np.zeros((len(y), n_classes), dtype=np.float64)
    sims = np.zeros_like(logits)
    votes = np.zeros_like(logits)
    nearest = np.zeros(len(y))
    report("cross-validate", 0, folds)
    parts = _fits_side_by_side(x, y, n_classes, c, out, splits)
    for k, ((_, held_rows), part) in enumerate(zip(splits, parts, strict=True), start=1):
        logits[held_rows], votes[held_rows] = part.logits, part.votes
        sims[held_rows], nearest[held_rows] = part.sims, part.nearest
        report("cross-validate", k, folds)
    return _HeldOut(logits, votes, sims, nearest)


def _leave_intents_out(
    x: np.ndarray,
    y: np.ndarray,
    n_classes: int,
    c: float,
    out: list[int],
    groups: int,
    knn_weight: float,
    report: ProgressFn,
) -> _HeldOut | None:
    """Hold whole intents out of training, in groups; return what the model says about them.

    Every held-out message is a need the model was not trained on: answering it is a mistake,
    which is exactly the case a workspace's own cross-validation never shows. The held-out
    intents' own columns are masked, so they can only be escalated or answered wrongly.
    """
    in_scope = np.array([k for k in range(n_classes) if k not in out])
    if groups < 2 or len(in_scope) < 3:
        return None
    groups = min(groups, len(in_scope))  # groups of ceil(n / groups): two or more intents stay
    order = np.random.default_rng(0).permutation(in_scope)
    parts: list[tuple[np.ndarray, _HeldOut]] = []
    report("hold out intents", 0, groups)
    plans: list[tuple[int, np.ndarray, np.ndarray]] = []
    for g in range(groups):
        held_classes = order[g::groups]
        held = np.isin(y, held_classes)
        if len(np.unique(y[~held])) >= 2:
            plans.append((g, held_classes, held))
    fitted = _fits_side_by_side(x, y, n_classes, c, out, [(~held, held) for *_, held in plans])
    for (g, held_classes, held), part in zip(plans, fitted, strict=True):
        part.logits[:, held_classes] = -1e4
        part.votes[:, held_classes] = -1e4
        part.sims[:, held_classes] = -1.0
        parts.append((np.flatnonzero(held), part))
        report("hold out intents", g + 1, groups)
    if not parts:
        return None
    return _HeldOut(
        logits=np.vstack([p.logits for _, p in parts]),
        votes=np.vstack([p.votes for _, p in parts]),
        sims=np.vstack([p.sims for _, p in parts]),
        nearest=np.concatenate([p.nearest for _, p in parts]),
    )


def _usable_background(
    background: np.ndarray | None,
    in_scope: np.ndarray,
    cosine: float,
    limit: int | None = None,
) -> np.ndarray:
    """Return the background rows to train with: none within `cosine` of an in-scope row, at
    most `limit` of them (a fixed subsample, for small sets)."""
    from tandem.triage.background import decontaminate

    if background is None or len(background) == 0:
        return np.zeros((0, in_scope.shape[1]), dtype=np.float32)
    if background.shape[1] != in_scope.shape[1]:
        raise ValueError("background embeddings do not match the training embeddings")
    rows = np.asarray(background, dtype=np.float32)[decontaminate(background, in_scope, cosine)]
    if limit is not None and len(rows) > limit:
        rows = rows[np.sort(np.random.default_rng(0).choice(len(rows), limit, replace=False))]
    return rows


def _store_background_labels(rows: np.ndarray) -> np.ndarray:
    """Label store-background rows by k-means cluster (see STORE_BACKGROUND_CLUSTERS)."""
    from sklearn.cluster import KMeans

    n_clusters = int(min(STORE_BACKGROUND_CLUSTERS, max(1, len(rows) // 40)))
    if n_clusters == 1:
        return np.full(len(rows), f"{STORE_BACKGROUND_LABEL}00")
    clusters = KMeans(n_clusters=n_clusters, n_init=3, random_state=0).fit_predict(rows)
    return np.array([f"{STORE_BACKGROUND_LABEL}{k:02d}" for k in clusters])


def _unseen_weights(kind: np.ndarray, unseen_share: float) -> np.ndarray:
    """Weight rows so in-scope ones are (1 - share) of traffic, each unseen kind an equal part.

    Labelled out-of-scope rows keep at least their own share of the training set.
    """
    weights = np.ones(len(kind))
    unseen_kinds = [k for k in UNSEEN_KINDS if (kind == k).any()]
    in_scope = kind == "in_scope"
    if not unseen_kinds or not in_scope.any():
        return weights
    share = unseen_share
    if "out_of_scope" in unseen_kinds:
        labelled = (kind == "out_of_scope").sum() / max(
            (in_scope | (kind == "out_of_scope")).sum(), 1
        )
        share = max(share, float(labelled))
    weights[in_scope] = (1 - share) / in_scope.sum()
    for k in unseen_kinds:
        rows = kind == k
        weights[rows] = share / len(unseen_kinds) / rows.sum()
    return weights * len(kind)


def _threshold_report(
    choice: ThresholdChoice,
    threshold: float,
    answered: np.ndarray,
    correct: np.ndarray,
    weights: np.ndarray,
) -> dict[str, Any]:
    """Return the precision choice, restated at the final threshold when unseen needs raised it."""
    data = choice.to_dict()
    if not math.isfinite(threshold) or threshold == choice.threshold:
        return data
    w = weights[answered]
    data.update(
        threshold=threshold,
        precision=float((w * correct[answered]).sum() / w.sum()) if answered.any() else None,
        coverage=float(weights[answered].sum() / weights.sum()),
        n_answered=int(answered.sum()),
        raised_for_unseen_needs=True,
    )
    return data


def _cv_figures(kind: np.ndarray, answered: np.ndarray, correct: np.ndarray) -> dict[str, Any]:
    """Return the threshold's expected in-scope precision/automation and unseen escalation."""
    in_scope = kind == "in_scope"
    hit = answered & in_scope
    by_source = {
        k: float(1 - answered[kind == k].mean()) for k in UNSEEN_KINDS if (kind == k).any()
    }
    return {
        "in_scope_precision": float(correct[hit].mean()) if hit.any() else None,
        "in_scope_automation": float(answered[in_scope].mean()) if in_scope.any() else None,
        # Every unseen source counts equally: held-out intents are the hard, realistic case.
        "unseen_escalation": float(np.mean(list(by_source.values()))) if by_source else None,
        "unseen_escalation_by_source": by_source,
    }


def _reference_rows(y: np.ndarray, out: list[int]) -> np.ndarray:
    """Return the indices of up to REFERENCE_ROWS_PER_CLASS in-scope rows per intent."""
    rng = np.random.default_rng(0)
    keep: list[np.ndarray] = []
    for k in np.unique(y):
        if k in out:
            continue
        rows = np.flatnonzero(y == k)
        if len(rows) > REFERENCE_ROWS_PER_CLASS:
            rows = np.sort(rng.choice(rows, REFERENCE_ROWS_PER_CLASS, replace=False))
        keep.append(rows)
    return np.concatenate(keep) if keep else np.zeros(0, dtype=int)


def _half(x: np.ndarray) -> np.ndarray:
    return x.astype(np.float16).astype(np.float32)


def _confidence(features: np.ndarray, calibrator: LogisticCalibrator | None) -> np.ndarray:
    # Without a calibrator (every held-out answer was right, or every one wrong) fall back
    # to the temperature-scaled top probability.
    return np.minimum(np.exp(features[:, 0]), 1.0) if calibrator is None else calibrator(features)


def embed_texts(
    embedder_name: str, texts: Sequence[str], progress: ProgressFn | None = None
) -> np.ndarray:
    """Embed many texts in chunks, reporting progress as ("embed", done, total).

    Texts embedded before (by an earlier training run or scope reference) come from the
    process's embedding cache; only the others go through the model.
    """
    from tandem.triage.embedders import embedding_cache, get_embedder

    embedder = get_embedder(embedder_name)
    total = len(texts)
    out = np.zeros((total, embedder.dim), dtype=np.float32)
    cached = embedding_cache.get_many(embedder_name, texts)
    # A text repeated in one call is encoded once: every copy gets the row the cache keeps.
    copies: dict[str, list[int]] = {}
    for i, row in enumerate(cached):
        if row is not None:
            out[i] = row
        else:
            copies.setdefault(texts[i], []).append(i)
    # Similar lengths batch together, so the transformer pads far less.
    order = sorted(copies, key=len)
    done = total - sum(len(rows) for rows in copies.values())
    if progress:
        progress("embed", done, total)
    for start in range(0, len(order), EMBED_CHUNK):
        chunk = order[start : start + EMBED_CHUNK]
        vectors = embedder.encode(chunk)
        for text, vector in zip(chunk, vectors, strict=True):
            out[copies[text]] = vector
            done += len(copies[text])
        embedding_cache.put_many(embedder_name, chunk, vectors)
        if progress:
            progress("embed", done, total)
    return out
