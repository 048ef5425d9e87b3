"""Domain errors that edges map to HTTP statuses and CLI exit codes."""

from __future__ import annotations


class TandemError(Exception):
    """Base of the errors a client can cause and understand."""

    status_code = 400
    code = "bad_request"

    def __init__(self, message: str, details: object | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class NotFoundError(TandemError):
    """The thing does not exist, or the caller may not know that it does."""

    status_code = 404
    code = "not_found"


class AuthenticationError(TandemError):
    """Missing or wrong credentials."""

    status_code = 401
    code = "unauthenticated"


class PermissionDeniedError(TandemError):
    """Authenticated, but the role does not allow this."""

    status_code = 403
    code = "forbidden"


class ConflictError(TandemError):
    """The request clashes with the current state (duplicate name, invalid transition)."""

    status_code = 409
    code = "conflict"


class ValidationError(TandemError):
    """The request is well-formed but its values are not acceptable."""

    status_code = 422
    code = "invalid"


class ComplianceBlockedError(ValidationError):
    """An agent's reply breaks the workspace's compliance rules; `details` lists the flags."""

    code = "compliance_blocked"


class RateLimitedError(TandemError):
    """Too many attempts; the caller may try again after `retry_after` seconds."""

    status_code = 429
    code = "rate_limited"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after
