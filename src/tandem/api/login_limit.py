"""The one login limiter, used by every login path (the JSON API and the console form).

Failed attempts are counted twice, in moving windows (the `limits` library):

- per (client address, email): someone mistyping a password, or guessing from one address;
- per email across all addresses: a guesser spreading attempts over many addresses.

A success clears both counters of that email. The counters live in memory (one app process)
or, when `TANDEM_REDIS_URL` is set, in Redis, so every process of an installation shares them.
Emails are hashed before they become storage keys: Redis never holds addresses in clear.
If Redis cannot be reached the limiter lets attempts through (logged): logging in stays
possible during an outage, and passwords are still argon2-hashed and checked.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import Request
from limits import RateLimitItem, RateLimitItemPerSecond
from limits.storage import MemoryStorage, Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter
from sqlalchemy.orm import Session

from tandem.config import Settings
from tandem.core.errors import AuthenticationError, RateLimitedError
from tandem.users import service as users
from tandem.users.models import User
from tandem.users.totp import TotpRequiredError

logger = logging.getLogger(__name__)
NAMESPACE = "tandem-login"


def _email_key(email: str) -> str:
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]


@dataclass(frozen=True)
class LoginAttempt:
    """Who is trying to log in: the client's address and the email they typed."""

    address: str
    email: str

    @classmethod
    def of(cls, request: Request, email: str) -> LoginAttempt:
        """Return the attempt of a request."""
        return cls(address=request.client.host if request.client else "?", email=email)


class LoginLimiter:
    """Refuse login attempts after too many failures per address+email and per email."""

    def __init__(
        self,
        storage: Storage,
        *,
        per_address: int = 5,
        per_account: int = 20,
        window_seconds: int = 300,
    ) -> None:
        self.storage = storage
        self._limiter = MovingWindowRateLimiter(storage)
        self.per_address: RateLimitItem = RateLimitItemPerSecond(
            per_address, window_seconds, namespace=f"{NAMESPACE}-address"
        )
        self.per_account: RateLimitItem = RateLimitItemPerSecond(
            per_account, window_seconds, namespace=f"{NAMESPACE}-account"
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> LoginLimiter:
        """Return a limiter in Redis when the installation has one, else in memory."""
        storage = storage_from_string(settings.redis_url) if settings.redis_url else MemoryStorage()
        if not isinstance(storage, Storage):  # an async-only scheme such as async+redis://
            raise ValueError("TANDEM_REDIS_URL must be a redis:// or rediss:// URL")
        return cls(
            storage,
            per_address=settings.login_attempts_per_address,
            per_account=settings.login_attempts_per_account,
            window_seconds=settings.login_window_seconds,
        )

    def _keys(self, attempt: LoginAttempt) -> list[tuple[RateLimitItem, tuple[str, ...]]]:
        email = _email_key(attempt.email)
        return [(self.per_address, (attempt.address, email)), (self.per_account, (email,))]

    def check(self, attempt: LoginAttempt) -> None:
        """Raise RateLimitedError (with the seconds to wait) if the attempt must wait."""
        wait = 0
        try:
            for item, ids in self._keys(attempt):
                if not self._limiter.test(item, *ids):
                    reset_at = self._limiter.get_window_stats(item, *ids).reset_time
                    wait = max(wait, math.ceil(reset_at - time.time()), 1)
        except Exception:
            logger.warning("login limiter storage failed; not limiting", exc_info=True)
            return
        if wait:
            minutes = max(math.ceil(wait / 60), 1)
            raise RateLimitedError(
                f"too many failed login attempts; try again in {minutes} minute(s)",
                retry_after=wait,
            )

    def failed(self, attempt: LoginAttempt) -> None:
        """Count a failed attempt."""
        self._each_counter(attempt, self._limiter.hit, "counting")

    def succeeded(self, attempt: LoginAttempt) -> None:
        """Forget the failures of the attempt's email after a successful login."""
        self._each_counter(attempt, self._limiter.clear, "clearing")

    def _each_counter(
        self, attempt: LoginAttempt, apply: Callable[..., object], doing: str
    ) -> None:
        # A storage outage must not fail the login: say so and go on without the counters.
        try:
            for item, ids in self._keys(attempt):
                apply(item, *ids)
        except Exception:
            logger.warning("login limiter storage failed; not %s", doing, exc_info=True)


def login_limiter(request: Request) -> LoginLimiter:
    """Return the app's login limiter (made by create_app; on first use for bare test apps)."""
    limiter: LoginLimiter | None = getattr(request.app.state, "login_limiter", None)
    if limiter is None:
        limiter = LoginLimiter.from_settings(request.app.state.settings)
        request.app.state.login_limiter = limiter
    return limiter


def authenticate_limited(
    request: Request,
    session: Session,
    *,
    email: str,
    password: str,
    totp_code: str | None = None,
) -> User:
    """Check credentials under the login limits; every login path goes through here.

    Raises RateLimitedError (429, Retry-After) before looking at the password when the
    limits are exhausted, and AuthenticationError for wrong credentials. A user with
    two-factor login on also needs `totp_code`: a wrong code counts as a failure, a missing
    one raises TotpRequiredError (tandem.users.totp) without counting.
    """
    limiter = login_limiter(request)
    attempt = LoginAttempt.of(request, email)
    limiter.check(attempt)
    try:
        user = users.authenticate(
            session,
            email=email,
            password=password,
            totp_code=totp_code,
            secret_key=request.app.state.settings.secret_key,
        )
    except TotpRequiredError:
        raise
    except AuthenticationError:
        limiter.failed(attempt)
        raise
    limiter.succeeded(attempt)
    return user
