"""FHIR routes. Every answer is a validated fhir.resources model; every refusal an OperationOutcome.

The bearer token names the client; the client decides the door: a network's system reads inside its network
(network_context + the tenant scope), a GP's system through services.referral_for_referrer as that GP.
"""
from __future__ import annotations

from contextlib import contextmanager, nullcontext

from flask import Response, request, url_for
from sqlalchemy import select
from werkzeug.exceptions import HTTPException

from app.cases import services as case_services
from app.cases.access import system_access
from app.cases.models import Case, Letter
from app.core import audit
from app.core.audit import AuditAction, patient_data
from app.core.tenancy import all_networks, network_context
from app.extensions import csrf, db
from app.fhir import bp, case_reads, clients, referral_in, subscriptions
from app.fhir.capability import capability_statement
from app.fhir.models import ApiClient
from app.fhir.oauth import ApiAuthError, authenticate, server
from app.fhir.outcome import FhirError, error_response, parse_json, resource_response
from app.fhir.task import task_for
from app.gp_portal.forms import ReferralForm, submission_from_form
from app.gp_portal.services import case as gp_case
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


# --- the case behind a referral: letters, care team, consents ------------------------------------------------------

def _task_parameter() -> int:
    """The search parameter `task` (Task/<id> or <id>): the referral whose case is read; FhirError 400 otherwise."""
    raw = (request.args.get("task") or "").removeprefix("Task/")
    if not raw.isdigit() or not 1 <= int(raw) <= 2**31 - 1:
        raise FhirError(400, [("required", "Search with task=Task/<id> (the referral's Task).", "task")])
    return int(raw)


@contextmanager
def _reached_case(client: ApiClient, referral_id: int):
    """(referral, case) through the client's door, inside the referral's network; FhirError 404 when the referral
    is not the client's to read or has no case (yet)."""
    with _scope_of(client):
        referral = reach_referral(client, referral_id)
        with services.in_network(referral):
            case = case_services.case_for_referral(referral.id)
            if case is None:
                raise FhirError(404, [("not-found", "This referral has no case (yet).", "task")])
            yield referral, case


def _gp_system(client: ApiClient) -> None:
    if client.network_id is not None:
        raise FhirError(403, [("forbidden", "The letters are the GP's: only the GP's own system reads them.", None)])


def _gp_letter_client():
    """The letters are the GP's: a token with the letter scope, of a GP's own system."""
    client = authenticate(clients.SCOPE_LETTER_READ).client
    _gp_system(client)
    return client


def _letters_searchset(client, as_resource):
    """The sent letters of the case the `task` parameter names, each as *as_resource(letter, referral)*."""
    with _reached_case(client, _task_parameter()) as (referral, case):
        found = case_reads.letters_of(case)
        _audit_read("letter.listed", referral, "case", case.id)
        return resource_response(case_reads.searchset([as_resource(letter, referral) for letter in found],
                                                      request.url))


def _audit_read(event: str, referral: Referral, object_type: str, object_id: int, action=AuditAction.READ) -> None:
    audit.record(event, action, patient_id=referral.patient_id, object_type=object_type, object_id=object_id,
                 basis="api client", network_id=referral.network_id)


@bp.route("/DocumentReference")
@patient_data
def search_letters():
    """The letters sent to the GP about one referral: a searchset of DocumentReference."""
    return _letters_searchset(_gp_letter_client(), case_reads.document_reference)


def _letter_referral(letter_id: int) -> int:
    """The referral a SENT letter belongs to; FhirError 404 for an unknown or unsent letter. Across networks on
    purpose (a GP's system has no network): the id only; the client's door decides next."""
    referral_id = db.session.scalar(all_networks(
        select(Case.referral_id).join(Letter, (Letter.case_id == Case.id) & (Letter.network_id == Case.network_id))
        .where(Letter.id == letter_id, Letter.sent_at.is_not(None))))
    if referral_id is None:
        raise FhirError(404, [("not-found", "No such DocumentReference.", None)])
    return referral_id


@bp.route("/DocumentReference/<int:letter_id>")
@patient_data
def read_letter(letter_id: int):
    client = _gp_letter_client()
    with _reached_case(client, _letter_referral(letter_id)) as (referral, case):
        letter = gp_case.sent_letter(case, letter_id)
        _audit_read("letter.viewed", referral, "letter", letter.id)
        return resource_response(case_reads.document_reference(letter, referral))


@bp.route("/Binary/<int:letter_id>")
@patient_data
def read_binary(letter_id: int):
    """The stored PDF of a sent letter (404 while the job makes it: the DocumentReference has no url until then)."""
    client = _gp_letter_client()
    with _reached_case(client, _letter_referral(letter_id)) as (referral, case):
        letter = gp_case.sent_letter(case, letter_id)
        path = letter.stored_file_path() if letter.pdf_storage else None
        if path is None or not path.is_file():
            raise FhirError(404, [("not-found", "The PDF is being made; read the DocumentReference's text.", None)])
        _audit_read("letter.downloaded", referral, "letter", letter.id, AuditAction.EXPORT)
        response = Response(path.read_bytes(), mimetype="application/pdf")
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response


@bp.route("/Communication")
@patient_data
def search_communications():
    """That each letter was sent to the GP (sent, recipient by AGB, payload: the DocumentReference)."""
    return _letters_searchset(_gp_letter_client(), case_reads.communication)


@bp.route("/CareTeam")
@patient_data
def search_care_team():
    client = authenticate(clients.SCOPE_CARETEAM_READ).client
    with _reached_case(client, _task_parameter()) as (referral, case):
        _audit_read("case.team_viewed", referral, "case", case.id)
        return resource_response(case_reads.searchset([case_reads.care_team(case, referral)], request.url))


@bp.route("/Consent")
@patient_data
def search_consents():
    """The case's consents, for the network's own system (withdrawn: "inactive", on the next request)."""
    client = authenticate(clients.SCOPE_CONSENT_READ).client
    if client.network_id is None:
        raise FhirError(403, [("forbidden", "The consents are read by the network's own system.", None)])
    with _reached_case(client, _task_parameter()) as (referral, case):
        found = case_services.consents_of(case)
        _audit_read("consent.listed", referral, "case", case.id)
        return resource_response(case_reads.searchset(
            [case_reads.consent_resource(consent, referral) for consent in found], request.url))


# --- Subscriptions: hear of a Task's change instead of polling -------------------------------------------------------

@bp.route("/Subscription", methods=["POST"])
def create_subscription():
    client = authenticate(clients.SCOPE_TASK_READ).client
    criteria, task_id, endpoint, header, reason = subscriptions.parse(parse_json(request.get_data()))
    if task_id is not None:
        with _scope_of(client):
            reach_referral(client, task_id)  # 404 unless the client may read that Task
    row = subscriptions.create(client, criteria=criteria, task_id=task_id, endpoint=endpoint, header=header,
                               reason=reason)
    db.session.commit()
    return resource_response(subscriptions.resource(row), 201, headers={"Location": f"Subscription/{row.id}"})


@bp.route("/Subscription/<int:subscription_id>", methods=["GET", "DELETE"])
def subscription(subscription_id: int):
    """Read one's own Subscription (status, last error), or end it (DELETE)."""
    client = authenticate(clients.SCOPE_TASK_READ).client
    row = subscriptions.own(client, subscription_id)
    if request.method == "DELETE":
        subscriptions.end(row)
        db.session.commit()
    return resource_response(subscriptions.resource(row))


@bp.route("/Composition")
@patient_data
def search_record():
    """The shared record of the referral's case for the network's own system: only the sections a live consent of
    the case lets the network share (the door: app.cases.access.system_access); a withdrawal shows on the next
    request."""
    client = authenticate(clients.SCOPE_RECORD_READ).client
    if client.network_id is None:
        raise FhirError(403, [("forbidden", "The shared record is read by the network's own system.", None)])
    with _reached_case(client, _task_parameter()) as (referral, case):
        view = system_access(case)
        _audit_read("record.viewed", referral, "case", case.id)
        return resource_response(case_reads.searchset([case_reads.composition(case, referral, view)], request.url))
