"""Views call services: no SQL statements or session queries in view modules."""

from __future__ import annotations

from .rules import (
    VIEW_QUERIES_PENDING,
    check_tree,
    docstring_examples,
    is_view_module,
    report,
    view_queries,
)


def test_views_do_not_query_the_database() -> None:
    """View modules (any views.py or *_views.py, and everything in tandem/web/) do not build
    statements (`select`, `update`, `delete`, `insert`, `text` from sqlalchemy) or call the
    session's `query/get/scalar/scalars/execute/add/add_all/delete/merge`; they call named service
    functions, the same ones the team API and the console share.

    Bad (`src/tandem/web/knowledge_views.py`)::

        from sqlalchemy import select

        def _languages(session: Session, principal: Principal) -> list[str]:
            workspace = session.get(Workspace, principal.workspace_id)
            answers = session.scalars(select(Answer))
            return workspace.settings["languages"]

    Good (`src/tandem/web/knowledge_views.py`)::

        def _languages(session: Session, principal: Principal) -> list[str]:
            workspace = get_workspace(session, principal.workspace_id)
            return workspace.settings["languages"]
    """
    found, stale = check_tree(view_queries, VIEW_QUERIES_PENDING)
    assert not found, report(found, "Move the query into a service function and call it.")
    assert not stale, f"remove these from VIEW_QUERIES_PENDING, they are fixed: {stale}"


def test_view_rule_catches_the_bad_example_and_passes_the_good_one() -> None:
    (bad_path, bad), (good_path, good) = docstring_examples(
        test_views_do_not_query_the_database.__doc__
    ).values()
    caught = view_queries(bad, bad_path)
    assert sorted((v.line, v.message.split(";")[0]) for v in caught) == [
        (4, "calls `session.get(...)`"),
        (5, "builds a `select(...)` statement"),
        (5, "calls `session.scalars(...)`"),
    ]
    assert view_queries(good, good_path) == []
    assert view_queries(bad, "src/tandem/workspaces/service.py") == []  # services may query


def test_view_modules_are_found_by_name_and_place() -> None:
    assert is_view_module("src/tandem/routing/views.py")
    assert is_view_module("src/tandem/web/admin_views.py")
    assert is_view_module("src/tandem/web/presenters.py")
    assert not is_view_module("src/tandem/routing/service.py")
