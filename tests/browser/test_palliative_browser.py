"""The palliative path of Wim Jansen in a real browser, each person in their own window (issue 13's story):

the dietician signals (the surprise question, the treatment stopped); the coordinator marks the palliative phase and
the GP sees it on their referral page the same day; the wishes conversation is recorded and the dietician reads the
changed wishes section; the case goes on an MDO, the GP gives input from the link in the mail, the coordinator
records the conclusion and sends the report, which the case's norms show as on time; Wim dies at home, the place he
preferred; the team and the GP are told by mail without patient data, and the bereavement follow-up appears on the
assignee's start page.
"""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from app.core.dates import local_today
from app.core.db import utcnow
from app.networks.models import Role
from tests.browser.helpers import dutch, mailed_link, own_browser, shot, sign_in
from tests.case_factories import add_to_team, make_case
from tests.conftest import delivered_mails, make_gp, make_meeting, make_member, make_network

pytestmark = pytest.mark.browser

SECRETS = ("Wim", "Jansen", "111222333", "Kerkstraat")
VALUES = "Zo lang mogelijk thuis zijn bij Els en de kleinkinderen."


def form(page: Page, name: str):
    """One of the path page's forms, by its hidden "form" value (several forms share field names)."""
    return page.locator(f"form:has(input[name=form][value={name}])")


def test_the_palliative_path_of_wim_jansen(page, live_server, chromium, request):
    network = make_network("zk", name="Oncologienetwerk Zuid-Kennemerland", approved_at=utcnow())
    coordinator = make_member(network, "marieke@example.nl", role=Role.COORDINATOR, disciplines=("casemanager",),
                              name="Marieke de Vries")
    dietician = make_member(network, "sanne@example.nl", disciplines=("dietist",), name="Sanne Bakker")
    gp = make_gp("hans.willems@example.nl", email_verified_at=utcnow(), name="Hans Willems")
    case = make_case(network, gp, coordinator, given_name="Wim", family_name="Jansen")
    add_to_team(case, coordinator.user, dietician)
    make_meeting(network, title="MDO oncologie Spaarne", held_on=local_today(), kind="mdo")
    path_url = f"{live_server}/n/zk/cases/{case.id}/palliatief"
    gp_url = f"{live_server}/verwijzer/verwijzingen/{case.referral_id}"

    # 1. The dietician signals: she would not be surprised; the treatment stopped.
    with own_browser(chromium, f"{request.node.name}-dietician") as sanne:
        sign_in(sanne, live_server, dietician.user, start=path_url)
        sanne.locator("#signal summary").click()
        signal = form(sanne, "signal")
        signal.locator("#not_surprised").check()
        signal.locator("input[name=indicators][value=treatment_stopped]").check()
        signal.locator("button[type=submit]").click()
        expect(sanne.locator(".flash-success")).to_be_visible()

        # 2. The coordinator marks the palliative phase, today; the GP is among those told.
        sign_in(page, live_server, coordinator.user, start=path_url)
        page.locator("#phase summary").click()
        mark = form(page, "mark")
        mark.locator("#marked_on").fill(local_today().isoformat())
        mark.locator("input[name=informed][value=gp]").check()
        mark.locator("#confirm").check()
        mark.locator("button[type=submit]").click()
        expect(page.locator("#palliative-tag")).to_be_visible()

        # 3. The GP sees it on the referral page the same day.
        with own_browser(chromium, f"{request.node.name}-gp") as hans:
            sign_in(hans, live_server, gp, start=gp_url)
            expect(hans.locator("li[data-kind=palliative_marked]")).to_be_visible()

            # 4. The wishes conversation; the dietician reads the changed wishes section.
            page.goto(path_url)
            wishes = form(page, "wishes")
            page.locator("#wishes summary").click()
            wishes.locator("#held_on").fill(local_today().isoformat())
            wishes.locator("#participants").fill("Wim, Els, de huisarts en de casemanager")
            wishes.locator("#values_and_goals").fill(VALUES)
            wishes.locator("#preferred_place_of_death").fill("Thuis")
            wishes.locator("button[type=submit]").click()
            expect(page.locator(".flash-success")).to_be_visible()
            sanne.goto(f"{live_server}/n/zk/cases/{case.id}")
            expect(sanne.locator("#section-wishes")).to_contain_text(VALUES)

            # 5. The case goes on today's MDO; the GP is asked for input.
            page.goto(path_url)
            page.locator("#mdo summary").click()
            plan = form(page, "mdo_plan")
            plan.locator("#meeting_id").select_option(index=1)
            plan.locator("#question").fill("Thuis blijven of naar het hospice?")
            expect(plan.locator("#ask_gp")).to_be_checked()
            plan.locator("button[type=submit]").click()
            expect(page.locator("article.mdo-discussion")).to_contain_text("Thuis blijven of naar het hospice?")

            # 6. The GP follows the mail's link and gives input.
            hans.goto(mailed_link(live_server, gp.email, "referral_update"))
            box = hans.locator("article.mdo-input")
            expect(box).to_contain_text("Thuis blijven of naar het hospice?")
            box.locator("textarea[name=home_situation]").fill("Ligt beneden in een hoog-laagbed; Els zorgt goed.")
            box.locator("textarea[name=patient_wishes]").fill("Wil thuis sterven.")
            box.locator("button[type=submit]").click()
            expect(hans.locator(".flash-success")).to_be_visible()

            # 7. The conclusion drafts the report; the coordinator sends it; the norm is met on time.
            page.goto(path_url)
            expect(page.locator("article.mdo-discussion .gp-input")).to_contain_text("hoog-laagbed")
            conclude = form(page, "mdo_conclude")
            conclude.locator("textarea[name=conclusion]").fill("Thuis, met de thuiszorg en de PaTz-huisarts.")
            conclude.locator("button[type=submit]").click()
            page.wait_for_url(re.compile(r"/brieven/[0-9]+$"))
            expect(page.locator("#body")).to_contain_text("hoog-laagbed")
            page.locator("#confirm").check()
            page.locator("form[action$='/verzenden'] button[type=submit]").click()
            page.wait_for_url(re.compile(r"/brieven$"))
            expect(page.locator("#case-norms tr[data-kind=mdo_letter]")).to_contain_text(dutch("Met on time"))
            expect(page.locator("#case-norms tr[data-kind=gp_palliative]")).to_contain_text(dutch("Met on time"))
            shot(page, f"{request.node.name}-norms")
            hans.goto(gp_url)
            expect(hans.locator("body")).to_contain_text(dutch("Report of the multidisciplinary meeting"))

            # 8. Wim dies at home, the place he preferred; the coordinator takes the bereavement follow-up.
            page.goto(path_url)
            page.locator("#end-of-life summary").click()
            death = form(page, "death")
            death.locator("#died_on").fill(local_today().isoformat())
            death.locator("#place").select_option("home")
            death.locator("#preferred_place").select_option("yes")
            death.locator("#confirm").check()
            death.locator("button[type=submit]").click()
            expect(page.locator("#death")).to_contain_text(dutch("This was the place the patient preferred."))

        # 9. Everyone is told, without patient data; the dietician's access ended.
        to_team = delivered_mails("sanne@example.nl", "case_closed_death")
        to_gp = delivered_mails(gp.email, "referral_update")
        assert to_team and to_gp
        for mail in [to_team[-1], to_gp[-1]]:
            assert not [s for s in SECRETS if s in mail["subject"] + mail["body"]], mail["template"]
        response = sanne.goto(path_url)
        assert response is not None and response.status == 404 and VALUES not in sanne.content()

    # 10. The bereavement follow-up is on the coordinator's start page (no patient named).
    page.goto(f"{live_server}/")
    expect(page.locator(f"[data-case='{case.id}']")).to_be_visible()
    assert "Jansen" not in page.locator(f"[data-case='{case.id}']").inner_text()
    shot(page, f"{request.node.name}-start")
