"""In a real browser at a desk (1280 px wide): a GP sends a referral with only the required fields, by
keyboard alone. The optional parts stay folded and out of the way; the date of birth is typed as day,
month and year (12, 3, 1958) and stored as 12 March 1958, never as 3 December. The test reports the
number of inputs the GP had to fill, the controls in sight and the form's height before any optional
part is opened, and the seconds it took (printed for the report: no assertion depends on speed)."""
from __future__ import annotations

import re
import time
from datetime import date

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect
from sqlalchemy import select

from app.core.db import utcnow
from app.core.tenancy import network_context
from app.extensions import db
from app.referrals.models import Referral, ReferralStatus
from tests.browser.helpers import public_network, shot, sign_in
from tests.conftest import make_gp

pytestmark = pytest.mark.browser

DESK = {"width": 1280, "height": 900}
AXE = Axe()
# What a GP must fill in, in the order the Tab key reaches it: (element id, what they type or choose).
# Selects and radios are chosen with the arrow keys, a checkbox with the space bar.
REQUIRED = [
    ("given_name", "Anna"), ("family_name", "de Vries"),
    ("date_of_birth-day", "12"), ("date_of_birth-month", "3"), ("date_of_birth-year", "1958"),
    ("sex", "female"),
    ("address", "Dorpsstraat 5"), ("postcode", "2012 AB"), ("city", "Haarlem"), ("phone", "023 765 4321"),
    ("tumour_type", "breast"), ("hospital", "Spaarne Gasthuis"), ("specialist", "dr. Bakker"),
    ("treatment_phase", "in_treatment"), ("treatment_goal", "curative"),
    ("medications-0-name", "Tamoxifen"),
    ("resuscitation", "unknown"), ("euthanasia", "no"), ("advance_directive", "no"),
    ("question", "Graag begeleiding bij vermoeidheid en angst tijdens de behandeling."),
    ("consent", True),
]
# In sight as well, not to be filled in: the other cells of the first medicine row, the tick for an
# attached overview and the urgency (it has a default).
IN_SIGHT_NOT_REQUIRED = {"medications-0-dose", "medications-0-since", "medication_list_attached", "urgency"}

VISIBLE_CONTROLS = """form => {
  const names = [];
  for (const el of form.querySelectorAll('input, select, textarea')) {
    if (el.type === 'hidden' || el.closest('details:not([open])') || !el.checkVisibility()) continue;
    const key = el.type === 'radio' ? el.name : el.id;
    if (!names.includes(key)) names.push(key);
  }
  return names;
}"""


def focused(page: Page) -> dict:
    return page.evaluate("() => ({id: document.activeElement.id, name: document.activeElement.name || '',"
                         " type: document.activeElement.type || '', value: document.activeElement.value || ''})")


def tab_to(page: Page, target: str, limit: int = 8) -> int:
    """Press Tab until the element *target* (an id, or a radio group's name) has the focus; the presses."""
    for presses in range(1, limit + 1):
        page.keyboard.press("Tab")
        now = focused(page)
        if target in (now["id"], now["name"] if now["type"] == "radio" else None):
            return presses
    raise AssertionError(f"Tab did not reach {target} in {limit} presses (at {focused(page)})")


def choose_with_arrows(page: Page, value: str, limit: int = 12) -> None:
    """On a focused select or radio: the arrow key until *value* is chosen (a radio: checked)."""
    if focused(page)["type"] == "radio":
        page.keyboard.press("Space")
    for _ in range(limit):
        if focused(page)["value"] == value:
            return
        page.keyboard.press("ArrowDown")
    raise AssertionError(f"the arrow keys did not reach {value}")


def no_serious_axe_findings(page: Page, where: str) -> None:
    """axe-core (bundled, nothing fetched) at 390 px and at the desk; at 390 px nothing wider than the phone."""
    for width in (390, DESK["width"]):
        page.set_viewport_size({"width": width, "height": 900})
        results = AXE.run(page)
        serious = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
                   for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
        assert serious == [], f"{where} at {width} px: {serious}"
        if width == 390:
            wide = page.evaluate("""() => [...document.querySelectorAll('main *')].filter(
                el => el.getBoundingClientRect().right > 391).slice(0, 5).map(
                el => el.tagName + '#' + el.id + '.' + el.className + ' ' + Math.round(el.getBoundingClientRect().right))""")
            assert page.evaluate("document.documentElement.scrollWidth") <= 390, (where, wide)


def test_a_gp_sends_a_minimal_referral_by_keyboard(page, live_server, request):
    network = public_network("zk", "Oncologienetwerk Zuid-Kennemerland", (2011, 2036), region="Zuid-Kennemerland")
    gp = make_gp("hans.willems@example.nl", email_verified_at=utcnow(), name="Hans Willems")
    page.set_viewport_size(DESK)
    sign_in(page, live_server, gp)
    page.goto(f"{live_server}/verwijzer/verwijzingen/nieuw/zk")
    form = page.locator("form.referral-form")
    expect(form).to_be_visible()

    # Before any optional part is opened: the sections at a glance, the optional parts folded.
    expect(page.locator("nav.form-sections a")).to_have_count(5)
    for link in page.locator("nav.form-sections a").all():
        expect(page.locator(link.get_attribute("href"))).to_have_count(1)
    folded = page.locator("form.referral-form details.optional")
    assert folded.count() >= 5
    expect(page.locator("form.referral-form details[open]")).to_have_count(0)
    for optional in ("#bsn", "#email", "#relative_name", "#history", "#distress_score", "#social_situation",
                     "#attachments", "#resuscitation_text"):
        expect(page.locator(optional)).to_be_hidden()
    for summary in folded.locator("> summary").all():
        assert re.search(r"\((optional|optioneel)\)", summary.inner_text()), summary.inner_text()
    height = form.bounding_box()["height"]
    in_sight = form.evaluate(VISIBLE_CONTROLS)
    required = [name for name, _value in REQUIRED]
    print(f"\nminimal referral at {DESK['width']} px: {len(required)} required inputs, {len(in_sight)} controls "
          f"in sight, form height {height:.0f} px before opening an optional part")
    assert set(in_sight) == set(required) | IN_SIGHT_NOT_REQUIRED, sorted(set(in_sight) ^ set(required))
    assert 15 <= len(required) <= 25
    assert 1000 <= height <= 2100, height  # about two screens at most (the whole form was 5200 px)

    # Large enough to hit: radios and checkboxes at least 24 px; the answers lighter than the question.
    for box in (page.locator("input[name=resuscitation]").first.bounding_box(),
                page.locator("#consent").bounding_box()):
        assert box["width"] >= 24 and box["height"] >= 24, box
    weights = page.locator("fieldset.checkboxes").first.evaluate(
        "f => [getComputedStyle(f.querySelector('legend')).fontWeight, getComputedStyle(f.querySelector("
        "'label.check')).fontWeight].map(Number)")
    assert weights[1] < weights[0], weights
    # Inputs as wide as their content.
    for selector, most in (("#date_of_birth-day", 60), ("#date_of_birth-year", 90), ("#postcode", 240)):
        assert page.locator(selector).bounding_box()["width"] <= most, selector
    shot(page, f"{request.node.name}-1-form")
    no_serious_axe_findings(page, "the referral form")

    # By keyboard only: Tab from field to field, type, arrows for a choice, space for the tick, Enter.
    started = time.monotonic()
    page.focus("#given_name")
    presses = 0
    for position, (target, value) in enumerate(REQUIRED):
        if position:
            presses += tab_to(page, target)
        if value is True:
            page.keyboard.press("Space")
        elif target in ("sex", "tumour_type", "treatment_phase", "treatment_goal", "resuscitation",
                        "euthanasia", "advance_directive"):
            choose_with_arrows(page, value)
        else:
            page.keyboard.type(value)
    expect(page.locator("#consent")).to_be_checked()
    expect(page.locator("#date_of_birth-month")).to_have_value("3")
    expect(page.locator("input[name=resuscitation][value=unknown]")).to_be_checked()
    # After the consent: past "Save draft" to "Send referral".
    for _ in range(4):
        page.keyboard.press("Tab")
        presses += 1
        if page.evaluate("() => document.activeElement.matches('button[value=submit]')"):
            break
    expect(page.locator("button[value=submit]")).to_be_focused()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.wait_for_url("**/verwijzer/verwijzingen/*/bevestiging")
    elapsed = time.monotonic() - started
    print(f"sent by keyboard in {elapsed:.1f} s with {presses} Tab presses between {len(required)} inputs")
    shot(page, f"{request.node.name}-2-sent")

    db.session.rollback()
    with network_context(network.id):
        [referral] = db.session.scalars(select(Referral)).all()
    assert referral.status is ReferralStatus.SUBMITTED
    assert referral.date_of_birth == date(1958, 3, 12)  # 12 March, not 3 December
    assert (referral.given_name, referral.family_name, referral.postcode) == ("Anna", "de Vries", "2012 AB")
    assert (referral.resuscitation, referral.euthanasia, referral.advance_directive) == ("unknown", "no", "no")
    assert referral.sex == "female" and referral.tumour_type == "breast" and referral.bsn is None


def test_a_wrong_date_of_birth_is_named_and_reached_from_the_error_summary(page, live_server):
    public_network("zk", "Oncologienetwerk Zuid-Kennemerland", (2011, 2036), region="Zuid-Kennemerland")
    gp = make_gp("hans.willems@example.nl", email_verified_at=utcnow(), name="Hans Willems")
    page.set_viewport_size(DESK)
    sign_in(page, live_server, gp)
    page.goto(f"{live_server}/verwijzer/verwijzingen/nieuw/zk")
    page.fill("#given_name", "Anna")
    page.fill("#date_of_birth-day", "31")
    page.fill("#date_of_birth-month", "2")
    page.fill("#date_of_birth-year", "1958")
    with page.expect_navigation():
        page.click("button[name=action][value=submit]")
    summary = page.locator("#error-summary[role=alert]")
    expect(summary).to_be_focused()
    link = summary.locator("a[href='#date_of_birth-day']")
    expect(link).to_contain_text("Vul een bestaande geboortedatum in.")
    # The parts as typed, the fieldset announcing the hint and the error.
    for part, value in (("day", "31"), ("month", "2"), ("year", "1958")):
        expect(page.locator(f"#date_of_birth-{part}")).to_have_value(value)
    expect(page.locator("fieldset#date_of_birth")).to_have_attribute(
        "aria-describedby", "date_of_birth-help date_of_birth-err")
    expect(page.locator("#date_of_birth-err")).to_have_text("Vul een bestaande geboortedatum in.")
    no_serious_axe_findings(page, "the referral form with errors")
    link.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#date_of_birth-day")).to_be_focused()
    page.keyboard.press("Control+A")
    page.keyboard.type("28")
    expect(page.locator("#date_of_birth-day")).to_have_value("28")
