"""A referral as a FHIR Task: the status machine mirrored (Task.status), our status as businessStatus,
the reason of a refusal as statusReason. Built only from a referral the caller reached through its door."""
from __future__ import annotations

from fhir.resources.R4B.task import Task
from sqlalchemy import select

from app.extensions import db
from app.referrals.models import Referral, ReferralEvent, ReferralStatus

S = ReferralStatus
STATUS_SYSTEM = "https://netwerkzorg.nl/fhir/CodeSystem/referral-status"
TASK_STATUS = {
    S.SUBMITTED: "requested", S.ACKNOWLEDGED: "received", S.INFO_REQUESTED: "on-hold", S.ACCEPTED: "accepted",
    S.INTAKE_PLANNED: "accepted", S.IN_CARE: "in-progress", S.CLOSED: "completed", S.DECLINED: "rejected",
    S.FORWARDED: "rejected", S.WITHDRAWN: "cancelled",
}
# The statuses whose reason (the coordinator's text) the GP reads on the portal too.
_REASONED = (S.DECLINED, S.FORWARDED, S.CLOSED)


def _reason(referral: Referral) -> str:
    if referral.status not in _REASONED:
        return ""
    return db.session.scalar(select(ReferralEvent.text).where(
        ReferralEvent.referral_id == referral.id, ReferralEvent.to_status == referral.status)
        .order_by(ReferralEvent.id.desc()).limit(1)) or ""


def task_for(referral: Referral) -> Task:
    data = {
        "resourceType": "Task", "id": str(referral.id), "status": TASK_STATUS[referral.status], "intent": "order",
        "identifier": [{"system": "https://netwerkzorg.nl/fhir/NamingSystem/referral-number",
                        "value": referral.number}],
        "basedOn": [{"reference": f"ServiceRequest/{referral.id}"}],
        "businessStatus": {"coding": [{"system": STATUS_SYSTEM, "code": referral.status.value}],
                           "text": referral.status.label},
        "authoredOn": referral.submitted_at.isoformat(),
        "lastModified": referral.updated_at.isoformat(),
        "owner": {"identifier": {"system": "https://netwerkzorg.nl/fhir/NamingSystem/network",
                                 "value": referral.network.slug}},
    }
    reason = _reason(referral)
    if reason:
        data["statusReason"] = {"text": reason}
    return Task.model_validate(data)
