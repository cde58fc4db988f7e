"""Wim Jansen takes part in his own record, in a real browser, each person in their own window:

the coordinator invites him from the referral; he chooses a password and sets up two-step verification
(recovery codes included), fills in the distress thermometer before his intake, and the coordinator's intake
starts with his answers; after the intake he reads his record and sees the dietician in his team, says yes to
the sexologist the dietician proposed, later withdraws that consent himself (the sexologist's next request is
a 404), reads who looked; his wife, invited by him for the care plan only, sees the care plan and nothing else.
Every portal page is checked with axe-core (no serious or critical finding) at 1280 and at 390 px.
"""
from __future__ import annotations

import re

import pyotp
import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from app.core.db import utcnow
from app.networks.models import Role
from app.referrals.models import ReferralStatus
from tests.browser.helpers import accept_proposal_from_mail, dutch, mailed_link, own_browser, shot, sign_in
from tests.conftest import make_gp, make_member, make_network
from tests.referral_factories import make_referral

pytestmark = pytest.mark.browser

PASSWORD = "wim kiest zijn eigen wachtwoord"
STORY = "Sinds de operatie heb ik elke dag diarree en ben ik snel moe."
PLAN = "Voedingsadvies en weer fietsen met Els."
AXE = Axe()


def no_serious_axe_findings(page: Page, where: str) -> None:
    """axe-core (bundled with axe-playwright-python, nothing fetched) at the desk width and the phone width."""
    page.wait_for_load_state("load")
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        results = AXE.run(page)
        serious = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
                   for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
        assert serious == [], f"{where} at {width} px: {serious}"
        if width == 390:  # nothing wider than the phone: no sideways scrolling
            assert page.evaluate("document.documentElement.scrollWidth") <= 390, where
    page.set_viewport_size({"width": 1200, "height": 900})


def sign_up(page: Page, base: str, email: str, name: str) -> None:
    """From the invitation mail: a password, then the second factor with an authenticator app."""
    page.goto(mailed_link(base, email, "portal_invitation"))
    page.wait_for_url("**/invitation")
    page.fill("#full_name", name)
    page.fill("#password", PASSWORD)
    page.fill("#confirm", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r"/login(\?|$)"))
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url("**/account/mfa/setup")
    secret = page.locator("code.secret").inner_text()
    page.fill("#code", pyotp.TOTP(secret).now())
    page.click("main button[type=submit]")
    expect(page.locator("main li code").first).to_be_visible()  # the recovery codes, shown once
    page.click("main a.button.primary")  # "I have saved them, continue"
    page.goto(f"{base}/mijn/")
    page.wait_for_url(re.compile(r"/mijn/[0-9]+$"))


def test_wim_takes_part_in_his_own_record(page, live_server, chromium, request):
    name = request.node.name
    network = make_network("zk", name="Oncologienetwerk Zuid-Kennemerland", approved_at=utcnow())
    coordinator = make_member(network, "marieke@example.nl", role=Role.COORDINATOR, disciplines=("casemanager",),
                              name="Marieke de Vries")
    dietician = make_member(network, "sanne@example.nl", disciplines=("dietist",), name="Sanne Bakker")
    sexologist = make_member(network, "joost@example.nl", disciplines=("seksuoloog",), name="Joost Visser")
    gp = make_gp("hans.willems@example.nl", email_verified_at=utcnow(), name="Hans Willems")
    referral = make_referral(network, gp, status=ReferralStatus.ACCEPTED, coordinator=coordinator.user)

    # 1. The coordinator invites Wim from his referral.
    sign_in(page, live_server, coordinator.user)
    page.goto(f"{live_server}/n/zk/referrals/{referral.id}")
    page.click(f"main a[href$='/portaal/verwijzing/{referral.id}']")
    page.fill("#invite-email", "wim.jansen@example.nl")
    page.click("main form button.primary >> nth=0")
    expect(page.locator(".flash-success")).to_be_visible()
    expect(page.locator("main table")).to_contain_text("Wim Jansen")

    with own_browser(chromium, f"{name}-wim") as wim:
        # 2. Wim signs up and fills in the distress thermometer before his intake.
        sign_up(wim, live_server, "wim.jansen@example.nl", "Wim Jansen")
        no_serious_axe_findings(wim, "my record before the intake")
        with wim.expect_navigation():  # axe reads the new page, not the one leaving
            wim.click("main nav a[href$='/vragenlijst']")
        no_serious_axe_findings(wim, "the questionnaire")
        wim.fill("#score", "7")
        wim.check("input[name=problems][value=fatigue]")
        wim.check("input[name=problems][value=sexuality]")
        wim.fill("#remark", "Ik slaap slecht.")
        wim.click("main form button.primary")
        expect(wim.locator(".flash-success")).to_be_visible()

        # 3. The coordinator's intake starts with his answers; the case opens with the dietician.
        page.goto(f"{live_server}/n/zk/cases/intake/{referral.id}")
        expect(page.locator("#own-questionnaire")).to_be_visible()
        expect(page.locator("#distress_score")).to_have_value("7")
        page.fill("#story", STORY)
        page.fill("#goals", PLAN)
        page.click("button[name=action][value=complete]")
        page.wait_for_url(re.compile(r"/cases/[0-9]+$"))
        case_url = page.url
        page.click("main a[href$='/team/voorstellen']")
        page.select_option("#membership_id", str(dietician.id))
        page.fill("#reason", "Diarree en gewichtsverlies")
        page.check("input[name=consent_method][value=verbal]")
        page.fill("#consent_purpose", "Voedingsadvies")
        for part in ("intake", "notes", "proms"):
            page.check(f"input[name=consent_parts][value={part}]")
        page.check("#consent_agreed")
        page.click("main form .form-actions button.primary")
        page.wait_for_url(re.compile(r"/cases/[0-9]+$"))
        page.goto(case_url + "/lastmeter")
        expect(page.locator(".patient-reported")).to_have_count(1)  # the first measurement is Wim's own

        with own_browser(chromium, f"{name}-dietician") as dietician_page:
            accept_proposal_from_mail(dietician_page, live_server, dietician.user)
            # The dietician proposes the sexologist and leaves the yes to Wim.
            dietician_page.click("main a[href$='/team/voorstellen']")
            dietician_page.select_option("#membership_id", str(sexologist.id))
            dietician_page.fill("#reason", "Seksuele klachten na de operatie")
            dietician_page.check("#wait_for_patient")
            dietician_page.click("main form .form-actions button.primary")
            expect(dietician_page.locator(".flash-success")).to_contain_text("Joost Visser")

        # 4. Wim reads his record and team, then says yes to the sexologist for his story only.
        wim.goto(f"{live_server}/mijn/")
        expect(wim.locator("main")).to_contain_text(STORY)
        expect(wim.locator("main")).to_contain_text("Sanne Bakker")
        shot(wim, f"{name}-1-my-record")
        with wim.expect_navigation():  # axe reads the new page, not the one leaving
            wim.click("main nav a[href$='/toestemming']")
        no_serious_axe_findings(wim, "my consents")
        with wim.expect_navigation():  # axe reads the new page, not the one leaving
            wim.click("main [data-proposal] a")
        no_serious_axe_findings(wim, "the proposal")
        wim.check("input[name=parts][value=intake]")
        wim.check("#agreed")
        wim.click("main form button.primary")
        expect(wim.locator(".flash-success")).to_contain_text("Joost Visser")

        with own_browser(chromium, f"{name}-sexologist") as sexologist_page:
            accept_proposal_from_mail(sexologist_page, live_server, sexologist.user)
            expect(sexologist_page.locator("main")).to_contain_text(STORY)

            # 5. Wim withdraws it himself; the sexologist's next request is refused.
            row = wim.locator("main tr[data-consent]").filter(has_text="Joost Visser")
            with wim.expect_navigation():  # axe reads the new page, not the one leaving
                row.locator("a").click()
            no_serious_axe_findings(wim, "withdrawing a consent")
            wim.check("#confirm")
            wim.click("main form button[type=submit]")  # "Withdraw my consent"
            expect(wim.locator(".flash-success")).to_be_visible()
            sexologist_page.reload()
            expect(sexologist_page.locator("h1")).to_have_text(dutch("Page not found"))

        # 6. Who looked: the sexologist's read and the refused attempt after the withdrawal.
        with wim.expect_navigation():  # axe reads the new page, not the one leaving
            wim.click("main nav a[href$='/inzage']")
        no_serious_axe_findings(wim, "who looked")
        log = wim.locator("main table")
        expect(log).to_contain_text("Joost Visser")
        expect(log).to_contain_text(dutch("refused"))
        shot(wim, f"{name}-2-who-looked")

        # 7. Wim lets Els read the care plan only.
        with wim.expect_navigation():  # axe reads the new page, not the one leaving
            wim.click("main nav a[href$='/naasten']")
        no_serious_axe_findings(wim, "my relatives")
        wim.fill("#full_name", "Els Jansen")
        wim.fill("#email", "els.jansen@example.nl")
        wim.fill("#relation", "mijn vrouw")
        wim.check("input[name=sections][value=care_plan]")
        wim.click("main form button.primary")
        expect(wim.locator(".flash-success")).to_contain_text("Els Jansen")
        for tab in ("berichten", "gegevens"):
            with wim.expect_navigation():  # axe reads the new page, not the one leaving
                wim.click(f"main nav a[href$='/{tab}']")
            no_serious_axe_findings(wim, tab)

    with own_browser(chromium, f"{name}-els") as els:
        sign_up(els, live_server, "els.jansen@example.nl", "Els Jansen")
        main = els.locator("main")
        expect(main).to_contain_text(PLAN)
        expect(main).not_to_contain_text(STORY)
        expect(main).not_to_contain_text("Sanne Bakker")
        expect(els.locator("main nav a[href$='/toestemming']")).to_have_count(0)
        no_serious_axe_findings(els, "the relative's page")
        shot(els, f"{name}-3-els-sees-the-care-plan")
