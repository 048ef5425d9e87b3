from __future__ import annotations

from tandem.cli.ai import threshold_summary


def test_train_summary_states_in_scope_precision_and_unseen_escalation() -> None:
    text = threshold_summary(
        {
            "cv_in_scope_precision": 0.9912,
            "cv_in_scope_automation": 0.8,
            "cv_unseen_escalation": 0.925,
        }
    )
    assert "in-scope precision 99.1%" in text and "80.0% automation" in text
    assert "needs no intent covers escalated: 92.5%" in text
    # An older model without the unseen-need figures says so instead of inventing a number.
    assert "escalated: n/a" in threshold_summary({"cv_in_scope_precision": None})
