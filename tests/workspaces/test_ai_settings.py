from __future__ import annotations

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tandem.core.errors import ValidationError
from tandem.workspaces.ai_settings import change_ai_settings, read_ai_settings
from tandem.workspaces.service import create_workspace
from tandem.workspaces.settings import read_settings


def persona(data: dict[str, object], name: str) -> str:
    return read_ai_settings(read_settings(data), workspace_name=name).assistant_name


def test_the_assistant_is_named_after_the_store_not_the_product() -> None:
    plain = read_ai_settings(read_settings({}), workspace_name="Acme Shoes")
    assert plain.assistant_name == "Acme Shoes assistant"
    assert "Acme Shoes assistant" in plain.notice("en") and "Tandem" not in plain.notice("en")
    # A workspace that records its store's name uses it (the demo workspace is called "demo").
    assert (
        persona({"store": {"name": "Northwind Threads"}}, "demo") == "Northwind Threads assistant"
    )
    # The default name is said in the notice's language: no notice mixes languages.
    assert plain.notice("en").startswith("I'm the Acme Shoes assistant,")
    assert plain.notice("es").startswith("Soy el asistente de Acme Shoes,")
    assert plain.notice("de").startswith("Ich bin der Assistent von Acme Shoes,")
    assert plain.notice("fr").startswith("Je suis l'assistant de Acme Shoes,")
    named = read_ai_settings(read_settings({"assistant_name": "Nora"}), workspace_name="demo")
    assert named.assistant_name == "Nora" and named.notice("es").startswith("Soy Nora")


def test_notice_overrides_and_language_rules_are_validated(
    factory: sessionmaker[Session],
) -> None:
    settings = read_ai_settings(
        read_settings({"ai_notice": {"de": "Ich bin {name}."}, "languages": ["en", "de"]}),
        workspace_name="Shop",
    )
    assert settings.notice("de") == "Ich bin der Assistent von Shop."
    assert settings.notice("xx") == settings.notice("en")  # unknown language: default language
    with factory.begin() as session:
        workspace = create_workspace(session, name="shop", settings={"languages": ["en", "de"]})
        changed = change_ai_settings(
            session, workspace=workspace, changes={"language_fallback": "default_language"}
        )
        assert changed.language_fallback == "default_language"
        for changes, error in [
            ({"language_fallback": "guess"}, "language_fallback"),
            ({"default_language": "fr"}, "default_language"),
            ({"ai_notice": {"it": "Ciao"}}, "ai_notice"),
            ({"languages": ["en"]}, "not AI settings"),
        ]:
            with pytest.raises(ValidationError, match=error):
                change_ai_settings(session, workspace=workspace, changes=changes)
        assert read_settings(workspace.settings).language_fallback == "default_language"
