"""Identify customers within a workspace."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tandem.customers.models import Customer
from tandem.db.session import scope_session


def get_or_create_customer(
    session: Session, *, workspace_id: str, name: str | None = None, email: str | None = None
) -> Customer:
    """Return the workspace's customer with this email, or a new one (anonymous if no email)."""
    scope_session(session, workspace_id)
    email = email.strip().lower() if email else None
    if email:
        existing = session.scalar(select(Customer).where(Customer.email == email))
        if existing is not None:
            if name and not existing.name:
                existing.name = name
            return existing
    customer = Customer(workspace_id=workspace_id, name=name or None, email=email)
    try:
        with session.begin_nested():
            session.add(customer)
    except IntegrityError:
        # Another request created the same customer a moment ago: use theirs.
        return session.scalars(select(Customer).where(Customer.email == email)).one()
    return customer
