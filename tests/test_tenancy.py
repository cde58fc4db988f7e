"""Tenant isolation: the ORM safety net, the flush guard, and a walk over every route.

The route walk classifies every rule in app.url_map. A new route that is not classified here
fails test_every_route_is_classified, so isolation is checked for it before it can land.
"""
from __future__ import annotations

from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from app.core.db import NetworkScopedMixin, utcnow
from app.core.tenancy import CrossNetworkWrite, NoNetworkContext, all_networks, network_context
from app.extensions import db
from app.networks.models import Membership, Role, ServiceAreaRange
from app.patients.models import Patient
from app.records import services as record_services
from app.records.models import RecordSource, SectionKey
from tests.conftest import (
    login_as,
    make_contact,
    make_gp,
    make_meeting,
    make_member,
    make_network,
    make_patient,
    make_training,
    make_user,
)
from tests.portal_factories import make_portal_world
from tests.quality_factories import FAKE_PDF, make_evidence, make_snapshot
from tests.world import make_case_world

# Routes outside any network: reachable without a membership (some without signing in).
GLOBAL_ENDPOINTS = {
    "static", "main.index", "main.healthz", "main.set_locale", "main.favicon", "main.dev_mail",
    "auth.login", "auth.mfa_verify", "auth.mfa_setup", "auth.logout", "auth.forgot_password",
    "auth.reset_password", "auth.accept_invitation", "auth.reset_password_link", "auth.accept_invitation_link",
    "auth.account", "auth.change_password",
    "auth.reset_own_mfa",
}
# Platform administration: no network, no patient data; 404 for everyone but platform admins.
ADMIN_ENDPOINTS = {"admin.networks", "admin.create_network", "admin.users", "admin.user_operation"}
# Network routes; the value names the URL arguments that are ids of network-owned objects.
NETWORK_ENDPOINTS: dict[str, dict[str, str]] = {
    "networks.home": {},
    "networks.members": {},
    "networks.invite_member": {},
    "networks.audit_log": {},
    "networks.member_detail": {"membership_id": "member"},
    "networks.member_set_active": {"membership_id": "member"},
    "networks.settings": {},
    "networks.contacts": {},
    "networks.contact_create": {},
    "networks.contact_edit": {"contact_id": "contact"},
    "networks.contact_delete": {"contact_id": "contact"},
    "networks.member_edit": {"membership_id": "member"},
    "networks.training_add": {"membership_id": "member"},
    "networks.training_delete": {"membership_id": "member", "training_id": "training"},
    "networks.members_import": {},
    "networks.members_import_confirm": {},
    "networks.members_export": {},
    "patients.index": {},
    "patients.create": {},
    "patients.detail": {"patient_id": "patient"},
    "quality.index": {},
    "quality.add_evidence": {},
    "quality.evidence_download": {"evidence_id": "evidence"},
    "quality.evidence_remove": {"evidence_id": "evidence"},
    "quality.snapshots": {},
    "quality.freeze": {},
    "quality.snapshot_detail": {"snapshot_id": "snapshot"},
    "quality.snapshot_pdf": {"snapshot_id": "snapshot"},
    "quality.snapshot_pdf_download": {"snapshot_id": "snapshot"},
    "meetings.index": {},
    "meetings.create": {},
    "meetings.participation": {},
    "meetings.detail": {"meeting_id": "meeting"},
    "meetings.edit": {"meeting_id": "meeting"},
    "meetings.delete": {"meeting_id": "meeting"},
    "referrals.index": {},
    "referrals.dashboard": {},
    "referrals.detail": {"referral_id": "referral"},
    "referrals.act": {"referral_id": "referral"},
    "referrals.attachment": {"referral_id": "referral", "attachment_id": "attachment"},
    "referrals.match_link": {"referral_id": "referral"},
    "referrals.match_dismiss": {"referral_id": "referral"},
    "patients.merge": {"patient_id": "patient", "duplicate_id": "duplicate"},
    "patients.export_json": {"patient_id": "patient"},
    "patients.export_pdf": {"patient_id": "patient"},
    "cases.index": {},
    "cases.intake": {"referral_id": "intake_referral"},
    "cases.detail": {"case_id": "case"},
    "cases.proposal": {"case_id": "case"},
    "cases.team_propose": {"case_id": "case"},
    "cases.team_respond": {"case_id": "case", "member_id": "team_member"},
    "cases.central_set": {"case_id": "case"},
    "cases.intake_version": {"case_id": "case", "version": "version"},
    "cases.record_section": {"case_id": "case", "key": "section_key"},
    "cases.record_section_edit": {"case_id": "case", "key": "section_key"},
    "cases.intake_correct": {"case_id": "case"},
    "cases.consents": {"case_id": "case"},
    "cases.consent_withdraw": {"case_id": "case", "consent_id": "consent"},
    "cases.consent_document": {"case_id": "case", "consent_id": "consent"},
    "cases.consent_overview": {"case_id": "case"},
    "cases.consent_export": {"case_id": "case"},
    "cases.notes": {"case_id": "case"},
    "cases.note_edit": {"case_id": "case", "note_id": "note"},
    "cases.actions": {"case_id": "case"},
    "cases.action_done": {"case_id": "case", "action_id": "action"},
    "cases.proms": {"case_id": "case"},
    "cases.close": {"case_id": "case"},
    "cases.letters": {"case_id": "case"},
    "cases.letter_edit": {"case_id": "case", "letter_id": "letter"},
    "cases.letter_new": {"case_id": "case"},
    "cases.letter_send": {"case_id": "case", "letter_id": "letter"},
    "cases.letter_pdf": {"case_id": "case", "letter_id": "letter"},
    "cases.gp_thread": {"case_id": "case"},
    "palliative.roles": {"case_id": "case"},
    "palliative.path": {"case_id": "case"},
    "norms.overdue": {},
    "norms.settings": {},
    "systems.index": {},
    "systems.revoke": {"api_client_id": "api_client"},
    "palliative.contacts": {},
    "palliative.contact_new": {},
    "palliative.contact_edit": {"contact_id": "care_contact"},
    "palliative.contact_remove": {"contact_id": "care_contact"},
    "portal_network.referral_portal": {"referral_id": "case_referral"},
    "portal_network.revoke_account": {"referral_id": "case_referral", "account_id": "second_relative"},
}
# GET routes the coordinator of the objects' own network does not get a 200 for, and why.
OWN_NOT_200 = {
    "cases.proposal": "only the proposed member opens a proposal",
    "cases.consent_document": "the walk's consent has no signed document",
    "cases.letter_pdf": "the PDF is made by a job that the walk does not run",
}
# The referrer's own referrals across networks (the only door across networks): URL argument -> kind.
GP_ENDPOINTS: dict[str, dict[str, str]] = {
    "gp_portal.index": {},
    "gp_portal.new": {},
    "gp_portal.edit_draft": {"referral_id": "draft"},
    "gp_portal.discard_draft": {"referral_id": "draft"},
    "gp_portal.confirmation": {"referral_id": "referral"},
    "gp_portal.detail": {"referral_id": "referral"},
    "gp_portal.answer": {"referral_id": "referral"},
    "gp_portal.withdraw": {"referral_id": "referral"},
    "gp_portal.download": {"referral_id": "referral", "attachment_id": "attachment"},
    "gp_portal.case_letter": {"referral_id": "case_referral", "letter_id": "letter"},
    "gp_portal.case_question": {"referral_id": "case_referral"},
    "gp_portal.case_mdo_input": {"referral_id": "case_referral", "discussion_id": "mdo_discussion"},
    "gp_portal.network_contacts": {},  # no referral id: the slug, checked against the GP's own referrals
    "gp_portal.systems": {},  # the GP's own systems only
    "gp_portal.system_revoke": {"api_client_id": "gp_api_client"},
}
ADMIN_ENDPOINTS |= {"admin.jobs"}
# The public directory (no sign-in; applying needs one) and approving applications.
GLOBAL_ENDPOINTS |= {"directory.index", "directory.network", "directory.apply"}
# The role guides (/hulp): public, no network, no patient data; only known roles, sections and images answer.
GLOBAL_ENDPOINTS |= {"help.guide", "help.section", "help.image"}
# The open HSDS feed: public networks only (tests/test_hsds_feed.py shows a hidden network's id is a 404).
GLOBAL_ENDPOINTS |= {"directory.hsds_root", "directory.hsds_organizations", "directory.hsds_organization",
                     "directory.hsds_services", "directory.hsds_service"}
# The patient portal (/mijn): the patient's and relatives' own accounts across networks (URL argument -> kind).
PORTAL_ENDPOINTS: dict[str, dict[str, str]] = {
    "patient_portal.index": {},
    "patient_portal.record": {"account_id": "portal_account"},
    "patient_portal.letter": {"account_id": "portal_account", "letter_id": "letter"},
    "patient_portal.consents": {"account_id": "portal_account"},
    "patient_portal.proposal": {"account_id": "portal_account", "member_id": "waiting_proposal"},
    "patient_portal.withdraw": {"account_id": "portal_account", "consent_id": "consent"},
    "patient_portal.access_log": {"account_id": "portal_account"},
    "patient_portal.questionnaire": {"account_id": "portal_account"},
    "patient_portal.relatives": {"account_id": "portal_account"},
    "patient_portal.relative_revoke": {"account_id": "portal_account", "relative_id": "relative_account"},
    "patient_portal.messages": {"account_id": "portal_account"},
    "patient_portal.my_data": {"account_id": "portal_account"},
    "patient_portal.export_json": {"account_id": "portal_account"},
    "patient_portal.export_pdf": {"account_id": "portal_account"},
}
GLOBAL_ENDPOINTS |= set(PORTAL_ENDPOINTS)
# GP / practice-nurse accounts: not bound to a network (a link id is checked against the GP's own profile).
GP_ACCOUNT_ENDPOINTS = {"gp_portal.register", "gp_portal.verify_email", "gp_portal.verify_email_link",
                        "gp_portal.resend_verification",
                        "gp_portal.practice", "gp_portal.confirm_link", "gp_portal.refuse_link"}
GLOBAL_ENDPOINTS |= GP_ACCOUNT_ENDPOINTS
ADMIN_ENDPOINTS |= {"admin.approve_network", "admin.erase_patient"}
GLOBAL_ENDPOINTS |= set(GP_ENDPOINTS)


def _canary(tag: str) -> str:
    return f"CANARY{tag}X"


@pytest.fixture
def two_networks():
    """Networks A and B with a coordinator, a member and a patient each; canaries in text columns."""
    made = {}
    for tag in ("A", "B"):
        network = make_network(f"net-{tag.lower()}", name=f"Netwerk {_canary(tag)}")
        coordinator = make_member(network, f"coordinator-{tag}@example.nl", role=Role.COORDINATOR,
                                  name=f"Coordinator {_canary(tag)}", disciplines=("casemanager",))
        member = make_member(network, f"member-{tag}@example.nl", name=f"Member {_canary(tag)}",
                             disciplines=("dietist",))
        patient = make_patient(network, given_name=_canary(tag), family_name=_canary(tag),
                               created_by=coordinator.user)
        meeting = make_meeting(network, title=f"Meeting {_canary(tag)}", notes=_canary(tag), attendees=(member,))
        made[tag] = {"network": network, "coordinator": coordinator, "member": member, "patient": patient,
                     "meeting": meeting}
        made[tag]["contact"] = make_contact(network, f"Hospital {_canary(tag)}")  # canary in the organisation
        made[tag]["training"] = make_training(member, course=f"Course {_canary(tag)}")  # canary in the course
        made[tag]["evidence"] = make_evidence(coordinator, text=f"Evidence {_canary(tag)}")  # text canary
        made[tag]["snapshot"] = make_snapshot(coordinator, reason=f"Reason {_canary(tag)}", pdf=FAKE_PDF)
        gp = make_gp(f"gp-{tag.lower()}@example.nl", "0000000" + str(len(made)), name=f"GP {_canary(tag)}",
                     email_verified_at=utcnow())
        network.approved_at = utcnow()
        db.session.commit()
        made[tag]["gp"] = gp
        made[tag].update(make_case_world(network, coordinator, member, gp, canary=_canary(tag)))
        made[tag]["section_key"] = SimpleNamespace(id=SectionKey.STORY.value)  # a section of the case's record
        portal = make_portal_world(network, coordinator, made[tag]["case"], canary=_canary(tag), tag=tag.lower())
        made[tag].update({kind: SimpleNamespace(id=value) if isinstance(value, int) else value
                          for kind, value in portal.items()})
        with network_context(network.id):
            db.session.add(ServiceAreaRange(network_id=network.id, first=2011 + len(made), last=2011 + len(made)))
            record_services.write_section(made[tag]["patient"].id, SectionKey.STORY, {"story": _canary(tag)},
                                          actor=coordinator.user, reason="walk", source=RecordSource.COORDINATOR)
            db.session.commit()
        # A connected system of the network (its coordinator's page) and one of the GP (the GP's page).
        from app.fhir.models import ApiClient

        for kind, owner in (("api_client", {"network_id": network.id}), ("gp_api_client", {"owner_user_id": gp.id})):
            row = ApiClient(client_id=f"{kind}-{tag}", name=f"EPD {_canary(tag)}", secret_hash="-",
                            scope="system/Task.read", registered_by_id=coordinator.user_id, **owner)
            db.session.add(row)
            db.session.commit()
            made[tag][kind] = SimpleNamespace(id=row.id)
    return made


def test_the_walk_seeds_every_network_owned_model_in_both_networks(two_networks):
    """A new network-owned model without a row in the walk's networks fails here: the route walks
    below would otherwise never try to reach it across networks."""
    scoped = [mapper.class_ for mapper in db.Model.registry.mappers
              if issubclass(mapper.class_, NetworkScopedMixin)]
    assert len(scoped) >= 25
    missing = []
    for tag in ("A", "B"):
        network_id = two_networks[tag]["network"].id
        with network_context(network_id):
            missing += [f"{model.__name__} in {tag}" for model in scoped
                        if not db.session.scalar(select(func.count()).select_from(model))]
    assert missing == [], f"seed these in two_networks: {missing}"


def _substitute(rule_text: str, values: dict) -> str:
    for name, value in values.items():
        rule_text = rule_text.replace(f"<int:{name}>", str(value)).replace(f"<{name}>", str(value))
    return rule_text


def _network_urls(app, slug: str, objects: dict) -> list[tuple[str, str]]:
    urls = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint not in NETWORK_ENDPOINTS:
            continue
        ids = {name: objects[kind].id for name, kind in NETWORK_ENDPOINTS[rule.endpoint].items()}
        path = _substitute(rule.rule.replace("<network_slug>", slug), ids)
        for method in sorted(rule.methods & {"GET", "POST"}):
            urls.append((method, path))
    return urls


def _table_counts() -> dict[str, int]:
    return {table.name: db.session.scalar(select(func.count()).select_from(table))
            for table in db.metadata.sorted_tables if table.name not in ("audit_events", "user_sessions")}


# The FHIR API (one base URL for every network: the tenant comes from the token's client, never the URL).
# Public: the CapabilityStatement and the OAuth endpoints. Bearer-only: the value names the URL arguments
# that are ids of network-owned objects; test_fhir_routes_answer_404_for_another_networks_ids walks them.
FHIR_PUBLIC_ENDPOINTS = {"fhir.metadata", "fhir.token", "fhir.revoke"}
FHIR_ENDPOINTS: dict[str, dict[str, str]] = {
    "fhir.read_task": {"referral_id": "referral"},
    # "?task": the search parameter task=Task/<id> of the case's referral.
    "fhir.search_letters": {"?task": "case_referral"},
    "fhir.read_letter": {"letter_id": "letter"},
    "fhir.read_binary": {"letter_id": "letter"},
    "fhir.search_communications": {"?task": "case_referral"},
    "fhir.search_care_team": {"?task": "case_referral"},
    "fhir.search_consents": {"?task": "case_referral"},
    "fhir.search_record": {"?task": "case_referral"},
    "fhir.create_subscription": {},  # POST only: tests/test_fhir_subscriptions.py
    "fhir.subscription": {"subscription_id": "fhir_subscription"},  # the client's own (A) or another's (B)
    "fhir.transaction": {},  # POST only: creates in the network the body names (test_fhir_api)
    "fhir.create_service_request": {},
}
GLOBAL_ENDPOINTS |= FHIR_PUBLIC_ENDPOINTS
# The letters are the GP's (the GP's own system reads them); the consents the network's (its own system).
FHIR_GP_SYSTEM_ONLY = {"fhir.search_letters", "fhir.read_letter", "fhir.read_binary", "fhir.search_communications"}
FHIR_NETWORK_SYSTEM_ONLY = {"fhir.search_consents", "fhir.search_record"}


def test_every_route_is_classified(app):
    known = GLOBAL_ENDPOINTS | ADMIN_ENDPOINTS | set(NETWORK_ENDPOINTS) | set(FHIR_ENDPOINTS)
    unclassified = sorted({rule.endpoint for rule in app.url_map.iter_rules()} - known)
    assert not unclassified, f"add these routes to the isolation walk: {unclassified}"
    network_rules = {rule.endpoint for rule in app.url_map.iter_rules() if "<network_slug>" in rule.rule}
    assert network_rules == set(NETWORK_ENDPOINTS), "every /n/<network_slug>/ route must be walked"
    for rule in app.url_map.iter_rules():
        if rule.endpoint in NETWORK_ENDPOINTS:
            id_args = {a for a in rule.arguments if a != "network_slug"}
            assert id_args == set(NETWORK_ENDPOINTS[rule.endpoint]), rule.rule


@pytest.mark.parametrize("role", ["coordinator", "member"])
def test_users_of_b_get_404_for_everything_of_a(app, client, two_networks, role):
    a, b = two_networks["A"], two_networks["B"]
    login_as(client, getattr(b[role], "user"))
    before = _table_counts()
    for method, path in _network_urls(app, a["network"].slug, a):
        response = client.open(path, method=method, data={} if method == "POST" else None)
        assert response.status_code == 404, (method, path, response.status_code)
        assert _canary("A") not in response.get_data(as_text=True), (method, path)
    db.session.expire_all()
    assert _table_counts() == before


@pytest.mark.parametrize("role", ["coordinator", "member"])
def test_users_of_a_get_404_for_ids_of_b_under_their_own_slug(app, client, two_networks, role):
    a, b = two_networks["A"], two_networks["B"]
    login_as(client, getattr(a[role], "user"))
    before = _table_counts()
    walked = 0
    for method, path in _network_urls(app, a["network"].slug, b):
        if not NETWORK_ENDPOINTS[app.url_map.bind("x").match(path, method=method)[0]]:
            continue  # no object id in this route: covered by the slug walk
        walked += 1
        response = client.open(path, method=method, data={} if method == "POST" else None)
        assert response.status_code == 404, (method, path, response.status_code)
        assert _canary("B") not in response.get_data(as_text=True), (method, path)
    assert walked >= 3
    db.session.expire_all()
    assert _table_counts() == before


def test_own_objects_are_reachable_so_the_walk_is_meaningful(app, client, two_networks):
    """The 404s above must come from isolation, not from broken routes: A's coordinator gets 200."""
    a = two_networks["A"]
    login_as(client, a["coordinator"].user)
    for method, path in _network_urls(app, a["network"].slug, a):
        endpoint = app.url_map.bind("x").match(path, method=method)[0]
        if method == "GET" and endpoint not in OWN_NOT_200:
            response = client.get(path)
            assert response.status_code == 200, (path, response.status_code)


def _gp_urls(app, objects: dict) -> list[tuple[str, str, str]]:
    urls = []
    for rule in app.url_map.iter_rules():
        kinds = GP_ENDPOINTS.get(rule.endpoint)
        if not kinds:
            continue  # no object id: nothing of another referrer to reach
        path = _substitute(rule.rule, {name: objects[kind].id for name, kind in kinds.items()})
        urls.extend((rule.endpoint, method, path) for method in sorted(rule.methods & {"GET", "POST"}))
    return urls


def test_every_gp_route_is_walked(app):
    gp_rules = {rule.endpoint for rule in app.url_map.iter_rules() if rule.endpoint.startswith("gp_portal.")}
    # Every portal route is either an account page (no referral to reach) or walked below.
    assert gp_rules - GP_ACCOUNT_ENDPOINTS == set(GP_ENDPOINTS)
    assert GP_ACCOUNT_ENDPOINTS <= gp_rules
    for rule in app.url_map.iter_rules():
        if rule.endpoint in GP_ENDPOINTS:
            assert {a for a in rule.arguments if a != "slug"} == set(GP_ENDPOINTS[rule.endpoint]), rule.rule


@pytest.mark.parametrize("who", ["other_gp", "coordinator", "member"])
def test_a_gp_sees_only_their_own_referrals(app, client, two_networks, who):
    """GP B, and A's own coordinator and member (not referrers), get 404 for every GP route of GP A."""
    a, b = two_networks["A"], two_networks["B"]
    user = {"other_gp": b["gp"], "coordinator": a["coordinator"].user, "member": a["member"].user}[who]
    login_as(client, user)
    before = _table_counts()
    urls = _gp_urls(app, a)
    assert len(urls) >= 9
    for endpoint, method, path in urls:
        response = client.open(path, method=method, data={"body": "x", "action": "draft"} if method == "POST" else None)
        assert response.status_code == 404, (who, method, path, response.status_code)
        assert _canary("A") not in response.get_data(as_text=True), (method, path)
    db.session.expire_all()
    assert _table_counts() == before


def test_the_gp_reaches_their_own_referral_in_another_network(app, client, two_networks):
    """The control: GP A gets 200 on the GP routes with A's ids (so the 404s above are isolation)."""
    a = two_networks["A"]
    login_as(client, a["gp"])
    for endpoint, method, path in _gp_urls(app, a):
        if method == "GET":
            response = client.get(path)
            assert response.status_code == 200, (path, response.status_code)


@pytest.mark.parametrize("who", ["gp", "outsider", "admin"])
def test_users_without_membership_get_404_on_every_network_route(app, client, two_networks, who):
    a = two_networks["A"]
    user = {"gp": lambda: make_gp(),
            "outsider": lambda: make_user("nobody@example.nl"),
            "admin": lambda: make_user("root@example.nl", is_platform_admin=True)}[who]()
    login_as(client, user)
    for method, path in _network_urls(app, a["network"].slug, a):
        response = client.open(path, method=method, data={} if method == "POST" else None)
        assert response.status_code == 404, (who, method, path)
        assert _canary("A") not in response.get_data(as_text=True)


def test_unknown_and_foreign_slugs_answer_alike(client, two_networks):
    login_as(client, two_networks["B"]["coordinator"].user)
    unknown = client.get("/n/does-not-exist/")
    foreign = client.get(f"/n/{two_networks['A']['network'].slug}/")
    assert unknown.status_code == foreign.status_code == 404


def test_anonymous_requests_for_networks_go_to_login_whether_or_not_the_slug_exists(client, two_networks):
    for slug in (two_networks["A"]["network"].slug, "does-not-exist"):
        response = client.get(f"/n/{slug}/members")
        assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_admin_routes_are_404_for_network_users(app, client, two_networks):
    login_as(client, two_networks["A"]["coordinator"].user)
    user_id = two_networks["B"]["member"].user_id
    for path in ("/admin/", "/admin/networks/new", "/admin/users", "/admin/jobs",
                 f"/admin/users/{user_id}/deactivate", f"/admin/users/{user_id}/reset-mfa",
                 f"/admin/networks/{two_networks['B']['network'].id}/approve"):
        assert client.get(path).status_code == 404, path
        assert client.post(path, data={}).status_code in (404, 405), path


# --- the ORM safety net ----------------------------------------------------------------------

def test_query_on_network_data_without_a_network_fails_closed(two_networks):
    with pytest.raises(NoNetworkContext):
        db.session.scalars(select(Patient)).all()


def test_queries_see_only_the_current_network(two_networks):
    a, b = two_networks["A"], two_networks["B"]
    a_network_id, a_patient_id, b_patient_id = a["network"].id, a["patient"].id, b["patient"].id
    db.session.expunge_all()  # the identity map would otherwise hand back B's loaded rows
    with network_context(a_network_id):
        patients = db.session.scalars(select(Patient)).all()
        assert a_patient_id in [p.id for p in patients] and {p.network_id for p in patients} == {a_network_id}
        assert db.session.scalar(select(Patient).where(Patient.id == b_patient_id)) is None
        members = db.session.scalars(select(Membership)).all()
        assert {m.network_id for m in members} == {a_network_id}
        # Joins and subqueries are scoped too: A's patients made by A's members, none of B's.
        count = db.session.scalar(select(func.count()).select_from(Patient).join(
            Membership, Membership.user_id == Patient.created_by_id))
    everywhere = db.session.scalar(all_networks(select(func.count()).select_from(Patient).join(
        Membership, (Membership.user_id == Patient.created_by_id) & (Membership.network_id == a_network_id))
        .where(Patient.network_id == a_network_id)))
    assert count == everywhere >= 1


def test_a_prebuilt_statement_is_scoped_to_each_network_it_runs_in(two_networks):
    """tenancy.prebuilt keeps one scoped copy per network: a statement built once and run in A, then in B, then in
    A again sees only the network it runs in each time, and without a network it still fails closed."""
    from sqlalchemy import bindparam

    from app.core import tenancy

    a, b = two_networks["A"], two_networks["B"]
    ids = {tag: (two_networks[tag]["network"].id, two_networks[tag]["patient"].id) for tag in ("A", "B")}
    statement = tenancy.prebuilt(select(Patient.id, Patient.network_id).where(Patient.id.in_(bindparam("ids",
                                                                                                     expanding=True))))
    both = {"ids": [a["patient"].id, b["patient"].id]}
    db.session.expunge_all()
    for tag in ("A", "B", "A"):
        network_id, patient_id = ids[tag]
        with network_context(network_id):
            assert db.session.execute(statement, both).all() == [(patient_id, network_id)]
    assert (id(statement), ids["A"][0]) in tenancy._scoped_copies  # kept, not rebuilt on every run
    with pytest.raises(NoNetworkContext):
        db.session.execute(statement, both).all()


def test_flush_guard_refuses_writing_another_networks_row(two_networks):
    a, b = two_networks["A"], two_networks["B"]
    with network_context(a["network"].id):
        foreign = Patient(network_id=b["network"].id, given_name="X", family_name="Y",
                          date_of_birth=a["patient"].date_of_birth, created_by_id=a["coordinator"].user_id)
        db.session.add(foreign)
        with pytest.raises(CrossNetworkWrite):
            db.session.flush()
        db.session.rollback()


def test_flush_guard_refuses_network_rows_without_a_network(two_networks):
    a = two_networks["A"]
    db.session.add(Patient(network_id=a["network"].id, given_name="X", family_name="Y",
                           date_of_birth=a["patient"].date_of_birth, created_by_id=a["coordinator"].user_id))
    with pytest.raises(CrossNetworkWrite):
        db.session.flush()
    db.session.rollback()


def test_new_rows_take_the_current_network(two_networks):
    a = two_networks["A"]
    with network_context(a["network"].id):
        patient = Patient(given_name="Nieuw", family_name="Patiënt", date_of_birth=a["patient"].date_of_birth,
                          created_by_id=a["coordinator"].user_id)
        db.session.add(patient)
        db.session.flush()
        assert patient.network_id == a["network"].id
        db.session.rollback()


def _fhir_systems(two_networks):
    """For network A: its coordinator's system and its GP's system, each with a token."""
    from app.fhir import clients as api_clients
    from tests.fhir_helpers import register

    network_client, network_secret = register(two_networks["A"]["coordinator"].user,
                                              scopes=api_clients.NETWORK_SCOPES, network=two_networks["A"]["network"])
    gp_client, gp_secret = register(two_networks["A"]["gp"])
    return {"network system": (network_client, network_secret), "gp system": (gp_client, gp_secret)}


@pytest.mark.parametrize("who", ["network system", "gp system"])
def test_fhir_routes_answer_404_for_another_networks_ids(app, client, two_networks, who):
    """A's systems reach A's objects (200, so the walk is meaningful) and get 404 for B's on every
    FHIR read route; a new FHIR GET route is walked here once it is listed in FHIR_ENDPOINTS."""
    from app.core.jobs import run_inline_pending
    from tests.fhir_helpers import bearer, get_token

    run_inline_pending()  # the sent letters' PDFs (the Binary route)
    systems = _fhir_systems(two_networks)
    api_client, secret = systems[who]
    headers = bearer(get_token(client, api_client, secret))
    # A Subscription of the walked client (A) and one of a system of network B: its own is 200, the other 404.
    from app.fhir import clients as api_clients
    from app.fhir.models import ApiSubscription
    from tests.fhir_helpers import register

    b_client, _b_secret = register(two_networks["B"]["coordinator"].user, scopes=api_clients.NETWORK_SCOPES,
                                   network=two_networks["B"]["network"])
    for tag, owner in (("A", api_client), ("B", b_client)):
        row = ApiSubscription(api_client_id=owner.id, criteria="Task", endpoint="https://his.example.nl/hook")
        db.session.add(row)
        db.session.commit()
        two_networks[tag]["fhir_subscription"] = row
    fhir_rules = [rule for rule in app.url_map.iter_rules() if rule.endpoint.startswith("fhir.")]
    assert {rule.endpoint for rule in fhir_rules} == FHIR_PUBLIC_ENDPOINTS | set(FHIR_ENDPOINTS)
    walked = 0
    for rule in fhir_rules:
        if rule.endpoint in FHIR_PUBLIC_ENDPOINTS or "GET" not in rule.methods:
            continue
        kinds = FHIR_ENDPOINTS[rule.endpoint]
        refused = (rule.endpoint in FHIR_GP_SYSTEM_ONLY and who == "network system") or (
            rule.endpoint in FHIR_NETWORK_SYSTEM_ONLY and who == "gp system")
        for tag, expected in (("A", 403 if refused else 200), ("B", 403 if refused else 404)):
            values = {arg: two_networks[tag][kind].id for arg, kind in kinds.items() if not arg.startswith("?")}
            url = rule.build(values, append_unknown=False)[1]
            if "?task" in kinds:
                url += f"?task=Task/{two_networks[tag][kinds['?task']].id}"
            response = client.get(url, headers=headers)
            assert response.status_code == expected, f"{who} GET {url} ({tag}): {response.status_code}"
            assert b"CANARYB" not in response.get_data()  # bytes: the Binary route answers a PDF
        walked += 1
    assert walked >= 1


# --- the patient portal: a patient's (or relative's) own accounts, and nobody else's ---------------------------

def _portal_urls(app, objects: dict) -> list[tuple[str, str, str]]:
    urls = []
    for rule in app.url_map.iter_rules():
        kinds = PORTAL_ENDPOINTS.get(rule.endpoint)
        if kinds is None:
            continue
        path = _substitute(rule.rule, {name: objects[kind].id for name, kind in kinds.items()})
        urls.extend((rule.endpoint, method, path) for method in sorted(rule.methods & {"GET", "POST"}))
    return urls


def test_every_portal_route_is_walked(app):
    portal_rules = {rule.endpoint for rule in app.url_map.iter_rules() if rule.endpoint.startswith("patient_portal.")}
    assert portal_rules == set(PORTAL_ENDPOINTS)
    for rule in app.url_map.iter_rules():
        if rule.endpoint in PORTAL_ENDPOINTS:
            assert set(rule.arguments) == set(PORTAL_ENDPOINTS[rule.endpoint]), rule.rule


@pytest.mark.parametrize("who", ["other_patient", "other_relative", "coordinator", "member", "gp"])
def test_nobody_but_the_patient_reaches_the_patients_portal(app, client, two_networks, who):
    """B's patient and relative, and A's own coordinator, member and GP, get 404 on every portal route with the
    ids of A's patient (and change nothing)."""
    a, b = two_networks["A"], two_networks["B"]
    user = {"other_patient": b["patient_user"], "other_relative": b["relative_user"],
            "coordinator": a["coordinator"].user, "member": a["member"].user, "gp": a["gp"]}[who]
    login_as(client, user)
    before = _table_counts()
    walked = 0
    for endpoint, method, path in _portal_urls(app, a):
        if not PORTAL_ENDPOINTS[endpoint]:
            continue  # the list of one's own accounts: nothing of A's to reach
        walked += 1
        response = client.open(path, method=method, data={"confirm": "y", "body": "x"} if method == "POST" else None)
        assert response.status_code == 404, (who, method, path, response.status_code)
        assert _canary("A") not in response.get_data(as_text=True), (method, path)
    assert walked >= 15
    db.session.expire_all()
    assert _table_counts() == before


def test_the_patient_reaches_every_page_of_their_own_portal(app, client, two_networks):
    """The control: A's patient gets 200 on every GET with A's ids (so the 404s above are isolation)."""
    a = two_networks["A"]
    login_as(client, a["patient_user"])
    for endpoint, method, path in _portal_urls(app, a):
        if method == "GET" and endpoint != "patient_portal.index":
            response = client.get(path)
            assert response.status_code == 200, (path, response.status_code)


def test_a_relative_sees_the_record_page_only_and_only_while_granted(app, client, two_networks):
    a = two_networks["A"]
    login_as(client, a["relative_user"])
    relative = {**a, "portal_account": a["relative_account"]}
    for endpoint, method, path in _portal_urls(app, relative):
        if endpoint == "patient_portal.index" or method != "GET":
            continue
        expected = 200 if endpoint == "patient_portal.record" else 404
        assert client.get(path).status_code == expected, path
    with network_context(a["network"].id):
        from app.patient_portal import services as portal_services
        from app.patients.models import PortalAccount
        portal_services.revoke(db.session.get(PortalAccount, a["relative_account"].id), a["patient_user"])
        db.session.commit()
    assert client.get(f"/mijn/{a['relative_account'].id}").status_code == 404
