"""Application-wide guarantees: production refuses unsafe configuration, security headers on
every response, CSRF on every POST, generic 500 pages, and no state change on GET.

Rendering at phone width is not testable here (no browser in this module): see the browser suite.
"""
from __future__ import annotations

import logging
import re
from html.parser import HTMLParser

import pytest
from sqlalchemy import select

from app import create_app
from app.auth import services as auth_services
from app.auth.models import TokenPurpose
from app.core.db import utcnow
from app.directory.hsds import organization_uuid as hsds_org
from app.extensions import db
from app.networks.models import Role
from config import ProductionConfig
from tests.conftest import (
    PASSWORD,
    login_as,
    make_contact,
    make_gp,
    make_meeting,
    make_member,
    make_network,
    make_patient,
    make_practice_link,
    make_training,
    make_user,
)
from tests.portal_factories import make_portal_world
from tests.quality_factories import FAKE_PDF, make_evidence, make_snapshot
from tests.world import make_case_world

POSTGRES_URL = "postgresql+psycopg://netwerkzorg@127.0.0.1:5432/netwerkzorg"
STRONG_SECRET = "k" * 48


# --- production configuration --------------------------------------------------------------------

def _production(**attrs):
    return type("CheckedProductionConfig", (ProductionConfig,), attrs)


@pytest.mark.parametrize("secret", [None, ""])
def test_production_refuses_to_start_without_secret_key(secret):
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app(_production(SECRET_KEY=secret, SQLALCHEMY_DATABASE_URI=POSTGRES_URL))


@pytest.mark.parametrize("url", ["sqlite:///:memory:", "sqlite:////var/lib/netwerkzorg/app.db"])
def test_production_refuses_to_start_on_sqlite(url):
    with pytest.raises(RuntimeError, match="SQLite"):
        create_app(_production(SECRET_KEY=STRONG_SECRET, SQLALCHEMY_DATABASE_URI=url))


def test_production_refuses_to_start_without_database():
    with pytest.raises(RuntimeError, match="SQLALCHEMY_DATABASE_URI"):
        create_app(_production(SECRET_KEY=STRONG_SECRET, SQLALCHEMY_DATABASE_URI=None))


def test_production_refuses_to_start_with_debug(monkeypatch):
    monkeypatch.setenv("FLASK_DEBUG", "1")
    with pytest.raises(RuntimeError, match="DEBUG"):
        create_app(_production(SECRET_KEY=STRONG_SECRET, SQLALCHEMY_DATABASE_URI=POSTGRES_URL))


def test_production_starts_when_configured_and_is_strict():
    """The control for the refusals above: a complete configuration starts (without connecting)."""
    app = create_app(_production(SECRET_KEY=STRONG_SECRET, SQLALCHEMY_DATABASE_URI=POSTGRES_URL))
    try:
        assert not app.debug and not app.testing
        assert app.config["SESSION_COOKIE_SECURE"] and app.config["SESSION_COOKIE_HTTPONLY"]
        assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
        assert app.config["HSTS"] and not app.config["DEMO_MFA_BYPASS"]
    finally:
        with app.app_context():
            db.engine.dispose()


# --- a world to walk -----------------------------------------------------------------------------

@pytest.fixture
def world():
    network = make_network("apptest")
    coordinator = make_member(network, "coordinator@apptest.example", role=Role.COORDINATOR)
    member = make_member(network, "member@apptest.example", disciplines=("dietist",))
    patient = make_patient(network, created_by=coordinator.user)
    meeting = make_meeting(network, attendees=(member,))
    training = make_training(member)
    evidence = make_evidence(member, code="4", text="Onze visie")
    snapshot = make_snapshot(member, pdf=FAKE_PDF)
    contact = make_contact(network)
    admin = make_user("admin@apptest.example", is_platform_admin=True)
    pending = make_user("pending@apptest.example")  # password verified, code not yet entered
    no_mfa = make_user("nomfa@apptest.example", mfa=False)
    reset_user = make_user("reset@apptest.example")
    invitee = make_user("invitee@apptest.example", password=None, mfa=False, active=False)
    reset_token = auth_services.issue_token(reset_user, TokenPurpose.RESET)
    invite_token = auth_services.issue_token(invitee, TokenPurpose.INVITE)
    # A GP and a practice nurse of one practice, with a pending link, and an open verification link.
    gp = make_gp("gp@apptest.example", agb="11112222", email_verified_at=utcnow())
    poh = make_gp("poh@apptest.example", agb="33334444", kind="poh", email_verified_at=utcnow())
    link = make_practice_link(gp, poh)
    unverified = make_gp("unverified@apptest.example", agb="55556666")
    verify_token = auth_services.issue_token(unverified, TokenPurpose.VERIFY_EMAIL)
    network.approved_at = utcnow()
    db.session.commit()
    referrals = make_case_world(network, coordinator, member, gp)
    portal = make_portal_world(network, coordinator, referrals["case"], tag="apptest")
    from app.fhir.models import ApiClient  # a connected system of the network (its disconnect page)

    api_client = ApiClient(client_id="apptest-epd", name="EPD", secret_hash="-", scope="system/Task.read",
                           network_id=network.id, registered_by_id=coordinator.user_id)
    gp_client = ApiClient(client_id="apptest-his", name="HIS", secret_hash="-", scope="system/Task.read",
                          owner_user_id=gp.id, registered_by_id=gp.id)
    db.session.add_all([api_client, gp_client])
    db.session.commit()
    api_client_id, gp_client_id = api_client.id, gp_client.id
    return {
        "network": network, "coordinator": coordinator.user, "member": member.user, "admin": admin,
        "pending": pending, "no_mfa": no_mfa, "gp": gp, "poh": poh, "patient": portal["patient_user"],
        "values": {"network_slug": network.slug, "membership_id": member.id, "patient_id": patient.id,
                   "meeting_id": meeting.id, "training_id": training.id, "evidence_id": evidence.id,
                   "snapshot_id": snapshot.id, "user_id": member.user_id, "contact_id": contact.id,
                   "network_id": network.id, "slug": network.slug, "organization_id": hsds_org(network.id),
                   "service_id": hsds_org(network.id), "subscription_id": 1,
                   "api_client_id": api_client_id,
                   "filename": "css/app.css", "link_id": link.id,
                   "role": "coordinator", "section": "consent", "name": "coordinator-home.png",
                   **{f"{kind}_id": referrals[kind].id for kind in ("referral", "attachment", "case", "consent",
                                                                    "note", "action", "letter")},
                   "member_id": referrals["team_member"].id, "version": 1, "key": "story",
                   "duplicate_id": referrals["duplicate"].id, "account_id": portal["portal_account"],
                   "relative_id": portal["relative_account"]},
        "per_endpoint": {"patient_portal.proposal": {"member_id": portal["waiting_proposal"]},
                         "portal_network.revoke_account": {"referral_id": referrals["case"].referral_id,
                                                           "account_id": portal["second_relative"]},"auth.reset_password_link": {"token": reset_token},
                         "auth.accept_invitation_link": {"token": invite_token},
                         "gp_portal.verify_email_link": {"token": verify_token},
                         "gp_portal.edit_draft": {"referral_id": referrals["draft"].id},
                         "gp_portal.discard_draft": {"referral_id": referrals["draft"].id},
                         "gp_portal.case_letter": {"referral_id": referrals["case_referral"].id},
                         "gp_portal.case_question": {"referral_id": referrals["case_referral"].id},
                         "gp_portal.system_revoke": {"api_client_id": gp_client_id},
                         "gp_portal.case_mdo_input": {"referral_id": referrals["case_referral"].id,
                                                      "discussion_id": referrals["mdo_discussion"].id},
                         "cases.intake": {"referral_id": referrals["intake_referral"].id}},
    }


# Values for converters with a fixed choice: every choice is requested.
CHOICES = {"operation": ("deactivate", "reset-mfa")}


def _urls(app, world, rule) -> list[str]:
    values = {**world["values"], **world["per_endpoint"].get(rule.endpoint, {})}
    missing = rule.arguments - values.keys() - CHOICES.keys()
    if missing:
        pytest.fail(f"{rule.endpoint}: no test value for {sorted(missing)}; add one to the world fixture")
    adapter = app.url_map.bind("localhost")
    combos = [{}]
    for name in rule.arguments & CHOICES.keys():
        combos = [{**combo, name: choice} for combo in combos for choice in CHOICES[name]]
    return [adapter.build(rule.endpoint, {**{k: values[k] for k in rule.arguments if k in values}, **combo})
            for combo in combos]


def _identities(client_factory, world) -> dict:
    clients = {"anonymous": client_factory()}
    clients["coordinator"] = login_as(client_factory(), world["coordinator"])
    clients["member"] = login_as(client_factory(), world["member"])
    clients["admin"] = login_as(client_factory(), world["admin"])
    clients["pending"] = login_as(client_factory(), world["pending"], mfa_verified=False)
    clients["no_mfa"] = login_as(client_factory(), world["no_mfa"], mfa_verified=False)
    clients["gp"] = login_as(client_factory(), world["gp"])
    clients["poh"] = login_as(client_factory(), world["poh"])
    clients["patient"] = login_as(client_factory(), world["patient"])
    # Someone who opened the mailed links: each token moved into this browser's session, so the form
    # pages behind them (/password/reset, /invitation, /verwijzer/email) render.
    clients["link_opener"] = link_opener = client_factory()
    links = {"auth.reset_password_link": "/password/reset/", "auth.accept_invitation_link": "/invitation/",
             "gp_portal.verify_email_link": "/verwijzer/email/"}
    for endpoint, prefix in links.items():
        assert link_opener.get(prefix + world["per_endpoint"][endpoint]["token"]).status_code == 302
    return clients


# --- security headers ----------------------------------------------------------------------------

REFERRER_POLICIES = {"no-referrer", "same-origin", "strict-origin", "strict-origin-when-cross-origin"}


def _check_headers(response, where: str, *, authenticated: bool) -> None:
    headers = response.headers
    csp = headers.get("Content-Security-Policy", "")
    directives = {part.split()[0]: part.split()[1:] for part in csp.split(";") if part.strip()}
    assert directives.get("frame-ancestors") == ["'none'"], f"{where}: CSP {csp!r}"
    script_src = directives.get("script-src", directives.get("default-src"))
    assert script_src, f"{where}: CSP restricts no scripts: {csp!r}"
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp, f"{where}: CSP {csp!r}"
    assert "*" not in script_src and "data:" not in script_src, f"{where}: CSP {csp!r}"
    assert directives.get("object-src") == ["'none'"], f"{where}: CSP {csp!r}"
    assert headers.get("X-Content-Type-Options") == "nosniff", where
    assert headers.get("Referrer-Policy") in REFERRER_POLICIES, where
    if authenticated:
        assert "no-store" in headers.get("Cache-Control", ""), f"{where}: cacheable authenticated page"


def test_security_headers_on_every_get_route_for_every_identity(app, new_client, world):
    clients = _identities(new_client, world)
    seen_ok = set()
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods:
            continue
        for url in _urls(app, world, rule):
            for who, client in clients.items():
                response = client.get(url)
                _check_headers(response, f"{who} GET {url} ({response.status_code})",
                               authenticated=who not in ("anonymous", "link_opener"))
                response.close()  # static files are streamed from an open file
                if response.status_code == 200:
                    seen_ok.add(rule.endpoint)
    # The walk reached real pages, not only redirects and 404s.
    assert {"main.index", "auth.login", "networks.home", "patients.detail", "admin.networks",
            "static"} <= seen_ok


# --- no 500 on hostile input -------------------------------------------------------------------------

HUGE = "99999999999999999999"  # beyond every database integer
HOSTILE_QUERY = {"page": HUGE, "discipline": HUGE, "year": HUGE, "patient": HUGE, "van": HUGE, "user": "ü" * 5000,
                 "status": "\x00", "action": "-1", "outcome": "🙂", "q": "'; DROP TABLE users; --", "postcode": "x" * 5000,
                 "date_from": "99999-99-99", "date_to": "-1", "kind": HUGE, "network": HUGE}


def test_no_route_answers_a_huge_id_or_a_hostile_filter_with_a_500(app, new_client, world):
    """Every GET route of the route map (new ones join by themselves) for every identity: each integer in
    the path replaced by a number too large for the database (a 404, never an overflow), and the real URL
    with hostile values for the filters the pages read. Nothing answers 5xx."""
    from werkzeug.routing import IntegerConverter
    clients = {who: c for who, c in _identities(new_client, world).items()
               if who in ("anonymous", "coordinator", "member", "gp", "admin")}
    problems, huge_404 = [], 0
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint == "static":
            continue
        int_args = {name for name, converter in rule._converters.items() if isinstance(converter, IntegerConverter)}
        for url in _urls(app, world, rule):
            targets = [url + "?" + "&".join(f"{k}={v}" for k, v in HOSTILE_QUERY.items())]
            if int_args:
                values = {**world["values"], **world["per_endpoint"].get(rule.endpoint, {})}
                swapped = {name: values[name] for name in rule.arguments if name in values}
                swapped.update(dict.fromkeys(int_args, 1234567))
                swapped.update({name: CHOICES[name][0] for name in rule.arguments & CHOICES.keys()})
                targets.append(app.url_map.bind("localhost").build(rule.endpoint, swapped).replace("1234567", HUGE))
            for target in targets:
                for who, client in clients.items():
                    status = client.get(target).status_code
                    if status >= 500:
                        problems.append(f"{who} GET {target[:160]} -> {status}")
                    elif HUGE in target.split("?")[0] and status == 404:
                        huge_404 += 1
    assert not problems, problems
    assert huge_404 > 20  # the huge ids reached the routes and were answered "not found"


class _FormFields(HTMLParser):
    """Each <form method=post> of a page, by its action: field names with the values the page shows."""

    def __init__(self):
        super().__init__()
        self.forms: dict[str, dict[str, str]] = {}
        self.choices: set[str] = set()  # selects, radios and checkboxes: their shown value is a valid one
        self._action: str | None = None
        self._select: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        fields = self.forms.get(self._action) if self._action is not None else None
        if tag == "form" and (attrs.get("method") or "").lower() == "post":
            self._action = attrs.get("action") or ""
            self.forms.setdefault(self._action, {})
        elif fields is None:
            return
        elif tag == "option" and self._select is not None:
            if self._select not in fields or "selected" in attrs:
                fields[self._select] = attrs.get("value") or ""
        elif tag in ("input", "select", "textarea") and attrs.get("name"):
            name, kind = attrs["name"], (attrs.get("type") or "").lower()
            if name == "csrf_token" or kind == "file":
                return
            if tag == "select":
                self._select = name
                self.choices.add(name)
            elif kind in ("checkbox", "radio"):
                self.choices.add(name)
                if "checked" in attrs or name not in fields:
                    fields[name] = attrs.get("value") or "y"
            else:
                fields.setdefault(name, attrs.get("value") or "")

    def handle_endtag(self, tag):
        if tag == "form":
            self._action = None
        elif tag == "select":
            self._select = None


HOSTILE_VALUES = (HUGE, "-1", "not a number", "ü🙂\u202eẞ", "x" * 20_000, "", "2026-02-30",
                  "1800-01-01", "99999-12-31")
SKIP_POSTS = {"auth.logout"}  # signing out the client would turn the rest of the walk anonymous


def test_no_form_answers_hostile_values_with_a_500(app, new_client, world):
    """Every POST route of the route map (new ones join by themselves): its form is read from the page
    that shows it (or, without a GET, a generic set of names) and posted by the first identity that can
    open the page: once with each hostile value in every field (huge, negative, non-numeric, unicode,
    20,000 characters, empty, impossible dates), once with it in every field but the choices (which keep
    a valid option, so the form gets past them), and once per field with the form as shown and only
    that field huge or over-long, so one bad field is reached past the others' validation. No 5xx."""
    order = ("coordinator", "member", "gp", "poh", "admin", "anonymous")
    generic = dict.fromkeys(("email", "password", "text", "reason", "code", "name", "date", "locale", "q"), "")
    problems, posted_fields, posts = [], 0, 0
    for rule in app.url_map.iter_rules():
        if "POST" not in rule.methods or rule.endpoint in SKIP_POSTS:
            continue
        for url in _urls(app, world, rule):
            who, shown, choices = "coordinator", dict(generic), set()
            if "GET" in rule.methods:
                for candidate in order:
                    response = _identities_one(new_client, world, candidate).get(url)
                    if response.status_code == 200:
                        parser = _FormFields()
                        parser.feed(response.get_data(as_text=True))
                        found: dict[str, str] = {}
                        for action, fields in parser.forms.items():
                            if action in ("", url, url.split("?")[0]):
                                found.update(fields)
                        who, shown, choices = candidate, found or shown, parser.choices
                        break
            posted_fields += len(shown)
            attempts = [dict.fromkeys(shown, value) for value in HOSTILE_VALUES]
            attempts += [{name: shown[name] if name in choices else value for name in shown}
                         for value in HOSTILE_VALUES]
            attempts += [{**shown, name: value} for name in shown for value in (HUGE, "x" * 20_000)]
            client = _identities_one(new_client, world, who)
            for data in attempts:
                posts += 1
                status = client.post(url, data=data).status_code
                if status >= 500:
                    bad = {k: v[:20] for k, v in data.items() if v != shown.get(k)}
                    problems.append(f"{who} POST {url} with {bad} -> {status}")
    assert not problems, problems
    print(f"posted {posts} times, {posted_fields} fields")
    assert posted_fields > 150  # the forms were found and filled, not only the generic names


def _identities_one(client_factory, world, who: str):
    client = client_factory()
    if who == "anonymous":
        return client
    return login_as(client, world[who], mfa_verified=True)


def test_security_headers_on_errors_posts_and_login_pages(client, world):
    _check_headers(client.get("/no-such-page"), "404", authenticated=False)
    _check_headers(client.post("/login", data={"email": "x@example.nl", "password": "wrong"}),
                   "failed login", authenticated=False)
    _check_headers(client.post("/login", data={}, csrf=False), "CSRF failure", authenticated=False)
    login_page = client.get("/login")
    assert "no-store" in login_page.headers.get("Cache-Control", "")  # the form carries a CSRF token
    login_as(client, world["coordinator"])
    _check_headers(client.get("/n/no-such-network/"), "404 signed in", authenticated=True)
    _check_headers(client.post("/n/apptest/patients/new", data={"given_name": ""}), "invalid form",
                   authenticated=True)


def test_hsts_when_enabled(app_with):
    response = app_with(HSTS=True).test_client().get("/login")
    assert "max-age=" in response.headers.get("Strict-Transport-Security", "")


# --- CSRF ----------------------------------------------------------------------------------------

def test_login_post_without_csrf_token_is_400(client, world):
    data = {"email": world["coordinator"].email, "password": PASSWORD}
    refused = client.post("/login", data=data, csrf=False)
    assert refused.status_code == 400
    # The control: the same POST with a token signs in (so the 400 came from the missing token).
    assert client.post("/login", data=data).status_code == 302


def test_every_post_route_refuses_a_missing_csrf_token(app, new_client, world):
    clients = _identities(new_client, world)
    for rule in app.url_map.iter_rules():
        if "POST" not in rule.methods:
            continue
        # The FHIR API takes no cookie: a signed-in browser's session is no credential there (401/400), so
        # CSRF does not apply (the routes are exempt); nothing may change either way.
        refused = (400, 401) if rule.endpoint.startswith("fhir.") else (400,)
        for url in _urls(app, world, rule):
            for who in ("anonymous", "coordinator", "admin"):
                before = _snapshot()
                response = clients[who].post(url, data={"locale": "en", "email": "x@example.nl"}, csrf=False)
                assert response.status_code in refused, f"{who} POST {url} without token: {response.status_code}"
                assert _diff(before, _snapshot()) == [], f"{who} POST {url} without token changed data"


# --- 500 -----------------------------------------------------------------------------------------

def test_unexpected_error_shows_an_error_id_and_no_trace(app_with, caplog):
    other = app_with()

    @other.route("/__explode")
    def explode():
        raise RuntimeError("secret-internal-detail in /srv/app/views.py")

    caplog.set_level(logging.ERROR)
    response = other.test_client().get("/__explode")

    assert response.status_code == 500
    html = response.get_data(as_text=True)
    for leak in ("Traceback", "secret-internal-detail", "RuntimeError", 'File "', "/srv/app"):
        assert leak not in html
    logged = [r for r in caplog.records if r.getMessage().startswith("unhandled error")]
    assert len(logged) == 1 and logged[0].exc_info is not None  # the trace goes to the log only
    error_id = logged[0].args[0]
    assert re.fullmatch(r"[0-9a-f]{12}", error_id)
    assert error_id in html
    _check_headers(response, "500", authenticated=False)


# --- GET never changes state ---------------------------------------------------------------------

# Audit rows are not state of the domain: reading patient data or the log must write them (NEN 7513).
NOT_STATE = {"audit_events"}
# The session heartbeat moves with the wall clock (one write a minute while a user is active), so a
# walk that takes longer than that on a busy machine would see it change. It is bookkeeping of the
# sign-in, not domain state; every other column of user_sessions is still compared.
NOT_STATE_COLUMNS = {("user_sessions", "last_seen_at")}
# The one write a GET may make, and why: the MFA set-up page must show a secret that the following
# POST verifies, so the page stores a pending secret for an account that has none (once; a second GET
# changes nothing). It does not enable MFA. Keeping it in the session instead would remove this entry.
ALLOWED_GET_WRITES = {"auth.mfa_setup": {("users", "totp_secret")}}


def _snapshot() -> dict[str, dict[tuple, dict]]:
    db.session.rollback()  # see what the requests committed
    snapshot = {}
    for table in db.metadata.sorted_tables:
        if table.name in NOT_STATE:
            continue
        key_columns = list(table.primary_key.columns)
        columns = [c for c in table.columns if (table.name, c.name) not in NOT_STATE_COLUMNS]
        snapshot[table.name] = {tuple(row._mapping[c] for c in key_columns): dict(row._mapping)
                                for row in db.session.execute(select(*columns))}
    return snapshot


def _diff(before: dict, after: dict) -> list[tuple]:
    changes = []
    for name, rows in after.items():
        old_rows = before[name]
        changes += [(name, key, "row added") for key in rows.keys() - old_rows.keys()]
        changes += [(name, key, "row deleted") for key in old_rows.keys() - rows.keys()]
        for key in rows.keys() & old_rows.keys():
            changes += [(name, key, column) for column, value in rows[key].items()
                        if old_rows[key][str(column)] != value]
    return changes


def test_get_never_changes_state(app, new_client, world):
    """Every rule accepting GET and POST, requested with GET by every identity, changes no row of any
    table. Each such rule must give a real page (200) to at least one identity, so the walk cannot
    pass on redirects and 404s alone."""
    clients = _identities(new_client, world)
    rendered = set()
    form_rules = [rule for rule in app.url_map.iter_rules() if {"GET", "POST"} <= rule.methods]
    assert form_rules
    for rule in form_rules:
        for url in _urls(app, world, rule):
            for who, client in clients.items():
                before = _snapshot()
                response = client.get(url)
                changes = _diff(before, _snapshot())
                allowed = ALLOWED_GET_WRITES.get(rule.endpoint, set())
                unexpected = [c for c in changes if (c[0], c[2]) not in allowed]
                assert unexpected == [], f"{who} GET {url} ({response.status_code}) changed {unexpected}"
                if changes:  # an allowed write happens once: the second GET changes nothing
                    again = _snapshot()
                    client.get(url)
                    assert _diff(again, _snapshot()) == [], f"{who} GET {url} writes on every request"
                if response.status_code == 200:
                    rendered.add(rule.endpoint)
    never_rendered = {rule.endpoint for rule in form_rules} - rendered
    assert never_rendered == set(), f"no identity got a page from {sorted(never_rendered)}: extend the walk"
