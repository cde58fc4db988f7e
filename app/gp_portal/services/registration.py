"""Self-registration and email verification of GPs and practice nurses. Callers commit.

Who may refer (on whose behalf) is the referral domain's rule: app.referrals.services.is_verified_referrer
and gps_for_referrer.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, url_for
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.auth import services as auth_services
from app.auth.models import GPProfile, ReferrerKind, TokenPurpose, User
from app.core import audit
from app.core.audit import AuditAction, AuditOutcome
from app.core.db import utcnow
from app.core.mail import OneTimeLink, queue_mail
from app.core.security import hash_password
from app.extensions import db


class AGBTaken(Exception):
    """Another referrer profile has this AGB code already."""


@dataclass
class Registration:
    full_name: str
    email: str
    kind: ReferrerKind
    agb_code: str
    practice_name: str
    city: str
    password: str
    practice_agb: str | None = None
    phone: str = ""


def agb_taken(agb_code: str) -> bool:
    return db.session.scalar(select(GPProfile.id).where(GPProfile.agb_code == agb_code)) is not None


def register(data: Registration) -> User | None:
    """Create an unverified referrer and mail the verification link; None when the email is known.

    For a known address the owner gets a notice instead, so the caller can answer both alike.
    Raises AGBTaken (also when a concurrent registration wins the unique AGB code).
    """
    email = data.email.strip().lower()
    if agb_taken(data.agb_code):
        raise AGBTaken
    password_hash = hash_password(data.password)  # also for a known address: the same work, no timing oracle
    existing = auth_services.find_user_by_email(email)
    if existing is not None:
        _notify_existing(existing)
        return None
    user = User(email=email, full_name=data.full_name.strip(), password_hash=password_hash,
                password_changed_at=utcnow(), active=True, locale=str(get_locale() or "nl"))
    profile = GPProfile(user=user, agb_code=data.agb_code, kind=data.kind, practice_name=data.practice_name.strip(),
                        city=data.city.strip(), practice_agb=data.practice_agb or None, phone=data.phone.strip())
    try:
        with db.session.begin_nested():
            db.session.add_all([user, profile])
            db.session.flush()
    except IntegrityError:
        # Lost a race for the email or the AGB code: answer as if it had been taken before.
        if agb_taken(data.agb_code):
            raise AGBTaken from None
        return None
    audit.record("referrer.registered", AuditAction.CREATE, user_id=user.id, object_type="gp_profile",
                 object_id=profile.id, reason=data.kind.value)
    send_verification(user)
    return user


def _notify_existing(user: User) -> None:
    audit.record("referrer.registration_for_existing_email", AuditAction.CREATE, outcome=AuditOutcome.FAILURE,
                 user_id=user.id, object_type="user", object_id=user.id)
    if user.active:
        queue_mail(to=user.email, template="registration_exists",
                   subject=_l("Someone tried to register with your email address"), locale=user.locale or "nl",
                   user=user, login_link=current_app.config["BASE_URL"] + url_for("auth.login"),
                   reset_link=current_app.config["BASE_URL"] + url_for("auth.forgot_password"))


def send_verification(user: User) -> None:
    """Mail a fresh verification link (earlier open links lapse)."""
    auth_services.lapse_tokens(user, TokenPurpose.VERIFY_EMAIL)
    # The token is minted when the mail is sent: the outbox row holds no usable link.
    queue_mail(to=user.email, template="verify_email", subject=_l("Confirm your email address for Netwerkzorg"),
               locale=user.locale or "nl", user=user,
               one_time_link=OneTimeLink(user.id, TokenPurpose.VERIFY_EMAIL.value, "gp_portal.verify_email_link"))


def verify_email(token: str, *, hashed: bool = False) -> User:
    """Use a verification link (the token, or its hash with hashed=True) once; raises auth_services.TokenInvalid."""
    row = auth_services.peek_token(token, TokenPurpose.VERIFY_EMAIL, hashed=hashed)
    if not row.user.active:
        raise auth_services.TokenInvalid
    user = auth_services.consume_token(token, TokenPurpose.VERIFY_EMAIL, hashed=hashed)
    if user.email_verified_at is None:
        user.email_verified_at = utcnow()
    audit.record("user.email_verified", AuditAction.UPDATE, user_id=user.id, object_type="user", object_id=user.id)
    return user
