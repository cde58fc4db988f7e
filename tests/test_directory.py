"""The public directory (/netwerken): only approved public networks, search by a patient's postcode
and by discipline, the public page of a network (badges, no member emails, phones only when
published), a bounded number of queries; and applying to start a network, approved by the
platform admin.

Pages are requested in English (Accept-Language, or users with locale "en").
"""
from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import func, select

from app.auth.models import User
from app.core.audit import AuditAction, AuditEvent
from app.core.db import utcnow
from app.core.tenancy import network_context
from app.directory.services import parse_patient_postcode
from app.extensions import db
from app.networks.models import Membership, Network, NetworkStatus, Role, ServiceAreaRange
from tests.conftest import counted_statements, login_as, make_member, make_network, make_user

EN = {"Accept-Language": "en"}


# --- helpers ------------------------------------------------------------------------------------

def public_network(slug: str, *, area: tuple[tuple[int, int], ...] = (), **fields) -> Network:
    """An approved, public network with a service area."""
    network = make_network(slug, is_public=fields.pop("is_public", True),
                           approved_at=fields.pop("approved_at", utcnow()), **fields)
    with network_context(network.id):
        db.session.add_all(ServiceAreaRange(network_id=network.id, first=first, last=last) for first, last in area)
        db.session.commit()
    return network


def person(network: Network, email: str, *, disciplines: tuple[str, ...] = (), name: str | None = None,
           role: Role = Role.MEMBER, **profile) -> Membership:
    """A member (fast user: no password) with profile columns set."""
    membership = make_member(network, email, role=role, disciplines=disciplines, name=name, password=None,
                             mfa=False, locale="en")
    if profile:
        with network_context(network.id):
            row = db.session.scalar(select(Membership).where(Membership.id == membership.id))
            for key, value in profile.items():
                setattr(row, key, value)
            db.session.commit()
    return membership


def listed_slugs(html: str) -> list[str]:
    return re.findall(r'<h2><a href="/netwerken/([a-z0-9-]+)', html)


def cards_by_slug(html: str) -> dict[str, str]:
    """The result cards of the directory list, by network slug."""
    cards = html.split('<li class="card">')[1:]
    return {re.search(r'href="/netwerken/([a-z0-9-]+)', card).group(1): card for card in cards}


def text(response) -> str:
    return response.get_data(as_text=True)




@pytest.fixture
def directory():
    """Twente (qualified, 7500-7547) and Kennemerland (being set up, 2011-2036 and 2100-2106) are public;
    a hidden network and an unapproved one cover 7511 too and must never show."""
    twente = public_network("twente", name="Oncologiezorgnetwerk Twente", region="Twente",
                            area=((7500, 7547),), status=NetworkStatus.QUALIFIED,
                            qualified_on=date(2024, 5, 1), qualified_criteria_version="2024-02-06")
    kennemerland = public_network("kennemerland", name="Netwerk Kennemerland", region="Zuid-Kennemerland",
                                  area=((2011, 2036), (2100, 2106)), status=NetworkStatus.SETTING_UP)
    hidden = public_network("verborgen", name="Verborgen Netwerk", area=((7500, 7600),), is_public=False)
    unapproved = public_network("nieuw", name="Nieuw Netwerk", area=((7500, 7600),), approved_at=None)
    person(twente, "dietist@twente.example", disciplines=("dietist",))
    person(twente, "fysio@twente.example", disciplines=("fysiotherapeut",))
    person(kennemerland, "psy@kennemerland.example", disciplines=("psycholoog",))
    gone = person(kennemerland, "oud@kennemerland.example", disciplines=("dietist",))
    with network_context(kennemerland.id):
        db.session.scalar(select(Membership).where(Membership.id == gone.id)).deactivate()
        db.session.commit()
    for other in (hidden, unapproved):
        person(other, f"dietist@{other.slug}.example", disciplines=("dietist",))
    return {"twente": twente, "kennemerland": kennemerland, "hidden": hidden, "unapproved": unapproved}


# --- the list and its search ----------------------------------------------------------------------

def test_list_shows_only_approved_public_networks_with_status_region_and_disciplines(client, directory):
    response = client.get("/netwerken", headers=EN)
    assert response.status_code == 200
    html = text(response)
    assert listed_slugs(html) == ["kennemerland", "twente"]  # alphabetical by name
    assert "Verborgen" not in html and "Nieuw Netwerk" not in html
    cards = cards_by_slug(html)
    assert "Qualified" in cards["twente"] and "criteria version 2024-02-06" in cards["twente"]
    assert "Dietician" in cards["twente"] and "Physiotherapist" in cards["twente"] and "Twente" in cards["twente"]
    assert "Being set up" in cards["kennemerland"] and "Zuid-Kennemerland" in cards["kennemerland"]
    assert "Qualified" not in cards["kennemerland"] and "Psychologist" in cards["kennemerland"]
    assert "Dietician" not in cards["kennemerland"]  # the only dietician there is deactivated


@pytest.mark.parametrize("query", ["7511", "7511JK", "7511 jk", " 7511 JK "])
def test_postcode_search_finds_the_network_that_serves_it(client, directory, query):
    html = text(client.get("/netwerken", query_string={"postcode": query}, headers=EN))
    assert listed_slugs(html) == ["twente"]  # the hidden and unapproved networks serve 7511 too


def test_postcode_search_uses_every_range_and_its_bounds(client, directory):
    for postcode, expected in (("2036", ["kennemerland"]), ("2100 AB", ["kennemerland"]),
                               ("2106", ["kennemerland"]), ("2037", []), ("7547", ["twente"]), ("7548", [])):
        html = text(client.get("/netwerken", query_string={"postcode": postcode}, headers=EN))
        assert listed_slugs(html) == expected, postcode
        if not expected:
            assert "No network matches this search yet." in html


@pytest.mark.parametrize("query", ["75111", "abcd", "0511 AB", "7511 J", "7511-JK"])
def test_bad_postcode_gives_a_clear_message_and_no_list(client, directory, query):
    response = client.get("/netwerken", query_string={"postcode": query}, headers=EN)
    assert response.status_code == 200
    html = text(response)
    assert "Enter a Dutch postcode" in html and 'aria-invalid="true"' in html
    assert listed_slugs(html) == []


def test_parse_patient_postcode():
    assert [parse_patient_postcode(v) for v in ("7511", "7511JK", "7511 jk", "1000aa")] == [7511, 7511, 7511, 1000]
    assert [parse_patient_postcode(v) for v in ("", "751", "75111", "0999", "7511 JKL")] == [None] * 5


def test_discipline_search_lists_networks_with_an_active_member_of_it(client, directory):
    html = text(client.get("/netwerken", query_string={"discipline": "dietist"}, headers=EN))
    assert listed_slugs(html) == ["twente"]  # Kennemerland's dietician is deactivated
    html = text(client.get("/netwerken", query_string={"discipline": "psycholoog"}, headers=EN))
    assert listed_slugs(html) == ["kennemerland"]
    html = text(client.get("/netwerken", query_string={"discipline": "psycholoog", "postcode": "7511"}, headers=EN))
    assert listed_slugs(html) == []
    assert listed_slugs(text(client.get("/netwerken?discipline=no-such-code", headers=EN))) == [
        "kennemerland", "twente"]


# --- one network's public page --------------------------------------------------------------------

def test_public_page_shows_contact_website_area_and_members_per_discipline(client, directory):
    twente = directory["twente"]
    with network_context(twente.id):
        row = db.session.get(Network, twente.id)
        row.contact_name, row.contact_phone, row.contact_email = "Loket Twente", "053 123 45 67", "loket@twente.example"
        row.website_url, row.website_updated_on, row.service_area = "https://twente.example", date(2025, 1, 2), "7500-7547"
        db.session.commit()
    listed = person(twente, "listed.email@twente.example", name="Anna Listed", disciplines=("dietist",),
                    practice_name="Voedingspraktijk Oost", city="Enschede", is_listed_in_verwijsgids=True,
                    verwijsgids_url="https://www.verwijsgidskanker.nl/anna", phone="0612345678",
                    phone_is_public=True)
    person(twente, "secret.email@twente.example", name="Bert Unlisted", disciplines=("dietist",),
           practice_name="Dieetpraktijk Hengelo", city="Hengelo", phone="0687654321", phone_is_public=False)

    response = client.get("/netwerken/twente", headers=EN)
    assert response.status_code == 200
    html = text(response)
    for expected in ("Loket Twente", "053 123 45 67", "loket@twente.example", "https://twente.example",
                     "7500-7547", "Voedingspraktijk Oost", "Enschede", "Dieetpraktijk Hengelo", "Hengelo",
                     "Qualified", "2024-02-06", "Physiotherapist"):
        assert expected in html, expected
    dietician = html.split('id="d-dietist"')[1].split("</section>")[0]
    anna = dietician.split("Anna Listed")[1].split("</li>")[0]
    bert = dietician.split("Bert Unlisted")[1].split("</li>")[0]
    assert "Listed in Verwijsgids Kanker" in anna and "https://www.verwijsgidskanker.nl/anna" in anna
    assert "Listed in Verwijsgids Kanker" not in bert
    assert "0612345678" in anna  # published by the member
    assert "0687654321" not in html  # not published
    for email in ("listed.email@twente.example", "secret.email@twente.example", "dietist@twente.example"):
        assert email not in html
    assert "@" not in html.replace("loket@twente.example", "")  # no email address but the contact point's
    assert listed.user.email not in html


@pytest.mark.parametrize("slug", ["verborgen", "nieuw", "does-not-exist"])
def test_public_page_is_404_unless_approved_and_public(client, directory, slug):
    response = client.get(f"/netwerken/{slug}", headers=EN)
    assert response.status_code == 404
    assert "Verborgen" not in text(response) and "Nieuw Netwerk" not in text(response)


def test_public_pages_need_no_sign_in_and_signed_in_users_see_them_too(client, directory):
    assert client.get("/netwerken").status_code == 200
    assert client.get("/netwerken/twente").status_code == 200
    login_as(client, make_user("someone@example.nl", locale="en"))
    assert client.get("/netwerken/twente").status_code == 200
    assert 'href="/netwerken"' in text(client.get("/"))  # the nav links the directory


def _statements_for(client, path: str) -> int:
    client.get(path)  # warm-up: first-request work is not counted
    with counted_statements() as statements:
        assert client.get(path, headers=EN).status_code == 200
    return len(statements)


def test_public_page_query_count_does_not_grow_with_members(client):
    codes = ("dietist", "fysiotherapeut", "psycholoog", "ergotherapeut")
    small, large = public_network("klein"), public_network("groot")
    for network, count in ((small, 5), (large, 60)):
        for i in range(count):
            person(network, f"m{i}@{network.slug}.example", disciplines=(codes[i % 4], codes[(i + 1) % 4]),
                   is_listed_in_verwijsgids=i % 2 == 0)
    small_count, large_count = _statements_for(client, "/netwerken/klein"), _statements_for(client, "/netwerken/groot")
    assert small_count == large_count, (small_count, large_count)
    assert large_count <= 5
    assert text(client.get("/netwerken/groot", headers=EN)).count("Listed in Verwijsgids Kanker") == 2 * 30


def test_directory_list_query_count_does_not_grow_with_members_or_networks(client):
    for n in range(3):
        person(public_network(f"netwerk-{n}", area=((7500, 7600),)), f"m@{n}.example", disciplines=("dietist",))
    few = _statements_for(client, "/netwerken?postcode=7511&discipline=dietist")
    for n in range(3, 12):
        network = public_network(f"netwerk-{n}", area=((7500, 7600),))
        for i in range(4):
            person(network, f"m{i}@{n}.example", disciplines=("dietist", "psycholoog"))
    many = _statements_for(client, "/netwerken?postcode=7511&discipline=dietist")
    assert few == many, (few, many)
    assert len(listed_slugs(text(client.get("/netwerken?postcode=7511&discipline=dietist")))) == 12


# --- applying to start a network, and approval ------------------------------------------------------

def _apply(client, **data):
    return client.post("/netwerken/aanmelden", data={"name": "Netwerk Oost", "slug": "oost", "region": "Oost",
                                                     **data})


def test_applying_needs_a_sign_in(client):
    response = client.get("/netwerken/aanmelden")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert client.post("/netwerken/aanmelden", data={"name": "X", "slug": "xxx"}).status_code == 302
    assert db.session.scalar(select(Network.id)) is None


def test_application_creates_an_unapproved_private_network_with_the_applicant_as_coordinator(client):
    applicant = make_user("applicant@example.nl", locale="en")
    login_as(client, applicant)
    response = _apply(client)
    assert response.status_code == 302 and response.headers["Location"].endswith("/n/oost/")
    db.session.expire_all()
    network = db.session.scalar(select(Network).where(Network.slug == "oost"))
    assert (network.name, network.region, network.status) == ("Netwerk Oost", "Oost", NetworkStatus.SETTING_UP)
    assert network.approved_at is None and network.is_public is False
    with network_context(network.id):
        memberships = db.session.scalars(select(Membership)).all()
    assert [(m.user_id, m.role, m.is_active) for m in memberships] == [(applicant.id, Role.COORDINATOR, True)]
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.event == "network.applied")).all()
    assert [(e.action, e.object_type, e.object_id, e.network_id, e.user_id) for e in events] == [
        (AuditAction.CREATE, "network", network.id, network.id, applicant.id)]
    home = client.get("/n/oost/", headers=EN)
    assert home.status_code == 200 and "Awaiting approval" in text(home)
    # Published by the coordinator, it is still not public before approval.
    network.is_public = True
    db.session.commit()
    assert client.get("/netwerken/oost").status_code == 404
    assert "oost" not in listed_slugs(text(client.get("/netwerken")))


@pytest.mark.parametrize("slug, message", [
    ("aanmelden", "This web address name is taken"),
    ("taken", "This web address name is taken"),
    ("Bad Slug!", "Use lower-case letters, digits and single hyphens only."),
    ("ab", "between 3 and 60"),
])
def test_application_refuses_bad_or_taken_slugs_and_keeps_the_input(client, slug, message):
    make_network("taken")
    login_as(client, make_user("applicant@example.nl", locale="en"))
    response = _apply(client, slug=slug, name="Mijn Netwerk")
    assert response.status_code == 200
    html = text(response)
    assert message in html and 'value="Mijn Netwerk"' in html
    assert db.session.scalar(select(Network.id).where(Network.name == "Mijn Netwerk")) is None


def test_one_pending_application_per_user(client):
    login_as(client, make_user("applicant@example.nl", locale="en"))
    assert _apply(client).status_code == 302
    response = _apply(client, slug="oost-twee")
    assert response.status_code == 200 and "already have an application waiting" in text(response)
    db.session.expire_all()
    network = db.session.scalar(select(Network).where(Network.slug == "oost"))
    network.approved_at = utcnow()
    db.session.commit()
    assert _apply(client, slug="oost-twee").status_code == 302  # once approved, another application is fine


def test_platform_admin_approves_an_application(client, new_client):
    applicant = make_user("applicant@example.nl", locale="en")
    login_as(client, applicant)
    _apply(client)
    network = db.session.scalar(select(Network).where(Network.slug == "oost"))
    admin = login_as(new_client(), make_user("root@example.nl", is_platform_admin=True, locale="en"))

    listing = text(admin.get("/admin/"))
    assert "Applications waiting for approval" in listing and f"/admin/networks/{network.id}/approve" in listing
    confirm = admin.get(f"/admin/networks/{network.id}/approve")
    assert confirm.status_code == 200 and "applicant@example.nl" in text(confirm)
    db.session.expire_all()
    assert db.session.get(Network, network.id).approved_at is None  # the GET only asks

    response = admin.post(f"/admin/networks/{network.id}/approve", data={})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Network, network.id).approved_at is not None
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.event == "network.approved")).all()
    assert [(e.action, e.object_type, e.object_id, e.network_id) for e in events] == [
        (AuditAction.UPDATE, "network", network.id, network.id)]
    assert "Applications waiting for approval" not in text(admin.get("/admin/"))
    # A second POST changes nothing and writes no second row.
    admin.post(f"/admin/networks/{network.id}/approve", data={})
    assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.event == "network.approved")) == 1

    # Approved and published by the coordinator: now it is in the directory.
    client.post("/n/oost/settings", data={"name": "Netwerk Oost", "is_public": "y"})
    assert client.get("/netwerken/oost").status_code == 200


def test_only_platform_admins_approve(client):
    network = make_network("oost")
    coordinator = make_member(network, "coordinator@example.nl", role=Role.COORDINATOR)
    login_as(client, coordinator.user)
    assert client.get(f"/admin/networks/{network.id}/approve").status_code == 404
    assert client.post(f"/admin/networks/{network.id}/approve", data={}).status_code == 404
    db.session.expire_all()
    assert db.session.get(Network, network.id).approved_at is None


def test_networks_created_by_the_platform_admin_are_approved_at_once(client):
    login_as(client, make_user("root@example.nl", is_platform_admin=True, locale="en"))
    response = client.post("/admin/networks/new", data={
        "name": "Netwerk West", "slug": "west", "region": "", "coordinator_name": "Co Ordinator",
        "coordinator_email": "co@example.nl"})
    assert response.status_code == 302
    network = db.session.scalar(select(Network).where(Network.slug == "west"))
    assert network.approved_at is not None
    assert db.session.scalar(select(User.id).where(User.email == "co@example.nl"))
