"""Work in a case: notes with versions, next actions, distress thermometer measurements."""
from __future__ import annotations

from datetime import date, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from app.auth.models import User
from app.cases.models import (
    CareTeamMember,
    Case,
    CaseAction,
    CaseEventKind,
    CaseStatus,
    Note,
    NoteDiscipline,
    NoteVersion,
    NoteVisibility,
    PromMeasurement,
    TeamStatus,
)
from app.cases.services._base import (
    CaseRuleBroken,
    add_event,
    record_audit,
)
from app.core.audit import AuditAction
from app.core.dates import local_today
from app.core.db import utcnow
from app.extensions import db
from app.networks.models import Membership, MembershipDiscipline, Role
from app.records import services as record_services
from app.records.models import RecordSource, SectionKey


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
    db.session.add_all(NoteDiscipline(network_id=case.network_id, note_id=note.id, discipline_id=discipline_id)
                       for discipline_id in sorted(set(disciplines)))
    record_audit("note.created", AuditAction.CREATE, case, actor=actor, object_type="note", object_id=note.id,
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
    record_audit("note.edited", AuditAction.UPDATE, case, actor=actor, object_type="note", object_id=note.id,
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
    record_audit("case_action.created", AuditAction.CREATE, case, actor=actor, object_type="case_action",
            object_id=row.id)
    return row


def complete_action(row: CaseAction, actor: User) -> None:
    if row.done_at is None:
        row.done_at = utcnow()
        case = db.session.scalar(select(Case).where(Case.id == row.case_id))
        record_audit("case_action.done", AuditAction.UPDATE, case, actor=actor, object_type="case_action",
                object_id=row.id)


def actions_of(case: Case) -> list[CaseAction]:
    return list(db.session.scalars(select(CaseAction).where(CaseAction.case_id == case.id)
                                   .order_by(CaseAction.done_at.is_not(None), CaseAction.due_on, CaseAction.id)))


def overdue_actions_for(membership: Membership, *, today: date | None = None) -> list[CaseAction]:
    """Open next steps of this member that are past due (for their start page)."""
    today = today or local_today()
    return list(db.session.scalars(select(CaseAction).join(
        Case, (Case.id == CaseAction.case_id) & (Case.network_id == CaseAction.network_id)).where(
        CaseAction.owner_membership_id == membership.id, CaseAction.done_at.is_(None), CaseAction.due_on < today,
        Case.status == CaseStatus.ACTIVE).order_by(CaseAction.due_on).limit(50)))


# --- distress thermometer ---------------------------------------------------------------------------

def record_prom(case: Case, actor: User, *, score: int, problems: list[str], measured_on: date) -> PromMeasurement:
    if not 0 <= score <= 10:
        raise CaseRuleBroken(_l("The distress thermometer goes from 0 to 10."))
    if measured_on > local_today():
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
    if measured_on >= latest:  # the record's distress section shows the newest measurement (remarks kept)
        current = record_services.sections_of(case.patient_id, [SectionKey.DISTRESS]).get(SectionKey.DISTRESS)
        record_services.write_section(
            case.patient_id, SectionKey.DISTRESS,
            {**(current.content if current is not None else {}), "score": score, "problems": problems,
             "measured_on": measured_on}, actor=actor, reason=f"measurement of {measured_on.isoformat()}",
            source=RecordSource.MEMBER, case_id=case.id)
    record_audit("prom.recorded", AuditAction.CREATE, case, actor=actor, object_type="prom_measurement",
            object_id=row.id)
    return row


def proms_of(case: Case) -> list[PromMeasurement]:
    return list(db.session.scalars(select(PromMeasurement).where(PromMeasurement.case_id == case.id)
                                   .order_by(PromMeasurement.measured_on, PromMeasurement.id)))
