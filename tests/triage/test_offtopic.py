"""Off-topic or a hard store question: nearest neighbour against the built-in background."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tandem.db.session import scope_session, transaction
from tandem.demo.knowledge import faq_entries
from tandem.demo.seed import load_demo_content
from tandem.knowledge.models import TrainingExample
from tandem.triage.background import background_matrix
from tandem.triage.intent import embed_texts
from tandem.triage.offtopic import MAX_EXAMPLE_RATE, ScopeCache, ScopeReference, build_reference
from tandem.triage.pipeline import SIGNAL_EMBEDDER, embed

from ..factories import make_workspace
from .training_data import add_examples


@pytest.fixture(scope="module")
def reference() -> ScopeReference:
    examples = [t for e in faq_entries(load_demo_content()) for t in e["examples"]]
    return build_reference(
        embed_texts(SIGNAL_EMBEDDER, examples), background_matrix(SIGNAL_EMBEDDER)
    )


@pytest.mark.parametrize(
    "text",
    [
        "What's the weather going to be like on Mars next week?",
        "how do volcanoes form",
        "¿Cuál es la capital de Australia?",
        "Wer hat die Fußball-WM 2014 gewonnen?",
    ],
)
def test_general_questions_are_off_topic(reference: ScopeReference, text: str) -> None:
    off, why = reference.check(embed(SIGNAL_EMBEDDER, text))
    assert off, why


@pytest.mark.parametrize(
    "text",
    [
        "Can I pay for my jacket in three instalments?",
        "where is my parcel, it's a week late",
        "Do you have this coat in a larger size?",
    ],
)
def test_store_questions_are_not_off_topic(reference: ScopeReference, text: str) -> None:
    off, why = reference.check(embed(SIGNAL_EMBEDDER, text))
    assert not off, why


def test_margin_calls_at_most_the_allowed_share_of_own_examples_off_topic() -> None:
    rng = np.random.default_rng(0)
    examples = rng.normal(size=(200, 16)).astype(np.float32)
    examples /= np.linalg.norm(examples, axis=1, keepdims=True)
    background = -examples[:50] + 0.01  # far from the examples
    background /= np.linalg.norm(background, axis=1, keepdims=True)
    ref = build_reference(examples, background)
    called = sum(ref.check(row)[0] for row in examples)
    assert called <= MAX_EXAMPLE_RATE * len(examples) + 1
    assert ref.margin >= 0.0


def test_without_examples_nothing_is_off_topic() -> None:
    empty = ScopeReference(np.zeros((0, 4), np.float32), np.eye(4, dtype=np.float32), 0.0)
    assert empty.check(np.ones(4, np.float32) / 2) == (False, {})


def test_a_new_example_joins_the_scope_at_once_without_recomputing_the_margin(
    factory: sessionmaker[Session],
) -> None:
    ws = make_workspace(factory)
    add_examples(factory, ws.id)  # 18 examples
    cache = ScopeCache()

    def current() -> ScopeReference:
        with factory() as session:
            scope_session(session, ws.id)
            return cache.get(session, workspace_id=ws.id, oos_label=None)

    first = current()
    add_examples(factory, ws.id, {"gift_wrap": ["can you gift wrap my order"]})
    second = current()
    assert len(second.examples) == len(first.examples) + 1
    np.testing.assert_allclose(
        second.examples[-1], embed(SIGNAL_EMBEDDER, "can you gift wrap my order"), atol=1e-5
    )
    # The pass over the whole background waits until the examples grew by a tenth.
    assert second.background is first.background and second.margin == first.margin
    add_examples(factory, ws.id, {"gift_wrap": ["do you offer gift wrapping", "wrap it as a gift"]})
    third = current()
    assert len(third.examples) == len(first.examples) + 3
    assert third.background is not first.background
    # A removed example leaves the reference too.
    with transaction(factory, ws.id) as session:
        gone = session.scalars(select(TrainingExample).limit(1)).one()
        session.delete(gone)
    assert len(current().examples) == len(third.examples) - 1
