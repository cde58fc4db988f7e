"""In a real browser: a GP finds the network for the patient's postcode, refers with one mistake in the form
and corrects it; the coordinator acknowledges and accepts; the GP sees "accepted" on the referral's page."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.core.db import utcnow
from app.core.tenancy import network_context
from app.extensions import db
from app.networks.models import Role
from app.referrals.models import Referral, ReferralStatus
from tests.browser.helpers import (
    WIM_JANSEN,
    acknowledge_and_accept,
    dutch,
    dutch_pattern,
    expect_referral_kept,
    fill_referral,
    find_network_and_open_form,
    open_referral_from_inbox,
    own_browser,
    public_network,
    send_referral,
    shot,
    sign_in,
)
from tests.conftest import make_gp, make_member

pytestmark = pytest.mark.browser


def test_gp_refers_corrects_a_mistake_and_sees_the_referral_accepted(page, live_server, chromium, request):
    name = request.node.name
    network = public_network("zk", "Oncologienetwerk Zuid-Kennemerland", (2011, 2036), region="Zuid-Kennemerland")
    public_network("twente", "Oncologiezorgnetwerk Twente", (7500, 7547), region="Twente")  # not for 2012 AB
    coordinator = make_member(network, "marieke@example.nl", role=Role.COORDINATOR, disciplines=("casemanager",),
                              name="Marieke de Vries")
    gp = make_gp("hans.willems@example.nl", email_verified_at=utcnow(), name="Hans Willems",
                 practice_name="Huisartsenpraktijk Heemstede", city="Heemstede")
    number = f"R-{utcnow().year}-0001"

    # The GP signs in, finds the network by the patient's postcode and opens the referral form.
    sign_in(page, live_server, gp)
    find_network_and_open_form(page, live_server, "2012 AB", "Oncologienetwerk Zuid-Kennemerland")
    expect(page.locator("h1")).to_contain_text("Oncologienetwerk Zuid-Kennemerland")

    # Everything filled in, with one mistake: a BSN that fails the 11-test.
    with_mistake = {**WIM_JANSEN, "bsn": "123456789"}
    fill_referral(page, with_mistake)
    send_referral(page)
    bsn_field = page.locator(".field.has-error", has=page.locator("#bsn"))
    expect(bsn_field.locator("#bsn-err")).to_be_visible()  # the error sits next to the BSN field
    expect(page.locator("#bsn")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("p.error")).to_have_count(1)  # nothing else is refused
    # The error summary comes first and has the focus; its one link moves the focus to the BSN field.
    summary = page.locator("#error-summary[role=alert]")
    expect(summary).to_be_visible()
    expect(summary).to_be_focused()
    expect(summary.locator("a")).to_have_count(1)
    page.keyboard.press("Tab")  # from the summary to its link, by keyboard
    expect(summary.locator("a[href='#bsn']")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#bsn")).to_be_focused()
    described = page.locator("#bsn").get_attribute("aria-describedby").split()
    assert "bsn-err" in described and ("bsn-help" in described) == (page.locator("#bsn-help").count() == 1)
    expect(page.locator("#bsn")).to_have_value("123456789")  # as typed, to correct
    expect_referral_kept(page, with_mistake, except_field="bsn")
    shot(page, f"{name}-1-bsn-error")

    page.fill("#bsn", WIM_JANSEN["bsn"])
    send_referral(page)
    page.wait_for_url("**/verwijzer/verwijzingen/*/bevestiging")
    expect(page.locator("h1")).to_contain_text(number)
    expect(page.locator("h1")).to_contain_text("Oncologienetwerk Zuid-Kennemerland")
    shot(page, f"{name}-2-confirmation")
    page.click("main a.button.primary")  # "View the referral"
    page.wait_for_url(re.compile(r"/verwijzer/verwijzingen/[0-9]+$"))
    referral_url = page.url

    db.session.rollback()
    with network_context(network.id):
        referrals = db.session.scalars(select(Referral)).all()
        assert [(r.number, r.status, r.bsn) for r in referrals] == [(number, ReferralStatus.SUBMITTED, "111222333")]

    # The coordinator, in their own browser: the inbox shows the referral with the time left on the norm.
    with own_browser(chromium, f"{name}-coordinator") as coordinator_page:
        sign_in(coordinator_page, live_server, coordinator.user)
        row = open_referral_from_inbox(coordinator_page, "zk", number)
        expect(row).to_contain_text("Wim Jansen")
        expect(row).to_contain_text("Hans Willems")
        expect(row.locator("td").nth(5)).to_contain_text(dutch_pattern("%(span)s left"))
        expect(row.locator(".overdue-text")).to_have_count(0)
        shot(coordinator_page, f"{name}-3-inbox")
        row.get_by_role("link", name=number).click()
        coordinator_page.wait_for_url(re.compile(r"/n/zk/referrals/[0-9]+$"))
        acknowledge_and_accept(coordinator_page)
        shot(coordinator_page, f"{name}-4-accepted")

    # The GP reloads the referral's page: accepted, in the timeline, in Dutch.
    assert page.url == referral_url
    page.reload()
    expect(page.locator("html")).to_have_attribute("lang", "nl")
    expect(page.locator("h1")).to_contain_text(number)
    accepted = "Geaccepteerd"  # the nl catalogue's word for "Accepted", what a Dutch GP reads
    assert dutch(ReferralStatus.ACCEPTED.label) == accepted
    expect(page.locator("h1 .tag")).to_have_text(accepted)
    timeline = page.locator("section[aria-labelledby=timeline-heading] ol.timeline > li > strong")
    expect(timeline).to_have_text([dutch(ReferralStatus.SUBMITTED.label), dutch(ReferralStatus.ACKNOWLEDGED.label),
                                   accepted])
    db.session.rollback()
    with network_context(network.id):
        assert db.session.scalars(select(Referral.status)).all() == [ReferralStatus.ACCEPTED]
