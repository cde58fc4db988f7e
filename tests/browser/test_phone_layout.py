"""Issue 16, layout at 390 px: tables become labelled cards that keep their roles, label/value lists
stack, nothing is wider than the phone, and the focus ring is dark inside yellow."""
from __future__ import annotations

import pytest

from app.networks.models import Role
from tests.browser.helpers import shot, sign_in
from tests.conftest import make_member, make_network

pytestmark = pytest.mark.browser


def _page_fits(page, width: int) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width


def test_member_list_and_profile_hold_at_390_px(chromium, live_server):
    network = make_network("zk", name="Oncologienetwerk Zuid-Kennemerland")
    coordinator = make_member(network, "coordinator@example.nl", role=Role.COORDINATOR, disciplines=("casemanager",))
    other = make_member(network, "a.very.long.email.address.for.a.dietician@ziekenhuis-zuid-kennemerland.example.nl",
                        disciplines=("dietist",), password=None)
    context = chromium.new_context(locale="nl-NL", viewport={"width": 390, "height": 844})
    page = context.new_page()
    try:
        sign_in(page, live_server, coordinator.user)
        page.goto(f"{live_server}/n/zk/members")
        table = page.locator("main table").first
        assert table.get_attribute("role") == "table"
        headers = [h.strip() for h in table.locator("thead th").all_inner_texts()]
        cells = table.locator("tbody td")
        assert cells.count() > 0
        for i in range(cells.count()):
            label = cells.nth(i).get_attribute("data-label")
            assert label in headers and label, f"cell {i} has no column label"
            assert cells.nth(i).get_attribute("role") == "cell"
        # the label is printed above the value (the ::before box), the header row is out of sight
        shown = page.evaluate("getComputedStyle(document.querySelector('main tbody td[data-label]'), '::before').content")
        assert shown.strip('"') in headers
        assert table.locator("thead tr").bounding_box()["width"] <= 1
        _page_fits(page, 390)
        shot(page, "phone-members-390")

        page.goto(f"{live_server}/n/zk/members/{other.id}")
        _page_fits(page, 390)
        facts = page.locator("main dl.facts").first
        dt, dd = facts.locator("dt").first.bounding_box(), facts.locator("dd").first.bounding_box()
        assert dd["y"] >= dt["y"] + dt["height"] - 1  # value below its label, not squeezed beside it
        assert dd["width"] >= 300
        shot(page, "phone-member-profile-390")

        page.keyboard.press("Tab")  # the skip link, the first thing a keyboard reaches
        style = page.evaluate("(() => { const s = getComputedStyle(document.activeElement);"
                              " return [s.outlineStyle, s.outlineColor, s.boxShadow]; })()")
        assert style[0] == "solid" and style[1] == "rgb(11, 12, 12)"
        assert "rgb(255, 191, 71)" in style[2]
    finally:
        context.close()
