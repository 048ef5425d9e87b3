"""The need in words: meta talk and pleasantries are no need, and details do not replace it."""

from __future__ import annotations

import pytest

from tandem.handoff.need_words import NEED_MAX_CHARS, choose_need, need_in_words

NO_NEED = [
    "This is ridiculous, third time I'm asking, nobody helps!!!",
    "this is the third time I'm asking",
    "let me talk to a person",
    "I want to talk to a real person please",
    "I want a human right now!",
    "can I speak to a manager",
    "hi",
    "Hi there!",
    "ok thanks",
    "hello?? anyone there?",
    "I already told you twice",
    "How many times do I have to explain this?",
    "Seriously?? Still no answer!",
    "Why does nobody answer me?? Useless service",
    "I'm so angry, this is the worst service ever",
    "This is unacceptable, I've been waiting for an hour and nobody answers",
    "Quiero hablar con una persona",
    "Nadie me ayuda, es ridículo",
    "Ich möchte mit einem Menschen sprechen",
    "Je veux parler à un conseiller",
]
NEEDS = [
    ("Where is my order NW-123456? It was supposed to arrive Monday.", "Where is my order"),
    (
        "Order #A-12345 never arrived and this is the third time. I want a human right now!",
        "Order #A-12345 never arrived and this is the third time.",
    ),
    ("I'd like to speak to someone about my refund", "about my refund"),
    ("Why is nobody helping me with my refund", "my refund"),
    ("I've been waiting for 3 days for my refund", "for my refund"),
    ("Hi team, my jacket has a hole", "my jacket has a hole"),
    ("The delivery person left my parcel in the rain", "left my parcel"),
    ("I'm going to sue you", "sue you"),
    ("Hola, mi pedido no ha llegado", "mi pedido no ha llegado"),
    ("Mon colis n'est jamais arrivé", "jamais arrivé"),
]


@pytest.mark.parametrize("text", NO_NEED)
def test_meta_talk_and_pleasantries_state_no_need(text: str) -> None:
    assert need_in_words(text) == ""
    assert choose_need([text]) is None


@pytest.mark.parametrize(("text", "expected"), NEEDS)
def test_a_stated_need_is_kept_in_the_customers_words(text: str, expected: str) -> None:
    words = need_in_words(text)
    assert expected in words
    assert "human" not in words.lower()  # the request for a person is left out
    assert not words.startswith(("Hi", "Hola"))  # so is the greeting


def test_the_newest_message_that_says_enough_is_the_need() -> None:
    texts = [
        "hi",
        "My parcel NW-551234 still hasn't arrived",
        "This is ridiculous, third time I'm asking, nobody helps!!!",
    ]
    assert choose_need(texts) == choose_need(texts[:2])
    stated = choose_need(texts)
    assert stated is not None and stated.index == 1
    assert stated.text == "My parcel NW-551234 still hasn't arrived"
    newer = [*texts, "Actually I also want to change the delivery address"]
    assert choose_need(newer) is not None and choose_need(newer).index == 3  # type: ignore[union-attr]


def test_a_short_reply_does_not_replace_the_question_it_answers() -> None:
    stated = choose_need(["Where is my order?", "NW-482913"])
    assert stated is not None and stated.text == "Where is my order?"


def test_a_terse_need_is_taken_when_nothing_says_more() -> None:
    stated = choose_need(["hi", "refund?", "hello?? anyone there?"])
    assert stated is not None and (stated.index, stated.text) == (1, "refund?")
    assert choose_need(["yes"]) is None  # a stopword alone says nothing


def test_markup_is_kept_as_text_and_long_needs_are_cut() -> None:
    markup = "My order <script>window.__xss=1</script> never arrived"
    assert need_in_words(markup) == markup  # the console escapes it; nothing is executed
    long = "My order never arrived and " + "the tracking page shows nothing at all " * 20
    assert len(need_in_words(long)) <= NEED_MAX_CHARS
    assert need_in_words(long).endswith("…")
