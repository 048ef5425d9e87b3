from __future__ import annotations

import pytest

from tandem.triage.signals import BotLoop, Turn, detect_bot_loop
from tandem.triage.signals.bot_loop import (
    BOT_DISSATISFACTION,
    LOW_CONFIDENCE_STREAK,
    REPHRASED_QUESTION,
    SAME_INTENT_AGAIN,
)

ADDRESS = Turn("How do I change my delivery address?", ai_answered=True, intent="address")


def test_rephrasing_after_an_ai_answer(embed) -> None:
    text = "how can I change the address for delivery"
    result = detect_bot_loop([ADDRESS], Turn(text, embed(text)))
    assert result.score >= 0.5
    assert result.reasons[0] == REPHRASED_QUESTION


def test_rephrasing_without_ai_answer_does_not_count() -> None:
    earlier = Turn("How do I change my delivery address?", ai_answered=False)
    assert detect_bot_loop([earlier], Turn("how can I change the address for delivery")).score < 0.5


def test_same_intent_again_is_reported() -> None:
    current = Turn("I want to update the shipping address on my order", intent="address")
    assert SAME_INTENT_AGAIN in detect_bot_loop([ADDRESS], current).reasons


@pytest.mark.parametrize(
    "text",
    [
        "that's not what I asked",
        "you're not helping",
        "this doesn't answer my question",
        "useless bot",
        "eso no es lo que pregunté",
        "Das hilft mir nicht weiter",
        "ce n'est pas ce que j'ai demandé",
        "je helpt me niet",
    ],
)
def test_explicit_dissatisfaction(text: str) -> None:
    result = detect_bot_loop([ADDRESS], Turn(text))
    assert result.score >= 0.8
    assert BOT_DISSATISFACTION in result.reasons


@pytest.mark.parametrize(
    "text", ["thanks, that's helpful!", "Can I pay with PayPal?", "ok and how long does it take?"]
)
def test_moving_on_is_not_a_loop(text: str) -> None:
    assert detect_bot_loop([ADDRESS], Turn(text)) == BotLoop(score=0.0, reasons=[])


def test_low_confidence_streak() -> None:
    history = [Turn("asdf qwer", confidence=0.2), Turn("the blorp thing", confidence=0.3)]
    result = detect_bot_loop(history, Turn("help with the zork", confidence=0.1))
    assert result.score >= 0.6
    assert result.reasons == [LOW_CONFIDENCE_STREAK]
    broken = [Turn("asdf", confidence=0.2), Turn("fine", confidence=0.9)]
    assert detect_bot_loop(broken, Turn("zork", confidence=0.1)).score < 0.5


def test_greetings_twice_are_not_a_loop() -> None:
    assert detect_bot_loop([Turn("hi", ai_answered=True)], Turn("hi")).score == 0.0


def test_empty_history_and_text() -> None:
    assert detect_bot_loop([], Turn("")).score == 0.0


def test_turn_is_frozen_and_hashable() -> None:
    with pytest.raises(AttributeError):
        ADDRESS.text = "x"  # type: ignore[misc]
    assert len({ADDRESS, ADDRESS}) == 1


def test_heldout_scenarios(heldout) -> None:
    for case in heldout["bot_loop"]:
        history = [Turn(text, ai_answered=answered) for text, answered in case["history"]]
        result = detect_bot_loop(history, Turn(case["current"]))
        assert (result.score >= 0.5) == case["loop"], (case, result)
