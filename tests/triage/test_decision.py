"""The answer-or-escalate decision, as a pure function."""

from __future__ import annotations

import pytest

from tandem.triage.decision import Action, Policy, Reason, Signals, answered_from_article, decide
from tandem.workspaces.settings import WorkspaceSettings

POLICY = Policy(
    threshold=0.6,
    human_only_topics=frozenset({"legal_threat", "cancellation"}),
    languages=frozenset({"en", "es"}),
)
ANSWERABLE = {"order_status", "return_policy"}


def signals(**overrides: object) -> Signals:
    base: dict[str, object] = {
        "text_is_empty": False,
        "language": "en",
        "intent": "order_status",
        "confidence": 0.9,
        "out_of_scope": False,
        "human_request": 0.0,
        "frustration": 0.1,
        "sensitive_topics": {},
        "bot_loop": 0.0,
    }
    base.update(overrides)
    return Signals(**base)  # type: ignore[arg-type]


def test_confident_allowed_intent_with_an_answer_is_answered() -> None:
    decision = decide(signals(), POLICY, answerable_intents=ANSWERABLE)
    assert decision.answer
    assert decision.reasons == ()
    assert decision.as_dict()["action"] == "answer"


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"confidence": 0.59}, Reason.LOW_CONFIDENCE),
        ({"out_of_scope": True}, Reason.OUT_OF_SCOPE),
        ({"intent": "unknown_intent"}, Reason.NO_APPROVED_ANSWER),
        ({"human_request": 0.9}, Reason.HUMAN_REQUESTED),
        ({"frustration": 0.95}, Reason.FRUSTRATION),
        ({"sensitive_topics": {"legal_threat": 0.9}}, Reason.SENSITIVE_TOPIC),
        ({"bot_loop": 0.8}, Reason.BOT_LOOP),
        ({"language": "ja"}, Reason.UNSUPPORTED_LANGUAGE),
        ({"text_is_empty": True, "intent": None, "confidence": 0.0}, Reason.EMPTY_MESSAGE),
        ({"intent": None, "confidence": 0.0}, Reason.NO_MODEL),
    ],
)
def test_each_trigger_escalates_with_its_reason(
    overrides: dict[str, object], reason: Reason
) -> None:
    decision = decide(signals(**overrides), POLICY, answerable_intents=ANSWERABLE)
    assert not decision.answer
    assert reason in decision.reasons


def test_topics_the_workspace_allows_do_not_escalate() -> None:
    decision = decide(
        signals(sensitive_topics={"complaint": 0.9}), POLICY, answerable_intents=ANSWERABLE
    )
    assert decision.answer


def test_blocked_and_not_allowed_intents_escalate() -> None:
    blocked = Policy(threshold=0.5, blocked_intents=frozenset({"order_status"}))
    assert decide(signals(), blocked, answerable_intents=ANSWERABLE).reasons == (
        Reason.INTENT_NOT_ALLOWED,
    )
    allow_list = Policy(threshold=0.5, allowed_intents=frozenset({"return_policy"}))
    assert decide(signals(), allow_list, answerable_intents=ANSWERABLE).reasons == (
        Reason.INTENT_NOT_ALLOWED,
    )


def test_every_fired_trigger_is_recorded() -> None:
    decision = decide(
        signals(human_request=1.0, frustration=0.99, sensitive_topics={"cancellation": 0.8}),
        POLICY,
        answerable_intents=ANSWERABLE,
    )
    assert decision.reasons == (Reason.HUMAN_REQUESTED, Reason.FRUSTRATION, Reason.SENSITIVE_TOPIC)
    assert decision.as_dict()["topics"] == ["cancellation"]


def test_policy_from_workspace_settings() -> None:
    policy = Policy.from_settings(
        WorkspaceSettings(
            ai_allowed_intents=("a",), human_only_topics=("legal_threat",), languages=("de",)
        ),
        threshold=0.7,
        blocked_intents=["b"],
    )
    assert policy.allowed_intents == {"a"}
    assert policy.blocked_intents == {"b"}
    assert policy.languages == {"de"}
    assert policy.threshold == 0.7
    assert policy.default_language == "de"
    assert policy.language_fallback == "escalate"


# --- the third action: reply (small talk, scope) --------------------------------------------


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("greeting", Reason.SMALL_TALK_GREETING),
        ("thanks", Reason.SMALL_TALK_THANKS),
        ("goodbye", Reason.SMALL_TALK_GOODBYE),
    ],
)
def test_small_talk_gets_a_reply(kind: str, reason: Reason) -> None:
    decision = decide(
        signals(small_talk=kind, confidence=0.1), POLICY, answerable_intents=ANSWERABLE
    )
    assert decision.action is Action.REPLY
    assert decision.reasons == (reason,)
    assert decision.as_dict()["action"] == "reply"
    assert not decision.answer


def test_small_talk_with_an_escalation_trigger_still_escalates() -> None:
    decision = decide(
        signals(small_talk="greeting", human_request=0.9), POLICY, answerable_intents=ANSWERABLE
    )
    assert decision.action is Action.ESCALATE
    assert Reason.HUMAN_REQUESTED in decision.reasons


@pytest.mark.parametrize(
    "overrides",
    [{"confidence": 0.2}, {"out_of_scope": True}, {"intent": None, "confidence": 0.0}],
)
def test_off_topic_miss_gets_a_scope_reply(overrides: dict[str, object]) -> None:
    decision = decide(signals(off_topic=True, **overrides), POLICY, answerable_intents=ANSWERABLE)
    assert decision.action is Action.REPLY
    assert decision.reasons[0] is Reason.OFF_TOPIC
    assert decision.may_answer_from_articles  # the knowledge base may still answer it


def test_second_off_topic_miss_in_a_row_escalates() -> None:
    decision = decide(
        signals(off_topic=True, confidence=0.2, scope_replies_before=1),
        POLICY,
        answerable_intents=ANSWERABLE,
    )
    assert decision.action is Action.ESCALATE
    assert decision.reasons == (Reason.LOW_CONFIDENCE, Reason.REPEATED_MISS)


@pytest.mark.parametrize(
    "overrides",
    [
        {"human_request": 0.9},  # the customer insists on a person
        {"frustration": 0.95},
        {"sensitive_topics": {"legal_threat": 0.9}},
        {"bot_loop": 0.8},
    ],
)
def test_off_topic_with_any_trigger_escalates(overrides: dict[str, object]) -> None:
    decision = decide(
        signals(off_topic=True, confidence=0.2, **overrides), POLICY, answerable_intents=ANSWERABLE
    )
    assert decision.action is Action.ESCALATE
    assert Reason.OFF_TOPIC not in decision.reasons


def test_store_question_the_model_is_unsure_about_escalates() -> None:
    decision = decide(signals(confidence=0.2), POLICY, answerable_intents=ANSWERABLE)
    assert decision.action is Action.ESCALATE
    assert decision.missed  # the flow then asks whether it is off-topic
    assert decision.reasons == (Reason.LOW_CONFIDENCE,)


def test_off_topic_does_not_block_a_confident_answer() -> None:
    decision = decide(signals(off_topic=True), POLICY, answerable_intents=ANSWERABLE)
    assert decision.action is Action.ANSWER


# --- language -------------------------------------------------------------------------------


def test_answer_without_translation_escalates_by_default() -> None:
    decision = decide(
        signals(language="es"), POLICY, answerable_intents=ANSWERABLE, localized_intents=()
    )
    assert decision.action is Action.ESCALATE
    assert decision.reasons == (Reason.NO_TRANSLATION,)
    assert not decision.may_answer_from_articles


def test_answer_without_translation_in_the_default_language_when_configured() -> None:
    policy = Policy(
        threshold=0.6, languages=frozenset({"en", "es"}), language_fallback="default_language"
    )
    decision = decide(
        signals(language="es"), policy, answerable_intents=ANSWERABLE, localized_intents=()
    )
    assert decision.action is Action.ANSWER
    assert decision.as_dict()["answer_language"] == "en"


def test_answer_with_translation_is_answered() -> None:
    decision = decide(
        signals(language="es"),
        POLICY,
        answerable_intents=ANSWERABLE,
        localized_intents={"order_status"},
    )
    assert decision.action is Action.ANSWER
    assert "answer_language" not in decision.details


def test_article_answer_replaces_an_intent_miss_and_keeps_what_it_replaced() -> None:
    missed = decide(signals(confidence=0.2), POLICY, answerable_intents=ANSWERABLE)
    answered = answered_from_article(missed, article_score=0.8)
    assert answered.action is Action.ANSWER and answered.reasons == ()
    assert answered.as_dict()["instead_of"] == ["low_confidence"]
    assert answered.as_dict()["source"] == "article"
    human = decide(signals(human_request=0.9), POLICY, answerable_intents=ANSWERABLE)
    assert not human.may_answer_from_articles
