"""Accounts: users, recovery codes, one-time tokens, the GP profile (server-side sessions: app.core.security)."""
from __future__ import annotations

import enum
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.db import TimestampMixin
from app.core.types import enum_type
from app.extensions import db


class User(UserMixin, TimestampMixin, db.Model):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    # The secrets are loaded only where they are checked (sign-in, two-step verification, password change):
    # every page that names a user (an author, an actor, a team member) would otherwise carry them in memory.
    password_hash: Mapped[str | None] = mapped_column(String(255), deferred=True)
    totp_secret: Mapped[str | None] = mapped_column(String(64), deferred=True)
    totp_last_counter: Mapped[int | None]
    mfa_enabled_at: Mapped[datetime | None]
    locale: Mapped[str | None] = mapped_column(String(5))
    is_platform_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    password_changed_at: Mapped[datetime | None]
    # Set when the user proved the address: a verification link (GP self-registration) or an invitation.
    email_verified_at: Mapped[datetime | None]

    # Loaded where it is read (the session loader joins it for the signed-in user); joined on every User it
    # widened every row that names a user.
    gp_profile: Mapped[GPProfile | None] = relationship(back_populates="user")

    @property
    def is_active(self) -> bool:  # Flask-Login reads this
        return self.active

    @property
    def has_mfa(self) -> bool:
        # mfa_enabled_at is set only by confirming a code of the secret and cleared with every new or removed
        # secret (app.auth.services), so it alone answers; the gate asks on every request, and the secret is
        # deferred (loaded only where a code is checked).
        return self.mfa_enabled_at is not None


class RecoveryCode(db.Model):
    __tablename__ = "recovery_codes"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(255))
    used_at: Mapped[datetime | None]


class TokenPurpose(enum.StrEnum):
    INVITE = "invite"
    RESET = "reset"
    VERIFY_EMAIL = "verify_email"


class AccountToken(TimestampMixin, db.Model):
    """Invitation, password-reset or email-verification link: random, stored hashed, single-use, expiring."""

    __tablename__ = "account_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    purpose: Mapped[TokenPurpose] = mapped_column(enum_type(TokenPurpose))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(lazy="joined", innerjoin=True)


class ReferrerKind(enum.StrEnum):
    GP = "gp"
    POH = "poh"  # practice nurse (praktijkondersteuner): refers on behalf of a confirmed GP


class GPProfile(TimestampMixin, db.Model):
    """The referrer side of a user (a GP or a practice nurse): not bound to one network."""

    __tablename__ = "gp_profiles"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), unique=True)
    agb_code: Mapped[str] = mapped_column(String(8), unique=True)
    practice_name: Mapped[str] = mapped_column(String(200))
    city: Mapped[str] = mapped_column(String(100), default="")
    kind: Mapped[ReferrerKind] = mapped_column(enum_type(ReferrerKind), default=ReferrerKind.GP)
    practice_agb: Mapped[str | None] = mapped_column(String(8))  # the practice's own AGB code
    phone: Mapped[str] = mapped_column(String(30), default="")

    user: Mapped[User] = relationship(back_populates="gp_profile")

    @property
    def is_poh(self) -> bool:
        return self.kind is ReferrerKind.POH
