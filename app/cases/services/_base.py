"""What the case services share: the rule errors, the completed-intake guard, audit and timeline helpers, lookups."""
from __future__ import annotations

from blinker import Namespace
from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session

from app.auth.models import User
from app.cases.models import (  # noqa: F401 (INTAKE_FIELDS: re-exported for the services package)
    INTAKE_FIELDS,
    Case,
    CaseEvent,
    CaseEventKind,
    Intake,
    IntakeStatus,
)
from app.core import audit
from app.core.audit import AuditAction
from app.core.db import utcnow
from app.extensions import db
from app.networks.models import Membership

PROM_INTERVAL_MONTHS = 3


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


def record_audit(event_name: str, action: AuditAction, case_or_patient_id, *, actor: User, object_type: str,
            object_id: int | None, basis: str = "", reason: str = "") -> None:
    patient_id = case_or_patient_id.patient_id if isinstance(case_or_patient_id, Case) else case_or_patient_id
    audit.record(event_name, action, patient_id=patient_id, object_type=object_type, object_id=object_id,
                 user_id=actor.id, basis=basis, reason=reason)


# Every case event, after it is flushed: sent with (case, event=, actor=). The norms between the care lines
# (app.norms, above this package) start and meet their clocks on it.
case_event_added = Namespace().signal("case-event-added")


def add_event(case: Case, actor: User, kind: CaseEventKind, detail: str = "") -> CaseEvent:
    row = CaseEvent(network_id=case.network_id, case_id=case.id, occurred_at=utcnow(), actor_id=actor.id,
                    kind=kind, detail=detail[:300])
    db.session.add(row)
    db.session.flush()
    case_event_added.send(case, event=row, actor=actor)
    return row


def discipline_names(membership: Membership, locale: str = "nl") -> str:
    return ", ".join(d.name(locale) for d in membership.disciplines) or str(membership.role.label)



# --- the case -------------------------------------------------------------------------------------

def case_for_referral(referral_id: int) -> Case | None:
    return db.session.scalar(select(Case).where(Case.referral_id == referral_id))


def get_case(case_id: int) -> Case | None:
    return db.session.scalar(select(Case).where(Case.id == case_id))


# --- the intake versions (read; the workflow is in intake.py) ------------------------------------------

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
