"""The answer threshold meets its precision target on data it never saw."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tandem.triage.calibration import (
    LogisticCalibrator,
    choose_threshold,
    escalation_threshold,
    expected_calibration_error,
    fit_temperature,
    precision_curve,
    reliability_table,
    wilson_bounds,
    z_score,
)


def calibrated_sample(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Confidences uniform on [0, 1], each prediction right with exactly that probability."""
    rng = np.random.default_rng(seed)
    confidence = rng.uniform(0.0, 1.0, n)
    return confidence, rng.uniform(0.0, 1.0, n) < confidence


def test_threshold_is_just_above_the_exact_answer_for_calibrated_scores() -> None:
    # Precision of {c >= t} is (1 + t) / 2 here, so a 0.9 target needs t = 0.8 exactly.
    confidence, correct = calibrated_sample(20_000, seed=1)
    choice = choose_threshold(confidence, correct, 0.9)
    assert choice.feasible
    assert 0.8 <= choice.threshold <= 0.84
    assert choice.precision_lower_bound >= 0.9
    assert choice.coverage == pytest.approx(1 - choice.threshold, abs=0.02)


@pytest.mark.parametrize("seed", range(10))
def test_precision_holds_on_an_independent_sample(seed: int) -> None:
    confidence, correct = calibrated_sample(5_000, seed=seed)
    choice = choose_threshold(confidence, correct, 0.9)
    test_conf, test_correct = calibrated_sample(200_000, seed=1000 + seed)
    answered = test_conf >= choice.threshold
    assert test_correct[answered].mean() >= 0.9


def test_the_chosen_threshold_is_the_lowest_that_qualifies() -> None:
    confidence, correct = calibrated_sample(3_000, seed=7)
    choice = choose_threshold(confidence, correct, 0.9)
    curve = precision_curve(confidence, correct)
    i = int(np.flatnonzero(curve.thresholds == choice.threshold)[0])
    assert curve.lower[i] >= 0.9
    assert np.all(curve.lower[i + 1 :] < 0.9)
    assert np.all(curve.upper[: i + 1] >= 0.9)


def test_a_band_of_confident_mistakes_blocks_every_lower_threshold() -> None:
    # 300 very confident answers, only 60% right; below them 5,000 that are all right. Pooled,
    # the low threshold looks fine (5,180 / 5,300 = 97.7%), but the top band is clearly broken.
    rng = np.random.default_rng(0)
    confidence = np.r_[np.full(300, 0.99), rng.uniform(0.5, 0.98, 5_000)]
    correct = np.r_[np.arange(300) % 5 < 3, np.ones(5_000, dtype=bool)]
    curve = precision_curve(confidence, correct)
    assert curve.lower[-1] >= 0.9  # a lower-bound-only rule would have answered everything
    choice = choose_threshold(confidence, correct, 0.9)
    assert not choice.feasible
    assert choice.threshold == math.inf
    assert choice.to_dict()["threshold"] is None


def test_hopeless_predictions_are_never_answered() -> None:
    rng = np.random.default_rng(3)
    confidence = rng.uniform(0, 1, 2_000)
    correct = rng.uniform(0, 1, 2_000) < 0.5
    assert not choose_threshold(confidence, correct, 0.95).feasible


def test_small_samples_are_not_trusted() -> None:
    # Ten right answers out of ten: the point estimate is 100%, the evidence is thin.
    choice = choose_threshold(np.linspace(0.5, 0.95, 10), np.ones(10, dtype=bool), 0.95)
    assert not choice.feasible


def test_rows_that_may_not_be_answered_only_count_towards_the_total() -> None:
    confidence = np.r_[np.full(100, 0.99), np.full(900, 0.9)]
    correct = np.r_[np.zeros(100, dtype=bool), np.ones(900, dtype=bool)]
    blocked = np.r_[np.zeros(100, dtype=bool), np.ones(900, dtype=bool)]
    choice = choose_threshold(confidence, correct, 0.95, answerable=blocked)
    assert choice.threshold == pytest.approx(0.9)
    assert choice.coverage == pytest.approx(0.9)
    assert choice.precision == 1.0


def test_weights_act_like_repeated_rows() -> None:
    confidence, correct = calibrated_sample(400, seed=5)
    weights = np.where(correct, 1.0, 3.0)
    weighted = precision_curve(confidence, correct, weights=weights)
    repeated = precision_curve(
        np.repeat(confidence, weights.astype(int)), np.repeat(correct, 3 - 2 * correct)
    )
    np.testing.assert_allclose(weighted.precision, repeated.precision)
    np.testing.assert_allclose(weighted.coverage, repeated.coverage)
    # ...but the bounds stay honest about having only 400 real observations.
    assert np.all(weighted.lower <= repeated.lower + 1e-12)


def test_upweighting_rare_mistakes_raises_the_threshold() -> None:
    confidence, correct = calibrated_sample(5_000, seed=11)
    plain = choose_threshold(confidence, correct, 0.9)
    heavier = choose_threshold(confidence, correct, 0.9, weights=np.where(correct, 1.0, 2.0))
    assert heavier.threshold > plain.threshold


def test_wilson_bounds_match_the_textbook_value() -> None:
    lower, upper = wilson_bounds(np.array([0.9]), np.array([100.0]), z_score(0.975))
    assert lower[0] == pytest.approx(0.8256, abs=1e-4)
    assert upper[0] == pytest.approx(0.9448, abs=1e-4)


def test_reliability_and_ece() -> None:
    confidence, correct = calibrated_sample(50_000, seed=2)
    assert expected_calibration_error(confidence, correct) < 0.02
    overconfident = np.clip(confidence + 0.2, 0, 1)
    assert expected_calibration_error(overconfident, correct) > 0.15
    table = reliability_table(confidence, correct, n_bins=5)
    assert [row["count"] > 0 for row in table] == [True] * 5
    for row in table:
        assert row["accuracy"] == pytest.approx(row["mean_confidence"], abs=0.03)


def test_bad_input_is_rejected() -> None:
    with pytest.raises(ValueError, match="same length"):
        choose_threshold([0.5, 0.6], [True], 0.9)
    with pytest.raises(ValueError, match="target"):
        choose_threshold([0.5], [True], 1.0)
    with pytest.raises(ValueError, match="weights"):
        choose_threshold([0.5], [True], 0.9, weights=[-1.0])
    empty = choose_threshold([], [], 0.9)
    assert not empty.feasible and empty.n_total == 0


def test_temperature_undoes_a_known_scaling() -> None:
    rng = np.random.default_rng(6)
    logits = rng.normal(size=(4_000, 5)) * 2.0
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    labels = np.array([rng.choice(5, p=p) for p in probs])
    # The labels follow softmax(logits); the model reports logits three times too sharp.
    assert fit_temperature(3.0 * logits, labels) == pytest.approx(3.0, rel=0.1)


def test_logistic_calibrator_recovers_a_known_link() -> None:
    rng = np.random.default_rng(8)
    features = rng.normal(size=(20_000, 2))
    truth = 1 / (1 + np.exp(-(1.5 * features[:, 0] - 0.5 * features[:, 1] + 0.3)))
    outcomes = rng.uniform(size=len(truth)) < truth
    calibrator = LogisticCalibrator.fit(features, outcomes)
    assert calibrator is not None
    assert np.abs(calibrator(features) - truth).mean() < 0.02
    assert LogisticCalibrator.fit(features, np.ones(len(features), dtype=bool)) is None


def test_logistic_calibrator_weights_act_like_repeated_rows() -> None:
    rng = np.random.default_rng(9)
    features = rng.normal(size=(500, 1))
    outcomes = rng.uniform(size=500) < 1 / (1 + np.exp(-2 * features[:, 0]))
    twice = np.r_[np.ones(250), 2 * np.ones(250)]
    weighted = LogisticCalibrator.fit(features, outcomes, twice, l2=0.0)
    repeated = LogisticCalibrator.fit(
        np.r_[features, features[250:]], np.r_[outcomes, outcomes[250:]], l2=0.0
    )
    assert weighted is not None and repeated is not None
    probe = np.linspace(-2, 2, 9)[:, None]
    np.testing.assert_allclose(weighted(probe), repeated(probe), atol=1e-6)


def test_escalation_threshold_escalates_the_required_share_of_unseen_rows() -> None:
    conf = np.array([0.99, 0.95, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2])
    unseen = np.array([False, True, False, True, True, True, True, True, True, True])
    # Eight unseen rows; escalating 7/8 = 87.5% needs the two highest-scoring (0.95, 0.8)
    # escalated except one: the threshold must sit just above 0.8.
    t = escalation_threshold(conf, unseen, 0.875)
    assert 0.8 < t <= 0.9
    answered = (conf >= t) & unseen
    assert 1 - answered.sum() / unseen.sum() >= 0.875
    # Rows that are not answerable anyway (e.g. predicted out of scope) are escalated already:
    # five of eight are, and 5/8 is all that is asked, so no threshold is needed.
    mask = ~unseen | (conf < 0.5)
    assert escalation_threshold(conf, unseen, 0.625, answerable=mask) == -math.inf
    assert escalation_threshold(conf, unseen, 0.75, answerable=mask) > 0.2
    # Weights count: a heavy unseen row at 0.3 alone is over the allowed share.
    weights = np.where(conf == 0.3, 10.0, 1.0)
    assert escalation_threshold(conf, unseen, 0.9, weights=weights) > 0.3
    assert escalation_threshold(conf, np.zeros(10, dtype=bool), 0.9) == -math.inf
    with pytest.raises(ValueError):
        escalation_threshold(conf, unseen, 1.5)
