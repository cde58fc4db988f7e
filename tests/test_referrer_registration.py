"""GP and practice-nurse self-registration (/verwijzer): validation, no account enumeration, email
verification links, the unverified start page, practice-nurse links and the services the referral
feature builds on (is_verified_referrer, gps_for_referrer)."""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from app.auth.models import AccountToken, GPProfile, ReferrerKind, TokenPurpose, User
from app.core.audit import AuditAction, AuditEvent, AuditOutcome
from app.core.db import utcnow
from app.core.jobs import Outbox
from app.extensions import db
from app.referrals.models import PracticeNurseLink
from app.referrals.services import gps_for_referrer, is_verified_referrer
from tests.conftest import delivered_mails, login, login_as, make_gp, make_practice_link, make_user

GOOD_PASSWORD = "een lange zin als wachtwoord"
CHECK_MAIL = "Check your mail"
AGB_TAKEN = "This AGB code is already registered."
VERIFY_FIRST = "Confirm your email address first"
NO_GP = "We found no GP of your practice with this AGB code."


@pytest.fixture
def client(client):
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


@pytest.fixture
def clock():
    with time_machine.travel(datetime.now(UTC).replace(microsecond=0), tick=False) as traveller:
        yield traveller


def body(response) -> str:
    return response.get_data(as_text=True)


def form_data(**overrides) -> dict:
    return {"full_name": "Els Verbeek", "email": "els.verbeek@praktijk.example", "kind": "gp",
            "agb_code": "01020304", "practice_name": "Huisartsenpraktijk Zuiderhout", "city": "Haarlem",
            "practice_agb": "", "phone": "", "password": GOOD_PASSWORD, "confirm": GOOD_PASSWORD, **overrides}


def register(client, **overrides):
    return client.post("/verwijzer/registreren", data=form_data(**overrides))


def mails_to(address: str, template: str | None = None) -> list[Outbox]:
    db.session.expire_all()
    rows = db.session.scalars(select(Outbox).where(Outbox.kind == "mail").order_by(Outbox.id)).all()
    return [row for row in rows if row.payload["to"] == address
            and (template is None or row.payload.get("template") == template)]


def verify_link_token(address: str) -> str:
    mails = delivered_mails(address, "verify_email")
    assert mails, f"no verification mail to {address}"
    match = re.search(r"http://localhost/verwijzer/email/(\S+)", mails[-1]["body"])
    assert match, mails[-1]["body"]
    return match.group(1)


def verify_via_link(client, token: str):
    """Open the mailed link (its token moves into the session), then confirm; a bad link answers itself."""
    opened = client.get(f"/verwijzer/email/{token}")
    if opened.status_code != 302:
        return opened
    return client.post("/verwijzer/email", data={})


def user_count() -> int:
    return db.session.scalar(select(func.count()).select_from(User))


def audit_rows(event: str) -> list[AuditEvent]:
    return db.session.scalars(select(AuditEvent).where(AuditEvent.event == event)).all()


def without_csrf(html: str) -> str:
    return re.sub(r'name="csrf_token"[^>]*value="[^"]*"|value="[^"]*"[^>]*name="csrf_token"', "csrf", html)


# --- registration ------------------------------------------------------------------------------

def test_registration_creates_an_unverified_gp_and_mails_a_link(client):
    assert client.get("/verwijzer/registreren").status_code == 200
    response = register(client, phone="023 123 45 67", practice_agb="01999999")
    assert response.status_code == 200
    assert CHECK_MAIL in body(response)
    user = db.session.scalar(select(User).where(User.email == "els.verbeek@praktijk.example"))
    assert user is not None and user.active and user.email_verified_at is None
    assert user.password_hash and GOOD_PASSWORD not in user.password_hash
    assert user.mfa_enabled_at is None  # two-step verification is set up at the first sign-in
    profile = user.gp_profile
    assert (profile.kind, profile.agb_code, profile.practice_name, profile.city, profile.practice_agb,
            profile.phone) == (ReferrerKind.GP, "01020304", "Huisartsenpraktijk Zuiderhout", "Haarlem",
                               "01999999", "023 123 45 67")
    token = verify_link_token(user.email)
    assert token not in str(db.session.scalars(select(AccountToken.token_hash)).all())  # stored hashed
    [registered] = audit_rows("referrer.registered")
    assert (registered.user_id, registered.action, registered.object_type, registered.object_id) == (
        user.id, AuditAction.CREATE, "gp_profile", profile.id)


def test_a_practice_nurse_registers_with_kind_poh(client):
    register(client, kind="poh", email="poh@praktijk.example")
    profile = db.session.scalar(select(GPProfile).join(User).where(User.email == "poh@praktijk.example"))
    assert profile.kind is ReferrerKind.POH


@pytest.mark.parametrize("overrides, field, message", [
    ({"agb_code": "1234567"}, "agb_code", "An AGB code has exactly 8 digits."),
    ({"agb_code": "1234567a"}, "agb_code", "An AGB code has exactly 8 digits."),
    ({"practice_agb": "99"}, "practice_agb", "An AGB code has exactly 8 digits."),
    ({"password": "kort", "confirm": "kort"}, "password", "Use at least 12 characters."),
    ({"password": "aaaaaaaaaaaaa", "confirm": "aaaaaaaaaaaaa"}, "password", "This password is too common"),
    ({"password": "els.verbeek is mijn naam", "confirm": "els.verbeek is mijn naam"}, "password",
     "must not contain your name"),
    ({"confirm": GOOD_PASSWORD + "x"}, "confirm", "The passwords differ."),
    ({"email": "not-an-email"}, "email", "Invalid email address."),
    ({"kind": "admin"}, "kind", "Not a valid choice"),
    ({"city": ""}, "city", "This field is required."),
])
def test_invalid_registration_keeps_the_form_and_creates_nothing(client, overrides, field, message):
    response = register(client, **overrides)
    html = body(response)
    assert response.status_code == 400
    assert message in html
    assert f'id="{field}-err"' in html  # the message sits at the field
    assert 'value="Els Verbeek"' in html and 'value="Huisartsenpraktijk Zuiderhout"' in html  # kept
    assert GOOD_PASSWORD not in html  # passwords are never echoed
    assert user_count() == 0
    assert mails_to(form_data(**overrides)["email"]) == []


def test_registration_needs_a_csrf_token(client):
    assert client.post("/verwijzer/registreren", data=form_data(), csrf=False).status_code == 400
    assert user_count() == 0


def test_known_email_gets_the_same_page_and_its_owner_a_notice(client, new_client):
    existing = make_user("bekend@praktijk.example", name="Bekende Gebruiker")
    fresh = register(client, email="nieuw@praktijk.example", agb_code="11111111")
    known = register(new_client(), email="Bekend@Praktijk.example", agb_code="22222222")
    assert known.status_code == fresh.status_code == 200
    # Identical apart from the per-session CSRF token (the language form in the layout).
    other = new_client()
    other.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    again = other.post("/verwijzer/registreren", data=form_data(email="bekend@praktijk.example",
                                                                  agb_code="33333333"))
    assert without_csrf(body(again)) == without_csrf(body(fresh))
    db.session.expire_all()
    assert db.session.scalar(select(GPProfile).where(GPProfile.user_id == existing.id)) is None
    assert db.session.scalar(select(GPProfile).where(GPProfile.agb_code == "22222222")) is None
    assert user_count() == 2  # the existing user and the fresh registration
    assert mails_to(existing.email, "verify_email") == []
    notices = mails_to(existing.email, "registration_exists")
    assert len(notices) == 2
    assert "http://localhost/password/forgot" in notices[0].payload["body"]
    assert mails_to("nieuw@praktijk.example", "verify_email")
    assert len(audit_rows("referrer.registration_for_existing_email")) == 2
    assert audit_rows("referrer.registration_for_existing_email")[0].outcome is AuditOutcome.FAILURE


def test_known_agb_code_gets_the_same_answer_and_its_owner_a_notice(client, new_client):
    owner = make_gp("owner@praktijk.example", agb="01020304", name="Olga Owner", locale="en")
    fresh = register(client, email="nieuw@praktijk.example", agb_code="01020305")
    known_client = new_client()
    known_client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    known = register(known_client, email="nieuw2@praktijk.example", agb_code="01020304")
    assert known.status_code == fresh.status_code == 200
    assert without_csrf(body(known)) == without_csrf(body(fresh))
    assert CHECK_MAIL in body(known) and AGB_TAKEN not in body(known)
    assert "owner@praktijk.example" not in body(known) and "Olga" not in body(known)
    # Nothing is created for the known code; its owner is told, the address typed gets nothing.
    db.session.expire_all()
    assert db.session.scalar(select(User).where(User.email == "nieuw2@praktijk.example")) is None
    assert mails_to("nieuw2@praktijk.example") == []
    [notice] = mails_to(owner.email, "registration_agb_exists")
    text = notice.payload["body"]
    assert "AGB code" in text and "http://localhost/password/forgot" in text
    assert "nieuw2@praktijk.example" not in text and "/verwijzer/email/" not in text  # no token, no registrant
    assert mails_to(owner.email, "verify_email") == []
    [row] = audit_rows("referrer.registration_for_existing_agb")
    assert (row.user_id, row.outcome) == (owner.id, AuditOutcome.FAILURE)
    assert mails_to("nieuw@praktijk.example", "verify_email")  # the control registered


def test_known_email_and_its_own_agb_code_send_one_notice(client):
    owner = make_gp("owner@praktijk.example", agb="01020304")
    assert CHECK_MAIL in body(register(client, email="owner@praktijk.example", agb_code="01020304"))
    assert [m.payload["template"] for m in mails_to(owner.email)] == ["registration_exists"]


def test_format_mistakes_in_the_agb_code_are_still_named(client):
    response = register(client, agb_code="0102030")
    assert response.status_code == 400 and "An AGB code has exactly 8 digits." in body(response)


def test_notice_mails_to_one_agb_owner_are_throttled(new_client):
    owner = make_gp("owner@praktijk.example", agb="05050505")
    answers = [register(_from_ip(new_client, f"10.0.2.{n}"), email=f"x{n}@praktijk.example",
                        agb_code="05050505").status_code for n in range(6)]
    assert answers == [200] * 5 + [429]
    assert len(mails_to(owner.email, "registration_agb_exists")) == 5


def test_signed_in_users_are_sent_to_the_start_page(client):
    login_as(client, make_user("someone@example.nl"))
    response = client.get("/verwijzer/registreren")
    assert response.status_code == 302 and response.headers["Location"] == "/"


def test_registration_is_throttled_per_ip(client, new_client):
    for attempt in range(10):
        # Invalid (no argon2 cost), each with its own address: the per-address limit stays out of it.
        assert register(client, agb_code="123", email=f"a{attempt}@praktijk.example").status_code == 400
    assert register(client).status_code == 429
    assert user_count() == 0
    assert CHECK_MAIL in body(register(_from_ip(new_client, "10.0.0.9")))  # another address may


def _from_ip(new_client, address: str):
    other = new_client()
    other.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    other.environ_base["REMOTE_ADDR"] = address
    return other


def test_notice_mails_to_one_address_are_throttled(new_client):
    make_user("doelwit@praktijk.example")
    answers = [register(_from_ip(new_client, f"10.0.1.{n}"), email="doelwit@praktijk.example",
                        agb_code=f"4444444{n}").status_code for n in range(6)]
    assert answers == [200] * 5 + [429]
    assert len(mails_to("doelwit@praktijk.example", "registration_exists")) == 5


# --- verification link -------------------------------------------------------------------------

def test_verification_link_confirms_the_address_once(client, new_client):
    register(client)
    token = verify_link_token("els.verbeek@praktijk.example")
    opened = client.get(f"/verwijzer/email/{token}")
    assert opened.status_code == 302 and opened.headers["Location"] == "/verwijzer/email"  # token out of the URL
    page = client.get("/verwijzer/email")
    assert page.status_code == 200 and "els.verbeek@praktijk.example" in body(page)
    user = db.session.scalar(select(User).where(User.email == "els.verbeek@praktijk.example"))
    db.session.refresh(user)
    assert user.email_verified_at is None  # looking (a mail scanner) confirms nothing
    response = client.post("/verwijzer/email", data={})
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    db.session.refresh(user)
    assert user.email_verified_at is not None
    [verified] = audit_rows("user.email_verified")
    assert (verified.user_id, verified.action, verified.object_id) == (user.id, AuditAction.UPDATE, user.id)
    # Single use: GET and POST answer "not valid" now, also from another browser.
    assert client.get(f"/verwijzer/email/{token}").status_code == 404
    assert verify_via_link(new_client(), token).status_code == 404
    assert client.post("/verwijzer/email", data={}).status_code == 404
    assert len(audit_rows("user.email_verified")) == 1


def test_verification_link_expires_after_48_hours(client, clock):
    register(client)
    token = verify_link_token("els.verbeek@praktijk.example")
    clock.shift(timedelta(hours=47, minutes=59))
    assert client.get(f"/verwijzer/email/{token}").status_code == 302
    clock.shift(timedelta(minutes=2))
    assert client.post("/verwijzer/email", data={}).status_code == 404  # the session's link expired too
    assert client.get(f"/verwijzer/email/{token}").status_code == 404
    user = db.session.scalar(select(User).where(User.email == "els.verbeek@praktijk.example"))
    assert user.email_verified_at is None


def test_unknown_or_other_purpose_tokens_are_refused(client):
    from app.auth.services import issue_token

    user = make_gp("gp@praktijk.example")
    reset = issue_token(user, TokenPurpose.RESET)
    db.session.commit()
    assert verify_via_link(client, reset).status_code == 404
    assert client.get("/verwijzer/email/nonsense").status_code == 404
    db.session.refresh(user)
    assert user.email_verified_at is None


def test_a_deactivated_account_cannot_be_verified(client):
    register(client)
    token = verify_link_token("els.verbeek@praktijk.example")
    user = db.session.scalar(select(User).where(User.email == "els.verbeek@praktijk.example"))
    user.active = False
    db.session.commit()
    assert verify_via_link(client, token).status_code == 404
    db.session.refresh(user)
    assert user.email_verified_at is None


def test_after_verification_sign_in_forces_two_step_set_up(client):
    register(client)
    assert verify_via_link(client, verify_link_token("els.verbeek@praktijk.example")).status_code == 302
    response = client.post("/login", data={"email": "els.verbeek@praktijk.example", "password": GOOD_PASSWORD})
    assert response.status_code == 302 and response.headers["Location"] == "/account/mfa/setup"
    assert client.get("/").headers["Location"] == "/account/mfa/setup"


# --- the unverified start page -----------------------------------------------------------------

def test_unverified_gp_sees_the_notice_and_can_ask_for_a_new_link(client, clock):
    gp = make_gp("gp@praktijk.example")
    login(client, gp)
    page = body(client.get("/"))
    assert VERIFY_FIRST in page and "/verwijzer/email/opnieuw" in page
    assert not is_verified_referrer(gp)
    response = client.post("/verwijzer/email/opnieuw", data={})
    assert response.status_code == 302
    first = verify_link_token(gp.email)
    client.post("/verwijzer/email/opnieuw", data={})
    second = verify_link_token(gp.email)
    assert first != second
    assert client.get(f"/verwijzer/email/{first}").status_code == 404  # a new link replaces the old one
    assert verify_via_link(client, second).status_code == 302
    page = body(client.get("/"))
    assert VERIFY_FIRST not in page
    db.session.expire_all()
    assert is_verified_referrer(db.session.get(User, gp.id))


def test_resending_is_throttled(client):
    gp = make_gp("gp@praktijk.example")
    login_as(client, gp)
    assert [client.post("/verwijzer/email/opnieuw", data={}).status_code for _ in range(4)] == [302, 302, 302, 429]
    assert len(mails_to(gp.email, "verify_email")) == 3


def test_verified_users_and_non_referrers_get_no_new_link(client, new_client):
    verified = make_gp("verified@praktijk.example", email_verified_at=utcnow())
    login_as(client, verified)
    client.post("/verwijzer/email/opnieuw", data={})
    assert mails_to(verified.email) == []
    outsider = login_as(new_client(), make_user("member@example.nl"))
    assert outsider.post("/verwijzer/email/opnieuw", data={}).status_code == 404
    assert VERIFY_FIRST not in body(client.get("/"))


def test_resend_needs_sign_in_and_two_step(client):
    gp = make_gp("gp@praktijk.example")
    assert client.post("/verwijzer/email/opnieuw", data={}).status_code == 302  # to the login page
    login_as(client, gp, mfa_verified=False)
    assert client.post("/verwijzer/email/opnieuw", data={}).headers["Location"] == "/login/mfa"
    assert mails_to(gp.email) == []


def test_is_verified_referrer_needs_email_profile_mfa_and_an_active_account():
    now = utcnow()
    assert is_verified_referrer(make_gp("ok@example.nl", agb="10000001", email_verified_at=now))
    assert not is_verified_referrer(make_gp("unverified@example.nl", agb="10000002"))
    assert not is_verified_referrer(make_gp("nomfa@example.nl", agb="10000003", email_verified_at=now, mfa=False))
    assert not is_verified_referrer(make_gp("off@example.nl", agb="10000004", email_verified_at=now,
                                            active=False))
    assert not is_verified_referrer(make_user("member@example.nl", email_verified_at=now))
    assert not is_verified_referrer(None)


# --- practice nurses ---------------------------------------------------------------------------

@pytest.fixture
def practice():
    now = utcnow()
    gp = make_gp("huisarts@praktijk.example", agb="11110000", email_verified_at=now)
    colleague = make_gp("collega@praktijk.example", agb="11110001", email_verified_at=now)
    elsewhere = make_gp("elders@andere.example", agb="22220000", practice_name="Praktijk Elders", city="Zwolle",
                        email_verified_at=now)
    poh = make_gp("poh@praktijk.example", agb="33330000", kind="poh", practice_name=" praktijk de linde ",
                  city="HAARLEM", email_verified_at=now)
    other_poh = make_gp("poh2@praktijk.example", agb="33330001", kind="poh", email_verified_at=now)
    return {"gp": gp, "colleague": colleague, "elsewhere": elsewhere, "poh": poh, "other_poh": other_poh}


def links() -> list[PracticeNurseLink]:
    db.session.expire_all()
    return db.session.scalars(select(PracticeNurseLink).order_by(PracticeNurseLink.id)).unique().all()


def test_poh_requests_a_link_and_the_gp_confirms(client, new_client, practice):
    poh_client = login_as(client, practice["poh"])
    assert poh_client.get("/verwijzer/praktijk").status_code == 200
    response = poh_client.post("/verwijzer/praktijk", data={"agb_code": "11110000"})
    assert response.status_code == 302
    [link] = links()
    assert (link.poh.user_id, link.gp.user_id, link.confirmed_at) == (practice["poh"].id, practice["gp"].id, None)
    assert mails_to(practice["gp"].email, "practice_link_requested")
    assert gps_for_referrer(practice["poh"]) == []  # pending does not count
    assert "waiting for the GP" in body(poh_client.get("/verwijzer/praktijk"))
    # Asking again changes nothing.
    poh_client.post("/verwijzer/praktijk", data={"agb_code": "11110000"})
    assert len(links()) == 1

    practice["gp"].locale = "en"  # the assertions below read the English start page (Dutch is the default)
    db.session.commit()
    gp_client = login_as(new_client(), practice["gp"])
    start = body(gp_client.get("/"))
    assert "Practice nurses asking to refer on your behalf" in start and "poh@praktijk.example" in start
    assert f"/verwijzer/praktijk/{link.id}/bevestigen" in start
    assert gp_client.post(f"/verwijzer/praktijk/{link.id}/bevestigen", data={}).status_code == 302
    [link] = links()
    assert link.confirmed_at is not None
    assert [p.user_id for p in gps_for_referrer(db.session.get(User, practice["poh"].id))] == [practice["gp"].id]
    assert len(audit_rows("referrer.link_requested")) == len(audit_rows("referrer.link_confirmed")) == 1
    assert "Practice nurses who refer on your behalf" in body(gp_client.get("/"))


def test_the_gp_refuses_a_request(client, new_client, practice):
    link = make_practice_link(practice["gp"], practice["poh"])
    gp_client = login_as(client, practice["gp"])
    assert gp_client.post(f"/verwijzer/praktijk/{link.id}/weigeren", data={}).status_code == 302
    assert links() == []
    assert gps_for_referrer(practice["poh"]) == []
    [refused] = audit_rows("referrer.link_refused")
    assert (refused.user_id, refused.action) == (practice["gp"].id, AuditAction.DELETE)


def test_only_confirmed_links_count(practice):
    make_practice_link(practice["gp"], practice["poh"], confirmed=True)
    make_practice_link(practice["colleague"], practice["poh"])  # pending
    make_practice_link(practice["colleague"], practice["other_poh"], confirmed=True)
    assert [p.agb_code for p in gps_for_referrer(practice["poh"])] == ["11110000"]
    assert [p.agb_code for p in gps_for_referrer(practice["other_poh"])] == ["11110001"]
    assert [p.agb_code for p in gps_for_referrer(practice["gp"])] == ["11110000"]  # a GP: themself
    assert gps_for_referrer(make_user("member@example.nl")) == []
    colleague = db.session.get(User, practice["colleague"].id)
    colleague.email_verified_at = None
    db.session.commit()
    assert gps_for_referrer(practice["other_poh"]) == []  # a GP with an unconfirmed email does not count
    practice["gp"].active = False
    db.session.commit()
    assert gps_for_referrer(practice["poh"]) == []  # a deactivated GP is nobody to refer for


@pytest.mark.parametrize("agb", ["22220000",  # a GP of another practice
                                 "33330001",  # another practice nurse
                                 "33330000",  # oneself
                                 "99999999"])  # nobody
def test_link_requests_outside_the_practice_are_refused(client, practice, agb):
    poh_client = login_as(client, practice["poh"])
    response = poh_client.post("/verwijzer/praktijk", data={"agb_code": agb})
    assert response.status_code == 400
    assert NO_GP in body(response)
    assert links() == []
    assert mails_to(practice["elsewhere"].email) == []


def test_practice_agb_codes_decide_when_both_are_known(client, practice):
    for key, code in (("poh", "40000000"), ("gp", "40000001")):
        db.session.get(User, practice[key].id).gp_profile.practice_agb = code
    db.session.commit()
    poh_client = login_as(client, practice["poh"])
    assert poh_client.post("/verwijzer/praktijk", data={"agb_code": "11110000"}).status_code == 400
    db.session.get(User, practice["gp"].id).gp_profile.practice_agb = "40000000"
    db.session.commit()
    assert poh_client.post("/verwijzer/praktijk", data={"agb_code": "11110000"}).status_code == 302


def test_only_the_linked_gp_may_decide(client, new_client, practice):
    link = make_practice_link(practice["gp"], practice["poh"])
    for who in ("colleague", "poh", "elsewhere"):
        other = login_as(new_client(), practice[who])
        assert other.post(f"/verwijzer/praktijk/{link.id}/bevestigen", data={}).status_code == 404, who
        assert other.post(f"/verwijzer/praktijk/{link.id}/weigeren", data={}).status_code == 404, who
    member = login_as(new_client(), make_user("member@example.nl"))
    assert member.post(f"/verwijzer/praktijk/{link.id}/bevestigen", data={}).status_code == 404
    [still] = links()
    assert still.confirmed_at is None
    # The control: the GP of the link may.
    assert login_as(client, practice["gp"]).post(f"/verwijzer/praktijk/{link.id}/bevestigen", data={}).status_code == 302


def test_the_practice_page_is_for_practice_nurses_only(client, new_client, practice):
    assert login_as(client, practice["gp"]).get("/verwijzer/praktijk").status_code == 404
    assert login_as(new_client(), make_user("member@example.nl")).get("/verwijzer/praktijk").status_code == 404
    anonymous = new_client().get("/verwijzer/praktijk")
    assert anonymous.status_code == 302 and anonymous.headers["Location"].startswith("/login")


def test_start_page_of_a_poh_lists_confirmed_gps(client, practice):
    make_practice_link(practice["gp"], practice["poh"], confirmed=True)
    make_practice_link(practice["colleague"], practice["poh"])
    page = body(login_as(client, practice["poh"]).get("/"))
    assert "As practice nurse" in page
    listed = page.split("You refer on behalf of:")[1]
    assert "Huisarts" in listed and "Collega" not in listed


def test_accepting_an_invitation_confirms_the_email_address(client):
    from app.auth.services import issue_token

    invited = make_user("invited@example.nl", password=None, mfa=False, active=False)
    token = issue_token(invited, TokenPurpose.INVITE)
    db.session.commit()
    assert invited.email_verified_at is None
    assert client.get(f"/invitation/{token}").status_code == 302
    response = client.post("/invitation", data={"full_name": "Invited Person", "password": GOOD_PASSWORD,
                                                         "confirm": GOOD_PASSWORD})
    assert response.status_code == 302
    db.session.refresh(invited)
    assert invited.email_verified_at is not None
