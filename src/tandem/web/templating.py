"""Jinja2 environment of the console: autoescaping everywhere, a few display filters."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.staticfiles import StaticFiles
from starlette.responses import HTMLResponse

from tandem.core.pages import page_templates
from tandem.db.base import utcnow
from tandem.knowledge.markdown import render_markdown

WEB_DIR = Path(__file__).resolve().parent
STATIC_DIR = WEB_DIR / "static"
STATIC_PREFIX = "/static"

PRIORITY_LABELS = {0: "Low", 1: "Normal", 2: "High", 3: "Urgent"}
SLA_LABELS = {"ok": "On track", "warning": "At risk", "breached": "Breached"}
STATUS_LABELS = {
    "ai": "AI",
    "waiting_for_human": "Waiting",
    "human": "With agent",
    "resolved": "Resolved",
}


def format_duration(seconds: float | None) -> str:
    """Return a short human duration: '45s', '12m', '3h 5m', '2d 4h'."""
    if seconds is None:
        return "—"
    seconds = max(int(seconds), 0)
    if seconds < 60:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h {minutes}m" if minutes else f"{hours}h"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours}h" if hours else f"{days}d"


def since(moment: datetime | None, now: datetime | None = None) -> str:
    """Return how long ago a moment was, as a short duration."""
    if moment is None:
        return "—"
    return format_duration(((now or utcnow()) - moment).total_seconds())


def clock(moment: datetime | None) -> str:
    """Return a UTC timestamp as 'YYYY-MM-DD HH:MM'."""
    return moment.strftime("%Y-%m-%d %H:%M") if moment else "—"


def percent(value: Any) -> str:
    """Return a 0..1 number as a whole percentage."""
    try:
        return f"{float(value) * 100:.0f}%"
    except (TypeError, ValueError):
        return "—"


def humanize(code: Any) -> str:
    """Return a reason or intent code as words ('human_requested' -> 'human requested')."""
    return str(code or "").replace("_", " ")


templates = page_templates(WEB_DIR / "templates")
templates.env.filters.update(
    duration=format_duration,
    since=since,
    clock=clock,
    percent=percent,
    humanize=humanize,
    # The one filter that outputs HTML: Markdown rendered with raw HTML escaped.
    markdown=render_markdown,
)
templates.env.globals.update(
    priority_labels=PRIORITY_LABELS,
    sla_labels=SLA_LABELS,
    status_labels=STATUS_LABELS,
    static_prefix=STATIC_PREFIX,
)


def render(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """Render a template to an HTML response."""
    response: HTMLResponse = templates.TemplateResponse(
        request, name, context or {}, status_code=status_code, headers=headers
    )
    return response


def mount_static(app: FastAPI) -> None:
    """Serve the console's CSS, JS and vendored HTMX under /static."""
    app.mount(STATIC_PREFIX, StaticFiles(directory=str(STATIC_DIR)), name="static")
