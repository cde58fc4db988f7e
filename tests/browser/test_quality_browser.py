"""In a real browser: a coordinator sees criterion 1b fail for want of a dietician, invites one,
and sees 1b met on the self-check page."""
from __future__ import annotations

import pytest

from app.networks.models import Role
from tests.conftest import PASSWORD, current_totp, make_member, make_network

pytestmark = pytest.mark.browser


def _status(page, code: str) -> str:
    return page.locator(f"#criterion-{code}").get_attribute("data-status")


def test_coordinator_fixes_1b_by_inviting_a_dietician(page, live_server):
    network = make_network("zk", name="Oncologienetwerk Zuid-Kennemerland")
    coordinator = make_member(network, "coordinator@example.nl", role=Role.COORDINATOR, disciplines=("casemanager",))
    for email, code in [("fysio@example.nl", "fysiotherapeut"), ("psy@example.nl", "psycholoog")]:
        make_member(network, email, disciplines=(code,), password=None)

    page.goto(f"{live_server}/login")
    page.fill("#email", coordinator.user.email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/login/mfa")
    page.fill("#code", current_totp(coordinator.user))
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)
    page.goto(f"{live_server}/n/zk/")

    page.click("main a[href='/n/zk/quality/']")  # the coordinator's link on the network home
    page.wait_for_url("**/n/zk/quality/")
    assert _status(page, "1b") == "not_met"
    assert "diëtist" in page.locator("#criterion-1b .reason").inner_text().lower()  # Dutch is the default

    page.click("#criterion-1b a[href='/n/zk/members/invite']")  # the fix link
    page.wait_for_url("**/n/zk/members/invite")
    page.fill("#full_name", "Dirk Diëtist")
    page.fill("#email", "dirk@example.nl")
    page.select_option("#disciplines", label="Diëtist")
    page.click("button[type=submit]")
    page.wait_for_url("**/n/zk/members/*")
    assert "Dirk Diëtist" in page.inner_text("main")

    page.goto(f"{live_server}/n/zk/quality/")
    assert _status(page, "1b") == "met"
    assert "No active member" not in page.locator("#criterion-1b .reason").inner_text()
