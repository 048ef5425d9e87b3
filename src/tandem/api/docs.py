"""API documentation that works offline, and an OpenAPI schema that says what really happens.

- `/docs` (Swagger UI) and `/redoc` load their scripts and styles from this server: the assets
  ship inside the `fastapi-offline` package and are served under `/api-docs-assets`.
- The schema names the security schemes (team API token or login cookie + CSRF header; the
  widget's customer token) on the operations that need them, and documents 4xx responses with
  the error envelope every error really has: `{"error": {"code", "message", "details"?}}`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import fastapi_offline
from fastapi import FastAPI
from fastapi import routing as fastapi_routing
from fastapi.dependencies.models import Dependant
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import BaseRoute

from tandem.api.deps import SESSION_COOKIE, get_principal

ASSETS_PREFIX = "/api-docs-assets"
ASSETS_DIR = Path(fastapi_offline.__file__).resolve().parent / "static"
WIDGET_CONVERSATION_PREFIX = "/api/v1/widget/conversations/{conversation_id}"

TEAM_SECURITY: list[dict[str, list[str]]] = [
    {"apiToken": []},
    {"sessionCookie": [], "csrfHeader": []},
]
SECURITY_SCHEMES: dict[str, Any] = {
    "apiToken": {
        "type": "http",
        "scheme": "bearer",
        "description": "A team API token (`tdm_…`, POST /api/v1/tokens); read-only tokens "
        "may only GET.",
    },
    "sessionCookie": {
        "type": "apiKey",
        "in": "cookie",
        "name": SESSION_COOKIE,
        "description": "The login cookie set by POST /api/v1/auth/login.",
    },
    "csrfHeader": {
        "type": "apiKey",
        "in": "header",
        "name": "X-CSRF-Token",
        "description": "With the cookie, every write echoes the csrf_token the login returned.",
    },
    "customerToken": {
        "type": "http",
        "scheme": "bearer",
        "description": "The widget's customer_token for one conversation.",
    },
}
ERROR_SCHEMAS: dict[str, Any] = {
    "ErrorBody": {
        "type": "object",
        "required": ["code", "message"],
        "properties": {
            "code": {"type": "string", "description": "Stable, e.g. not_found, invalid."},
            "message": {"type": "string", "description": "What went wrong, for people."},
            "details": {"description": "Optional specifics, e.g. the fields that are invalid."},
        },
    },
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {"error": {"$ref": "#/components/schemas/ErrorBody"}},
    },
}
ERROR_CONTENT = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
CLIENT_ERRORS = {
    "400": "The request body is not valid JSON, or the request is not acceptable.",
    "401": "Missing, wrong or expired credentials.",
    "403": "The role, token scope or CSRF token does not allow this.",
    "404": "No such thing in the caller's workspace.",
    "409": "Conflicts with the current state (a duplicate name, a finished conversation…).",
    "413": "The request body is too large.",
    "422": "A value is not acceptable; `details` names the fields.",
    "429": "Too many attempts; wait for Retry-After seconds.",
    "4XX": "Any other client error, in the same envelope.",
}


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for dep in dependant.dependencies:
        if dep.call is not None:
            yield dep.call
        yield from _calls(dep)


def _api_routes(routes: Sequence[BaseRoute]) -> Iterator[Any]:
    """Yield every documented API route, also inside included routers (FastAPI >= 0.16x)."""
    iter_contexts = getattr(fastapi_routing, "iter_route_contexts", None)
    contexts = iter_contexts(routes) if iter_contexts else routes
    for route in contexts:
        original = getattr(route, "original_route", route)
        if isinstance(original, APIRoute) and original.include_in_schema:
            yield route


def _security_of(route: Any) -> list[dict[str, list[str]]] | None:
    if get_principal in set(_calls(route.dependant)):
        return TEAM_SECURITY
    if route.path.startswith(WIDGET_CONVERSATION_PREFIX):
        return [{"customerToken": []}]
    return None


def build_openapi(app: FastAPI) -> dict[str, Any]:
    """Return the app's OpenAPI schema with security schemes and the error envelope."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
        tags=app.openapi_tags,
    )
    components = schema.setdefault("components", {})
    components.setdefault("securitySchemes", {}).update(SECURITY_SCHEMES)
    schemas = components.setdefault("schemas", {})
    schemas.update(ERROR_SCHEMAS)
    security = {
        (route.path_format, method.lower()): _security_of(route)
        for route in _api_routes(app.routes)
        for method in route.methods
    }
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            needed = security.get((path, method))
            if needed:
                operation["security"] = needed
            responses = operation.setdefault("responses", {})
            for status, description in CLIENT_ERRORS.items():
                if status in ("401", "403") and not needed:
                    continue
                responses[status] = {"description": description, "content": ERROR_CONTENT}
    # FastAPI's own 422 shape is never sent (tandem.api.errors answers in the envelope).
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    app.openapi_schema = schema
    return schema


def install_docs(app: FastAPI) -> None:
    """Serve /docs and /redoc from local assets and the enriched schema at /openapi.json.

    Create the app with `docs_url=None, redoc_url=None` so these routes take their place.
    """
    app.openapi = lambda: build_openapi(app)  # type: ignore[method-assign]
    app.mount(ASSETS_PREFIX, StaticFiles(directory=str(ASSETS_DIR)), name="api-docs-assets")
    openapi_url = app.openapi_url or "/openapi.json"

    @app.get("/docs", include_in_schema=False)
    def swagger_ui(request: Request) -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{app.title} API",
            swagger_js_url=f"{ASSETS_PREFIX}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_PREFIX}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS_PREFIX}/favicon.png",
        )

    @app.get("/redoc", include_in_schema=False)
    def redoc(request: Request) -> HTMLResponse:
        return get_redoc_html(
            openapi_url=openapi_url,
            title=f"{app.title} API",
            redoc_js_url=f"{ASSETS_PREFIX}/redoc.standalone.js",
            redoc_favicon_url=f"{ASSETS_PREFIX}/favicon.png",
            with_google_fonts=False,
        )
