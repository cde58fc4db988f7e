"""Everything the network holds about one patient, for a GDPR right-of-access request (art. 15).

`patient_export(patient)` runs inside the patient's network (a coordinator's request) and returns a
JSON-ready dict: the identity, every referral with its form content, medication rows, events,
messages and attachment list, every intake version, the shared record (each section's current content and
all its earlier versions, with who, when, why and from what), the cases with care team, central provider
history, consents (with withdrawals), ALL notes with their earlier versions (every visibility: this is
the patient's own right of access), actions, distress measurements, letters, the GP thread, the case
timeline, and the NEN 7513 access log of the patient in this network. Dates are ISO strings.

Columns are exported generically, so a column added later is exported too; only technical fields
(storage names, submission keys, the network id) are left out. Attachment and consent files are
listed by name; the files themselves are handed over separately on request.
"""
from __future__ import annotations

import enum
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from sqlalchemy import inspect, select

from app.auth.models import User
from app.cases.models import (
    CareTeamMember,
    Case,
    CaseAction,
    CaseEvent,
    CaseMessage,
    CentralProviderChange,
    Consent,
    ConsentMember,
    Intake,
    Letter,
    Note,
    NoteVersion,
    PromMeasurement,
)
from app.core.audit import AuditEvent
from app.core.db import utcnow
from app.core.tenancy import current_network_id
from app.extensions import db
from app.networks.models import Discipline, Membership, Network
from app.patients.models import Patient, PatientQuestionnaire, PortalAccount, PortalMessage
from app.records.models import RecordSection, RecordSectionVersion, SectionKey
from app.referrals.models import (
    Referral,
    ReferralAttachment,
    ReferralDiscipline,
    ReferralEvent,
    ReferralMedication,
    ReferralMessage,
)

FORMAT_VERSION = 1
# Technical columns that say nothing about the patient (and must not leak storage names).
SKIP_COLUMNS = frozenset({"network_id", "storage_name", "pdf_storage", "document_storage", "submission_key",
                          "draft_data", "prev_hash", "hash"})
SECTIONS = ("patient", "referrals", "intakes", "cases", "access_log")


def _value(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dict):
        return {str(k): _value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_value(v) for v in value]
    return value


def _row(obj: Any, *, skip: frozenset[str] = frozenset()) -> dict[str, Any]:
    """Every mapped column of *obj* (minus the technical ones), JSON-ready."""
    return {attr.key: _value(getattr(obj, attr.key)) for attr in inspect(obj).mapper.column_attrs
            if attr.key not in SKIP_COLUMNS and attr.key not in skip}


class _Names:
    """User and membership names, each looked up once."""

    def __init__(self) -> None:
        self._users: dict[int, str] = {}
        self._memberships: dict[int, dict[str, Any]] = {}

    def user(self, user_id: int | None) -> str:
        if user_id is None:
            return ""
        if user_id not in self._users:
            user = db.session.get(User, user_id)
            self._users[user_id] = user.full_name if user is not None else ""
        return self._users[user_id]

    def membership(self, membership_id: int | None) -> dict[str, Any] | None:
        if membership_id is None:
            return None
        if membership_id not in self._memberships:
            membership = db.session.scalar(select(Membership).where(Membership.id == membership_id))
            self._memberships[membership_id] = {
                "membership_id": membership_id, "name": membership.user.full_name if membership else "",
                "role": membership.role.value if membership else "",
                "disciplines": [d.name_nl for d in membership.disciplines] if membership else []}
        return self._memberships[membership_id]


def _scalars(statement) -> list:
    return list(db.session.scalars(statement))


def _referral(referral: Referral, names: _Names) -> dict[str, Any]:
    data = _row(referral)
    data["gp"] = {"name": referral.gp_profile.user.full_name, "agb_code": referral.gp_profile.agb_code,
                  "practice": referral.gp_profile.practice_name}
    data["submitted_by_name"] = names.user(referral.submitted_by_id)
    data["medications"] = [_row(m) for m in _scalars(select(ReferralMedication).where(
        ReferralMedication.referral_id == referral.id).order_by(ReferralMedication.position, ReferralMedication.id))]
    data["disciplines_asked"] = list(db.session.scalars(select(Discipline.name_nl).join(
        ReferralDiscipline, ReferralDiscipline.discipline_id == Discipline.id).where(
        ReferralDiscipline.referral_id == referral.id).order_by(Discipline.sort_order)))
    data["events"] = [{**_row(e), "actor_name": names.user(e.actor_id)} for e in _scalars(
        select(ReferralEvent).where(ReferralEvent.referral_id == referral.id).order_by(ReferralEvent.id))]
    data["messages"] = [{**_row(m), "author_name": names.user(m.author_id)} for m in _scalars(
        select(ReferralMessage).where(ReferralMessage.referral_id == referral.id).order_by(ReferralMessage.id))]
    data["attachments"] = [_row(a) for a in _scalars(
        select(ReferralAttachment).where(ReferralAttachment.referral_id == referral.id)
        .order_by(ReferralAttachment.id))]
    return data


def _record(patient: Patient, names: _Names) -> list[dict[str, Any]]:
    """The shared record's sections in their fixed order, each with all its versions (two queries)."""
    sections = {s.key: s for s in _scalars(select(RecordSection).where(RecordSection.patient_id == patient.id))}
    versions: dict[SectionKey, list[RecordSectionVersion]] = {}
    for version in _scalars(select(RecordSectionVersion).where(RecordSectionVersion.patient_id == patient.id)
                            .order_by(RecordSectionVersion.key, RecordSectionVersion.version)):
        versions.setdefault(version.key, []).append(version)
    return [{**_row(sections[key]), "updated_by_name": names.user(sections[key].updated_by_id),
             "versions": [{**_row(v), "written_by_name": names.user(v.written_by_id)} for v in versions.get(key, [])]}
            for key in SectionKey if key in sections]


# Packages above cases add their rows of a case here (app.palliative: hospital roles, the palliative path): the
# export stays one builder without importing them. Each takes (case, row, names) and returns {key: rows}.
CASE_EXPORT_PARTS: list[Callable[[Case, Callable[..., dict[str, Any]], Any], dict[str, Any]]] = []


def register_case_export(part: Callable[[Case, Callable[..., dict[str, Any]], Any], dict[str, Any]]):
    CASE_EXPORT_PARTS.append(part)
    return part


def _case(case: Case, names: _Names) -> dict[str, Any]:
    data = _row(case)
    for part in CASE_EXPORT_PARTS:
        data.update(part(case, _row, names))
    data["central_care_provider"] = names.membership(case.central_membership_id)
    data["care_team"] = [{**_row(t), "member": names.membership(t.membership_id),
                          "proposed_by_name": names.user(t.proposed_by_id)}
                         for t in _scalars(select(CareTeamMember).where(CareTeamMember.case_id == case.id)
                                           .order_by(CareTeamMember.id))]
    data["central_provider_history"] = [
        {**_row(c), "member": names.membership(c.membership_id), "changed_by_name": names.user(c.changed_by_id)}
        for c in _scalars(select(CentralProviderChange).where(CentralProviderChange.case_id == case.id)
                          .order_by(CentralProviderChange.id))]
    consents = []
    for consent in _scalars(select(Consent).where(Consent.case_id == case.id).order_by(Consent.id)):
        members = _scalars(select(ConsentMember.membership_id).where(ConsentMember.consent_id == consent.id)
                           .order_by(ConsentMember.membership_id))
        consents.append({**_row(consent), "obtained_by_name": names.user(consent.obtained_by_id),
                         "withdrawn_by_name": names.user(consent.withdrawn_by_id),
                         "covers_members": [names.membership(m) for m in members]})
    data["consents"] = consents
    notes = []
    for note in _scalars(select(Note).where(Note.case_id == case.id).order_by(Note.id)):
        versions = _scalars(select(NoteVersion).where(NoteVersion.note_id == note.id).order_by(NoteVersion.version))
        notes.append({**_row(note), "author": names.membership(note.author_membership_id),
                      "earlier_versions": [_row(v) for v in versions]})
    data["notes"] = notes
    data["actions"] = [{**_row(a), "owner": names.membership(a.owner_membership_id)} for a in _scalars(
        select(CaseAction).where(CaseAction.case_id == case.id).order_by(CaseAction.id))]
    data["distress_measurements"] = [_row(p) for p in _scalars(
        select(PromMeasurement).where(PromMeasurement.case_id == case.id).order_by(PromMeasurement.measured_on,
                                                                                   PromMeasurement.id))]
    data["letters"] = [{**_row(letter), "pdf_stored": bool(letter.pdf_storage)} for letter in _scalars(
        select(Letter).where(Letter.case_id == case.id).order_by(Letter.id))]
    data["gp_thread"] = [{**_row(m), "author_name": names.user(m.author_id)} for m in _scalars(
        select(CaseMessage).where(CaseMessage.case_id == case.id).order_by(CaseMessage.id))]
    data["timeline"] = [{**_row(e), "actor_name": names.user(e.actor_id)} for e in _scalars(
        select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id))]
    return data


def access_log(patient: Patient, names: _Names) -> list[dict[str, Any]]:
    """NEN 7513: every audit row naming this patient in this network, oldest first (who, when, what, basis)."""
    network_id = current_network_id()
    rows = db.session.scalars(select(AuditEvent).where(AuditEvent.network_id == network_id,
                                                       AuditEvent.patient_id == patient.id)
                              .order_by(AuditEvent.id))
    return [{"occurred_at": _value(e.occurred_at), "event": e.event, "action": e.action.value,
             "outcome": e.outcome.value, "user_id": e.user_id, "user_name": names.user(e.user_id),
             "user_role": e.user_role, "on_behalf_of": names.user(e.on_behalf_of_user_id),
             "object_type": e.object_type, "object_id": e.object_id, "basis": e.basis, "reason": e.reason}
            for e in rows]


def patient_export(patient: Patient) -> dict[str, Any]:
    """All data about *patient* in the current network (see the module docstring). Reads only."""
    if patient.network_id != current_network_id():
        raise ValueError("the export runs inside the patient's own network")
    names = _Names()
    network = db.session.get(Network, patient.network_id)
    referrals = _scalars(select(Referral).where(Referral.patient_id == patient.id).order_by(Referral.id))
    cases = _scalars(select(Case).where(Case.patient_id == patient.id).order_by(Case.id))
    intakes = _scalars(select(Intake).where(Intake.patient_id == patient.id).order_by(Intake.referral_id,
                                                                                      Intake.version))
    return {
        "format_version": FORMAT_VERSION,
        "exported_at": _value(utcnow()),
        "network": {"name": network.name, "slug": network.slug},
        "patient": {**_row(patient), "created_by_name": names.user(patient.created_by_id)},
        "referrals": [_referral(r, names) for r in referrals],
        "intakes": [{**_row(i), "created_by_name": names.user(i.created_by_id),
                     "completed_by_name": names.user(i.completed_by_id)} for i in intakes],
        "record": _record(patient, names),
        "cases": [_case(c, names) for c in cases],
        "portal": _portal(patient, names),
        "access_log": access_log(patient, names),
    }


def _portal(patient: Patient, names: _Names) -> dict[str, Any]:
    """The patient's own part: who has a portal account (the patient, the relatives and what they may see), the
    questionnaires filled in at home and the messages with the network."""
    return {
        "accounts": [{**_row(a), "user_name": names.user(a.user_id), "invited_by_name": names.user(a.invited_by_id),
                      "revoked_by_name": names.user(a.revoked_by_id)} for a in _scalars(
            select(PortalAccount).where(PortalAccount.patient_id == patient.id).order_by(PortalAccount.id))],
        "questionnaires": [_row(q) for q in _scalars(
            select(PatientQuestionnaire).where(PatientQuestionnaire.patient_id == patient.id)
            .order_by(PatientQuestionnaire.id))],
        "messages": [{**_row(m), "author_name": names.user(m.author_id)} for m in _scalars(
            select(PortalMessage).where(PortalMessage.patient_id == patient.id).order_by(PortalMessage.id))],
    }
