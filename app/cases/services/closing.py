"""Closing a part and the case, the GP's thread with the central care provider, the timeline."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.auth.models import User
from app.cases.models import (
    GP_VISIBLE_EVENTS,
    CareTeamMember,
    Case,
    CaseEvent,
    CaseEventKind,
    CaseMessage,
    CaseStatus,
    TeamStatus,
)
from app.cases.services._base import (
    CaseRuleBroken,
    add_event,
    record_audit,
)
from app.cases.services.letters import draft_letter
from app.cases.services.team import active_team_member, team
from app.core.audit import AuditAction
from app.core.db import utcnow
from app.core.mail import DigestLine, absolute_url, queue_mail
from app.extensions import db
from app.networks.models import Membership, Network
from app.referrals import services as referral_services
from app.referrals.models import Referral, ReferralStatus


def close_part(row: CareTeamMember, actor: User, summary: str) -> None:
    if row.status is not TeamStatus.ACTIVE:
        raise CaseRuleBroken(_l("Only a member on the team can close their part."))
    if not (summary or "").strip():
        raise CaseRuleBroken(_l("Write a short summary of your part."))
    row.status, row.left_at, row.part_summary = TeamStatus.LEFT, utcnow(), summary.strip()
    case = db.session.scalar(select(Case).where(Case.id == row.case_id))
    add_event(case, actor, CaseEventKind.MEMBER_LEFT, row.role_in_case)
    record_audit("case.part_closed", AuditAction.UPDATE, case, actor=actor, object_type="care_team_member",
            object_id=row.id)


def close_case(case: Case, actor: User, actor_membership: Membership, summary: str) -> None:
    """The central care provider closes the case once every other member closed their part."""
    if case.status is not CaseStatus.ACTIVE:
        raise CaseRuleBroken(_l("The case is closed already."))
    if case.central_membership_id != actor_membership.id:
        raise CaseRuleBroken(_l("Only the central care provider closes the case."))
    if not (summary or "").strip():
        raise CaseRuleBroken(_l("Write a closing summary."))
    open_parts = [row for row in team(case) if row.status in (TeamStatus.ACTIVE, TeamStatus.PROPOSED)
                  and row.membership_id != actor_membership.id]
    if open_parts:
        raise CaseRuleBroken(_l("These members have not closed their part yet: %(names)s.",
                                names=", ".join(row.membership.user.full_name for row in open_parts)))
    own = active_team_member(case, actor_membership.id)
    if own is not None and own.status is TeamStatus.ACTIVE:
        own.status, own.left_at, own.part_summary = TeamStatus.LEFT, utcnow(), summary.strip()
    case.status, case.closed_at, case.closed_by_id = CaseStatus.CLOSED, utcnow(), actor.id
    case.closing_summary = summary.strip()
    add_event(case, actor, CaseEventKind.CLOSED)
    record_audit("case.closed", AuditAction.UPDATE, case, actor=actor, object_type="case", object_id=case.id)
    referral = db.session.scalar(select(Referral).where(Referral.id == case.referral_id))
    if referral.status is ReferralStatus.IN_CARE:
        referral_services.transition(referral, referral_services.Action.CLOSE, actor=actor,
                                     side=referral_services.Side.NETWORK)
    draft_letter(case, actor, kind="closing")


def close_after_death(case: Case, actor: User, summary: str) -> list[Membership]:
    """The patient died: every part and the case close at once (nobody has to close their part first), the
    referral closes, and a closing letter to the GP is drafted. Returns the members who were on the team (to tell).
    Only the coordinator or the central care provider calls it (the caller checks)."""
    if case.status is not CaseStatus.ACTIVE:
        raise CaseRuleBroken(_l("The case is closed already."))
    now, summary = utcnow(), (summary or "").strip()
    members = []
    for row in team(case):
        if row.status in (TeamStatus.ACTIVE, TeamStatus.PROPOSED):
            if row.status is TeamStatus.ACTIVE:
                members.append(row.membership)
            row.status, row.left_at, row.part_summary = TeamStatus.LEFT, now, summary
    case.status, case.closed_at, case.closed_by_id, case.closing_summary = CaseStatus.CLOSED, now, actor.id, summary
    add_event(case, actor, CaseEventKind.CLOSED, "deceased")
    record_audit("case.closed", AuditAction.UPDATE, case, actor=actor, object_type="case", object_id=case.id,
                 reason="the patient died")
    referral = db.session.scalar(select(Referral).where(Referral.id == case.referral_id))
    if referral.status is ReferralStatus.IN_CARE:
        referral_services.transition(referral, referral_services.Action.CLOSE, actor=actor,
                                     side=referral_services.Side.NETWORK)
    draft_letter(case, actor, kind="closing")
    return members


# --- the GP's thread with the central care provider ---------------------------------------------------

def add_case_message(case: Case, actor: User, body: str, *, from_gp: bool) -> CaseMessage:
    if not (body or "").strip():
        raise CaseRuleBroken(_l("Write your message."))
    row = CaseMessage(network_id=case.network_id, case_id=case.id, occurred_at=utcnow(), author_id=actor.id,
                      from_gp=from_gp, body=body.strip())
    db.session.add(row)
    db.session.flush()
    record_audit("case.message", AuditAction.CREATE, case, actor=actor, object_type="case_message", object_id=row.id,
            basis="referrer" if from_gp else "care team")
    network = db.session.get(Network, case.network_id)
    if from_gp:
        central = case.central
        if central is not None and central.user.active:
            queue_mail(to=central.user.email, template="case_gp_question", subject=_l("A GP asks a question"),
                       locale=central.user.locale or "nl", network_id=network.id, user=central.user,
                       network=network, link=absolute_url("cases.detail", network_slug=network.slug, case_id=case.id))
    else:
        referral = db.session.scalar(select(Referral).where(Referral.id == case.referral_id))
        gp = referral.gp_profile.user
        if gp.active:
            link = absolute_url("gp_portal.detail", referral_id=referral.id)
            headline = _l("The network wrote to you about referral %(number)s", number=referral.number)
            queue_mail(to=gp.email, template="referral_update", subject=headline, headline=headline,
                       locale=gp.locale or "nl", network_id=network.id, user=gp, number=referral.number,
                       network=network, link=link, digest=DigestLine(headline, link))
    return row


def case_messages(case: Case) -> list[CaseMessage]:
    return list(db.session.scalars(select(CaseMessage).where(CaseMessage.case_id == case.id)
                                   .order_by(CaseMessage.id)))


def timeline(case: Case, *, gp_only: bool = False) -> list[CaseEvent]:
    statement = select(CaseEvent).where(CaseEvent.case_id == case.id)
    if gp_only:
        statement = statement.where(CaseEvent.kind.in_(GP_VISIBLE_EVENTS))
    return list(db.session.scalars(statement.order_by(CaseEvent.id)))
