"""Password and token hashing, CSRF tokens: library primitives, used in one place."""

from __future__ import annotations

import hashlib
import hmac

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
MIN_PASSWORD_LENGTH = 8


def hash_password(password: str) -> str:
    """Return an argon2id hash of a password."""
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Return whether a password matches its stored hash."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def hash_token(token: str) -> str:
    """Return the SHA-256 hex digest of a random bearer token.

    Tokens carry 256 bits of randomness, so a fast digest is safe here (unlike passwords)
    and lets us look a token up by its hash.
    """
    return hashlib.sha256(token.encode()).hexdigest()


def csrf_token_for(secret_key: str, session_token: str) -> str:
    """Return the CSRF token bound to one login session."""
    return hmac.new(secret_key.encode(), b"csrf:" + session_token.encode(), "sha256").hexdigest()


def csrf_matches(secret_key: str, session_token: str, presented: str | None) -> bool:
    """Return whether a presented CSRF token belongs to this session (constant time)."""
    if not presented:
        return False
    return hmac.compare_digest(csrf_token_for(secret_key, session_token), presented)
