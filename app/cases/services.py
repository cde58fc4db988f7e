"""Intake, case, care team, consent, notes, actions, distress measurements and closing. Callers commit.

Who may do what is checked by the views through app.cases.access; the services check the state
rules (a completed intake is never changed, a hand-off needs consent first, ...) and raise
CaseRuleBroken with a message for the user. Every change is audit-logged here with the patient.
"""
from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import event, func, inspect, select
from sqlalchemy.orm import Session

from app.auth.models import User
from app.cases.models import (
    CareTeamMember,
    Case,
    CaseAction,
    CaseEvent,
    CaseEventKind,
    CaseMessage,
    CaseStatus,
    CentralProviderChange,
    Consent,
    ConsentMember,
    ConsentMethod,
    ConsentPart,
    Intake,
    IntakeStatus,
    Note,
    NoteVersion,
    NoteVisibility,
    PromMeasurement,
    TeamStatus,
)
from app.core import audit
from app.core.audit import AuditAction
from app.core.dates import local_today, shift_months
from app.core.db import utcnow
from app.core.mail import absolute_url, queue_mail
from app.extensions import db
from app.networks.models import Membership, MembershipDiscipline, Network, Role
from app.referrals import services as referral_services
from app.referrals.models import Referral, ReferralStatus

PROM_INTERVAL_MONTHS = 3
INTAKE_FIELDS = frozenset({"held_on", "story", "problems", "practical", "distress_score", "distress_problems",
                           "goals", "partner_situation", "sharing_wishes"})


class CaseRuleBroken(Exception):
    """A state rule refused the change; str() is the (lazy, translated when shown) message."""


class CompletedIntakeIsFinal(RuntimeError):
    """Code tried to change a completed intake version in place."""


@event.listens_for(Session, "before_flush")
def _completed_intakes_are_final(session: Session, flush_context, instances) -> None:
    for obj in list(session.dirty) + list(session.deleted):
        if not isinstance(obj, Intake):
            continue
        state = inspect(obj)
        status_history = state.attrs.status.history
        was = status_history.deleted[0] if status_history.deleted else obj.status
        if was is IntakeStatus.COMPLETED and (obj in session.deleted or session.is_modified(obj)):
            raise CompletedIntakeIsFinal("a completed intake is never changed: make a correction version")


def _record(event_name: str, action: AuditAction, case_or_patient_id, *, actor: User, object_type: str,
            object_id: int | None, basis: str = "", reason: str = "") -> None:
    patient_id = case_or_patient_id.patient_id if isinstance(case_or_patient_id, Case) else case_or_patient_id
    audit.record(event_name, action, patient_id=patient_id, object_type=object_type, object_id=object_id,
                 user_id=actor.id, basis=basis, reason=reason)


def add_event(case: Case, actor: User, kind: CaseEventKind, detail: str = "") -> CaseEvent:
    row = CaseEvent(network_id=case.network_id, case_id=case.id, occurred_at=utcnow(), actor_id=actor.id,
                    kind=kind, detail=detail[:300])
    db.session.add(row)
    db.session.flush()
    return row


def discipline_names(membership: Membership, locale: str = "nl") -> str:
    return ", ".join(d.name(locale) for d in membership.disciplines) or str(membership.role.label)


# --- intake -------------------------------------------------------------------------------------

def intakes_of(referral_id: int) -> list[Intake]:
    return list(db.session.scalars(select(Intake).where(Intake.referral_id == referral_id)
                                   .order_by(Intake.version)))


def current_intake(referral_id: int) -> Intake | None:
    """The latest completed version (what the care team reads)."""
    return db.session.scalar(select(Intake).where(Intake.referral_id == referral_id,
                                                  Intake.status == IntakeStatus.COMPLETED)
                             .order_by(Intake.version.desc()).limit(1))


def draft_intake(referral_id: int) -> Intake | None:
    return db.session.scalar(select(Intake).where(Intake.referral_id == referral_id,
                                                  Intake.status == IntakeStatus.DRAFT))


def prefill_from_referral(referral: Referral) -> dict[str, Any]:
    """What the GP already sent, so the patient never has to repeat it."""
    partner = ", ".join(x for x in (referral.relative_name, referral.relative_relation) if x)
    return {
        "problems": {dimension: {"items": list(value.get("items", [])), "text": value.get("text", "")}
                     for dimension, value in (referral.complaints or {}).items()},
        "practical": {},
        "distress_score": referral.distress_score,
        "distress_problems": [],
        "partner_situation": "\n".join(x for x in (partner, referral.social_situation) if x),
        "goals": "",
        "story": "",
        "sharing_wishes": "",
    }


def default_held_on(referral: Referral) -> date:
    """The planned intake date once it has come; a conversation still to come cannot be dated yet."""
    today = local_today()
    return referral.intake_on if referral.intake_on and referral.intake_on <= today else today


def start_intake(referral: Referral, actor: User) -> Intake:
    """The first draft, prefilled from the referral; only for an accepted referral without an intake."""
    if referral.status not in (ReferralStatus.ACCEPTED, ReferralStatus.INTAKE_PLANNED):
        raise CaseRuleBroken(_l("The intake starts from an accepted referral."))
    existing = draft_intake(referral.id) or current_intake(referral.id)
    if existing is not None:
        return existing
    intake = Intake(network_id=referral.network_id, referral_id=referral.id, patient_id=referral.patient_id,
                    version=1, status=IntakeStatus.DRAFT, created_by_id=actor.id, updated_at=utcnow(),
                    held_on=default_held_on(referral), **prefill_from_referral(referral))
    db.session.add(intake)
    db.session.flush()
    _record("intake.started", AuditAction.CREATE, referral.patient_id, actor=actor, object_type="intake",
            object_id=intake.id, basis="coordinator")
    return intake


def save_intake(intake: Intake, actor: User, values: dict[str, Any]) -> Intake:
    if intake.status is not IntakeStatus.DRAFT:
        raise CaseRuleBroken(_l("A completed intake is not changed; make a correction instead."))
    unknown = set(values) - INTAKE_FIELDS
    if unknown:
        raise ValueError(f"not intake fields: {sorted(unknown)}")
    for name, value in values.items():
        setattr(intake, name, value)
    intake.updated_at = utcnow()
    _record("intake.saved", AuditAction.UPDATE, intake.patient_id, actor=actor, object_type="intake",
            object_id=intake.id, basis="coordinator")
    return intake


def complete_intake(intake: Intake, actor: User, actor_membership: Membership) -> Case:
    """Complete a draft. The first version opens the case (the coordinator is the first contact);
    a correction version replaces the current one for readers and stays in the history."""
    if intake.status is not IntakeStatus.DRAFT:
        raise CaseRuleBroken(_l("This intake version is already completed."))
    if not (intake.story or "").strip():
        raise CaseRuleBroken(_l("Write down the patient's story before completing the intake."))
    intake.status = IntakeStatus.COMPLETED
    intake.completed_at = utcnow()
    intake.completed_by_id = actor.id
    db.session.flush()
    _record("intake.completed", AuditAction.UPDATE, intake.patient_id, actor=actor, object_type="intake",
            object_id=intake.id, basis="coordinator", reason=f"version {intake.version}")
    case = case_for_referral(intake.referral_id)
    if case is not None:
        add_event(case, actor, CaseEventKind.INTAKE_CORRECTED, f"v{intake.version}")
        return case
    referral = db.session.scalar(select(Referral).where(Referral.id == intake.referral_id))
    now = utcnow()
    case = Case(network_id=intake.network_id, referral_id=intake.referral_id, patient_id=intake.patient_id,
                status=CaseStatus.ACTIVE, opened_at=now, opened_by_id=actor.id,
                central_membership_id=actor_membership.id,
                next_prom_due_on=shift_months(now, PROM_INTERVAL_MONTHS).date())
    db.session.add(case)
    db.session.flush()
    db.session.add(CentralProviderChange(network_id=case.network_id, case_id=case.id,
                                         membership_id=actor_membership.id, changed_at=now, changed_by_id=actor.id,
                                         reason=str(_l("First contact after the intake"))))
    add_event(case, actor, CaseEventKind.OPENED)
    add_event(case, actor, CaseEventKind.CENTRAL_CHANGED, actor.full_name)
    if intake.distress_score is not None:
        db.session.add(PromMeasurement(network_id=case.network_id, case_id=case.id, measured_on=intake.held_on
                                       or date.today(), score=intake.distress_score,
                                       problems=list(intake.distress_problems or []), recorded_by_id=actor.id))
    _record("case.opened", AuditAction.CREATE, case, actor=actor, object_type="case", object_id=case.id,
            basis="coordinator")
    # The referral follows: accepted -> intake planned (today, if no date was set) -> in care.
    side = referral_services.Side.NETWORK
    if referral.status is ReferralStatus.ACCEPTED:
        referral_services.transition(referral, referral_services.Action.PLAN_INTAKE, actor=actor, side=side,
                                     intake_on=intake.held_on or date.today())
    referral_services.transition(referral, referral_services.Action.START_CARE, actor=actor, side=side)
    from app.cases import letters
    letters.draft_letter(case, actor, kind="intake")
    return case


def correct_intake(case: Case, actor: User, reason: str) -> Intake:
    """A new draft version that starts as a copy of the current one."""
    if not (reason or "").strip():
        raise CaseRuleBroken(_l("Say why the intake is corrected."))
    if draft_intake(case.referral_id) is not None:
        raise CaseRuleBroken(_l("A correction is already being written; complete it first."))
    current = current_intake(case.referral_id)
    copy = {name: getattr(current, name) for name in INTAKE_FIELDS}
    intake = Intake(network_id=case.network_id, referral_id=case.referral_id, patient_id=case.patient_id,
                    version=current.version + 1, status=IntakeStatus.DRAFT, created_by_id=actor.id,
                    updated_at=utcnow(), correction_reason=reason.strip(), **copy)
    db.session.add(intake)
    db.session.flush()
    _record("intake.correction_started", AuditAction.CREATE, case, actor=actor, object_type="intake",
            object_id=intake.id, basis="coordinator", reason=reason.strip())
    return intake


# --- the case -------------------------------------------------------------------------------------

def case_for_referral(referral_id: int) -> Case | None:
    return db.session.scalar(select(Case).where(Case.referral_id == referral_id))


def get_case(case_id: int) -> Case | None:
    return db.session.scalar(select(Case).where(Case.id == case_id))


def team(case: Case) -> list[CareTeamMember]:
    return list(db.session.scalars(select(CareTeamMember).where(CareTeamMember.case_id == case.id)
                                   .order_by(CareTeamMember.proposed_at, CareTeamMember.id)))


def active_team_member(case: Case, membership_id: int) -> CareTeamMember | None:
    return db.session.scalar(select(CareTeamMember).where(
        CareTeamMember.case_id == case.id, CareTeamMember.membership_id == membership_id,
        CareTeamMember.status.in_((TeamStatus.ACTIVE, TeamStatus.PROPOSED))))


def record_consent(case: Case, actor: User, *, method: ConsentMethod, purpose: str, membership_ids: list[int],
                   parts: set[ConsentPart], valid_until: date | None = None, document_name: str = "",
                   document_storage: str = "") -> Consent:
    if not (purpose or "").strip():
        raise CaseRuleBroken(_l("Describe the purpose of sharing."))
    if not membership_ids:
        raise CaseRuleBroken(_l("Choose who the consent covers."))
    if not parts:
        raise CaseRuleBroken(_l("Choose which parts may be shared."))
    if valid_until is not None and valid_until < date.today():
        raise CaseRuleBroken(_l("The end date of a consent cannot be in the past."))
    members = list(db.session.scalars(select(Membership).where(Membership.id.in_(membership_ids),
                                                               Membership.is_active.is_(True))))
    if len(members) != len(set(membership_ids)):
        raise CaseRuleBroken(_l("Consent can only cover active members of this network."))
    consent = Consent(network_id=case.network_id, case_id=case.id, patient_id=case.patient_id,
                      obtained_by_id=actor.id, obtained_at=utcnow(), method=method, purpose=purpose.strip(),
                      covers_intake=ConsentPart.INTAKE in parts, covers_notes=ConsentPart.NOTES in parts,
                      covers_proms=ConsentPart.PROMS in parts, valid_until=valid_until,
                      document_name=document_name, document_storage=document_storage)
    db.session.add(consent)
    db.session.flush()
    db.session.add_all(ConsentMember(network_id=case.network_id, consent_id=consent.id, membership_id=m.id)
                       for m in members)
    add_event(case, actor, CaseEventKind.CONSENT_RECORDED, ", ".join(m.user.full_name for m in members))
    _record("consent.recorded", AuditAction.CREATE, case, actor=actor, object_type="consent", object_id=consent.id,
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
    _record("consent.withdrawn", AuditAction.UPDATE, case, actor=actor, object_type="consent",
            object_id=consent.id, reason=reason.strip())


def consents_of(case: Case) -> list[Consent]:
    return list(db.session.scalars(select(Consent).where(Consent.case_id == case.id).order_by(Consent.id)))


def _covered(case: Case, membership_id: int) -> bool:
    from app.cases.access import covering_consents
    return bool(covering_consents(case, membership_id))


def propose_member(case: Case, actor: User, membership: Membership, *, reason: str, role_in_case: str = "",
                   ) -> CareTeamMember:
    """Involve another member. Needs a consent that covers them first; they accept before they see the case."""
    if case.status is not CaseStatus.ACTIVE:
        raise CaseRuleBroken(_l("The case is closed."))
    if not (reason or "").strip():
        raise CaseRuleBroken(_l("Give the reason for involving this colleague."))
    if not membership.is_active or membership.role is not Role.MEMBER:
        raise CaseRuleBroken(_l("Only active members of the network can join a care team."))
    if active_team_member(case, membership.id) is not None:
        raise CaseRuleBroken(_l("%(name)s is already on the care team or proposed.", name=membership.user.full_name))
    if not _covered(case, membership.id):
        raise CaseRuleBroken(_l("Record the patient's consent for %(name)s first.", name=membership.user.full_name))
    row = CareTeamMember(network_id=case.network_id, case_id=case.id, membership_id=membership.id,
                         role_in_case=role_in_case.strip() or discipline_names(membership),
                         status=TeamStatus.PROPOSED, proposed_by_id=actor.id, proposed_at=utcnow(),
                         reason=reason.strip())
    db.session.add(row)
    db.session.flush()
    add_event(case, actor, CaseEventKind.MEMBER_PROPOSED, f"{membership.user.full_name} ({row.role_in_case})")
    _record("case.member_proposed", AuditAction.CREATE, case, actor=actor, object_type="care_team_member",
            object_id=row.id, reason=f"membership {membership.id}")
    network = db.session.get(Network, case.network_id)
    user = membership.user
    queue_mail(to=user.email, template="case_proposal", subject=_l("You are asked to join a care team"),
               locale=user.locale or network.default_locale or "nl", network_id=network.id, user=user,
               network=network, link=absolute_url("cases.proposal", network_slug=network.slug, case_id=case.id))
    return row


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
    _record("case.member_accepted" if accept else "case.member_declined", AuditAction.UPDATE, case, actor=actor,
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
    _record("case.central_changed", AuditAction.UPDATE, case, actor=actor, object_type="case", object_id=case.id,
            reason=f"membership {membership.id}")


def central_history(case: Case) -> list[CentralProviderChange]:
    return list(db.session.scalars(select(CentralProviderChange).where(CentralProviderChange.case_id == case.id)
                                   .order_by(CentralProviderChange.id)))


# --- notes and actions ------------------------------------------------------------------------------

def add_note(case: Case, actor: User, author: Membership, body: str, visibility: NoteVisibility) -> Note:
    if not (body or "").strip():
        raise CaseRuleBroken(_l("The note is empty."))
    disciplines = list(db.session.scalars(select(MembershipDiscipline.discipline_id).where(
        MembershipDiscipline.membership_id == author.id)))
    if visibility is NoteVisibility.DISCIPLINE and not disciplines:
        raise CaseRuleBroken(_l("You have no discipline in this network; choose another visibility."))
    now = utcnow()
    note = Note(network_id=case.network_id, case_id=case.id, author_membership_id=author.id, visibility=visibility,
                discipline_ids=disciplines, body=body.strip(), version=1, updated_at=now)
    db.session.add(note)
    db.session.flush()
    _record("note.created", AuditAction.CREATE, case, actor=actor, object_type="note", object_id=note.id,
            reason=visibility.value)
    return note


def edit_note(note: Note, actor: User, author: Membership, body: str) -> Note:
    """Only the author edits; the earlier text is kept as a version."""
    if note.author_membership_id != author.id:
        raise CaseRuleBroken(_l("Only the author can change a note."))
    if not (body or "").strip():
        raise CaseRuleBroken(_l("The note is empty."))
    if body.strip() == note.body:
        return note
    db.session.add(NoteVersion(network_id=note.network_id, note_id=note.id, version=note.version, body=note.body,
                               written_at=note.updated_at or note.created_at))
    note.body = body.strip()
    note.version += 1
    note.updated_at = utcnow()
    case = db.session.scalar(select(Case).where(Case.id == note.case_id))
    _record("note.edited", AuditAction.UPDATE, case, actor=actor, object_type="note", object_id=note.id,
            reason=f"version {note.version}")
    return note


def note_versions(note: Note) -> list[NoteVersion]:
    return list(db.session.scalars(select(NoteVersion).where(NoteVersion.note_id == note.id)
                                   .order_by(NoteVersion.version)))


def add_action(case: Case, actor: User, *, description: str, owner: Membership, due_on: date) -> CaseAction:
    if not (description or "").strip():
        raise CaseRuleBroken(_l("Describe the next step."))
    on_team = owner.role is Role.COORDINATOR or db.session.scalar(select(CareTeamMember.id).where(
        CareTeamMember.case_id == case.id, CareTeamMember.membership_id == owner.id,
        CareTeamMember.status == TeamStatus.ACTIVE)) is not None
    if not on_team:
        raise CaseRuleBroken(_l("The owner must be on the care team."))
    row = CaseAction(network_id=case.network_id, case_id=case.id, description=description.strip()[:500],
                     owner_membership_id=owner.id, due_on=due_on, created_by_id=actor.id)
    db.session.add(row)
    db.session.flush()
    _record("case_action.created", AuditAction.CREATE, case, actor=actor, object_type="case_action",
            object_id=row.id)
    return row


def complete_action(row: CaseAction, actor: User) -> None:
    if row.done_at is None:
        row.done_at = utcnow()
        case = db.session.scalar(select(Case).where(Case.id == row.case_id))
        _record("case_action.done", AuditAction.UPDATE, case, actor=actor, object_type="case_action",
                object_id=row.id)


def actions_of(case: Case) -> list[CaseAction]:
    return list(db.session.scalars(select(CaseAction).where(CaseAction.case_id == case.id)
                                   .order_by(CaseAction.done_at.is_not(None), CaseAction.due_on, CaseAction.id)))


def overdue_actions_for(membership: Membership, *, today: date | None = None) -> list[CaseAction]:
    """Open next steps of this member that are past due (for their start page)."""
    today = today or date.today()
    return list(db.session.scalars(select(CaseAction).join(
        Case, (Case.id == CaseAction.case_id) & (Case.network_id == CaseAction.network_id)).where(
        CaseAction.owner_membership_id == membership.id, CaseAction.done_at.is_(None), CaseAction.due_on < today,
        Case.status == CaseStatus.ACTIVE).order_by(CaseAction.due_on).limit(50)))


# --- distress thermometer ---------------------------------------------------------------------------

def record_prom(case: Case, actor: User, *, score: int, problems: list[str], measured_on: date) -> PromMeasurement:
    if not 0 <= score <= 10:
        raise CaseRuleBroken(_l("The distress thermometer goes from 0 to 10."))
    if measured_on > date.today():
        raise CaseRuleBroken(_l("This date cannot be in the future."))
    row = PromMeasurement(network_id=case.network_id, case_id=case.id, measured_on=measured_on, score=score,
                          problems=problems, recorded_by_id=actor.id)
    db.session.add(row)
    latest = max(measured_on, db.session.scalar(select(func.max(PromMeasurement.measured_on)).where(
        PromMeasurement.case_id == case.id)) or measured_on)
    case.next_prom_due_on = latest + timedelta(days=91)
    case.prom_reminded_at = None
    db.session.flush()
    add_event(case, actor, CaseEventKind.PROM_RECORDED, str(score))
    _record("prom.recorded", AuditAction.CREATE, case, actor=actor, object_type="prom_measurement",
            object_id=row.id)
    return row


def proms_of(case: Case) -> list[PromMeasurement]:
    return list(db.session.scalars(select(PromMeasurement).where(PromMeasurement.case_id == case.id)
                                   .order_by(PromMeasurement.measured_on, PromMeasurement.id)))


# --- closing ------------------------------------------------------------------------------------------

def close_part(row: CareTeamMember, actor: User, summary: str) -> None:
    if row.status is not TeamStatus.ACTIVE:
        raise CaseRuleBroken(_l("Only a member on the team can close their part."))
    if not (summary or "").strip():
        raise CaseRuleBroken(_l("Write a short summary of your part."))
    row.status, row.left_at, row.part_summary = TeamStatus.LEFT, utcnow(), summary.strip()
    case = db.session.scalar(select(Case).where(Case.id == row.case_id))
    add_event(case, actor, CaseEventKind.MEMBER_LEFT, row.role_in_case)
    _record("case.part_closed", AuditAction.UPDATE, case, actor=actor, object_type="care_team_member",
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
    _record("case.closed", AuditAction.UPDATE, case, actor=actor, object_type="case", object_id=case.id)
    referral = db.session.scalar(select(Referral).where(Referral.id == case.referral_id))
    if referral.status is ReferralStatus.IN_CARE:
        referral_services.transition(referral, referral_services.Action.CLOSE, actor=actor,
                                     side=referral_services.Side.NETWORK)
    from app.cases import letters
    letters.draft_letter(case, actor, kind="closing")


# --- the GP's thread with the central care provider ---------------------------------------------------

def add_case_message(case: Case, actor: User, body: str, *, from_gp: bool) -> CaseMessage:
    if not (body or "").strip():
        raise CaseRuleBroken(_l("Write your message."))
    row = CaseMessage(network_id=case.network_id, case_id=case.id, occurred_at=utcnow(), author_id=actor.id,
                      from_gp=from_gp, body=body.strip())
    db.session.add(row)
    db.session.flush()
    _record("case.message", AuditAction.CREATE, case, actor=actor, object_type="case_message", object_id=row.id,
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
            queue_mail(to=gp.email, template="referral_update",
                       subject=_l("There is an update on referral %(number)s", number=referral.number),
                       locale=gp.locale or "nl", network_id=network.id, user=gp, number=referral.number,
                       network=network, link=absolute_url("gp_referrals.detail", referral_id=referral.id))
    return row


def case_messages(case: Case) -> list[CaseMessage]:
    return list(db.session.scalars(select(CaseMessage).where(CaseMessage.case_id == case.id)
                                   .order_by(CaseMessage.id)))


def timeline(case: Case, *, gp_only: bool = False) -> list[CaseEvent]:
    from app.cases.models import GP_VISIBLE_EVENTS
    statement = select(CaseEvent).where(CaseEvent.case_id == case.id)
    if gp_only:
        statement = statement.where(CaseEvent.kind.in_(GP_VISIBLE_EVENTS))
    return list(db.session.scalars(statement.order_by(CaseEvent.id)))
