"""Articles, answers and examples written through the knowledge services, in a real database."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tandem.core.errors import ConflictError, NotFoundError, ValidationError
from tandem.db.session import transaction
from tandem.knowledge import intents, service
from tandem.knowledge.importers import Document, Section
from tandem.knowledge.models import Article, Chunk, TrainingExample
from tandem.workspaces.models import Workspace
from tandem.workspaces.service import update_settings

from ..factories import FakeEmbedder, MadeWorkspace, make_workspace

RETURNS = "You can return items within 30 days.\n\n## Exceptions\n\nGift cards cannot be returned."


def _create(
    factory: sessionmaker[Session], ws: MadeWorkspace, embedder: FakeEmbedder, **kw: object
) -> str:
    fields = {"title": "Returns", "body": RETURNS, **kw}
    with transaction(factory, ws.id) as session:
        article = service.create_article(
            session,
            workspace_id=ws.id,
            embedder=embedder,
            **fields,  # type: ignore[arg-type]
        )
        return article.id


def _chunks(factory: sessionmaker[Session], article_id: str) -> list[str]:
    with factory() as session:
        return list(
            session.scalars(
                select(Chunk.text).where(Chunk.article_id == article_id).order_by(Chunk.position)
            )
        )


def _fingerprint(factory: sessionmaker[Session], workspace_id: str) -> object:
    with transaction(factory, workspace_id) as session:
        return service.knowledge_fingerprint(session)


def _update(
    factory: sessionmaker[Session],
    ws: MadeWorkspace,
    article_id: str,
    embedder: FakeEmbedder,
    **kw: object,
) -> None:
    with transaction(factory, ws.id) as session:
        current = service.get_article(session, article_id=article_id)
        fields = {
            "title": current.title,
            "body": current.body,
            "url": current.url,
            "ai_enabled": current.ai_enabled,
            **kw,
        }
        service.update_article(
            session,
            article_id=article_id,
            embedder=embedder,
            **fields,  # type: ignore[arg-type]
        )


def test_a_console_article_is_chunked_and_embedded(factory: sessionmaker[Session]) -> None:
    ws, embedder = make_workspace(factory), FakeEmbedder()
    article_id = _create(factory, ws, embedder, url="https://help.example/returns")
    assert _chunks(factory, article_id) == [
        "You can return items within 30 days.",
        "Gift cards cannot be returned.",
    ]
    assert embedder.texts[0].startswith("Returns. ")
    with factory() as session:
        article = session.get(Article, article_id)
        assert article is not None
        assert article.source == f"console:{article_id}"
        assert article.ai_enabled and article.url == "https://help.example/returns"
        assert article.updated_at is not None


def test_editing_the_text_re_embeds_and_changes_the_fingerprint(
    factory: sessionmaker[Session],
) -> None:
    ws, embedder = make_workspace(factory), FakeEmbedder()
    article_id = _create(factory, ws, embedder)
    before = _fingerprint(factory, ws.id)

    _update(factory, ws, article_id, embedder, url="https://help.example/r")
    assert len(embedder.calls) == 1  # only the link changed: nothing to re-embed
    after_link = _fingerprint(factory, ws.id)
    assert after_link != before  # the change is still seen (updated_at)

    # Same number of chunks, different text: the count alone would not notice.
    _update(factory, ws, article_id, embedder, body="Returns take 14 days.\n\n## More\n\nAsk us.")
    assert len(embedder.calls) == 2
    assert _chunks(factory, article_id) == ["Returns take 14 days.", "Ask us."]
    assert _fingerprint(factory, ws.id) != after_link

    _update(factory, ws, article_id, embedder, title="Returns and refunds")
    assert len(embedder.calls) == 3
    assert all(t.startswith("Returns and refunds. ") for t in embedder.calls[-1])


def test_the_retriever_cache_sees_an_edit(factory: sessionmaker[Session]) -> None:
    ws, embedder = make_workspace(factory), FakeEmbedder()
    article_id = _create(factory, ws, embedder, body="Parcels ship within two days.")
    cache = service.RetrieverCache()
    query = embedder.encode(["refund money back"])[0]

    def top_text() -> str:
        with transaction(factory, ws.id) as session:
            retriever = cache.get(session, workspace_id=ws.id, embedder_name=embedder.name)
            return retriever.search(query, k=1)[0].passage.text

    assert top_text() == "Parcels ship within two days."
    _update(factory, ws, article_id, embedder, body="We refund your money back in a week.")
    assert top_text() == "We refund your money back in a week."


def test_switching_an_article_off_hides_it_from_the_ai_only(
    factory: sessionmaker[Session],
) -> None:
    ws, embedder = make_workspace(factory), FakeEmbedder()
    off = _create(factory, ws, embedder, title="Internal", body="Staff discount codes.")
    on = _create(factory, ws, embedder, title="Shipping", body="We ship in two days.")
    before = _fingerprint(factory, ws.id)
    with transaction(factory, ws.id) as session:
        article = service.set_article_ai_enabled(session, article_id=off, ai_enabled=False)
        assert not article.ai_enabled
    assert _fingerprint(factory, ws.id) != before
    cache = service.RetrieverCache()
    with transaction(factory, ws.id) as session:
        for_ai = cache.get(session, workspace_id=ws.id, embedder_name=embedder.name)
        for_people = cache.get(
            session, workspace_id=ws.id, embedder_name=embedder.name, ai_only=False
        )
        assert {p.article_id for p in for_ai._passages} == {on}
        assert {p.article_id for p in for_people._passages} == {on, off}


def test_a_switched_off_article_is_no_approved_answer_for_the_ai(
    factory: sessionmaker[Session],
) -> None:
    ws = make_workspace(factory)
    document = Document("Track it", "faq.csv#row2", [Section("", "Use the link.")], "order_status")
    with transaction(factory, ws.id) as session:
        result = service.import_documents(
            session, workspace_id=ws.id, documents=[document], embedder=FakeEmbedder()
        )
        service.set_article_ai_enabled(session, article_id=result.article_ids[0], ai_enabled=False)
        assert "order_status" not in service.approved_answers(session)
        assert "order_status" in service.approved_answers(session, ai_only=False)


def test_delete_and_delete_then_add_change_the_fingerprint(
    factory: sessionmaker[Session],
) -> None:
    ws, embedder = make_workspace(factory), FakeEmbedder()
    first = _create(factory, ws, embedder, body="One chunk only.")
    before = _fingerprint(factory, ws.id)
    with transaction(factory, ws.id) as session:
        service.delete_article(session, article_id=first)
        service.create_article(
            session, workspace_id=ws.id, title="Other", body="Also one chunk.", embedder=embedder
        )
    assert _fingerprint(factory, ws.id) != before
    assert _chunks(factory, first) == []
    middle = _fingerprint(factory, ws.id)
    with transaction(factory, ws.id) as session:
        (other,) = service.list_articles(session)
        service.delete_article(session, article_id=other.id)
    assert _fingerprint(factory, ws.id) not in (before, middle)
    with factory() as session:
        assert session.scalars(select(Chunk).where(Chunk.workspace_id == ws.id)).all() == []


def test_reimporting_a_file_keeps_the_article_id_and_its_ai_switch(
    factory: sessionmaker[Session],
) -> None:
    ws, embedder = make_workspace(factory), FakeEmbedder()
    html = (
        b'<html><head><title>Shipping</title><link rel="canonical" '
        b'href="https://shop.example/shipping"></head><body><p>Two days.</p></body></html>'
    )
    with transaction(factory, ws.id) as session:
        first = service.import_files(
            session, workspace_id=ws.id, files=[("shipping.html", html)], embedder=embedder
        )
        service.set_article_ai_enabled(session, article_id=first.article_ids[0], ai_enabled=False)
    with transaction(factory, ws.id) as session:
        again = service.import_files(
            session,
            workspace_id=ws.id,
            files=[("shipping.html", html.replace(b"Two", b"Three"))],
            embedder=embedder,
        )
        (article,) = service.list_articles(session)
        assert again.article_ids == first.article_ids == (article.id,)
        assert article.url == "https://shop.example/shipping"
        assert not article.ai_enabled
        assert "Three days." in article.body
    assert _chunks(factory, article.id) == ["Three days."]


def test_an_import_with_one_bad_file_writes_nothing(factory: sessionmaker[Session]) -> None:
    ws = make_workspace(factory)
    for files, message in [
        ([("a.md", b"# A\n\ntext"), ("b.pdf", b"%PDF")], "unsupported file type"),
        ([("a.md", "caf\xe9".encode("latin-1"))], "not UTF-8"),
        ([], "at least one"),
        ([("a.csv", b"foo,bar\n1,2\n")], "title column"),
        ([("huge.md", b"x" * (service.MAX_ARTICLE_CHARS + 1))], "too long"),
    ]:
        with pytest.raises(ValidationError, match=message), transaction(factory, ws.id) as session:
            service.import_files(session, workspace_id=ws.id, files=files, embedder=FakeEmbedder())
    with factory() as session:
        assert session.scalars(select(Article).where(Article.workspace_id == ws.id)).all() == []


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"title": "  "}, "title cannot be empty"),
        ({"body": ""}, "article cannot be empty"),
        ({"body": "x" * (service.MAX_ARTICLE_CHARS + 1)}, "too long"),
        ({"url": "javascript:alert(1)"}, "http"),
        ({"url": "/relative"}, "http"),
    ],
)
def test_articles_refuse_bad_values(
    factory: sessionmaker[Session], fields: dict[str, str], message: str
) -> None:
    ws = make_workspace(factory)
    with pytest.raises(ValidationError, match=message):
        _create(factory, ws, FakeEmbedder(), **fields)


def test_another_workspaces_ids_are_not_found(factory: sessionmaker[Session]) -> None:
    mine, theirs = make_workspace(factory), make_workspace(factory)
    article_id = _create(factory, theirs, FakeEmbedder())
    with transaction(factory, theirs.id) as session:
        example = intents.add_example(
            session, workspace_id=theirs.id, intent="order_status", text="where is it"
        )
    with transaction(factory, mine.id) as session:
        intents.add_example(session, workspace_id=mine.id, intent="billing", text="invoice")
    calls = [
        lambda s: service.get_article(s, article_id=article_id),
        lambda s: service.update_article(
            s,
            article_id=article_id,
            title="x",
            body="y",
            url=None,
            ai_enabled=True,
            embedder=FakeEmbedder(),
        ),
        lambda s: service.set_article_ai_enabled(s, article_id=article_id, ai_enabled=False),
        lambda s: service.delete_article(s, article_id=article_id),
        lambda s: intents.remove_example(s, example_id=example.id),
        lambda s: intents.move_example(s, example_id=example.id, intent="billing"),
    ]
    for call in calls:
        with pytest.raises(NotFoundError), transaction(factory, mine.id) as session:
            call(session)
    with factory() as session:
        stored = session.get(Article, article_id)
        assert stored is not None and stored.ai_enabled and stored.title == "Returns"
        assert session.get(TrainingExample, example.id) is not None


def test_article_link_prefers_the_articles_own_url(factory: sessionmaker[Session]) -> None:
    ws = make_workspace(factory)
    plain = _create(factory, ws, FakeEmbedder())
    linked = _create(factory, ws, FakeEmbedder(), title="B", url="https://help.example/b")
    with transaction(factory, ws.id) as session:
        a = service.get_article(session, article_id=plain)
        b = service.get_article(session, article_id=linked)
        assert service.article_link(a, widget_key="wk_1") == f"/help/wk_1/articles/{plain}"
        assert service.article_link(b, widget_key="wk_1") == "https://help.example/b"


def test_answers_keep_translations_in_the_workspace_languages(
    factory: sessionmaker[Session],
) -> None:
    ws = make_workspace(factory)
    with transaction(factory, ws.id) as session:
        workspace = session.get(Workspace, ws.id)
        assert workspace is not None
        update_settings(session, workspace, {"languages": ["en", "de"]})
        answer = service.upsert_answer(
            session,
            workspace_id=ws.id,
            intent="order_status",
            title="Tracking",
            body="Use the tracking link.",
            translations={"de": {"title": "Sendungsverfolgung", "body": "Nutzen Sie den Link."}},
        )
        assert answer.ai_allowed
        with pytest.raises(ValidationError, match="workspace's languages"):
            service.upsert_answer(
                session,
                workspace_id=ws.id,
                intent="order_status",
                title="Tracking",
                body="x",
                translations={"fr": {"title": "", "body": "Suivi"}},
            )
    with transaction(factory, ws.id) as session:
        # Omitting translations (and ai_allowed) keeps them: the CLI and the AI page do this.
        service.upsert_answer(
            session, workspace_id=ws.id, intent="order_status", title="Tracking", body="New."
        )
        approved = service.approved_answers(session)["order_status"]
        assert approved.body == "New."
        assert approved.localized("de").body == "Nutzen Sie den Link."
        assert approved.localized("de").title == "Sendungsverfolgung"
        assert approved.localized("fr") == approved


def test_intents_list_answers_and_example_counts(factory: sessionmaker[Session]) -> None:
    ws = make_workspace(factory)
    with transaction(factory, ws.id) as session:
        for text in ("where is my parcel", "tracking please"):
            intents.add_example(session, workspace_id=ws.id, intent="order_status", text=text)
        intents.add_example(session, workspace_id=ws.id, intent="billing", text="invoice copy")
        service.upsert_answer(
            session, workspace_id=ws.id, intent="order_status", title="T", body="Track it."
        )
        summary = {s.intent: s for s in intents.list_intents(session)}
        assert (summary["order_status"].examples, summary["order_status"].ai_allowed) == (2, True)
        assert (summary["billing"].examples, summary["billing"].answer) == (1, None)
        with pytest.raises(ValidationError, match="no approved answer"):
            intents.set_intent_ai_allowed(session, intent="billing", ai_allowed=True)
        with pytest.raises(NotFoundError, match="unknown intent"):
            intents.set_intent_ai_allowed(session, intent="nope", ai_allowed=True)
        answer = intents.set_intent_ai_allowed(session, intent="order_status", ai_allowed=False)
        assert not answer.ai_allowed


def test_examples_are_added_moved_and_removed(factory: sessionmaker[Session]) -> None:
    ws = make_workspace(factory)
    with transaction(factory, ws.id) as session:
        example = intents.add_example(
            session, workspace_id=ws.id, intent="billing", text="  where is my parcel "
        )
        intents.add_example(session, workspace_id=ws.id, intent="order_status", text="tracking")
        assert example.text == "where is my parcel" and example.source == "console"
        with pytest.raises(ConflictError):
            intents.add_example(
                session, workspace_id=ws.id, intent="billing", text="where is my parcel"
            )
        with pytest.raises(ValidationError, match="valid intent code"):
            intents.add_example(session, workspace_id=ws.id, intent="no spaces", text="x")
        with pytest.raises(ValidationError, match="unknown intent"):
            intents.move_example(session, example_id=example.id, intent="made_up")
        moved = intents.move_example(session, example_id=example.id, intent="order_status")
        assert moved.intent == "order_status"
        assert [e.text for e in intents.list_examples(session, intent="order_status")] == [
            "where is my parcel",
            "tracking",
        ]
        intents.remove_example(session, example_id=example.id)
        assert service.training_examples(session) == (["tracking"], ["order_status"])


@pytest.mark.slow
def test_real_embeddings_find_an_edited_article_only_while_the_ai_may_use_it(
    factory: sessionmaker[Session],
) -> None:
    from tandem.triage.embedders import get_embedder
    from tandem.triage.pipeline import SIGNAL_EMBEDDER

    ws, embedder = make_workspace(factory), get_embedder(SIGNAL_EMBEDDER)
    with transaction(factory, ws.id) as session:
        article = service.create_article(
            session,
            workspace_id=ws.id,
            title="Gift cards",
            body="Gift cards never expire and can be used online.",
            embedder=embedder,
        )
    query = embedder.encode(["Do gift cards expire?"])[0]
    with transaction(factory, ws.id) as session:
        hits = service.load_retriever(session, embedder_name=SIGNAL_EMBEDDER).search(query)
        assert hits and hits[0].passage.article_id == article.id and hits[0].score > 0.35
        service.set_article_ai_enabled(session, article_id=article.id, ai_enabled=False)
        assert service.load_retriever(session, embedder_name=SIGNAL_EMBEDDER).search(query) == []
        people = service.load_retriever(session, embedder_name=SIGNAL_EMBEDDER, ai_only=False)
        assert np.isclose(people.search(query)[0].score, hits[0].score)
