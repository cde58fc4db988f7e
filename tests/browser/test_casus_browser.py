"""The demo casus, end to end in a real browser, each person in their own browser:

Wim Jansen (55) had surgery for colon cancer and still has diarrhoea, fatigue and sexual problems. His GP
refers him; the coordinator accepts and holds the one intake; the dietician joins the care team, reads his
story and - with his consent - brings in a sexologist; an occupational therapist joins the same way. The GP
sees the key moments. A physiotherapist of the network who is not on the team gets a 404; after the
coordinator withdraws the consent for the sexologist, so does the sexologist. The audit log shows it all.
"""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.core.audit import ACTION_LABELS, AuditAction
from app.core.dates import local_today
from app.core.db import utcnow
from app.core.tenancy import network_context
from app.extensions import db
from app.networks.models import Role
from app.referrals.models import Referral, ReferralStatus
from tests.browser.helpers import (
    WIM_JANSEN,
    accept_proposal_from_mail,
    acknowledge_and_accept,
    click_nav,
    dutch,
    fill_referral,
    find_network_and_open_form,
    involve_colleague,
    open_referral_from_inbox,
    own_browser,
    public_network,
    send_referral,
    shot,
    sign_in,
)
from tests.conftest import make_gp, make_member

pytestmark = pytest.mark.browser

STORY = ("Sinds de operatie in juli heb ik elke dag diarree, soms acht keer per dag. Ik durf de deur bijna niet "
         "meer uit. Ik ben zo moe dat ik na het boodschappen doen moet slapen. Met Els gaat het in bed niet meer "
         "zoals vroeger, en daar praten we eigenlijk niet over.")
GOALS = "Weer een hele dag op pad kunnen; weer durven fietsen naar zijn zoon in Haarlem."


def test_the_casus_of_wim_jansen(page, live_server, chromium, request):
    name = request.node.name
    network = public_network("zk", "Oncologienetwerk Zuid-Kennemerland", (2011, 2036), region="Zuid-Kennemerland")
    coordinator = make_member(network, "marieke@example.nl", role=Role.COORDINATOR, disciplines=("casemanager",),
                              name="Marieke de Vries")
    dietician = make_member(network, "sanne@example.nl", disciplines=("dietist",), name="Sanne Bakker")
    sexologist = make_member(network, "joost@example.nl", disciplines=("seksuoloog",), name="Joost Visser")
    ergo = make_member(network, "fatima@example.nl", disciplines=("ergotherapeut",), name="Fatima El Amrani")
    physio = make_member(network, "pieter@example.nl", disciplines=("fysiotherapeut",), name="Pieter de Groot")
    gp = make_gp("hans.willems@example.nl", email_verified_at=utcnow(), name="Hans Willems",
                 practice_name="Huisartsenpraktijk Heemstede", city="Heemstede")
    number = f"R-{utcnow().year}-0001"

    # 1. The GP refers Wim through the form, with his consent.
    sign_in(page, live_server, gp)
    find_network_and_open_form(page, live_server, "2012 AB", "Oncologienetwerk Zuid-Kennemerland")
    fill_referral(page, WIM_JANSEN)
    send_referral(page)
    page.wait_for_url("**/verwijzer/verwijzingen/*/bevestiging")
    expect(page.locator("h1")).to_contain_text(number)
    page.click("main a.button.primary")  # "View the referral"
    page.wait_for_url(re.compile(r"/verwijzer/verwijzingen/[0-9]+$"))

    with own_browser(chromium, f"{name}-coordinator") as office:
        # 2. The coordinator acknowledges and accepts, then holds the one intake.
        sign_in(office, live_server, coordinator.user)
        open_referral_from_inbox(office, "zk", number).get_by_role("link", name=number).click()
        office.wait_for_url(re.compile(r"/n/zk/referrals/[0-9]+$"))
        acknowledge_and_accept(office)
        office.click("main a[href^='/n/zk/cases/intake/']")  # "Start the intake"
        office.wait_for_url(re.compile(r"/n/zk/cases/intake/[0-9]+$"))

        # The intake form comes prefilled with what the GP sent: nothing is typed again.
        sent = office.locator("section.referral-summary")
        expect(sent).to_contain_text(WIM_JANSEN["question"])
        expect(sent).to_contain_text(WIM_JANSEN["history"])
        expect(sent).to_contain_text(WIM_JANSEN["complaints_physical_text"])
        expect(sent).to_contain_text("Loperamide")
        for code in WIM_JANSEN["complaints_physical"]:
            expect(office.locator(f"input[name=problems_physical][value={code}]")).to_be_checked()
        expect(office.locator("input[name=problems_physical][value=pain]")).not_to_be_checked()
        expect(office.locator("#problems_physical_text")).to_have_value(WIM_JANSEN["complaints_physical_text"])
        expect(office.locator("#partner_situation")).to_have_value(re.compile("Els Jansen"))
        expect(office.locator("#partner_situation")).to_have_value(re.compile(re.escape(
            WIM_JANSEN["social_situation"])))
        expect(office.locator("#distress_score")).to_have_value(WIM_JANSEN["distress_score"])
        expect(office.locator("#held_on")).to_have_value(local_today().isoformat())  # the networks' today
        shot(office, f"{name}-1-intake-prefilled")
        office.fill("#story", STORY)
        office.fill("#goals", GOALS)
        office.click("button[name=action][value=complete]")  # "Complete the intake and open the case"
        office.wait_for_url(re.compile(r"/n/zk/cases/[0-9]+$"))
        case_url = office.url
        expect(office.locator("#section-story")).to_contain_text(STORY)

        # 3. The coordinator forms the care team: first the dietician, with Wim's consent in the same form.
        involve_colleague(office, dietician.id, "Sanne Bakker", "Diëtist",
                          reason="Voedingsadvies bij aanhoudende diarree na hemicolectomie.",
                          purpose="Voedingsadvies door de diëtist.")

        # 4. The dietician accepts, reads the intake without Wim telling it again, and brings in a sexologist.
        with own_browser(chromium, f"{name}-dietician") as dietician_page:
            accept_proposal_from_mail(dietician_page, live_server, dietician.user)
            assert dietician_page.url == case_url
            # The shared record: the story, the goals and what the GP handed over, no distress thermometer
            # (her consent covers the intake and the notes, not the questionnaires).
            expect(dietician_page.locator("#section-story")).to_contain_text(STORY)
            expect(dietician_page.locator("#section-care_plan")).to_contain_text(GOALS)
            expect(dietician_page.locator("#section-medication")).to_contain_text("Loperamide")
            expect(dietician_page.locator("#section-people")).to_contain_text("Spaarne Gasthuis")
            expect(dietician_page.locator("#section-distress")).to_have_count(0)
            expect(dietician_page.locator(".case-nav a[href$='/lastmeter']")).to_have_count(0)
            shot(dietician_page, f"{name}-2-dietician-reads-intake")
            involve_colleague(dietician_page, sexologist.id, "Joost Visser", "Seksuoloog",
                              reason="Seksuele problemen sinds de operatie; Wim wil graag gesprekken samen met Els.",
                              purpose="Gesprekken met een seksuoloog, voor Wim en zijn vrouw.",
                              screenshot=f"{name}-3-dietician-proposes-sexologist")

        with own_browser(chromium, f"{name}-sexologist") as sexologist_page:
            # 5. The sexologist accepts and sees the intake; an occupational therapist joins the same way.
            accept_proposal_from_mail(sexologist_page, live_server, sexologist.user)
            assert sexologist_page.url == case_url
            expect(sexologist_page.locator("#section-story")).to_contain_text(STORY)
            team = sexologist_page.locator("#team tbody tr")
            expect(team).to_have_count(2)
            expect(team.filter(has_text="Joost Visser")).to_contain_text("Sanne Bakker")  # proposed by the dietician

            office.goto(case_url)
            involve_colleague(office, ergo.id, "Fatima El Amrani", "Ergotherapeut",
                              reason="Vermoeidheid: dagindeling en energie verdelen.",
                              purpose="Begeleiding door de ergotherapeut bij vermoeidheid.")
            with own_browser(chromium, f"{name}-ergotherapist") as ergo_page:
                accept_proposal_from_mail(ergo_page, live_server, ergo.user)
                expect(ergo_page.locator("#section-story")).to_contain_text(STORY)

            # 6. The GP sees the key moments on the referral's page: disciplines, not names or contents.
            page.reload()
            moments = page.locator("#case ol.timeline li[data-kind=member_joined]")
            expect(moments).to_have_text([re.compile("Diëtist"), re.compile("Seksuoloog"),
                                          re.compile("Ergotherapeut")])
            expect(page.locator("#case")).to_contain_text("Marieke de Vries")  # the central care provider
            expect(page.locator("h1 .tag")).to_have_text(dutch(ReferralStatus.IN_CARE.label))
            gp_view = page.locator("main").inner_text()
            for private in (STORY, GOALS, "Sanne Bakker", "Joost Visser", "Fatima El Amrani", "Voedingsadvies"):
                assert private not in gp_view
            shot(page, f"{name}-4-gp-key-moments")

            # 7. A physiotherapist of the same network, not on the care team: 404.
            with own_browser(chromium, f"{name}-physiotherapist") as physio_page:
                sign_in(physio_page, live_server, physio.user)
                response = physio_page.goto(case_url)
                assert response.status == 404
                expect(physio_page.locator("main")).not_to_contain_text("Jansen")
                physio_page.click("header nav a[href='/n/zk/cases/']")  # "Cases": nothing of Wim's
                expect(physio_page.locator("main")).not_to_contain_text("Jansen")

            # The coordinator withdraws the consent for the sexologist, with a reason, after confirming.
            office.goto(case_url)
            office.click(".case-nav a[href$='/toestemming']")  # "Consent"
            office.wait_for_url(re.compile(r"/cases/[0-9]+/toestemming$"))
            consent = office.locator("article.consent", has_text="Joost Visser")
            expect(consent).to_have_count(1)
            consent.locator("a.danger-link").click()  # "Withdraw"
            office.wait_for_url(re.compile(r"/toestemming/[0-9]+/intrekken$"))
            office.fill("#reason", "Wim belde: hij wil de gesprekken met de seksuoloog voorlopig niet.")
            shot(office, f"{name}-5-withdraw-consent")
            office.click("main form button.danger")  # "Withdraw this consent"
            office.wait_for_url(re.compile(r"/cases/[0-9]+/toestemming$"))
            in_force, withdrawn = dutch("In force"), dutch("Withdrawn")
            # The consents for the dietician, the sexologist and the occupational therapist, in that order.
            expect(office.locator("article.consent .titlebar .tag")).to_have_text([in_force, withdrawn, in_force])
            expect(consent).to_contain_text("voorlopig niet")  # the reason is kept with the consent

            # From the sexologist's next request on: 404.
            response = sexologist_page.reload()
            assert response.status == 404
            expect(sexologist_page.locator("main")).not_to_contain_text(STORY)

        # The coordinator's audit log shows the refusals and the consents.
        click_nav(office, "/n/zk/audit")  # "Audit log" in the "Administration" group
        office.wait_for_url("**/n/zk/audit")
        rows = audit_rows(office, user=physio.user.email)
        denied = rows.filter(has=office.locator("code", has_text="case.access_denied"))
        expect(denied).to_have_count(1)
        expect(denied.locator("td[data-outcome]")).to_have_attribute("data-outcome", "denied")
        patient_number = denied.locator("td").nth(6).inner_text().strip()
        assert patient_number.isdigit()
        shot(office, f"{name}-6-audit-physiotherapist")

        rows = audit_rows(office, user=sexologist.user.email)
        newest = rows.first  # newest first: the refusal came after the withdrawal
        expect(newest.locator("code")).to_have_text("case.access_denied")
        expect(newest.locator("td[data-outcome]")).to_have_attribute("data-outcome", "denied")
        expect(rows.filter(has=office.locator("code", has_text="case.detail_viewed")).first.locator(
            "td[data-outcome]")).to_have_attribute("data-outcome", "success")  # before, while consent covered

        rows = audit_rows(office, patient=patient_number, action=AuditAction.CREATE)
        expect(rows.filter(has=office.locator("code", has_text="consent.recorded"))).to_have_count(3)
        rows = audit_rows(office, patient=patient_number, action=AuditAction.UPDATE)
        withdrawn = rows.filter(has=office.locator("code", has_text="consent.withdrawn"))
        expect(withdrawn).to_have_count(1)
        expect(withdrawn).to_contain_text(coordinator.user.email)
        shot(office, f"{name}-7-audit-consents")

    db.session.rollback()
    with network_context(network.id):
        assert db.session.scalars(select(Referral.status)).all() == [ReferralStatus.IN_CARE]


def audit_rows(page, *, user: str = "", patient: str = "", action: AuditAction | None = None):
    """Filter the audit log page as the coordinator does and return its rows."""
    page.fill("#user", user)
    page.fill("#patient", patient)
    page.select_option("#action", label=dutch(ACTION_LABELS[action]) if action else dutch("All actions"))
    with page.expect_navigation():
        page.click("form.filters button[type=submit]")
    return page.locator("main table tbody tr")
