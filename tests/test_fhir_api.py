"""FHIR API: client registration, OAuth tokens (expiry, revocation), the CapabilityStatement, referral in
through the web form's service, and the Task out; every returned resource validates with fhir.resources."""
from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from fhir.resources.R4B import get_fhir_model_class
from sqlalchemy import func, select

from app.core.audit import AuditEvent
from app.core.db import utcnow
from app.core.mail import memory_outbox
from app.core.tenancy import all_networks, network_context
from app.extensions import db
from app.fhir import clients
from app.networks.models import Role
from app.referrals import services as referral_services
from app.referrals.models import Referral, ReferralStatus
from tests.conftest import make_member, make_network
from tests.fhir_helpers import basic, bearer, bundle, get_token, make_verified_gp, register


def _valid(response):
    """The body as a fhir.resources model of its own resourceType (raises when it does not validate)."""
    assert response.mimetype == "application/fhir+json"
    data = response.get_json()
    return get_fhir_model_class(data["resourceType"]).model_validate(data)


def _referral_count() -> int:
    return db.session.scalar(all_networks(select(func.count(Referral.id)).where(
        Referral.status != ReferralStatus.DRAFT)))


@pytest.fixture
def world():
    network = make_network("noord", approved_at=utcnow())
    coordinator = make_member(network, "coord@example.nl", role=Role.COORDINATOR)
    gp = make_verified_gp()
    client, secret = register(gp)
    return {"network": network, "coordinator": coordinator, "gp": gp, "client": client, "secret": secret}


def _post(http, token, data=None, path="/fhir/R4/"):
    return http.post(path, json=data if data is not None else bundle(), headers=bearer(token))


# --- registration and tokens -------------------------------------------------------------------

def test_registration_stores_only_a_hash_of_the_secret(world):
    assert world["secret"] not in world["client"].secret_hash
    assert world["client"].check_client_secret(world["secret"])
    assert not world["client"].check_client_secret("wrong" + world["secret"])


def test_only_a_coordinator_registers_for_a_network_and_only_network_scopes(world):
    network = world["network"]
    member = make_member(network, "member@example.nl")
    with pytest.raises(clients.RegistrationRefused):
        clients.register_client(registered_by=member.user, name="EPD", scopes=[clients.SCOPE_TASK_READ],
                                network=network)
    with pytest.raises(clients.RegistrationRefused):
        clients.register_client(registered_by=world["coordinator"].user, name="EPD",
                                scopes=[clients.SCOPE_REFERRAL_WRITE], network=network)
    client, _secret = clients.register_client(registered_by=world["coordinator"].user, name="EPD",
                                              scopes=[clients.SCOPE_TASK_READ], network=network)
    assert client.network_id == network.id and client.owner_user_id is None


def test_an_unverified_gp_cannot_register(world):
    unverified = make_verified_gp("new-gp@example.nl", "07654321", mfa=False)
    with pytest.raises(clients.RegistrationRefused):
        clients.register_client(registered_by=unverified, name="HIS", scopes=[clients.SCOPE_TASK_READ])


def test_token_endpoint_issues_an_expiring_token_with_the_granted_scope(client, world):
    response = client.post("/fhir/R4/auth/token", data={"grant_type": "client_credentials",
                                                        "scope": clients.SCOPE_TASK_READ},
                           headers=basic(world["client"], world["secret"]), csrf=False)
    body = response.get_json()
    assert response.status_code == 200
    assert body["token_type"].lower() == "bearer" and body["scope"] == clients.SCOPE_TASK_READ
    assert 0 < body["expires_in"] <= 3600
    assert body["access_token"] not in str([t.token_hash for t in db.session.scalars(select(clients.ApiToken))])


def test_wrong_secret_gets_no_token(client, world):
    response = client.post("/fhir/R4/auth/token", data={"grant_type": "client_credentials"},
                           headers=basic(world["client"], "not-the-secret"), csrf=False)
    assert response.status_code == 401 and "access_token" not in response.get_json()


def test_expired_token_is_refused_with_401(client, world):
    token = get_token(client, world["client"], world["secret"])
    with time_machine.travel(utcnow() + clients.TOKEN_LIFETIME + timedelta(seconds=5)):
        response = client.get("/fhir/R4/Task/1", headers=bearer(token))
    assert response.status_code == 401
    assert _valid(response).issue[0].code == "login"


def test_revoking_the_client_ends_its_tokens_at_once(client, world):
    token = get_token(client, world["client"], world["secret"])
    created = _post(client, token)
    task_id = _valid(created).entry[1].resource.id
    assert client.get(f"/fhir/R4/Task/{task_id}", headers=bearer(token)).status_code == 200
    clients.revoke_client(db.session.get(clients.ApiClient, world["client"].id), by=world["gp"])
    db.session.commit()
    response = client.get(f"/fhir/R4/Task/{task_id}", headers=bearer(token))
    assert response.status_code == 401
    again = client.post("/fhir/R4/auth/token", data={"grant_type": "client_credentials"},
                        headers=basic(world["client"], world["secret"]), csrf=False)
    assert again.status_code in (400, 401) and "access_token" not in again.get_json()


def test_a_revoked_token_is_refused(client, world):
    token = get_token(client, world["client"], world["secret"])
    response = client.post("/fhir/R4/auth/revoke", data={"token": token},
                           headers=basic(world["client"], world["secret"]), csrf=False)
    assert response.status_code == 200
    assert client.get("/fhir/R4/Task/1", headers=bearer(token)).status_code == 401


def test_a_token_without_the_scope_gets_403(client, world):
    token = get_token(client, world["client"], world["secret"], scope=clients.SCOPE_TASK_READ)
    response = _post(client, token)
    assert response.status_code == 403 and _valid(response).issue[0].code == "forbidden"
    assert _referral_count() == 0


def test_no_token_gets_401(client, world):
    response = client.post("/fhir/R4/", json=bundle())
    assert response.status_code == 401 and response.headers["WWW-Authenticate"].startswith("Bearer")


def test_capability_statement_lists_exactly_the_supported_interactions(client, app):
    response = client.get("/fhir/R4/metadata")
    statement = _valid(response)
    rest = statement.rest[0]
    offered = {(r.type, i.code) for r in rest.resource for i in r.interaction}
    assert offered == {("ServiceRequest", "create"), ("Task", "read"), ("DocumentReference", "read"),
                       ("DocumentReference", "search-type"), ("Binary", "read"), ("Communication", "search-type"),
                       ("CareTeam", "search-type"), ("Consent", "search-type"), ("Subscription", "create"),
                       ("Subscription", "read"), ("Subscription", "delete"), ("Composition", "search-type")}
    assert [i.code for i in rest.interaction] == ["transaction"]
    # Each listed interaction has a route, and each FHIR resource route is listed.
    rules = {rule.rule for rule in app.url_map.iter_rules() if rule.rule.startswith("/fhir/R4/")}
    assert {"/fhir/R4/ServiceRequest", "/fhir/R4/Task/<int:referral_id>", "/fhir/R4/"} <= rules
    resource_rules = {rule.split("/")[3] for rule in rules if rule.split("/")[3][:1].isupper()}
    assert resource_rules == {r.type for r in rest.resource}
    oauth = rest.security.extension[0].extension
    assert {e.url for e in oauth} == {"token", "revoke"}


# --- referral in -------------------------------------------------------------------------------

def test_a_bundle_creates_the_referral_like_the_web_form(client, world):
    token = get_token(client, world["client"], world["secret"])
    response = _post(client, token)
    assert response.status_code == 201, response.get_data(as_text=True)
    result = _valid(response)
    assert result.type == "transaction-response"
    referral_id = int(result.entry[0].resource.id)
    with network_context(world["network"].id):
        referral = db.session.get(Referral, referral_id)
        assert referral.status is ReferralStatus.SUBMITTED and referral.bsn == "111222333"
        assert referral.gp_profile_id == world["gp"].gp_profile.id
        assert referral.consent_confirmed_by_id == world["gp"].id and referral.consent_confirmed_at is not None
        assert referral.distress_score == 7 and referral.tumour_type == "colorectal"
        assert [m.name for m in referral.medications] == ["Loperamide"]
    # The same notification as the web form: the coordinator gets the mail (no patient data in it).
    mails = [m for m in memory_outbox if m["to"] == "coord@example.nl"]
    assert len(mails) == 1 and "Jansen" not in str(mails[0])
    audit_row = db.session.scalar(select(AuditEvent).where(AuditEvent.event == "referral.submitted"))
    assert audit_row.api_client_id == world["client"].id and audit_row.user_role == "api_client"
    assert audit_row.user_id == world["gp"].id


def test_posting_the_same_identifier_twice_stores_one_referral(client, world):
    token = get_token(client, world["client"], world["secret"])
    first = _post(client, token)
    second = _post(client, token)
    assert (first.status_code, second.status_code) == (201, 200)
    assert _valid(first).entry[0].resource.id == _valid(second).entry[0].resource.id
    assert _referral_count() == 1


def test_a_lone_service_request_with_contained_resources_creates_a_referral(client, world):
    token = get_token(client, world["client"], world["secret"])
    entries = {e["resource"]["resourceType"]: e["resource"] for e in bundle()["entry"]}
    request = dict(entries["ServiceRequest"])
    request["contained"] = [dict(entries[kind], id=kind.lower()) for kind in
                            ("Patient", "Condition", "MedicationStatement", "Observation", "Consent")]
    request["subject"] = {"reference": "#patient"}
    response = _post(client, token, request, path="/fhir/R4/ServiceRequest")
    assert response.status_code == 201, response.get_data(as_text=True)
    assert _valid(response).get_resource_type() == "ServiceRequest"
    assert response.headers["Location"].startswith("Task/")


@pytest.mark.parametrize(("data", "status", "expression"), [
    ("not json", 400, None),
    ({"resourceType": "Bundle", "type": "transaction", "entry": "x"}, 400, "Bundle.entry"),
    ({"resourceType": "Patient"}, 400, "resourceType"),
])
def test_malformed_input_is_an_operation_outcome_and_stores_nothing(client, world, data, status, expression):
    token = get_token(client, world["client"], world["secret"])
    if data == "not json":
        response = client.post("/fhir/R4/", data="{oops", headers={**bearer(token),
                                                                    "Content-Type": "application/fhir+json"})
    else:
        response = _post(client, token, data)
    assert response.status_code == status
    issue = _valid(response).issue[0]
    if expression:
        assert issue.expression == [expression]
    assert _referral_count() == 0


def test_a_malformed_birth_date_names_the_element(client, world):
    token = get_token(client, world["client"], world["secret"])
    response = _post(client, token, bundle(patient={"birthDate": "14-03-1971"}))
    assert response.status_code == 400
    assert _valid(response).issue[0].expression == ["Bundle.entry.0.resource.birthDate"]


def test_a_wrong_bsn_is_refused_with_the_form_message(client, world):
    token = get_token(client, world["client"], world["secret"])
    wrong = {"identifier": [{"system": "http://fhir.nl/fhir/NamingSystem/bsn", "value": "111222334"}]}
    response = _post(client, token, bundle(patient=wrong))
    assert response.status_code == 422
    issues = _valid(response).issue
    assert [i.expression for i in issues] == [
        ["Patient.identifier.where(system='http://fhir.nl/fhir/NamingSystem/bsn').value"]]
    assert issues[0].diagnostics
    assert _referral_count() == 0 and memory_outbox == []


def test_a_missing_consent_is_refused(client, world):
    token = get_token(client, world["client"], world["secret"])
    response = _post(client, token, bundle(drop={"Consent"}))
    assert response.status_code == 422
    assert [i.expression for i in _valid(response).issue] == [["Consent"]]
    assert _referral_count() == 0


def test_a_missing_required_field_names_its_element(client, world):
    token = get_token(client, world["client"], world["secret"])
    response = _post(client, token, bundle(service_request={"reasonCode": []}))
    assert response.status_code == 422
    assert ["ServiceRequest.reasonCode.text"] in [i.expression for i in _valid(response).issue]


def test_an_unknown_network_is_404_and_stores_nothing(client, world):
    token = get_token(client, world["client"], world["secret"])
    performer = {"performer": [{"identifier": {"system": "https://netwerkzorg.nl/fhir/NamingSystem/network",
                                               "value": "bestaat-niet"}}]}
    response = _post(client, token, bundle(service_request=performer))
    assert response.status_code == 404 and _valid(response).issue[0].code == "not-found"
    assert _referral_count() == 0


def test_a_network_system_cannot_send_referrals(client, world):
    network_client, secret = register(world["coordinator"].user, scopes=clients.NETWORK_SCOPES,
                                      network=world["network"])
    token = get_token(client, network_client, secret)
    assert _post(client, token).status_code == 403


# --- Task out ----------------------------------------------------------------------------------

def _create(client, world) -> tuple[str, int]:
    token = get_token(client, world["client"], world["secret"])
    response = _post(client, token)
    return token, int(_valid(response).entry[0].resource.id)


def test_the_task_mirrors_the_status_machine(client, world):
    token, referral_id = _create(client, world)
    task = _valid(client.get(f"/fhir/R4/Task/{referral_id}", headers=bearer(token)))
    assert task.status == "requested" and task.businessStatus.coding[0].code == "submitted"
    coordinator = world["coordinator"].user
    with network_context(world["network"].id):
        referral = referral_services.get_for_network(referral_id)
        referral_services.transition(referral, referral_services.Action.ACKNOWLEDGE, actor=coordinator,
                                     side=referral_services.Side.NETWORK)
        db.session.commit()
    assert _valid(client.get(f"/fhir/R4/Task/{referral_id}", headers=bearer(token))).status == "received"
    with network_context(world["network"].id):
        referral = referral_services.get_for_network(referral_id)
        referral_services.transition(referral, referral_services.Action.DECLINE, actor=coordinator,
                                     side=referral_services.Side.NETWORK, text="Past beter bij de GGZ")
        db.session.commit()
    task = _valid(client.get(f"/fhir/R4/Task/{referral_id}", headers=bearer(token)))
    assert task.status == "rejected" and task.statusReason.text == "Past beter bij de GGZ"


def test_reading_the_task_is_audit_logged_with_the_client_as_actor(client, world):
    token, referral_id = _create(client, world)
    client.get(f"/fhir/R4/Task/{referral_id}", headers=bearer(token))
    row = db.session.scalar(select(AuditEvent).where(AuditEvent.event == "referral.viewed"))
    assert row.api_client_id == world["client"].id and row.object_id == referral_id


def test_a_network_system_reads_its_networks_task_but_not_another_networks(client, world):
    _token, referral_id = _create(client, world)
    other = make_network("zuid", approved_at=utcnow())
    other_coordinator = make_member(other, "coord-zuid@example.nl", role=Role.COORDINATOR)
    own_client, own_secret = register(world["coordinator"].user, scopes=[clients.SCOPE_TASK_READ],
                                      network=world["network"])
    foreign_client, foreign_secret = register(other_coordinator.user, scopes=[clients.SCOPE_TASK_READ],
                                              network=other)
    own = client.get(f"/fhir/R4/Task/{referral_id}", headers=bearer(get_token(client, own_client, own_secret)))
    assert own.status_code == 200 and _valid(own).id == str(referral_id)
    foreign = client.get(f"/fhir/R4/Task/{referral_id}",
                         headers=bearer(get_token(client, foreign_client, foreign_secret)))
    assert foreign.status_code == 404 and _valid(foreign).issue[0].code == "not-found"


def test_another_gps_system_gets_404_for_the_task(client, world):
    _token, referral_id = _create(client, world)
    other_gp = make_verified_gp("other-gp@example.nl", "07777777")
    other_client, other_secret = register(other_gp)
    response = client.get(f"/fhir/R4/Task/{referral_id}",
                          headers=bearer(get_token(client, other_client, other_secret)))
    assert response.status_code == 404


# --- the operator's commands ---------------------------------------------------------------------

def test_the_cli_registers_a_gp_system_whose_secret_gets_a_token_and_revokes_it(app, client, world):
    runner = app.test_cli_runner()
    refused = runner.invoke(args=["api-client-register", world["coordinator"].user.email, "--name", "HIS",
                                  "--scope", clients.SCOPE_REFERRAL_WRITE])
    assert refused.exit_code != 0 and "verified GP" in refused.output  # a coordinator is not a GP

    result = runner.invoke(args=["api-client-register", world["gp"].email, "--name", "HIS Zuid",
                                 "--scope", clients.SCOPE_REFERRAL_WRITE, "--scope", clients.SCOPE_TASK_READ])
    assert result.exit_code == 0, result.output
    printed = dict(line.split("=", 1) for line in result.output.strip().splitlines())
    registered = clients.client_by_client_id(printed["client_id"])
    assert registered.name == "HIS Zuid" and printed["client_secret"] not in registered.secret_hash
    token = get_token(client, registered, printed["client_secret"])
    assert _post(client, token).status_code in (200, 201)

    assert runner.invoke(args=["api-client-revoke", printed["client_id"], world["gp"].email]).exit_code == 0
    assert client.get("/fhir/R4/Task/1", headers=bearer(token)).status_code == 401


def test_the_cli_refuses_an_unknown_network_or_user(app, world):
    runner = app.test_cli_runner()
    unknown_network = runner.invoke(args=["api-client-register", world["coordinator"].user.email, "--name", "EPD",
                                          "--scope", clients.SCOPE_TASK_READ, "--network", "nergens"])
    assert unknown_network.exit_code != 0 and "nergens" in unknown_network.output
    unknown_user = runner.invoke(args=["api-client-register", "nobody@example.nl", "--name", "EPD",
                                       "--scope", clients.SCOPE_TASK_READ])
    assert unknown_user.exit_code != 0 and "nobody@example.nl" in unknown_user.output
    network_system = runner.invoke(args=["api-client-register", world["coordinator"].user.email, "--name", "EPD",
                                         "--scope", clients.SCOPE_TASK_READ, "--network", world["network"].slug])
    assert network_system.exit_code == 0, network_system.output


def test_the_documented_example_bundle_is_the_one_the_tests_send():
    import json
    from pathlib import Path

    from tests.fhir_helpers import BUNDLE

    documented = Path(__file__).resolve().parent.parent / "docs" / "examples" / "referral-bundle.json"
    assert json.loads(documented.read_text(encoding="utf-8")) == BUNDLE


# --- the case behind a referral: letters, care team, consents ----------------------------------------------------

@pytest.fixture
def case_world(world):
    from app.cases.models import ConsentPart, Letter
    from app.cases.services import letters as letter_services
    from app.core.jobs import run_inline_pending
    from tests.case_factories import add_to_team, make_case

    network, coordinator, gp = world["network"], world["coordinator"], world["gp"]
    dietician = make_member(network, "dirk@example.nl", disciplines=("dietist",), name="Dirk Dietist")
    case = make_case(network, gp, coordinator)
    add_to_team(case, coordinator.user, dietician, parts={ConsentPart.INTAKE})
    with network_context(network.id):
        letter = db.session.scalar(select(Letter).where(Letter.case_id == case.id))
        letter_services.send_letter(letter, coordinator.user)
        draft = letter_services.draft_update_letter(db.session.get(type(case), case.id), coordinator.user)
        db.session.commit()
        letter_id, draft_id = letter.id, draft.id
    run_inline_pending()
    network_client, network_secret = register(coordinator.user, scopes=clients.NETWORK_SCOPES, network=network)
    return {**world, "case": case, "dietician": dietician, "letter_id": letter_id, "draft_id": draft_id,
            "network_client": network_client, "network_secret": network_secret}


def _get(http, token, path):
    return http.get(f"/fhir/R4/{path}", headers=bearer(token))


def test_the_gps_system_reads_the_sent_letters_and_their_pdf(client, case_world):
    w = case_world
    token = get_token(client, w["client"], w["secret"])
    task = f"task=Task/{w['case'].referral_id}"
    found = _valid(_get(client, token, f"DocumentReference?{task}"))
    assert found.type == "searchset" and [e.resource.id for e in found.entry] == [str(w["letter_id"])]  # no draft
    letter = found.entry[0].resource
    pdf_url = next(c.attachment.url for c in letter.content if c.attachment.contentType == "application/pdf")
    text = next(c.attachment.data for c in letter.content if c.attachment.contentType.startswith("text/plain"))
    assert b"Geachte" in text or b"Dear" in text
    assert pdf_url.endswith(f"/fhir/R4/Binary/{w['letter_id']}")
    assert _valid(_get(client, token, f"DocumentReference/{w['letter_id']}")).id == str(w["letter_id"])
    binary = _get(client, token, f"Binary/{w['letter_id']}")
    assert binary.status_code == 200 and binary.mimetype == "application/pdf" and binary.get_data()[:5] == b"%PDF-"
    sent = _valid(_get(client, token, f"Communication?{task}")).entry[0].resource
    assert sent.status == "completed" and sent.recipient[0].identifier.value == w["gp"].gp_profile.agb_code
    # A draft is not there; neither is anything without the right search parameter.
    assert _get(client, token, f"DocumentReference/{w['draft_id']}").status_code == 404
    assert _get(client, token, f"Binary/{w['draft_id']}").status_code == 404
    for bad in ("DocumentReference", "DocumentReference?task=abc", "CareTeam?task=Task/0"):
        response = _get(client, token, bad)
        assert response.status_code == 400 and _valid(response).issue[0].expression == ["task"], bad


def test_the_care_team_names_the_central_care_provider_and_the_others_by_discipline(client, case_world):
    w = case_world
    token = get_token(client, w["client"], w["secret"])
    bundle_ = _valid(_get(client, token, f"CareTeam?task=Task/{w['case'].referral_id}"))
    team = bundle_.entry[0].resource
    shown = [p.member.display for p in team.participant]
    assert w["coordinator"].user.full_name in shown
    assert "Dirk Dietist" not in shown and any("Diëtist" in name for name in shown)


def test_the_network_system_reads_the_consents_and_a_withdrawal_on_the_next_request(client, case_world):
    from app.cases import services as case_services
    from app.cases.models import Case

    w = case_world
    network_token = get_token(client, w["network_client"], w["network_secret"])
    path = f"Consent?task=Task/{w['case'].referral_id}"
    consents = [e.resource for e in _valid(_get(client, network_token, path)).entry]
    dietician_consent = next(c for c in consents if c.provision.provision[0].actor[0].reference.display == "Dirk Dietist")
    assert dietician_consent.status == "active"
    assert [c.code for c in dietician_consent.provision.provision[0].class_fhir] == ["intake"]
    with network_context(w["network"].id):
        live = db.session.get(Case, w["case"].id)
        consent = next(c for c in case_services.consents_of(live) if c.id == int(dietician_consent.id))
        case_services.withdraw_consent(consent, w["coordinator"].user, "Op verzoek van de patiënt")
        db.session.commit()
    again = [e.resource for e in _valid(_get(client, network_token, path)).entry]
    assert next(c for c in again if c.id == dietician_consent.id).status == "inactive"
    # The GP's system does not read consents; the network's system does not read the GP's letters.
    gp_token = get_token(client, w["client"], w["secret"])
    assert _get(client, gp_token, path).status_code == 403
    assert _get(client, network_token, f"DocumentReference?task=Task/{w['case'].referral_id}").status_code == 403


def test_another_gps_system_and_a_referral_without_a_case_get_404(client, case_world):
    w = case_world
    other = make_verified_gp("other-gp@example.nl", "07654321")
    other_client, other_secret = register(other)
    other_token = get_token(client, other_client, other_secret)
    for path in (f"CareTeam?task=Task/{w['case'].referral_id}", f"DocumentReference/{w['letter_id']}",
                 f"Binary/{w['letter_id']}", f"Communication?task=Task/{w['case'].referral_id}"):
        response = _get(client, other_token, path)
        assert response.status_code == 404 and b"Jansen" not in response.get_data(), path
    token = get_token(client, w["client"], w["secret"])
    posted = _post(client, token)
    new_id = int(posted.get_json()["entry"][0]["resource"]["id"])
    response = _get(client, token, f"CareTeam?task=Task/{new_id}")
    assert response.status_code == 404 and "no case" in _valid(response).issue[0].diagnostics


def test_the_network_system_reads_the_record_only_as_far_as_a_live_consent_shares_it(client, case_world):
    from app.cases import services as case_services
    from app.cases.models import Case
    from app.records.models import SECTION_PARTS, ConsentPart, SectionKey

    w = case_world
    network_token = get_token(client, w["network_client"], w["network_secret"])
    path = f"Composition?task=Task/{w['case'].referral_id}"
    record = _valid(_get(client, network_token, path)).entry[0].resource
    shown = {s.code.coding[0].code for s in record.section or []}
    # The dietician's consent covers the intake part only: its sections, not the distress thermometer.
    assert shown and all(SECTION_PARTS[SectionKey(key)] is ConsentPart.INTAKE for key in shown)
    assert SectionKey.STORY.value in shown and SectionKey.DISTRESS.value not in shown
    assert "diarree" in next(s.text.div for s in record.section if s.code.coding[0].code == SectionKey.STORY.value)
    with network_context(w["network"].id):
        for consent in case_services.consents_of(db.session.get(Case, w["case"].id)):
            if consent.withdrawn_at is None:
                case_services.withdraw_consent(consent, w["coordinator"].user, "Op verzoek van de patiënt")
        db.session.commit()
    after = _valid(_get(client, network_token, path)).entry[0].resource
    assert not after.section  # nothing is shared any more, on the next request
    gp_token = get_token(client, w["client"], w["secret"])
    assert _get(client, gp_token, path).status_code == 403  # the GP's system does not read the record
