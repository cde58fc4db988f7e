"""NEN 7513 audit log: completeness, append-only, hash chain, the coordinator's log page,
denied access, and no patient data in technical logs."""
from __future__ import annotations

import logging
import re
from datetime import UTC, date, datetime

import pytest
import time_machine
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.exc import DBAPIError

from app.auth.models import User
from app.cases import services as case_services
from app.cases.models import Case, ConsentMethod, ConsentPart, Letter, NoteVisibility
from app.cases.services import letters
from app.core import audit
from app.core.audit import AuditAction, AuditEvent, AuditLogIsAppendOnly, AuditOutcome, verify_chain
from app.core.db import utcnow
from app.core.storage import store_bytes
from app.core.tenancy import network_context
from app.extensions import db
from app.networks.models import Membership, Role
from app.patients.models import Patient, PortalAccount
from app.records.models import RecordSection, SectionKey
from app.referrals.models import Referral, ReferralStatus
from tests.case_factories import give_consent, make_case, write_note
from tests.conftest import IS_POSTGRES, login_as, make_gp, make_member, make_network, make_patient
from tests.portal_factories import make_portal_world
from tests.quality_factories import FAKE_PDF
from tests.referral_factories import make_referral
from tests.world import make_case_world


def _max_event_id() -> int:
    db.session.rollback()  # a fresh snapshot: requests commit in their own sessions
    return db.session.scalar(select(func.max(AuditEvent.id))) or 0


def _events_after(event_id: int) -> list[AuditEvent]:
    db.session.rollback()
    return list(db.session.scalars(
        select(AuditEvent).where(AuditEvent.id > event_id).order_by(AuditEvent.id)))


def _describe(events: list[AuditEvent]) -> list[tuple]:
    return [(e.event, e.user_id, e.network_id, e.patient_id, e.object_type, str(e.outcome)) for e in events]


# --- completeness --------------------------------------------------------------------------------

# A valid submission for every marked route that accepts POST. A new marked route with POST and no
# entry here fails test_every_patient_data_route_writes_an_audit_event (it does not skip).
VALID_POSTS = {
    "patients.create": lambda: {"given_name": "Anna", "family_name": "Visser", "date_of_birth": "1960-05-17",
                                "bsn": "123456782", "postcode": "1234 AB", "phone": "0612345678"},
    "patients.index": lambda: {"q": "Jansen"},  # a search: a POST so the term stays out of URLs
}
# POSTs that answer with a page instead of a redirect.
POST_RENDERS_PAGE = {"patients.index"}
# GET of these routes shows no patient data (an empty form), so it need not write an audit row.
GET_SHOWS_NO_PATIENT_DATA = {"patients.create": "an empty registration form"}
# The object type each route must log; routes not listed must log some non-empty object type.
OBJECT_TYPES = {"patients.index": "patient", "patients.detail": "patient", "patients.create": "patient"}
# Routes that create a patient: their audit row must name the new patient.
CREATES_PATIENT = {"patients.create"}


def _marked_endpoints(app) -> list[str]:
    return sorted(endpoint for endpoint, view in app.view_functions.items()
                  if getattr(view, "touches_patient_data", False))


def _url(app, endpoint: str, values: dict) -> str:
    rule = next(iter(app.url_map.iter_rules(endpoint)))
    missing = rule.arguments - values.keys()
    if missing:
        pytest.fail(f"{endpoint}: no test value for URL argument(s) {sorted(missing)}; add one to the walk")
    return app.url_map.bind("localhost").build(endpoint, {k: values[k] for k in rule.arguments})


def _assert_audited(endpoint: str, method: str, events: list[AuditEvent], *, user: User, network_id: int,
                    patient_id: int | None) -> None:
    rows = [e for e in events if e.user_id == user.id and e.network_id == network_id
            and e.outcome is AuditOutcome.SUCCESS]
    if patient_id is not None:
        rows = [e for e in rows if e.patient_id == patient_id]
    expected_type = OBJECT_TYPES.get(endpoint)
    rows = [e for e in rows if (e.object_type == expected_type if expected_type else e.object_type)]
    assert rows, (f"{method} {endpoint} wrote no matching audit row (user {user.id}, network {network_id}, "
                  f"patient {patient_id}, object type {expected_type or 'any'}); "
                  f"it wrote: {_describe(events)}")


@pytest.fixture
def audit_world():
    """A network with everything the marked routes touch: a patient, referrals in several states, two
    cases (one with a team, one to close), a proposed member, a consent with a document, a PDF letter."""
    network = make_network("audit-a", approved_at=utcnow())
    coordinator = make_member(network, "coordinator@example.nl", role=Role.COORDINATOR, disciplines=("casemanager",))
    member = make_member(network, "dietist@example.nl", disciplines=("dietist",))
    physio = make_member(network, "fysio@example.nl", disciplines=("fysiotherapeut",))
    ergo = make_member(network, "ergo@example.nl", disciplines=("ergotherapeut",))
    gp = make_gp("gp@example.nl", "01234567", email_verified_at=utcnow())
    patient = make_patient(network, created_by=coordinator.user)
    w = make_case_world(network, coordinator, member, gp)
    draft2 = make_referral(network, gp, status=ReferralStatus.DRAFT)
    asked = make_referral(network, gp, status=ReferralStatus.INFO_REQUESTED, coordinator=coordinator.user)
    to_withdraw = make_referral(network, gp)
    to_dismiss = make_referral(network, gp)  # its patient may be the known one: "someone else"
    to_close = make_case(network, gp, coordinator)
    give_consent(w["case"], coordinator.user, physio)
    own_note = write_note(w["case"], coordinator, "Notitie van de coördinator", NoteVisibility.TEAM)
    with network_context(network.id):
        case = db.session.get(Case, w["case"].id)
        proposal = case_services.propose_member(case, coordinator.user, db.session.get(Membership, physio.id),
                                                reason="Conditie")
        documented = case_services.record_consent(
            case, coordinator.user, method=ConsentMethod.WRITTEN, purpose="Overleg", membership_ids=[member.id],
            parts={ConsentPart.INTAKE}, document_name="toestemming.pdf",
            document_storage=store_bytes(network.id, FAKE_PDF))
        letters.render_letter_pdf({"letter_id": w["letter"].id})
        draft_letter = db.session.scalar(select(Letter).where(Letter.case_id == to_close.id))
        db.session.commit()
        ids = {"proposal": proposal.id, "documented": documented.id, "draft_letter": draft_letter.id}
        portal_consent = case_services.record_consent(
            case, coordinator.user, method=ConsentMethod.VERBAL, purpose="Portaal", membership_ids=[member.id],
            parts={ConsentPart.NOTES})
        db.session.commit()
        ids["portal_consent"] = portal_consent.id
        plan = db.session.scalar(select(RecordSection).where(RecordSection.patient_id == case.patient_id,
                                                             RecordSection.key == SectionKey.CARE_PLAN))
        plan_version = plan.version if plan is not None else 0
    portal = make_portal_world(network, coordinator, w["case"], tag="audit")
    today = date.today().isoformat()
    return {
        "network": network, "patient": patient, "users": {
            "coordinator": coordinator.user, "gp": gp, "physio": physio.user, "patient": portal["patient_user"]},
        "values": {"network_slug": network.slug, "slug": network.slug, "patient_id": patient.id,
                   "referral_id": w["referral"].id, "attachment_id": w["attachment"].id, "case_id": w["case"].id,
                   "member_id": ids["proposal"], "version": 1, "consent_id": w["consent"].id,
                   "note_id": own_note.id, "action_id": w["action"].id, "letter_id": w["letter"].id, "key": "care_plan",
                   "duplicate_id": w["duplicate"].id, "account_id": portal["portal_account"],
                   "relative_id": portal["relative_account"], "discussion_id": w["mdo_discussion"].id},
        # URL values that differ per route (a separate object where a POST would spoil the next route).
        "per_endpoint": {
            "cases.intake": {"referral_id": w["intake_referral"].id},
            "cases.consent_document": {"consent_id": ids["documented"]},
            "cases.close": {"case_id": to_close.id},
            "cases.letter_edit": {"case_id": to_close.id, "letter_id": ids["draft_letter"]},
            "cases.letter_send": {"case_id": to_close.id, "letter_id": ids["draft_letter"]},
            "gp_portal.edit_draft": {"referral_id": w["draft"].id},
            "gp_portal.discard_draft": {"referral_id": draft2.id},
            "gp_portal.answer": {"referral_id": asked.id},
            "gp_portal.withdraw": {"referral_id": to_withdraw.id},
            "referrals.match_dismiss": {"referral_id": to_dismiss.id},
            "gp_portal.case_letter": {"referral_id": w["case_referral"].id},
            "gp_portal.case_question": {"referral_id": w["case_referral"].id},
            "gp_portal.case_mdo_input": {"referral_id": w["case_referral"].id},
            "patient_portal.proposal": {"member_id": portal["waiting_proposal"]},
            "patient_portal.withdraw": {"consent_id": ids["portal_consent"]},
            "portal_network.referral_portal": {"referral_id": w["case"].referral_id},
            "portal_network.revoke_account": {"referral_id": w["case"].referral_id,
                                              "account_id": portal["second_relative"]},
        },
        "posts": {
            "referrals.act": {"action": "acknowledge"},
            "referrals.match_link": {"patient_id": str(patient.id)},
            "referrals.match_dismiss": {},
            "patients.merge": {"confirm": "y"},
            "cases.intake": {"action": "save", "held_on": today, "story": "Het verhaal van de patiënt"},
            "cases.intake_correct": {"reason": "Verkeerde datum"},
            "cases.consents": {"members": [str(ergo.id)], "consent_method": "verbal", "consent_purpose": "Zorg",
                               "consent_parts": ["intake", "notes"], "consent_agreed": "y"},
            "cases.consent_withdraw": {"reason": "Op verzoek van de patiënt"},
            "cases.team_propose": {"membership_id": str(ergo.id), "reason": "Energiemanagement",
                                   "consent_method": "verbal", "consent_purpose": "Zorg",
                                   "consent_parts": ["intake"], "consent_agreed": "y"},
            "cases.team_respond": {"answer": "accept"},
            "cases.central_set": {"membership_id": str(member.id)},
            "cases.notes": {"body": "Een nieuwe notitie", "visibility": "team"},
            "cases.note_edit": {"note_body": "Aangepaste notitie"},
            "cases.actions": {"description": "Bellen", "owner": str(coordinator.id), "due_on": today},
            "cases.action_done": {},
            "cases.proms": {"score": "5", "measured_on": today},
            "cases.close": {"what": "case", "case_summary": "Zorg afgerond", "case_confirm": "y"},
            "cases.letter_edit": {"body": "Geachte collega, ...", "action": "save"},
            "cases.letter_send": {"confirm": "y"},
            "cases.gp_thread": {"body": "Antwoord aan de huisarts"},
            "palliative.roles": {"form": "hospital", "kind": "specialist", "name": "Dr. Visser"},
            "palliative.path": {"form": "signal", "not_surprised": "y", "indicators": ["weight_loss"]},
            "cases.record_section_edit": {"goals": "Thuis blijven wonen", "reason": "Nieuw doel",
                                          "based_on_version": str(plan_version)},
            "gp_portal.new": {"submission_key": "k" * 32, "action": "draft", "given_name": "Anna"},
            "gp_portal.edit_draft": {"action": "draft", "given_name": "Anna"},
            "gp_portal.discard_draft": {},
            "gp_portal.answer": {"text": "Hier is het antwoord"},
            "gp_portal.withdraw": {"reason": "Patiënt ziet ervan af"},
            "gp_portal.case_question": {"body": "Hoe gaat het met mijn patiënt?"},
            "gp_portal.case_mdo_input": {"home_situation": "Redelijk, met hulp van de thuiszorg"},
            "cases.letter_new": {},
            "patient_portal.proposal": {"parts": ["intake"], "agreed": "y"},
            "patient_portal.withdraw": {"confirm": "y"},
            "patient_portal.questionnaire": {"score": "5", "problems": ["fatigue"]},
            "patient_portal.relatives": {"full_name": "Els Jansen", "email": "els@example.nl",
                                         "sections": ["care_plan"], "locale": "nl"},
            "patient_portal.relative_revoke": {"confirm": "y"},
            "patient_portal.messages": {"body": "Mag ik iets vragen?"},
            "patient_portal.my_data": {"correction": "Mijn telefoonnummer klopt niet"},
            "portal_network.referral_portal": {"message-body": "Antwoord aan de patiënt"},
            "portal_network.revoke_account": {"confirm": "y"},
        },
    }


# Who requests a marked route (default: the coordinator): the GP's own pages, and a proposal only its member opens.
REQUESTER = {"cases.proposal": "physio", "cases.team_respond": "physio"}
# Lists across networks: the row names the network only when the list holds one network's referral.
NO_SINGLE_NETWORK = {"gp_portal.index", "patient_portal.index"}
# GET answered with a redirect after logging the read: the portal's list opens a single record straight away.
GET_REDIRECTS = {"patient_portal.index"}
GET_SHOWS_NO_PATIENT_DATA |= {"gp_portal.new": "an empty referral form"}


def _expected_patient(world: dict, rule, values: dict) -> int | None:
    with network_context(world["network"].id):
        if "case_id" in rule.arguments:
            return db.session.scalar(select(Case.patient_id).where(Case.id == values["case_id"]))
        if "account_id" in rule.arguments and "referral_id" not in rule.arguments:
            return db.session.scalar(select(PortalAccount.patient_id).where(PortalAccount.id == values["account_id"]))
        if "referral_id" in rule.arguments:
            return db.session.scalar(select(Referral.patient_id).where(Referral.id == values["referral_id"]))
    return values["patient_id"] if "patient_id" in rule.arguments else None


def test_every_patient_data_route_writes_an_audit_event(app, new_client, audit_world):
    """Every view marked @patient_data writes an audit row naming who, in which network, and (for a single
    patient) which patient: the coordinator walks the network's routes, the GP their referral pages.

    How this fails: drop the audit.record() call from services.get_patient (or any other marked view's
    read), and the GET of that route adds no row, so `rows` is empty and the assertion names the route.
    A marked route with a URL argument unknown here, or a POST-only route without a valid submission,
    fails with pytest.fail instead of being skipped.
    """
    world = audit_world
    network = world["network"]
    clients = {who: login_as(new_client(), user) for who, user in world["users"].items()}
    # The FHIR API authenticates by bearer token, not by session: test_every_fhir_route_audits_the_client walks it.
    endpoints = [endpoint for endpoint in _marked_endpoints(app) if not endpoint.startswith("fhir.")]
    # The walk must cover at least the known routes (guards against the marker being lost).
    assert {"patients.index", "patients.create", "patients.detail", "referrals.detail", "cases.detail",
            "cases.notes", "gp_portal.detail"} <= set(endpoints)
    for endpoint in endpoints:
        rule = next(iter(app.url_map.iter_rules(endpoint)))
        values = {**world["values"], **world["per_endpoint"].get(endpoint, {})}
        url = _url(app, endpoint, values)
        who = ("gp" if endpoint.startswith("gp_portal.") else "patient" if endpoint.startswith("patient_portal.")
               else REQUESTER.get(endpoint, "coordinator"))
        client, user = clients[who], world["users"][who]
        url_patient = _expected_patient(world, rule, values)
        network_id = None if endpoint in NO_SINGLE_NETWORK else network.id
        if "GET" in rule.methods and endpoint not in GET_SHOWS_NO_PATIENT_DATA and endpoint != "cases.team_respond":
            before = _max_event_id()
            response = client.get(url)
            assert response.status_code == (302 if endpoint in GET_REDIRECTS else 200), f"GET {url}: {response.status_code}"
            _assert_audited(endpoint, "GET", _events_after(before), user=user, network_id=network_id,
                            patient_id=url_patient)
        if "POST" in rule.methods:
            posts = {**world["posts"], **{k: v() for k, v in VALID_POSTS.items()}}
            if endpoint not in posts:
                pytest.fail(f"{endpoint} accepts POST: add a valid submission to the walk")
            before = _max_event_id()
            response = client.post(url, data=posts[endpoint])
            expected_status = (200,) if endpoint in POST_RENDERS_PAGE else (302, 303)
            assert response.status_code in expected_status, f"POST {url}: {response.status_code}"
            expected_patient = url_patient
            if endpoint in CREATES_PATIENT:
                with network_context(network.id):
                    expected_patient = db.session.scalar(select(func.max(Patient.id)))
                assert expected_patient != world["patient"].id, "the POST created no patient"
            _assert_audited(endpoint, "POST", _events_after(before), user=user, network_id=network.id,
                            patient_id=expected_patient)


def test_every_route_of_the_patients_blueprint_is_marked(app):
    """A new route in the patients blueprint without @patient_data fails here, so the walk above
    can never silently miss it. (Remove @patient_data from patients.detail: this lists it.)"""
    patient_endpoints = [endpoint for endpoint in app.view_functions if endpoint.startswith("patients.")]
    assert patient_endpoints, "the patients blueprint has no routes: is it still registered?"
    unmarked = [endpoint for endpoint in patient_endpoints
                if not getattr(app.view_functions[endpoint], "touches_patient_data", False)]
    assert unmarked == [], f"routes in the patients blueprint without @patient_data: {unmarked}"


# --- append-only ---------------------------------------------------------------------------------

def _some_events(n: int = 3) -> list[AuditEvent]:
    events = [audit.record(f"test.event_{i}", AuditAction.READ, reason=f"reason {i}", network_id=None)
              for i in range(n)]
    db.session.commit()
    return events


def test_orm_cannot_change_an_audit_event():
    event = _some_events(1)[0]
    event.reason = "rewritten"
    with pytest.raises(AuditLogIsAppendOnly):
        db.session.flush()
    db.session.rollback()
    assert db.session.get(AuditEvent, event.id).reason == "reason 0"


def test_orm_cannot_delete_an_audit_event():
    event = _some_events(1)[0]
    db.session.delete(event)
    with pytest.raises(AuditLogIsAppendOnly):
        db.session.flush()
    db.session.rollback()
    assert db.session.get(AuditEvent, event.id) is not None


@pytest.mark.parametrize("statement", [
    update(AuditEvent).values(reason="rewritten"),
    delete(AuditEvent),
], ids=["update", "delete"])
def test_orm_bulk_statements_cannot_change_audit_events(statement):
    """session.execute(update(AuditEvent)) bypasses the flush guard; it is refused as well."""
    _some_events(2)
    with pytest.raises(AuditLogIsAppendOnly):
        db.session.execute(statement)
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.reason.like("reason %"))) == 2


@pytest.mark.parametrize("sql", ["UPDATE audit_events SET reason = 'rewritten'", "DELETE FROM audit_events",
                                 "TRUNCATE audit_events"], ids=["update", "delete", "truncate"])
def test_database_trigger_refuses_raw_update_delete_and_truncate(sql):
    """Raw SQL past the application (PostgreSQL and the embedded SQLite; SQLite has no TRUNCATE)."""
    if sql.startswith("TRUNCATE") and not IS_POSTGRES:
        pytest.skip("SQLite has no TRUNCATE: a DELETE without WHERE is the same statement there")
    _some_events(2)
    with pytest.raises(DBAPIError, match="append-only"):
        db.session.execute(text(sql))
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == 2


# --- hash chain ----------------------------------------------------------------------------------

def _tamper(sql: str, **params) -> None:
    """Change the table behind the application's back, as an attacker who owns the database would: with the
    append-only triggers switched off (PostgreSQL) or dropped and put back (SQLite)."""
    if IS_POSTGRES:
        db.session.execute(text("ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_update_delete"))
    else:
        triggers = db.session.execute(text(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_events'")).all()
        for name, _sql in triggers:
            db.session.execute(text(f'DROP TRIGGER "{name}"'))
    db.session.execute(text(sql), params)
    if IS_POSTGRES:
        db.session.execute(text("ALTER TABLE audit_events ENABLE TRIGGER audit_events_no_update_delete"))
    else:
        for _name, trigger_sql in triggers:
            db.session.execute(text(trigger_sql))
    db.session.commit()
    db.session.expire_all()


def test_intact_chain_verifies():
    _some_events(4)
    assert verify_chain() is None


def test_empty_log_verifies():
    assert verify_chain() is None


def test_changed_row_is_found():
    events = _some_events(4)
    _tamper("UPDATE audit_events SET reason = 'nothing to see' WHERE id = :id", id=events[1].id)
    assert verify_chain() == events[1].id


def test_changed_row_with_recomputed_hash_breaks_the_next_link():
    events = _some_events(4)
    victim = events[1]
    victim_id, next_id = victim.id, events[2].id
    db.session.expunge(victim)  # edit a detached copy: the flush guard is not what is tested here
    victim.reason = "nothing to see"
    _tamper("UPDATE audit_events SET reason = :reason, hash = :hash WHERE id = :id",
            reason=victim.reason, hash=victim.compute_hash(), id=victim_id)
    assert verify_chain() == next_id


def test_deleted_row_is_found():
    events = _some_events(4)
    _tamper("DELETE FROM audit_events WHERE id = :id", id=events[1].id)
    assert verify_chain() == events[2].id


# --- the coordinator's audit log page ------------------------------------------------------------

def _events_on_page(html: str) -> list[str]:
    body = re.search(r"<tbody>(.*?)</tbody>", html, re.S)
    return re.findall(r"<code[^>]*>([^<]*)</code>", body.group(1)) if body else []


@pytest.fixture
def audit_networks():
    a = make_network("log-a")
    b = make_network("log-b")
    alice = make_member(a, "alice@log-a.example", role=Role.COORDINATOR).user
    bob = make_member(a, "bob@log-a.example", role=Role.MEMBER).user
    carol = make_member(b, "carol@log-b.example", role=Role.COORDINATOR).user
    audit.record("seed.alice_read", AuditAction.READ, user_id=alice.id, network_id=a.id, patient_id=4242,
                 object_type="patient", object_id=4242)
    audit.record("seed.alice_search", AuditAction.SEARCH, user_id=alice.id, network_id=a.id,
                 object_type="patient", outcome=AuditOutcome.DENIED)
    with time_machine.travel(datetime(2025, 1, 10, 12, 0, tzinfo=UTC), tick=False):
        audit.record("seed.bob_create", AuditAction.CREATE, user_id=bob.id, network_id=a.id, patient_id=4343,
                     object_type="patient", object_id=4343)
    # Network B: the same patient number and action, so every filter is also checked for scoping.
    audit.record("seed.carol_read", AuditAction.READ, user_id=carol.id, network_id=b.id, patient_id=4242,
                 object_type="patient", object_id=4242)
    audit.record("seed.carol_create", AuditAction.CREATE, user_id=carol.id, network_id=b.id,
                 patient_id=4343, object_type="patient", object_id=4343)
    db.session.commit()
    return {"a": a, "b": b, "alice": alice, "bob": bob, "carol": carol}


SEED_A = {"seed.alice_read", "seed.alice_search", "seed.bob_create"}


@pytest.mark.parametrize(("query", "expected"), [
    ("", SEED_A),
    ("user=alice%40log-a", {"seed.alice_read", "seed.alice_search"}),
    ("user=BOB", {"seed.bob_create"}),
    ("user=carol", set()),
    ("action=C", {"seed.bob_create"}),
    ("action=S", {"seed.alice_search"}),
    ("patient=4242", {"seed.alice_read"}),
    ("patient=4343", {"seed.bob_create"}),
    ("date_from=2025-01-01&date_to=2025-01-31", {"seed.bob_create"}),
    ("date_to=2025-01-09", set()),
    (f"date_from={datetime.now(UTC).date().isoformat()}", {"seed.alice_read", "seed.alice_search"}),
    ("user=bob&action=R", set()),
    ("outcome=denied", {"seed.alice_search"}),
    ("outcome=success", {"seed.alice_read", "seed.bob_create"}),
], ids=lambda v: v if isinstance(v, str) else None)
def test_log_page_filters_and_never_shows_other_networks(client, audit_networks, query, expected):
    login_as(client, audit_networks["alice"])
    response = client.get(f"/n/log-a/audit?{query}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    shown = set(_events_on_page(html))
    assert shown & {"seed.carol_read", "seed.carol_create"} == set()
    assert "carol@log-b.example" not in html
    assert shown & SEED_A == expected
    # Who: each row names its user by email (joined to the page's rows).
    rows = re.findall(r'<td class="who">([^<]*)</td>.*?<code[^>]*>([^<]*)</code>', html, re.S)
    who = {event: email for email, event in rows if event in SEED_A}
    assert who == {event: ("bob" if "bob" in event else "alice") + "@log-a.example" for event in expected}


def test_log_page_is_paginated(client, audit_networks):
    a, alice = audit_networks["a"], audit_networks["alice"]
    for i in range(60):
        audit.record(f"bulk.{i:02d}", AuditAction.EXPORT, user_id=alice.id, network_id=a.id)
    db.session.commit()
    login_as(client, alice)
    first = _events_on_page(client.get("/n/log-a/audit?action=E").get_data(as_text=True))
    second_html = client.get("/n/log-a/audit?action=E&page=2").get_data(as_text=True)
    second = _events_on_page(second_html)
    assert first == [f"bulk.{i:02d}" for i in range(59, 9, -1)]  # newest first, 50 a page
    assert second == [f"bulk.{i:02d}" for i in range(9, -1, -1)]
    assert 'rel="prev"' in second_html and "action=E" in second_html  # the pager keeps the filter
    # A page past the end shows the last page, not an empty one or an error.
    assert _events_on_page(client.get("/n/log-a/audit?action=E&page=99").get_data(as_text=True)) == second


def test_the_log_counts_at_most_the_cap(client, audit_networks, monkeypatch):
    """A log of millions is not counted on every view: the count stops at the cap, the page says "more
    than", and every statement on the log is bounded (a page or a limited count)."""
    from app.networks.views import home
    from tests.conftest import counted_statements
    a, alice = audit_networks["a"], audit_networks["alice"]
    for i in range(30):
        audit.record(f"bulk.{i:02d}", AuditAction.EXPORT, user_id=alice.id, network_id=a.id)
    db.session.commit()
    login_as(client, alice)
    monkeypatch.setattr(home, "AUDIT_COUNT_CAP", 20)
    with counted_statements() as statements:
        html = client.get("/n/log-a/audit?action=E").get_data(as_text=True)
    assert "Meer dan 20 resultaten" in html  # alice reads Dutch, the default
    assert _events_on_page(html) == [f"bulk.{i:02d}" for i in range(29, -1, -1)]  # the page itself is whole
    reads = [s for s in statements if "FROM audit_events" in s and s.lstrip().startswith("SELECT")]
    assert reads and all("LIMIT" in s for s in reads), reads
    monkeypatch.setattr(home, "AUDIT_COUNT_CAP", 100)
    html = client.get("/n/log-a/audit?action=E").get_data(as_text=True)
    assert "30 resultaten" in html and "Meer dan" not in html


def test_reading_the_log_is_logged(client, audit_networks):
    a, alice = audit_networks["a"], audit_networks["alice"]
    login_as(client, alice)
    before = _max_event_id()
    assert client.get("/n/log-a/audit?action=C").status_code == 200
    reads = [e for e in _events_after(before) if e.event == "audit_log.read"]
    assert len(reads) == 1
    read = reads[0]
    assert (read.user_id, read.network_id, read.action, read.outcome, read.object_type, read.user_role) == (
        alice.id, a.id, AuditAction.READ, AuditOutcome.SUCCESS, "audit_log", "coordinator")
    assert "action=C" in read.reason
    # The read shows up in the log itself on the next view.
    assert "audit_log.read" in _events_on_page(client.get("/n/log-a/audit").get_data(as_text=True))


@pytest.mark.parametrize("who", ["bob", "carol"])
def test_log_page_is_404_for_members_and_for_other_networks(client, audit_networks, who):
    login_as(client, audit_networks[who])
    before = _max_event_id()
    response = client.get("/n/log-a/audit")
    assert response.status_code == 404
    assert not SEED_A & set(_events_on_page(response.get_data(as_text=True)))
    assert "seed." not in response.get_data(as_text=True)
    assert not [e for e in _events_after(before) if e.event == "audit_log.read"]


# --- denied access -------------------------------------------------------------------------------

def test_access_to_another_networks_patient_is_404_and_logged_as_denied(client, new_client):
    a = make_network("deny-a")
    b = make_network("deny-b")
    coordinator_a = make_member(a, "coordinator@deny-a.example", role=Role.COORDINATOR).user
    intruder = make_member(b, "coordinator@deny-b.example", role=Role.COORDINATOR).user
    patient = make_patient(a, given_name="Geheim", family_name="Patientnaam", created_by=coordinator_a)
    login_as(client, intruder)
    before = _max_event_id()

    response = client.get(f"/n/deny-a/patients/{patient.id}")

    assert response.status_code == 404
    assert "Patientnaam" not in response.get_data(as_text=True)
    events = _events_after(before)
    denied = [e for e in events if e.outcome is AuditOutcome.DENIED]
    assert _describe(denied) == [("network.access_denied", intruder.id, a.id, None, "network", "denied")], \
        _describe(events)
    assert denied[0].object_id == a.id
    assert f"/n/deny-a/patients/{patient.id}" in denied[0].reason
    assert not [e for e in events if e.event == "patient.viewed"]
    # Network A's coordinator sees the attempt in the periodic review of the log.
    other = login_as(new_client(), coordinator_a)
    assert "network.access_denied" in _events_on_page(other.get("/n/deny-a/audit").get_data(as_text=True))


# --- technical logs ------------------------------------------------------------------------------

def test_no_patient_data_in_technical_logs(client, caplog):
    """Register, search and view a patient with canary values at DEBUG: no log record carries them."""
    caplog.set_level(logging.DEBUG)
    network = make_network("logs")
    coordinator = make_member(network, "coordinator@logs.example", role=Role.COORDINATOR).user
    canary_bsn, canary_given, canary_family = "732849160", "Canaryxqgiven", "Canaryxqfamily"
    canary_phone = "0699887766"
    login_as(client, coordinator)

    refused = client.post("/n/logs/patients/new", data={
        "given_name": canary_given, "family_name": canary_family, "date_of_birth": "1962-02-03",
        "bsn": "732849161", "postcode": "2012 AB", "phone": canary_phone})  # fails the 11-test
    assert refused.status_code == 200
    response = client.post("/n/logs/patients/new", data={
        "given_name": canary_given, "family_name": canary_family, "date_of_birth": "1962-02-03",
        "bsn": canary_bsn, "postcode": "2012 AB", "phone": canary_phone})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    detail = client.get(response.headers["Location"])
    assert detail.status_code == 200 and canary_family in detail.get_data(as_text=True)  # the walk is real
    assert canary_family in client.post("/n/logs/patients/", data={"q": canary_family}).get_data(as_text=True)
    client.post("/n/logs/patients/", data={"q": canary_bsn})

    canaries = (canary_bsn, "732849161", canary_given, canary_family, canary_phone)
    for record in caplog.records:
        rendered = " ".join([record.getMessage(), record.exc_text or "", repr(record.__dict__)])
        leaked = [c for c in canaries if c in rendered]
        assert not leaked, f"log record {record.name}:{record.levelname} carries {leaked}"
    assert not [c for c in canaries if c in caplog.text]
    # The audit trail is a log too: it names the patient by id, never by name or BSN.
    for event in _events_after(0):
        assert not [c for c in canaries if c in f"{event.reason} {event.user_agent} {event.event}"]


def test_a_member_refused_a_coordinator_page_is_logged(client):
    network = make_network("rollen")
    plain = make_member(network, "lid@example.nl")
    login_as(client, plain.user)
    assert client.get("/n/rollen/audit").status_code == 404
    denied = db.session.scalars(select(AuditEvent).where(AuditEvent.event == "network.role_denied")).all()
    assert len(denied) == 1
    assert denied[0].outcome.value == "denied" and denied[0].user_id == plain.user_id
    assert denied[0].network_id == network.id and denied[0].reason == "GET /n/rollen/audit"


def _fhir_walk_requests(http, token):
    """One request per marked FHIR endpoint: (endpoint, response). A new marked FHIR route fails the walk
    until it is added here."""
    from tests.fhir_helpers import bearer, bundle

    posted = http.post("/fhir/R4/", json=bundle(), headers=bearer(token))
    referral_id = int(posted.get_json()["entry"][0]["resource"]["id"])
    entries = {e["resource"]["resourceType"]: e["resource"] for e in bundle()["entry"]}
    lone = dict(entries["ServiceRequest"], identifier=[{"system": "urn:test", "value": "second"}],
                contained=[dict(entries[k], id=k.lower()) for k in ("Patient", "Condition", "MedicationStatement",
                                                                     "Observation", "Consent")])
    yield "fhir.transaction", posted, None
    yield "fhir.create_service_request", http.post("/fhir/R4/ServiceRequest", json=lone, headers=bearer(token)), None
    yield "fhir.read_task", http.get(f"/fhir/R4/Task/{referral_id}", headers=bearer(token)), referral_id


def _fhir_case_walk_requests(http, token, case_referral_id: int, letter_id: int):
    """The reads of the case behind a referral, by the GP's system."""
    from tests.fhir_helpers import bearer

    task = f"task=Task/{case_referral_id}"
    yield "fhir.search_letters", http.get(f"/fhir/R4/DocumentReference?{task}", headers=bearer(token))
    yield "fhir.read_letter", http.get(f"/fhir/R4/DocumentReference/{letter_id}", headers=bearer(token))
    yield "fhir.read_binary", http.get(f"/fhir/R4/Binary/{letter_id}", headers=bearer(token))
    yield "fhir.search_communications", http.get(f"/fhir/R4/Communication?{task}", headers=bearer(token))
    yield "fhir.search_care_team", http.get(f"/fhir/R4/CareTeam?{task}", headers=bearer(token))


def test_every_fhir_route_audits_the_client(app, client):
    """Every @patient_data FHIR route writes an audit row with the API client as actor (and the GP it acts
    for, and the patient). Drop log_read from read_task and its GET adds no row: this names it."""
    from tests.fhir_helpers import get_token, make_verified_gp, register

    network = make_network("noord", approved_at=utcnow())
    coordinator = make_member(network, "coord@example.nl", role=Role.COORDINATOR)
    gp = make_verified_gp()
    api_client, secret = register(gp)
    token = get_token(client, api_client, secret)
    walked = set()
    before = _max_event_id()
    for endpoint, response, referral_id in _fhir_walk_requests(client, token):
        assert response.status_code in (200, 201), f"{endpoint}: {response.status_code}"
        rows = _events_after(before)
        before = _max_event_id()
        assert rows, f"{endpoint} wrote no audit row"
        assert all(row.api_client_id == api_client.id and row.user_role == "api_client" for row in rows), endpoint
        assert all(row.user_id == gp.id and row.network_id == network.id for row in rows), endpoint
        if referral_id is not None:
            with network_context(network.id):
                patient_id = db.session.scalar(select(Referral.patient_id).where(Referral.id == referral_id))
            assert patient_id in {row.patient_id for row in rows}, endpoint
        walked.add(endpoint)

    # The case behind a referral: the GP's system reads letters and team; the network's system the consents.
    from app.cases.models import Letter
    from app.core.jobs import run_inline_pending
    from app.fhir import clients as api_clients
    from tests.case_factories import make_case

    case = make_case(network, gp, coordinator)
    from app.cases.services import letters as letter_services

    with network_context(network.id):
        letter = db.session.scalar(select(Letter).where(Letter.case_id == case.id))
        letter_services.send_letter(letter, coordinator.user)
        db.session.commit()
        letter_id = letter.id
    run_inline_pending()  # the letter's PDF
    network_client, network_secret = register(coordinator.user, scopes=api_clients.NETWORK_SCOPES, network=network)
    network_token = get_token(client, network_client, network_secret)

    def case_requests():
        for endpoint, response in _fhir_case_walk_requests(client, token, case.referral_id, letter_id):
            yield endpoint, response, api_client, gp.id
        yield ("fhir.search_consents", client.get(f"/fhir/R4/Consent?task=Task/{case.referral_id}",
                                                  headers={"Authorization": f"Bearer {network_token}"}),
               network_client, None)
        yield ("fhir.search_record", client.get(f"/fhir/R4/Composition?task=Task/{case.referral_id}",
                                                headers={"Authorization": f"Bearer {network_token}"}),
               network_client, None)

    before = _max_event_id()
    for endpoint, response, by, user_id in case_requests():  # each request runs when its turn comes
        assert response.status_code == 200, f"{endpoint}: {response.status_code} {response.get_data()[:300]}"
        rows = _events_after(before)
        before = _max_event_id()
        assert rows, f"{endpoint} wrote no audit row"
        assert all(row.api_client_id == by.id and row.user_role == "api_client" for row in rows), endpoint
        assert all(row.user_id == user_id and row.network_id == network.id for row in rows), endpoint
        assert case.patient_id in {row.patient_id for row in rows}, endpoint
        walked.add(endpoint)
    marked = {endpoint for endpoint in _marked_endpoints(app) if endpoint.startswith("fhir.")}
    assert marked == walked, f"walk these FHIR routes too: {sorted(marked - walked)}"


def test_the_audit_log_says_in_words_what_happened_and_keeps_the_code(app):
    from flask_babel import force_locale

    from app.core.audit_words import event_label, event_words

    with app.test_request_context(), force_locale("en"):
        _assert_words(event_label, event_words)


def _assert_words(event_label, event_words):
    assert event_words("case.intake_viewed", "Viewed", "case") == "Read the intake"
    assert event_words("api_client.registered", "Created", "api_client") == "Created: connected system"
    assert event_words("something.new", "Changed", "") == "Changed"
    assert event_label("something.new") == "something.new"  # the patient's overview shows an unknown code as is


def test_the_audit_page_shows_words_next_to_the_code(client, audit_networks):
    login_as(client, audit_networks["alice"])
    client.get("/n/log-a/audit")  # this read is itself a row of the log
    html = client.get("/n/log-a/audit").get_data(as_text=True)
    body = re.search(r"<tbody>(.*?)</tbody>", html, re.S).group(1)
    assert "Ingezien: auditlog" in body and ">audit_log.read</code>" in body
