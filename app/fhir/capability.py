"""The CapabilityStatement (exactly what the routes in views.py support) and the answers to a created
referral."""
from __future__ import annotations

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.servicerequest import ServiceRequest

from app.fhir.task import task_for
from app.referrals.models import Referral

SOFTWARE_VERSION = "0.2.0"
# The search parameter of the case reads: the referral's Task (task=Task/<id>).
TASK_PARAM = {"name": "task", "type": "reference",
              "documentation": "The referral's Task (Task/<id>): the letters, care team or consents of its case."}


def capability_statement(*, token_url: str, revoke_url: str) -> CapabilityStatement:
    return CapabilityStatement.model_validate({
        "resourceType": "CapabilityStatement", "status": "active", "date": "2026-12-06", "kind": "instance",
        "fhirVersion": "4.3.0", "format": ["application/fhir+json"],
        "software": {"name": "Netwerkzorg", "version": SOFTWARE_VERSION},
        "implementation": {"description": "Netwerkzorg FHIR API for GP and hospital systems"},
        "rest": [{
            "mode": "server",
            "security": {
                "service": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                                         "code": "SMART-on-FHIR"}]}],
                "description": "OAuth 2.0 client credentials (client_secret_basic or client_secret_post); "
                               "bearer tokens expire; revoking a client ends its tokens at once.",
                "extension": [{"url": "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris",
                               "extension": [{"url": "token", "valueUri": token_url},
                                             {"url": "revoke", "valueUri": revoke_url}]}],
            },
            "resource": [
                {"type": "ServiceRequest", "interaction": [{"code": "create"}]},
                {"type": "Task", "interaction": [{"code": "read"}]},
                {"type": "DocumentReference", "interaction": [{"code": "read"}, {"code": "search-type"}],
                 "searchParam": [TASK_PARAM]},
                {"type": "Binary", "interaction": [{"code": "read"}]},
                {"type": "Communication", "interaction": [{"code": "search-type"}], "searchParam": [TASK_PARAM]},
                {"type": "CareTeam", "interaction": [{"code": "search-type"}], "searchParam": [TASK_PARAM]},
                {"type": "Consent", "interaction": [{"code": "search-type"}], "searchParam": [TASK_PARAM]},
                {"type": "Composition", "interaction": [{"code": "search-type"}], "searchParam": [TASK_PARAM]},
                {"type": "Subscription", "interaction": [{"code": "create"}, {"code": "read"}, {"code": "delete"}],
                 "documentation": "rest-hook with an empty payload, on Task or Task?_id=<id>: a POST without body "
                                  "and the headers X-Subscription and X-Task; then read the Task."},
            ],
            "interaction": [{"code": "transaction"}],
        }],
    })


def created_response_resource(referral: Referral, *, bundle: bool):
    """What a created (or retried) referral answers: the ServiceRequest, or a transaction-response Bundle
    with the ServiceRequest and its Task."""
    request = ServiceRequest.model_validate({
        "resourceType": "ServiceRequest", "id": str(referral.id), "status": "active", "intent": "order",
        "subject": {"reference": f"Patient/{referral.patient_id}"},
        "identifier": [{"system": "https://netwerkzorg.nl/fhir/NamingSystem/referral-number",
                        "value": referral.number}]})
    if not bundle:
        return request
    task = task_for(referral)
    return Bundle.model_validate({"resourceType": "Bundle", "type": "transaction-response", "entry": [
        {"resource": request.model_dump(exclude_none=True),
         "response": {"status": "201 Created", "location": f"ServiceRequest/{referral.id}"}},
        {"resource": task.model_dump(exclude_none=True),
         "response": {"status": "201 Created", "location": f"Task/{referral.id}"}}]})
