"""Referrals: drafts, idempotent submission, reference numbers, the status machine, the thread,
notifications, and the GP's view across networks. Callers commit; every change is audit-logged here.

Two doors decide who reaches a referral:
- inside a network (coordinators), the tenant scope of the request;
- for a GP or practice nurse, `referral_for_referrer` / `referrals_of_referrer`: the only reads
  across networks, always filtered by the referrer (the named `all_networks` bypass).

Who may refer: `is_verified_referrer(user)` (at all) and `gps_for_referrer(user)` (on whose behalf;
a practice nurse only for GPs who confirmed the link).
"""
from __future__ import annotations

import enum
import secrets
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from blinker import Namespace
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import case, exists, false, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from app.auth.models import GPProfile, ReferrerKind, User
from app.core import audit
from app.core.audit import AuditAction
from app.core.db import utcnow
from app.core.mail import DigestLine, absolute_url, queue_mail
from app.core.tenancy import all_networks, current_network_id, network_context
from app.core.workdays import add_working_days
from app.extensions import db
from app.networks.models import Membership, Network, Role
from app.patients.models import Patient
from app.referrals.models import (
    PracticeNurseLink,
    Referral,
    ReferralDiscipline,
    ReferralEvent,
    ReferralMedication,
    ReferralMessage,
    ReferralStatus,
)

S = ReferralStatus

# Columns a submission may set (the form's parsed values); anything else is refused.
REFERRAL_FIELDS = frozenset({
    "given_name", "family_name", "date_of_birth", "sex", "bsn", "address", "postcode", "city", "phone", "email",
    "preferred_language", "relative_name", "relative_relation", "relative_phone",
    "tumour_type", "hospital", "specialist", "treatment_phase", "treatment_goal", "history",
    "medication_list_attached", "resuscitation", "resuscitation_text", "euthanasia", "euthanasia_text",
    "advance_directive", "advance_directive_text",
    "question", "complaints", "distress_score", "urgency", "social_situation",
})



# Sent when the coordinator decides on care without an intake; app.cases opens the case (one receiver,
# connected when the cases package is imported), so this module needs no import of the feature above it.
care_started_without_intake = Namespace().signal("referral-care-started-without-intake")
# Sent once a referral is submitted (any channel: the web form, later the API), inside its transaction:
# the shared record (app.records) takes in what the referral says. Receivers flush; nobody commits.
referral_submitted = Namespace().signal("referral-submitted")
# Every transition, after it is recorded: sent with (referral, actor=, action=, from_status=). The norms between the
# care lines (app.norms, above this package) start and stop their clocks on it.
referral_transitioned = Namespace().signal("referral-transitioned")


class Side(enum.StrEnum):
    NETWORK = "network"  # a coordinator of the referral's network
    REFERRER = "referrer"  # the referring GP or the practice nurse who submitted


class Action(enum.StrEnum):
    ACKNOWLEDGE = "acknowledge"
    REQUEST_INFO = "request_info"
    ANSWER = "answer"
    ACCEPT = "accept"
    PLAN_INTAKE = "plan_intake"
    START_CARE = "start_care"  # internal: only completing the intake takes it (see check_transition)
    CARE_WITHOUT_INTAKE = "care_without_intake"
    CLOSE = "close"
    DECLINE = "decline"
    FORWARD = "forward"
    WITHDRAW = "withdraw"


@dataclass(frozen=True)
class Rule:
    side: Side
    sources: frozenset[ReferralStatus]
    target: ReferralStatus
    # Taken by another service as part of its own work, never offered as a button (actions_for).
    internal: bool = False


_BEFORE_ACCEPTANCE = frozenset({S.SUBMITTED, S.ACKNOWLEDGED, S.INFO_REQUESTED})
RULES: dict[Action, Rule] = {
    Action.ACKNOWLEDGE: Rule(Side.NETWORK, frozenset({S.SUBMITTED}), S.ACKNOWLEDGED),
    Action.REQUEST_INFO: Rule(Side.NETWORK, frozenset({S.ACKNOWLEDGED}), S.INFO_REQUESTED),
    Action.ANSWER: Rule(Side.REFERRER, frozenset({S.INFO_REQUESTED}), S.ACKNOWLEDGED),
    Action.ACCEPT: Rule(Side.NETWORK, frozenset({S.ACKNOWLEDGED}), S.ACCEPTED),
    # Planning again moves the date; the referral stays "intake planned".
    Action.PLAN_INTAKE: Rule(Side.NETWORK, frozenset({S.ACCEPTED, S.INTAKE_PLANNED}), S.INTAKE_PLANNED),
    # In care only with a case: completing the intake opens it and takes START_CARE (never a button); care
    # without intake is the coordinator's explicit decision with a reason, and opens the case itself.
    Action.START_CARE: Rule(Side.NETWORK, frozenset({S.INTAKE_PLANNED}), S.IN_CARE, internal=True),
    Action.CARE_WITHOUT_INTAKE: Rule(Side.NETWORK, frozenset({S.ACCEPTED, S.INTAKE_PLANNED}), S.IN_CARE),
    Action.CLOSE: Rule(Side.NETWORK, frozenset({S.IN_CARE}), S.CLOSED),
    Action.DECLINE: Rule(Side.NETWORK, _BEFORE_ACCEPTANCE, S.DECLINED),
    Action.FORWARD: Rule(Side.NETWORK, _BEFORE_ACCEPTANCE, S.FORWARDED),
    Action.WITHDRAW: Rule(Side.REFERRER, _BEFORE_ACCEPTANCE, S.WITHDRAWN),
}

# Why an action is refused, per status: shown to the user as is.
_REFUSALS = {
    Action.REQUEST_INFO: _l("Acknowledge the referral before asking the GP a question."),
    Action.ACCEPT: _l("A referral is accepted after it is acknowledged and while no question to the GP is open."),
    Action.PLAN_INTAKE: _l("Accept the referral before planning the intake."),
    Action.START_CARE: _l("The patient is in care once the intake is completed. Start the intake, or choose "
                          "care without intake."),
    Action.CARE_WITHOUT_INTAKE: _l("Care without intake is decided after the referral is accepted and before the "
                                   "patient is in care."),
    Action.CLOSE: _l("Only a referral whose patient is in care can be closed."),
    Action.ANSWER: _l("There is no open question on this referral."),
}


# Actions that need a text (the reason, the question, the answer), with the message when it is missing.
_TEXT_REQUIRED = {
    Action.DECLINE: _l("Give the reason for declining."),
    Action.REQUEST_INFO: _l("Write the question for the GP."),
    Action.ANSWER: _l("Write your answer."),
    Action.CARE_WITHOUT_INTAKE: _l("Give the reason for care without intake."),
}


class IllegalTransition(Exception):
    """The action is not allowed in the referral's status; str() is the message for the user (lazy, so it
    is translated when shown)."""


class KeyConflict(Exception):
    """The submission key belongs to another user's referral."""


class Place(enum.StrEnum):
    """The coordinator's lists where a referral waits for the next step."""
    INBOX = "inbox"  # the referral inbox, filter "open" (views.FILTERS)
    INTAKES = "intakes"  # "Referrals ready for intake" on the case list (cases.views.case)
    CASES = "cases"  # the case list: the referral's case


# Where the coordinator acts on a referral, per status: every open status has exactly one list, so no
# referral falls through; None for a draft (not sent yet) and for the statuses where nothing is open any more.
# Every status is a key: tests/test_referral_places.py walks the enum and opens each list.
ACTIONABLE_PLACE: dict[ReferralStatus, Place | None] = {
    S.DRAFT: None,
    S.SUBMITTED: Place.INBOX,
    S.ACKNOWLEDGED: Place.INBOX,
    S.INFO_REQUESTED: Place.INBOX,
    S.ACCEPTED: Place.INTAKES,
    S.INTAKE_PLANNED: Place.INTAKES,
    S.IN_CARE: Place.CASES,
    S.CLOSED: None,
    S.DECLINED: None,
    S.FORWARDED: None,
    S.WITHDRAWN: None,
}


def statuses_in(place: Place) -> tuple[ReferralStatus, ...]:
    """The statuses whose referrals *place* lists (in the enum's order)."""
    return tuple(status for status in S if ACTIONABLE_PLACE[status] is place)


def actions_for(referral: Referral, side: Side) -> list[Action]:
    """The actions *side* may take now (for the buttons on the page); internal ones are never offered."""
    return [action for action, rule in RULES.items()
            if rule.side is side and not rule.internal and referral.status in rule.sources]


def check_transition(referral: Referral, action: Action, side: Side) -> Rule:
    rule = RULES[action]
    if rule.side is not side:
        raise IllegalTransition(_l("This action is not yours to take."))
    if referral.status not in rule.sources:
        if referral.status in (S.DECLINED, S.FORWARDED, S.WITHDRAWN, S.CLOSED):
            raise IllegalTransition(_l("This referral is no longer open (declined, forwarded, withdrawn or "
                                       "closed); nothing can change any more."))
        if action is Action.WITHDRAW:
            raise IllegalTransition(_l("A referral can only be withdrawn before it is accepted."))
        if action in (Action.DECLINE, Action.FORWARD):
            raise IllegalTransition(_l("An accepted referral can no longer be declined or forwarded."))
        if action is Action.ACKNOWLEDGE:
            raise IllegalTransition(_l("This referral has been acknowledged already."))
        raise IllegalTransition(_REFUSALS[action])
    if action is Action.START_CARE and not _has_completed_intake(referral):
        raise IllegalTransition(_REFUSALS[action])
    return rule


def _has_completed_intake(referral: Referral) -> bool:
    from app.cases.models import Intake, IntakeStatus  # the cases package builds on this one

    return db.session.scalar(select(Intake.id).where(Intake.referral_id == referral.id,
                                                     Intake.status == IntakeStatus.COMPLETED).limit(1)) is not None


def _coordinator_membership(actor: User, network_id: int) -> Membership | None:
    return db.session.scalar(select(Membership).where(
        Membership.user_id == actor.id, Membership.network_id == network_id, Membership.role == Role.COORDINATOR,
        Membership.is_active.is_(True)))


# --- drafts and submission ---------------------------------------------------------------------

def new_submission_key() -> str:
    return secrets.token_urlsafe(24)


def referable_network(slug: str) -> Network | None:
    """A network a referrer may send to: approved by the platform admin (public or not)."""
    return db.session.scalar(select(Network).where(Network.slug == slug, Network.approved_at.is_not(None)))


def _by_key(submission_key: str, *, lock: bool = False) -> Referral | None:
    statement = select(Referral).where(Referral.submission_key == submission_key)
    if lock:
        statement = statement.with_for_update(of=Referral).execution_options(populate_existing=True)
    return db.session.scalar(statement)


def find_by_key(user: User, submission_key: str) -> Referral | None:
    """The current network's referral with this key, when *user* typed it and still reaches it (a practice
    nurse whose link ended does not); KeyConflict otherwise."""
    referral = _by_key(submission_key)
    if referral is not None and (referral.submitted_by_id != user.id or db.session.scalar(
            select(Referral.id).where(Referral.id == referral.id, _referrer_filter(user))) is None):
        raise KeyConflict
    return referral


def save_draft(*, user: User, gp_profile: GPProfile, submission_key: str, form_data: dict[str, Any]) -> Referral:
    """Keep the form as typed, in the current network. A submitted referral is returned unchanged."""
    referral = _row_for_key(user, gp_profile, submission_key)
    if referral.status is not S.DRAFT:
        return referral
    referral.draft_data = form_data
    referral.gp_profile_id = gp_profile.id
    referral.updated_at = utcnow()
    audit.record("referral.draft_saved", AuditAction.UPDATE, object_type="referral", object_id=referral.id,
                 basis="referrer", user_id=user.id, on_behalf_of_user_id=_on_behalf(user, gp_profile))
    return referral


def _row_for_key(user: User, gp_profile: GPProfile, submission_key: str) -> Referral:
    """The referral with this key in the current network, a new draft row when there is none; refuses
    another user's key (KeyConflict) and a GP the user may not refer for (NotYourGP)."""
    _require_on_behalf_allowed(user, gp_profile)
    referral = find_by_key(user, submission_key)
    if referral is None:
        referral = _insert(user=user, gp_profile=gp_profile, submission_key=submission_key)
        if referral.submitted_by_id != user.id:
            raise KeyConflict
    return referral


def _insert(*, user: User, gp_profile: GPProfile, submission_key: str) -> Referral:
    """Insert a draft row for this key; when a concurrent request won the key, return its row."""
    referral = Referral(network_id=current_network_id(), submission_key=submission_key, gp_profile_id=gp_profile.id,
                        submitted_by_id=user.id, status=S.DRAFT, updated_at=utcnow())
    try:
        with db.session.begin_nested():
            db.session.add(referral)
            db.session.flush()
    except IntegrityError:
        existing = _by_key(submission_key)
        if existing is None:
            raise
        return existing
    return referral


class NotYourGP(Exception):
    """The referrer may not refer on behalf of this GP (a POH without a confirmed link)."""


def _require_on_behalf_allowed(user: User, gp_profile: GPProfile) -> None:
    if gp_profile is None or gp_profile.id not in {p.id for p in gps_for_referrer(user)}:
        raise NotYourGP


def _on_behalf(user: User, gp_profile: GPProfile) -> int | None:
    return gp_profile.user_id if gp_profile.user_id != user.id else None


def _claim_number(network_id: int, now: datetime) -> str:
    """The next R-<year>-<seq> of the network, in one atomic UPDATE (the row lock orders submitters)."""
    # A new year restarts the count; a clock that runs behind never restarts it (numbers stay unique).
    new_year = Network.referral_seq_year < now.year
    seq, year = db.session.execute(
        update(Network).where(Network.id == network_id)
        .values(referral_seq=case((new_year, 1), else_=Network.referral_seq + 1),
                referral_seq_year=case((new_year, now.year), else_=Network.referral_seq_year))
        .returning(Network.referral_seq, Network.referral_seq_year)
        .execution_options(synchronize_session=False)).one()
    return f"R-{year}-{seq:04d}"


def submit(*, user: User, gp_profile: GPProfile, submission_key: str, fields: dict[str, Any],
           medications: list[dict[str, str]], discipline_ids: list[int],
           forwarded_from_referral_id: int | None = None) -> tuple[Referral, bool]:
    """Submit the referral with this key in the current network. Returns (referral, created).

    Idempotent: a key that was submitted before returns that referral with created=False, also when
    two requests race (the draft row is locked; a concurrent insert loses on the unique key).
    """
    unknown = set(fields) - REFERRAL_FIELDS
    if unknown:
        raise ValueError(f"not referral fields: {sorted(unknown)}")
    _row_for_key(user, gp_profile, submission_key)
    referral = _by_key(submission_key, lock=True)
    if referral.status is not S.DRAFT:
        return referral, False
    now = utcnow()
    network = db.session.get(Network, referral.network_id)
    for name, value in fields.items():
        setattr(referral, name, value)
    referral.gp_profile_id = gp_profile.id
    referral.medications = [ReferralMedication(network_id=referral.network_id, position=position, **row)
                            for position, row in enumerate(medications)]
    db.session.add_all(ReferralDiscipline(network_id=referral.network_id, referral_id=referral.id,
                                          discipline_id=discipline_id) for discipline_id in sorted(set(discipline_ids)))
    patient = Patient(network_id=referral.network_id, given_name=referral.given_name,
                      family_name=referral.family_name, date_of_birth=referral.date_of_birth, bsn=referral.bsn,
                      postcode=referral.postcode, phone=referral.phone, created_by_id=user.id)
    db.session.add(patient)
    db.session.flush()
    referral.patient_id = patient.id
    referral.consent_confirmed_at = now
    referral.consent_confirmed_by_id = user.id
    referral.number = _claim_number(referral.network_id, now)
    referral.status = S.SUBMITTED
    referral.submitted_at = now
    referral.updated_at = now
    referral.ack_due_at = add_working_days(now, network.referral_ack_norm_days)
    referral.draft_data = None
    referral.forwarded_from_referral_id = forwarded_from_referral_id
    _add_event(referral, user, None, S.SUBMITTED)
    audit.record("referral.submitted", AuditAction.CREATE, patient_id=patient.id, object_type="referral",
                 object_id=referral.id, basis="referral consent confirmed by referrer", user_id=user.id,
                 on_behalf_of_user_id=_on_behalf(user, gp_profile))
    _notify_coordinators(referral, network, "referral_submitted",
                         _l("New referral %(number)s", number=referral.number))
    referral_submitted.send(referral, actor=user)
    return referral, True


def discard_draft(referral: Referral, user: User) -> None:
    if referral.status is not S.DRAFT or referral.submitted_by_id != user.id:
        raise IllegalTransition(_l("Only your own draft can be discarded."))
    audit.record("referral.draft_discarded", AuditAction.DELETE, object_type="referral", object_id=referral.id,
                 basis="referrer", user_id=user.id)
    db.session.delete(referral)
    db.session.flush()


# --- the status machine ------------------------------------------------------------------------

def _add_event(referral: Referral, actor: User, from_status: ReferralStatus | None, to_status: ReferralStatus,
               text: str = "") -> ReferralEvent:
    event = ReferralEvent(network_id=referral.network_id, referral_id=referral.id, occurred_at=utcnow(),
                          actor_id=actor.id, from_status=from_status, to_status=to_status, text=text)
    db.session.add(event)
    db.session.flush()
    return event


def transition(referral: Referral, action: Action, *, actor: User, side: Side, text: str = "",
               intake_on: date | None = None, forward_to: Network | None = None, notify: bool = True) -> ReferralEvent:
    """Take *action* on *referral* (current network) or raise IllegalTransition with the reason.

    notify=False leaves the mail to a following transition of the same request (accept + plan intake).
    """
    rule = check_transition(referral, action, side)
    text = (text or "").strip()
    if action in _TEXT_REQUIRED and not text:
        raise IllegalTransition(_TEXT_REQUIRED[action])
    membership = None
    if action is Action.CARE_WITHOUT_INTAKE:
        membership = _coordinator_membership(actor, referral.network_id)
        if membership is None:
            raise IllegalTransition(_l("Only a coordinator of the network decides on care without intake."))
    if action is Action.PLAN_INTAKE and intake_on is None:
        raise IllegalTransition(_l("Choose the date of the intake."))
    if action is Action.FORWARD:
        if forward_to is None or forward_to.id == referral.network_id or forward_to.approved_at is None:
            raise IllegalTransition(_l("Choose the network to forward the referral to."))
        referral.forwarded_to_network_id = forward_to.id
    if action is Action.PLAN_INTAKE:
        referral.intake_on = intake_on
    from_status = referral.status
    referral.status = rule.target
    referral.updated_at = utcnow()
    if rule.target is S.ACKNOWLEDGED and referral.acknowledged_at is None:
        referral.acknowledged_at = referral.updated_at
    if action in (Action.REQUEST_INFO, Action.ANSWER):
        db.session.add(ReferralMessage(network_id=referral.network_id, referral_id=referral.id,
                                       occurred_at=referral.updated_at, author_id=actor.id,
                                       from_network=side is Side.NETWORK, body=text))
    event = _add_event(referral, actor, from_status, rule.target,
                       text if action not in (Action.REQUEST_INFO, Action.ANSWER) else "")
    audit.record(f"referral.{action.value}", AuditAction.UPDATE, patient_id=referral.patient_id,
                 object_type="referral", object_id=referral.id, user_id=actor.id,
                 basis="coordinator" if side is Side.NETWORK else "referrer",
                 reason=f"{from_status.value} -> {rule.target.value}")
    if action is Action.CARE_WITHOUT_INTAKE:
        # Never in care without a case: the cases feature (which builds on this one) opens it.
        care_started_without_intake.send(referral, actor=actor, membership=membership)
    referral_transitioned.send(referral, actor=actor, action=action, from_status=from_status)
    network = db.session.get(Network, referral.network_id)
    if not notify:
        return event
    if side is Side.NETWORK:
        _notify_referrer(referral, network, action)
    else:
        _notify_coordinators(referral, network, "referral_update_for_network",
                             network_update_subject(referral, action), digest=True)
    return event


# --- notifications (no patient data in any mail) ------------------------------------------------

def coordinators_of(network_id: int) -> list[User]:
    return list(db.session.scalars(select(User).join(Membership, Membership.user_id == User.id).where(
        Membership.network_id == network_id, Membership.role == Role.COORDINATOR, Membership.is_active.is_(True),
        User.active.is_(True)).order_by(User.id)))


def _notify_coordinators(referral: Referral, network: Network, template: str, subject, *,
                         digest: bool = False) -> None:
    """*digest*: the mail may be combined with the coordinator's other changes of the next minutes."""
    link = absolute_url("referrals.detail", network_slug=network.slug, referral_id=referral.id)
    for coordinator in coordinators_of(network.id):
        locale = coordinator.locale or network.default_locale or "nl"
        queue_mail(to=coordinator.email, template=template, subject=subject, headline=subject,
                   locale=locale, network_id=network.id, user=coordinator, number=referral.number,
                   network=network, link=link, digest=DigestLine(subject, link) if digest else None)


# What the GP changed, as the coordinator reads it (the number only, no patient data).
NETWORK_UPDATE_SUBJECTS = {
    Action.ANSWER: lambda number: _l("The GP answered your question about referral %(number)s", number=number),
    Action.WITHDRAW: lambda number: _l("The GP withdrew referral %(number)s", number=number),
}


def network_update_subject(referral: Referral, action: Action | None):
    return NETWORK_UPDATE_SUBJECTS.get(action, _network_update_fallback)(referral.number)


def _network_update_fallback(number: str):
    return _l("Update from the GP on referral %(number)s", number=number)


# What changed, as the GP reads it in the subject and the first line of the mail (the number only, no patient data).
GP_UPDATE_SUBJECTS = {
    Action.ACKNOWLEDGE: lambda number: _l("The network has received referral %(number)s", number=number),
    Action.REQUEST_INFO: lambda number: _l("The network asks you a question about referral %(number)s", number=number),
    Action.ACCEPT: lambda number: _l("Referral %(number)s is accepted", number=number),
    Action.PLAN_INTAKE: lambda number: _l("The intake for referral %(number)s is planned", number=number),
    Action.START_CARE: lambda number: _l("Care has started for referral %(number)s", number=number),
    Action.CARE_WITHOUT_INTAKE: lambda number: _l("Care has started for referral %(number)s", number=number),
    Action.CLOSE: lambda number: _l("Referral %(number)s is closed", number=number),
    Action.DECLINE: lambda number: _l("Referral %(number)s is declined", number=number),
    Action.FORWARD: lambda number: _l("Referral %(number)s is forwarded to another network", number=number),
}


def gp_update_subject(referral: Referral, action: Action | None):
    """The subject of the GP's mail about *referral*: what changed, or that something did."""
    return GP_UPDATE_SUBJECTS.get(action, _gp_update_fallback)(referral.number)


def _gp_update_fallback(number: str):
    return _l("There is an update on referral %(number)s", number=number)


def _notify_referrer(referral: Referral, network: Network, action: Action | None = None) -> None:
    """Tell the GP (and a practice nurse who submitted, while she still reaches the referral) what changed;
    the mail names only the number."""
    recipients = {referral.gp_profile.user_id: referral.gp_profile.user}
    typist = referral.submitted_by
    if typist.id not in recipients and referral_for_referrer(typist, referral.id) is not None:
        recipients[typist.id] = typist
    link = absolute_url("gp_portal.detail", referral_id=referral.id)
    headline = gp_update_subject(referral, action)  # lazy: rendered in each recipient's language
    for user in recipients.values():
        if not user.active:
            continue
        locale = user.locale or "nl"
        queue_mail(to=user.email, template="referral_update", subject=headline, headline=headline,
                   locale=locale, network_id=network.id, user=user, number=referral.number, network=network,
                   link=link, digest=DigestLine(headline, link))


# --- reading ------------------------------------------------------------------------------------

def inbox_query(*, statuses: tuple[ReferralStatus, ...] | None = None):
    """Submitted referrals of the current network (never drafts), oldest deadline first."""
    statement = select(Referral).where(Referral.status != S.DRAFT)
    if statuses:
        statement = statement.where(Referral.status.in_(statuses))
    return statement.order_by(Referral.ack_due_at, Referral.id)


def new_referral_count() -> int:
    """Referrals of the current network waiting for acknowledgement (the in-app count)."""
    return db.session.scalar(select(func.count(Referral.id)).where(Referral.status == S.SUBMITTED)) or 0


def new_referral_count_for_coordinator(network_id):
    """SQL over a membership row: new_referral_count() when the row is a coordinator's, else NULL. PostgreSQL runs
    the subquery only for a coordinator (the gate reads it with the membership: app/__init__.py). *network_id*:
    an id or a bound parameter."""
    count = (select(func.count(Referral.id))
             .where(Referral.network_id == network_id, Referral.status == S.SUBMITTED).scalar_subquery())
    return case((Membership.role == Role.COORDINATOR, count), else_=None)


def get_for_network(referral_id: int, *, lock: bool = False) -> Referral:
    """A submitted referral of the current network (404 otherwise); the caller logs the read.

    lock: hold the row until commit, so two coordinators acting at once go one after the other."""
    statement = select(Referral).where(Referral.id == referral_id, Referral.status != S.DRAFT)
    if lock:
        statement = statement.with_for_update(of=Referral).execution_options(populate_existing=True)
    return db.first_or_404(statement)


# --- who may refer ------------------------------------------------------------------------------

def is_verified_referrer(user) -> bool:
    """May this user refer at all: active, a referrer profile, a confirmed email and two-step verification.

    A POH additionally needs a confirmed GP (see gps_for_referrer) to refer on behalf of.
    """
    if user is None or not getattr(user, "is_authenticated", True):
        return False
    # Demo accounts skip two-step verification in development only (DEMO_MFA_BYPASS), as at sign-in.
    second_factor = user.has_mfa or (user.is_demo and current_app.config.get("DEMO_MFA_BYPASS"))
    return bool(user.active and user.gp_profile is not None and user.email_verified_at is not None
                and second_factor)


def gps_for_referrer(user) -> list[GPProfile]:
    """The GPs on whose behalf *user* refers: a GP themself; a POH the GPs who confirmed the link and are
    active with a confirmed email. Whether *user* may refer at all is is_verified_referrer(user)."""
    profile = getattr(user, "gp_profile", None)
    if profile is None:
        return []
    if profile.kind is ReferrerKind.GP:
        return [profile]
    return list(db.session.scalars(
        select(GPProfile).join(PracticeNurseLink, PracticeNurseLink.gp_profile_id == GPProfile.id)
        .join(User, User.id == GPProfile.user_id)
        .where(PracticeNurseLink.poh_profile_id == profile.id, PracticeNurseLink.confirmed_at.is_not(None),
               GPProfile.kind == ReferrerKind.GP, User.active.is_(True), User.email_verified_at.is_not(None))
        .order_by(GPProfile.practice_name, GPProfile.id)).unique())


# --- the referrer's reads across networks -------------------------------------------------------

def _referrer_filter(user: User):
    """The one rule for a referrer's access, in SQL: a GP reaches what was sent on their behalf; the typist
    reaches what they typed (drafts included) only while they still refer for its GP, i.e. for a practice
    nurse exactly as long as the GP's confirmed link exists. Ending the link ends every derived access
    (page, timeline, list, letters, questions, withdrawal, drafts, attachments); the referrals stay with
    the GP, who sees who typed each."""
    profile = user.gp_profile
    if profile is None:
        return false()
    typed = Referral.submitted_by_id == user.id
    if profile.is_poh:
        linked = exists().where(PracticeNurseLink.poh_profile_id == profile.id,
                                PracticeNurseLink.gp_profile_id == Referral.gp_profile_id,
                                PracticeNurseLink.confirmed_at.is_not(None))
        return typed & linked
    own_gp = Referral.gp_profile_id == profile.id
    # A GP sees what was sent on their behalf; drafts only their typist sees.
    return own_gp & (typed | (Referral.status != S.DRAFT))


def referrals_of_referrer(user: User):
    """The GP's own referrals in every network (the named bypass, filtered by the referrer)."""
    return all_networks(select(Referral).where(_referrer_filter(user)).options(joinedload(Referral.network))
                        .order_by(Referral.updated_at.desc(), Referral.id.desc()))


def questions_waiting_for(user: User, limit: int = 10) -> tuple[list[Referral], int]:
    """The referrer's referrals on which the network waits for an answer (newest first, at most *limit*)
    and how many there are; for the start page, which shows number and network only."""
    if not is_verified_referrer(user):
        return [], 0
    waiting = select(Referral).where(_referrer_filter(user), Referral.status == ReferralStatus.INFO_REQUESTED)
    total = db.session.scalar(all_networks(select(func.count()).select_from(waiting.subquery()))) or 0
    if not total:
        return [], 0
    items = list(db.session.scalars(all_networks(
        waiting.options(joinedload(Referral.network)).order_by(Referral.updated_at.desc(), Referral.id.desc())
        .limit(limit))))
    return items, total


def referral_for_referrer(user: User, referral_id: int) -> Referral | None:
    """The referral *referral_id* when *user* is its GP or typed it; None for everyone else."""
    if user.gp_profile is None:
        return None
    return db.session.scalar(all_networks(select(Referral).where(Referral.id == referral_id,
                                                                 _referrer_filter(user))))


def log_read(referral: Referral, *, basis: str) -> None:
    audit.record("referral.viewed", AuditAction.READ, patient_id=referral.patient_id, object_type="referral",
                 object_id=referral.id, basis=basis, network_id=referral.network_id)


def forward_targets(network_id: int) -> list[Network]:
    """Approved networks a referral can be forwarded to (global table, names only)."""
    return list(db.session.scalars(select(Network).where(Network.id != network_id, Network.approved_at.is_not(None))
                                   .order_by(Network.name)))


def in_network(referral: Referral):
    """Run a block inside the referral's network (a GP's request has no network of its own)."""
    return network_context(referral.network_id)


def referrer_filter(user: User):
    """The referrer's access rule in SQL (see _referrer_filter), for other features' counts."""
    return _referrer_filter(user)


def referrer_status_counts(user: User) -> list[tuple[ReferralStatus, int]]:
    """How many of the referrer's submitted referrals are in each status (drafts too), across networks:
    one GROUP BY query, statuses in the enum's order."""
    if user.gp_profile is None:
        return []
    rows = dict(db.session.execute(all_networks(
        select(Referral.status, func.count(Referral.id)).where(_referrer_filter(user))
        .group_by(Referral.status))).all())
    return [(status, rows[status]) for status in S if rows.get(status)]
