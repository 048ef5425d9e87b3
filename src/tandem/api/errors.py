"""Map every client mistake to a readable 4xx, and hide server faults behind a plain 500."""

from __future__ import annotations

import logging
from collections.abc import Callable

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from tandem.conversations.state import TransitionError
from tandem.core.errors import RateLimitedError, TandemError

logger = logging.getLogger(__name__)
FASTAPI_BODY_PARSE_ERROR = "There was an error parsing the body"


def error_body(code: str, message: str, details: object | None = None) -> dict[str, object]:
    """Return the JSON shape of every error response."""
    body: dict[str, object] = {"error": {"code": code, "message": message}}
    if details is not None:
        body["error"]["details"] = details  # type: ignore[index]
    return body


_NOT_AN_OBJECT = frozenset({"dict_type", "model_attributes_type"})


def _describe_validation(exc: RequestValidationError) -> tuple[str, list[dict[str, object]]]:
    details = []
    messages = []
    for err in exc.errors():
        location = ".".join(str(part) for part in err.get("loc", ()) if part != "body")
        problem = err.get("msg")
        if err.get("type") == "json_invalid":
            # The location is the character where parsing failed, not a field.
            position, location = location, ""
            reason = (err.get("ctx") or {}).get("error")
            problem = f"request body is not valid JSON ({reason} at character {position})"
            messages.append(problem)
        elif not location and err.get("type") in _NOT_AN_OBJECT:
            problem = (
                "the body must be a JSON object ({...}), sent with Content-Type: application/json"
            )
            messages.append(f"body: {problem}")
        else:
            messages.append(f"{location or 'body'}: {problem}")
        details.append({"field": location, "problem": problem, "type": err.get("type")})
    return "; ".join(messages) or "invalid request", details


# (request, status, message) -> a page for a browser, or None for the JSON error.
PageForError = Callable[[Request, int, str], Response | None]


def install_error_handlers(app: FastAPI, page_for: PageForError | None = None) -> None:
    """Register the handlers on an app; `page_for` may answer a browser with a page instead."""

    @app.exception_handler(TandemError)
    async def _tandem_error(_request: Request, exc: TandemError) -> JSONResponse:
        headers = (
            {"Retry-After": str(exc.retry_after)} if isinstance(exc, RateLimitedError) else None
        )
        return JSONResponse(
            error_body(exc.code, exc.message, exc.details),
            status_code=exc.status_code,
            headers=headers,
        )

    @app.exception_handler(TransitionError)
    async def _transition_error(_request: Request, exc: TransitionError) -> JSONResponse:
        return JSONResponse(error_body("conflict", str(exc)), status_code=409)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        message, details = _describe_validation(exc)
        status = 400 if any(d["type"] == "json_invalid" for d in details) else 422
        return JSONResponse(error_body("invalid", message, details), status_code=status)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        code = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}.get(
            exc.status_code, "error"
        )
        message = str(exc.detail)
        page = page_for(request, exc.status_code, message) if page_for is not None else None
        if page is not None:
            return page
        if message == FASTAPI_BODY_PARSE_ERROR:
            # FastAPI says this when the body is not decodable (e.g. not UTF-8); say what to fix.
            code, message = "invalid", "request body is not valid UTF-8 JSON"
        return JSONResponse(
            error_body(code, message), status_code=exc.status_code, headers=exc.headers
        )

    @app.exception_handler(Exception)
    async def _server_error(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse(
            error_body("server_error", "something went wrong on our side; please try again"),
            status_code=500,
        )
