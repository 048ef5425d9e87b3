from __future__ import annotations

import pytest

from tandem.triage.signals import ALL_TOPICS, detect_sensitive_topics

CASES = [
    ("how do I cancel my order before it ships", "cancellation"),
    ("I'll sue you", "legal_threat"),
    ("I was charged twice and you refuse to refund me", "refund_dispute"),
    ("I want to file a formal complaint about your driver", "complaint"),
    ("my mother passed away and the account was hers", "vulnerable_customer"),
    ("my account was hacked and someone changed my email", "security_incident"),
    ("Ich möchte meinen Vertrag kündigen", "cancellation"),
    ("voy a demandarlos", "legal_threat"),
    ("je souhaite déposer une réclamation", "complaint"),
    ("mi cuenta fue hackeada", "security_incident"),
]
NOT_SENSITIVE = [
    "what's your refund policy",
    "what is your cancellation policy",
    "I don't want to cancel, just change the delivery address",
    "how do I change my password",
    "my phone died, can you resend the code?",
    "I'm a lawyer and need an invoice with my firm's name",
    "I'm sick of waiting for my parcel",
    "please unsubscribe me from the newsletter",
]


@pytest.mark.parametrize(("text", "topic"), CASES)
def test_topics_fire(text: str, topic: str, embed) -> None:
    result = detect_sensitive_topics(text, embed(text))
    assert topic in result
    assert 0.5 <= result[topic] <= 1.0


@pytest.mark.parametrize("text", NOT_SENSITIVE)
def test_near_misses_stay_quiet(text: str, embed) -> None:
    assert detect_sensitive_topics(text, embed(text)) == {}


def test_self_harm_scores_highest(embed) -> None:
    text = "I don't want to live anymore"
    assert detect_sensitive_topics(text, embed(text))["vulnerable_customer"] == 1.0


def test_enabled_limits_topics(embed) -> None:
    text = "my husband passed away and I need to close his account"
    vector = embed(text)
    assert set(detect_sensitive_topics(text, vector)) == {"cancellation", "vulnerable_customer"}
    assert set(detect_sensitive_topics(text, vector, enabled={"cancellation"})) == {"cancellation"}
    assert detect_sensitive_topics(text, vector, enabled=()) == {}


def test_unknown_topic_raises() -> None:
    with pytest.raises(ValueError, match="unknown"):
        detect_sensitive_topics("hello", enabled={"weather"})
    with pytest.raises(TypeError):
        detect_sensitive_topics("hello", enabled="cancellation")


def test_all_topics() -> None:
    assert "security_incident" in ALL_TOPICS and len(ALL_TOPICS) == 6


def test_heldout_precision(heldout, embed) -> None:
    also = heldout["sensitive_also_acceptable"]
    tp = fp = fn = 0
    for topic, texts in heldout["sensitive"].items():
        for text in texts:
            got = set(detect_sensitive_topics(text, embed(text)))
            wanted = set() if topic == "negative" else {topic}
            fp += len(got - wanted - set(also.get(text, [])))
            tp += len(got & wanted)
            fn += len(wanted - got)
    assert tp / (tp + fp) >= 0.95
    assert tp / (tp + fn) >= 0.9


FRUSTRATED_NOT_LEGAL = [
    "This is ridiculous, third time I'm asking, nobody helps!!!",
    "This is unacceptable. I demand an answer now!",
    "I'm sick of this, you people are useless",
    "I am furious, this is outrageous",
    "You will regret this",
    "I'll make sure everyone knows about this",
    "I will escalate this",
]


@pytest.mark.parametrize("text", FRUSTRATED_NOT_LEGAL)
def test_anger_without_legal_language_is_no_legal_threat(text: str, embed) -> None:
    assert "legal_threat" not in detect_sensitive_topics(text, embed(text))


def test_a_threat_like_embedding_alone_needs_legal_words(embed) -> None:
    # Even where the vector reads as a threat (here: a real one's), anger is not a legal threat…
    threat = embed("I will take legal action against your company")
    angry = "This is ridiculous, third time I'm asking, nobody helps!!!"
    assert "legal_threat" not in detect_sensitive_topics(angry, threat)
    # …while the same vector with legal words still fires, as do the explicit phrases.
    assert "legal_threat" in detect_sensitive_topics("this will end in court", threat)
    assert "legal_threat" in detect_sensitive_topics(angry + " I'm calling my lawyer", threat)


def test_reporting_to_an_authority_is_a_legal_threat(embed) -> None:
    text = "I'm reporting you to trading standards"
    assert "legal_threat" in detect_sensitive_topics(text, embed(text))
