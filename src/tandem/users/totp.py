"""Two-factor login with time-based one-time codes (TOTP, RFC 6238, via pyotp).

The shared secret is stored encrypted with a Fernet key derived from TANDEM_SECRET_KEY (HKDF), so
a copy of the database alone does not reveal it. Changing TANDEM_SECRET_KEY makes the stored
secrets unreadable: those users must enrol again (an admin can switch two-factor off for them).
"""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass

import pyotp
import segno
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from pyotp.utils import strings_equal
from sqlalchemy.orm import Session

from tandem.core.errors import (
    AuthenticationError,
    ConflictError,
    PermissionDeniedError,
    ValidationError,
)
from tandem.db.base import utcnow
from tandem.events.service import audit
from tandem.users.models import Role, User
from tandem.workspaces.models import Workspace
from tandem.workspaces.settings import workspace_settings

ISSUER = "Tandem"
# Accept the code of the previous and next 30-second step too: phones' clocks drift.
VALID_WINDOW = 1


def _clock() -> float:
    """Return the current Unix time (tests move it on)."""
    return time.time()


class TotpRequiredError(AuthenticationError):
    """The password was right, but this account also needs its authenticator code."""

    code = "totp_required"


def _fernet(secret_key: str) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"tandem:totp-secret").derive(
        secret_key.encode()
    )
    return Fernet(base64.urlsafe_b64encode(key))


def encrypt_secret(secret_key: str, secret: str) -> str:
    """Return a TOTP secret encrypted for storage."""
    return _fernet(secret_key).encrypt(secret.encode()).decode()


def decrypt_secret(secret_key: str, stored: str) -> str | None:
    """Return a stored TOTP secret in clear, or None if it cannot be read with this key."""
    try:
        return _fernet(secret_key).decrypt(stored.encode()).decode()
    except (InvalidToken, ValueError):
        return None


@dataclass(frozen=True)
class Enrolment:
    """What a user needs to add the account to an authenticator app."""

    secret: str
    uri: str

    @property
    def qr_svg_data_uri(self) -> str:
        """Return the otpauth URI as a QR code (an SVG data: URI, rendered offline)."""
        return str(segno.make(self.uri, error="m").svg_data_uri(scale=4, border=2))


def _enrolment(user: User, secret: str) -> Enrolment:
    uri = pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=ISSUER)
    return Enrolment(secret=secret, uri=uri)


def begin_enrolment(session: Session, user: User, *, secret_key: str) -> Enrolment:
    """Give a user a new TOTP secret to confirm with a code; it is off until confirmed."""
    if user.has_totp:
        raise ConflictError("two-factor login is already on; switch it off first to re-enrol")
    secret = pyotp.random_base32()
    user.totp_secret = encrypt_secret(secret_key, secret)
    user.totp_enabled_at = None
    user.totp_last_step = None
    session.flush()
    return _enrolment(user, secret)


def pending_enrolment(user: User, *, secret_key: str) -> Enrolment | None:
    """Return the enrolment a user started and has not confirmed yet, if any."""
    if user.totp_secret is None or user.totp_enabled_at is not None:
        return None
    secret = decrypt_secret(secret_key, user.totp_secret)
    return _enrolment(user, secret) if secret else None


def _accept(user: User, secret: str, code: str) -> bool:
    """Return whether a code is valid now and unused; remember its step so it works once."""
    code = "".join(code.split())
    if not code.isdigit() or len(code) != 6:
        return False
    totp = pyotp.TOTP(secret)
    now = _clock()
    for offset in range(-VALID_WINDOW, VALID_WINDOW + 1):
        moment = now + offset * totp.interval
        if strings_equal(totp.at(moment), code):
            step = int(moment // totp.interval)
            if user.totp_last_step is not None and step <= user.totp_last_step:
                return False  # a replayed (or older) code
            user.totp_last_step = step
            return True
    return False


def confirm_enrolment(session: Session, user: User, *, secret_key: str, code: str) -> None:
    """Switch two-factor login on once the user proves their app shows the right codes."""
    if user.has_totp:
        raise ConflictError("two-factor login is already on")
    enrolment = pending_enrolment(user, secret_key=secret_key)
    if enrolment is None:
        raise ConflictError("start the two-factor set-up first")
    if not _accept(user, enrolment.secret, code):
        raise ValidationError("that code is not right; check the app and the phone's clock")
    user.totp_enabled_at = utcnow()
    audit(session, workspace_id=user.workspace_id, type="two_factor.enabled", data=_who(user))
    session.flush()


def disable(session: Session, user: User, *, secret_key: str, code: str) -> None:
    """Switch a user's own two-factor login off (they prove it with a current code)."""
    if not user.has_totp:
        raise ConflictError("two-factor login is not on")
    if not verify(user, secret_key=secret_key, code=code):
        raise ValidationError("that code is not right")
    _clear(user)
    audit(session, workspace_id=user.workspace_id, type="two_factor.disabled", data=_who(user))
    session.flush()


def reset(session: Session, user: User) -> None:
    """Switch another user's two-factor login off (an admin helping someone who lost a phone)."""
    was_on = user.totp_secret is not None
    _clear(user)
    if was_on:
        audit(session, workspace_id=user.workspace_id, type="two_factor.reset", data=_who(user))
    session.flush()


def verify(user: User, *, secret_key: str, code: str | None) -> bool:
    """Return whether a code is the user's current one (and not used before)."""
    if not user.has_totp or not code or user.totp_secret is None:
        return False
    secret = decrypt_secret(secret_key, user.totp_secret)
    return secret is not None and _accept(user, secret, code)


def check_login_code(user: User, *, secret_key: str, code: str | None) -> None:
    """Raise unless a user without two-factor, or with a right code, is logging in."""
    if not user.has_totp:
        return
    if not code or not code.strip():
        raise TotpRequiredError("enter the 6-digit code from your authenticator app")
    if not verify(user, secret_key=secret_key, code=code):
        raise AuthenticationError("wrong email, password or code")


def _clear(user: User) -> None:
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None


def _who(user: User) -> dict[str, str]:
    return {"user_id": user.id, "email": user.email}


# --- the workspace rule: admins must use two-factor login -------------------------------------


class TwoFactorSetupRequiredError(PermissionDeniedError):
    """The workspace requires two-factor login for admins and this admin has not set it up."""

    code = "two_factor_setup_required"


def admin_two_factor_required(workspace: Workspace | None) -> bool:
    """Return whether a workspace requires two-factor login for admins."""
    return workspace_settings(workspace).security.require_admin_two_factor


def needs_setup(session: Session, user: User) -> bool:
    """Return whether this user must set up two-factor login before doing admin work."""
    if user.has_totp or not Role(user.role).includes(Role.ADMIN):
        return False
    return admin_two_factor_required(session.get(Workspace, user.workspace_id))


def require_setup_done(session: Session, user: User) -> None:
    """Raise TwoFactorSetupRequiredError when the user must set up two-factor login first."""
    if needs_setup(session, user):
        raise TwoFactorSetupRequiredError(
            "this workspace requires two-factor login for admins: set it up first "
            "(POST /api/v1/me/two-factor, or the console's Two-factor page)"
        )


def set_admin_two_factor_required(
    session: Session, workspace: Workspace, *, required: bool, by: User
) -> bool:
    """Turn the admins-need-two-factor rule on or off (audited with the workspace settings)."""
    from tandem.workspaces.service import update_settings  # workspaces depend on routing

    if required and not by.has_totp:
        raise ConflictError("set up two-factor login for yourself before requiring it for admins")
    security = workspace_settings(workspace).security.model_copy(
        update={"require_admin_two_factor": required}
    )
    update_settings(session, workspace, {"security": security.model_dump()})
    return required
