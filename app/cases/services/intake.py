"""The single intake: drafts prefilled from the referral, completion (which opens the case), correction versions."""
from __future__ import annotations

import copy
from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.auth.models import User
from app.cases.models import (
    Case,
    CaseEventKind,
    CaseStatus,
    CentralProviderChange,
    Intake,
    IntakeStatus,
    PromMeasurement,
)
from app.cases.services._base import (
    INTAKE_FIELDS,
    PROM_INTERVAL_MONTHS,
    CaseRuleBroken,
    add_event,
    case_for_referral,
    current_intake,
    draft_intake,
    record_audit,
)
from app.cases.services.letters import draft_letter
from app.core.audit import AuditAction
from app.core.dates import local_today, shift_months
from app.core.db import utcnow
from app.extensions import db
from app.networks.models import Membership
from app.patients.models import PatientQuestionnaire
from app.records import services as record_services
from app.records.models import SectionKey
from app.referrals import services as referral_services
from app.referrals.models import Referral, ReferralStatus


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


# What an earlier intake of the same patient told, taken over when the intake is an update (a new referral
# of a known patient): the story is not told again, only what changed.
CARRIED_OVER = ("story", "sharing_wishes", "goals", "practical", "partner_situation")


def patient_questionnaire(referral_id: int) -> PatientQuestionnaire | None:
    """The latest distress thermometer the patient filled in themselves (the portal) for this referral."""
    return db.session.scalar(select(PatientQuestionnaire).where(PatientQuestionnaire.referral_id == referral_id)
                             .order_by(PatientQuestionnaire.submitted_at.desc(), PatientQuestionnaire.id.desc())
                             .limit(1))


def _as_patient_reported(intake: Intake) -> PatientQuestionnaire | None:
    """The patient's own questionnaire when the intake kept its answers unchanged (the first measurement is then
    the patient's, dated the day they filled it in)."""
    own = patient_questionnaire(intake.referral_id)
    if own is None or own.score != intake.distress_score:
        return None
    return own if sorted(own.problems or []) == sorted(intake.distress_problems or []) else None


def previous_intake(referral: Referral) -> Intake | None:
    """The latest completed intake of the referral's patient made for another referral (None: a first intake)."""
    return db.session.scalar(select(Intake).where(
        Intake.patient_id == referral.patient_id, Intake.referral_id != referral.id,
        Intake.status == IntakeStatus.COMPLETED).order_by(Intake.completed_at.desc(), Intake.id.desc()).limit(1))


def prefill(referral: Referral) -> tuple[dict[str, Any], bool]:
    """The intake's first values and whether it is an update of a known patient's record.

    A first intake starts from the referral. For a patient the network already knows (a previous intake,
    or a shared record with a story), it starts from the previous intake and the record, with the new
    referral's complaints and score: the coordinator changes what is new."""
    values = prefill_from_referral(referral)
    if (own := patient_questionnaire(referral.id)) is not None:
        # The patient filled in the distress thermometer before the intake: the intake starts with it.
        values["distress_score"], values["distress_problems"] = own.score, list(own.problems or [])
    previous = previous_intake(referral)
    record = record_services.sections_of(referral.patient_id, (SectionKey.STORY, SectionKey.CARE_PLAN))
    story = record.get(SectionKey.STORY)
    if previous is None and story is None:
        return values, False
    if previous is not None:
        for name in CARRIED_OVER:
            value = getattr(previous, name)
            if value:
                values[name] = copy.deepcopy(value)
    # The shared record is the latest word (a member may have changed it since the intake).
    if story is not None:
        values["story"] = story.content.get("story") or values["story"]
        values["sharing_wishes"] = story.content.get("sharing_wishes") or values["sharing_wishes"]
    if (plan := record.get(SectionKey.CARE_PLAN)) is not None:
        values["goals"] = plan.content.get("goals") or values["goals"]
    return values, True


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
                    held_on=default_held_on(referral), **prefill(referral)[0])
    db.session.add(intake)
    db.session.flush()
    record_audit("intake.started", AuditAction.CREATE, referral.patient_id, actor=actor, object_type="intake",
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
    record_audit("intake.saved", AuditAction.UPDATE, intake.patient_id, actor=actor, object_type="intake",
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
    record_audit("intake.completed", AuditAction.UPDATE, intake.patient_id, actor=actor, object_type="intake",
            object_id=intake.id, basis="coordinator", reason=f"version {intake.version}")
    case = case_for_referral(intake.referral_id)
    if case is not None:
        add_event(case, actor, CaseEventKind.INTAKE_CORRECTED, f"v{intake.version}")
        record_services.seed_from_intake(intake, actor, case_id=case.id)
        return case
    referral = db.session.scalar(select(Referral).where(Referral.id == intake.referral_id))
    case = open_case(referral, actor, actor_membership, intake=intake)
    # The intake becomes the next version of the record's sections (the first, for a new patient).
    record_services.seed_from_intake(intake, actor, case_id=case.id)
    # The referral follows: accepted -> intake planned (today, if no date was set) -> in care.
    side = referral_services.Side.NETWORK
    if referral.status is ReferralStatus.ACCEPTED:
        referral_services.transition(referral, referral_services.Action.PLAN_INTAKE, actor=actor, side=side,
                                     intake_on=intake.held_on or local_today())
    referral_services.transition(referral, referral_services.Action.START_CARE, actor=actor, side=side)
    draft_letter(case, actor, kind="intake")
    return case


def open_case(referral: Referral, actor: User, actor_membership: Membership, *,
              intake: Intake | None = None) -> Case:
    """Open the referral's case with *actor_membership* as the first contact (the central care provider).

    After a completed *intake* (its distress score is the first measurement), or without one: the coordinator's
    decision "care without intake" (referral_services.transition opens the case then). The caller moves the referral.
    """
    now = utcnow()
    case = Case(network_id=referral.network_id, referral_id=referral.id, patient_id=referral.patient_id,
                status=CaseStatus.ACTIVE, opened_at=now, opened_by_id=actor.id,
                central_membership_id=actor_membership.id,
                next_prom_due_on=shift_months(now, PROM_INTERVAL_MONTHS).date())
    db.session.add(case)
    db.session.flush()
    if intake is not None:
        first_contact, how = _l("First contact after the intake"), _l("after the intake")
    else:
        first_contact, how = _l("First contact, care without intake"), _l("care without intake")
    db.session.add(CentralProviderChange(network_id=case.network_id, case_id=case.id,
                                         membership_id=actor_membership.id, changed_at=now, changed_by_id=actor.id,
                                         reason=str(first_contact)))
    add_event(case, actor, CaseEventKind.OPENED, str(how))
    add_event(case, actor, CaseEventKind.CENTRAL_CHANGED, actor.full_name)
    if intake is not None and intake.distress_score is not None:
        own = _as_patient_reported(intake)
        db.session.add(PromMeasurement(
            network_id=case.network_id, case_id=case.id, score=intake.distress_score,
            measured_on=local_today(own.submitted_at) if own is not None else intake.held_on or local_today(),
            problems=list(intake.distress_problems or []), recorded_by_id=own.submitted_by_id if own else actor.id,
            patient_reported=own is not None))
    record_audit("case.opened", AuditAction.CREATE, case, actor=actor, object_type="case", object_id=case.id,
            basis="coordinator", reason="" if intake is not None else "care without intake")
    return case


def correct_intake(case: Case, actor: User, reason: str) -> Intake:
    """A new draft version that starts as a copy of the current one."""
    if not (reason or "").strip():
        raise CaseRuleBroken(_l("Say why the intake is corrected."))
    if draft_intake(case.referral_id) is not None:
        raise CaseRuleBroken(_l("A correction is already being written; complete it first."))
    current = current_intake(case.referral_id)
    if current is None:
        raise CaseRuleBroken(_l("This case was opened without an intake; there is no intake to correct."))
    copy = {name: getattr(current, name) for name in INTAKE_FIELDS}
    intake = Intake(network_id=case.network_id, referral_id=case.referral_id, patient_id=case.patient_id,
                    version=current.version + 1, status=IntakeStatus.DRAFT, created_by_id=actor.id,
                    updated_at=utcnow(), correction_reason=reason.strip(), **copy)
    db.session.add(intake)
    db.session.flush()
    record_audit("intake.correction_started", AuditAction.CREATE, case, actor=actor, object_type="intake",
            object_id=intake.id, basis="coordinator", reason=reason.strip())
    return intake


@referral_services.care_started_without_intake.connect
def _open_case_for_care_without_intake(referral: Referral, *, actor: User, membership: Membership) -> None:
    open_case(referral, actor, membership)
