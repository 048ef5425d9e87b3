"""Day one: a workspace that only imported its help center gets honest AI answers from it."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tandem.db.session import transaction
from tandem.knowledge.service import create_article
from tandem.triage.embedders import get_embedder
from tandem.triage.pipeline import SIGNAL_EMBEDDER

from ..browser.kb_data import ARTICLES
from ..factories import make_workspace, open_conversation
from .test_front_line_flow import say


def test_a_help_center_only_workspace_answers_from_articles_and_not_off_topic(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    shop = make_workspace(factory)
    with transaction(factory, shop.id) as session:
        for title, body in ARTICLES.items():
            create_article(
                session,
                workspace_id=shop.id,
                title=title,
                body=body,
                embedder=get_embedder(SIGNAL_EMBEDDER),
            )
    # No intents, no examples, no model: only articles.
    conv = open_conversation(client, shop.widget_key)
    state = say(client, factory, conv, "How many days do I have to send back something unused?")
    assert state["status"] == "ai", state
    reply = state["messages"][-1]
    assert reply["author"] == "ai"
    assert "30 days" in reply["text"] and "Returns and exchanges" in reply["text"]
    assert re.search(rf"/help/{re.escape(shop.widget_key)}/articles/\w+", reply["text"])
    assert "talk to a human" in reply["text"]  # the AI notice, once
    assert reply["text"].count("talk to a human") == 1
    # An off-topic question is not answered with the nearest article.
    other = open_conversation(client, shop.widget_key)
    state = say(client, factory, other, "what's the capital of Australia?")
    texts = " ".join(m["text"] for m in state["messages"] if m["author"] == "ai")
    for body in ARTICLES.values():
        assert body.split("\n")[0] not in texts
    assert "/help/" not in texts
