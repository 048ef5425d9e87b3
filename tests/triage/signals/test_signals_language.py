from __future__ import annotations

import pytest

from tandem.triage.signals import detect_language
from tandem.triage.signals.language import supported_languages


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Where is my order? It was supposed to arrive yesterday.", "en"),
        ("Quiero hablar con una persona sobre mi pedido", "es"),
        ("Ich möchte mit einem Mitarbeiter sprechen", "de"),
        ("Je veux parler à un conseiller, s'il vous plaît", "fr"),
        ("Il mio ordine non è ancora arrivato", "it"),
        ("Meu pedido ainda não chegou", "pt"),
        ("Mijn pakket is nog niet aangekomen", "nl"),
        ("注文はどこですか", "ja"),
    ],
)
def test_detects_common_support_languages(text: str, code: str) -> None:
    lang, confidence = detect_language(text)
    assert lang == code
    assert confidence > 0.5


@pytest.mark.parametrize("text", ["", "   ", "😀😀", "12345", "!!!", "<br/>"])
def test_no_letters_means_no_language(text: str) -> None:
    assert detect_language(text) == (None, 0.0)


def test_short_text_has_low_confidence() -> None:
    _, short = detect_language("agent please")
    _, long = detect_language("I would like to talk to an agent about my missing parcel please")
    assert short < 0.5 < long


def test_flat_distribution_gives_no_language() -> None:
    assert detect_language("hi")[0] is None


def test_common_one_word_greetings() -> None:
    assert detect_language("Hola!") == ("es", 0.5)
    assert detect_language("danke")[0] == "de"


def test_allowed_restricts_the_answer() -> None:
    # Portuguese is close to Spanish; with only en/es allowed the answer must be one of them.
    lang, confidence = detect_language("obrigado pela ajuda", allowed=["en", "es"])
    assert lang in {"en", "es"}
    assert confidence < 0.3  # the allowed languages hold little of the model's belief
    assert detect_language("Wo ist meine Bestellung?", allowed=["de", "en"])[0] == "de"


def test_bad_allowed_values_raise() -> None:
    with pytest.raises(ValueError, match="unsupported"):
        detect_language("hello there", allowed=["xx"])
    with pytest.raises(ValueError):
        detect_language("hello there", allowed=[])
    with pytest.raises(TypeError):
        detect_language("hello there", allowed="en")


def test_urls_and_html_are_ignored() -> None:
    text = "<p>Bonjour, ma commande n'est pas arrivée</p> https://shop.example.com/orders/123"
    assert detect_language(text)[0] == "fr"


def test_supported_languages_include_the_use_languages() -> None:
    codes = set(supported_languages())
    assert {"en", "es", "de", "fr", "it", "pt", "nl", "pl", "ru", "tr", "ar", "zh"} <= codes


@pytest.mark.parametrize(
    ("text", "code"),
    [("¿Aceptan PayPal?", "es"), ("¡Mi pedido no llegó!", "es"), ("Größe M?", "de")],
)
def test_a_mark_only_one_language_writes_settles_a_short_message(text: str, code: str) -> None:
    # The n-gram model alone is unsure of these (e.g. "¿Aceptan PayPal?" came out es at 0.04).
    lang, confidence = detect_language(text)
    assert lang == code
    assert confidence >= 0.6  # enough for the front line to answer in that language
    assert detect_language(text, allowed=["en", "es", "de", "fr"])[0] == code


def test_a_mark_does_not_override_a_sure_answer_or_the_allowed_languages() -> None:
    long_english = "I was greeted with ¡Hola! on your homepage but I cannot find my order anywhere"
    assert detect_language(long_english)[0] == "en"
    assert detect_language("¿Aceptan PayPal?", allowed=["en", "fr"])[0] != "es"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("mon code promo est invalide", "fr"),  # py3langid alone: Latin at 0.28
        ("wo ist mein paket", "de"),
        ("quiero devolver mi chaqueta", "es"),
    ],
)
def test_two_function_words_of_one_language_settle_a_short_message(text: str, code: str) -> None:
    lang, confidence = detect_language(text)
    assert (lang, confidence >= 0.6) == (code, True)


@pytest.mark.parametrize("text", ["I paid 50 EST on mon", "gift voucher?", "code promo invalide"])
def test_mixed_or_missing_function_words_settle_nothing(text: str) -> None:
    # "est" and "mon" are French function words, "i" an English one: no single language.
    _, confidence = detect_language(text)
    assert confidence < 0.6
