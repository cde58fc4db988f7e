"""Patient registration and lookup. Callers commit; every access is audit-logged here."""
from __future__ import annotations

from sqlalchemy import func, or_, select

from app.core import audit
from app.core.audit import AuditAction
from app.extensions import db
from app.patients.models import Patient


def register_patient(*, network_id: int, actor_id: int, given_name: str, family_name: str, date_of_birth,
                     bsn: str | None, postcode: str, phone: str) -> Patient:
    patient = Patient(network_id=network_id, given_name=given_name.strip(), family_name=family_name.strip(),
                      date_of_birth=date_of_birth, bsn=bsn or None, postcode=postcode, phone=phone.strip(),
                      created_by_id=actor_id)
    db.session.add(patient)
    db.session.flush()
    audit.record("patient.created", AuditAction.CREATE, patient_id=patient.id, object_type="patient",
                 object_id=patient.id, basis="coordinator")
    return patient


def patients_query(search: str = ""):
    statement = (select(Patient).where(Patient.merged_into_id.is_(None))  # a merged-away record holds nothing
                 .order_by(Patient.family_name, Patient.given_name, Patient.id))
    if search:
        like = f"%{search.lower()}%"
        statement = statement.where(or_(func.lower(Patient.family_name).like(like),
                                        func.lower(Patient.given_name).like(like),
                                        Patient.bsn == search.replace(" ", "")))
    return statement


def get_patient(patient_id: int) -> Patient:
    """Load a patient of the current network (404 otherwise) and log the read."""
    patient = db.first_or_404(select(Patient).where(Patient.id == patient_id))
    audit.record("patient.viewed", AuditAction.READ, patient_id=patient.id, object_type="patient",
                 object_id=patient.id, basis="coordinator")
    return patient
