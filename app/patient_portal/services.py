"""The patient portal's operations. Services flush and audit; callers commit.

The one door across networks is account_of(user, account_id): a user's own live portal account, read with
the named all_networks bypass and filtered by the user; everything after it runs inside the account's network
(in_network). What the account may see is app.cases.access.portal_access; these functions only act.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from app.auth.models import TokenPurpose, User
from app.auth.services import find_user_by_email, lapse_tokens
from app.cases import services as case_services
from app.cases.access import case_access, covering_consents, portal_access
from app.cases.models import CareTeamMember, Case, Consent, ConsentMethod, ConsentPart, TeamStatus
from app.core import audit
from app.core.audit import AuditAction, AuditEvent
from app.core.dates import local_today
from app.core.db import utcnow
from app.core.mail import OneTimeLink, absolute_url, mail_recheck, queue_mail
from app.core.tenancy import all_networks, network_context
from app.extensions import db
from app.networks.models import Membership, Network, Role
from app.patients.models import (
    PatientQuestionnaire,
    PortalAccount,
    PortalMessage,
    PortalMessageKind,
    PortalRole,
)
from app.records.models import SectionKey
from app.referrals.models import Referral, ReferralStatus

# A patient is invited once the network took the referral on (before the intake: the questionnaire).
INVITABLE = frozenset({ReferralStatus.ACCEPTED, ReferralStatus.INTAKE_PLANNED, ReferralStatus.IN_CARE})
ACCOUNTS_LIMIT = 50
MESSAGE_MAX = 5000


class PortalRuleBroken(Exception):
    """A portal action the rules refuse; the message is shown to the user."""


def in_network(account: PortalAccount):
    """Run a block inside the account's network (a portal request has no network of its own)."""
    return network_context(account.network_id)


# --- the door across networks -------------------------------------------------------------------------------

def _live(statement):
    return statement.where(PortalAccount.revoked_at.is_(None))


def accounts_of(user: User) -> list[PortalAccount]:
    """The user's live portal accounts in every network, newest first (the portal's start page)."""
    return list(db.session.scalars(all_networks(
        _live(select(PortalAccount).where(PortalAccount.user_id == user.id))
        .order_by(PortalAccount.invited_at.desc(), PortalAccount.id.desc()).limit(ACCOUNTS_LIMIT))))


def has_portal_account(user: User) -> bool:
    return db.session.scalar(all_networks(_live(select(PortalAccount.id).where(
        PortalAccount.user_id == user.id)).limit(1))) is not None


def account_of(user: User, account_id: int) -> PortalAccount | None:
    """The user's own live portal account with this id, in whatever network; None for anyone else's."""
    account = db.session.scalar(all_networks(_live(select(PortalAccount).where(
        PortalAccount.id == account_id, PortalAccount.user_id == user.id))))
    return account if portal_access(account).allowed else None


# --- inside the account's network ---------------------------------------------------------------------------

def referral_of(account: PortalAccount) -> Referral:
    return db.session.scalar(select(Referral).where(Referral.id == account.referral_id))


def case_of(account: PortalAccount) -> Case | None:
    return case_services.case_for_referral(account.referral_id)


def network_of(account: PortalAccount) -> Network:
    return db.session.get(Network, account.network_id)


def patient_account_of(referral_id: int) -> PortalAccount | None:
    """The patient's own live account for a referral (inside its network)."""
    return db.session.scalar(_live(select(PortalAccount).where(
        PortalAccount.referral_id == referral_id, PortalAccount.role == PortalRole.PATIENT)))


def accounts_for_referral(referral_id: int) -> list[PortalAccount]:
    """Every account (live and revoked) of a referral: the patient's and the relatives', oldest first."""
    return list(db.session.scalars(select(PortalAccount).where(PortalAccount.referral_id == referral_id)
                                   .order_by(PortalAccount.invited_at, PortalAccount.id)))


def relatives_of(account: PortalAccount) -> list[PortalAccount]:
    """The relatives the patient invited (live and revoked), oldest first."""
    return list(db.session.scalars(select(PortalAccount).where(
        PortalAccount.referral_id == account.referral_id, PortalAccount.role == PortalRole.RELATIVE)
        .order_by(PortalAccount.invited_at, PortalAccount.id)))


def _user_for(email: str, full_name: str) -> tuple[User, bool]:
    user = find_user_by_email(email)
    if user is not None:
        return user, False
    user = User(email=email.strip().lower(), full_name=full_name.strip(), active=True)
    db.session.add(user)
    db.session.flush()
    return user, True


def _mail_invitation(account: PortalAccount, user: User, network: Network, *, new_account: bool,
                     locale: str) -> None:
    """The invitation says no more than that there is something to read in Netwerkzorg: no patient data, no
    network name (which would say what care the patient gets)."""
    if new_account or not user.password_hash:
        lapse_tokens(user, TokenPurpose.INVITE)
        queue_mail(to=user.email, template="portal_invitation", subject=_l("Invitation to Netwerkzorg"),
                   locale=locale, network_id=network.id, user=user, relative=not account.is_patient,
                   one_time_link=OneTimeLink(user.id, TokenPurpose.INVITE.value, "auth.accept_invitation_link"),
                   recheck=("portal_account", {"account_id": account.id}))
    else:
        queue_mail(to=user.email, template="portal_added", subject=_l("There is something new for you in Netwerkzorg"),
                   locale=locale, network_id=network.id, user=user, relative=not account.is_patient,
                   link=absolute_url("patient_portal.index"),
                   recheck=("portal_account", {"account_id": account.id}))


@mail_recheck("portal_account")
def portal_account_still_live(*, account_id: int) -> bool:
    """Mail re-check: the account was not revoked before its mail went out."""
    account = db.session.scalar(select(PortalAccount).where(PortalAccount.id == account_id))
    return account is not None and portal_access(account).allowed


def invite_patient(referral: Referral, actor: User, *, email: str, full_name: str, locale: str) -> PortalAccount:
    """The coordinator invites the patient to their record (a new account, or a notice to an existing one)."""
    if referral.status not in INVITABLE:
        raise PortalRuleBroken(_l("The patient can be invited once the referral is accepted."))
    if patient_account_of(referral.id) is not None:
        raise PortalRuleBroken(_l("The patient has been invited already."))
    user, new_account = _user_for(email, full_name)
    if not user.active:
        raise PortalRuleBroken(_l("This account is deactivated; ask the platform administrator."))
    account = PortalAccount(network_id=referral.network_id, referral_id=referral.id, patient_id=referral.patient_id,
                            user_id=user.id, role=PortalRole.PATIENT, invited_by_id=actor.id, invited_at=utcnow())
    db.session.add(account)
    db.session.flush()
    audit.record("portal.patient_invited", AuditAction.CREATE, user_id=actor.id, patient_id=referral.patient_id,
                 object_type="portal_account", object_id=account.id)
    _mail_invitation(account, user, network_of(account), new_account=new_account, locale=locale)
    return account


def invite_relative(patient_account: PortalAccount, *, email: str, full_name: str, relation: str,
                    sections: Iterable[str], locale: str) -> PortalAccount:
    """The patient lets a relative or representative in, to the sections they choose."""
    granted = sorted({SectionKey(key).value for key in sections})
    if not granted:
        raise PortalRuleBroken(_l("Choose what this person may see."))
    user, new_account = _user_for(email, full_name)
    if user.id == patient_account.user_id:
        raise PortalRuleBroken(_l("This is your own email address."))
    if not user.active:
        raise PortalRuleBroken(_l("This account cannot be used; choose another email address."))
    if db.session.scalar(_live(select(PortalAccount.id).where(
            PortalAccount.referral_id == patient_account.referral_id, PortalAccount.user_id == user.id))):
        raise PortalRuleBroken(_l("%(email)s can see your record already.", email=user.email))
    account = PortalAccount(network_id=patient_account.network_id, referral_id=patient_account.referral_id,
                            patient_id=patient_account.patient_id, user_id=user.id, role=PortalRole.RELATIVE,
                            relation=relation.strip()[:100], sections=granted,
                            granted_by_account_id=patient_account.id, invited_by_id=patient_account.user_id,
                            invited_at=utcnow())
    db.session.add(account)
    db.session.flush()
    audit.record("portal.relative_invited", AuditAction.CREATE, user_id=patient_account.user_id,
                 patient_id=patient_account.patient_id, object_type="portal_account", object_id=account.id,
                 reason="sections " + ",".join(granted))
    _mail_invitation(account, user, network_of(account), new_account=new_account, locale=locale)
    return account


def revoke(account: PortalAccount, actor: User) -> None:
    """End an account's access now (its next request is refused); a patient's account takes the relatives'
    accounts it granted with it."""
    if account.revoked_at is not None:
        raise PortalRuleBroken(_l("This access has ended already."))
    now = utcnow()
    account.revoked_at, account.revoked_by_id = now, actor.id
    if account.is_patient:
        db.session.execute(update(PortalAccount).where(
            PortalAccount.granted_by_account_id == account.id, PortalAccount.revoked_at.is_(None))
            .values(revoked_at=now, revoked_by_id=actor.id).execution_options(synchronize_session=False))
    audit.record("portal.access_revoked", AuditAction.UPDATE, user_id=actor.id, patient_id=account.patient_id,
                 object_type="portal_account", object_id=account.id, reason=str(account.role))


# --- questionnaires -------------------------------------------------------------------------------------------

def submit_questionnaire(account: PortalAccount, *, score: int, problems: list[str], remark: str = ""
                         ) -> PatientQuestionnaire:
    """The patient's own distress thermometer: kept for the intake, and (once there is a case) a patient-reported
    measurement that the team sees as far as their consent covers the distress thermometer."""
    if not 0 <= score <= 10:
        raise PortalRuleBroken(_l("The distress thermometer goes from 0 to 10."))
    row = PatientQuestionnaire(network_id=account.network_id, referral_id=account.referral_id,
                               patient_id=account.patient_id, account_id=account.id, submitted_by_id=account.user_id,
                               submitted_at=utcnow(),
                               score=score, problems=list(problems), remark=(remark or "").strip()[:2000])
    db.session.add(row)
    db.session.flush()
    audit.record("portal.questionnaire_submitted", AuditAction.CREATE, patient_id=account.patient_id,
                 object_type="patient_questionnaire", object_id=row.id)
    case = case_of(account)
    if case is not None and case.status.value == "active":
        measurement = case_services.record_prom(case, account.user, score=score, problems=list(problems),
                                                measured_on=local_today())
        measurement.patient_reported = True
    return row


def questionnaires_of(account: PortalAccount) -> list[PatientQuestionnaire]:
    return list(db.session.scalars(select(PatientQuestionnaire).where(
        PatientQuestionnaire.referral_id == account.referral_id)
        .order_by(PatientQuestionnaire.submitted_at.desc(), PatientQuestionnaire.id.desc()).limit(50)))


# --- consents ---------------------------------------------------------------------------------------------------

def waiting_proposals(case: Case) -> list[CareTeamMember]:
    """Care providers proposed for the team whom no live consent covers yet: they wait for the patient's yes."""
    rows = db.session.scalars(select(CareTeamMember).where(CareTeamMember.case_id == case.id,
                                                           CareTeamMember.status == TeamStatus.PROPOSED)
                              .order_by(CareTeamMember.proposed_at, CareTeamMember.id))
    return [row for row in rows if not covering_consents(case, row.membership_id)]


def consent_for_proposal(account: PortalAccount, case: Case, row: CareTeamMember, *, parts: set[ConsentPart],
                         valid_until: date | None = None) -> Consent:
    """The patient says yes to a proposed care provider: a digital consent they gave themselves; the proposed
    provider is then asked to join (the mail the proposal waited with)."""
    if row.case_id != case.id or row.status is not TeamStatus.PROPOSED:
        raise PortalRuleBroken(_l("This proposal was answered already."))
    try:
        consent = case_services.record_consent(
            case, account.user, method=ConsentMethod.DIGITAL, purpose=row.reason or row.role_in_case,
            membership_ids=[row.membership_id], parts=parts, valid_until=valid_until)
    except case_services.CaseRuleBroken as exc:
        raise PortalRuleBroken(str(exc)) from exc
    case_services.ask_proposed_member(case, row)
    return consent


def own_consent(case: Case, consent_id: int) -> Consent | None:
    return db.session.scalar(select(Consent).where(Consent.id == consent_id, Consent.case_id == case.id))


def withdraw_own_consent(account: PortalAccount, case: Case, consent: Consent, reason: str) -> None:
    """The patient withdraws a consent: the people it covered are refused at their next request, and the
    coordinators and the central care provider are told (no patient data in the mail)."""
    reason = (reason or "").strip() or str(_l("Withdrawn by the patient in Netwerkzorg"))
    try:
        case_services.withdraw_consent(consent, account.user, reason)
    except case_services.CaseRuleBroken as exc:
        raise PortalRuleBroken(str(exc)) from exc
    network = network_of(account)
    told = db.session.scalars(select(Membership).where(Membership.is_active.is_(True), (
        Membership.role == Role.COORDINATOR) | (Membership.id == case.central_membership_id)))
    for membership in told:
        user = membership.user
        queue_mail(to=user.email, template="portal_consent_withdrawn", subject=_l("A patient withdrew a consent"),
                   locale=user.locale or network.default_locale or "nl", network_id=network.id, user=user,
                   link=absolute_url("cases.consents", network_slug=network.slug, case_id=case.id),
                   recheck=("membership", {"membership_id": membership.id}))


# --- who looked ----------------------------------------------------------------------------------------------

def access_log_query(account: PortalAccount):
    """The NEN 7513 rows about the patient in the account's network, newest first (the page paginates in SQL;
    ix_audit_events_network_id_patient_id_id serves it)."""
    return (select(AuditEvent).where(AuditEvent.network_id == account.network_id,
                                     AuditEvent.patient_id == account.patient_id)
            .order_by(AuditEvent.id.desc()))


def memberships_by_user(user_ids: set[int]) -> dict[int, Membership]:
    """The (current network's) memberships of these users, for their disciplines in the log."""
    if not user_ids:
        return {}
    return {m.user_id: m for m in db.session.scalars(select(Membership).where(Membership.user_id.in_(user_ids)))}


# --- messages and correction requests ---------------------------------------------------------------------------

def messages_of(referral_id: int, *, limit: int = 200) -> list[PortalMessage]:
    """The thread, oldest first (the latest *limit*)."""
    rows = list(db.session.scalars(select(PortalMessage).where(PortalMessage.referral_id == referral_id)
                                   .order_by(PortalMessage.occurred_at.desc(), PortalMessage.id.desc()).limit(limit)))
    return rows[::-1]


def add_message(referral: Referral, actor: User, body: str, *, from_patient: bool,
                kind: PortalMessageKind = PortalMessageKind.MESSAGE) -> PortalMessage:
    body = (body or "").strip()
    if not body:
        raise PortalRuleBroken(_l("Write a message first."))
    if len(body) > MESSAGE_MAX:
        raise PortalRuleBroken(_l("Keep the message under %(n)d characters.", n=MESSAGE_MAX))
    row = PortalMessage(network_id=referral.network_id, referral_id=referral.id, patient_id=referral.patient_id,
                        occurred_at=utcnow(), author_id=actor.id, from_patient=from_patient, kind=kind, body=body)
    db.session.add(row)
    db.session.flush()
    audit.record("portal.correction_requested" if kind is PortalMessageKind.CORRECTION else "portal.message",
                 AuditAction.CREATE, user_id=actor.id, patient_id=referral.patient_id,
                 object_type="portal_message", object_id=row.id)
    network = db.session.get(Network, referral.network_id)
    if from_patient:
        _tell_network(referral, network, kind)
    else:
        account = patient_account_of(referral.id)
        if account is not None:
            user = account.user
            queue_mail(to=user.email, template="portal_message", subject=_l("You have a new message in Netwerkzorg"),
                       locale=user.locale or network.default_locale or "nl", network_id=network.id, user=user,
                       link=absolute_url("patient_portal.messages", account_id=account.id),
                       recheck=("portal_account", {"account_id": account.id}))
    return row


def _tell_network(referral: Referral, network: Network, kind: PortalMessageKind) -> None:
    """A patient's message reaches the central care provider (or, without a case, the coordinators); a request
    for correction reaches the coordinators. No patient data in the mail: a link to the thread."""
    case = case_services.case_for_referral(referral.id)
    central = case.central_membership_id if case is not None else None
    if kind is PortalMessageKind.MESSAGE and central is not None:
        condition = Membership.id == central
    else:
        condition = Membership.role == Role.COORDINATOR
    for membership in db.session.scalars(select(Membership).where(Membership.is_active.is_(True), condition)):
        user = membership.user
        queue_mail(to=user.email, template="portal_message_for_network",
                   subject=(_l("A patient asks for a correction of their record")
                            if kind is PortalMessageKind.CORRECTION else _l("A patient sent a message")),
                   locale=user.locale or network.default_locale or "nl", network_id=network.id, user=user,
                   link=absolute_url("portal_network.referral_portal", network_slug=network.slug,
                                     referral_id=referral.id),
                   recheck=("membership", {"membership_id": membership.id}))


def network_may_open(referral: Referral, membership) -> bool:
    """The network's side of the portal: the coordinator, and the central care provider of the case."""
    if membership is None or not membership.is_active:
        return False
    if membership.role is Role.COORDINATOR:
        return True
    case = case_services.case_for_referral(referral.id)
    return case is not None and case_access(case, membership).may_open_patient_portal
