"""Shared steps for the browser stories: a person's own browser, signing in through the real pages,
the GP's referral form, a mail's link, screenshots and the Dutch wording the app shows."""
from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

from flask_babel import force_locale
from flask_babel import gettext as babel_gettext
from playwright.sync_api import Locator, Page, expect

from app.auth.models import User
from app.core.db import utcnow
from app.core.tenancy import network_context
from app.extensions import db
from app.networks.models import Network, ServiceAreaRange
from app.referrals.models import ReferralStatus
from tests.browser.conftest import ARTIFACTS, BROWSER_TIMEOUT_MS
from tests.conftest import PASSWORD, current_totp, delivered_mails, make_network

# The demo casus: Wim Jansen, 55, after surgery for colon cancer, with diarrhoea,
# fatigue and sexual problems. The keys are the form's field names (= the ids of its inputs); the date of
# birth is three inputs (day, month, year).
WIM_JANSEN = {
    "given_name": "Wim", "family_name": "Jansen", "date_of_birth": ("14", "3", "1971"), "sex": "male",
    "bsn": "111222333", "address": "Kerkstraat 1", "postcode": "2012 AB", "city": "Haarlem",
    "phone": "023 123 4567", "email": "wim.jansen@example.nl",
    "relative_name": "Els Jansen", "relative_relation": "partner", "relative_phone": "06 1234 5678",
    "tumour_type": "colorectal", "hospital": "Spaarne Gasthuis", "specialist": "dr. De Boer",
    "treatment_phase": "after_treatment", "treatment_goal": "curative",
    "history": "Hemicolectomie rechts in juli 2026, geen chemotherapie.",
    "medication": ("Loperamide", "2 mg zo nodig", "sinds augustus 2026, voor de diarree"),
    "resuscitation": "unknown", "euthanasia": "no", "advance_directive": "no",
    "question": "Graag begeleiding bij aanhoudende diarree, ernstige vermoeidheid en seksuele problemen.",
    "complaints_physical": ("bowel", "fatigue", "sexual"),
    "complaints_physical_text": "Diarree sinds de operatie, vier maanden geleden; moe na elke korte wandeling.",
    "distress_score": "7",
    "disciplines": ("Diëtist",),  # the checkbox labels: discipline names from the database, not the catalogue
    "social_situation": "Woont samen met zijn vrouw Els; werkt als buschauffeur, nu ziek thuis.",
}
DATE_PARTS = ("day", "month", "year")
TEXT_FIELDS = ("given_name", "family_name", "bsn", "address", "postcode", "city", "phone", "email",
               "relative_name", "relative_relation", "relative_phone", "hospital", "specialist", "history",
               "question", "complaints_physical_text", "distress_score", "social_situation")
SELECT_FIELDS = ("sex", "tumour_type", "treatment_phase", "treatment_goal")
RADIO_FIELDS = ("resuscitation", "euthanasia", "advance_directive")
CHECKBOX_GROUPS = ("complaints_physical",)
MEDICATION_INPUTS = ("#medications-0-name", "#medications-0-dose", "#medications-0-since")


def public_network(slug: str, name: str, area: tuple[int, int], **fields) -> Network:
    """Approved by the platform admin, published by its coordinator, serving the postcodes *area*
    (the ranges the directory's postcode search reads, as the network profile stores them)."""
    network = make_network(slug, name=name, is_public=True, approved_at=utcnow(),
                           service_area=f"{area[0]}-{area[1]}", **fields)
    with network_context(network.id):
        db.session.add(ServiceAreaRange(network_id=network.id, first=area[0], last=area[1]))
        db.session.commit()
    return network


# --- people and their browsers ---------------------------------------------------------------------------

@contextmanager
def own_browser(chromium, name: str) -> Iterator[Page]:
    """A person's own browser window (a fresh context: own cookies, Dutch, the page fixture's size).
    A full-page screenshot `<name>-last.png` is saved when it closes, also after a failure."""
    context = chromium.new_context(locale="nl-NL", viewport={"width": 1200, "height": 900})
    page = context.new_page()
    page.set_default_timeout(BROWSER_TIMEOUT_MS)
    page.set_default_navigation_timeout(BROWSER_TIMEOUT_MS)
    try:
        yield page
    finally:
        try:
            shot(page, f"{name}-last")
        finally:
            context.close()


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def sign_in(page: Page, base: str, user: User, *, start: str | None = None) -> None:
    """Sign in as a person does: email and password on the login page, then the code from the
    authenticator app. *start*: a page to open first (a link from a mail); signing in leads back to it."""
    page.goto(start or f"{base}/login")
    page.wait_for_url(re.compile(r"/login(\?|$)"))
    page.fill("#email", user.email)
    page.fill("#password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url("**/login/mfa")
    page.fill("#code", current_totp(user))
    page.click("main button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)


def mailed_link(base: str, to: str, template: str) -> str:
    """The link in the latest mail of *template* to *to*, on the live server (mail holds BASE_URL)."""
    db.session.rollback()  # a fresh look: the server committed the mail in its own transaction
    mails = delivered_mails(to, template)
    assert mails, f"no {template} mail to {to}"
    match = re.search(r"https?://\S+", mails[-1]["body"])
    assert match, mails[-1]["body"]
    parts = urlsplit(match.group(0))
    return base + parts.path + (f"?{parts.query}" if parts.query else "")


# --- the GP's referral form ------------------------------------------------------------------------------

def find_network_and_open_form(page: Page, base: str, postcode: str, network_name: str) -> None:
    """From the GP's start page: the directory, the patient's postcode, the network, "Refer a patient"."""
    page.goto(f"{base}/")
    page.click("main a[href='/netwerken']")  # "Refer a patient: find a network"
    page.wait_for_url("**/netwerken")
    page.fill("#postcode", postcode)
    page.click("form[role=search] button[type=submit]")
    page.wait_for_url("**/netwerken?postcode=*")
    results = page.locator("ul.network-list > li")
    expect(results).to_have_count(1)
    results.get_by_role("link", name=network_name).click()
    page.wait_for_url(re.compile(r"/netwerken/[a-z0-9-]+$"))
    expect(page.locator("h1")).to_have_text(network_name)
    page.click("main a.button.primary[href^='/verwijzer/verwijzingen/nieuw/']")  # "Refer a patient"
    page.wait_for_url("**/verwijzer/verwijzingen/nieuw/*")


def unfold(page: Page, target: str | Locator) -> None:
    """Open the folded optional part (<details>) holding *target*, as a person does: its summary."""
    element = page.locator(target) if isinstance(target, str) else target
    folded = page.locator("details:not([open])", has=element)
    if folded.count():
        folded.locator("> summary").click()
    expect(element).to_be_visible()


def fill_date_of_birth(page: Page, parts: tuple[str, str, str]) -> None:
    for part, value in zip(DATE_PARTS, parts, strict=True):
        page.fill(f"#date_of_birth-{part}", value)


def fill_referral(page: Page, data: dict) -> None:
    """Fill every field of *data* the way a person does: open the optional part it is in, type, choose,
    tick. Ticks the consent box."""
    fill_date_of_birth(page, data["date_of_birth"])
    for name in TEXT_FIELDS:
        if name in data:
            unfold(page, f"#{name}")
            page.fill(f"#{name}", data[name])
    for name in SELECT_FIELDS:
        page.select_option(f"#{name}", data[name])
    for selector, value in zip(MEDICATION_INPUTS, data["medication"], strict=True):
        page.fill(selector, value)
    for name in RADIO_FIELDS:
        page.check(f"input[name={name}][value={data[name]}]")
    for name in CHECKBOX_GROUPS:
        for code in data.get(name, ()):
            unfold(page, f"input[name={name}][value={code}]")
            page.check(f"input[name={name}][value={code}]")
    for label in data.get("disciplines", ()):
        unfold(page, page.locator("form.referral-form").get_by_label(label, exact=True))
        page.locator("form.referral-form").get_by_label(label, exact=True).check()
    page.check("#consent")


def expect_referral_kept(page: Page, data: dict, *, except_field: str = "") -> None:
    """After a refused send: everything typed, chosen and ticked is still there (and shown: the optional
    parts holding input are open)."""
    if except_field != "date_of_birth":
        for part, value in zip(DATE_PARTS, data["date_of_birth"], strict=True):
            expect(page.locator(f"#date_of_birth-{part}")).to_have_value(value)
    for name in TEXT_FIELDS:
        if name in data and name != except_field:
            expect(page.locator(f"#{name}")).to_be_visible()
        if name in data and name != except_field:
            expect(page.locator(f"#{name}")).to_have_value(data[name])
    for name in SELECT_FIELDS:
        expect(page.locator(f"#{name}")).to_have_value(data[name])
    for selector, value in zip(MEDICATION_INPUTS, data["medication"], strict=True):
        expect(page.locator(selector)).to_have_value(value)
    for name in RADIO_FIELDS:
        expect(page.locator(f"input[name={name}][value={data[name]}]")).to_be_checked()
    for name in CHECKBOX_GROUPS:
        for code in data.get(name, ()):
            expect(page.locator(f"input[name={name}][value={code}]")).to_be_checked()
    for label in data.get("disciplines", ()):
        expect(page.locator("form.referral-form").get_by_label(label, exact=True)).to_be_checked()
    expect(page.locator("#consent")).to_be_checked()


def send_referral(page: Page) -> None:
    page.click("button[name=action][value=submit]")  # "Send referral" (not "Save draft")
    page.wait_for_load_state()


# --- wording ---------------------------------------------------------------------------------------------

def dutch(text) -> str:
    """What the app shows for *text* (a msgid or a lazy string) in Dutch, the default locale: the
    catalogue as compiled now (translations are being completed; test_i18n checks they are complete)."""
    with force_locale("nl"):
        return babel_gettext(text) if isinstance(text, str) else str(text)


def dutch_pattern(msgid: str) -> re.Pattern:
    """A regex for the Dutch form of a msgid with %(name)s placeholders (each matches some text)."""
    pieces = re.split(r"%\([a-z_]+\)[sd]", dutch(msgid))
    return re.compile(".+?".join(re.escape(piece) for piece in pieces))


# --- the network's side ----------------------------------------------------------------------------------

def click_nav(page: Page, href: str) -> None:
    """Follow the main navigation's link to *href* as a person does: open the menu ("Menu" on a phone) and the
    group it sits in (e.g. "Work") when they are closed, then click it and wait for the page."""
    link = page.locator(f"header nav a[href='{href}']")
    link.wait_for(state="attached")
    for disclosure in page.locator("header nav details").filter(has=page.locator(f"a[href='{href}']")).all():
        if disclosure.get_attribute("open") is None:
            disclosure.locator("> summary").click()
    with page.expect_navigation():
        link.click()


def open_referral_from_inbox(page: Page, slug: str, number: str):
    """From the coordinator's start page: the network, then "Referrals" in the menu (the "Work" group).
    Returns the inbox row of *number* (a test checks it, then clicks the number to open the referral)."""
    with page.expect_navigation():
        page.click(f"main a[href='/n/{slug}/']")
    click_nav(page, f"/n/{slug}/referrals/")
    page.wait_for_url(f"**/n/{slug}/referrals/")
    row = page.locator(f"table.inbox tr[data-number='{number}']")
    expect(row).to_be_visible()
    return row


def acknowledge_and_accept(page: Page) -> None:
    """On the referral's page: "Acknowledge receipt", then "Accept" (no intake date yet)."""
    status = page.locator(".titlebar .tag")
    page.click("#action-acknowledge button[type=submit]")
    expect(status).to_have_text(dutch(ReferralStatus.ACKNOWLEDGED.label))
    expect(page.locator(".flash-success")).to_be_visible()
    page.click("#action-accept button[type=submit]")
    expect(status).to_have_text(dutch(ReferralStatus.ACCEPTED.label))


def involve_colleague(page: Page, membership_id: int, name: str, discipline: str, *, reason: str, purpose: str,
                      parts: tuple[str, ...] = ("intake", "notes"), screenshot: str = "") -> None:
    """On the case page: "Involve a colleague", choose them, say why, and record the patient's consent for
    them in the same form (verbal, for *purpose*, these *parts*, the patient agreed)."""
    page.click("main a[href$='/team/voorstellen']")
    page.wait_for_url("**/team/voorstellen")
    option = page.locator(f"#membership_id option[value='{membership_id}']")
    expect(option).to_contain_text(name)
    expect(option).to_contain_text(discipline)
    page.select_option("#membership_id", str(membership_id))
    page.fill("#reason", reason)
    page.check("input[name=consent_method][value=verbal]")
    page.fill("#consent_purpose", purpose)
    for part in parts:
        page.check(f"input[name=consent_parts][value={part}]")
    page.check("#consent_agreed")
    if screenshot:
        shot(page, screenshot)
    page.click("main form .form-actions button.primary")  # "Ask to join the care team"
    page.wait_for_url(re.compile(r"/cases/[0-9]+$"))
    expect(page.locator(".flash-success")).to_contain_text(name)


def accept_proposal_from_mail(page: Page, base: str, user: User) -> None:
    """A proposed colleague opens the link in their mail, signs in, reads the proposal and accepts."""
    link = mailed_link(base, user.email, "case_proposal")
    sign_in(page, base, user, start=link)
    page.wait_for_url(re.compile(r"/cases/[0-9]+/voorstel$"))
    page.click("button[name=answer][value=accept]")
    page.wait_for_url(re.compile(r"/cases/[0-9]+$"))
