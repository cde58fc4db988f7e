"""What a connected system reads of the case behind a referral, as FHIR R4 resources built with fhir.resources:

- the letters sent to the GP: a DocumentReference per letter (the PDF as Binary) and a Communication that says it
  was sent to the GP; for the GP's own system only (the GP portal shows them to the GP, nobody else);
- the care team: a CareTeam with what the GP portal shows (the central care provider by name and discipline,
  the others by discipline only), for the GP's system and the network's;
- the consents: a Consent per recorded consent with a provision per named member and the parts it covers,
  "inactive" once withdrawn (the next request shows it); for the network's own system only.

Every function takes a case reached through the client's door (app.fhir.views.reach_referral), inside the
referral's network.
"""
from __future__ import annotations

import base64

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.careteam import CareTeam
from fhir.resources.R4B.communication import Communication
from fhir.resources.R4B.consent import Consent as FhirConsent
from fhir.resources.R4B.documentreference import DocumentReference
from flask import url_for

from app.cases import services as case_services
from app.cases.models import Case, Consent, Letter, TeamStatus
from app.core.db import utcnow
from app.gp_portal.services import case as gp_case
from app.referrals.models import Referral

AGB_SYSTEM = "http://fhir.nl/fhir/NamingSystem/agb-z"
LETTER_TYPE_SYSTEM = "https://netwerkzorg.nl/fhir/CodeSystem/letter-kind"
PART_SYSTEM = "https://netwerkzorg.nl/fhir/CodeSystem/consent-part"
DISCIPLINE_SYSTEM = "https://netwerkzorg.nl/fhir/CodeSystem/discipline"


def _reference_to_task(referral: Referral) -> dict:
    return {"reference": f"Task/{referral.id}"}


def document_reference(letter: Letter, referral: Referral) -> DocumentReference:
    attachment = {"contentType": "application/pdf", "title": f"{referral.number}-{letter.kind.value}-{letter.id}.pdf",
                  "creation": letter.sent_at.isoformat()}
    if letter.pdf_storage:
        attachment["url"] = url_for("fhir.read_binary", letter_id=letter.id, _external=True)
    contents = [{"attachment": attachment}]
    # The text as sent, also while the PDF is being made (the portal shows it the same way).
    contents.append({"attachment": {"contentType": "text/plain; charset=utf-8",
                                    "data": base64.b64encode(letter.body.encode()).decode(),
                                    "title": letter.kind.label}})
    return DocumentReference.model_validate({
        "resourceType": "DocumentReference", "id": str(letter.id), "status": "current",
        "type": {"coding": [{"system": LETTER_TYPE_SYSTEM, "code": letter.kind.value}], "text": letter.kind.label},
        "subject": {"reference": f"Patient/{referral.patient_id}"}, "date": letter.sent_at.isoformat(),
        "description": letter.kind.label, "content": contents,
        "context": {"related": [_reference_to_task(referral)]}})


def communication(letter: Letter, referral: Referral) -> Communication:
    recipient = referral.gp_profile
    return Communication.model_validate({
        "resourceType": "Communication", "id": str(letter.id), "status": "completed",
        "basedOn": [{"reference": f"ServiceRequest/{referral.id}"}], "partOf": [_reference_to_task(referral)],
        "subject": {"reference": f"Patient/{referral.patient_id}"}, "sent": letter.sent_at.isoformat(),
        "recipient": [{"identifier": {"system": AGB_SYSTEM, "value": recipient.agb_code}}] if recipient else [],
        "payload": [{"contentReference": {"reference": f"DocumentReference/{letter.id}"}}]})


def base_url() -> str:
    """The API's base URL, ending in a slash (as a resource's fullUrl starts)."""
    return url_for("fhir.metadata", _external=True).removesuffix("metadata")


def searchset(resources: list, self_url: str) -> Bundle:
    return Bundle.model_validate({
        "resourceType": "Bundle", "type": "searchset", "total": len(resources),
        "link": [{"relation": "self", "url": self_url}],
        "entry": [{"fullUrl": f"{base_url()}{r.get_resource_type()}/{r.id}",
                   "resource": r.model_dump(exclude_none=True), "search": {"mode": "match"}} for r in resources]})


def letters_of(case: Case) -> list[Letter]:
    return gp_case.sent_letters(case)


def care_team(case: Case, referral: Referral) -> CareTeam:
    """The team as the GP portal shows it: the central care provider named, the others by discipline."""
    participants = []
    central_id = case.central_membership_id
    for row in case_services.team(case):
        if row.status is not TeamStatus.ACTIVE:
            continue
        disciplines = row.membership.disciplines
        role = [{"coding": [{"system": DISCIPLINE_SYSTEM, "code": d.code}], "text": d.name("nl")}
                for d in disciplines] or [{"text": str(row.membership.role.label)}]
        member = {"display": row.membership.user.full_name} if row.membership_id == central_id else {
            "display": ", ".join(d.name("nl") for d in disciplines) or str(row.membership.role.label)}
        participants.append({"role": role, "member": member, "period": {"start": row.accepted_at.isoformat()}
                             if row.accepted_at else None})
    if case.central is not None and all(p["member"].get("display") != case.central.user.full_name
                                        for p in participants):
        participants.insert(0, {"role": [{"text": "Centrale zorgverlener"}],
                                "member": {"display": case.central.user.full_name}})
    for participant in participants:
        if participant.get("period") is None:
            participant.pop("period", None)
    return CareTeam.model_validate({
        "resourceType": "CareTeam", "id": str(case.id), "status": "active" if case.closed_at is None else "inactive",
        "subject": {"reference": f"Patient/{referral.patient_id}"},
        "name": f"Zorgteam {referral.number}", "participant": participants,
        "period": {"start": case.opened_at.isoformat(), **({"end": case.closed_at.isoformat()}
                                                           if case.closed_at else {})}})


def consent_resource(consent: Consent, referral: Referral) -> FhirConsent:
    """One recorded consent: who it names (a provision per member), the parts it covers, until when; withdrawn is
    "inactive" with the moment of withdrawal."""
    now = utcnow()
    active = consent.withdrawn_at is None and (consent.valid_until is None
                                               or consent.valid_until >= now.date())
    period = {"start": consent.obtained_at.isoformat()}
    if consent.withdrawn_at is not None:
        period["end"] = consent.withdrawn_at.isoformat()
    elif consent.valid_until is not None:
        period["end"] = consent.valid_until.isoformat()
    parts = [{"system": PART_SYSTEM, "code": part.value} for part in consent.parts]
    return FhirConsent.model_validate({
        "resourceType": "Consent", "id": str(consent.id), "status": "active" if active else "inactive",
        "scope": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope",
                              "code": "patient-privacy"}]},
        "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0"}]}],
        "patient": {"reference": f"Patient/{referral.patient_id}"}, "dateTime": consent.obtained_at.isoformat(),
        "policyRule": {"text": consent.purpose[:500]},
        "provision": {"type": "permit", "period": period, "provision": [
            {"type": "permit", "actor": [{"role": {"coding": [{
                "system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "code": "IRCP"}]},
                "reference": {"display": member.membership.user.full_name}}],
             "class": parts} for member in consent.members]}})
