"""Practice-nurse links: a POH asks to refer on behalf of a GP of the same practice; the GP confirms
(then the link counts, see app.referrals.services.gps_for_referrer) or refuses. Callers commit."""
from __future__ import annotations

from flask import current_app, url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.auth.models import GPProfile, ReferrerKind
from app.core import audit
from app.core.audit import AuditAction
from app.core.db import utcnow
from app.core.mail import queue_mail
from app.extensions import db
from app.referrals.models import PracticeNurseLink


class LinkRefused(Exception):
    """No GP of the POH's practice has this AGB code (one answer for every reason)."""


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
