"""The care team and consent: consents and withdrawal, proposals and answers, the central care provider."""
from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.auth.models import User
from app.cases.access import covering_consents
from app.cases.models import (
    CareTeamMember,
    Case,
    CaseEventKind,
    CaseStatus,
    CentralProviderChange,
    Consent,
    ConsentMember,
    ConsentMethod,
    ConsentPart,
    TeamStatus,
)
from app.cases.services._base import (
    CaseRuleBroken,
    add_event,
    discipline_names,
    record_audit,
)
from app.core.audit import AuditAction
from app.core.dates import local_today
from app.core.db import utcnow
from app.core.mail import DigestLine, absolute_url, queue_mail
from app.extensions import db
from app.networks.models import Membership, Network, Role
from app.patients.models import PortalAccount, PortalRole


def team(case: Case) -> list[CareTeamMember]:
    return list(db.session.scalars(select(CareTeamMember).where(CareTeamMember.case_id == case.id)
                                   .order_by(CareTeamMember.proposed_at, CareTeamMember.id)))


def active_team_member(case: Case, membership_id: int) -> CareTeamMember | None:
    return db.session.scalar(select(CareTeamMember).where(
        CareTeamMember.case_id == case.id, CareTeamMember.membership_id == membership_id,
        CareTeamMember.status.in_((TeamStatus.ACTIVE, TeamStatus.PROPOSED))))


def consent_by_key(case: Case, submission_key: str | None) -> Consent | None:
    """The consent recorded earlier from the form with this key (a double click, a retry), if any."""
    if not submission_key:
        return None
    earlier = db.session.scalar(select(Consent).where(Consent.submission_key == submission_key))
    if earlier is not None and earlier.case_id != case.id:
        raise CaseRuleBroken(_l("This form was already used for another case; open it again."))
    return earlier


def record_consent(case: Case, actor: User, *, method: ConsentMethod, purpose: str, membership_ids: list[int],
                   parts: set[ConsentPart], valid_until: date | None = None, document_name: str = "",
                   document_storage: str = "", submission_key: str | None = None) -> Consent:
    """Record the patient's consent; with a submission_key a repeated submission returns the first record."""
    earlier = consent_by_key(case, submission_key)
    if earlier is not None:
        return earlier
    if not (purpose or "").strip():
        raise CaseRuleBroken(_l("Describe the purpose of sharing."))
    if not membership_ids:
        raise CaseRuleBroken(_l("Choose who the consent covers."))
    if not parts:
        raise CaseRuleBroken(_l("Choose which parts may be shared."))
    if valid_until is not None and valid_until < local_today():
        raise CaseRuleBroken(_l("The end date of a consent cannot be in the past."))
    members = list(db.session.scalars(select(Membership).where(Membership.id.in_(membership_ids),
                                                               Membership.is_active.is_(True))))
    if len(members) != len(set(membership_ids)):
        raise CaseRuleBroken(_l("Consent can only cover active members of this network."))
    consent = Consent(network_id=case.network_id, case_id=case.id, patient_id=case.patient_id,
                      obtained_by_id=actor.id, obtained_at=utcnow(), method=method, purpose=purpose.strip(),
                      covers_intake=ConsentPart.INTAKE in parts, covers_notes=ConsentPart.NOTES in parts,
                      covers_proms=ConsentPart.PROMS in parts, valid_until=valid_until,
                      document_name=document_name, document_storage=document_storage,
                      submission_key=submission_key or None)
    try:
        with db.session.begin_nested():
            db.session.add(consent)
            db.session.flush()
    except IntegrityError:  # the same form submitted twice at once: the other request recorded it
        return consent_by_key(case, submission_key)
    db.session.add_all(ConsentMember(network_id=case.network_id, consent_id=consent.id, membership_id=m.id)
                       for m in members)
    add_event(case, actor, CaseEventKind.CONSENT_RECORDED, ", ".join(m.user.full_name for m in members))
    record_audit("consent.recorded", AuditAction.CREATE, case, actor=actor, object_type="consent", object_id=consent.id,
            reason=f"{method.value}; parts {','.join(sorted(p.value for p in parts))}; "
                   f"members {','.join(str(m.id) for m in members)}")
    return consent


def withdraw_consent(consent: Consent, actor: User, reason: str) -> None:
    """Takes effect on the next request: access asks for live consents every time."""
    if consent.withdrawn_at is not None:
        raise CaseRuleBroken(_l("This consent was withdrawn already."))
    if not (reason or "").strip():
        raise CaseRuleBroken(_l("Record why (or at whose request) the consent is withdrawn."))
    consent.withdrawn_at = utcnow()
    consent.withdrawn_by_id = actor.id
    consent.withdrawal_reason = reason.strip()
    case = db.session.scalar(select(Case).where(Case.id == consent.case_id))
    add_event(case, actor, CaseEventKind.CONSENT_WITHDRAWN, ", ".join(m.membership.user.full_name
                                                                      for m in consent.members))
    record_audit("consent.withdrawn", AuditAction.UPDATE, case, actor=actor, object_type="consent",
            object_id=consent.id, reason=reason.strip())


def consents_of(case: Case) -> list[Consent]:
    return list(db.session.scalars(select(Consent).where(Consent.case_id == case.id).order_by(Consent.id)))


def _covered(case: Case, membership_id: int) -> bool:
    return bool(covering_consents(case, membership_id))


def patient_decides_in_portal(case: Case) -> bool:
    """The patient has a live portal account for this case: a proposal can wait for their own yes."""
    return db.session.scalar(select(PortalAccount.id).where(
        PortalAccount.referral_id == case.referral_id, PortalAccount.role == PortalRole.PATIENT,
        PortalAccount.revoked_at.is_(None)).limit(1)) is not None


def waits_for_patient(case: Case, membership_id: int) -> bool:
    """A proposal of this member that no consent covers yet: it waits for the patient's yes in the portal."""
    row = active_team_member(case, membership_id)
    return row is not None and row.status is TeamStatus.PROPOSED and not _covered(case, membership_id)


def propose_member(case: Case, actor: User, membership: Membership, *, reason: str, role_in_case: str = "",
                   wait_for_patient: bool = False) -> CareTeamMember:
    """Involve another member. Needs a consent that covers them first; they accept before they see the case.

    With *wait_for_patient* (and a patient who uses the portal) the proposal is made without a consent: it
    waits for the patient's yes in the portal, and the member is asked only then (ask_proposed_member)."""
    if case.status is not CaseStatus.ACTIVE:
        raise CaseRuleBroken(_l("The case is closed."))
    if not (reason or "").strip():
        raise CaseRuleBroken(_l("Give the reason for involving this colleague."))
    if not membership.is_active or membership.role is not Role.MEMBER:
        raise CaseRuleBroken(_l("Only active members of the network can join a care team."))
    if active_team_member(case, membership.id) is not None:
        raise CaseRuleBroken(_l("%(name)s is already on the care team or proposed.", name=membership.user.full_name))
    covered = _covered(case, membership.id)
    if not covered and not (wait_for_patient and patient_decides_in_portal(case)):
        raise CaseRuleBroken(_l("Record the patient's consent for %(name)s first.", name=membership.user.full_name))
    row = CareTeamMember(network_id=case.network_id, case_id=case.id, membership_id=membership.id,
                         role_in_case=role_in_case.strip() or discipline_names(membership),
                         status=TeamStatus.PROPOSED, proposed_by_id=actor.id, proposed_at=utcnow(),
                         reason=reason.strip())
    db.session.add(row)
    db.session.flush()
    add_event(case, actor, CaseEventKind.MEMBER_PROPOSED, f"{membership.user.full_name} ({row.role_in_case})")
    record_audit("case.member_proposed", AuditAction.CREATE, case, actor=actor, object_type="care_team_member",
            object_id=row.id, reason=f"membership {membership.id}" + ("" if covered else "; waits for the patient"))
    if covered:
        ask_proposed_member(case, row)
    return row


def ask_proposed_member(case: Case, row: CareTeamMember) -> None:
    """Mail the proposed member that they are asked to join (once a consent covers them)."""
    network = db.session.get(Network, case.network_id)
    user = row.membership.user
    link = absolute_url("cases.proposal", network_slug=network.slug, case_id=case.id)
    subject = _l("You are asked to join a care team")
    queue_mail(to=user.email, template="case_proposal", subject=subject,
               locale=user.locale or network.default_locale or "nl", network_id=network.id, user=user,
               network=network, link=link, digest=DigestLine(subject, link))


def respond_to_proposal(row: CareTeamMember, actor: User, *, accept: bool) -> None:
    if row.status is not TeamStatus.PROPOSED:
        raise CaseRuleBroken(_l("This proposal was answered already."))
    case = db.session.scalar(select(Case).where(Case.id == row.case_id))
    if accept:
        row.status, row.accepted_at = TeamStatus.ACTIVE, utcnow()
        add_event(case, actor, CaseEventKind.MEMBER_JOINED, row.role_in_case)
    else:
        row.status, row.declined_at = TeamStatus.DECLINED, utcnow()
        add_event(case, actor, CaseEventKind.MEMBER_DECLINED, row.role_in_case)
    record_audit("case.member_accepted" if accept else "case.member_declined", AuditAction.UPDATE, case, actor=actor,
            object_type="care_team_member", object_id=row.id)


def set_central(case: Case, actor: User, membership: Membership, reason: str = "") -> None:
    """Set the central care provider: the coordinator or an active member of the care team."""
    if case.status is not CaseStatus.ACTIVE:
        raise CaseRuleBroken(_l("The case is closed."))
    on_team = db.session.scalar(select(CareTeamMember.id).where(
        CareTeamMember.case_id == case.id, CareTeamMember.membership_id == membership.id,
        CareTeamMember.status == TeamStatus.ACTIVE))
    if membership.role is not Role.COORDINATOR and on_team is None:
        raise CaseRuleBroken(_l("The central care provider must be on the care team."))
    if case.central_membership_id == membership.id:
        return
    case.central_membership_id = membership.id
    db.session.add(CentralProviderChange(network_id=case.network_id, case_id=case.id, membership_id=membership.id,
                                         changed_at=utcnow(), changed_by_id=actor.id, reason=(reason or "").strip()))
    add_event(case, actor, CaseEventKind.CENTRAL_CHANGED, membership.user.full_name)
    record_audit("case.central_changed", AuditAction.UPDATE, case, actor=actor, object_type="case", object_id=case.id,
            reason=f"membership {membership.id}")


def central_history(case: Case) -> list[CentralProviderChange]:
    return list(db.session.scalars(select(CentralProviderChange).where(CentralProviderChange.case_id == case.id)
                                   .order_by(CentralProviderChange.id)))
