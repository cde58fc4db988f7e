"""The main menu is rendered once per kind of page and kept (app.core.templating.nav_items): what differs between
pages of one kind still differs. Each test first fills the kept menu with one page, then asks for a page that may
only look the same."""
from __future__ import annotations

import re

from app.core.db import utcnow
from app.extensions import db
from app.networks.models import Role
from tests.conftest import login_as, make_gp, make_member, make_network
from tests.referral_factories import make_referral


def _menu(html: str) -> str:
    return html.split('class="mainnav"')[1].split("</nav>")[0]


def test_the_badge_counts_new_referrals_on_every_page(client):
    network = make_network("noord", approved_at=utcnow())
    coordinator = make_member(network, "coo@example.nl", role=Role.COORDINATOR, locale="en").user
    login_as(client, coordinator)
    assert "badge-count" not in _menu(client.get("/n/noord/members").get_data(as_text=True))
    gp = make_gp()
    make_referral(network, gp)
    make_referral(network, gp)
    menu = _menu(client.get("/n/noord/members").get_data(as_text=True))
    assert menu.count('<span class="badge badge-count" aria-hidden="true">2</span>') == 2  # the group and the link


def test_each_network_and_each_role_gets_its_own_menu(client, new_client):
    noord, zuid = make_network("noord", approved_at=utcnow()), make_network("zuid", approved_at=utcnow())
    user = make_member(noord, "both@example.nl", role=Role.COORDINATOR, locale="en").user
    make_member(zuid, "both@example.nl", role=Role.MEMBER)
    login_as(client, user)
    menu_noord = _menu(client.get("/n/noord/members").get_data(as_text=True))
    menu_zuid = _menu(client.get("/n/zuid/members").get_data(as_text=True))
    assert 'href="/n/noord/quality/"' in menu_noord and "/n/zuid/" not in menu_noord
    assert "/n/noord/" not in menu_zuid and 'href="/n/zuid/members"' in menu_zuid
    assert "quality" not in menu_zuid  # a member has no quality menu, though the coordinator's page was kept
    member = make_member(noord, "member@example.nl", role=Role.MEMBER, locale="en").user
    browser = new_client()
    login_as(browser, member)
    assert "quality" not in _menu(browser.get("/n/noord/members").get_data(as_text=True))  # same page, other role


def test_the_language_and_the_current_page_change_the_menu(client):
    network = make_network("noord", approved_at=utcnow())
    coordinator = make_member(network, "coo@example.nl", role=Role.COORDINATOR, locale="en").user
    login_as(client, coordinator)
    english = _menu(client.get("/n/noord/members").get_data(as_text=True))
    other_page = _menu(client.get("/n/noord/meetings/").get_data(as_text=True))
    assert re.search(r'href="/n/noord/members" aria-current="page">Members<', english)
    assert re.search(r'href="/n/noord/meetings/" aria-current="page">Meetings<', other_page)
    coordinator.locale = "nl"  # what the language switch saves for a signed-in user
    db.session.commit()
    dutch = _menu(client.get("/n/noord/members").get_data(as_text=True))
    assert "Leden" in dutch and ">Members<" not in dutch


def test_the_sign_out_form_carries_this_sessions_token(client, new_client):
    network = make_network("noord", approved_at=utcnow())
    first = make_member(network, "one@example.nl", role=Role.COORDINATOR, locale="en").user
    second = make_member(network, "two@example.nl", role=Role.COORDINATOR, locale="en").user
    other = new_client()
    login_as(client, first)
    login_as(other, second)
    tokens = []
    for browser in (client, other):
        html = browser.get("/n/noord/members").get_data(as_text=True)
        menu_token = re.search(r'action="/logout"><input type="hidden" name="csrf_token" value="([^"]+)"',
                               _menu(html)).group(1)
        page_token = re.search(r'class="locale-switch">\s*<input type="hidden" name="csrf_token" value="([^"]+)"',
                               html).group(1)
        assert menu_token == page_token  # the menu's token is the page's, not the kept page's
        tokens.append(menu_token)
    assert tokens[0] != tokens[1]
