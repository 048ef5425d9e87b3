"""Seed the demo workspace once: a store, its team, and its FAQ knowledge."""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tandem.db.session import scope_session
from tandem.demo.knowledge import faq_entries, load_faq, save_faq_answer
from tandem.routing.admin import update_routing_settings
from tandem.triage.service import TrainProgress, train_model
from tandem.users.models import Role
from tandem.users.service import create_user
from tandem.workspaces.models import Workspace
from tandem.workspaces.service import create_workspace
from tandem.workspaces.settings import DEFAULT_HUMAN_ONLY_TOPICS

DEMO_WORKSPACE = "demo"
DEMO_AGENT_EMAIL = "agent@demo.tandem"
DEMO_AGENT_PASSWORD = "demo-agent-pass"  # noqa: S105 - a published demo login, printed on start
DEMO_ADMIN_EMAIL = "admin@demo.tandem"
DEMO_ADMIN_PASSWORD = "demo-admin-pass"  # noqa: S105 - a published demo login, printed on start
# The store's support hours as routing reads them; they must say what store_faq.json's
# store.support_hours tells customers (Monday to Friday, 8:00 to 18:00 CET). Europe/Berlin is CET
# in winter and CEST in summer, as the store's wall clock is.
DEMO_BUSINESS_HOURS: dict[str, Any] = {
    "timezone": "Europe/Berlin",
    "days": {day: [["08:00", "18:00"]] for day in ("mon", "tue", "wed", "thu", "fri")},
}
DEMO_TEAM = [
    (DEMO_ADMIN_EMAIL, "Ada Admin", Role.ADMIN, DEMO_ADMIN_PASSWORD),
    ("supervisor@demo.tandem", "Sam Supervisor", Role.SUPERVISOR, "demo-super-pass"),
    (DEMO_AGENT_EMAIL, "Alex Agent", Role.AGENT, DEMO_AGENT_PASSWORD),
]


@dataclass(frozen=True)
class SeedResult:
    """What the demo command prints."""

    workspace_name: str
    widget_key: str
    created: bool


def load_demo_content() -> dict[str, Any]:
    """Return the demo store's FAQ content shipped with the package."""
    text = resources.files("tandem.demo").joinpath("store_faq.json").read_text(encoding="utf-8")
    content: dict[str, Any] = json.loads(text)
    return content


def load_translations(session: Session, *, workspace_id: str, content: dict[str, Any]) -> int:
    """Store each FAQ's translations ({lang: {"title", "body"}}) on its approved answer.

    Runs after load_faq; the languages must be the workspace's (the service checks them).
    Returns how many answers got translations.
    """
    count = 0
    for entry in faq_entries(content):
        translations = entry.get("translations")
        if not translations:
            continue
        save_faq_answer(session, workspace_id=workspace_id, entry=entry, translations=translations)
        count += 1
    return count


def seed_demo(
    session: Session, *, train: bool = True, progress: TrainProgress | None = None
) -> SeedResult:
    """Create the demo workspace, team, FAQ knowledge and trained model unless it exists."""
    existing = session.scalar(select(Workspace).where(Workspace.name == DEMO_WORKSPACE))
    if existing is not None:
        return SeedResult(DEMO_WORKSPACE, existing.widget_key, created=False)
    content = load_demo_content()
    workspace = create_workspace(
        session,
        name=DEMO_WORKSPACE,
        settings={
            "store": content["store"],
            "languages": content["store"].get("languages", ["en"]),
            # The store answers how to cancel an order or close an account itself (FAQs
            # cancel_order_howto, delete_account); disputes, complaints, legal threats,
            # vulnerable customers and security incidents still go to a person.
            "human_only_topics": [
                topic for topic in DEFAULT_HUMAN_ONLY_TOPICS if topic != "cancellation"
            ],
        },
    )
    update_routing_settings(
        session, workspace_id=workspace.id, auto_assign=True, business_hours=DEMO_BUSINESS_HOURS
    )
    for email, name, role, password in DEMO_TEAM:
        create_user(
            session, workspace_id=workspace.id, email=email, name=name, password=password, role=role
        )
    scope_session(session, workspace.id)
    load_faq(session, workspace_id=workspace.id, content=content)
    load_translations(session, workspace_id=workspace.id, content=content)
    if train:
        train_model(session, workspace=workspace, progress=progress, trigger="seed")
    return SeedResult(DEMO_WORKSPACE, workspace.widget_key, created=True)
