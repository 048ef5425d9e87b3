from __future__ import annotations

import pytest

from tandem.core.errors import ValidationError
from tandem.workspaces.ai_settings import read_ai_settings, validate_ai_changes


def test_the_assistant_is_named_after_the_store_not_the_product() -> None:
    plain = read_ai_settings({}, workspace_name="Acme Shoes")
    assert plain.assistant_name == "Acme Shoes assistant"
    assert "Acme Shoes assistant" in plain.notice("en") and "Tandem" not in plain.notice("en")
    # A workspace that records its store's name uses it (the demo workspace is called "demo").
    demo = read_ai_settings({"store": {"name": "Northwind Threads"}}, workspace_name="demo")
    assert demo.assistant_name == "Northwind Threads assistant"
    named = read_ai_settings({"assistant_name": "Nora"}, workspace_name="demo")
    assert named.assistant_name == "Nora" and named.notice("es").startswith("Soy Nora")


def test_notice_overrides_and_language_rules_are_validated() -> None:
    settings = read_ai_settings(
        {"ai_notice": {"de": "Ich bin {name}."}, "languages": ["en", "de"]}, workspace_name="Shop"
    )
    assert settings.notice("de") == "Ich bin Shop assistant."
    assert settings.notice("xx") == settings.notice("en")  # unknown language: default language
    assert validate_ai_changes({"language_fallback": "default_language"}, languages=["en"]) == {
        "language_fallback": "default_language"
    }
    with pytest.raises(ValidationError, match="language_fallback"):
        validate_ai_changes({"language_fallback": "guess"}, languages=["en"])
    with pytest.raises(ValidationError, match="default_language"):
        validate_ai_changes({"default_language": "fr"}, languages=["en", "de"])
    with pytest.raises(ValidationError, match="ai_notice language"):
        validate_ai_changes({"ai_notice": {"it": "Ciao"}}, languages=["en"])
