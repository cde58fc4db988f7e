"""The network profile kept by the coordinator (/n/<slug>/settings) and the hospital and GP contacts
(/n/<slug>/contacts): validation that keeps the input, service area ranges, audit rows, roles and
isolation between networks.

Users are made with locale "en", so the assertions read the English messages.
"""
from __future__ import annotations

import html as html_module
import re
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from app.core.audit import AuditAction, AuditEvent
from app.core.tenancy import network_context
from app.extensions import db
from app.networks.models import ContactKind, Network, NetworkContact, Role, ServiceAreaRange
from app.networks.services.profile import ServiceAreaError, format_service_area, parse_service_area
from tests.conftest import login_as, make_member, make_network

VALID = {
    "name": "Netwerk Noord", "region": "Noord-Holland", "service_area": "2011-2036, 2100, 2101-2106",
    "contact_name": "Loket Noord", "contact_phone": "023 123 45 67", "contact_email": "Loket@Noord.example",
    "website_url": "https://noord.example", "website_updated_on": "2025-01-15", "legal_form": "Stichting",
    "kvk_number": "1234 5678", "is_not_for_profit": "y", "vision_text": "Zorg dichtbij.",
    "participation_text": "Twee overleggen per jaar.", "participation_min_meetings": "2", "is_public": "y",
    "local_attested": "y",
}


# --- helpers ------------------------------------------------------------------------------------

def member(network: Network, email: str, *, role: Role = Role.MEMBER):
    return make_member(network, email, role=role, password=None, mfa=False, locale="en")


@pytest.fixture
def noord():
    network = make_network("noord")
    coordinator = member(network, "coordinator@noord.example", role=Role.COORDINATOR)
    plain = member(network, "member@noord.example")
    return {"network": network, "coordinator": coordinator, "member": plain}


def field_error(html: str, field: str) -> str:
    match = re.search(rf'<p class="error" id="{field}-err">(.*?)</p>', html, re.S)
    return html_module.unescape(match.group(1)) if match else ""


def input_value(html: str, field: str) -> str | None:
    match = re.search(rf'<(?:input|textarea)[^>]*\bname="{field}"[^>]*>', html)
    if not match:
        return None
    if match.group(0).startswith("<textarea"):
        return html[match.end():].split("</textarea>")[0].strip()
    value = re.search(r'\bvalue="([^"]*)"', match.group(0))
    return value.group(1) if value else ""


def fresh_network(network_id: int) -> Network:
    db.session.expire_all()
    return db.session.get(Network, network_id)


def ranges_of(network: Network) -> list[tuple[int, int]]:
    with network_context(network.id):
        return [(r.first, r.last) for r in db.session.scalars(
            select(ServiceAreaRange).order_by(ServiceAreaRange.first))]


def audit_rows(event: str) -> list[AuditEvent]:
    return db.session.scalars(select(AuditEvent).where(AuditEvent.event == event).order_by(AuditEvent.id)).all()


def contacts_of(network: Network) -> list[NetworkContact]:
    db.session.expire_all()
    with network_context(network.id):
        return db.session.scalars(select(NetworkContact).order_by(NetworkContact.id)).all()


def make_contact(network: Network, organisation: str, kind: ContactKind = ContactKind.HOSPITAL, **fields):
    with network_context(network.id):
        contact = NetworkContact(network_id=network.id, kind=kind, organisation=organisation, **fields)
        db.session.add(contact)
        db.session.commit()
    return contact


# --- the service area parser ----------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("2011-2036, 2100, 2101-2106", [(2011, 2036), (2100, 2106)]),
    ("7511", [(7511, 7511)]),
    ("  2011 - 2036 ;\n9999\n", [(2011, 2036), (9999, 9999)]),
    ("3000-3100, 3050-3200, 1000", [(1000, 1000), (3000, 3200)]),
    ("", []),
    (" , ", []),
])
def test_service_area_parses_postcodes_and_ranges(app, text, expected):
    assert parse_service_area(text) == expected


@pytest.mark.parametrize("text, message", [
    ("2036-2011", "from the lower to the higher postcode, for example 2011-2036"),
    ("12345", '"12345" is not a 4-digit postcode'),
    ("2011-2036, 123", '"123" is not a 4-digit postcode'),
    ("2011 AB", "is not a 4-digit postcode"),
    ("0999", "Dutch postcodes run from 1000 to 9999"),
    ("2011-", "is not a 4-digit postcode"),
    ("2011-2036-2040", "is not a 4-digit postcode"),
])
def test_service_area_refuses_bad_parts_with_a_clear_message(app, text, message):
    with app.test_request_context(headers={"Accept-Language": "en"}):
        with pytest.raises(ServiceAreaError, match=re.escape(message)):
            parse_service_area(text)


def test_service_area_text_is_canonical():
    assert format_service_area([(2011, 2036), (2100, 2100)]) == "2011-2036, 2100"


# --- the settings page ----------------------------------------------------------------------------

def test_coordinator_saves_the_profile_with_ranges_and_one_audit_row(client, noord):
    network = noord["network"]
    login_as(client, noord["coordinator"].user)
    form = client.get("/n/noord/settings")
    assert form.status_code == 200 and input_value(form.get_data(as_text=True), "name") == network.name

    response = client.post("/n/noord/settings", data=VALID)
    assert response.status_code == 302 and response.headers["Location"].endswith("/n/noord/settings")
    saved = fresh_network(network.id)
    assert (saved.name, saved.region, saved.contact_name, saved.contact_phone, saved.contact_email) == (
        "Netwerk Noord", "Noord-Holland", "Loket Noord", "023 123 45 67", "loket@noord.example")
    assert (saved.website_url, saved.website_updated_on, saved.legal_form, saved.kvk_number) == (
        "https://noord.example", date(2025, 1, 15), "Stichting", "12345678")
    assert saved.is_not_for_profit and saved.is_public and saved.local_attested
    assert (saved.vision_text, saved.participation_text, saved.participation_min_meetings) == (
        "Zorg dichtbij.", "Twee overleggen per jaar.", 2)
    assert saved.service_area == "2011-2036, 2100-2106"
    assert ranges_of(network) == [(2011, 2036), (2100, 2106)]
    [row] = audit_rows("network.profile_updated")
    assert (row.action, row.object_type, row.object_id, row.network_id, row.user_id) == (
        AuditAction.UPDATE, "network", network.id, network.id, noord["coordinator"].user_id)
    assert "service_area" in row.reason and "kvk_number" in row.reason and "is_public" in row.reason

    # The same form again: nothing changed, no audit row. A change: one more row naming it.
    client.post("/n/noord/settings", data=VALID)
    assert len(audit_rows("network.profile_updated")) == 1
    client.post("/n/noord/settings", data={**VALID, "is_public": ""})
    rows = audit_rows("network.profile_updated")
    assert len(rows) == 2 and rows[-1].reason == "changed: is_public"
    assert fresh_network(network.id).is_public is False


def test_a_new_service_area_replaces_the_old_ranges(client, noord):
    login_as(client, noord["coordinator"].user)
    client.post("/n/noord/settings", data=VALID)
    client.post("/n/noord/settings", data={**VALID, "service_area": "7511"})
    assert ranges_of(noord["network"]) == [(7511, 7511)]
    client.post("/n/noord/settings", data={**VALID, "service_area": ""})
    assert ranges_of(noord["network"]) == []
    assert fresh_network(noord["network"].id).service_area == ""


def test_service_area_ranges_of_another_network_are_left_alone(client, noord):
    other = make_network("zuid")
    with network_context(other.id):
        db.session.add(ServiceAreaRange(network_id=other.id, first=5000, last=5100))
        db.session.commit()
    login_as(client, noord["coordinator"].user)
    client.post("/n/noord/settings", data=VALID)
    client.post("/n/noord/settings", data={**VALID, "service_area": "7511"})
    assert ranges_of(other) == [(5000, 5100)]


@pytest.mark.parametrize("field, value, message", [
    ("service_area", "2036-2011", "from the lower to the higher postcode"),
    ("service_area", "12345", '"12345" is not a 4-digit postcode'),
    ("kvk_number", "1234567", "exactly 8 digits"),
    ("kvk_number", "1234567A", "exactly 8 digits"),
    ("website_updated_on", (date.today() + timedelta(days=1)).isoformat(), "cannot be in the future"),
    ("website_updated_on", "2025-02-30", "Not a valid date value"),
    ("website_url", "javascript://noord.example/%0aalert(1)", "starting with https://"),
    ("website_url", "noord.example", "starting with https://"),
    ("participation_min_meetings", "53", "between 0 and 52"),
    ("participation_min_meetings", "-1", "between 0 and 52"),
    ("participation_min_meetings", "twee", "Not a valid integer value"),
    ("contact_email", "not-an-email", "Invalid email address"),
    ("contact_phone", "call me", "Enter a phone number"),
    ("name", "", "This field is required"),
])
def test_invalid_profile_is_refused_and_the_rest_of_the_form_is_kept(client, noord, field, value, message):
    network = noord["network"]
    login_as(client, noord["coordinator"].user)
    data = {**VALID, field: value}
    response = client.post("/n/noord/settings", data=data)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert message in field_error(html, field)
    for other in ("region", "contact_name", "legal_form", "vision_text"):
        if other != field:
            assert input_value(html, other) == VALID[other], other
    saved = fresh_network(network.id)
    assert saved.region == "Regio" and saved.kvk_number == "" and saved.service_area == ""
    assert ranges_of(network) == [] and audit_rows("network.profile_updated") == []


def test_members_cannot_open_or_change_the_profile(client, noord):
    login_as(client, noord["member"].user)
    assert client.get("/n/noord/settings").status_code == 404
    assert client.post("/n/noord/settings", data=VALID).status_code == 404
    assert fresh_network(noord["network"].id).kvk_number == ""
    assert audit_rows("network.profile_updated") == []


def test_home_links_the_profile_and_contacts_for_coordinators(client, noord):
    login_as(client, noord["coordinator"].user)
    html = client.get("/n/noord/").get_data(as_text=True)
    assert 'href="/n/noord/settings"' in html and 'href="/n/noord/contacts"' in html
    login_as(client, noord["member"].user)
    html = client.get("/n/noord/").get_data(as_text=True)
    assert 'href="/n/noord/settings"' not in html and 'href="/n/noord/contacts"' in html


# --- partner contacts -------------------------------------------------------------------------------

CONTACT = {"kind": "hospital", "organisation": "Spaarne Gasthuis", "contact_person": "Dr. De Boer",
           "email": "Oncologie@Spaarne.example", "phone": "023 890 89 00",
           "agreement": "Twice a year a meeting with the oncology nurses."}


def test_coordinator_adds_edits_and_deletes_a_contact_with_audit_rows(client, noord):
    network = noord["network"]
    login_as(client, noord["coordinator"].user)
    assert client.get("/n/noord/contacts/new").status_code == 200
    response = client.post("/n/noord/contacts/new", data=CONTACT)
    assert response.status_code == 302 and response.headers["Location"].endswith("/n/noord/contacts")
    [contact] = contacts_of(network)
    assert (contact.kind, contact.organisation, contact.contact_person, contact.email, contact.phone) == (
        ContactKind.HOSPITAL, "Spaarne Gasthuis", "Dr. De Boer", "oncologie@spaarne.example", "023 890 89 00")
    listing = client.get("/n/noord/contacts").get_data(as_text=True)
    assert "Spaarne Gasthuis" in listing and f"/n/noord/contacts/{contact.id}/edit" in listing

    edit = client.get(f"/n/noord/contacts/{contact.id}/edit").get_data(as_text=True)
    assert input_value(edit, "organisation") == "Spaarne Gasthuis"
    assert re.search(r'<option selected value="hospital">|<option value="hospital" selected', edit)
    response = client.post(f"/n/noord/contacts/{contact.id}/edit",
                           data={**CONTACT, "kind": "gp_practice", "organisation": "HAP Haarlem"})
    assert response.status_code == 302
    [contact] = contacts_of(network)
    assert (contact.kind, contact.organisation) == (ContactKind.GP_PRACTICE, "HAP Haarlem")

    contact_id = contact.id
    confirm = client.get(f"/n/noord/contacts/{contact_id}/delete")
    assert confirm.status_code == 200 and "Delete HAP Haarlem?" in confirm.get_data(as_text=True)
    assert len(contacts_of(network)) == 1  # the GET only asks
    assert client.post(f"/n/noord/contacts/{contact_id}/delete", data={}).status_code == 302
    assert contacts_of(network) == []

    rows = db.session.scalars(select(AuditEvent).where(AuditEvent.object_type == "network_contact")
                              .order_by(AuditEvent.id)).all()
    assert [(r.event, r.action, r.object_id, r.network_id) for r in rows] == [
        ("network_contact.created", AuditAction.CREATE, contact_id, network.id),
        ("network_contact.updated", AuditAction.UPDATE, contact_id, network.id),
        ("network_contact.deleted", AuditAction.DELETE, contact_id, network.id)]
    assert "organisation" in rows[1].reason and "kind" in rows[1].reason


@pytest.mark.parametrize("field, value, message", [
    ("organisation", "", "This field is required"),
    ("kind", "pharmacy", "Not a valid choice"),
    ("email", "nope", "Invalid email address"),
    ("phone", "abc", "Enter a phone number"),
])
def test_invalid_contact_is_refused_and_the_input_kept(client, noord, field, value, message):
    login_as(client, noord["coordinator"].user)
    response = client.post("/n/noord/contacts/new", data={**CONTACT, field: value})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert message in field_error(html, field)
    assert input_value(html, "contact_person") == "Dr. De Boer"
    assert contacts_of(noord["network"]) == []


def test_members_see_the_contacts_read_only(client, noord):
    contact = make_contact(noord["network"], "Ziekenhuis Amstelland", contact_person="Mw. Jansen")
    login_as(client, noord["member"].user)
    listing = client.get("/n/noord/contacts")
    html = listing.get_data(as_text=True)
    assert listing.status_code == 200 and "Ziekenhuis Amstelland" in html and "Mw. Jansen" in html
    assert "/contacts/new" not in html and f"/contacts/{contact.id}/edit" not in html
    assert client.get("/n/noord/contacts/new").status_code == 404
    assert client.post("/n/noord/contacts/new", data=CONTACT).status_code == 404
    for action in ("edit", "delete"):
        assert client.get(f"/n/noord/contacts/{contact.id}/{action}").status_code == 404
        assert client.post(f"/n/noord/contacts/{contact.id}/{action}", data=CONTACT).status_code == 404
    assert [c.organisation for c in contacts_of(noord["network"])] == ["Ziekenhuis Amstelland"]


def test_contacts_of_another_network_are_404_and_unchanged(client, noord):
    other = make_network("zuid")
    foreign = make_contact(other, "Foreign Hospital CANARY")
    make_contact(noord["network"], "Own Hospital")
    login_as(client, noord["coordinator"].user)
    listing = client.get("/n/noord/contacts").get_data(as_text=True)
    assert "Own Hospital" in listing and "CANARY" not in listing
    for action in ("edit", "delete"):
        for method in ("GET", "POST"):
            response = client.open(f"/n/noord/contacts/{foreign.id}/{action}", method=method,
                                   data=CONTACT if method == "POST" else None)
            assert response.status_code == 404, (action, method)
            assert "CANARY" not in response.get_data(as_text=True)
    assert [c.organisation for c in contacts_of(other)] == ["Foreign Hospital CANARY"]
    assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.object_type == "network_contact")) == 0
