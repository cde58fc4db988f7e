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


def _agb_owner(agb_code: str) -> User | None:
    return db.session.scalar(select(User).join(GPProfile, GPProfile.user_id == User.id)
                             .where(GPProfile.agb_code == agb_code))


def register(data: Registration) -> User | None:
    """Create an unverified referrer and mail the verification link; None when the email or the AGB code
    is known.

    A known email or AGB code gets the same answer as a new one (the caller shows "check your mail"
    either way): nothing is created, and the owner of the existing account is told by mail instead.
    """
    email = data.email.strip().lower()
    password_hash = hash_password(data.password)  # on every path: the same work, no timing oracle
    existing, agb_owner = auth_services.find_user_by_email(email), _agb_owner(data.agb_code)
    if existing is not None or agb_owner is not None:
        _notify_owners(existing, agb_owner)
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
        _notify_owners(auth_services.find_user_by_email(email), _agb_owner(data.agb_code))
        return None
    audit.record("referrer.registered", AuditAction.CREATE, user_id=user.id, object_type="gp_profile",
                 object_id=profile.id, reason=data.kind.value)
    send_verification(user)
    return user


def _notify_owners(email_owner: User | None, agb_owner: User | None) -> None:
    """One notice per existing account involved: the email's owner, and the AGB code's owner when that is
    someone else. The mails carry only sign-in and reset links (nothing that grants anything)."""
    if email_owner is not None:
        _notify(email_owner, "registration_exists", _l("Someone tried to register with your email address"),
                "referrer.registration_for_existing_email")
    if agb_owner is not None and (email_owner is None or agb_owner.id != email_owner.id):
        _notify(agb_owner, "registration_agb_exists", _l("Someone tried to register with your AGB code"),
                "referrer.registration_for_existing_agb")


def _notify(user: User, template: str, subject, event: str) -> None:
    audit.record(event, AuditAction.CREATE, outcome=AuditOutcome.FAILURE, user_id=user.id, object_type="user",
                 object_id=user.id)
    if user.active:
        queue_mail(to=user.email, template=template, subject=subject, locale=user.locale or "nl", user=user,
                   login_link=current_app.config["BASE_URL"] + url_for("auth.login"),
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
