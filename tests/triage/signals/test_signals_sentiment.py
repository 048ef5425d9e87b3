from __future__ import annotations

import json

import numpy as np
import pytest

from tandem.triage.signals import Sentiment, score_sentiment
from tandem.triage.signals.sentiment import (
    CUE_NAMES,
    model_metadata,
    score_frustration,
    support_cues,
    typographic_cues,
)


def test_frustrated_english(embed) -> None:
    text = "I have been waiting THREE WEEKS for my refund!!! This is RIDICULOUS"
    result = score_sentiment(text, embed(text))
    assert isinstance(result, Sentiment)
    assert result.label == "frustrated"
    assert result.frustration > 0.8
    assert result.compound < 0


def test_calm_and_happy_messages(embed) -> None:
    calm = score_sentiment("Could you tell me when my parcel will arrive?", embed("x"))
    happy = score_sentiment("Thanks so much, that fixed it!")
    assert calm.frustration < 0.5
    assert happy.label == "positive"
    assert happy.compound > 0.3


@pytest.mark.parametrize(
    "text",
    [
        "Llevo tres semanas esperando y nadie me contesta, es una vergüenza",
        "Ich bin stinksauer, mein Paket ist schon wieder verschwunden!",
        "C'est la troisième fois que je vous écris, c'est inadmissible",
    ],
)
def test_frustration_is_cross_lingual(text: str, embed) -> None:
    assert score_sentiment(text, embed(text)).label == "frustrated"


@pytest.mark.parametrize(
    "text",
    ["¿Me podrías decir cuándo llega mi pedido?", "Können Sie mir bitte die Rechnung schicken?"],
)
def test_polite_foreign_questions_are_not_negative(text: str, embed) -> None:
    # VADER would read the German article "die" as death; the valence model is used instead.
    result = score_sentiment(text, embed(text))
    assert result.label == "neutral"
    assert result.frustration < 0.5


def test_language_can_be_passed_in(embed) -> None:
    text = "Merci beaucoup, tout est parfait"
    assert score_sentiment(text, embed(text), language="fr").compound > 0.3


def test_third_time_prior_raises_frustration(embed) -> None:
    text = "This is the third time I'm writing to you about this"
    assert support_cues(text)["repeat_contact"] == 1.0
    assert score_sentiment(text, embed(text)).label == "frustrated"
    assert support_cues("Is the offer still valid?")["repeat_contact"] == 0.0


def test_typographic_cues() -> None:
    cues = dict(zip(CUE_NAMES, typographic_cues("WHY IS THIS SO SLOW!!! ridiculous"), strict=True))
    assert cues["caps"] == 1.0
    assert cues["exclaim"] > 0
    assert cues["irritation"] > 0
    quiet = typographic_cues("My USPS tracking number and the PDF invoice are attached.")
    assert quiet.tolist() == [0.0, 0.0, 0.0]  # acronyms are not shouting


def test_model_metadata_is_shipped() -> None:
    meta = model_metadata()
    assert "GoEmotions" in meta["source"]
    assert meta["embedder"] == "use-m3"
    metrics = json.loads(meta["metrics"])
    assert metrics["dev"]["roc_auc"] > 0.8


def test_empty_text_is_neutral() -> None:
    assert score_sentiment("") == Sentiment(compound=0.0, frustration=0.0, label="neutral")
    assert score_frustration("   ") == 0.0


def test_wrong_vector_size_raises() -> None:
    with pytest.raises(ValueError):
        score_sentiment("hello", np.zeros(3, dtype=np.float32))
