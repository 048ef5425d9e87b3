"""Small-talk detection: nearest neighbour on the real multilingual embedding."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from tandem.triage.pipeline import SIGNAL_EMBEDDER, embed
from tandem.triage.smalltalk import (
    MAX_BACKGROUND_RATE,
    choose_bar,
    detect_small_talk,
    load_phrases,
    smalltalk_model,
)

DEV = Path(__file__).parents[2] / "benchmarks" / "demo_questions" / "dev.csv"


def detect(text: str) -> str | None:
    found = detect_small_talk(text, embed(SIGNAL_EMBEDDER, text))
    return found.kind if found else None


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("hi", "greeting"),
        ("hello?", "greeting"),
        ("Good morning :)", "greeting"),
        ("hola", "greeting"),
        ("Guten Morgen", "greeting"),
        ("bonjour", "greeting"),
        ("thanks!", "thanks"),
        ("thank you so much", "thanks"),
        ("muchas gracias", "thanks"),
        ("danke schön", "thanks"),
        ("merci beaucoup", "thanks"),
        ("bye", "goodbye"),
        ("see you", "goodbye"),
        ("adiós", "goodbye"),
        ("tschüss", "goodbye"),
        ("au revoir", "goodbye"),
    ],
)
def test_small_talk_is_recognised_in_every_language(text: str, kind: str) -> None:
    assert detect(text) == kind


@pytest.mark.parametrize(
    "text",
    [
        "hi, where is my order?",
        "hi, my parcel is late",
        "Hello, I want a refund",
        "thanks, but where is my refund?",
        "hola, ¿dónde está mi pedido?",
        "hallo, mein Paket ist nicht angekommen",
        "bonjour, ma commande est en retard",
        "bye, cancel my order",
        "talk to a human",
        "What's the weather going to be like on Mars next week?",
        "asdfghjkl",
        "hmm",
        "",
    ],
)
def test_messages_with_a_need_or_nonsense_are_not_small_talk(text: str) -> None:
    assert detect(text) is None


def test_long_messages_are_never_small_talk() -> None:
    assert detect("hi " * 40) is None


def test_the_bar_comes_from_the_data_and_recognises_most_phrases() -> None:
    model = smalltalk_model()
    assert 0.3 < model.bar < 0.95
    # Leave-one-out over the shipped phrases: nearly all are still recognised.
    assert model.loo_recall >= 0.9
    assert model.max_words == max(len(p.split()) for _, _, p in load_phrases())


def test_choose_bar_lets_through_at_most_the_allowed_share() -> None:
    won = np.array([0.9, 0.8, 0.7, -np.inf, *([-np.inf] * 96)], dtype=np.float32)
    bar = choose_bar(won, max_rate=0.02)  # 2 of 100 may pass
    assert float(np.sum(won >= bar)) == 2
    assert choose_bar(np.full(10, -np.inf, dtype=np.float32)) == 0.0
    assert MAX_BACKGROUND_RATE <= 0.05


def test_no_demo_dev_question_is_small_talk() -> None:
    with DEV.open(encoding="utf-8") as handle:
        texts = [row["text"] for row in csv.DictReader(handle)]
    caught = [t for t in texts if detect(t) is not None]
    assert caught == []


def test_languages_of_a_phrase_shared_by_several_are_all_kept() -> None:
    found = detect_small_talk("hey", embed(SIGNAL_EMBEDDER, "hey"))
    assert found is not None and {"en", "de"} <= set(found.languages)
