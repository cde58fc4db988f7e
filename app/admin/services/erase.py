"""Erasing one patient for a legal request (a court order, an upheld erasure request): platform admin only.

Medical records are kept CASE_RETENTION_YEARS (WGBO: 20 years) and nothing in the UI deletes a case.
This procedure is the one exception. It runs inside the patient's network (`network_context`), reads
every id through the tenancy-scoped ORM, and deletes with ORM `delete()` statements on the scoped
classes, each also restricted to that network, in dependency order; then it writes ONE audit row
"patient.erased" (the legal reference and the counts, no content). Audit rows stay: they are append-only
and hold no content, only ids. Completed intakes are final for the application (a flush guard); the
bulk statement here is the deliberate, logged exception for a legal erasure. Files (letter PDFs, consent
documents, referral attachments) are removed after the commit (`remove_files`).

The platform admin never sees patient data: the form takes ids, the result is counts only.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select

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
    NoteDiscipline,
    NoteVersion,
    PromMeasurement,
)
from app.core import audit
from app.core.audit import AuditAction
from app.core.storage import StorageError, stored_path
from app.core.tenancy import network_context
from app.extensions import db
from app.norms.models import NormClock
from app.palliative.models import HospitalRole, MdoDiscussion, OutsideCentralProvider, PalliativeEvent
from app.patients.models import Patient, PatientQuestionnaire, PortalAccount, PortalMessage
from app.records.models import RecordSection, RecordSectionVersion
from app.referrals.models import (
    Referral,
    ReferralAttachment,
    ReferralDiscipline,
    ReferralEvent,
    ReferralMedication,
    ReferralMessage,
)


class EraseError(Exception):
    """The erasure cannot run; str() is the message for the platform admin (no patient data)."""


@dataclass
class EraseResult:
    network_id: int
    patient_id: int
    counts: dict[str, int]
    files: list[Path] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def _ids(statement) -> list[int]:
    return list(db.session.scalars(statement))


def _delete(counts: dict[str, int], model, column, ids: list[int], network_id: int) -> None:
    """Delete the rows of *model* whose *column* is in *ids*, in this network only; count them."""
    if not ids:
        counts[model.__tablename__] = 0
        return
    result = db.session.execute(delete(model).where(model.network_id == network_id, column.in_(ids))
                                .execution_options(synchronize_session=False))
    counts[model.__tablename__] = result.rowcount or 0


def erase_patient(*, network_id: int, patient_id: int, legal_reference: str) -> EraseResult:
    """Delete every row of the patient in *network_id* and record one "patient.erased" audit row.

    The caller commits, then calls remove_files(result). Raises EraseError for an unknown patient or an
    empty legal reference.
    """
    legal_reference = (legal_reference or "").strip()
    if not legal_reference:
        raise EraseError(_l("Give the legal reference."))
    with network_context(network_id):
        patient = db.session.scalar(select(Patient).where(Patient.id == patient_id))
        if patient is None:
            raise EraseError(_l("This network has no patient with this number."))
        # Every id through the scoped ORM (the safety net adds the network to each SELECT).
        referral_ids = _ids(select(Referral.id).where(Referral.patient_id == patient_id))
        case_ids = _ids(select(Case.id).where((Case.patient_id == patient_id) | Case.referral_id.in_(referral_ids)))
        note_ids = _ids(select(Note.id).where(Note.case_id.in_(case_ids)))
        consent_ids = _ids(select(Consent.id).where(Consent.case_id.in_(case_ids)
                                                    | (Consent.patient_id == patient_id)))
        letter_ids = _ids(select(Letter.id).where(Letter.case_id.in_(case_ids)))
        intake_ids = _ids(select(Intake.id).where((Intake.patient_id == patient_id)
                                                  | Intake.referral_id.in_(referral_ids)))
        attachment_ids = _ids(select(ReferralAttachment.id).where(ReferralAttachment.referral_id.in_(referral_ids)))
        stored = [*db.session.scalars(select(Letter.pdf_storage).where(Letter.id.in_(letter_ids))),
                  *db.session.scalars(select(Consent.document_storage).where(Consent.id.in_(consent_ids))),
                  *db.session.scalars(select(ReferralAttachment.storage_name)
                                      .where(ReferralAttachment.id.in_(attachment_ids)))]
        db.session.flush()
        counts: dict[str, int] = {}
        n = network_id
        # The shared record first: its versions point at the referrals, intakes and cases removed below.
        _delete(counts, RecordSectionVersion, RecordSectionVersion.patient_id, [patient_id], n)
        _delete(counts, RecordSection, RecordSection.patient_id, [patient_id], n)
        # The patient's portal: messages and questionnaires point at the accounts (the users stay: a login
        # holds no patient data, and may be a relative of someone else too).
        _delete(counts, PortalMessage, PortalMessage.patient_id, [patient_id], n)
        _delete(counts, PatientQuestionnaire, PatientQuestionnaire.patient_id, [patient_id], n)
        _delete(counts, PortalAccount, PortalAccount.patient_id, [patient_id], n)
        _delete(counts, NoteVersion, NoteVersion.note_id, note_ids, n)
        _delete(counts, NoteDiscipline, NoteDiscipline.note_id, note_ids, n)
        _delete(counts, Note, Note.id, note_ids, n)
        _delete(counts, CaseAction, CaseAction.case_id, case_ids, n)
        _delete(counts, PromMeasurement, PromMeasurement.case_id, case_ids, n)
        _delete(counts, Letter, Letter.id, letter_ids, n)
        _delete(counts, CaseMessage, CaseMessage.case_id, case_ids, n)
        _delete(counts, CaseEvent, CaseEvent.case_id, case_ids, n)
        _delete(counts, ConsentMember, ConsentMember.consent_id, consent_ids, n)
        _delete(counts, Consent, Consent.id, consent_ids, n)
        _delete(counts, HospitalRole, HospitalRole.case_id, case_ids, n)
        _delete(counts, PalliativeEvent, PalliativeEvent.case_id, case_ids, n)
        _delete(counts, MdoDiscussion, MdoDiscussion.case_id, case_ids, n)
        _delete(counts, NormClock, NormClock.referral_id, referral_ids, n)
        _delete(counts, OutsideCentralProvider, OutsideCentralProvider.case_id, case_ids, n)
        _delete(counts, CareTeamMember, CareTeamMember.case_id, case_ids, n)
        _delete(counts, CentralProviderChange, CentralProviderChange.case_id, case_ids, n)
        _delete(counts, Case, Case.id, case_ids, n)
        _delete(counts, Intake, Intake.id, intake_ids, n)
        _delete(counts, ReferralMedication, ReferralMedication.referral_id, referral_ids, n)
        _delete(counts, ReferralDiscipline, ReferralDiscipline.referral_id, referral_ids, n)
        _delete(counts, ReferralEvent, ReferralEvent.referral_id, referral_ids, n)
        _delete(counts, ReferralMessage, ReferralMessage.referral_id, referral_ids, n)
        _delete(counts, ReferralAttachment, ReferralAttachment.id, attachment_ids, n)
        _delete(counts, Referral, Referral.id, referral_ids, n)
        # Records merged into this patient hold nothing but their identity, which goes too.
        _delete(counts, Patient, Patient.merged_into_id, [patient_id], n)
        _delete(counts, Patient, Patient.id, [patient_id], n)
        db.session.expire_all()  # nothing loaded may outlive the rows it describes
        files = []
        for name in stored:
            if not name:
                continue
            try:
                files.append(stored_path(network_id, name))
            except StorageError:
                continue
        counts["files"] = len(files)
        summary = ", ".join(f"{table} {count}" for table, count in counts.items() if count)
        audit.record("patient.erased", AuditAction.DELETE, patient_id=patient_id, object_type="patient",
                     object_id=patient_id, network_id=network_id, basis="legal request",
                     reason=f"{legal_reference}; removed: {summary}")
    return EraseResult(network_id=network_id, patient_id=patient_id, counts=counts, files=files)


def remove_files(result: EraseResult) -> int:
    """After the commit: delete the patient's stored files. Returns how many were removed."""
    removed = 0
    for path in result.files:
        if path.is_file():
            path.unlink(missing_ok=True)
            removed += 1
    return removed
