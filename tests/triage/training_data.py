"""A small real training set (three intents, six phrasings each) and helpers to train on it."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from tandem.db.session import transaction
from tandem.jobs.service import TRAINING_LANE
from tandem.jobs.worker import Worker
from tandem.knowledge.service import add_training_examples

EXAMPLES: dict[str, list[str]] = {
    "track_order": [
        "where is my order",
        "has my package shipped yet",
        "I want to track my parcel",
        "when will my order arrive",
        "my delivery is late",
        "what is the status of my order",
    ],
    "reset_password": [
        "I forgot my password",
        "please reset my password",
        "I can't log in to my account",
        "the password reset link does not work",
        "how do I change my password",
        "I am locked out of my account",
    ],
    "opening_hours": [
        "when are you open",
        "what are your opening hours",
        "are you open on sunday",
        "what time do you close today",
        "what are the store hours",
        "are you open on public holidays",
    ],
}


def add_examples(
    factory: sessionmaker[Session], workspace_id: str, examples: dict[str, list[str]] | None = None
) -> None:
    """Store labelled examples in a workspace."""
    rows = [(text, intent) for intent, texts in (examples or EXAMPLES).items() for text in texts]
    with transaction(factory, workspace_id) as session:
        add_training_examples(session, workspace_id=workspace_id, rows=rows, source="test")


def run_training_jobs(factory: sessionmaker[Session]) -> int:
    """Run queued training jobs the way the app's training worker does; return how many ran."""
    return Worker(factory, lanes=[TRAINING_LANE], periodic=[]).drain()
