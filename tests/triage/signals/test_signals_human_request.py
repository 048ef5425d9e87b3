from __future__ import annotations

import pytest

from tandem.triage.signals import detect_human_request

POSITIVE = [
    "can I talk to a person",
    "agent please",
    "real human",
    "I want to speak to someone, not a bot",
    "quiero hablar con una persona",
    "ich möchte mit einem Mitarbeiter sprechen",
    "je veux parler à un conseiller",
    "posso parlare con un operatore?",
    "quero falar com um atendente",
    "ik wil met een medewerker spreken",
]
NEGATIVE = [
    "my agent number is wrong",
    "how do I add a person to my account",
    "is the human resources page down",
    "where is my order",
    "I don't need to talk to anyone, just tell me the opening hours",
    "the delivery person was rude",
]


@pytest.mark.parametrize("text", POSITIVE)
def test_fires_on_requests_in_many_languages(text: str, embed) -> None:
    assert detect_human_request(text, embed(text)) >= 0.9


@pytest.mark.parametrize("text", NEGATIVE)
def test_does_not_fire_on_near_misses(text: str, embed) -> None:
    assert detect_human_request(text, embed(text)) < 0.5


def test_embedding_catches_an_unpatterned_phrasing(embed) -> None:
    text = "I need to contact somebody from your support team"
    assert detect_human_request(text, embed(text)) >= 0.5


def test_vector_is_optional() -> None:
    assert detect_human_request("can I speak to a human please") >= 0.9
    assert detect_human_request("what time do you open") < 0.5


def test_wrong_vector_size_raises() -> None:
    import numpy as np

    with pytest.raises(ValueError):
        detect_human_request("what time do you open", np.ones(7, dtype=np.float32))


def test_heldout_precision_and_recall(heldout, embed) -> None:
    pos, neg = heldout["human_request"]["positive"], heldout["human_request"]["negative"]
    tp = sum(detect_human_request(t, embed(t)) >= 0.5 for t in pos)
    fp = sum(detect_human_request(t, embed(t)) >= 0.5 for t in neg)
    assert tp / len(pos) >= 0.9
    assert fp <= 1
