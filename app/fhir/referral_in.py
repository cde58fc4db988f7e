"""Referral in: a ServiceRequest (resources contained) or a transaction Bundle becomes the web form's input,
validated by the web form itself (ReferralForm, CSRF off: the bearer token is the credential) and submitted
by the same service (app.referrals.services.submit: idempotency, consent confirmation, notifications)."""
from __future__ import annotations

import base64
import hashlib
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle
from pydantic import ValidationError
from werkzeug.datastructures import MultiDict

from app.fhir.outcome import FhirError

BSN_SYSTEM = "http://fhir.nl/fhir/NamingSystem/bsn"
NETWORK_SYSTEM = "https://netwerkzorg.nl/fhir/NamingSystem/network"
EXT = "https://netwerkzorg.nl/fhir/StructureDefinition/"
TUMOUR_SYSTEM = "https://netwerkzorg.nl/fhir/CodeSystem/tumour-type"
DISTRESS_CODE = "distress-thermometer"
# ServiceRequest extensions (valueString or valueCode) carrying form fields without a natural FHIR element.
EXTENSION_FIELDS = ("hospital", "specialist", "treatment_phase", "treatment_goal", "resuscitation",
                    "resuscitation_text", "euthanasia", "euthanasia_text", "advance_directive",
                    "advance_directive_text", "social_situation")
PRIORITY = {"routine": "routine", "urgent": "soon", "asap": "urgent", "stat": "urgent"}
# Where in the FHIR input each form field comes from: named in the OperationOutcome of a refused field.
ELEMENT = {
    "given_name": "Patient.name.given", "family_name": "Patient.name.family", "date_of_birth": "Patient.birthDate",
    "sex": "Patient.gender", "bsn": f"Patient.identifier.where(system='{BSN_SYSTEM}').value",
    "address": "Patient.address.line", "postcode": "Patient.address.postalCode", "city": "Patient.address.city",
    "phone": "Patient.telecom.where(system='phone').value", "email": "Patient.telecom.where(system='email').value",
    "tumour_type": "Condition.code", "question": "ServiceRequest.reasonCode.text", "history": "ServiceRequest.note",
    "urgency": "ServiceRequest.priority", "distress_score": "Observation.valueInteger",
    "medication_list_attached": "MedicationStatement", "medications": "MedicationStatement",
    "consent": "Consent", **{name: f"ServiceRequest.extension('{EXT}{name}')" for name in EXTENSION_FIELDS},
}


def parse(data: Any) -> dict[str, list]:
    """The resources of a ServiceRequest (with contained ones) or a transaction Bundle, by type.
    Raises FhirError 400 naming the element that does not parse."""
    if not isinstance(data, dict) or data.get("resourceType") not in ("Bundle", "ServiceRequest"):
        raise FhirError(400, [("structure", "Send a ServiceRequest or a transaction Bundle.", "resourceType")])
    kind = data["resourceType"]
    try:
        root = (Bundle if kind == "Bundle" else get_fhir_model_class("ServiceRequest")).model_validate(data)
    except ValidationError as exc:
        raise FhirError(400, [("structure", error["msg"], ".".join([kind, *map(str, error["loc"])]))
                              for error in exc.errors()[:10]]) from None
    if kind == "Bundle":
        if root.type != "transaction":
            raise FhirError(400, [("value", "The Bundle must be a transaction.", "Bundle.type")])
        resources = [entry.resource for entry in root.entry or [] if entry.resource is not None]
    else:
        resources = [root, *(root.contained or [])]
    by_type: dict[str, list] = {}
    for resource in resources:
        by_type.setdefault(resource.get_resource_type(), []).append(resource)
    for required in ("ServiceRequest", "Patient"):
        if len(by_type.get(required, [])) != 1:
            raise FhirError(400, [("required", f"Exactly one {required} is needed.", required)])
    return by_type


def submission_key(client_id: int, service_request) -> str:
    """The web form's submission key, derived from the request's identifier (the idempotency key) and the
    client, so one client's retry finds its referral and two clients never share a key."""
    identifier = (service_request.identifier or [None])[0]
    if identifier is None or not identifier.value:
        raise FhirError(400, [("required", "The ServiceRequest needs an identifier (used to recognise a retry).",
                               "ServiceRequest.identifier")])
    digest = hashlib.sha256(f"{client_id}|{identifier.system or ''}|{identifier.value}".encode()).digest()
    return base64.urlsafe_b64encode(digest).decode()[:43]


def network_slug(service_request) -> str:
    for performer in service_request.performer or []:
        if performer.identifier and performer.identifier.system == NETWORK_SYSTEM and performer.identifier.value:
            return performer.identifier.value[:60]
    raise FhirError(400, [("required", "Name the network as performer.identifier with system "
                           f"{NETWORK_SYSTEM}.", "ServiceRequest.performer")])


def _first(items):
    return (items or [None])[0]


def _patient_fields(patient) -> dict[str, list[str]]:
    name = _first(patient.name)
    address = _first(patient.address)
    telecom = {t.system: t.value for t in patient.telecom or [] if t.value}
    bsn = next((i.value for i in patient.identifier or [] if i.system == BSN_SYSTEM), None)
    fields = {
        "given_name": " ".join(name.given or []) if name else "", "family_name": (name.family or "") if name else "",
        "date_of_birth": patient.birthDate.isoformat() if patient.birthDate else "", "sex": patient.gender or "",
        "bsn": bsn or "", "address": " ".join(address.line or []) if address else "",
        "postcode": (address.postalCode or "") if address else "", "city": (address.city or "") if address else "",
        "phone": telecom.get("phone", ""), "email": telecom.get("email", ""),
    }
    language = _first(patient.communication)
    coding = _first(language.language.coding) if language else None
    fields["preferred_language"] = coding.code if coding and coding.code else "nl"
    return {key: [value] for key, value in fields.items()}


def _request_fields(request) -> dict[str, list[str]]:
    extensions = {ext.url.removeprefix(EXT): ext.valueString or ext.valueCode or "" for ext in request.extension or []
                  if ext.url and ext.url.startswith(EXT)}
    reason = _first(request.reasonCode)
    fields = {name: [extensions.get(name, "")] for name in EXTENSION_FIELDS}
    fields["question"] = [(reason.text or "") if reason else ""]
    fields["history"] = ["\n".join(note.text for note in request.note or [] if note.text)]
    fields["urgency"] = [PRIORITY.get(request.priority or "routine", "")]
    return fields


def _clinical_fields(by_type: dict[str, list]) -> dict[str, list[str]]:
    fields: dict[str, list[str]] = {}
    condition = _first(by_type.get("Condition"))
    coding = _first([c for c in (condition.code.coding or []) if c.system == TUMOUR_SYSTEM]) if (
        condition and condition.code) else None
    fields["tumour_type"] = [coding.code if coding else ""]
    for position, statement in enumerate(by_type.get("MedicationStatement", [])):
        concept = statement.medicationCodeableConcept
        dosage = _first(statement.dosage)
        period = statement.effectivePeriod
        fields[f"medications-{position}-name"] = [(concept.text or "") if concept else ""]
        fields[f"medications-{position}-dose"] = [(dosage.text or "") if dosage else ""]
        fields[f"medications-{position}-since"] = [period.start.isoformat() if period and period.start else ""]
    for observation in by_type.get("Observation", []):
        codes = {c.code for c in (observation.code.coding or [])} if observation.code else set()
        if DISTRESS_CODE in codes and observation.valueInteger is not None:
            fields["distress_score"] = [str(observation.valueInteger)]
    # The referrer's confirmation of the patient's consent: an active Consent resource in the request.
    if any(consent.status == "active" for consent in by_type.get("Consent", [])):
        fields["consent"] = ["y"]
    return fields


def form_input(by_type: dict[str, list]) -> MultiDict:
    """The web form's input (field name -> values) from the parsed resources."""
    data = {**_patient_fields(by_type["Patient"][0]), **_request_fields(by_type["ServiceRequest"][0]),
            **_clinical_fields(by_type)}
    return MultiDict([(key, value) for key, values in data.items() for value in values])


def form_errors(form) -> list[tuple[str, str, str | None]]:
    """The form's refusals as OperationOutcome issues naming the FHIR element."""
    issues = []
    for name, messages in form.errors.items():
        for message in messages if isinstance(messages, list) else [messages]:
            # A medication row's errors come as {subfield: [messages]}: name the resource, give each message.
            texts = [str(m) for ms in message.values() for m in ms] if isinstance(message, dict) else [str(message)]
            issues.extend(("invalid", text, ELEMENT.get(name, name)) for text in texts)
    return issues
