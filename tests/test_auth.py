"""Account security: login, second factor, server-side sessions, throttling, passwords, reset and
invitation links, safe redirects and cookie flags (see docs/architecture.md, "Sessions", and the controls
with their proofs in docs/security.md, "Authentication and sessions").

The tests drive the app through the test client (CSRF on) and check what the browser gets back
and what the database holds afterwards. Where signing in is under test it goes through the real
password and TOTP forms; elsewhere login_as() creates the same server-side session row, and users
share one cached argon2id hash, because every argon2 operation costs 0.1-0.4 s of CPU.
"""
from __future__ import annotations

import functools
import hashlib
import itertools
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pyotp
import pytest
import time_machine
from argon2 import PasswordHasher, Type, extract_parameters
from sqlalchemy import select, text
from werkzeug.routing.converters import AnyConverter

from app.auth.models import AccountToken, RecoveryCode, TokenPurpose, User
from app.auth.services import issue_token
from app.core.audit import AuditAction, AuditEvent, AuditOutcome
from app.core.jobs import Outbox
from app.core.security import UserSession, hash_password, hash_token, password_hasher
from app.directory.hsds import organization_uuid as hsds_org
from app.extensions import db
from app.networks.models import Role
from config import ProductionConfig
from tests.conftest import (
    PASSWORD,
    current_totp,
    delivered_mails,
    login,
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
from tests.quality_factories import make_evidence, make_snapshot

NEW_PASSWORD = "zeer-lang-12"  # exactly 12 characters, not common
COOKIE = "nz_session"
WRONG_LOGIN = "The email address or password is not correct."
BAD_CODE = "This code is not valid (or was used already). Try the next code."
TOO_MANY = "Too many attempts in a short time. Wait a few minutes and try again."
LINK_INVALID = "This link is not valid"


# --- helpers -------------------------------------------------------------------------------------

@pytest.fixture
def client(client):
    """The conftest client, asking for English so messages can be matched literally."""
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


@pytest.fixture
def new_client(new_client):
    def make(remote_addr: str | None = None):
        other = new_client()
        other.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
        if remote_addr:
            other.environ_base["REMOTE_ADDR"] = remote_addr
        return other
    return make


def body(response) -> str:
    return response.get_data(as_text=True)


def path_of(response) -> str:
    return urlsplit(response.location or "").path


def normalized(html: str, *volatile: str) -> str:
    """The page without its per-session CSRF tokens and without the given echoed values."""
    html = re.sub(r"<input[^>]*csrf_token[^>]*>", "<input csrf>", html)
    for value in volatile:
        html = html.replace(value, "<volatile>")
    return html


def sid_of(client) -> str | None:
    with client.session_transaction() as session:
        return session.get("sid")


def cookie_value(client) -> str:
    cookie = client.get_cookie(COOKIE)
    assert cookie is not None, "no session cookie"
    return cookie.value


def session_row(sid: str) -> UserSession:
    db.session.expire_all()
    return db.session.scalar(select(UserSession).where(UserSession.token_hash == hash_token(sid)))


def live_sessions(user: User) -> int:
    db.session.expire_all()
    return len(db.session.scalars(select(UserSession).where(UserSession.user_id == user.id,
                                                            UserSession.revoked_at.is_(None))).all())


@functools.cache
def _hash_of(password: str) -> str:
    return hash_password(password)


def user(email: str, *, password: str | None = PASSWORD, **fields) -> User:
    """make_user, reusing one argon2id hash per password: each hash costs 0.1-0.4 s of CPU."""
    made = make_user(email, password=None, **fields)
    if password:
        made.password_hash = _hash_of(password)
        db.session.commit()
    return made


def member(network, email: str, *, role: Role = Role.MEMBER, **fields) -> User:
    user(email, **fields)
    return make_member(network, email, role=role).user


def fresh(obj):
    db.session.refresh(obj)
    return obj


def assert_signed_out(client):
    """A page that needs a login sends the browser to the login form (not to the MFA step)."""
    response = client.get("/account")
    assert response.status_code == 302
    assert path_of(response) == "/login", response.location


def assert_signed_in(client):
    response = client.get("/account")
    assert response.status_code == 200, response.location


def assert_pre_mfa(client, page: str = "/login/mfa"):
    response = client.get("/account")
    assert response.status_code == 302
    assert path_of(response) == page


def wrong_code(user: User) -> str:
    """Six digits that match none of the codes the server accepts right now."""
    totp = pyotp.TOTP(fresh(user).totp_secret)
    now = datetime.now(UTC)
    valid = {totp.at(now + timedelta(seconds=30 * drift)) for drift in (-1, 0, 1)}
    return next(code for code in (f"{n:06d}" for n in range(123456, 999999, 7919)) if code not in valid)


def mails_to(address: str, template: str | None = None) -> list[Outbox]:
    db.session.expire_all()
    rows = db.session.scalars(select(Outbox).where(Outbox.kind == "mail").order_by(Outbox.id)).all()
    return [row for row in rows if row.payload["to"] == address
            and (template is None or row.payload.get("template") == template)]


def audit_events(event: str) -> list[AuditEvent]:
    db.session.expire_all()
    statement = select(AuditEvent).where(AuditEvent.event == event).order_by(AuditEvent.id)
    return db.session.scalars(statement).all()


def logout(client):
    response = client.post("/logout", data={})
    assert response.status_code == 302 and path_of(response) == "/login"
    return response


def post_login(client, email: str, password: str = PASSWORD, next_: str | None = None):
    query = {"next": next_} if next_ is not None else None
    return client.post("/login", query_string=query, data={"email": email, "password": password})


def change_password(client, current: str | None, new: str, confirm: str | None = None):
    data = {"password": new, "confirm": new if confirm is None else confirm}
    if current is not None:
        data["current_password"] = current
    return client.post("/account/password", data=data)


def set_password_via_reset(client, token: str, password: str):
    """Open the link (its token moves into the session) and send the form that follows; a bad link is
    answered by the link itself."""
    opened = client.get(f"/password/reset/{token}")
    if opened.status_code != 302:
        return opened
    return client.post("/password/reset", data={"password": password, "confirm": password})


def reset_link_token(address: str) -> str:
    mails = delivered_mails(address, "password_reset")
    assert mails, f"no reset mail to {address}"
    match = re.search(r"http://localhost/password/reset/(\S+)", mails[-1]["body"])
    assert match, mails[-1]["body"]
    return match.group(1)


@pytest.fixture
def clock():
    """Frozen time that a test moves forward with clock.shift(timedelta)."""
    with time_machine.travel(datetime.now(UTC).replace(microsecond=0), tick=False) as traveller:
        yield traveller


# --- login ----------------------------------------------------------------------------------------

def test_login_success_goes_to_mfa_then_in(client):
    anna = user("anna@example.nl")
    response = post_login(client, "  Anna@Example.NL ")  # addresses are matched case-insensitively
    assert response.status_code == 302
    assert path_of(response) == "/login/mfa"
    assert_pre_mfa(client)

    response = client.post("/login/mfa", data={"code": current_totp(anna)})
    assert response.status_code == 302 and response.location == "/"
    assert_signed_in(client)
    assert [e.user_id for e in audit_events("user.password_verified")] == [anna.id]
    assert [(e.user_id, e.outcome) for e in audit_events("user.login")] == [(anna.id, AuditOutcome.SUCCESS)]


def test_wrong_password_unknown_email_and_inactive_user_get_the_identical_answer(new_client):
    user("known@example.nl")
    user("gone@example.nl", active=False)
    attempts = {
        "wrong password": ("known@example.nl", "not the password at all"),
        "unknown email": ("nobody@example.nl", PASSWORD),
        "inactive user": ("gone@example.nl", PASSWORD),  # the right password, but deactivated
    }
    answers = {}
    for case, (email, password) in attempts.items():
        browser = new_client()
        response = post_login(browser, email, password)
        answers[case] = (response.status_code, response.content_type, response.headers.get("Cache-Control"),
                         normalized(body(response), email))
        assert sid_of(browser) is None, case
        assert_signed_out(browser)
    assert answers["wrong password"][0] == 200
    assert WRONG_LOGIN in answers["wrong password"][3]
    assert answers["wrong password"] == answers["unknown email"] == answers["inactive user"]


def test_inactive_user_cannot_log_in(client):
    inactive = user("inactive@example.nl", active=False)
    response = post_login(client, inactive.email)
    assert response.status_code == 200
    assert WRONG_LOGIN in body(response)
    assert live_sessions(inactive) == 0
    assert_signed_out(client)
    assert [e.user_id for e in audit_events("user.login_failed")] == [inactive.id]


def test_failed_logins_are_audited(client):
    known = user("audited@example.nl")
    post_login(client, known.email, "wrong password here")
    post_login(client, "stranger@example.nl", "whatever password")
    failed = audit_events("user.login_failed")
    assert [(e.user_id, e.action, e.outcome) for e in failed] == [
        (known.id, AuditAction.LOGIN, AuditOutcome.FAILURE),
        (None, AuditAction.LOGIN, AuditOutcome.FAILURE),
    ]
    assert all(e.ip_address == "127.0.0.1" for e in failed)
    assert audit_events("user.password_verified") == []


def test_login_needs_a_csrf_token(client):
    someone = user("csrf@example.nl")
    response = client.post("/login", data={"email": someone.email, "password": PASSWORD}, csrf=False)
    assert response.status_code == 400
    assert live_sessions(someone) == 0


def test_login_and_account_pages_are_not_cached(client, new_client):
    assert new_client().get("/login").headers.get("Cache-Control") == "no-store"
    login_as(client, user("cache@example.nl"))
    assert client.get("/account").headers.get("Cache-Control") == "no-store"


# --- second factor -----------------------------------------------------------------------------------

def test_first_login_without_mfa_goes_to_setup_and_setup_enables_mfa(client):
    newbie = user("fresh@example.nl", mfa=False)
    response = post_login(client, newbie.email, next_="/account")
    assert response.status_code == 302 and path_of(response) == "/account/mfa/setup"
    assert_pre_mfa(client, "/account/mfa/setup")
    assert path_of(client.get("/login/mfa")) == "/account/mfa/setup"  # no way around the setup

    page = body(client.get("/account/mfa/setup"))
    secret = re.search(r'<code class="secret">([A-Z2-7]+)</code>', page).group(1)
    assert secret == fresh(newbie).totp_secret
    assert "<svg" in page  # the QR code, drawn on the server

    response = client.post("/account/mfa/setup", data={"code": wrong_code(newbie)})
    assert response.status_code == 200
    assert not fresh(newbie).has_mfa
    assert_pre_mfa(client, "/account/mfa/setup")

    sid_before = sid_of(client)
    response = client.post("/account/mfa/setup", data={"code": pyotp.TOTP(secret).now()})
    assert response.status_code == 200
    page = body(response)
    codes = re.findall(r"<li><code>([0-9a-f]{5}-[0-9a-f]{5})</code></li>", page)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert 'href="/account"' in page  # "continue" goes where the user was headed
    assert fresh(newbie).has_mfa
    assert sid_of(client) not in (None, sid_before)  # a new session id once fully signed in
    assert session_row(sid_before).revoked_at is not None
    assert_signed_in(client)
    stored = db.session.scalars(select(RecoveryCode).where(RecoveryCode.user_id == newbie.id)).all()
    assert len(stored) == 10
    for row in stored:  # stored hashed, never the code itself
        assert row.code_hash.startswith("$argon2id$")
        assert not any(code.replace("-", "") in row.code_hash for code in codes)
    assert [e.object_id for e in audit_events("user.mfa_enabled")] == [newbie.id]


def test_replayed_totp_code_is_refused(client, new_client, clock):
    someone = user("replay@example.nl")
    login_as(client, someone, mfa_verified=False)
    code = current_totp(someone)
    assert client.post("/login/mfa", data={"code": code}).status_code == 302
    assert_signed_in(client)

    attacker = login_as(new_client(), someone, mfa_verified=False)  # knows the password, saw the code
    response = attacker.post("/login/mfa", data={"code": code})
    assert response.status_code == 200
    assert BAD_CODE in body(response)
    assert_pre_mfa(attacker)
    assert [e.user_id for e in audit_events("user.mfa_failed")] == [someone.id]

    clock.shift(timedelta(seconds=30))  # the next code is fine
    next_code = pyotp.TOTP(someone.totp_secret).now()
    assert next_code != code
    assert attacker.post("/login/mfa", data={"code": next_code}).status_code == 302
    assert_signed_in(attacker)


def test_recovery_code_works_once_and_only_once(client, new_client):
    someone = user("recover@example.nl")
    # Recovery codes hashed with cheap argon2 parameters: the hash carries its parameters, so the app
    # verifies them as usual (the real hashing is covered by the MFA setup test).
    cheap = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    codes = ["a1b2c3d4e5", "f6a7b8c9d0", "0123456789"]
    db.session.add_all(RecoveryCode(user_id=someone.id, code_hash=cheap.hash(code)) for code in codes)
    db.session.commit()

    login_as(client, someone, mfa_verified=False)
    response = client.post("/login/mfa", data={"code": "a1b2c-3d4e5"})  # as shown on the setup page
    assert response.status_code == 302
    assert "You used a recovery code" in body(client.get("/"))
    assert_signed_in(client)
    assert audit_events("user.login")[0].reason == "recovery code"

    again = login_as(new_client(), someone, mfa_verified=False)
    response = again.post("/login/mfa", data={"code": "a1b2c-3d4e5"})
    assert response.status_code == 200
    assert BAD_CODE in body(response)
    assert_pre_mfa(again)

    # Another code still works, typed in capitals without the hyphen.
    assert again.post("/login/mfa", data={"code": "F6A7B8C9D0"}).status_code == 302
    assert_signed_in(again)
    used = db.session.scalars(select(RecoveryCode).where(RecoveryCode.user_id == someone.id,
                                                         RecoveryCode.used_at.is_not(None))).all()
    assert len(used) == 2


# Endpoints a password-only session may reach: the sign-in flow itself and harmless utilities.
# main.index is walked: for a signed-in user it lists their networks.
PRE_MFA_ALLOWED = {"static", "main.healthz", "main.set_locale", "main.favicon", "auth.login",
                   "auth.mfa_verify", "auth.mfa_setup", "auth.logout", "auth.forgot_password",
                   "auth.reset_password", "auth.accept_invitation", "auth.reset_password_link",
                   "auth.accept_invitation_link"}


def _walk_urls(app, values: dict[str, object], method: str):
    """(endpoint, url) for every rule answering *method*, with real ids filled in."""
    adapter = app.url_map.bind("localhost")
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if method not in rule.methods or rule.endpoint in PRE_MFA_ALLOWED:
            continue
        options = []
        for name in sorted(rule.arguments):
            converter = rule._converters[name]
            if isinstance(converter, AnyConverter):
                options.append([(name, item) for item in sorted(converter.items)])
            elif name in values:
                options.append([(name, values[name])])
            else:
                pytest.fail(f"route walk: no value for <{name}> in {rule.rule}; add one to this test")
        for combination in itertools.product(*options):
            yield rule.endpoint, adapter.build(rule.endpoint, dict(combination), method=method)


@pytest.fixture
def walk_world():
    network = make_network("noord")
    colleague = user("colleague@example.nl")
    membership = make_member(network, colleague.email)
    patient = make_patient(network, created_by=colleague)
    meeting = make_meeting(network, attendees=(membership,))
    training = make_training(membership)
    evidence = make_evidence(membership)
    snapshot = make_snapshot(membership)
    contact = make_contact(network)
    link = make_practice_link(make_gp("walk-gp@example.nl", agb="11112222"),
                              make_gp("walk-poh@example.nl", agb="33334444", kind="poh"))
    verify_token = issue_token(colleague, TokenPurpose.VERIFY_EMAIL)
    db.session.commit()
    return network, {"network_slug": network.slug, "membership_id": membership.id, "patient_id": patient.id,
                     "meeting_id": meeting.id, "user_id": colleague.id, "training_id": training.id,
                     "evidence_id": evidence.id, "snapshot_id": snapshot.id, "contact_id": contact.id,
                     "network_id": network.id, "slug": network.slug, "organization_id": hsds_org(network.id), "service_id": hsds_org(network.id), "token": verify_token,
                     "link_id": link.id, "key": "story",
                     "role": "coordinator", "section": "consent", "name": "coordinator-home.png",
                     # Referral and case routes: any id will do, the walk must be refused before any lookup.
                     **dict.fromkeys(("referral_id", "attachment_id", "case_id", "member_id", "version", "consent_id",
                                      "note_id", "action_id", "letter_id", "duplicate_id", "account_id", "relative_id",
                                      "discussion_id", "subscription_id", "api_client_id"), 1)}


@pytest.mark.parametrize("kind, mfa_page", [("mfa", "/login/mfa"), ("no-mfa", "/account/mfa/setup"),
                                            ("demo", "/login/mfa")])
def test_password_only_session_never_gets_data(app, client, walk_world, kind, mfa_page):
    network, values = walk_world
    # A coordinator who is also platform admin: with MFA done, every page would answer.
    walker = member(network, f"walker-{kind}@example.nl", role=Role.COORDINATOR, is_platform_admin=True,
                    mfa=kind != "no-mfa", is_demo=kind == "demo")
    login(client, walker, mfa=False)  # the real password form; the second step is not done

    leaks, walked = [], set()
    for method in ("GET", "POST"):
        for endpoint, url in _walk_urls(app, values, method):
            walked.add(endpoint)
            response = client.get(url) if method == "GET" else client.post(url, data={})
            refused = response.status_code == 404 or (
                response.status_code in (302, 303) and path_of(response) == mfa_page)
            if not refused:
                leaks.append(f"{method} {url} -> {response.status_code} {response.location or ''}")
    assert not leaks, "a password-only session reached:\n" + "\n".join(leaks)
    assert {"main.index", "auth.account", "admin.users", "admin.user_operation", "networks.members",
            "patients.detail", "auth.change_password", "auth.reset_own_mfa"} <= walked
    assert fresh(db.session.get(User, values["user_id"])).active  # the POSTs did nothing
    assert fresh(walker).has_mfa == (kind != "no-mfa") and live_sessions(walker) == 1
    assert_pre_mfa(client, mfa_page)

    # Control: the same walk with the second factor done does reach the data.
    full = login_as(app.test_client(), walker, mfa_verified=True)
    for endpoint, url in _walk_urls(app, values, "GET"):
        response = full.get(url)
        assert path_of(response) != mfa_page, url
        if endpoint in {"main.index", "auth.account", "admin.users", "networks.members", "patients.detail"}:
            assert response.status_code == 200, url
    assert "Jansen" in body(full.get(f"/n/noord/patients/{values['patient_id']}"))


def test_demo_bypass_is_off_outside_development():
    assert ProductionConfig.DEMO_MFA_BYPASS is False


# --- sessions -------------------------------------------------------------------------------------------

def test_session_id_rotates_at_login_and_after_mfa(client, new_client):
    someone = user("rotate@example.nl")
    client.get("/login")
    with client.session_transaction() as session:
        session["sid"] = "planted-by-an-attacker"  # session fixation attempt
    response = post_login(client, someone.email)
    assert response.status_code == 302
    sid_password = sid_of(client)
    assert sid_password and sid_password != "planted-by-an-attacker"
    pre_mfa_cookie = cookie_value(client)

    assert client.post("/login/mfa", data={"code": current_totp(someone)}).status_code == 302
    sid_full = sid_of(client)
    assert sid_full and sid_full != sid_password
    assert session_row(sid_password).revoked_at is not None
    assert session_row(sid_full).revoked_at is None and session_row(sid_full).mfa_verified_at is not None
    assert live_sessions(someone) == 1

    # The cookie from before the second factor is worth nothing now.
    stale = new_client()
    stale.set_cookie(COOKIE, pre_mfa_cookie)
    assert_signed_out(stale)


def test_logout_kills_the_session_server_side(client, new_client):
    network = make_network("west")
    someone = member(network, "bye@example.nl", role=Role.COORDINATOR)
    patient = make_patient(network, created_by=someone)
    login(client, someone)
    assert "Jansen" in body(client.get(f"/n/west/patients/{patient.id}"))
    saved = cookie_value(client)
    sid = sid_of(client)

    logout(client)
    assert session_row(sid).revoked_at is not None
    assert_signed_out(client)

    replay = new_client()
    replay.set_cookie(COOKIE, saved)  # the cookie copied before the logout
    assert_signed_out(replay)
    response = replay.get(f"/n/west/patients/{patient.id}")
    assert response.status_code == 302 and path_of(response) == "/login"
    assert "Jansen" not in body(response)


def test_logout_needs_csrf(client):
    login_as(client, user("csrf-logout@example.nl"))
    assert client.post("/logout", data={}, csrf=False).status_code == 400
    assert_signed_in(client)


def test_password_change_ends_all_sessions(client, new_client):
    someone = user("change@example.nl")
    other_browser = login_as(new_client(), someone)
    login_as(client, someone)

    response = change_password(client, PASSWORD, NEW_PASSWORD)
    assert response.status_code == 302 and path_of(response) == "/login"
    assert live_sessions(someone) == 0
    assert_signed_out(client)
    assert_signed_out(other_browser)

    assert WRONG_LOGIN in body(post_login(new_client(), someone.email, PASSWORD))
    assert path_of(post_login(new_client(), someone.email, NEW_PASSWORD)) == "/login/mfa"


def _admin_and_victim(client, new_client):
    admin = user("admin@example.nl", is_platform_admin=True)
    victim = user("victim@example.nl")
    victim_browsers = [login_as(new_client(), victim), login_as(new_client(), victim)]
    for browser in victim_browsers:
        assert_signed_in(browser)
    login_as(client, admin)
    return admin, victim, victim_browsers


def test_admin_deactivation_ends_all_sessions(client, new_client):
    admin, victim, browsers = _admin_and_victim(client, new_client)
    assert "victim@example.nl" in body(client.get(f"/admin/users/{victim.id}/deactivate"))  # confirmation
    assert fresh(victim).active is True  # GET only asks
    response = client.post(f"/admin/users/{victim.id}/deactivate", data={})
    assert response.status_code == 302 and path_of(response) == "/admin/users"
    assert fresh(victim).active is False
    assert live_sessions(victim) == 0  # revoked at once, server-side
    for browser in browsers:
        assert_signed_out(browser)
    assert WRONG_LOGIN in body(post_login(new_client(), victim.email))
    assert [(e.user_id, e.object_id) for e in audit_events("user.deactivate")] == [(admin.id, victim.id)]


def test_only_platform_admins_can_deactivate(client):
    victim = user("victim2@example.nl")
    login_as(client, user("plain@example.nl"))
    assert client.post(f"/admin/users/{victim.id}/deactivate", data={}).status_code == 404
    assert client.post(f"/admin/users/{victim.id}/reset-mfa", data={}).status_code == 404
    victim = fresh(victim)
    assert victim.active is True and victim.has_mfa


def test_deactivated_user_is_refused_even_with_a_live_session_row(client):
    someone = user("flag@example.nl")
    login_as(client, someone)
    someone.active = False  # set directly in the database: the loader checks it on every request
    db.session.commit()
    assert_signed_out(client)
    assert live_sessions(someone) == 0


def test_admin_mfa_reset_ends_all_sessions(client, new_client):
    _admin, victim, browsers = _admin_and_victim(client, new_client)
    response = client.post(f"/admin/users/{victim.id}/reset-mfa", data={})
    assert response.status_code == 302
    victim = fresh(victim)
    assert not victim.has_mfa and victim.totp_secret is None
    assert live_sessions(victim) == 0
    for browser in browsers:
        assert_signed_out(browser)
    assert [e.object_id for e in audit_events("user.reset_mfa")] == [victim.id]
    # Next sign-in: set the second factor up again.
    assert path_of(post_login(new_client(), victim.email)) == "/account/mfa/setup"


def test_own_mfa_reset_needs_a_fresh_login_and_ends_all_sessions(client, new_client, clock):
    someone = user("own-reset@example.nl")
    other_browser = login_as(new_client(), someone)
    login_as(client, someone)

    clock.shift(timedelta(minutes=11))  # signed in, but not recently enough for this change
    response = client.post("/account/mfa/reset", data={})
    assert response.status_code == 302 and path_of(response) == "/login"
    assert fresh(someone).has_mfa
    assert_signed_out(client)
    assert_signed_in(other_browser)
    assert mails_to(someone.email) == []

    login_as(client, someone)
    response = client.post("/account/mfa/reset", data={})
    assert response.status_code == 302 and path_of(response) == "/login"
    assert not fresh(someone).has_mfa
    assert_signed_out(client)
    assert_signed_out(other_browser)
    assert len(mails_to(someone.email, "mfa_reset")) == 1


def test_idle_timeout_is_30_minutes(client, clock):
    login(client, user("idle@example.nl"))
    sid = sid_of(client)
    clock.shift(timedelta(minutes=29))
    assert_signed_in(client)  # activity keeps the session alive
    clock.shift(timedelta(minutes=29))
    assert_signed_in(client)
    clock.shift(timedelta(minutes=31))
    assert_signed_out(client)
    assert session_row(sid).revoked_at is not None


def test_absolute_timeout_is_12_hours_even_with_activity(client, clock):
    login(client, user("marathon@example.nl"))
    sid = sid_of(client)
    for _ in range(28):  # 28 x 25 minutes = 11 h 40 min, never idle for long
        clock.shift(timedelta(minutes=25))
        assert_signed_in(client)
    clock.shift(timedelta(minutes=25))  # 12 h 05 min after signing in
    assert_signed_out(client)
    assert session_row(sid).revoked_at is not None


# --- throttling -----------------------------------------------------------------------------------------

def test_failed_logins_for_one_account_are_throttled_without_locking_the_owner_out(client, new_client, clock):
    """The new policy (app/auth/throttle.py; more in tests/test_login_throttle.py): no 15-minute lock after
    10 failures, but after 5 failures of one account+address a short, doubling wait, refused with the time
    to wait; other accounts and other addresses are not affected; the wait ends by itself."""
    target = user("target@example.nl")
    for attempt in range(5):
        response = post_login(client, target.email, f"guess number {attempt}")
        assert response.status_code == 200 and WRONG_LOGIN in body(response)
    response = post_login(client, target.email)  # even the right password is not tried now
    assert response.status_code == 429 and response.headers["Retry-After"] == "30"
    assert "Try again in 30 seconds" in body(response)
    assert live_sessions(target) == 0

    # Other accounts from this address, and the owner from another address, still get in.
    bystander = user("bystander@example.nl")
    assert post_login(client, bystander.email).status_code == 302
    assert post_login(new_client("198.51.100.7"), target.email).status_code == 302

    clock.shift(timedelta(seconds=30))
    assert post_login(new_client(), target.email).status_code == 302


def test_login_attempts_per_address_are_throttled(client, new_client, app, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_LIMIT_PER_IP", "3 per 15 minutes")  # 30 in production
    for n in range(3):
        assert post_login(client, f"spray{n}@example.nl", "Winter2024!!").status_code == 200
    real = user("real@example.nl")
    response = post_login(new_client(), real.email)  # another browser, same address
    assert response.status_code == 429 and TOO_MANY in body(response)


def test_mfa_code_brute_force_is_throttled(client, new_client):
    target = user("mfa-target@example.nl")
    bystander = user("mfa-bystander@example.nl")
    login_as(client, target, mfa_verified=False)
    for _ in range(10):
        response = client.post("/login/mfa", data={"code": wrong_code(target)})
        assert response.status_code == 200 and BAD_CODE in body(response)
    response = client.post("/login/mfa", data={"code": current_totp(target)})
    assert response.status_code == 429 and TOO_MANY in body(response)
    assert_pre_mfa(client)

    # A new session of the same account does not start from zero.
    second = login_as(new_client(), target, mfa_verified=False)
    assert second.post("/login/mfa", data={"code": current_totp(target)}).status_code == 429
    assert_pre_mfa(second)
    # Someone else is not affected.
    other = login_as(new_client(), bystander, mfa_verified=False)
    assert other.post("/login/mfa", data={"code": current_totp(bystander)}).status_code == 302


def test_current_password_guessing_is_throttled(client, app, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_LIMIT_PER_ACCOUNT", "3 per 15 minutes")
    someone = user("oracle@example.nl")
    login_as(client, someone)
    for n in range(3):
        assert change_password(client, f"guess number {n}", NEW_PASSWORD).status_code == 400
    response = change_password(client, PASSWORD, NEW_PASSWORD)
    assert response.status_code == 429
    assert password_hasher.verify(fresh(someone).password_hash, PASSWORD)


def test_forgot_password_is_throttled(client):
    for n in range(5):
        assert client.post("/password/forgot", data={"email": f"x{n}@example.nl"}).status_code == 302
    assert client.post("/password/forgot", data={"email": "x9@example.nl"}).status_code == 429


# --- passwords ------------------------------------------------------------------------------------------

def test_password_change_stores_argon2id_and_sends_a_notification_mail(client):
    someone = user("notify@example.nl")
    login_as(client, someone)
    assert change_password(client, PASSWORD, NEW_PASSWORD).status_code == 302

    stored = fresh(someone).password_hash
    assert stored.startswith("$argon2id$") and NEW_PASSWORD not in stored
    password_hasher.verify(stored, NEW_PASSWORD)
    params, default = extract_parameters(stored), extract_parameters(PasswordHasher().hash("x"))
    assert params.type is Type.ID
    assert params.time_cost >= default.time_cost and params.memory_cost >= default.memory_cost

    mails = mails_to(someone.email)
    assert [(m.payload["template"], m.status) for m in mails] == [("password_changed", "done")]
    assert NEW_PASSWORD not in mails[0].payload["body"]
    assert [e.object_id for e in audit_events("user.password_changed")] == [someone.id]


def test_weak_hash_parameters_are_upgraded_at_login(client):
    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(PASSWORD)
    someone = user("old-hash@example.nl")
    someone.password_hash = weak
    db.session.commit()
    login(client, someone, mfa=False)
    upgraded = fresh(someone).password_hash
    assert upgraded != weak and upgraded.startswith("$argon2id$")
    assert not password_hasher.check_needs_rehash(upgraded)
    password_hasher.verify(upgraded, PASSWORD)


@pytest.mark.parametrize("new, message", [
    ("short-11chr", "Use at least 12 characters."),
    ("welkom123456", "This password is too common; choose another one."),
    ("WELKOM123456", "This password is too common; choose another one."),
    ("aaaaaaaaaaaaaaaa", "This password is too common; choose another one."),
    ("my-pw-is-strongpolicy", "The password must not contain your name, email address or network name."),
    ("ik werk bij netwerk noord", "The password must not contain your name, email address or network name."),
])
def test_weak_passwords_are_refused(client, new, message):
    someone = member(make_network("noord"), "strongpolicy@example.nl")  # in "Netwerk Noord"
    token = issue_token(someone, TokenPurpose.RESET)
    db.session.commit()
    response = set_password_via_reset(client, token, new)
    assert response.status_code == 200
    assert message in body(response)
    assert fresh(someone).password_hash == _hash_of(PASSWORD)
    assert client.get(f"/password/reset/{token}").status_code == 302  # the link stays usable


def test_password_of_exactly_12_characters_is_accepted(client):
    assert len(NEW_PASSWORD) == 12
    someone = user("twelve@example.nl")
    token = issue_token(someone, TokenPurpose.RESET)
    db.session.commit()
    assert set_password_via_reset(client, token, NEW_PASSWORD).status_code == 302
    password_hasher.verify(fresh(someone).password_hash, NEW_PASSWORD)


def test_password_change_requires_the_current_password(client):
    someone = user("needs-current@example.nl")
    login_as(client, someone)
    assert change_password(client, None, NEW_PASSWORD).status_code == 400
    response = change_password(client, "not my password", NEW_PASSWORD)
    assert response.status_code == 400
    assert "The current password is not correct." in body(response)
    response = change_password(client, PASSWORD, NEW_PASSWORD, confirm=NEW_PASSWORD + "x")
    assert response.status_code == 400 and "The passwords differ." in body(response)
    response = change_password(client, PASSWORD, "welkom123456")  # the policy applies here too
    assert response.status_code == 400 and "too common" in body(response)
    assert fresh(someone).password_hash == _hash_of(PASSWORD)
    assert mails_to(someone.email) == []
    assert_signed_in(client)


# --- password reset -----------------------------------------------------------------------------------

def test_forgot_password_answers_identically_for_known_and_unknown_addresses(new_client):
    known = user("forgetful@example.nl")
    answers = {}
    for email in (known.email, "nobody@example.nl"):
        browser = new_client()
        response = browser.post("/password/forgot", data={"email": email})
        assert response.status_code == 302 and path_of(response) == "/login"
        followed = browser.get(response.location)
        answers[email] = (followed.status_code, normalized(body(followed), email))
    assert answers[known.email] == answers["nobody@example.nl"]
    assert "If this address has an account" in answers[known.email][1]
    assert len(mails_to(known.email, "password_reset")) == 1
    assert mails_to("nobody@example.nl") == []


def test_no_reset_mail_for_inactive_users(client):
    inactive = user("inactive-reset@example.nl", active=False)
    assert client.post("/password/forgot", data={"email": inactive.email}).status_code == 302
    assert mails_to(inactive.email) == []


def test_reset_link_works_once_and_ends_sessions(client, new_client):
    someone = user("reset@example.nl")
    signed_in_elsewhere = login_as(new_client(), someone)
    client.post("/password/forgot", data={"email": someone.email})
    token = reset_link_token(someone.email)

    assert client.get(f"/password/reset/{token}").status_code == 302  # looking does not use it
    response = set_password_via_reset(client, token, NEW_PASSWORD)
    assert response.status_code == 302 and path_of(response) == "/login"
    password_hasher.verify(fresh(someone).password_hash, NEW_PASSWORD)
    assert_signed_out(signed_in_elsewhere)
    assert live_sessions(someone) == 0
    assert len(mails_to(someone.email, "password_changed")) == 1
    # A reset replaces the password only: the second factor is still asked for.
    assert path_of(post_login(new_client(), someone.email, NEW_PASSWORD)) == "/login/mfa"

    response = client.get(f"/password/reset/{token}")
    assert response.status_code == 404 and LINK_INVALID in body(response)
    response = set_password_via_reset(client, token, "another-long-one")
    assert response.status_code == 404 and LINK_INVALID in body(response)
    password_hasher.verify(fresh(someone).password_hash, NEW_PASSWORD)


def test_reset_link_expires_after_one_hour(client, clock):
    someone = user("slow@example.nl")
    client.post("/password/forgot", data={"email": someone.email})
    token = reset_link_token(someone.email)
    clock.shift(timedelta(minutes=59))
    assert client.get(f"/password/reset/{token}").status_code == 302
    clock.shift(timedelta(minutes=2))
    response = client.get(f"/password/reset/{token}")
    assert response.status_code == 404 and LINK_INVALID in body(response)
    assert set_password_via_reset(client, token, NEW_PASSWORD).status_code == 404
    assert fresh(someone).password_hash == _hash_of(PASSWORD)


def test_a_new_reset_link_voids_the_previous_one(client):
    someone = user("twice@example.nl")
    client.post("/password/forgot", data={"email": someone.email})
    first = reset_link_token(someone.email)
    client.post("/password/forgot", data={"email": someone.email})
    second = reset_link_token(someone.email)
    assert first != second
    assert client.get(f"/password/reset/{first}").status_code == 404
    assert client.get(f"/password/reset/{second}").status_code == 302


def test_reset_tokens_are_stored_hashed(client):
    someone = user("hashed-token@example.nl")
    client.post("/password/forgot", data={"email": someone.email})
    token = reset_link_token(someone.email)
    assert len(token) >= 40  # 32 random bytes, URL-safe
    rows = db.session.execute(text("SELECT * FROM account_tokens")).all()
    assert len(rows) == 1
    assert all(token not in str(value) for value in rows[0])
    stored = db.session.scalar(select(AccountToken))
    assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert stored.purpose is TokenPurpose.RESET and stored.user_id == someone.id


# --- invitation -----------------------------------------------------------------------------------------

def test_invitation_sets_name_and_password_once(client, new_client):
    invited = member(make_network("oost"), "invited@example.nl", password=None, mfa=False, name="Placeholder")
    token = issue_token(invited, TokenPurpose.INVITE)
    db.session.commit()
    assert token not in str(db.session.execute(text("SELECT * FROM account_tokens")).all())

    opened = client.get(f"/invitation/{token}")
    assert opened.status_code == 302 and opened.headers["Location"] == "/invitation"  # the token leaves the URL
    assert "invited@example.nl" in body(client.get("/invitation"))
    response = client.post("/invitation", data={
        "full_name": "Anna de Vries", "password": "netwerk oost is top", "confirm": "netwerk oost is top"})
    assert response.status_code == 200 and "network name" in body(response)
    response = client.post("/invitation", data={
        "full_name": " Anna de Vries ", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 302 and path_of(response) == "/login"
    invited = fresh(invited)
    assert invited.full_name == "Anna de Vries"
    assert invited.password_hash.startswith("$argon2id$")
    password_hasher.verify(invited.password_hash, NEW_PASSWORD)
    assert [e.user_id for e in audit_events("user.invitation_accepted")] == [invited.id]
    # Signed in with the new password, the first stop is setting up the second factor.
    assert path_of(post_login(new_client(), invited.email, NEW_PASSWORD)) == "/account/mfa/setup"

    response = client.get(f"/invitation/{token}")
    assert response.status_code == 404 and LINK_INVALID in body(response)
    response = client.post("/invitation", data={
        "full_name": "Mallory", "password": "mallory-was-here", "confirm": "mallory-was-here"})
    assert response.status_code == 404
    assert fresh(invited).full_name == "Anna de Vries"
    password_hasher.verify(invited.password_hash, NEW_PASSWORD)


def test_deactivation_voids_an_open_invitation(client, new_client):
    admin = user("admin@example.nl", is_platform_admin=True)
    invited = user("left@example.nl", password=None, mfa=False)
    token = issue_token(invited, TokenPurpose.INVITE)
    db.session.commit()
    login_as(client, admin)
    assert client.post(f"/admin/users/{invited.id}/deactivate", data={}).status_code == 302

    browser = new_client()
    assert browser.get(f"/invitation/{token}").status_code == 404
    response = browser.post("/invitation", data={
        "full_name": "Left", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 404
    invited = fresh(invited)
    assert invited.active is False and invited.password_hash is None


def test_tokens_only_work_for_their_purpose(client):
    someone = user("mixup@example.nl", password=None, mfa=False)
    invite = issue_token(someone, TokenPurpose.INVITE)
    reset = issue_token(someone, TokenPurpose.RESET)
    db.session.commit()
    assert client.get(f"/password/reset/{invite}").status_code == 404
    assert client.get(f"/invitation/{reset}").status_code == 404


# --- safe next ---------------------------------------------------------------------------------------------

def _stays_on_this_site(location: str) -> bool:
    return (location.startswith("/") and not location.startswith("//")
            and not any(char in location for char in "\\\t\r\n"))


@pytest.mark.parametrize("target", ["https://evil.example", "//evil.example", "/\\evil.example",
                                    "/\t/evil.example"])
def test_login_next_to_another_site_is_not_followed(client, target):
    someone = user("next@example.nl")
    assert post_login(client, someone.email, next_=target).status_code == 302
    response = client.post("/login/mfa", data={"code": current_totp(someone)})
    assert response.status_code == 302
    if "evil.example" in urlsplit(target).netloc:
        assert response.location == "/"
    assert _stays_on_this_site(response.location), response.location


def test_login_relative_next_is_honoured(client):
    someone = user("next-ok@example.nl")
    response = client.get("/account?tab=2")
    assert path_of(response) == "/login"
    # Flask-Login sends the browser on with ?next=/account?tab=2 (the query string is kept).
    response = client.post(response.location, data={"email": someone.email, "password": PASSWORD})
    assert response.status_code == 302
    response = client.post("/login/mfa", data={"code": current_totp(someone)})
    assert response.status_code == 302 and response.location == "/account?tab=2"


# --- cookies --------------------------------------------------------------------------------------------

def _session_set_cookie(response) -> str:
    headers = [h for h in response.headers.getlist("Set-Cookie") if h.startswith(f"{COOKIE}=")]
    assert headers, response.headers
    return headers[-1]


def test_session_cookie_is_httponly_and_samesite_lax(client):
    response = login(client, user("cookie@example.nl"))
    header = _session_set_cookie(response)
    assert "HttpOnly" in header
    assert "SameSite=Lax" in header
    assert "Secure" not in header  # plain http in tests
    assert not any(h.startswith("remember_token=") for h in response.headers.getlist("Set-Cookie"))


def test_session_cookie_is_secure_in_production(app_with):
    assert ProductionConfig.SESSION_COOKIE_SECURE is True
    assert ProductionConfig.SESSION_COOKIE_HTTPONLY is True
    assert ProductionConfig.SESSION_COOKIE_SAMESITE == "Lax"
    production_like = app_with(SESSION_COOKIE_SECURE=True)
    browser = production_like.test_client()
    response = login(browser, user("secure@example.nl"))
    header = _session_set_cookie(response)
    assert "Secure" in header and "HttpOnly" in header and "SameSite=Lax" in header
