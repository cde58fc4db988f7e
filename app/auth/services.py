"""Account operations: tokens, TOTP, recovery codes, password changes. Callers commit."""
from __future__ import annotations

import secrets
from datetime import timedelta

import pyotp
import segno
from argon2.exceptions import VerificationError
from flask import current_app
from markupsafe import Markup
from sqlalchemy import or_, select, update

from app.auth.models import AccountToken, RecoveryCode, TokenPurpose, User
from app.core.db import utcnow
from app.core.mail import link_minter
from app.core.security import end_all_sessions, hash_password, hash_token, password_hasher
from app.extensions import db

ISSUER = "Netwerkzorg"
RECOVERY_CODE_COUNT = 10


_TTL_KEYS = {TokenPurpose.INVITE: "INVITE_TOKEN_TTL", TokenPurpose.RESET: "RESET_TOKEN_TTL",
             TokenPurpose.VERIFY_EMAIL: "VERIFY_TOKEN_TTL"}


class TokenInvalid(Exception):
    """The link is unknown, used or expired."""


def find_user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == email.strip().lower()))


def issue_token(user: User, purpose: TokenPurpose) -> str:
    """Create a single-use token; only its hash is stored. Earlier open tokens of the kind lapse."""
    ttl = current_app.config[_TTL_KEYS[purpose]]
    lapse_tokens(user, purpose)
    token = secrets.token_urlsafe(32)
    db.session.add(AccountToken(token_hash=hash_token(token), purpose=purpose, user_id=user.id,
                                expires_at=utcnow() + ttl))
    db.session.flush()
    return token


def may_get_link(user: User | None, purpose: TokenPurpose) -> bool:
    """May *user* be sent a fresh link of *purpose* now? Asked again when a queued link mail is sent."""
    if user is None:
        return False
    if purpose is TokenPurpose.INVITE:
        # An invited account is set up once; deactivation (which lapses open links) ends it too.
        return user.password_hash is None and user.active
    if purpose is TokenPurpose.RESET:
        return user.active and user.password_hash is not None
    return user.active and user.email_verified_at is None


@link_minter
def mint_link_token(user_id: int, purpose: str) -> str | None:
    """Mint the token of a one-time-link mail right before it is sent (app.core.mail): only the mail holds
    it. None when the user may no longer get such a link (the mail is dropped)."""
    user = db.session.get(User, user_id)
    purpose = TokenPurpose(purpose)
    if not may_get_link(user, purpose):
        return None
    return issue_token(user, purpose)


def lapse_tokens(user: User, purpose: TokenPurpose) -> None:
    """Open links of *purpose* stop working now (a new link is on its way)."""
    db.session.execute(update(AccountToken).where(
        AccountToken.user_id == user.id, AccountToken.purpose == purpose,
        AccountToken.used_at.is_(None)).values(used_at=utcnow()))


def peek_token(token: str, purpose: TokenPurpose, *, hashed: bool = False) -> AccountToken:
    """The open token row (by the token, or by its hash with hashed=True); raises TokenInvalid."""
    token_hash = token if hashed else hash_token(token)
    row = db.session.scalar(select(AccountToken).where(AccountToken.token_hash == token_hash,
                                                       AccountToken.purpose == purpose))
    if row is None or row.used_at is not None or row.expires_at < utcnow():
        raise TokenInvalid
    return row


def consume_token(token: str, purpose: TokenPurpose, *, hashed: bool = False) -> User:
    """Mark the token (or, with hashed=True, the token of this hash) used and return its user; raises TokenInvalid.

    One conditional UPDATE whose row count decides: of any number of concurrent uses of one token exactly
    one marks it (the database serialises the writes on the row), the others update nothing and fail."""
    now = utcnow()
    result = db.session.execute(
        update(AccountToken).where(AccountToken.token_hash == (token if hashed else hash_token(token)),
                                   AccountToken.purpose == purpose,
                                   AccountToken.used_at.is_(None), AccountToken.expires_at > now)
        .values(used_at=now).returning(AccountToken.user_id).execution_options(synchronize_session=False))
    user_id = result.scalar_one_or_none()
    if user_id is None:
        raise TokenInvalid
    return db.session.get(User, user_id)


def set_password(user: User, password: str) -> None:
    """Set a new password and end every session of the user."""
    user.password_hash = hash_password(password)
    user.password_changed_at = utcnow()
    end_all_sessions(user.id)


def new_totp_secret(user: User) -> str:
    user.totp_secret = pyotp.random_base32()
    user.mfa_enabled_at = None
    user.totp_last_counter = None
    return user.totp_secret


def provisioning_svg(user: User) -> Markup:
    """The otpauth QR code as inline SVG, drawn locally (nothing leaves the server)."""
    uri = pyotp.TOTP(user.totp_secret).provisioning_uri(name=user.email, issuer_name=ISSUER)
    # Markup is safe here: segno draws the SVG from our own provisioning URI, no user HTML.
    return Markup(segno.make(uri, error="m").svg_inline(scale=5, dark="#1b1f24", omitsize=False))  # noqa: S704


def verify_totp(user: User, code: str) -> bool:
    """Accept a current code once: a replayed code (same or older time step) is refused."""
    code = code.strip().replace(" ", "")
    if not user.totp_secret or not code.isdigit() or len(code) != 6:
        return False
    totp = pyotp.TOTP(user.totp_secret)
    now = utcnow()
    for drift in (-1, 0, 1):
        at = now + timedelta(seconds=30 * drift)
        counter = totp.timecode(at)
        if secrets.compare_digest(totp.at(at), code):
            # One conditional UPDATE: two requests racing with the same code cannot both win.
            claimed = db.session.execute(update(User).where(
                User.id == user.id,
                or_(User.totp_last_counter.is_(None), User.totp_last_counter < counter),
            ).values(totp_last_counter=counter).execution_options(synchronize_session=False))
            if claimed.rowcount != 1:
                return False
            user.totp_last_counter = counter
            return True
    return False


def use_recovery_code(user: User, code: str) -> bool:
    code = code.strip().replace(" ", "").replace("-", "").lower()
    for row in db.session.scalars(select(RecoveryCode).where(RecoveryCode.user_id == user.id,
                                                             RecoveryCode.used_at.is_(None))):
        try:
            password_hasher.verify(row.code_hash, code)
        except VerificationError:
            continue
        row.used_at = utcnow()
        return True
    return False


def enable_mfa(user: User) -> list[str]:
    """Confirm MFA and return fresh recovery codes (shown once; stored hashed)."""
    user.mfa_enabled_at = utcnow()
    db.session.execute(update(RecoveryCode).where(RecoveryCode.user_id == user.id,
                                                  RecoveryCode.used_at.is_(None)).values(used_at=utcnow()))
    codes = [secrets.token_hex(5) for _ in range(RECOVERY_CODE_COUNT)]
    for code in codes:
        db.session.add(RecoveryCode(user_id=user.id, code_hash=password_hasher.hash(code)))
    return [f"{c[:5]}-{c[5:]}" for c in codes]


def reset_mfa(user: User) -> None:
    """Remove the second factor; the user sets it up again at the next login. Ends all sessions."""
    user.totp_secret = None
    user.mfa_enabled_at = None
    user.totp_last_counter = None
    end_all_sessions(user.id)


def deactivate_user(user: User) -> None:
    user.active = False
    end_all_sessions(user.id)
    # An open invitation or reset link must not bring the account back (accepting one sets active).
    db.session.execute(update(AccountToken).where(AccountToken.user_id == user.id,
                                                  AccountToken.used_at.is_(None)).values(used_at=utcnow()))
