"""Engines and sessions: SQLite serialises writers, scoped sessions filter by workspace."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, Select, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.orm import ORMExecuteState, Session, sessionmaker, with_loader_criteria

from tandem.core.errors import NotFoundError
from tandem.db.base import TenantScoped

logger = logging.getLogger(__name__)
T = TypeVar("T")

WORKSPACE_KEY = "workspace_id"
AFTER_COMMIT_KEY = "after_commit"

_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()


def _configure_sqlite(engine: Engine) -> None:
    # pysqlite's own transaction handling defers BEGIN until the first write, so two
    # transactions that both read then write deadlock with "database is locked". We take
    # the write lock at BEGIN (IMMEDIATE) and wait for it (busy_timeout): writers queue up.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str) -> Engine:
    """Create an engine for a URL, with SQLite set up for a multi-threaded server."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, pool_size=8
        )
        _configure_sqlite(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


def get_engine(url: str) -> Engine:
    """Return the process-wide engine for a URL."""
    with _engines_lock:
        if url not in _engines:
            _engines[url] = make_engine(url)
        return _engines[url]


def dispose_engines() -> None:
    """Close every pooled connection (tests and shutdown)."""
    with _engines_lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Return a session factory bound to an engine."""
    return sessionmaker(bind=engine, expire_on_commit=False)


class CrossWorkspaceWriteError(RuntimeError):
    """A scoped session was asked to write a row of another workspace (a bug, never a 4xx)."""


@event.listens_for(Session, "do_orm_execute")
def _scope_to_workspace(state: ORMExecuteState) -> None:
    # The one place workspace isolation is applied: once a session is scoped, every ORM
    # SELECT of a tenant table (including relationship loads and Session.get), and every
    # ORM-enabled bulk UPDATE and DELETE, is filtered to that workspace.
    workspace_id = state.session.info.get(WORKSPACE_KEY)
    if workspace_id is None or not (state.is_select or state.is_update or state.is_delete):
        return
    state.statement = state.statement.options(
        with_loader_criteria(
            TenantScoped,
            lambda cls: cls.workspace_id == workspace_id,
            include_aliases=True,
        )
    )


@event.listens_for(Session, "before_flush")
def _writes_stay_in_workspace(session: Session, _context: Any, _instances: Any) -> None:
    # The write half of the contract: a new tenant row gets the scope's workspace, and a scoped
    # session refuses to insert, change or delete a row of another workspace.
    workspace_id = session.info.get(WORKSPACE_KEY)
    if workspace_id is None:
        return
    for obj in session.new:
        if isinstance(obj, TenantScoped):
            if obj.workspace_id is None:
                obj.workspace_id = workspace_id
            elif obj.workspace_id != workspace_id:
                raise CrossWorkspaceWriteError(
                    f"a session scoped to workspace {workspace_id} cannot insert a "
                    f"{type(obj).__name__} of workspace {obj.workspace_id}"
                )
    for obj in [*session.dirty, *session.deleted]:
        if isinstance(obj, TenantScoped):
            history = inspect(obj).attrs.workspace_id.history
            owners = {obj.workspace_id, *(history.deleted or ())}
            if owners != {workspace_id}:
                raise CrossWorkspaceWriteError(
                    f"a session scoped to workspace {workspace_id} cannot change a "
                    f"{type(obj).__name__} of workspace {sorted(str(o) for o in owners)}"
                )


def scope_session(session: Session, workspace_id: str) -> None:
    """Restrict every later read and write in this session to one workspace."""
    current = session.info.get(WORKSPACE_KEY)
    if current is not None and current != workspace_id:
        raise RuntimeError("a session cannot be re-scoped to another workspace")
    session.info[WORKSPACE_KEY] = workspace_id


def one_or_not_found(session: Session, query: Select[T], what: str, *, lock: bool = False) -> T:
    """Return the row a query finds in the session's scope (FOR UPDATE when lock is set).

    Raise NotFoundError("<what> not found") when there is none. A query, not session.get: the
    scoped session's workspace filter applies to every query, never to its identity map.
    """
    if lock:
        query = query.with_for_update()
    row = session.scalar(query)
    if row is None:
        raise NotFoundError(f"{what} not found")
    return row


def on_commit(session: Session, callback: Callable[[], None]) -> None:
    """Run callback after the session's transaction commits (never if it rolls back)."""
    session.info.setdefault(AFTER_COMMIT_KEY, []).append(callback)


@event.listens_for(Session, "after_commit")
def _run_after_commit(session: Session) -> None:
    callbacks = session.info.pop(AFTER_COMMIT_KEY, [])
    for callback in callbacks:
        try:
            callback()
        except Exception:
            # The data is committed; a failed notification must not turn into an error reply.
            logger.exception("after-commit callback failed")


@event.listens_for(Session, "after_rollback")
def _drop_after_commit(session: Session) -> None:
    session.info.pop(AFTER_COMMIT_KEY, None)


@contextmanager
def transaction(
    factory: sessionmaker[Session], workspace_id: str | None = None
) -> Iterator[Session]:
    """Open a session, commit on success, roll back on error (the caller owns the transaction)."""
    session = factory()
    if workspace_id is not None:
        scope_session(session, workspace_id)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
