"""Helpers for the FHIR API tests: registered clients, tokens, and a valid referral Bundle."""
from __future__ import annotations

import base64
import copy

from app.core.db import utcnow
from app.extensions import db
from app.fhir import clients
from app.fhir.referral_in import BSN_SYSTEM, DISTRESS_CODE, EXT, NETWORK_SYSTEM, TUMOUR_SYSTEM
from tests.conftest import make_gp

_EXTENSIONS = {"hospital": "Spaarne Gasthuis", "specialist": "Dr. De Vries", "treatment_phase": "after_treatment",
               "treatment_goal": "curative", "resuscitation": "no", "euthanasia": "no", "advance_directive": "unknown"}


def make_verified_gp(email="gp-api@example.nl", agb="01234567", **fields):
    return make_gp(email, agb, email_verified_at=utcnow(), **fields)


def register(user, scopes=clients.GP_SCOPES, network=None, name="HIS Praktijk"):
    client, secret = clients.register_client(registered_by=user, name=name, scopes=sorted(scopes), network=network)
    db.session.commit()
    return client, secret


def basic(client, secret) -> dict:
    raw = f"{client.client_id}:{secret}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def get_token(http, client, secret, scope: str | None = None) -> str:
    data = {"grant_type": "client_credentials", **({"scope": scope} if scope else {})}
    response = http.post("/fhir/R4/auth/token", data=data, headers=basic(client, secret), csrf=False)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["access_token"]


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


BUNDLE = {
    "resourceType": "Bundle", "type": "transaction",
    "entry": [
        {"fullUrl": "urn:uuid:patient-1", "request": {"method": "POST", "url": "Patient"}, "resource": {
            "resourceType": "Patient",
            "identifier": [{"system": BSN_SYSTEM, "value": "111222333"}],
            "name": [{"family": "Jansen", "given": ["Wim"]}], "gender": "male", "birthDate": "1971-03-14",
            "address": [{"line": ["Dorpsstraat 1"], "postalCode": "2012 AB", "city": "Haarlem"}],
            "telecom": [{"system": "phone", "value": "023-1234567"}]}},
        {"request": {"method": "POST", "url": "ServiceRequest"}, "resource": {
            "resourceType": "ServiceRequest", "status": "active", "intent": "order",
            "identifier": [{"system": "urn:oid:2.16.528.1.1007.3.3.1234567", "value": "his-req-42"}],
            "subject": {"reference": "urn:uuid:patient-1"},
            "performer": [{"identifier": {"system": NETWORK_SYSTEM, "value": "noord"}}],
            "reasonCode": [{"text": "Vermoeidheid en diarree na darmkanker"}], "priority": "routine",
            "extension": [{"url": EXT + name, "valueString": value} for name, value in _EXTENSIONS.items()]}},
        {"request": {"method": "POST", "url": "Condition"}, "resource": {
            "resourceType": "Condition", "subject": {"reference": "urn:uuid:patient-1"},
            "code": {"coding": [{"system": TUMOUR_SYSTEM, "code": "colorectal"}]}}},
        {"request": {"method": "POST", "url": "MedicationStatement"}, "resource": {
            "resourceType": "MedicationStatement", "status": "active", "subject": {"reference": "urn:uuid:patient-1"},
            "medicationCodeableConcept": {"text": "Loperamide"}, "dosage": [{"text": "2 mg zo nodig"}]}},
        {"request": {"method": "POST", "url": "Observation"}, "resource": {
            "resourceType": "Observation", "status": "final", "subject": {"reference": "urn:uuid:patient-1"},
            "code": {"coding": [{"system": "https://netwerkzorg.nl/fhir/CodeSystem/prom", "code": DISTRESS_CODE}]},
            "valueInteger": 7}},
        {"request": {"method": "POST", "url": "Consent"}, "resource": {
            "resourceType": "Consent", "status": "active",
            "scope": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope", "code": "treatment"}]},
            "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0"}]}],
            "patient": {"reference": "urn:uuid:patient-1"}}},
    ],
}


def bundle(**changes) -> dict:
    """A copy of the valid Bundle; changes: patient=..., service_request=... dicts merged in, drop=types."""
    data = copy.deepcopy(BUNDLE)
    drop = set(changes.pop("drop", ()))
    data["entry"] = [e for e in data["entry"] if e["resource"]["resourceType"] not in drop]
    for entry in data["entry"]:
        key = {"Patient": "patient", "ServiceRequest": "service_request"}.get(entry["resource"]["resourceType"])
        if key in changes:
            entry["resource"].update(changes[key])
    return data
