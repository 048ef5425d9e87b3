"""Settings are read from the injected object, not the process-wide one."""

from __future__ import annotations

from .rules import check_tree, docstring_examples, global_settings, report


def test_settings_are_injected_outside_the_composition_roots() -> None:
    """Only the composition roots (`tandem/app.py`'s create_app and the CLI in `tandem/cli/`)
    call `get_settings()` or build `Settings()` from the environment; everything else gets the
    Settings object they built: `SettingsDep` in a route, `request.app.state.settings`, or a
    parameter. (Tests can then run several apps with different settings in one process.)

    Bad (`src/tandem/handoff/service.py`)::

        from tandem.config import get_settings

        def notify(session, conversation, text):
            post_message(session, conversation, text, max_chars=get_settings().max_message_chars)

    Good (`src/tandem/widget/views.py`)::

        def post(body: TextIn, session: SessionDep, settings: SettingsDep) -> MessageOut:
            return post_message(session, conversation, body.text, settings.max_message_chars)
    """
    found, _ = check_tree(global_settings)
    assert not found, report(found, "Pass the settings in.")


def test_settings_rule_catches_the_bad_example_and_passes_the_good_one() -> None:
    examples = docstring_examples(test_settings_are_injected_outside_the_composition_roots.__doc__)
    (bad_path, bad), (good_path, good) = examples["bad"], examples["good"]
    assert [v.line for v in global_settings(bad, bad_path)] == [4]
    assert global_settings(good, good_path) == []
    assert global_settings(bad, "src/tandem/cli/main.py") == []  # a composition root


def test_building_settings_from_the_environment_is_caught_too() -> None:
    code = "from tandem.config import Settings\nlimit = Settings().max_message_chars\n"
    assert [v.line for v in global_settings(code, "src/tandem/routing/service.py")] == [2]
