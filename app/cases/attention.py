"""What needs me now: the counts on the start pages, each with a link to where the work is.

Every figure is a cheap COUNT; a page reads all of its figures in one SELECT of scalar subqueries, so the
number of queries does not grow with the data (tests/test_start_pages.py counts them). The coordinator's and
the member's figures are read inside the current network (the tenancy scope, plus an explicit network_id);
the GP's across networks through the referrer rule; the platform administrator's are about networks only.
No figure names a patient.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask import g, url_for
from flask_babel import ngettext
from sqlalchemy import func, literal, or_, select

from app.auth.models import User
from app.cases.access import covered_now, member_cases_query
from app.cases.models import CareTeamMember, Case, CaseAction, CaseEvent, CaseStatus, Letter, TeamStatus
from app.core.audit import AuditEvent
from app.core.dates import local_today
from app.core.db import utcnow
from app.core.tenancy import all_networks, current_network_id
from app.extensions import db
from app.networks.models import Membership, Network
from app.referrals import services as referral_services
from app.referrals.models import Referral, ReferralStatus
from app.referrals.services import Place

S = ReferralStatus
NEW_LETTER_DAYS = 14  # a letter counts as new for the GP this many days after it was sent


@dataclass(frozen=True)
class Figure:
    key: str
    count: int
    text: str
    url: str
    urgent: bool = False


def _count(statement) -> object:
    return statement.with_only_columns(func.count()).scalar_subquery()


def _read_also(row, also: dict | None, values: dict | None, first: int) -> None:
    """Put the values of the caller's extra columns (after the figures, from index *first*) in *values*."""
    if also:
        for offset, name in enumerate(also):
            values[name] = row[first + offset]


def coordinator_figures(*, today: date | None = None, now: datetime | None = None, also: dict | None = None,
                        values: dict | None = None) -> list[Figure]:
    """New and overdue referrals (against the acknowledgement norm), referrals whose intake is to be held,
    proposals waiting for an answer, active cases without a central care provider, overdue next steps.

    *also*: more scalar columns (name -> column) the caller's page needs, read in the same statement into
    *values*: the network home reads all of its counts in one round trip."""
    today, now = today or local_today(), now or utcnow()
    network_id = current_network_id()
    has_case = select(Case.id).where(Case.referral_id == Referral.id, Case.network_id == Referral.network_id).exists()
    referrals = select(Referral.id).where(Referral.network_id == network_id)
    cases = select(Case.id).where(Case.network_id == network_id, Case.status == CaseStatus.ACTIVE)
    # The gate read the nav badge's count with the membership on a GET (app/__init__.py): not counted again.
    known_new = g.get("new_referral_count")
    row = db.session.execute(select(
        _count(referrals.where(Referral.status == S.SUBMITTED)) if known_new is None else literal(known_new),
        _count(referrals.where(Referral.status == S.SUBMITTED, Referral.ack_due_at < now)),
        _count(referrals.where(Referral.status.in_(referral_services.statuses_in(Place.INTAKES)), ~has_case)),
        _count(select(CareTeamMember.id).join(Case, (Case.id == CareTeamMember.case_id)
                                              & (Case.network_id == CareTeamMember.network_id))
               .where(CareTeamMember.network_id == network_id, CareTeamMember.status == TeamStatus.PROPOSED,
                      Case.status == CaseStatus.ACTIVE)),
        _count(cases.where(Case.central_membership_id.is_(None))),
        _count(select(CaseAction.id).join(Case, (Case.id == CaseAction.case_id)
                                          & (Case.network_id == CaseAction.network_id))
               .where(CaseAction.network_id == network_id, CaseAction.done_at.is_(None), CaseAction.due_on < today,
                      Case.status == CaseStatus.ACTIVE)),
        *(also or {}).values(),
    )).one()
    _read_also(row, also, values, 6)
    new, overdue, intakes, proposals, no_central, late_steps = (int(value or 0) for value in row[:6])
    g.new_referral_count = new  # the same figure as the nav badge (app.referrals.views): counted once per page
    inbox = url_for("referrals.index", status="submitted")
    case_list = url_for("cases.index")
    return [
        Figure("new_referrals", new, ngettext("%(num)d new referral to acknowledge",
                                              "%(num)d new referrals to acknowledge", new), inbox),
        Figure("overdue_referrals", overdue, ngettext("%(num)d referral past the acknowledgement norm",
                                                      "%(num)d referrals past the acknowledgement norm", overdue),
               inbox, urgent=True),
        Figure("intakes", intakes, ngettext("%(num)d intake to hold", "%(num)d intakes to hold", intakes),
               case_list),
        Figure("proposals", proposals, ngettext("%(num)d care-team proposal waiting for an answer",
                                                "%(num)d care-team proposals waiting for an answer", proposals),
               case_list),
        Figure("no_central", no_central, ngettext("%(num)d case without a central care provider",
                                                  "%(num)d cases without a central care provider", no_central),
               url_for("cases.index", status="active"), urgent=True),
        Figure("overdue_actions", late_steps, ngettext("%(num)d next step past its due date",
                                                       "%(num)d next steps past their due date", late_steps),
               case_list, urgent=True),
    ]


def member_figures(membership: Membership, *, today: date | None = None, also: dict | None = None,
                   values: dict | None = None) -> list[Figure]:
    """The member's open proposals they may answer, their own overdue next steps, the distress measurements due
    in the cases where they are the central care provider and their cases with news since their last visit;
    only cases the door lets them reach now (a live consent names them: covered_now)."""
    today = today or local_today()
    network_id = current_network_id()
    active_case = (Case.status == CaseStatus.ACTIVE)
    row = db.session.execute(select(
        _count(select(CareTeamMember.id).where(
            CareTeamMember.network_id == network_id, CareTeamMember.membership_id == membership.id,
            CareTeamMember.status == TeamStatus.PROPOSED, covered_now(membership.id, CareTeamMember.case_id))),
        _count(select(CaseAction.id).join(Case, (Case.id == CaseAction.case_id)
                                          & (Case.network_id == CaseAction.network_id))
               .where(CaseAction.network_id == network_id, CaseAction.owner_membership_id == membership.id,
                      CaseAction.done_at.is_(None), CaseAction.due_on < today, active_case,
                      covered_now(membership.id, Case.id))),
        _count(select(Case.id).where(Case.network_id == network_id, active_case,
                                     Case.central_membership_id == membership.id, Case.next_prom_due_on <= today,
                                     covered_now(membership.id, Case.id))),
        _count(member_cases_query(membership).with_only_columns(Case.id)
               .where(Case.network_id == network_id, active_case, _news_since_last_visit(membership.user_id))),
        *(also or {}).values(),
    )).one()
    _read_also(row, also, values, 4)
    proposals, late_steps, proms, news = (int(value or 0) for value in row[:4])
    case_list = url_for("cases.index")
    return [
        Figure("proposals", proposals, ngettext("%(num)d care-team proposal to answer",
                                                "%(num)d care-team proposals to answer", proposals), case_list),
        Figure("overdue_actions", late_steps, ngettext("%(num)d of your next steps is past its due date",
                                                       "%(num)d of your next steps are past their due date",
                                                       late_steps), case_list, urgent=True),
        Figure("proms_due", proms, ngettext("%(num)d distress thermometer due",
                                            "%(num)d distress thermometers due", proms), case_list),
        Figure("news", news, ngettext("%(num)d of your cases has news since your last visit",
                                      "%(num)d of your cases have news since your last visit", news), case_list),
    ]


def _news_since_last_visit(user_id: int):
    """SQL condition on a case row: someone else added to its timeline after this user last opened the case page
    (the NEN 7513 row that page writes), or ever, if they never opened it."""
    last_visit = (select(func.max(AuditEvent.occurred_at))
                  .where(AuditEvent.network_id == Case.network_id, AuditEvent.patient_id == Case.patient_id,
                         AuditEvent.user_id == user_id, AuditEvent.event == "case.detail_viewed",
                         AuditEvent.object_id == Case.id)
                  .correlate(Case).scalar_subquery())
    return (select(CaseEvent.id)
            .where(CaseEvent.network_id == Case.network_id, CaseEvent.case_id == Case.id,
                   CaseEvent.actor_id != user_id,
                   or_(last_visit.is_(None), CaseEvent.occurred_at > last_visit))
            .correlate(Case).exists())


def referrer_figures(user: User, *, now: datetime | None = None) -> dict:
    """The GP's (or practice nurse's) own referrals by status and the letters sent to them recently, across
    networks: two queries."""
    if not referral_services.is_verified_referrer(user):
        return {"by_status": [], "new_letters": 0}
    since = (now or utcnow()) - timedelta(days=NEW_LETTER_DAYS)
    letters = db.session.scalar(all_networks(
        select(func.count(Letter.id)).join(Case, (Case.id == Letter.case_id) & (Case.network_id == Letter.network_id))
        .join(Referral, (Referral.id == Case.referral_id) & (Referral.network_id == Case.network_id))
        .where(referral_services.referrer_filter(user), Letter.sent_at.is_not(None), Letter.sent_at >= since))) or 0
    by_status = [(status, count) for status, count in referral_services.referrer_status_counts(user)
                 if status is not S.DRAFT]
    return {"by_status": by_status, "new_letters": int(letters)}


def admin_figures() -> dict[str, int]:
    """Networks: how many, and how many wait for the administrator's approval (one query)."""
    total, waiting = db.session.execute(all_networks(select(
        func.count(Network.id), func.count(Network.id).filter(Network.approved_at.is_(None))))).one()
    return {"networks": int(total or 0), "awaiting_approval": int(waiting or 0)}
