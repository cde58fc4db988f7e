"""Every page a person can reach, on a phone and at a desk: for each role of the demo world (coordinator,
dietician, GP, platform admin, the patient in his portal) a crawl from the role's start page over every
same-origin GET link (bounded), at 390 and at 1280 px. A page fails when it is wider than the window, when a
text block is squeezed into a column narrower than 120 px at 390 px (it wraps there: one short word in a
chip is not squeezed), when a table has no header row or, on a phone, a data cell has no data-label (the
card's label) or its header is gone for screen readers, when axe-core finds anything of impact moderate or
worse (once per kind of page and width), or when the main navigation takes more than one line at 1280 px or
is not folded behind its "Menu" button at 390 px. The coordinator's menu groups also open by keyboard with a
focus ring of 3:1 on the teal bar, and open on a phone.
Full-page screenshots of the start pages, the referral inbox, a case and the audit log go to
test-artifacts/crawl/.
"""
from __future__ import annotations

import re
from collections import deque
from urllib.parse import urldefrag, urlsplit

import pyotp
import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page
from sqlalchemy import select

from app.auth.models import User
from app.core.db import utcnow
from app.extensions import db
from app.networks.models import Network
from tests.browser.conftest import ARTIFACTS, BROWSER_TIMEOUT_MS
from tests.browser.helpers import sign_in
from tests.conftest import PASSWORD, _password_hash, make_member

pytestmark = pytest.mark.browser

WIDTHS = (1280, 390)
MAX_PAGES = 40  # per role
PER_KIND = 2  # pages per kind of page (the path with its numbers taken out): two member profiles, not twenty
SKIP = re.compile(r"/logout|/static/|/favicon|\.(pdf|csv|json|ics|zip|png|svg)(\?|$)|/pdf(/|\?|$)|/download|"
                  r"/bijlagen/|/export|/document(\?|$)|/dev/mail|/healthz|/open/hsds|/fhir|/api/")
AXE = Axe()
IMPACTS = ("moderate", "serious", "critical")
SHOTS = ARTIFACTS / "crawl"
LONG_NAME = "Alexandra Wilhelmina van der Heijden-Oudshoorn"
LONG_EMAIL = "a.very.long.email.address.for.a.physiotherapist@fysiotherapie-zuid-kennemerland.example.nl"

# In the page: text blocks squeezed below 120 px at 390 px, tables without a header row or, on a phone, with an
# unlabelled data cell, and how wide the page is.
PROBE = """(width) => {
  const out = {scrollWidth: document.documentElement.scrollWidth, narrow: [], headless: [], unlabelled: []};
  const describe = (el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
      (el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\\s+/).join('.') : '') +
      ' "' + el.textContent.replace(/\\s+/g, ' ').trim().slice(0, 40) + '"';
  const shown = (el) => {
    const r = el.getBoundingClientRect();
    if (r.width <= 1 || r.height <= 1 || !el.checkVisibility({visibilityProperty: true})) return false;
    for (let node = el; node; node = node.parentElement) {
      const s = getComputedStyle(node);
      if (s.visibility === 'hidden' || s.display === 'none' || node.classList.contains('visually-hidden')) return false;
      if (node.tagName === 'THEAD') return false;
    }
    return true;
  };
  const wraps = (el) => {  // its text runs over more than one line (the text's own boxes, not padding)
    const tops = [];
    const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    for (let text = walker.nextNode(); text; text = walker.nextNode()) {
      if (!text.textContent.trim()) continue;
      const range = document.createRange();
      range.selectNodeContents(text);
      for (const r of range.getClientRects()) {
        if (r.width > 0 && !tops.some(top => Math.abs(top - r.top) < r.height / 2)) tops.push(r.top);
      }
    }
    return tops.length > 1;
  };
  // The main navigation: on one line at a desk, folded behind its menu button on a phone.
  const items = Array.from(document.querySelectorAll('header nav li')).filter(li => shown(li));
  out.navLines = new Set(items.filter(li => !li.parentElement.closest('li')).map(li => Math.round(li.getBoundingClientRect().top))).size;
  out.navOpen = items.length > 0 && width < 600;
  if (width < 600) {
    for (const el of document.querySelectorAll('main p, main li, main dd, main dt, main td, main th, main label, main h1, main h2, main h3')) {
      if (!el.textContent.trim() || !shown(el)) continue;
      if (el.getBoundingClientRect().width < 120 && wraps(el)) out.narrow.push(describe(el));
    }
  }
  for (const table of document.querySelectorAll('table')) {
    if (!table.tHead || !table.tHead.querySelector('th')) { out.headless.push(describe(table)); continue; }
    const head = getComputedStyle(table.tHead.querySelector('th'));  // out of sight on a phone, never out of reach
    if (head.display === 'none' || head.visibility === 'hidden') out.headless.push(describe(table) + ' (header hidden)');
    if (width < 600) {
      for (const cell of table.querySelectorAll('tbody td')) {
        if (!(cell.getAttribute('data-label') || '').trim() && cell.textContent.trim()) out.unlabelled.push(describe(cell));
      }
    }
  }
  return out;
}"""


def _kind(url: str) -> str:
    return re.sub(r"/[0-9]+(?=/|$)", "/#", urlsplit(url).path)


def _links(page: Page, base: str) -> list[str]:
    hrefs = page.eval_on_selector_all("a[href]", "els => els.map(a => a.href)")
    found = []
    for href in hrefs:
        url, _fragment = urldefrag(href)
        if url.startswith(base + "/") and not SKIP.search(url[len(base):]):
            found.append(url)
    return found


def resize(page: Page, width: int) -> None:
    """A new window width, and the page's answer to it: media-query listeners (nav.js) run in the rendering
    step before the next animation frame."""
    page.set_viewport_size({"width": width, "height": 900})
    page.evaluate("() => new Promise(done => requestAnimationFrame(() => done()))")


def crawl(page: Page, base: str, starts: list[str], role: str, problems: list[str],
          seen_kinds: set[tuple[str, int]]) -> int:
    """Visit what *starts* lead to, breadth first; check every page at both widths. Returns the pages seen."""
    queue, visited, per_kind = deque(base + start for start in starts), set(), {}
    while queue and len(visited) < MAX_PAGES:
        url = queue.popleft()
        kind = _kind(url)
        if url in visited or per_kind.get(kind, 0) >= PER_KIND:
            continue
        visited.add(url)
        per_kind[kind] = per_kind.get(kind, 0) + 1
        page.set_viewport_size({"width": WIDTHS[0], "height": 900})
        response = page.goto(url)
        page.wait_for_load_state("load")
        if response is None or "text/html" not in (response.headers.get("content-type") or ""):
            continue
        where = f"{role} {urlsplit(page.url).path}"
        if response.status >= 400:
            problems.append(f"status {response.status}: {where}")
            continue
        if not page.url.startswith(base):
            continue
        for width in WIDTHS:
            resize(page, width)
            found = page.evaluate(PROBE, width)
            if found["scrollWidth"] > width:
                problems.append(f"wider: {where} at {width} px is {found['scrollWidth']} px wide")
            if width >= 1280 and found["navLines"] > 1:
                problems.append(f"nav: {where} at {width} px: the main navigation takes {found['navLines']} lines")
            if found["navOpen"]:
                problems.append(f"nav: {where} at {width} px: the main navigation is not folded into a menu")
            problems.extend(f"narrow: {where} at {width} px: {text}" for text in found["narrow"])
            problems.extend(f"table header: {where}: {text}" for text in found["headless"]
                            if width == WIDTHS[0] or text.endswith("(header hidden)"))
            problems.extend(f"data-label: {where} at {width} px: {text}" for text in found["unlabelled"][:3])
            if (kind, width) not in seen_kinds:
                seen_kinds.add((kind, width))
                results = AXE.run(page)
                for violation in results.response["violations"]:
                    if violation["impact"] in IMPACTS:
                        targets = [node["target"] for node in violation["nodes"]][:3]
                        problems.append(f"axe {violation['id']} ({violation['impact']}): {where} at {width} px: "
                                        f"{targets}")
        queue.extend(link for link in _links(page, base) if link not in visited)
    return len(visited)


def screenshots(page: Page, base: str, name: str, path: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.goto(base + path)
    page.wait_for_load_state("load")
    for width in WIDTHS:
        resize(page, width)
        page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)


FOCUS_STYLE = "(() => { const s = getComputedStyle(document.activeElement); return [s.outlineStyle, s.outlineColor, s.boxShadow]; })()"


def focus_ring_holds(page: Page, base: str, problems: list[str]) -> None:
    """By keyboard: a menu group of the teal bar opens with Enter and Tab reaches its first link; the focus ring
    on the group's button and on that link (on the darker teal of the open group) is a dark ring inside a
    yellow one, so one of the two has 3:1 against any background (app.css: 3.2 and 3.7 on the teal bar, 5.7 for
    the yellow on the darker teal, 19 for the dark ring on white)."""
    page.goto(f"{base}/n/zuid-kennemerland/")
    resize(page, WIDTHS[0])
    group = page.locator("header nav .navgroup > details").first
    for _step in range(10):  # Tab from the top of the page: the skip link, the brand, then the first group
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.matches('header nav .navgroup > details > summary')"):
            break
    rings = [("group button", page.evaluate(FOCUS_STYLE))]
    page.keyboard.press("Enter")
    if group.get_attribute("open") is None:
        problems.append("keyboard: Enter does not open a menu group")
    page.keyboard.press("Tab")
    if not page.evaluate("document.activeElement.matches('header nav .navgroup details[open] a')"):
        problems.append("keyboard: Tab from a group's button does not reach its first link")
    rings.append(("link in an open group", page.evaluate(FOCUS_STYLE)))
    for what, (outline, colour, shadow) in rings:
        if not (outline == "solid" and colour == "rgb(11, 12, 12)" and "rgb(255, 191, 71)" in shadow):
            problems.append(f"focus ring: {what}: {outline} {colour} {shadow}")


def phone_menu_opens(page: Page, base: str, problems: list[str]) -> None:
    """At 390 px the bar is one "Menu" button; it opens the list, and a group in it opens in place."""
    page.goto(f"{base}/n/zuid-kennemerland/referrals/")
    resize(page, 390)
    page.locator("#main-menu > summary").click()
    group = page.locator("header nav .navgroup", has=page.locator("a[aria-current=page]"))
    group.locator("summary").click()
    link = group.locator("a[aria-current=page]")
    if not link.is_visible() or link.bounding_box()["x"] + link.bounding_box()["width"] > 390:
        problems.append("phone menu: the current place is not in sight after opening Menu and its group")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "coordinator-menu-open-390.png"), full_page=True)


@pytest.fixture
def demo_world(monkeypatch):
    """The demo of `make run` (two networks, referrals in every state, a case, the patient and his wife in
    the portal), every account with the test password and an authenticator app."""
    from app import demo

    monkeypatch.setattr(demo, "hash_password", lambda password: _password_hash(PASSWORD))
    demo.load_demo()
    for user in db.session.scalars(select(User).where(User.is_demo.is_(True))):
        user.totp_secret = pyotp.random_base32()
        user.mfa_enabled_at = utcnow()
    db.session.commit()
    network = db.session.scalar(select(Network).where(Network.slug == "zuid-kennemerland"))
    long = make_member(network, LONG_EMAIL, disciplines=("fysiotherapeut",), password=None, name=LONG_NAME)

    def user(login: str) -> User:
        return db.session.scalar(select(User).where(User.email == f"{login}@{demo.DOMAIN}"))
    user.long_profile = f"/n/zuid-kennemerland/members/{long.id}"  # a long name as the heading, a long address
    return user


ROLES = [("coordinator", "marieke.devries"), ("dietician", "sanne.bakker"), ("gp", "hans.willems"),
         ("admin", "admin"), ("patient", "johan.verbeek")]


def test_every_reachable_page_holds_on_a_phone_and_at_a_desk(chromium, live_server, demo_world):
    problems: list[str] = []
    seen_kinds: set[tuple[str, int]] = set()
    counts = {}
    for role, login in ROLES:
        context = chromium.new_context(locale="nl-NL", viewport={"width": WIDTHS[0], "height": 900})
        page = context.new_page()
        page.set_default_timeout(BROWSER_TIMEOUT_MS)
        page.set_default_navigation_timeout(BROWSER_TIMEOUT_MS)
        try:
            sign_in(page, live_server, demo_world(login))
            start = urlsplit(page.url).path  # where signing in leads: the role's start page
            screenshots(page, live_server, f"{role}-start", start)
            if role == "coordinator":
                screenshots(page, live_server, "network-home", "/n/zuid-kennemerland/")
                screenshots(page, live_server, "referral-inbox", "/n/zuid-kennemerland/referrals/")
                screenshots(page, live_server, "audit-log", "/n/zuid-kennemerland/audit")
                page.goto(f"{live_server}/n/zuid-kennemerland/cases/")
                case = page.locator("main a[href*='/cases/']").filter(has_text=re.compile(r"\S"))
                hrefs = [h for h in case.evaluate_all("els => els.map(a => a.getAttribute('href'))")
                         if re.search(r"/cases/[0-9]+$", h)]
                assert hrefs, "the demo has a case"
                screenshots(page, live_server, "case", hrefs[0])
            extra = [demo_world.long_profile] if role == "coordinator" else []
            counts[role] = crawl(page, live_server, [start, *extra], role, problems, seen_kinds)
            if role == "coordinator":
                focus_ring_holds(page, live_server, problems)
                phone_menu_opens(page, live_server, problems)
        finally:
            context.close()
    print("pages per role:", counts)
    assert all(count >= 3 for count in counts.values()), counts  # each crawl got past its start page
    assert problems == [], f"{len(problems)} problems:\n" + "\n".join(problems)
