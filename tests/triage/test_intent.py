"""The intent model: training, calibrated answers, out-of-scope escalation and its artifact."""

from __future__ import annotations

import io
import json
import math

import numpy as np
import pytest

from tandem.triage.background import DECONTAMINATE_COSINE, STORE_DECONTAMINATE_COSINE
from tandem.triage.intent import (
    ARTIFACT_VERSION,
    BACKGROUND_LABEL,
    SMALL_SET_FOLDS,
    STORE_BACKGROUND_CLUSTERS,
    STORE_BACKGROUND_LABEL,
    ArtifactError,
    IntentModel,
    IntentPrediction,
    _knn_log_probs,
    is_reserved,
    is_store_background,
)

# A dozen support intents, ten hand-written paraphrases each, plus held-out ones to test on.
EXAMPLES: dict[str, list[str]] = {
    "track_order": [
        "where is my order",
        "has my package shipped yet",
        "can you tell me where my parcel is",
        "my order hasn't arrived, where is it",
        "I want to track my delivery",
        "what's the tracking number for my purchase",
        "when will my order get here",
        "is my shipment on its way",
        "how do I follow my package",
        "status of my order please",
    ],
    "cancel_order": [
        "I want to cancel my order",
        "please cancel the purchase I just made",
        "how can I cancel an order",
        "stop my order, I changed my mind",
        "cancel order number 4411",
        "I ordered by mistake, can you cancel it",
        "is it too late to cancel my order",
        "I no longer want the things I ordered, cancel please",
        "can I still cancel before it ships",
        "undo my last order",
    ],
    "refund_status": [
        "where is my refund",
        "I still haven't received my money back",
        "how long does a refund take",
        "when will I get my refund",
        "my refund hasn't shown up on my card",
        "has my refund been processed",
        "you promised a refund two weeks ago",
        "status of my reimbursement",
        "I returned the item but got no money back",
        "how many days until the refund arrives",
    ],
    "reset_password": [
        "I forgot my password",
        "how do I reset my password",
        "can't log in, password not working",
        "I need a new password",
        "the password reset email never came",
        "locked out of my account, forgot the password",
        "change my login password",
        "my password is wrong and I can't sign in",
        "help me recover my password",
        "reset password link please",
    ],
    "change_address": [
        "I need to change my delivery address",
        "can I update the shipping address on my order",
        "I moved, please send it to my new address",
        "wrong address on my order",
        "how do I edit my address",
        "ship to a different address please",
        "update my postal address",
        "I typed the wrong street, can you fix the address",
        "change where my package is delivered",
        "new home address for deliveries",
    ],
    "payment_declined": [
        "my card was declined",
        "payment failed at checkout",
        "why won't my credit card go through",
        "the transaction keeps getting rejected",
        "I can't pay, it says payment declined",
        "checkout error when paying with my card",
        "my payment didn't work",
        "card refused even though I have money",
        "why was my payment rejected",
        "paying fails every time I try",
    ],
    "return_item": [
        "how do I return an item",
        "I want to send this back",
        "the shoes don't fit, can I return them",
        "what is your return policy",
        "I need a return label",
        "can I return something I bought last month",
        "the product is damaged and I want to return it",
        "how to send back a purchase",
        "start a return for my order",
        "I'd like to return a jacket",
    ],
    "opening_hours": [
        "what are your opening hours",
        "when is the store open",
        "are you open on sunday",
        "what time do you close today",
        "what time does the shop open",
        "opening times please",
        "is the store open on public holidays",
        "until what time are you open",
        "when can I visit your shop",
        "are you open late on fridays",
    ],
    "delete_account": [
        "delete my account",
        "I want to close my account permanently",
        "how do I remove my profile",
        "please erase all my data and my account",
        "deactivate my account",
        "I don't want an account with you anymore",
        "how can I get rid of my account",
        "remove my account and personal information",
        "close my customer account",
        "terminate my membership account",
    ],
    "update_email": [
        "change the email on my account",
        "I have a new email address",
        "update my email please",
        "how do I change my login email",
        "my email address changed",
        "use a different email for my account",
        "replace my old email address",
        "edit the e-mail in my profile",
        "send emails to my new address instead",
        "switch my account email",
    ],
    "shipping_cost": [
        "how much is shipping",
        "what does delivery cost",
        "is shipping free",
        "shipping fees to canada",
        "how much do you charge for delivery",
        "do I pay for postage",
        "cost of express shipping",
        "is there free delivery over fifty dollars",
        "what are the delivery charges",
        "how expensive is international shipping",
    ],
    "discount_code": [
        "my discount code doesn't work",
        "the promo code is invalid",
        "how do I use a coupon",
        "where do I enter my voucher code",
        "coupon not applied at checkout",
        "do you have any promo codes",
        "the discount wasn't applied to my order",
        "my voucher says expired",
        "can I use two discount codes",
        "apply a promotional code",
    ],
}
HELD_OUT: dict[str, list[str]] = {
    "track_order": ["any update on where my parcel is right now?", "track my package"],
    "cancel_order": ["please cancel my order, I don't need it anymore", "cancel it please"],
    "refund_status": ["my refund still hasn't arrived", "when do I get my money back"],
    "reset_password": ["I can't remember my password", "password reset please"],
    "change_address": ["please deliver my order to another address", "fix my shipping address"],
    "payment_declined": ["my visa card keeps being declined", "payment not going through"],
    "return_item": ["I want to return these trousers", "how can I send an item back"],
    "opening_hours": ["what time do you open tomorrow", "shop hours?"],
    "delete_account": ["please delete my profile and account", "close my account"],
    "update_email": ["I want to change my e-mail address", "new email for my account"],
    "shipping_cost": ["how much does delivery cost to france", "shipping price?"],
    "discount_code": ["the coupon code is not working", "my promo code was rejected"],
}
OUT_OF_SCOPE = [
    "what's the weather like tomorrow",
    "tell me a joke",
    "who won the football game last night",
    "what is the capital of australia",
    "how do I bake sourdough bread",
    "play some music",
    "what's the meaning of life",
    "translate hello into japanese",
    "how tall is mount everest",
    "recommend a good movie",
]
OUT_OF_SCOPE_HELD_OUT = ["how many moons does jupiter have", "write me a poem about cats"]


def rows(examples: dict[str, list[str]]) -> tuple[list[str], list[str]]:
    """Flatten {intent: texts} into parallel lists."""
    texts = [t for ts in examples.values() for t in ts]
    labels = [label for label, ts in examples.items() for _ in ts]
    return texts, labels


def clusters(
    n_classes: int, per_class: int, dim: int = 32, spread: float = 0.35, seed: int = 0
) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Unit vectors scattered around random class centres (a stand-in for real embeddings)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_classes, dim))
    y = np.repeat(np.arange(n_classes), per_class)
    x = centres[y] / np.sqrt(dim) + spread * rng.normal(size=(len(y), dim)) / np.sqrt(dim)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x.astype(np.float32), [f"intent_{k:02d}" for k in y], centres


# ---------------------------------------------------------------- fast: synthetic embeddings
@pytest.fixture(scope="module")
def synthetic() -> tuple[IntentModel, np.ndarray, list[str]]:
    """A model trained on well-separated synthetic clusters, plus fresh rows from them."""
    x, labels, _ = clusters(8, 60, spread=0.6)
    stages: list[tuple[str, int, int]] = []
    model = IntentModel.train_embeddings(
        x[::2],
        labels[::2],
        embedder_name="synthetic",
        precision_target=0.9,
        progress=lambda s, d, t: stages.append((s, d, t)),
    )
    # A small training set (240 rows) is cross-validated with more folds than a large one.
    folds = SMALL_SET_FOLDS
    assert model.info["cv_folds"] == folds
    assert ("cross-validate", folds, folds) in stages and stages[-1] == ("fit", 1, 1)
    return model, x[1::2], labels[1::2]


def test_synthetic_model_predicts_fresh_rows(synthetic) -> None:
    model, x, labels = synthetic
    predictions = model.predict_embeddings(x)
    assert all(isinstance(p, IntentPrediction) for p in predictions)
    accuracy = np.mean([p.intent == label for p, label in zip(predictions, labels, strict=True)])
    assert accuracy >= 0.9
    first = predictions[0]
    assert len(first.ranked) == 3 and first.ranked[0][0] == first.intent
    assert first.ranked[0][1] >= first.ranked[1][1] >= first.ranked[2][1]
    assert math.isfinite(model.threshold)
    answered = [p for p in predictions if not p.is_out_of_scope]
    assert len(answered) >= 0.5 * len(predictions)
    assert all(p.confidence >= model.threshold for p in answered)
    precision = np.mean(
        [
            p.intent == label
            for p, label in zip(predictions, labels, strict=True)
            if not p.is_out_of_scope
        ]
    )
    assert precision >= 0.9


def test_single_vector_and_batch_agree(synthetic) -> None:
    model, x, _ = synthetic
    one = model.predict_embeddings(x[3])
    batch = model.predict_embeddings(x[:5])[3]
    assert len(one) == 1 and one[0].intent == batch.intent
    assert one[0].is_out_of_scope == batch.is_out_of_scope
    assert one[0].confidence == pytest.approx(batch.confidence, abs=1e-6)
    with pytest.raises(ValueError, match="dims"):
        model.predict_embeddings(np.zeros((1, 7), dtype=np.float32))


def test_round_tripped_artifact_predicts_identically(synthetic) -> None:
    model, x, _ = synthetic
    data = model.to_bytes()
    loaded = IntentModel.from_bytes(data)
    assert loaded.predict_embeddings(x) == model.predict_embeddings(x)
    assert loaded.threshold == model.threshold and loaded.classes == model.classes
    assert loaded.describe() == model.describe()
    json.dumps(model.describe())  # JSON-able
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        meta = json.loads(npz["meta_json"].tobytes())
    assert meta["version"] == ARTIFACT_VERSION and meta["embedder"] == "synthetic"


def multimodal(
    n_classes: int, modes: int, per_mode: int, dim: int = 32, spread: float = 0.5, seed: int = 0
) -> tuple[np.ndarray, list[str]]:
    """Each intent is several tight, scattered groups of paraphrases: no linear boundary fits."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_classes * modes, dim))
    owner = np.repeat(np.arange(n_classes), modes)
    group = np.repeat(np.arange(n_classes * modes), per_mode)
    x = centres[group] / np.sqrt(dim) + spread * rng.normal(size=(len(group), dim)) / np.sqrt(dim)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x.astype(np.float32), [f"intent_{k:02d}" for k in owner[group]]


def test_neighbour_vote_is_kept_when_cross_validation_says_it_helps() -> None:
    x, labels = multimodal(10, 6, 8)
    model = IntentModel.train_embeddings(x[::2], labels[::2], embedder_name="synthetic")
    assert model.knn_weight > 0 and model.neighbours is not None
    assert model.info["cv"]["accuracy"] >= model.info["cv_accuracy_without_knn"] + 0.1
    assert "knn" in model.describe()["classifier"]
    predictions = model.predict_embeddings(x[1::2])
    accuracy = np.mean([p.intent == y for p, y in zip(predictions, labels[1::2], strict=True)])
    logits = x[1::2] @ model.coef.T + model.intercept
    plain = np.mean(np.asarray(model.classes)[logits.argmax(axis=1)] == np.asarray(labels[1::2]))
    assert accuracy >= 0.95 and accuracy >= plain + 0.1
    loaded = IntentModel.from_bytes(model.to_bytes())
    assert loaded.predict_embeddings(x[1::2]) == predictions
    with np.load(io.BytesIO(model.to_bytes()), allow_pickle=False) as npz:
        assert npz["neighbours"].dtype == np.float16 and len(npz["neighbours"]) == len(x[::2])


def test_neighbour_vote_is_dropped_when_it_does_not_help(synthetic) -> None:
    model, _, _ = synthetic  # compact clusters: the regression alone is already right
    assert model.knn_weight == 0 and model.neighbours is None
    assert "knn" not in model.describe()["classifier"]
    with np.load(io.BytesIO(model.to_bytes()), allow_pickle=False) as npz:
        assert "neighbours" not in npz.files


def _rewrite(
    data: bytes, drop: tuple[str, ...] = (), drop_meta: tuple[str, ...] = (), **changes: object
) -> bytes:
    """Return an artifact with some arrays and metadata keys removed and others changed."""
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files if k not in drop}
    meta = json.loads(arrays["meta_json"].tobytes())
    meta.update(changes)
    for key in drop_meta:
        del meta[key]
    arrays["meta_json"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    out = io.BytesIO()
    np.savez(out, **arrays)
    return out.getvalue()


def test_version_1_artifacts_load_as_plain_regression() -> None:
    x, labels = multimodal(6, 2, 20, spread=0.3, seed=3)
    model = IntentModel.train_embeddings(x[::2], labels[::2], embedder_name="synthetic")
    # A version 1 artifact had neither the unseen-need signals nor their calibrator inputs.
    model.reference, model.calibrator = None, None
    x, labels = x[1::2], labels[1::2]
    old = _rewrite(
        model.to_bytes(),
        drop=("neighbours", "neighbour_labels"),
        drop_meta=("knn_weight",),
        version=1,
    )
    loaded = IntentModel.from_bytes(old)
    assert loaded.neighbours is None and loaded.knn_weight == 0.0
    assert "knn" not in loaded.describe()["classifier"]
    predictions = loaded.predict_embeddings(x)
    accuracy = np.mean([p.intent == y for p, y in zip(predictions, labels, strict=True)])
    assert accuracy >= 0.8
    # Without the neighbour vote the probabilities are the regression's alone.
    logits = x[:1] @ model.coef.T + model.intercept
    plain = np.exp(logits / model.temperature - (logits / model.temperature).max())
    assert predictions[0].ranked[0][1] == pytest.approx(float(plain.max() / plain.sum()), 1e-5)


def test_version_2_artifacts_need_consistent_neighbours() -> None:
    x, labels = multimodal(10, 6, 8)
    model = IntentModel.train_embeddings(x, labels, embedder_name="synthetic")
    assert model.neighbours is not None
    with pytest.raises(ArtifactError, match="incomplete"):
        IntentModel.from_bytes(_rewrite(model.to_bytes(), drop=("neighbours",)))
    with np.load(io.BytesIO(model.to_bytes()), allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    arrays["neighbour_labels"] = arrays["neighbour_labels"] + len(model.classes)
    broken = io.BytesIO()
    np.savez(broken, **arrays)
    with pytest.raises(ArtifactError, match="neighbour"):
        IntentModel.from_bytes(broken.getvalue())


def test_neighbour_vote_favours_the_nearest_training_rows() -> None:
    rows = np.eye(4, dtype=np.float32)[[0, 0, 1, 2]]
    labels = np.array([0, 0, 1, 2])
    query = np.array([[0.9, 0.1, 0.0, 0.0], [0.0, 0.0, 0.2, 0.9]], dtype=np.float32)
    votes = np.exp(_knn_log_probs(query, rows, labels, n_classes=3, k=20))  # k > rows is fine
    assert votes.sum(axis=1) == pytest.approx([1.0, 1.0])
    assert votes[0].argmax() == 0 and votes[0, 0] > 0.99
    assert votes[1].argmax() == 2
    nearest_only = np.exp(_knn_log_probs(query[1:], rows, labels, n_classes=3, k=1))
    assert nearest_only[0, 2] > 0.99


def test_artifact_loading_refuses_pickles_and_unknown_versions(synthetic) -> None:
    model, _, _ = synthetic
    pickled = io.BytesIO()
    np.savez(pickled, coef=np.array([object()], dtype=object))
    with pytest.raises(ArtifactError):
        IntentModel.from_bytes(pickled.getvalue())
    with pytest.raises(ArtifactError):
        IntentModel.from_bytes(b"")
    with np.load(io.BytesIO(model.to_bytes()), allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    meta = json.loads(arrays["meta_json"].tobytes())
    meta["version"] = ARTIFACT_VERSION + 1
    arrays["meta_json"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    future = io.BytesIO()
    np.savez(future, **arrays)
    with pytest.raises(ArtifactError, match="version"):
        IntentModel.from_bytes(future.getvalue())


def test_describe_reports_the_cross_validated_policy(synthetic) -> None:
    model, _, _ = synthetic
    summary = model.describe()
    assert summary["n_classes"] == 8 and summary["n_train"] == 240
    assert summary["threshold"] == model.threshold and summary["precision_target"] == 0.9
    assert summary["cv_precision"] >= 0.9
    assert 0.5 <= summary["cv_automation_rate"] <= 1.0
    assert summary["cv_expected_calibration_error"] < 0.1


def test_confidence_is_calibrated_on_fresh_rows() -> None:
    # Overlapping clusters make plenty of mistakes; confidence must track how often it's right.
    x, labels, _ = clusters(6, 600, spread=2.8, seed=4)
    # Without held-out intents every row is in scope, so confidence is P(right | in scope).
    model = IntentModel.train_embeddings(
        x[::2], labels[::2], embedder_name="synthetic", intent_groups=0
    )
    predictions = model.predict_embeddings(x[1::2])
    right = np.array([p.intent == y for p, y in zip(predictions, labels[1::2], strict=True)])
    confidence = np.array([p.confidence for p in predictions])
    assert 0.5 < right.mean() < 0.95
    for low, high in [(0.0, 0.5), (0.5, 0.8), (0.8, 1.01)]:
        band = (confidence >= low) & (confidence < high)
        assert band.sum() > 50
        assert right[band].mean() == pytest.approx(confidence[band].mean(), abs=0.06)


def _unseen_split(seed: int) -> tuple[np.ndarray, list[str], np.ndarray, np.ndarray]:
    """Twelve intents: train on nine (half their rows), the other three are unseen needs."""
    x, labels, _ = clusters(12, 120, spread=0.9, seed=seed)
    names = np.asarray(labels)
    seen = np.isin(names, [f"intent_{k:02d}" for k in range(9)])
    train = seen & (np.arange(len(names)) % 2 == 0)
    fresh = seen & ~train
    return x[train], list(names[train]), x[fresh], x[~seen]


def test_leave_intents_out_escalates_needs_no_intent_covers() -> None:
    # No out-of-scope rows and no background: held-out intents alone teach what unseen looks like.
    x_train, y_train, fresh, unseen = _unseen_split(seed=5)
    plain = IntentModel.train_embeddings(
        x_train, y_train, embedder_name="synthetic", precision_target=0.9, intent_groups=0
    )
    held = IntentModel.train_embeddings(
        x_train, y_train, embedder_name="synthetic", precision_target=0.9
    )

    def escalated(model: IntentModel, rows: np.ndarray) -> float:
        return float(np.mean([p.is_out_of_scope for p in model.predict_embeddings(rows)]))

    # The in-scope-only calibration answers most unseen needs; leave-intents-out does not.
    assert escalated(held, unseen) >= escalated(plain, unseen) + 0.3
    assert escalated(held, unseen) >= 0.75
    assert escalated(held, fresh) <= 0.1  # it still answers fresh in-scope messages
    summary = held.describe()
    # The report's expected unseen escalation comes from training data only and is honest.
    assert summary["cv_unseen_escalation_by_source"]["held_out_intent"] == pytest.approx(
        escalated(held, unseen), abs=0.15
    )
    assert summary["cv_in_scope_precision"] >= 0.9
    assert plain.describe()["cv_unseen_escalation"] is None


def _trained_with_half_the_unseen(
    kind: str,
) -> tuple[IntentModel, np.ndarray, np.ndarray]:
    """Train with half the unseen needs as a background of `kind`; return the model, the
    unseen rows it did not see and fresh in-scope rows."""
    x_train, y_train, fresh, unseen = _unseen_split(seed=6)
    model = IntentModel.train_embeddings(
        x_train,
        y_train,
        embedder_name="synthetic",
        precision_target=0.9,
        intent_groups=0,
        background=unseen[::2] if kind == "background" else None,
        store_background=unseen[::2] if kind == "store_background" else None,
    )
    return model, unseen[1::2], fresh


def test_background_rows_become_a_class_that_is_never_answered() -> None:
    # The background stands for the shipped general out-of-domain corpus.
    model, unseen, fresh = _trained_with_half_the_unseen("background")
    predictions = model.predict_embeddings(unseen)
    assert np.mean([p.off_topic for p in predictions]) >= 0.8
    assert all(p.is_out_of_scope for p in predictions if p.off_topic)
    assert all(p.intent != BACKGROUND_LABEL for p in predictions)
    assert all(name != BACKGROUND_LABEL for p in predictions for name, _ in p.ranked)
    assert np.mean([not p.off_topic for p in model.predict_embeddings(fresh)]) >= 0.95
    assert BACKGROUND_LABEL not in model.describe()["per_intent_examples"]
    loaded = IntentModel.from_bytes(model.to_bytes())
    assert loaded.predict_embeddings(unseen) == predictions


def test_background_too_close_to_the_workspace_is_dropped() -> None:
    x_train, y_train, _, _ = _unseen_split(seed=7)
    # A "background" that repeats the workspace's own examples must not teach it to escalate them.
    model = IntentModel.train_embeddings(
        x_train, y_train, embedder_name="synthetic", intent_groups=0, background=x_train[:50]
    )
    assert model.info["n_background"] == 0


def test_store_background_is_escalated_to_a_person_not_called_off_topic() -> None:
    # The background stands for the shipped store background.
    model, unseen, fresh = _trained_with_half_the_unseen("store_background")
    assert model.info["n_store_background"] == len(unseen)
    # Three unseen needs in the background: it trains as several classes (k-means clusters).
    store_classes = [name for name in model.classes if is_store_background(name)]
    assert 3 <= len(store_classes) <= STORE_BACKGROUND_CLUSTERS
    predictions = model.predict_embeddings(unseen)
    assert np.mean([p.untaught for p in predictions]) >= 0.8
    # Never answered, never off-topic (a store question is for a person), never shown as a class.
    assert all(p.is_out_of_scope and not p.off_topic for p in predictions if p.untaught)
    assert not any(is_reserved(p.intent) for p in predictions)
    assert not any(is_reserved(name) for p in predictions for name, _ in p.ranked)
    assert not any(is_reserved(name) for name in model.describe()["per_intent_examples"])
    assert np.mean([p.untaught for p in model.predict_embeddings(fresh)]) <= 0.05
    loaded = IntentModel.from_bytes(model.to_bytes())
    assert loaded.predict_embeddings(unseen) == predictions


def test_store_background_near_what_the_workspace_taught_is_dropped() -> None:
    x_train, y_train, _, _ = _unseen_split(seed=7)
    # Store-background rows sit close to a shop's topics; one a little further from an example
    # than the general background's bar is still dropped (a shop that taught gift wrapping
    # keeps no "do you gift wrap?" row).
    # Rows at cosine halfway between the two bars to an example: rotate each example away.
    between = (DECONTAMINATE_COSINE + STORE_DECONTAMINATE_COSINE) / 2
    rng = np.random.default_rng(3)
    base = x_train[:40]
    other = rng.normal(size=base.shape).astype(np.float32)
    other -= np.sum(other * base, axis=1, keepdims=True) * base
    other /= np.linalg.norm(other, axis=1, keepdims=True)
    near = between * base + np.sqrt(1 - between**2) * other
    assert np.allclose(np.sum(near * base, axis=1), between, atol=1e-5)
    model = IntentModel.train_embeddings(
        x_train, y_train, embedder_name="synthetic", intent_groups=0, store_background=near
    )
    assert model.info["n_store_background"] == 0
    for label in (STORE_BACKGROUND_LABEL, f"{STORE_BACKGROUND_LABEL}03"):
        with pytest.raises(ValueError, match="reserved"):
            IntentModel.train_embeddings(x_train[:6], [label, "a"] * 3)


def test_out_of_scope_rows_are_escalated() -> None:
    x, labels, _ = clusters(6, 80, spread=0.6, seed=2)
    rng = np.random.default_rng(9)
    noise = rng.normal(size=(160, x.shape[1])).astype(np.float32)
    noise /= np.linalg.norm(noise, axis=1, keepdims=True)
    model = IntentModel.train_embeddings(
        np.vstack([x[::2], noise[::2]]),
        labels[::2] + ["oos"] * 80,
        embedder_name="synthetic",
        oos_label="oos",
        precision_target=0.9,
    )
    fresh_oos = model.predict_embeddings(noise[1::2])
    assert np.mean([p.is_out_of_scope for p in fresh_oos]) >= 0.9
    fresh_in = model.predict_embeddings(x[1::2])
    assert np.mean([not p.is_out_of_scope for p in fresh_in]) >= 0.8
    assert all(p.intent != "oos" for p in fresh_in if not p.is_out_of_scope)


def test_training_rejects_unusable_labels() -> None:
    x, labels, _ = clusters(3, 4)
    with pytest.raises(ValueError, match="at least 2 examples"):
        IntentModel.train_embeddings(x[:9], [*labels[:8], "lonely"])
    with pytest.raises(ValueError, match="two distinct"):
        IntentModel.train_embeddings(x[:4], ["same"] * 4)
    with pytest.raises(ValueError, match="labels"):
        IntentModel.train(["a", "b"], ["x"])


def test_an_unreachable_target_means_never_answering() -> None:
    x, labels, _ = clusters(4, 20, spread=3.0, seed=1)  # barely better than chance
    model = IntentModel.train_embeddings(
        x, labels, embedder_name="synthetic", precision_target=0.99
    )
    assert model.threshold == math.inf and model.describe()["threshold"] is None
    assert all(p.is_out_of_scope for p in model.predict_embeddings(x))
    assert IntentModel.from_bytes(model.to_bytes()).threshold == math.inf


# ------------------------------------------------------------------ slow: real embedders
@pytest.fixture(scope="module")
def real_model() -> IntentModel:
    """A model on the hand-written fixture with the default embedder (out of scope included)."""
    texts, labels = rows({**EXAMPLES, "oos": OUT_OF_SCOPE})
    return IntentModel.train(texts, labels, oos_label="oos", precision_target=0.8)


@pytest.mark.slow
def test_real_model_predicts_held_out_paraphrases(real_model: IntentModel) -> None:
    texts, labels = rows(HELD_OUT)
    predictions = real_model.predict(texts)
    right = [p.intent == y for p, y in zip(predictions, labels, strict=True)]
    assert sum(right) >= 0.9 * len(right)
    answered = [ok for ok, p in zip(right, predictions, strict=True) if not p.is_out_of_scope]
    assert len(answered) >= len(right) // 2 and all(answered)


@pytest.mark.slow
def test_real_model_escalates_off_topic_messages(real_model: IntentModel) -> None:
    assert all(p.is_out_of_scope for p in real_model.predict(OUT_OF_SCOPE_HELD_OUT))


@pytest.mark.slow
def test_real_model_survives_a_round_trip_and_reuses_vectors(real_model: IntentModel) -> None:
    from tandem.triage.embedders import get_embedder

    texts, _ = rows(HELD_OUT)
    vectors = get_embedder(real_model.embedder_name).encode(texts)
    loaded = IntentModel.from_bytes(real_model.to_bytes())
    assert loaded.predict_embeddings(vectors) == real_model.predict(texts)
    assert real_model.predict([]) == []
