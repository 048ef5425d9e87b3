"""`.commit()` and `.rollback()` only in the transaction owners."""

from __future__ import annotations

from .rules import TRANSACTION_OWNERS, check_tree, docstring_examples, report, transaction_calls


def test_src_commits_and_rolls_back_only_in_the_transaction_owners() -> None:
    """Whoever opens a transaction ends it; nobody else commits or rolls back.

    The owners (TRANSACTION_OWNERS): `tandem.db.session.transaction` (the job worker, periodic
    tasks, long jobs' short transactions, the CLI, SSE reads, the demo and benchmarks all use
    `with transaction(factory) as session:`) and `tandem.api.deps.get_session` (SessionDep:
    commits before the response is sent, rolls back on an exception).

    Bad (`src/tandem/widget/views.py`)::

        def post_message(conversation_id: str, body: TextIn, session: SessionDep) -> MessageOut:
            message = service.post_message(session, conversation, Author.CUSTOMER, body.text)
            session.commit()
            return MessageOut.of(message)

    Good (`src/tandem/widget/views.py`)::

        def post_message(conversation_id: str, body: TextIn, session: SessionDep) -> MessageOut:
            message = service.post_message(session, conversation, Author.CUSTOMER, body.text)
            return MessageOut.of(message)  # SessionDep commits before the 201 is sent
    """
    found, _ = check_tree(transaction_calls)
    assert not found, report(found, "Let the transaction owner commit.")


def test_transaction_rule_catches_the_bad_example_and_passes_the_good_one() -> None:
    examples = docstring_examples(
        test_src_commits_and_rolls_back_only_in_the_transaction_owners.__doc__
    )
    (bad_path, bad), (good_path, good) = examples["bad"], examples["good"]
    caught = transaction_calls(bad, bad_path)
    assert [str(v).split(": ")[0] for v in caught] == [f"{bad_path}:3"]
    assert "SessionDep commits" in caught[0].message
    assert transaction_calls(good, good_path) == []


def test_the_owners_may_and_a_rollback_passed_on_is_caught() -> None:
    owner = "def transaction(factory):\n    session.commit()\n    session.rollback()\n"
    assert ("src/tandem/db/session.py", "transaction") in TRANSACTION_OWNERS
    assert transaction_calls(owner, "src/tandem/db/session.py") == []
    assert len(transaction_calls(owner, "src/tandem/jobs/worker.py")) == 2
    assert len(transaction_calls("on_error(session.rollback)", "src/tandem/x.py")) == 1
