"""Who is asking: passwords, server-side sessions, the MFA gate, network membership and roles.

Core imports no feature: the session model lives here (it is infrastructure, table user_sessions),
and the membership lookup for the gate is passed in by create_app (register_security).
"""
from __future__ import annotations

import functools
import hashlib
import secrets
from collections.abc import Callable
from datetime import datetime
from functools import wraps
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import Flask, abort, current_app, g, redirect, request, session, url_for
from flask_login import current_user
from sqlalchemy import ForeignKey, String, bindparam, select, update
from sqlalchemy.orm import Mapped, joinedload, mapped_column, relationship

from app.core import audit
from app.core.db import utcnow
from app.core.tenancy import global_tables_only, prebuilt
from app.extensions import db, login_manager

password_hasher = PasswordHasher()  # argon2id with the library's current defaults
_COMMON = frozenset(
    line.strip().lower()
    for line in (Path(__file__).parent / "common_passwords.txt").read_text().splitlines() if line.strip())
MIN_PASSWORD_LENGTH = 12

# Endpoints reachable before the second factor is verified (or while it is being set up).
PRE_MFA_ENDPOINTS = {"auth.mfa_verify", "auth.mfa_setup", "auth.logout", "static", "main.set_locale",
                     "main.healthz"}


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def hash_password(password: str) -> str:
    return password_hasher.hash(password)


def hash_matches(stored_hash: str, secret: str) -> bool:
    """Does *secret* match an argon2 *stored_hash* (an API client's secret, a recovery code)?"""
    try:
        return password_hasher.verify(stored_hash, secret)
    except Exception:  # argon2 raises on a mismatch and on a malformed hash alike
        return False


def verify_password(user, password: str) -> bool:
    """Check *password*; rehash when the argon2 parameters changed. Never raises on bad input."""
    if not user or not user.password_hash:
        password_hasher.hash(password)  # same work for unknown users: no timing oracle
        return False
    try:
        password_hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
    if password_hasher.check_needs_rehash(user.password_hash):
        user.password_hash = password_hasher.hash(password)
    return True


def password_problem(password: str, *, forbidden_words: tuple[str, ...] = ()) -> str | None:
    """Return why *password* is refused, or None. Length and commonness only: no composition rules."""
    from flask_babel import gettext as _

    if len(password) < MIN_PASSWORD_LENGTH:
        return _("Use at least %(n)d characters.", n=MIN_PASSWORD_LENGTH)
    if len(password) > 256:
        return _("Use at most 256 characters.")
    lowered = password.lower()
    if lowered in _COMMON or len(set(lowered)) < 4:
        return _("This password is too common; choose another one.")
    for word in forbidden_words:
        if word and len(word) >= 4 and word.lower() in lowered:
            return _("The password must not contain your name, email address or network name.")
    return None


# --- server-side sessions -------------------------------------------------------------------

class UserSession(db.Model):
    """Server-side session: the cookie holds only a random id; revoking the row ends the session."""

    __tablename__ = "user_sessions"
    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    mfa_verified_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    ip_address: Mapped[str] = mapped_column(String(45), default="")

    # The account (app.auth.models.User), resolved by name in the mapper registry: core imports no feature.
    user: Mapped[User] = relationship(lazy="joined", innerjoin=True)  # noqa: F821


def start_session(user, *, mfa_verified: bool) -> None:
    """Start a new server-side session (a fresh id at login and again after MFA)."""
    end_current_session()
    token = secrets.token_urlsafe(32)
    now = utcnow()
    db.session.add(UserSession(token_hash=hash_token(token), user_id=user.id, created_at=now,
                               last_seen_at=now, mfa_verified_at=now if mfa_verified else None,
                               ip_address=(request.remote_addr or "")[:45]))
    session.clear()
    session["sid"] = token
    session.permanent = True


def end_current_session() -> None:
    token = session.get("sid")
    if token:
        db.session.execute(update(UserSession).where(UserSession.token_hash == hash_token(token),
                                                     UserSession.revoked_at.is_(None))
                           .values(revoked_at=utcnow()))
    session.clear()


def end_all_sessions(user_id: int) -> None:
    """Revoke every session of a user: password change, MFA reset, deactivation."""
    db.session.execute(update(UserSession).where(UserSession.user_id == user_id,
                                                 UserSession.revoked_at.is_(None))
                       .values(revoked_at=utcnow()))


def _with_user_and_gp_profile():
    """The session joined with its user and the user's GP profile (the GP portal reads it on every page), in one
    statement. The User class comes from the mapper: core imports no feature."""
    user_class = UserSession.user.property.mapper.class_
    return joinedload(UserSession.user).joinedload(user_class.gp_profile)


@functools.cache
def _session_by_token_hash():
    """Built once (tenancy.prebuilt): it runs on every request. Sessions, users and GP profiles have no
    row-level security (tenancy.global_tables_only)."""
    return global_tables_only(prebuilt(select(UserSession).where(UserSession.token_hash == bindparam("token_hash"))
                    .options(_with_user_and_gp_profile())))


def session_token_hash() -> str | None:
    """The hash of the signed-in session's token, as stored (None without a session cookie)."""
    token = session.get("sid")
    return hash_token(token) if token else None


def session_joined_to(statement):
    """*statement* (a select of one global table's row) with the session of *token_hash* outer-joined to it, its user
    and GP profile as _session_by_token_hash loads them: the network page's URL lookup reads the session in the
    same statement (one round trip fewer on every network page). The row's session goes to preload_session."""
    user_class = UserSession.user.property.mapper.class_
    # The user outer-joined too: an inner join after the outer one would drop the network's row when no session
    # has the token (an ended session's cookie must still reach the sign-in page, not a 404).
    return (statement.add_columns(UserSession)
            .outerjoin(UserSession, UserSession.token_hash == bindparam("token_hash"))
            .options(joinedload(UserSession.user, innerjoin=False).joinedload(user_class.gp_profile)))


_NOT_PRELOADED = object()


def preload_session(row) -> None:
    """The session row read with the URL's network (or None: no session has this token); _load_session checks it
    as it checks its own."""
    g.preloaded_session = row


def _load_session():
    token = session.get("sid")
    if not token:
        return None
    row = g.pop("preloaded_session", _NOT_PRELOADED)
    if row is _NOT_PRELOADED:
        row = db.session.scalar(_session_by_token_hash(), {"token_hash": hash_token(token)})
    now = utcnow()
    config = current_app.config
    if (row is None or row.revoked_at is not None or not row.user.active
            or now - row.last_seen_at > config["SESSION_IDLE_TIMEOUT"]
            or now - row.created_at > config["SESSION_ABSOLUTE_TIMEOUT"]):
        if row is not None and row.revoked_at is None:
            row.revoked_at = now
            db.session.commit()
        session.clear()
        return None
    if (now - row.last_seen_at).total_seconds() > 60:  # one write a minute, not one per request
        row.last_seen_at = now
        db.session.commit()
    return row


@login_manager.request_loader
def _load_user_from_session(_request):
    row = _load_session()
    if row is None:
        return None
    g.user_session = row
    return row.user


def mfa_satisfied() -> bool:
    user_session = g.get("user_session")
    if user_session is None:
        return False
    if user_session.mfa_verified_at is not None:
        return True
    return bool(current_app.config.get("DEMO_MFA_BYPASS") and user_session.user.is_demo)


def mfa_bypassed() -> bool:
    """True when a demo account skipped MFA (development only); the page shows a banner."""
    user_session = g.get("user_session")
    return bool(user_session is not None and user_session.mfa_verified_at is None and mfa_satisfied())


# --- network membership and roles -------------------------------------------------------------

def require_membership(*roles):
    """Allow members of g.network with one of *roles* (any role when none given); 404 otherwise."""
    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            membership = g.get("membership")
            if membership is None:
                abort(404)
            if roles and membership.role not in roles:
                # A member trying a coordinator page: refused like a missing page, and logged.
                audit.deny("network.role_denied", object_type="endpoint",
                           reason=f"{request.method} {request.path}"[:500])
            return view(*args, **kwargs)
        wrapped.required_roles = roles
        return wrapped
    return decorator


def require_platform_admin(view):
    @wraps(view)
    def wrapped(*args, **kwargs):
        if not (current_user.is_authenticated and current_user.is_platform_admin):
            abort(404)
        return view(*args, **kwargs)
    return wrapped


# Looks up the active membership of (network_id, user_id), or None; given by register_security.
MembershipLoader = Callable[[int, int], Any]


def register_security(app: Flask, *, load_membership: MembershipLoader) -> None:
    """The gate before every request. *load_membership(network_id, user_id)* returns the user's active
    membership of the network or None (the networks feature provides it; core does not know the model)."""
    login_manager.login_view = "auth.login"
    login_manager.login_message = None

    @app.before_request
    def _gate():
        g.membership = None
        endpoint = request.endpoint or ""
        g.signed_in = current_user.is_authenticated
        if not g.signed_in:
            if g.get("network_requested"):
                return login_manager.unauthorized()  # same answer whether the network exists or not
            return None
        if not mfa_satisfied() and endpoint not in PRE_MFA_ENDPOINTS:
            if current_user.has_mfa:
                return redirect(url_for("auth.mfa_verify"))
            return redirect(url_for("auth.mfa_setup"))
        network = g.get("network")
        if g.get("network_requested") and network is None:
            abort(404)
        if network is not None:
            g.membership = load_membership(network.id, current_user.id)
            if g.membership is None:
                # NEN 7513: a refused access attempt is logged (own commit), then answered 404.
                from app.core.audit import deny
                deny("network.access_denied", object_type="network", object_id=network.id,
                     reason=f"{request.method} {request.path}")
        return None

    @app.after_request
    def _headers(response):
        headers = response.headers
        set_security_headers(headers, hsts=bool(app.config.get("HSTS")))
        # The gate's answer, not current_user: after the request's commit the user is expired and asking it
        # would load it again.
        if g.get("signed_in") or session.get("sid") or request.endpoint in NO_STORE_ENDPOINTS:
            headers["Cache-Control"] = "no-store"
        return response


# Pages of the sign-in flow and of mailed links (they name the account): never cached.
NO_STORE_ENDPOINTS = frozenset({"auth.login", "auth.mfa_verify", "auth.reset_password", "auth.reset_password_link",
                                "auth.accept_invitation", "auth.accept_invitation_link", "gp_portal.verify_email",
                                "gp_portal.verify_email_link"})


def set_security_headers(headers, *, hsts: bool) -> None:
    """The headers every response carries (also the 503 page, which is made without the database)."""
    headers.setdefault("Content-Security-Policy",
                       "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                       "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'")
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    if hsts:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")


def fresh_login_within(seconds: int) -> bool:
    """True when the session's last password/MFA check is recent (for sensitive changes)."""
    user_session = g.get("user_session")
    if user_session is None:
        return False
    checked: datetime = user_session.mfa_verified_at or user_session.created_at
    return (utcnow() - checked).total_seconds() <= seconds
