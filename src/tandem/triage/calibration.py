"""Choose an answer threshold from held-out confidences so precision meets a target.

The inputs are cross-validated (out-of-fold) predictions: for every held-out row, the model's
confidence in its top prediction and whether that prediction was right. A policy answers when
confidence >= threshold; everything below is escalated to a human. We want the LOWEST such
threshold (most automation) whose precision will still meet the target on unseen data, so a
point estimate is not enough: the chosen threshold must

* have a one-sided lower confidence bound on its precision at or above the target, and
* not sit below a region where precision is *significantly* under the target (the upper
  bound at every higher threshold must reach the target too), so one lucky tail of easy
  rows cannot drag the threshold past a band of confident mistakes.

Rows may carry weights, e.g. to make rare out-of-scope examples stand for the share of traffic
they will have in production. The bounds then use the weighted (ratio-estimator) variance, so
a few heavily weighted mistakes widen the interval as they should.

Only numpy is used here; nothing in this module knows about models.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from statistics import NormalDist
from typing import Any

import numpy as np
import numpy.typing as npt

ArrayLike = npt.ArrayLike | Sequence[float] | Sequence[bool]


@dataclass(frozen=True)
class ThresholdChoice:
    """The chosen threshold and what the held-out data says about it."""

    threshold: float  # answer when confidence >= threshold; math.inf means never answer
    target: float
    confidence_level: float
    precision: float  # weighted precision of the answered held-out rows (nan if none)
    precision_lower_bound: float
    coverage: float  # weighted share of held-out rows that would be answered
    n_answered: int
    n_total: int

    @property
    def feasible(self) -> bool:
        """Return True when some threshold meets the target."""
        return math.isfinite(self.threshold)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-able dict (an infeasible threshold becomes None)."""
        data = asdict(self)
        data["threshold"] = self.threshold if self.feasible else None
        for key in ("precision", "precision_lower_bound"):
            if not math.isfinite(data[key]):
                data[key] = None
        return data


@dataclass(frozen=True)
class PrecisionCurve:
    """Precision of 'answer when confidence >= t' for every distinct candidate t (descending)."""

    thresholds: np.ndarray
    n_answered: np.ndarray
    coverage: np.ndarray
    precision: np.ndarray
    lower: np.ndarray
    upper: np.ndarray


def z_score(confidence_level: float) -> float:
    """Return the one-sided normal quantile for a confidence level in (0.5, 1)."""
    if not 0.5 <= confidence_level < 1.0:
        raise ValueError("confidence_level must be in [0.5, 1)")
    return NormalDist().inv_cdf(confidence_level)


def wilson_bounds(
    precision: np.ndarray, n_effective: np.ndarray, z: float
) -> tuple[np.ndarray, np.ndarray]:
    """Return Wilson score (lower, upper) bounds for proportions over effective sample sizes."""
    p = np.clip(np.asarray(precision, dtype=np.float64), 0.0, 1.0)
    n = np.maximum(np.asarray(n_effective, dtype=np.float64), 1e-12)
    z2 = z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z * np.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return np.clip(centre - half, 0.0, 1.0), np.clip(centre + half, 0.0, 1.0)


def _as_inputs(
    confidences: ArrayLike,
    correct: ArrayLike,
    answerable: ArrayLike | None,
    weights: ArrayLike | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    conf = np.asarray(confidences, dtype=np.float64).ravel()
    hit = np.asarray(correct, dtype=bool).ravel()
    mask = np.ones_like(hit) if answerable is None else np.asarray(answerable, dtype=bool).ravel()
    w = np.ones_like(conf) if weights is None else np.asarray(weights, dtype=np.float64).ravel()
    if not (len(conf) == len(hit) == len(mask) == len(w)):
        raise ValueError("confidences, correct, answerable and weights must have the same length")
    if len(conf) and (np.any(w < 0) or not np.all(np.isfinite(w))):
        raise ValueError("weights must be finite and non-negative")
    if np.any(np.isnan(conf)):
        raise ValueError("confidences must not contain NaN")
    return conf, hit, mask, w


def precision_curve(
    confidences: ArrayLike,
    correct: ArrayLike,
    *,
    answerable: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    confidence_level: float = 0.95,
) -> PrecisionCurve:
    """Return precision, coverage and confidence bounds at every distinct confidence value.

    ``answerable`` marks rows the policy may answer at all (e.g. not predicted out of scope);
    the others count towards the total but are never answered.
    """
    conf, hit, mask, w = _as_inputs(confidences, correct, answerable, weights)
    total_weight = float(w.sum())
    keep = mask & (w > 0)
    conf, hit, w = conf[keep], hit[keep], w[keep]
    if len(conf) == 0 or total_weight <= 0:
        empty = np.zeros(0)
        return PrecisionCurve(empty, empty.astype(int), empty, empty, empty, empty)
    order = np.argsort(-conf, kind="stable")
    conf, hit, w = conf[order], hit[order], w[order]
    # Rows with equal confidence are answered together, so evaluate only at the last of a run.
    last = np.r_[conf[1:] != conf[:-1], True]
    cum_w = np.cumsum(w)
    cum_hit_w = np.cumsum(w * hit)
    cum_w2 = np.cumsum(w * w)
    cum_w2_hit = np.cumsum(w * w * hit)
    precision = cum_hit_w / cum_w
    # Ratio-estimator variance sum w^2 (c - p)^2 / W^2, expanded so it is cumulative.
    sq = cum_w2_hit * (1 - 2 * precision) + cum_w2 * precision**2
    variance = np.maximum(sq, 0.0) / cum_w**2
    kish = cum_w**2 / cum_w2
    with np.errstate(divide="ignore", invalid="ignore"):
        n_eff = np.where(variance > 0, precision * (1 - precision) / variance, kish)
    # Never claim more information than the weights carry (Kish <= raw count).
    n_eff = np.minimum(n_eff, kish)
    lower, upper = wilson_bounds(precision, n_eff, z_score(confidence_level))
    return PrecisionCurve(
        thresholds=conf[last],
        n_answered=np.arange(1, len(conf) + 1)[last],
        coverage=cum_w[last] / total_weight,
        precision=precision[last],
        lower=lower[last],
        upper=upper[last],
    )


def choose_threshold(
    confidences: ArrayLike,
    correct: ArrayLike,
    target: float = 0.95,
    *,
    answerable: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    confidence_level: float = 0.95,
) -> ThresholdChoice:
    """Return the lowest confidence threshold whose precision provably meets the target.

    A candidate t qualifies when the lower confidence bound of precision over rows with
    confidence >= t reaches ``target`` and no higher candidate has its upper bound below
    ``target``. When nothing qualifies the threshold is ``math.inf`` (escalate everything).
    """
    if not 0.0 < target < 1.0:
        raise ValueError("target must be in (0, 1)")
    conf, hit, mask, w = _as_inputs(confidences, correct, answerable, weights)
    curve = precision_curve(
        conf, hit, answerable=mask, weights=w, confidence_level=confidence_level
    )
    n_total = len(conf)
    infeasible = ThresholdChoice(
        math.inf, target, confidence_level, math.nan, math.nan, 0.0, 0, n_total
    )
    if len(curve.thresholds) == 0:
        return infeasible
    # Index of the first (highest) candidate whose precision is significantly below target:
    # every candidate at or after it is ruled out.
    violations = np.flatnonzero(curve.upper < target)
    allowed = violations[0] if len(violations) else len(curve.thresholds)
    ok = np.flatnonzero(curve.lower[:allowed] >= target)
    if len(ok) == 0:
        return infeasible
    i = int(ok[-1])
    return ThresholdChoice(
        threshold=float(curve.thresholds[i]),
        target=target,
        confidence_level=confidence_level,
        precision=float(curve.precision[i]),
        precision_lower_bound=float(curve.lower[i]),
        coverage=float(curve.coverage[i]),
        n_answered=int(curve.n_answered[i]),
        n_total=n_total,
    )


def reliability_table(
    confidences: ArrayLike, correct: ArrayLike, n_bins: int = 10
) -> list[dict[str, float]]:
    """Return equal-width confidence bins with mean confidence vs. observed accuracy."""
    conf, hit, _, _ = _as_inputs(confidences, correct, None, None)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    which = np.clip(np.digitize(conf, edges[1:-1], right=True), 0, n_bins - 1)
    rows = []
    for b in range(n_bins):
        sel = which == b
        if not sel.any():
            continue
        rows.append(
            {
                "low": float(edges[b]),
                "high": float(edges[b + 1]),
                "count": int(sel.sum()),
                "mean_confidence": float(conf[sel].mean()),
                "accuracy": float(hit[sel].mean()),
            }
        )
    return rows


def expected_calibration_error(
    confidences: ArrayLike, correct: ArrayLike, n_bins: int = 15
) -> float:
    """Return the count-weighted mean |confidence - accuracy| over equal-width bins."""
    table = reliability_table(confidences, correct, n_bins)
    total = sum(r["count"] for r in table)
    if total == 0:
        return 0.0
    return float(sum(r["count"] * abs(r["mean_confidence"] - r["accuracy"]) for r in table) / total)


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """Return the softmax temperature minimising held-out negative log-likelihood."""
    z0 = np.asarray(logits, dtype=np.float64)
    y = np.asarray(labels, dtype=int)
    rows = np.arange(len(y))

    def nll(log_t: float) -> float:
        z = z0 / math.exp(log_t)
        z = z - z.max(axis=1, keepdims=True)
        return float(np.mean(np.log(np.exp(z).sum(axis=1)) - z[rows, y]))

    # Golden-section search on log T: the NLL is unimodal in T, and 60 steps pin it to 1e-12.
    # T is kept within [0.2, 20]: held-out predictions without a single mistake would otherwise
    # drive T to 0 and every confidence to exactly 1, leaving nothing to set a threshold on.
    lo, hi = math.log(0.2), math.log(20.0)
    ratio = (math.sqrt(5) - 1) / 2
    a, b = hi - ratio * (hi - lo), lo + ratio * (hi - lo)
    fa, fb = nll(a), nll(b)
    for _ in range(60):
        if fa < fb:
            hi, b, fb = b, a, fa
            a = hi - ratio * (hi - lo)
            fa = nll(a)
        else:
            lo, a, fa = a, b, fb
            b = lo + ratio * (hi - lo)
            fb = nll(b)
    return math.exp((lo + hi) / 2)


@dataclass(frozen=True)
class LogisticCalibrator:
    """P(outcome) = sigmoid(((features - mean) / scale) . coef + intercept)."""

    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float

    def __call__(self, features: np.ndarray) -> np.ndarray:
        """Return the calibrated probability for each row of features."""
        z = ((np.asarray(features, dtype=np.float64) - self.mean) / self.scale) @ self.coef
        return 0.5 * (1.0 + np.tanh(0.5 * (z + self.intercept)))

    @classmethod
    def fit(
        cls,
        features: np.ndarray,
        outcomes: ArrayLike,
        weights: ArrayLike | None = None,
        l2: float = 1.0,
    ) -> LogisticCalibrator | None:
        """Fit a weighted, L2-regularised logistic regression by Newton's method.

        Returns None when every outcome is the same (there is nothing to learn).
        """
        x = np.asarray(features, dtype=np.float64)
        y = np.asarray(outcomes, dtype=np.float64).ravel()
        w = np.ones_like(y) if weights is None else np.asarray(weights, dtype=np.float64)
        if len(y) == 0 or y.min() == y.max():
            return None
        w = w / w.mean()  # so the penalty means the same whatever the weights' scale
        mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-9
        design = np.column_stack([(x - mean) / scale, np.ones(len(y))])
        penalty = np.r_[np.full(x.shape[1], l2), 0.0]  # the intercept is not shrunk
        beta = np.zeros(design.shape[1])
        for _ in range(100):
            p = 0.5 * (1.0 + np.tanh(0.5 * (design @ beta)))
            grad = design.T @ (w * (p - y)) + penalty * beta
            hess = (design.T * (w * p * (1 - p))) @ design + np.diag(penalty + 1e-9)
            step = np.linalg.solve(hess, grad)
            beta -= step
            if np.max(np.abs(step)) < 1e-10:
                break
        return cls(mean=mean, scale=scale, coef=beta[:-1], intercept=float(beta[-1]))


def escalation_threshold(
    confidences: ArrayLike,
    unseen: ArrayLike,
    target: float,
    *,
    answerable: ArrayLike | None = None,
    weights: ArrayLike | None = None,
) -> float:
    """Return the lowest threshold at which at least `target` of unseen rows are escalated.

    Unseen rows (needs the model was not trained on) are escalated when they are not answerable
    or their confidence is below the threshold; at most (1 - target) of their weight may be
    answered. Returns -inf when no threshold is needed and inf when none suffices.
    """
    if not 0.0 <= target <= 1.0:
        raise ValueError("target must be in [0, 1]")
    conf, is_unseen, mask, w = _as_inputs(confidences, unseen, answerable, weights)
    total = float(w[is_unseen].sum())
    if total <= 0:
        return -math.inf
    rows = is_unseen & mask
    order = np.argsort(-conf[rows], kind="stable")
    conf_sorted, w_sorted = conf[rows][order], w[rows][order]
    answered = np.cumsum(w_sorted)
    allowed = (1.0 - target) * total
    over = np.flatnonzero(answered > allowed + 1e-12)
    if len(over) == 0:
        return -math.inf
    # Rows with equal confidence go together: the threshold must sit above that value.
    return float(np.nextafter(conf_sorted[over[0]], math.inf))
