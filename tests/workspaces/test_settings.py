from __future__ import annotations

import logging
from typing import get_args

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tandem.core.errors import ValidationError
from tandem.privacy import detect
from tandem.privacy.mask import MASKABLE
from tandem.workspaces.service import create_workspace, update_settings
from tandem.workspaces.settings import (
    DEFAULT_HUMAN_ONLY_TOPICS,
    MaskKind,
    WorkspaceSettings,
    read_settings,
    validate_settings,
)


def test_every_default_comes_from_the_model() -> None:
    settings = read_settings(None)
    assert settings == WorkspaceSettings()
    assert settings.precision_target == 0.95 and settings.languages == ("en",)
    assert settings.human_only_topics == DEFAULT_HUMAN_ONLY_TOPICS
    assert settings.answer_language == "en" and settings.ai_allowed_intents is None
    assert settings.compliance_rules.allow_supervisor_override is False
    assert settings.routing_settings.auto_assign is True
    assert settings.routing_settings.business_hours is None
    assert settings.privacy.mask == () and not settings.security.require_admin_two_factor


def test_only_what_was_set_is_stored(factory: sessionmaker[Session]) -> None:
    with factory.begin() as session:
        workspace = create_workspace(session, name="shop", settings={"languages": ["en", "de"]})
        assert workspace.settings == {"languages": ["en", "de"]}
        changed = update_settings(session, workspace, {"precision_target": 0.9})
        assert workspace.settings == {"languages": ["en", "de"], "precision_target": 0.9}
        assert changed.languages == ("en", "de") and changed.precision_target == 0.9


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"colour": "blue"}, "colour: is not a setting"),
        ({"languages": []}, "at least one language"),
        ({"languages": ["English"]}, "not ISO 639-1"),
        ({"precision_target": 1.2}, "precision_target"),
        ({"precision_target": True}, "must be a number"),
        ({"frustration_threshold": -0.1}, "frustration_threshold"),
        ({"human_only_topics": ["Legal Threat"]}, "not names like"),
        ({"entity_patterns": {"order_number": "(["}}, "not a valid regex"),
        ({"default_language": "fr"}, "default_language must be one of"),
        ({"privacy": {"mask": ["passport"]}}, "privacy.mask"),
        ({"security": {"require_admin_two_factor": "yes please"}}, "require_admin_two_factor"),
        ({"compliance": {"forbidden_phrases": "guarantee"}}, "forbidden_phrases must be a list"),
        ({"routing": {"business_hours": {"timezone": "Mars/Olympus"}}}, "Mars/Olympus"),
        ({"routing": {"auto_assign": "sometimes"}}, "auto_assign must be true or false"),
    ],
)
def test_a_bad_change_is_refused_with_its_reason_and_nothing_is_stored(
    factory: sessionmaker[Session], changes: dict[str, object], message: str
) -> None:
    with factory.begin() as session:
        workspace = create_workspace(session, name="shop")
        with pytest.raises(ValidationError, match=message):
            update_settings(session, workspace, changes)
        assert workspace.settings == {}


def test_a_damaged_stored_entry_is_dropped_on_read_and_the_rest_kept(
    caplog: pytest.LogCaptureFixture,
) -> None:
    stored = {
        "languages": ["en", "de"],
        "block_card_numbers": True,  # a key an older release wrote
        "precision_target": "high",
        "routing": {"business_hours": {"timezone": "Nowhere/Never"}},
    }
    with caplog.at_level(logging.WARNING, logger="tandem.workspaces.settings"):
        settings = read_settings(stored)
    assert settings.languages == ("en", "de")
    assert settings.precision_target == 0.95 and settings.routing is None
    assert "ignoring invalid stored workspace settings" in caplog.text
    with pytest.raises(ValidationError, match="block_card_numbers"):
        validate_settings(stored)  # the same dict is refused on write


def test_the_maskable_kinds_are_the_ones_detection_knows() -> None:
    assert (
        set(get_args(MaskKind))
        == MASKABLE
        == {
            detect.CARD_NUMBER,
            detect.CARD_CODE,
            detect.IBAN,
            detect.BANK_ACCOUNT,
            detect.EMAIL,
            detect.PHONE,
        }
    )
