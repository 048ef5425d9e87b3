"""ASGI middleware: oversized bodies, text the database cannot store, security headers."""

from __future__ import annotations

import json
import re
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodySizeLimit:
    """Answer 413 when a request body exceeds a byte limit (declared or streamed).

    `larger` raises the limit for paths starting with a prefix (file uploads, long articles).
    """

    def __init__(
        self, app: ASGIApp, *, max_bytes: int, larger: dict[str, int] | None = None
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.larger = larger or {}

    def limit_for(self, path: str) -> int:
        """Return the byte limit of a request path."""
        return max(
            [self.max_bytes, *(n for prefix, n in self.larger.items() if path.startswith(prefix))]
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope.get("path", ""))
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._reject(send, limit)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _TooLargeError
            return message

        try:
            await self.app(scope, limited_receive, send)
        except _TooLargeError:
            await self._reject(send, limit)

    async def _reject(self, send: Send, limit: int) -> None:
        body = json.dumps(
            {"error": {"code": "too_large", "message": f"request body over {limit} bytes"}}
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": body})


class _TooLargeError(Exception):
    pass


# PostgreSQL cannot store U+0000 in text (the driver raises and the connection is lost), and a
# lone UTF-16 surrogate cannot be encoded as UTF-8 by any database or by our JSON responses.
_BAD_TEXT = re.compile("[\x00\ud800-\udfff]")
# In a URL-encoded query or form, a NUL arrives as %00 or, from a sloppy client, as a raw byte.
_ENCODED_NUL = re.compile(rb"%00|\x00")
# In JSON, both can only arrive as a \u escape (raw control bytes are invalid JSON already).
_JSON_ESCAPE = re.compile(rb"\\u")
# Deeper documents are refused by the routes' own validation; do not walk them forever.
_CHECKED_MAX_NESTING = 200
# Event streams and pages are GETs without a body: those requests pass untouched.
_BODILESS_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _problem(char: str) -> str:
    if char == "\x00":
        return "contains a NUL character (\\u0000), which is not allowed in text"
    return (
        f"contains a lone UTF-16 surrogate (\\u{ord(char):04x}); "
        "text must be valid Unicode (surrogates only in pairs)"
    )


def _first_bad_string(document: Any) -> tuple[str, str] | None:
    """Return (location, bad character) of the first unstorable string in parsed JSON."""
    stack: list[tuple[str, Any, int]] = [("", document, 0)]
    while stack:
        location, value, depth = stack.pop()
        if isinstance(value, str):
            found = _BAD_TEXT.search(value)
            if found:
                return location, found.group()
        elif depth < _CHECKED_MAX_NESTING and isinstance(value, dict):
            for key in value:
                found = _BAD_TEXT.search(key)
                if found:
                    return location or "body", found.group()
            # Pushed in reverse so the first offending field in document order is reported.
            stack.extend(
                (f"{location}.{key}".lstrip("."), item, depth + 1)
                for key, item in reversed(value.items())
            )
        elif depth < _CHECKED_MAX_NESTING and isinstance(value, list):
            stack.extend(
                (f"{location}.{i}".lstrip("."), value[i], depth + 1)
                for i in reversed(range(len(value)))
            )
    return None


class RejectInvalidText:
    """Answer 422 when a request carries text no database can store: NUL or a lone surrogate.

    The one place this rule is enforced: the path, the query string, every header, and JSON
    or URL-encoded form bodies (multipart uploads are left to their handlers). A body is read
    (already capped by BodySizeLimit) only for requests that have one, then replayed to the
    app in a single message; later `receive` calls (disconnects) pass straight through, so
    streaming responses and server-sent events behave as before.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        problem = self._check_head(scope)
        if problem:
            await _reject_invalid(send, problem)
            return
        headers = dict(scope.get("headers", []))
        content_type = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        has_body = (
            scope.get("method") not in _BODILESS_METHODS
            or b"content-length" in headers
            or b"transfer-encoding" in headers
        )
        if not has_body or content_type.startswith(b"multipart/"):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] != "http.request":
                # The client left before sending its body: let the app see that as it would.
                await self.app(scope, _replay([message], receive), send)
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        problem = self._check_body(body, content_type)
        if problem:
            await _reject_invalid(send, problem)
            return
        replayed: Message = {"type": "http.request", "body": body, "more_body": False}
        await self.app(scope, _replay([replayed], receive), send)

    @staticmethod
    def _check_head(scope: Scope) -> str | None:
        found = _BAD_TEXT.search(scope.get("path", ""))
        if found or b"%00" in scope.get("raw_path", b"").lower():
            return f"the URL path {_problem(found.group() if found else chr(0))}"
        if _ENCODED_NUL.search(scope.get("query_string", b"")):
            return f"the query string {_problem(chr(0))}"
        for name, value in scope.get("headers", []):
            if b"\x00" in name or b"\x00" in value:
                return f"the {name.decode('latin-1')!r} header {_problem(chr(0))}"
        return None

    @staticmethod
    def _check_body(body: bytes, content_type: bytes) -> str | None:
        if content_type == b"application/x-www-form-urlencoded":
            return f"the form {_problem(chr(0))}" if _ENCODED_NUL.search(body) else None
        # Anything else may be parsed as JSON downstream (FastAPI treats a body without a
        # content type as JSON), so look whenever it could hold an escape or a raw NUL.
        if not (_JSON_ESCAPE.search(body) or b"\x00" in body):
            return None
        try:
            document = json.loads(body)
        except (ValueError, RecursionError):
            return None  # not JSON: the route answers its own readable 400
        found = _first_bad_string(document)
        if found is None:
            return None
        location, char = found
        return f"{location or 'body'}: {_problem(char)}"


def _replay(messages: list[Message], receive: Receive) -> Receive:
    pending = list(messages)

    async def replaying_receive() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replaying_receive


async def _reject_invalid(send: Send, message: str) -> None:
    body = json.dumps({"error": {"code": "invalid", "message": message}}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 422,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


# The console's pages load only their own scripts and styles: injected markup cannot run.
CONSOLE_CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
CONSOLE_PREFIXES = ("/console", "/login", "/logout")


def framed_page_headers(*sources: str) -> dict[str, str]:
    """Return the headers of a public page that customers' sites may frame.

    Its Content-Security-Policy loads only `sources` (e.g. "style-src 'self'") and posts no
    forms; the page is revalidated on each visit, sends no referrer and is never sniffed.
    """
    policy = [
        "default-src 'none'",
        *sources,
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors *",
    ]
    return {
        "Content-Security-Policy": "; ".join(policy),
        "Cache-Control": "no-cache",
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
    }


class ConsoleSecurityHeaders:
    """Add a strict Content-Security-Policy and no-framing to the console's HTML pages."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not path.startswith(CONSOLE_PREFIXES):
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {name.lower() for name, _ in headers}
                for name, value in (
                    (b"content-security-policy", CONSOLE_CSP.encode()),
                    (b"x-frame-options", b"DENY"),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"same-origin"),
                ):
                    if name not in names:
                        headers.append((name, value))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


class StrictTransportSecurity:
    """Tell browsers to reach this site over HTTPS only (installed when cookies are Secure)."""

    def __init__(self, app: ASGIApp, *, max_age: int) -> None:
        self.app = app
        self.value = f"max-age={max_age}; includeSubDomains".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if all(name.lower() != b"strict-transport-security" for name, _ in headers):
                    headers.append((b"strict-transport-security", self.value))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_header)
