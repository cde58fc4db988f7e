"""FHIR routes. Every answer is a validated fhir.resources model; every refusal an OperationOutcome.

The bearer token names the client; the client decides the door: a network's system reads inside its network
(network_context + the tenant scope), a GP's system through services.referral_for_referrer as that GP.
"""
from __future__ import annotations

from contextlib import nullcontext

from flask import request, url_for
from werkzeug.exceptions import HTTPException

from app.core.audit import patient_data
from app.core.tenancy import network_context
from app.extensions import csrf
from app.fhir import bp, clients, referral_in
from app.fhir.capability import capability_statement
from app.fhir.models import ApiClient
from app.fhir.oauth import ApiAuthError, authenticate, server
from app.fhir.outcome import FhirError, error_response, parse_json, resource_response
from app.fhir.task import task_for
from app.gp_portal.forms import ReferralForm, submission_from_form
from app.referrals import services
from app.referrals.models import Referral, ReferralStatus

csrf.exempt(bp)  # no cookies, no session: the bearer token is the credential


@bp.errorhandler(FhirError)
def _fhir_error(error: FhirError):
    return error_response(error)


@bp.errorhandler(ApiAuthError)
def _auth_error(error: ApiAuthError):
    code = "forbidden" if error.status == 403 else "login"
    text = "The token lacks the scope for this request." if error.status == 403 else (
        "A valid, unexpired bearer token of an active client is needed.")
    return error_response(FhirError(error.status, [(code, text, None)]))


@bp.errorhandler(HTTPException)
def _http_error(error: HTTPException):
    code = "not-found" if error.code == 404 else "exception"
    return error_response(FhirError(error.code or 500, [(code, error.description or error.name, None)]))


@bp.route("/metadata")
def metadata():
    return resource_response(capability_statement(
        token_url=url_for(".token", _external=True), revoke_url=url_for(".revoke", _external=True)))


@bp.route("/auth/token", methods=["POST"])
def token():
    return server.create_token_response()


@bp.route("/auth/revoke", methods=["POST"])
def revoke():
    return server.create_endpoint_response("revocation")


# --- referral in -------------------------------------------------------------------------------

def _referring_gp(client: ApiClient):
    """The GP a client sends referrals for; FhirError 403 for a network's system or a GP who may not refer."""
    owner = client.owner
    if owner is None or not services.is_verified_referrer(owner):
        raise FhirError(403, [("forbidden", "Only the system of a verified GP sends referrals.", None)])
    return owner


def _create_referral(expected: str):
    client = authenticate(clients.SCOPE_REFERRAL_WRITE).client
    gp = _referring_gp(client)
    data = parse_json(request.get_data())
    if isinstance(data, dict) and data.get("resourceType") != expected:
        raise FhirError(400, [("structure", f"This endpoint takes a {expected}.", "resourceType")])
    by_type = referral_in.parse(data)
    service_request = by_type["ServiceRequest"][0]
    key = referral_in.submission_key(client.id, service_request)
    network = services.referable_network(referral_in.network_slug(service_request))
    if network is None:
        raise FhirError(404, [("not-found", "Unknown network.", "ServiceRequest.performer.identifier.value")])
    with network_context(network.id):
        existing = services.find_by_key(gp, key)
        if existing is not None and existing.status is not ReferralStatus.DRAFT:
            return _created(existing, expected, status=200)  # a retry: nothing is stored twice
        form = ReferralForm(formdata=referral_in.form_input(by_type), meta={"csrf": False}, gps=[gp.gp_profile],
                            disciplines=[], locale="nl", choose_gp=False)
        if not form.validate():
            raise FhirError(422, referral_in.form_errors(form))
        fields, medications, discipline_ids = submission_from_form(form)
        referral, created = services.submit(user=gp, gp_profile=gp.gp_profile, submission_key=key, fields=fields,
                                            medications=medications, discipline_ids=discipline_ids)
        return _created(referral, expected, status=201 if created else 200)


def _created(referral: Referral, expected: str, *, status: int):
    from app.fhir.capability import created_response_resource

    resource = created_response_resource(referral, bundle=expected == "Bundle")
    return resource_response(resource, status, headers={"Location": f"Task/{referral.id}"})


@bp.route("/", methods=["POST"])
@patient_data
def transaction():
    return _create_referral("Bundle")


@bp.route("/ServiceRequest", methods=["POST"])
@patient_data
def create_service_request():
    return _create_referral("ServiceRequest")


# --- reads -------------------------------------------------------------------------------------

def _scope_of(client: ApiClient):
    """The tenant context of a client's reads: its network, or none (the GP's door reads across networks)."""
    return network_context(client.network_id) if client.network_id is not None else nullcontext()


def reach_referral(client: ApiClient, referral_id: int) -> Referral:
    """The referral through the client's door, or FhirError 404 (another network's, or not the GP's own)."""
    if client.network_id is not None:
        referral = services.get_for_network(referral_id)  # tenant-scoped: 404 for any other network's
    else:
        owner = client.owner
        referral = services.referral_for_referrer(owner, referral_id) if owner and owner.active else None
        if referral is None or referral.status is ReferralStatus.DRAFT:
            raise FhirError(404, [("not-found", "No such Task.", None)])
    return referral


@bp.route("/Task/<int:referral_id>")
@patient_data
def read_task(referral_id: int):
    client = authenticate(clients.SCOPE_TASK_READ).client
    with _scope_of(client):
        referral = reach_referral(client, referral_id)
        with services.in_network(referral):
            services.log_read(referral, basis="api client")
            return resource_response(task_for(referral))
