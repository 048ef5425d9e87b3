"""Build the FastAPI application: one function, configured entirely by Settings."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from tandem import __version__
from tandem.api.docs import install_docs
from tandem.api.errors import install_error_handlers
from tandem.api.login_limit import LoginLimiter
from tandem.api.middleware import (
    BodySizeLimit,
    ConsoleSecurityHeaders,
    RejectInvalidText,
    StrictTransportSecurity,
)
from tandem.config import Settings, get_settings
from tandem.conversations.views import router as conversations_router
from tandem.copilot.views import router as copilot_router
from tandem.db.migrate import upgrade
from tandem.db.session import get_engine, session_factory
from tandem.events.views import router as audit_router
from tandem.handoff.views import router as handoff_router
from tandem.jobs.registry import register_all
from tandem.jobs.service import DEFAULT_LANE, TRAINING_LANE
from tandem.jobs.worker import Worker
from tandem.knowledge.page import router as help_page_router
from tandem.knowledge.service import MAX_KNOWLEDGE_REQUEST_BYTES
from tandem.knowledge.views import router as knowledge_router
from tandem.learning.gap_views import router as gaps_router
from tandem.learning.views import router as learning_router
from tandem.live import set_broker
from tandem.live.broker import make_broker
from tandem.routing.views import router as routing_router
from tandem.triage.pipeline import warm_up
from tandem.triage.views import router as ai_router
from tandem.users.views import router as users_router
from tandem.web import mount_static
from tandem.web import router as console_router
from tandem.web.auth import console_error_page
from tandem.widget.page import router as widget_page_router
from tandem.widget.views import router as widget_router

logger = logging.getLogger(__name__)
# Articles and file imports are longer than messages; only these paths accept bigger bodies.
KNOWLEDGE_WRITE_PREFIXES = ("/api/v1/articles", "/console/admin/knowledge")


def create_app(settings: Settings | None = None, *, run_worker: bool = True) -> FastAPI:
    """Return the Tandem web app; it migrates the database and starts the worker on startup."""
    settings = settings or get_settings()
    url = settings.resolved_database_url
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    if settings.auto_migrate:
        upgrade(url)
    factory = session_factory(get_engine(url))
    register_all()  # job handlers and timers: one explicit list (tandem.jobs.registry)
    broker = make_broker(settings.redis_url)
    set_broker(broker)
    worker = Worker(factory, lanes=[DEFAULT_LANE])
    # Training takes seconds to a minute: its own thread, so customer messages never wait on it.
    training_worker = Worker(
        factory, lanes=[TRAINING_LANE], periodic=[], name="tandem-training-worker"
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await broker.start()
        if run_worker:
            # Load the models before the first customer message instead of during it.
            threading.Thread(target=warm_up, name="tandem-warm-up", daemon=True).start()
            worker.start()
            training_worker.start()
        try:
            yield
        finally:
            if run_worker:
                worker.stop()
                training_worker.stop()
            await broker.stop()

    app = FastAPI(
        title="Tandem",
        version=__version__,
        description="Human + AI customer-support desk. The widget API is a stable public contract.",
        lifespan=lifespan,
        # /docs and /redoc are served from local assets by install_docs (no CDN).
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.session_factory = factory
    app.state.worker = worker
    app.state.training_worker = training_worker
    app.state.login_limiter = LoginLimiter.from_settings(settings)
    install_error_handlers(app, page_for=console_error_page)
    # Innermost (added first): its 400s still get CORS headers and the body-size cap.
    app.add_middleware(RejectInvalidText)
    # The widget is embedded on customers' own sites, so its API is called cross-origin.
    # No credentials: the widget uses bearer tokens, and team cookies never go cross-site.
    app.add_middleware(
        CORSMiddleware,
        allow_origins=["*"],
        allow_credentials=False,
        allow_methods=["GET", "POST"],
        allow_headers=["Authorization", "Content-Type", "X-Tandem-Widget-Key", "Last-Event-ID"],
    )
    app.add_middleware(ConsoleSecurityHeaders)
    if settings.cookie_secure and settings.hsts_seconds:
        app.add_middleware(StrictTransportSecurity, max_age=settings.hsts_seconds)
    app.add_middleware(
        BodySizeLimit,
        max_bytes=settings.max_message_chars * 4 + 64_000,
        larger={prefix: MAX_KNOWLEDGE_REQUEST_BYTES for prefix in KNOWLEDGE_WRITE_PREFIXES},
    )
    app.include_router(widget_router)
    app.include_router(widget_page_router)
    app.include_router(users_router)
    app.include_router(audit_router)
    app.include_router(conversations_router)
    app.include_router(handoff_router)
    app.include_router(routing_router)
    app.include_router(copilot_router)
    app.include_router(knowledge_router)
    app.include_router(learning_router)
    app.include_router(gaps_router)
    app.include_router(ai_router)
    app.include_router(help_page_router)
    app.include_router(console_router)
    mount_static(app)
    install_docs(app)

    @app.get("/healthz", tags=["ops"])
    def healthz() -> dict[str, str]:
        """Say the process is up."""
        return {"status": "ok", "version": __version__}

    return app
