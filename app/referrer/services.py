"""Referrer accounts: self-registration, email verification, practice-nurse links. Callers commit.

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
from app.core.mail import queue_mail
from app.core.security import hash_password
from app.extensions import db
from app.referrals.models import PracticeNurseLink


class AGBTaken(Exception):
    """Another referrer profile has this AGB code already."""


class LinkRefused(Exception):
    """No GP of the POH's practice has this AGB code (one answer for every reason)."""


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
    token = auth_services.issue_token(user, TokenPurpose.VERIFY_EMAIL)
    queue_mail(to=user.email, template="verify_email", subject=_l("Confirm your email address for Netwerkzorg"),
               locale=user.locale or "nl", user=user,
               link=current_app.config["BASE_URL"] + url_for("referrer.verify_email", token=token))


def verify_email(token: str) -> User:
    """Use a verification link once; raises auth_services.TokenInvalid."""
    row = auth_services.peek_token(token, TokenPurpose.VERIFY_EMAIL)
    if not row.user.active:
        raise auth_services.TokenInvalid
    user = auth_services.consume_token(token, TokenPurpose.VERIFY_EMAIL)
    if user.email_verified_at is None:
        user.email_verified_at = utcnow()
    audit.record("user.email_verified", AuditAction.UPDATE, user_id=user.id, object_type="user", object_id=user.id)
    return user


def _norm(value: str | None) -> str:
    return " ".join((value or "").split()).casefold()


def same_practice(a: GPProfile, b: GPProfile) -> bool:
    """Both practice AGB codes known: they decide; otherwise the practice name and town must match."""
    if a.practice_agb and b.practice_agb:
        return a.practice_agb == b.practice_agb
    return _norm(a.practice_name) == _norm(b.practice_name) and _norm(a.city) == _norm(b.city)


def request_link(poh: GPProfile, gp_agb_code: str) -> PracticeNurseLink:
    """A POH asks to refer for the GP with this AGB code; the GP confirms on their start page."""
    gp = db.session.scalar(select(GPProfile).where(GPProfile.agb_code == gp_agb_code))
    if (gp is None or gp.id == poh.id or gp.kind is not ReferrerKind.GP or not gp.user.active
            or not same_practice(poh, gp)):
        raise LinkRefused
    link = db.session.scalar(select(PracticeNurseLink).where(PracticeNurseLink.poh_profile_id == poh.id,
                                                             PracticeNurseLink.gp_profile_id == gp.id))
    if link is not None:
        return link  # asked before: nothing new (pending or confirmed)
    link = PracticeNurseLink(poh_profile_id=poh.id, gp_profile_id=gp.id)
    db.session.add(link)
    db.session.flush()
    audit.record("referrer.link_requested", AuditAction.CREATE, object_type="practice_nurse_link",
                 object_id=link.id, reason=f"gp_profile {gp.id}")
    queue_mail(to=gp.user.email, template="practice_link_requested",
               subject=_l("A practice nurse asks to refer on your behalf"), locale=gp.user.locale or "nl",
               gp=gp.user, poh=poh.user, link=current_app.config["BASE_URL"] + url_for("main.index"))
    return link


def links_of_poh(poh: GPProfile) -> list[PracticeNurseLink]:
    return list(db.session.scalars(select(PracticeNurseLink).where(PracticeNurseLink.poh_profile_id == poh.id)
                                   .order_by(PracticeNurseLink.created_at)).unique())


def links_of_gp(gp: GPProfile, *, confirmed: bool) -> list[PracticeNurseLink]:
    state = PracticeNurseLink.confirmed_at.is_not(None) if confirmed else PracticeNurseLink.confirmed_at.is_(None)
    return list(db.session.scalars(select(PracticeNurseLink).where(PracticeNurseLink.gp_profile_id == gp.id, state)
                                   .order_by(PracticeNurseLink.created_at)).unique())


def link_for_gp(gp: GPProfile, link_id: int) -> PracticeNurseLink | None:
    """The link *link_id* only when it belongs to this GP (anything else: None, answered with 404)."""
    return db.session.scalar(select(PracticeNurseLink).where(PracticeNurseLink.id == link_id,
                                                             PracticeNurseLink.gp_profile_id == gp.id))


def confirm_link(link: PracticeNurseLink) -> None:
    if link.confirmed_at is None:
        link.confirmed_at = utcnow()
    audit.record("referrer.link_confirmed", AuditAction.UPDATE, object_type="practice_nurse_link",
                 object_id=link.id, user_id=link.gp.user_id)


def refuse_link(link: PracticeNurseLink) -> None:
    """Refusing (or ending a confirmed link) removes it; the POH may ask again."""
    audit.record("referrer.link_refused" if link.confirmed_at is None else "referrer.link_ended",
                 AuditAction.DELETE, object_type="practice_nurse_link", object_id=link.id,
                 user_id=link.gp.user_id)
    db.session.delete(link)
    db.session.flush()
