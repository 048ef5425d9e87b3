"""The customer chat widget: the chat page, its assets, and the one-line embed script."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from tandem.api.deps import SessionDep, SettingsDep
from tandem.api.middleware import framed_page_headers
from tandem.core.errors import NotFoundError
from tandem.core.pages import page_templates
from tandem.workspaces.models import Workspace
from tandem.workspaces.service import get_workspace_by_widget_key
from tandem.workspaces.settings import StoreInfo, workspace_settings

HERE = Path(__file__).resolve().parent
templates = page_templates(HERE / "templates")

router = APIRouter(tags=["widget"], include_in_schema=False)

# The page only ever talks to this desk; customers' sites may frame it (that is the widget).
PAGE_HEADERS = framed_page_headers(
    "script-src 'self'", "style-src 'self'", "connect-src 'self'", "img-src 'self' data:"
)
# Sites embed /widget.js forever under one URL, so it is revalidated often (cheap with the ETag).
EMBED_CACHE = "public, max-age=300, stale-while-revalidate=86400"
# Page assets are requested with ?v=<content hash>, so a new release never meets a stale copy.
ASSET_CACHE = "public, max-age=86400"


@dataclass(frozen=True)
class Asset:
    """A static file held in memory with its validator."""

    body: bytes
    media_type: str
    etag: str

    @property
    def version(self) -> str:
        """Return a short content hash for cache-busting URLs."""
        return self.etag.strip('"')[:12]


def _load(name: str, media_type: str) -> Asset:
    body = (HERE / "static" / name).read_bytes()
    return Asset(body, media_type, '"' + hashlib.sha256(body).hexdigest()[:32] + '"')


ASSETS = {
    "chat.js": _load("chat.js", "text/javascript; charset=utf-8"),
    "widget.css": _load("widget.css", "text/css; charset=utf-8"),
}
EMBED = _load("embed.js", "text/javascript; charset=utf-8")


def _serve(request: Request, asset: Asset, cache_control: str) -> Response:
    headers = {
        "Cache-Control": cache_control,
        "ETag": asset.etag,
        "X-Content-Type-Options": "nosniff",
        # Host pages with Cross-Origin-Embedder-Policy may still load the embed script.
        "Cross-Origin-Resource-Policy": "cross-origin",
    }
    if asset.etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(asset.body, media_type=asset.media_type, headers=headers)


def _find_workspace(session: Session, key: str | None) -> Workspace | None:
    try:
        return get_workspace_by_widget_key(session, key)
    except NotFoundError:
        return None


def _common_context(request: Request) -> dict[str, Any]:
    return {
        "base": request.scope.get("root_path", ""),
        "versions": {name: asset.version for name, asset in ASSETS.items()},
    }


@router.get("/widget", response_class=HTMLResponse)
def widget_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    key: Annotated[str | None, Query(max_length=200)] = None,
    embed: Annotated[bool, Query(description="shown in the embed script's iframe")] = False,
) -> Response:
    """Render the chat page for a widget key, or a readable 404 page when the key is unknown."""
    workspace = _find_workspace(session, key)
    if workspace is None or key is None:
        return templates.TemplateResponse(
            request,
            "unavailable.html",
            {**_common_context(request), "has_key": bool(key)},
            status_code=404,
            headers=PAGE_HEADERS,
        )
    store = workspace_settings(workspace).store or StoreInfo()
    context = {
        **_common_context(request),
        "widget_key": key,
        "store_name": store.name or workspace.name,
        "support_hours": store.support_hours,
        "max_chars": settings.max_message_chars,
        "embed": embed,
    }
    return templates.TemplateResponse(request, "chat.html", context, headers=PAGE_HEADERS)


@router.get("/widget/static/{name}")
def widget_asset(name: str, request: Request) -> Response:
    """Serve the chat page's script and stylesheet."""
    asset = ASSETS.get(name)
    if asset is None:
        raise NotFoundError("no such widget file")
    return _serve(request, asset, ASSET_CACHE)


@router.get("/widget.js")
def embed_script(request: Request) -> Response:
    """Serve the embed script that adds the chat button to a customer's site."""
    return _serve(request, EMBED, EMBED_CACHE)
