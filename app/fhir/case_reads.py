"""What a connected system reads of the case behind a referral, as FHIR R4 resources built with fhir.resources:

- the letters sent to the GP: a DocumentReference per letter (the PDF as Binary) and a Communication that says it
  was sent to the GP; for the GP's own system only (the GP portal shows them to the GP, nobody else);
- the care team: a CareTeam with what the GP portal shows (the central care provider by name and discipline,
  the others by discipline only), for the GP's system and the network's;
- the shared record: a Composition with the current sections that a live consent of the case lets the network
  share (app.cases.access.system_access), for the network's own system only;
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
from fhir.resources.R4B.composition import Composition
from fhir.resources.R4B.consent import Consent as FhirConsent
from fhir.resources.R4B.documentreference import DocumentReference
from flask import url_for
from markupsafe import escape

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


# --- the shared record, as far as the patient's consent lets the network share it --------------------------------

SECTION_SYSTEM = "https://netwerkzorg.nl/fhir/CodeSystem/record-section"


def _shown(spec_field, value) -> str:
    """A field's value in words: a choice's label, a list's labels, rows as "a, b; c, d"."""
    if spec_field.kind == "choice":
        return str(dict(spec_field.choices or ()).get(value, value))
    if spec_field.kind == "items":
        labels = dict(spec_field.choices or ())
        return ", ".join(str(labels.get(item, item)) for item in value or [])
    if spec_field.kind == "rows":
        return "; ".join(", ".join(str(row.get(f.name, "")) for f in spec_field.row_fields or () if row.get(f.name))
                         for row in value or [] if isinstance(row, dict))
    return str(value)


def _narrative(spec, content: dict) -> str:
    lines = [f"<p><b>{escape(str(f.label))}</b>: {escape(_shown(f, content.get(f.name)))}</p>"
             for f in spec.fields if content.get(f.name) not in (None, "", [], {})]
    return '<div xmlns="http://www.w3.org/1999/xhtml">' + ("".join(lines) or "<p>-</p>") + "</div>"


def composition(case: Case, referral: Referral, view) -> Composition:
    """The shared record's current sections that *view* (app.cases.access.system_access) allows, in the record's
    order; a section outside it is left out, title and all."""
    from app.records import services as record_services
    from app.records.models import SectionKey, section_spec

    keys = [key for key in SectionKey if view.may_see_section(key)]
    found = record_services.sections_of(case.patient_id, keys) if keys else {}
    sections, latest = [], case.opened_at
    for key in keys:
        row = found.get(key)
        if row is None:
            continue
        spec = section_spec(key)
        written = getattr(row, "updated_at", None) or getattr(row, "written_at", None)
        if written is not None and written > latest:
            latest = written
        sections.append({"title": str(spec.title), "code": {"coding": [{"system": SECTION_SYSTEM, "code": key.value}]},
                         "text": {"status": "generated", "div": _narrative(spec, row.content or {})}})
    return Composition.model_validate({
        "resourceType": "Composition", "id": str(case.id), "status": "final",
        "type": {"coding": [{"system": "http://loinc.org", "code": "34133-9"}], "text": "Gedeeld dossier"},
        "subject": {"reference": f"Patient/{referral.patient_id}"}, "date": latest.isoformat(),
        "author": [{"display": referral.network.name}], "title": f"Gedeeld dossier {referral.number}",
        **({"section": sections} if sections else {})})
