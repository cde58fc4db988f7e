"""In-app help (/hulp): a role's guide section in the user's language, the header's help link per role and page,
404 for anything that is not a known role, section or image, and no way out of docs/guides/img."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app import demo
from app.auth.models import User
from app.core.tenancy import all_networks
from app.extensions import db
from app.networks.models import Role
from app.patients.models import PortalAccount
from tests.conftest import login_as, make_member, make_network


def body(response) -> str:
    return response.get_data(as_text=True)


def help_href(html: str) -> str | None:
    match = re.search(r'<a class="help-link" href="([^"]+)"', html)
    return match.group(1) if match else None


def test_a_section_renders_in_dutch_and_in_english(client):
    dutch = client.get("/hulp/coordinator/referral-inbox", headers={"Accept-Language": "nl"})
    assert dutch.status_code == 200
    assert '<h1 id="referral-inbox">Er kwam een verwijzing binnen: wat nu</h1>' in body(dutch)
    assert "A referral came in" not in body(dutch)
    english = client.get("/hulp/coordinator/referral-inbox", headers={"Accept-Language": "en"})
    assert '<h1 id="referral-inbox">A referral came in: what now</h1>' in body(english)
    assert "Er kwam een verwijzing binnen" not in body(english)
    # Only that section, with the contents of the whole guide to go on.
    assert "Holding the intake</h2>" not in body(english)
    assert 'href="/hulp/coordinator/intake"' in body(english)
    # The images come from the image route; in-guide links go to the section pages.
    assert 'src="/hulp/img/coordinator-referrals.png"' in body(english)
    assert "../img/" not in body(english)


def test_the_whole_guide_and_the_links_between_sections(client):
    page = body(client.get("/hulp/coordinator/", headers={"Accept-Language": "en"}))
    assert "<h1>Guide for coordinators</h1>" in page
    assert '<h2 id="consent">Consent</h2>' in page and '<h2 id="self-check">The NVPO self-check</h2>' in page
    assert 'href="/hulp/coordinator/consent"' in page  # "(see [Consent](#consent))"
    patient = body(client.get("/hulp/patient/", headers={"Accept-Language": "nl"}))
    assert "<h1>Handleiding voor patiënten en naasten</h1>" in patient


def test_the_language_follows_the_users_choice(client):
    client.post("/locale", data={"locale": "en", "next": "/"}, headers={"Accept-Language": "nl"})
    page = body(client.get("/hulp/member/notes", headers={"Accept-Language": "nl"}))
    assert '<h1 id="notes">Notes</h1>' in page and "Notities</h1>" not in page


@pytest.mark.parametrize("path", [
    "/hulp/nurse/", "/hulp/nurse/consent", "/hulp/Coordinator/", "/hulp/coordinator/no-such-section",
    "/hulp/coordinator/", "/hulp/coordinator/start",
])
def test_only_known_roles_and_sections_answer(client, path):
    expected = 200 if path in ("/hulp/coordinator/", "/hulp/coordinator/start") else 404
    assert client.get(path).status_code == expected


def test_an_image_is_served_and_nothing_else(client):
    with client.get("/hulp/img/coordinator-home.png") as image:
        assert image.status_code == 200 and image.mimetype == "image/png"
        assert image.get_data()[:8] == b"\x89PNG\r\n\x1a\n"
    for path in ("/hulp/img/no-such-page.png", "/hulp/img/manifest.json", "/hulp/img/..%2Fnl%2Fgp.md",
                 "/hulp/img/..%2F..%2F..%2Fapp%2F__init__.py", "/hulp/img/%2Fetc%2Fpasswd",
                 "/hulp/img/.coordinator-home.png", "/hulp/img/Coordinator-Home.PNG", "/hulp/img/..",
                 "/hulp/img/coordinator-home.png%00.md"):
        assert client.get(path).status_code == 404, path
    # A traversal in the path itself never reaches the image route (werkzeug normalises or refuses it).
    assert client.get("/hulp/img/../../app/__init__.py").status_code == 404
    assert client.get("/hulp/../README.md").status_code == 404


@pytest.fixture
def demo_world(app):
    demo.load_demo()
    users = {login: db.session.scalar(select(User).where(User.email == f"{login}@{demo.DOMAIN}"))
             for login in ("marieke.devries", "sanne.bakker", "hans.willems", demo.PATIENT_LOGIN[0], demo.ADMIN[0])}
    account = db.session.scalar(all_networks(select(PortalAccount.id).where(
        PortalAccount.user_id == users[demo.PATIENT_LOGIN[0]].id)))
    return users, account


def test_the_header_link_opens_the_roles_section_for_the_page(app, demo_world):
    users, account = demo_world
    zk = "/n/zuid-kennemerland"
    expected = [
        ("marieke.devries", f"{zk}/referrals/", "/hulp/coordinator/referral-inbox"),
        ("marieke.devries", f"{zk}/quality/", "/hulp/coordinator/self-check"),
        ("marieke.devries", f"{zk}/cases/", "/hulp/coordinator/intake"),
        ("marieke.devries", f"{zk}/members", "/hulp/coordinator/members"),
        ("marieke.devries", "/account", "/hulp/coordinator/"),  # no section for this page: the guide's top
        ("sanne.bakker", f"{zk}/cases/", "/hulp/member/my-cases"),
        ("sanne.bakker", f"{zk}/members", "/hulp/member/directory"),
        ("sanne.bakker", "/", "/hulp/member/start"),
        ("hans.willems", "/verwijzer/verwijzingen/", "/hulp/gp/following"),
        ("hans.willems", "/netwerken", "/hulp/gp/referring"),
        (demo.PATIENT_LOGIN[0], f"/mijn/{account}", "/hulp/patient/record"),
        (demo.PATIENT_LOGIN[0], f"/mijn/{account}/toestemming", "/hulp/patient/consent"),
        (demo.ADMIN[0], "/admin/", "/hulp/admin/networks"),
        (demo.ADMIN[0], "/admin/networks/new", "/hulp/admin/adding-network"),
    ]
    for login, page, link in expected:
        client = login_as(app.test_client(), users[login])
        response = client.get(page)
        assert response.status_code == 200, (login, page, response.status_code)
        assert help_href(body(response)) == link, (login, page)
        guide = client.get(link)
        assert guide.status_code == 200, link
        assert help_href(body(guide)) is None  # the help page has no help link of its own


def test_the_header_link_is_in_the_users_language_and_not_for_visitors(app, client):
    assert help_href(body(client.get("/netwerken"))) is None  # not signed in: no role, no link
    network = make_network("noord")
    coordinator = login_as(app.test_client(), make_member(network, "coordinator@example.nl", role=Role.COORDINATOR).user)
    html = body(coordinator.get("/n/noord/referrals/", headers={"Accept-Language": "nl"}))
    assert '<a class="help-link" href="/hulp/coordinator/referral-inbox">Hulp</a>' in html
    assert "Er kwam een verwijzing binnen" in body(coordinator.get("/hulp/coordinator/referral-inbox"))
    coordinator.post("/locale", data={"locale": "en", "next": "/"})
    html = body(coordinator.get("/n/noord/referrals/"))
    assert '<a class="help-link" href="/hulp/coordinator/referral-inbox">Help</a>' in html
    assert "A referral came in" in body(coordinator.get("/hulp/coordinator/referral-inbox"))
