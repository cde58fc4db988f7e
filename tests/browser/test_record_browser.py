"""The shared record in a real browser, section by section through the consent door:

the dietician's consent covers the intake and the notes: she reads the story, the medication and the wishes
without the patient telling them again, and nothing of the distress thermometer, on the case page or on the
intake as it was written. The coordinator records a new consent that adds the questionnaires: on her next
request the distress section is there. After the patient withdraws both consents she gets the 404 that
says she has no access (any more), and her case list says when and why her access ended.
"""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from app.cases.models import ConsentPart
from app.core.db import utcnow
from app.core.tenancy import network_context
from app.extensions import db
from app.networks.models import Role
from app.records import services as record_services
from app.records.models import RecordSource, SectionKey
from tests.browser.helpers import dutch, own_browser, shot, sign_in
from tests.case_factories import add_to_team, make_case
from tests.conftest import make_gp, make_member, make_network

pytestmark = pytest.mark.browser

STORY = "Ik wil vooral weer kunnen eten zonder angst voor de diarree."
DISTRESS_PROBLEM_LABEL = "Tintelingen in handen of voeten"


def test_each_section_reaches_the_dietician_only_as_far_as_the_consent_goes(page, live_server, chromium, request):
    name = request.node.name
    network = make_network("rb", approved_at=utcnow())
    coordinator = make_member(network, "coordinator@rb.nl", role=Role.COORDINATOR, disciplines=("casemanager",),
                              name="Marieke de Vries")
    dietician = make_member(network, "dietist@rb.nl", disciplines=("dietist",), name="Sanne Bakker")
    gp = make_gp("gp@rb.nl", "01234567", email_verified_at=utcnow())
    case = make_case(network, gp, coordinator, story=STORY)
    with network_context(network.id):
        for key, content in ((SectionKey.MEDICATION, {"rows": [{"name": "Loperamide", "dose": "2 mg zo nodig"}]}),
                             (SectionKey.WISHES, {"resuscitation": "no"}),
                             (SectionKey.DISTRESS, {"score": 7, "problems": ["tingling"],
                                                    "remarks": "Vooral 's avonds erg."})):
            record_services.write_section(case.patient_id, key, content, actor=coordinator.user,
                                          reason="uit de verwijzing", source=RecordSource.COORDINATOR,
                                          case_id=case.id)
        db.session.commit()
    add_to_team(case, coordinator.user, dietician, parts={ConsentPart.INTAKE, ConsentPart.NOTES})
    case_url = f"{live_server}/n/rb/cases/{case.id}"

    # 1. The dietician reads the record: story, medication, wishes; the distress section's title only.
    sign_in(page, live_server, dietician.user)
    page.goto(case_url)
    expect(page.locator("#section-story")).to_contain_text(STORY)
    expect(page.locator("#section-medication")).to_contain_text("Loperamide")
    expect(page.locator("#section-wishes")).to_have_count(1)
    expect(page.locator("#section-distress")).to_have_count(0)
    expect(page.locator("#record")).to_contain_text(dutch("Not shared with you (the patient's consent does not "
                                                          "cover it):"))
    expect(page.locator(".case-nav a[href$='/lastmeter']")).to_have_count(0)
    for hidden in ("'s avonds erg", DISTRESS_PROBLEM_LABEL):
        assert hidden not in page.locator("main").inner_text()
    shot(page, f"{name}-1-dietician-without-distress")
    # On a phone the record reads top to bottom: nothing wider than the screen (a long label once squeezed
    # the story into a column of single letters and pushed the page to 647 px).
    page.set_viewport_size({"width": 390, "height": 900})
    expect(page.locator("#section-story")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, f"{name}-1-dietician-on-a-phone")
    page.set_viewport_size({"width": 1200, "height": 900})
    page.click("#intake a[href*='/intake/']")  # "Read the intake as it was written"
    page.wait_for_url(re.compile(r"/intake/[0-9]+$"))
    expect(page.locator("main")).to_contain_text(STORY)
    assert "'s avonds erg" not in page.locator("main").inner_text()

    # 2. The coordinator records a new consent for her that adds the questionnaires.
    with own_browser(chromium, f"{name}-coordinator") as office:
        sign_in(office, live_server, coordinator.user)
        office.goto(f"{case_url}/toestemming")
        office.check(f"input[name=members][value='{dietician.id}']")
        office.check("input[name=consent_method][value=verbal]")
        office.fill("#consent_purpose", "Voedingsadvies, ook met de lastmeter.")
        for part in ("intake", "notes", "proms"):
            office.check(f"input[name=consent_parts][value={part}]")
        office.check("#consent_agreed")
        office.click("main form button.primary")  # "Record the consent"
        office.wait_for_url(re.compile(r"/toestemming$"))
        expect(office.locator(".flash-success")).to_have_count(1)

        # ... and on her next request the distress section is there.
        page.goto(case_url)
        expect(page.locator("#section-distress")).to_contain_text("'s avonds erg")
        expect(page.locator("#section-distress")).to_contain_text(DISTRESS_PROBLEM_LABEL)
        expect(page.locator(".case-nav a[href$='/lastmeter']")).to_have_count(1)
        shot(page, f"{name}-2-dietician-with-distress")

        # 3. The patient withdraws both consents; the coordinator records it, after confirming.
        for _ in range(2):
            office.goto(f"{case_url}/toestemming")
            office.locator("article.consent a.danger-link").first.click()  # "Withdraw"
            office.wait_for_url(re.compile(r"/intrekken$"))
            office.fill("#reason", "De patiënt belde: hij wil het voorlopig niet.")
            office.click("main form button.danger")
            office.wait_for_url(re.compile(r"/toestemming$"))
        expect(office.locator("article.consent a.danger-link")).to_have_count(0)
        office.goto(case_url)
        expect(office.locator("#team tbody tr", has_text="Sanne Bakker")).to_contain_text(
            re.compile(re.escape(dutch("No access since %(date)s (consent withdrawn)").split("%")[0])))

    # 4. Her next request: the 404 that says why, and the ended line on her case list, without patient data.
    response = page.reload()
    assert response.status == 404
    expect(page.locator("main")).to_contain_text(dutch("You have no access to this case (any more). Ask the "
                                                       "coordinator."))
    assert STORY not in page.locator("main").inner_text()
    page.goto(f"{live_server}/n/rb/cases/")
    ended = page.locator(f"ul.ended-access li[data-ended-case='{case.id}']")
    expect(ended).to_have_count(1)
    assert case.patient.family_name not in page.locator("main").inner_text()
    shot(page, f"{name}-3-dietician-access-ended")
