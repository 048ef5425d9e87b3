"""The benchmark summaries: pure functions over outcomes (the runs themselves are measured)."""

from __future__ import annotations

from tandem.demo.bench import summarise
from tandem.knowledge.bench import build_articles


def test_covered_questions_count_right_and_wrong_answers_and_the_rest_count_answers() -> None:
    report = summarise(
        [
            ("start_return", "covered", True, "start_return", "answer"),
            ("start_return", "covered", True, "track_order", "answer"),
            ("start_return", "covered", False, None, "escalate"),
            ("oos", "general", False, None, "reply"),
            ("oos", "general", True, "opening_hours", "answer"),
        ]
    )
    covered, general = report["kinds"]["covered"], report["kinds"]["general"]
    assert covered["answered_right_share"] == round(1 / 3, 4)
    assert covered["answered_wrong_share"] == round(1 / 3, 4)
    assert covered["precision"] == 0.5
    assert general["answered_with_faq_or_article_share"] == 0.5
    assert general["actions"] == {"answer": 1, "reply": 1}


def test_one_article_per_intent_and_its_source_row_is_not_asked() -> None:
    grouped = {
        "a": [("qa1", "answer a1"), ("qa2", "answer a2")],
        "b": [("qb1", "answer b1"), ("qb2", "answer b2"), ("qb3", "answer b3")],
    }
    documents, questions = build_articles(grouped, seed=1, titles=True)
    assert [d.title for d in documents] == ["A", "B"]
    for document, (intent, asked) in zip(documents, questions.items(), strict=True):
        source_question = next(q for q, a in grouped[intent] if a == document.body)
        assert source_question not in asked
        assert len(asked) == len(grouped[intent]) - 1
    assert build_articles(grouped, seed=1, titles=True) == (documents, questions)
