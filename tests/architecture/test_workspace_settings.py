"""A workspace's settings are read through one typed model and written through one validator."""

from __future__ import annotations

from .rules import check_tree, docstring_examples, report, workspace_settings_json


def test_workspace_settings_are_read_through_the_typed_model() -> None:
    """Only `tandem/workspaces/settings.py` (the model, its defaults, tolerant reading) and
    `tandem/workspaces/service.py` (`update_settings`, which validates the merged result) touch
    the `Workspace.settings` JSON; everything else gets a typed `WorkspaceSettings`, so a
    default is written once and a bad value cannot be stored.

    Bad (`src/tandem/triage/service.py`)::

        def target(workspace):
            return float(workspace.settings.get("precision_target", 0.95))

    Good (`src/tandem/triage/service.py`)::

        from tandem.workspaces.settings import workspace_settings

        def target(workspace):
            return workspace_settings(workspace).precision_target
    """
    found, _ = check_tree(workspace_settings_json)
    assert not found, report(found, "Use the typed settings.")


def test_workspace_settings_rule_catches_the_bad_example_and_passes_the_good_one() -> None:
    examples = docstring_examples(test_workspace_settings_are_read_through_the_typed_model.__doc__)
    (bad_path, bad), (good_path, good) = examples["bad"], examples["good"]
    assert [v.line for v in workspace_settings_json(bad, bad_path)] == [2]
    assert workspace_settings_json(good, good_path) == []
    # A write is caught as well, and the injected process settings are not this rule's business.
    write = "def f(ws):\n    ws.settings = {**ws.settings, 'languages': ['de']}\n"
    assert len(workspace_settings_json(write, "src/tandem/routing/admin.py")) == 2
    app_state = "def f(request):\n    return request.app.state.settings.secret_key\n"
    assert workspace_settings_json(app_state, "src/tandem/api/deps.py") == []
