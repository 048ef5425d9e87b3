"""The answer-or-escalate decision, as a pure function."""

from __future__ import annotations

import pytest

from tandem.triage.decision import Policy, Reason, Signals, decide

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
        {"ai_allowed_intents": ["a"], "human_only_topics": ["legal_threat"], "languages": ["de"]},
        threshold=0.7,
        blocked_intents=["b"],
    )
    assert policy.allowed_intents == {"a"}
    assert policy.blocked_intents == {"b"}
    assert policy.languages == {"de"}
    assert policy.threshold == 0.7
