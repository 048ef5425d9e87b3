"""Browser fixtures: Debian's Chromium driven by Playwright against a real Tandem server."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

CHROMIUM = os.environ.get("TANDEM_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
# Chromium's own background traffic is refused on a closed network; keep it quiet.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def chromium_browser() -> Iterator[object]:
    """Yield one headless Chromium for the whole run (pages are cheap, browsers are not)."""
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"Chromium not found at {CHROMIUM}; `make test` installs Debian's chromium")
        pytest.skip(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def new_page(chromium_browser, request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    """Return a factory of fresh pages, each in its own context (its own cookies)."""
    contexts = []

    def make(viewport: tuple[int, int] = (1280, 860)):  # type: ignore[no-untyped-def]
        context = chromium_browser.new_context(
            viewport={"width": viewport[0], "height": viewport[1]}
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def screenshot(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    """Return a function saving a page's screenshot under test-artifacts/screenshots/."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    prefix = re.sub(r"[^A-Za-z0-9_]+", "_", request.node.name)

    def take(page, name: str) -> Path:  # type: ignore[no-untyped-def]
        path = SCREENSHOTS / f"{prefix}__{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


@dataclass(frozen=True)
class Desk:
    """A running desk (worker on) with the demo store seeded and its model trained."""

    url: str
    widget_key: str
    factory: sessionmaker[Session]

    def widget(self, key: str | None = None) -> str:
        """Return the customer chat page's URL."""
        return f"{self.url}/widget?key={key or self.widget_key}"


@pytest.fixture(scope="module")
def desk(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    """Seed and train the demo store once per module, then serve it with its worker running.

    Modules using it override `_clean_tables` with a no-op so the demo survives between their
    tests; this fixture empties the tables after the module's last test.
    """
    from tandem.app import create_app
    from tandem.config import Settings
    from tandem.db.base import Base
    from tandem.db.session import get_engine, session_factory, transaction
    from tandem.demo.seed import seed_demo

    from ..conftest import LiveServer

    factory = session_factory(get_engine(database_url))
    with transaction(factory) as session:
        seeded = seed_demo(session)
    with transaction(factory) as session:
        # These tests follow a conversation through the Waiting queue to the agent who claims
        # it; with auto-assign on, the logged-in (so online) agent would get it at once.
        from tandem.demo.seed import DEMO_WORKSPACE
        from tandem.routing.admin import update_routing_settings
        from tandem.workspaces.service import get_workspace_by_name

        demo = get_workspace_by_name(session, DEMO_WORKSPACE)
        update_routing_settings(session, workspace_id=demo.id, auto_assign=False)
    settings = Settings(
        environment="test",
        data_dir=tmp_path_factory.mktemp("desk"),
        database_url=database_url,
        secret_key="test-secret-key-that-is-long-enough-0123456789",
        auto_migrate=False,
        cookie_secure=False,  # the test clients speak plain http://
    )
    server = LiveServer(create_app(settings, run_worker=True))
    server.start()
    try:
        yield Desk(url=server.url, widget_key=seeded.widget_key, factory=factory)
    finally:
        server.stop()
        with get_engine(database_url).begin() as conn:
            for table in reversed(Base.metadata.sorted_tables):
                conn.execute(table.delete())
