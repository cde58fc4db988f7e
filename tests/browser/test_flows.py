"""Person-like flows in a real browser: first sign-in with TOTP set-up, registering a patient."""
from __future__ import annotations

import pyotp
import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.auth.models import User
from app.extensions import db
from app.networks.models import Role
from tests.conftest import PASSWORD, current_totp, make_member, make_network

pytestmark = pytest.mark.browser


def _sign_in(page, base: str, email: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")


def test_first_sign_in_sets_up_two_step_verification(page, live_server):
    network = make_network("zk", name="Oncologienetwerk Zuid-Kennemerland")
    make_member(network, "nieuw@example.nl", role=Role.COORDINATOR, mfa=False)
    _sign_in(page, live_server, "nieuw@example.nl")
    page.wait_for_url("**/account/mfa/setup")
    assert page.locator(".qr svg").count() == 1  # the QR code is drawn locally, inline
    secret = page.locator("code.secret").inner_text().strip()
    page.fill("#code", pyotp.TOTP(secret).now())
    page.click("button[type=submit]")
    codes = page.locator("ul.codes li")
    assert codes.count() == 10
    page.click("a.button.primary")
    assert "Oncologienetwerk Zuid-Kennemerland" in page.inner_text("main")
    user = db.session.scalar(select(User).where(User.email == "nieuw@example.nl"))
    assert user.mfa_enabled_at is not None


def test_coordinator_registers_a_patient_correcting_a_mistake(page, live_server):
    network = make_network("zk", name="Oncologienetwerk Zuid-Kennemerland")
    coordinator = make_member(network, "coordinator@example.nl", role=Role.COORDINATOR)
    _sign_in(page, live_server, coordinator.user.email)
    page.wait_for_url("**/login/mfa")
    page.fill("#code", current_totp(coordinator.user))
    page.click("button[type=submit]")
    page.goto(f"{live_server}/n/zk/patients/new")
    page.fill("#given_name", "Wim")
    page.fill("#family_name", "Jansen")
    page.fill("#date_of_birth-day", "14")  # the date of birth as day, month and year
    page.fill("#date_of_birth-month", "3")
    page.fill("#date_of_birth-year", "1971")
    page.fill("#bsn", "123456789")  # fails the 11-test
    page.fill("#postcode", "2012ab")
    with page.expect_navigation():  # the refused form comes back as a new page: wait for it
        page.click("button[type=submit]")
    error = page.locator("#bsn-err")
    expect(error).to_be_visible()
    assert "elfproef" in error.inner_text()  # Dutch is the default locale
    # Everything else the coordinator typed is still there.
    assert page.input_value("#family_name") == "Jansen"
    assert page.input_value("#postcode") == "2012 AB"  # kept, and already normalised
    assert [page.input_value(f"#date_of_birth-{part}") for part in ("day", "month", "year")] == ["14", "3", "1971"]
    page.fill("#bsn", "111222333")
    page.click("button[type=submit]")
    page.wait_for_url("**/n/zk/patients/*")
    main = page.inner_text("main")
    assert "Wim Jansen" in main and "2012 AB" in main
    assert "111222333" not in page.url


def test_language_switch_to_english_and_back(page, live_server):
    page.goto(f"{live_server}/login")
    assert page.locator("html").get_attribute("lang") == "nl"
    page.click("button[name=locale][value=en]")
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("h1").inner_text() == "Sign in"
    page.click("button[name=locale][value=nl]")
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "nl"
