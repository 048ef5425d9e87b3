"""The agent console: server-rendered pages (Jinja2 + HTMX) for agents, supervisors and admins.

Wire it into an app with `app.include_router(router)` and `mount_static(app)`.
"""

from __future__ import annotations

from tandem.web.templating import STATIC_DIR, STATIC_PREFIX, mount_static
from tandem.web.views import router

__all__ = ["STATIC_DIR", "STATIC_PREFIX", "mount_static", "router"]
