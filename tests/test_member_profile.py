"""Member profiles (self-edit and coordinator edit, validation, role changes, audit), training records,
and the member directory's filters, sorting, pagination and bounded queries.

Users are made with locale "en", so the assertions read the English messages.
"""
from __future__ import annotations

import re
import time
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from app.auth.models import User
from app.core.audit import AuditEvent
from app.core.tenancy import network_context
from app.extensions import db
from app.networks.models import Discipline, Membership, MembershipDiscipline, Network, Role, TrainingRecord
from tests.conftest import counted_statements, login_as, make_member, make_network, make_training

# --- helpers ------------------------------------------------------------------------------------


def member(network: Network, email: str, *, role: Role = Role.MEMBER, disciplines: tuple[str, ...] = (),
           name: str | None = None, **profile) -> Membership:
    """A membership with a fast user (no password hash) and, optionally, profile columns set."""
    made = make_member(network, email, role=role, disciplines=disciplines, name=name, locale="en",
                       password=None, mfa=False)
    if profile:
        with network_context(network.id):
            row = db.session.get(Membership, made.id)
            for key, value in profile.items():
                setattr(row, key, value)
            db.session.commit()
    return made


def discipline_id(code: str) -> int:
    return db.session.scalar(select(Discipline.id).where(Discipline.code == code))


def fresh(network: Network, membership_id: int) -> Membership:
    db.session.expire_all()
    with network_context(network.id):
        found = db.session.scalar(select(Membership).where(Membership.id == membership_id))
        found.disciplines
        return found


def codes_of(network: Network, membership_id: int) -> set[str]:
    with network_context(network.id):
        return set(db.session.scalars(select(Discipline.code).join(
            MembershipDiscipline, MembershipDiscipline.discipline_id == Discipline.id).where(
            MembershipDiscipline.membership_id == membership_id)))


def field_error(html: str, field: str) -> str:
    match = re.search(rf'<p class="error" id="{field}-err">(.*?)</p>', html, re.S)
    return match.group(1) if match else ""


def audit_rows(event_prefix: str) -> list[AuditEvent]:
    db.session.rollback()
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.event.like(f"{event_prefix}%"))
                                    .order_by(AuditEvent.id)))


def body_rows(html: str) -> list[str]:
    match = re.search(r"<tbody>(.*?)</tbody>", html, re.S)
    return re.findall(r"<tr[ >].*?</tr>", match.group(1), re.S) if match else []


def listed_names(response) -> list[str]:
    """Names in the directory table, in page order."""
    assert response.status_code == 200
    return [re.search(r'<a href="[^"]*">([^<]*)</a>', row).group(1)
            for row in body_rows(response.get_data(as_text=True))]




@pytest.fixture
def noord():
    return make_network("noord", name="Netwerk Noord")


@pytest.fixture
def coordinator(noord):
    return member(noord, "coo@example.nl", role=Role.COORDINATOR, name="Carla Coordinator",
                  disciplines=("casemanager",))


@pytest.fixture
def sanne(noord, coordinator):
    return member(noord, "sanne@example.nl", name="Sanne Bakker", disciplines=("dietist",))


def profile_data(**overrides):
    data = {"disciplines": [discipline_id("fysiotherapeut")], "is_oncology_specialised": "y",
            "agb_code": "12345678", "big_number": "19012345601", "practice_name": "Fysio Spaarne",
            "address": "Spaarne 12", "postcode": "2011ab", "city": "Haarlem", "phone": "023 123 4567",
            "phone_is_public": "y", "is_listed_in_verwijsgids": "y",
            "verwijsgids_url": "https://www.verwijsgidskanker.nl/zorgverlener/fysio-spaarne",
            "is_accepting_patients": "y"}
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


# --- editing a profile --------------------------------------------------------------------------

def test_member_edits_their_own_profile_and_the_detail_page_shows_it(noord, sanne, client):
    login_as(client, sanne.user)
    edit = client.get(f"/n/noord/members/{sanne.id}/edit")
    assert edit.status_code == 200
    assert 'name="role"' not in edit.get_data(as_text=True)  # a member does not see the role

    response = client.post(f"/n/noord/members/{sanne.id}/edit", data=profile_data(
        disciplines=[discipline_id("fysiotherapeut"), discipline_id("leefstijlcoach")]))
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    assert response.headers["Location"].endswith(f"/n/noord/members/{sanne.id}")

    saved = fresh(noord, sanne.id)
    assert (saved.agb_code, saved.big_number, saved.postcode) == ("12345678", "19012345601", "2011 AB")
    assert (saved.practice_name, saved.address, saved.city, saved.phone) == (
        "Fysio Spaarne", "Spaarne 12", "Haarlem", "023 123 4567")
    assert saved.phone_is_public and saved.is_listed_in_verwijsgids and saved.is_oncology_specialised
    assert saved.is_accepting_patients
    assert saved.verwijsgids_url == "https://www.verwijsgidskanker.nl/zorgverlener/fysio-spaarne"
    assert codes_of(noord, sanne.id) == {"fysiotherapeut", "leefstijlcoach"}

    html = client.get(f"/n/noord/members/{sanne.id}").get_data(as_text=True)
    for text in ("12345678", "19012345601", "Spaarne 12", "2011 AB", "023 123 4567", "Physiotherapist",
                 "Lifestyle / exercise coach", 'href="https://www.verwijsgidskanker.nl/zorgverlener/fysio-spaarne"',
                 "Accepting new patients", f'/n/noord/members/{sanne.id}/edit'):
        assert text in html, text


def test_unchecked_boxes_are_saved_as_no(noord, sanne, client):
    login_as(client, sanne.user)
    client.post(f"/n/noord/members/{sanne.id}/edit", data=profile_data())
    response = client.post(f"/n/noord/members/{sanne.id}/edit", data=profile_data(
        is_oncology_specialised=None, phone_is_public=None, is_listed_in_verwijsgids=None,
        is_accepting_patients=None, verwijsgids_url="", big_number=""))
    assert response.status_code == 302
    saved = fresh(noord, sanne.id)
    assert not (saved.is_oncology_specialised or saved.phone_is_public or saved.is_listed_in_verwijsgids
                or saved.is_accepting_patients)
    assert saved.big_number is None and saved.verwijsgids_url == ""


@pytest.mark.parametrize("overrides, field, message", [
    ({"agb_code": "1234567"}, "agb_code", "An AGB code has exactly 8 digits."),
    ({"agb_code": "1234567a"}, "agb_code", "An AGB code has exactly 8 digits."),
    ({"big_number": "1901234560"}, "big_number", "A BIG number has exactly 11 digits."),
    ({"big_number": "1901234560X"}, "big_number", "A BIG number has exactly 11 digits."),
    ({"postcode": "12345"}, "postcode", "Enter a Dutch postcode like 1234 AB."),
    ({"postcode": "0123 AB"}, "postcode", "Enter a Dutch postcode like 1234 AB."),
    ({"verwijsgids_url": ""}, "verwijsgids_url", "Add the link to your listing in the Verwijsgids Kanker."),
    ({"verwijsgids_url": "javascript://example.nl/%0aalert(1)"}, "verwijsgids_url",
     "Enter a web address that starts with http:// or https://."),
    ({"verwijsgids_url": "www.verwijsgidskanker.nl"}, "verwijsgids_url",
     "Enter a web address that starts with http:// or https://."),
    ({"disciplines": None}, "disciplines", "Choose at least one discipline."),
    ({"phone": "call me"}, "phone", "Enter a phone number"),
])
def test_invalid_profile_is_refused_with_the_message_next_to_the_field(noord, sanne, client, overrides,
                                                                       field, message):
    login_as(client, sanne.user)
    response = client.post(f"/n/noord/members/{sanne.id}/edit", data=profile_data(**overrides))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert message in field_error(html, field), html[:4000]
    saved = fresh(noord, sanne.id)
    assert saved.agb_code is None and saved.practice_name == "Praktijk"  # nothing was saved
    assert codes_of(noord, sanne.id) == {"dietist"}
    assert audit_rows("membership.updated") == []


def test_a_discipline_outside_the_controlled_list_is_refused(noord, sanne, client):
    login_as(client, sanne.user)
    response = client.post(f"/n/noord/members/{sanne.id}/edit", data=profile_data(disciplines=[999999]))
    assert response.status_code == 200
    assert "not a valid choice" in field_error(response.get_data(as_text=True), "disciplines")
    assert codes_of(noord, sanne.id) == {"dietist"}


def test_a_member_gets_404_for_another_members_profile(noord, coordinator, sanne, client):
    joost = member(noord, "joost@example.nl", name="Joost Visser", disciplines=("psycholoog",))
    login_as(client, sanne.user)
    for target in (joost, coordinator):
        assert client.get(f"/n/noord/members/{target.id}/edit").status_code == 404
        assert client.post(f"/n/noord/members/{target.id}/edit", data=profile_data()).status_code == 404
        assert fresh(noord, target.id).agb_code is None
    # The detail page of a colleague has no edit link.
    assert f"/members/{joost.id}/edit" not in client.get(f"/n/noord/members/{joost.id}").get_data(as_text=True)


def test_a_member_of_another_network_cannot_be_edited(noord, coordinator, client):
    zuid = make_network("zuid")
    outsider = member(zuid, "zuid@example.nl")
    login_as(client, coordinator.user)
    assert client.get(f"/n/noord/members/{outsider.id}/edit").status_code == 404
    assert client.post(f"/n/noord/members/{outsider.id}/edit", data=profile_data()).status_code == 404
    assert client.post(f"/n/zuid/members/{outsider.id}/edit", data=profile_data()).status_code == 404
    assert fresh(zuid, outsider.id).agb_code is None


def test_a_member_cannot_change_their_own_role(noord, sanne, client):
    login_as(client, sanne.user)
    response = client.post(f"/n/noord/members/{sanne.id}/edit", data=profile_data(role="coordinator"))
    assert response.status_code == 302
    saved = fresh(noord, sanne.id)
    assert saved.role is Role.MEMBER
    assert saved.agb_code == "12345678"  # the rest of the form was saved
    assert audit_rows("membership.role_changed") == []


def test_the_coordinator_edits_a_member_and_changes_the_role_with_audit_rows(noord, coordinator, sanne, client):
    login_as(client, coordinator.user)
    edit = client.get(f"/n/noord/members/{sanne.id}/edit").get_data(as_text=True)
    assert 'name="role"' in edit and 'value="12345678"' not in edit
    response = client.post(f"/n/noord/members/{sanne.id}/edit", data=profile_data(role="coordinator"))
    assert response.status_code == 302
    assert fresh(noord, sanne.id).role is Role.COORDINATOR

    role_rows = audit_rows("membership.role_changed")
    assert [(r.object_type, r.object_id, r.user_id, r.network_id, r.reason) for r in role_rows] == [
        ("membership", sanne.id, coordinator.user_id, noord.id, "member -> coordinator")]
    updated = audit_rows("membership.updated")
    assert len(updated) == 1 and updated[0].object_type == "membership" and updated[0].object_id == sanne.id
    assert "agb_code" in updated[0].reason and "disciplines" in updated[0].reason
    assert "12345678" not in updated[0].reason  # names of fields, not their values


def test_only_the_changed_fields_are_logged_and_an_unchanged_save_logs_nothing(noord, sanne, client):
    login_as(client, sanne.user)
    client.post(f"/n/noord/members/{sanne.id}/edit", data=profile_data())
    assert len(audit_rows("membership.updated")) == 1

    client.post(f"/n/noord/members/{sanne.id}/edit", data=profile_data())  # the same again
    assert len(audit_rows("membership.updated")) == 1

    client.post(f"/n/noord/members/{sanne.id}/edit", data=profile_data(city="Heemstede"))
    rows = audit_rows("membership.updated")
    assert len(rows) == 2 and rows[-1].reason == "changed: city"
    assert rows[-1].user_id == sanne.user_id and rows[-1].user_role == "member"


def test_the_last_active_coordinator_cannot_give_up_the_role(noord, coordinator, client):
    login_as(client, coordinator.user)
    response = client.post(f"/n/noord/members/{coordinator.id}/edit", data=profile_data(role="member"))
    assert response.status_code == 200
    assert "A network needs at least one active coordinator." in field_error(response.get_data(as_text=True),
                                                                            "role")
    assert fresh(noord, coordinator.id).role is Role.COORDINATOR
    assert audit_rows("membership.") == []

    member(noord, "coo2@example.nl", role=Role.COORDINATOR)
    response = client.post(f"/n/noord/members/{coordinator.id}/edit", data=profile_data(role="member"))
    assert response.status_code == 302
    assert fresh(noord, coordinator.id).role is Role.MEMBER


def test_profile_edit_without_csrf_token_changes_nothing(noord, sanne, client):
    login_as(client, sanne.user)
    response = client.post(f"/n/noord/members/{sanne.id}/edit", data=profile_data(), csrf=False)
    assert response.status_code == 400
    assert fresh(noord, sanne.id).agb_code is None


def test_a_private_phone_number_is_hidden_from_other_members(noord, coordinator, sanne, client, new_client):
    joost = member(noord, "joost@example.nl", name="Joost Visser", phone="06 1234 5678", phone_is_public=False)
    login_as(client, sanne.user)
    assert "06 1234 5678" not in client.get(f"/n/noord/members/{joost.id}").get_data(as_text=True)
    coo = login_as(new_client(), coordinator.user)
    assert "06 1234 5678" in coo.get(f"/n/noord/members/{joost.id}").get_data(as_text=True)
    with network_context(noord.id):
        db.session.get(Membership, joost.id).phone_is_public = True
        db.session.commit()
    assert "06 1234 5678" in client.get(f"/n/noord/members/{joost.id}").get_data(as_text=True)


# --- training records ---------------------------------------------------------------------------

def training_data(**overrides):
    data = {"course": "Oncologiefysiotherapie (post-hbo)", "hours": "67", "completed_on": "2023-06-30",
            "valid_until": "2028-06-30"}
    data.update(overrides)
    return data


def trainings_of(network: Network, membership_id: int) -> list[TrainingRecord]:
    db.session.expire_all()
    with network_context(network.id):
        return list(db.session.scalars(select(TrainingRecord).where(TrainingRecord.membership_id == membership_id)))


def test_member_adds_a_training_record_that_is_listed_and_audited(noord, sanne, client):
    login_as(client, sanne.user)
    assert client.get(f"/n/noord/members/{sanne.id}/training/new").status_code == 200
    response = client.post(f"/n/noord/members/{sanne.id}/training/new", data=training_data())
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    [record] = trainings_of(noord, sanne.id)
    assert (record.course, record.hours, record.completed_on, record.valid_until) == (
        "Oncologiefysiotherapie (post-hbo)", 67, date(2023, 6, 30), date(2028, 6, 30))
    html = client.get(f"/n/noord/members/{sanne.id}").get_data(as_text=True)
    assert "Oncologiefysiotherapie (post-hbo)" in html and "Total: 67 hours" in html
    [row] = audit_rows("training_record.created")
    assert (row.object_type, row.object_id, row.user_id) == ("training_record", record.id, sanne.user_id)


@pytest.mark.parametrize("overrides, field, message", [
    ({"hours": "0"}, "hours", "Enter the number of hours (1 to 1000)."),
    ({"hours": "1001"}, "hours", "Enter the number of hours (1 to 1000)."),
    ({"hours": "-5"}, "hours", "Enter the number of hours (1 to 1000)."),
    ({"course": ""}, "course", "This field is required."),
    ({"completed_on": (date.today() + timedelta(days=1)).isoformat(), "valid_until": ""}, "completed_on",
     "This date cannot be in the future."),
    ({"valid_until": "2023-06-30"}, "valid_until", "The end of validity must be after the completion date."),
    ({"valid_until": "2022-01-01"}, "valid_until", "The end of validity must be after the completion date."),
])
def test_invalid_training_records_are_refused(noord, sanne, client, overrides, field, message):
    login_as(client, sanne.user)
    response = client.post(f"/n/noord/members/{sanne.id}/training/new", data=training_data(**overrides))
    assert response.status_code == 200
    assert message in field_error(response.get_data(as_text=True), field)
    assert trainings_of(noord, sanne.id) == []


def test_a_training_without_end_date_completed_today_is_accepted(noord, sanne, client):
    login_as(client, sanne.user)
    response = client.post(f"/n/noord/members/{sanne.id}/training/new", data=training_data(
        completed_on=date.today().isoformat(), valid_until="", hours="1000"))
    assert response.status_code == 302
    [record] = trainings_of(noord, sanne.id)
    assert record.valid_until is None and record.hours == 1000


def test_removing_a_training_asks_first_then_removes_it_with_an_audit_row(noord, coordinator, sanne, client):
    record_id = make_training(sanne, course="Voeding bij kanker").id
    login_as(client, coordinator.user)
    url = f"/n/noord/members/{sanne.id}/training/{record_id}/delete"
    confirm = client.get(url)
    assert confirm.status_code == 200 and "Remove “Voeding bij kanker”?" in confirm.get_data(as_text=True)
    assert len(trainings_of(noord, sanne.id)) == 1

    response = client.post(url, data={})
    assert response.status_code == 302
    assert trainings_of(noord, sanne.id) == []
    [row] = audit_rows("training_record.deleted")
    assert (row.object_type, row.object_id, row.user_id) == ("training_record", record_id, coordinator.user_id)


def test_other_members_cannot_add_or_remove_training(noord, sanne, client):
    joost = member(noord, "joost@example.nl", name="Joost Visser")
    record = make_training(sanne)
    login_as(client, joost.user)
    assert client.get(f"/n/noord/members/{sanne.id}/training/new").status_code == 404
    assert client.post(f"/n/noord/members/{sanne.id}/training/new", data=training_data()).status_code == 404
    assert client.get(f"/n/noord/members/{sanne.id}/training/{record.id}/delete").status_code == 404
    assert client.post(f"/n/noord/members/{sanne.id}/training/{record.id}/delete", data={}).status_code == 404
    # Joost's own membership id with Sanne's record: the record must belong to the member in the URL.
    assert client.post(f"/n/noord/members/{joost.id}/training/{record.id}/delete", data={}).status_code == 404
    assert len(trainings_of(noord, sanne.id)) == 1
    assert "Remove" not in client.get(f"/n/noord/members/{sanne.id}").get_data(as_text=True)


# --- the directory: filters, sorting, pagination ------------------------------------------------

@pytest.fixture
def directory(noord, coordinator):
    member(noord, "sanne@example.nl", name="Sanne Bakker", disciplines=("dietist",), city="Zandvoort",
           is_listed_in_verwijsgids=True, verwijsgids_url="https://example.nl/s")
    member(noord, "joost@example.nl", name="Joost Visser", disciplines=("fysiotherapeut",), city="Haarlem",
           is_accepting_patients=False)
    member(noord, "fatima@example.nl", name="Fatima El Amrani", disciplines=("psycholoog", "dietist"),
           city="Haarlem", is_listed_in_verwijsgids=True, verwijsgids_url="https://example.nl/f")
    member(noord, "anna@example.nl", name="anna de Wit", disciplines=("anders",), city="")
    gone = member(noord, "pieter@example.nl", name="Pieter de Boer", disciplines=("dietist",), city="Bloemendaal")
    with network_context(noord.id):
        db.session.get(Membership, gone.id).deactivate()
        db.session.commit()
    return noord


def test_directory_filters_on_verwijsgids_listing_and_accepting_patients(directory, coordinator, client):
    login_as(client, coordinator.user)
    assert set(listed_names(client.get("/n/noord/members?listed=yes"))) == {"Sanne Bakker", "Fatima El Amrani"}
    assert set(listed_names(client.get("/n/noord/members?listed=no"))) == {
        "Carla Coordinator", "Joost Visser", "anna de Wit"}
    assert listed_names(client.get("/n/noord/members?accepting=no")) == ["Joost Visser"]
    assert "Joost Visser" not in listed_names(client.get("/n/noord/members?accepting=yes"))
    assert listed_names(client.get(f"/n/noord/members?listed=yes&discipline={discipline_id('psycholoog')}")) == [
        "Fatima El Amrani"]
    assert len(listed_names(client.get("/n/noord/members?listed=maybe&accepting=x"))) == 5  # ignored


def test_directory_active_filter_is_for_coordinators_only(directory, coordinator, client, new_client):
    login_as(client, coordinator.user)
    assert listed_names(client.get("/n/noord/members?active=no")) == ["Pieter de Boer"]
    assert "Pieter de Boer" in listed_names(client.get("/n/noord/members?active=all"))
    assert "Pieter de Boer" not in listed_names(client.get("/n/noord/members?active=yes"))
    assert 'name="active"' in client.get("/n/noord/members").get_data(as_text=True)

    with network_context(directory.id):
        sanne = db.session.scalar(select(Membership).join(Membership.user).where(User.email == "sanne@example.nl"))
        sanne_user = sanne.user
    plain = login_as(new_client(), sanne_user)
    for query in ("active=no", "active=all", "inactive=1"):
        assert "Pieter de Boer" not in listed_names(plain.get(f"/n/noord/members?{query}")), query
    assert 'name="active"' not in plain.get("/n/noord/members").get_data(as_text=True)


def test_directory_sorts_by_name_town_or_discipline_with_a_stable_tie_break(directory, coordinator, client):
    login_as(client, coordinator.user)
    by_name = ["anna de Wit", "Carla Coordinator", "Fatima El Amrani", "Joost Visser", "Sanne Bakker"]
    assert listed_names(client.get("/n/noord/members")) == by_name  # case-insensitive
    assert listed_names(client.get("/n/noord/members?sort=name")) == by_name
    # Town, then name within a town (Carla lives in Haarlem too); members without a town come last.
    assert listed_names(client.get("/n/noord/members?sort=town")) == [
        "Carla Coordinator", "Fatima El Amrani", "Joost Visser", "Sanne Bakker", "anna de Wit"]
    # Discipline in the order of the controlled list (the first one for several), then name.
    assert listed_names(client.get("/n/noord/members?sort=discipline")) == [
        "Joost Visser", "Fatima El Amrani", "Sanne Bakker", "Carla Coordinator", "anna de Wit"]
    # Anything else is not a column name: the default order, never an error.
    for bad in ("password_hash", "id;drop", "user.email", ""):
        assert listed_names(client.get(f"/n/noord/members?sort={bad}")) == by_name, bad


def test_sorted_pages_neither_overlap_nor_skip(noord, coordinator, client):
    bulk_members(noord, 59, towns=("Haarlem", "Heemstede"))  # many ties on town
    login_as(client, coordinator.user)
    seen = []
    for page in (1, 2, 3):
        seen += listed_names(client.get(f"/n/noord/members?sort=town&page={page}"))
    assert len(seen) == 60 and len(set(seen)) == 60
    haarlem = [name for name in seen if name.startswith("Bulk") and int(name.split()[1]) % 2 == 0]
    assert haarlem == sorted(haarlem) and seen[:len(haarlem)] == haarlem  # town, then name
    second = client.get("/n/noord/members?sort=town&page=2").get_data(as_text=True)
    assert re.search(r'href="[^"]*sort=town[^"]*page=3|href="[^"]*page=3[^"]*sort=town', second)


# --- bounded queries ----------------------------------------------------------------------------

def bulk_members(network: Network, count: int, *, start: int = 0, towns=("Haarlem", "Heemstede", "Zandvoort")):
    """Many members in one transaction (make_member commits once per member: too slow for 500)."""
    codes = ("dietist", "fysiotherapeut", "psycholoog", "ergotherapeut")
    ids = {code: discipline_id(code) for code in (*codes, "anders")}
    with network_context(network.id):
        users = [User(email=f"bulk{i:04d}@example.nl", full_name=f"Bulk {i:04d}", locale="en")
                 for i in range(start, start + count)]
        db.session.add_all(users)
        db.session.flush()
        memberships = [Membership(network_id=network.id, user_id=u.id, city=towns[i % len(towns)],
                                  practice_name="Praktijk", is_listed_in_verwijsgids=i % 3 == 0)
                       for i, u in enumerate(users, start)]
        db.session.add_all(memberships)
        db.session.flush()
        db.session.add_all([MembershipDiscipline(network_id=network.id, membership_id=m.id, discipline_id=d)
                            for i, m in enumerate(memberships, start) for d in (ids[codes[i % 4]], ids["anders"])])
        db.session.commit()


@pytest.mark.parametrize("query", ["", "?sort=discipline&listed=no&accepting=yes", "?sort=town&active=all"])
def test_member_list_issues_the_same_statements_for_5_and_500_members_and_stays_fast(noord, coordinator,
                                                                                   client, query):
    login_as(client, coordinator.user)
    url = f"/n/noord/members{query}"
    bulk_members(noord, 4)
    client.get(url)  # warm up: translations, first-use caches
    with counted_statements() as few:
        response = client.get(url)
    assert len(listed_names(response)) == 5 - (query.count("listed=no") and 2)

    bulk_members(noord, 495, start=4)
    client.get(url)
    started = time.perf_counter()
    with counted_statements() as many:
        response = client.get(url)
    elapsed = time.perf_counter() - started
    assert len(listed_names(response)) == 25
    assert "Dietician" in response.get_data(as_text=True)

    assert len(many) == len(few), "\n".join(many)
    assert len(few) <= 12, "\n".join(few)
    assert elapsed < 1.5, f"the member list took {elapsed:.2f}s with 500 members"


def test_member_list_counts_the_500_members(noord, coordinator, client):
    bulk_members(noord, 499)
    login_as(client, coordinator.user)
    html = client.get("/n/noord/members").get_data(as_text=True)
    assert "500 results" in html and "Page 1 of 20" in html
    with network_context(noord.id):
        assert db.session.scalar(select(func.count()).select_from(Membership)) == 500
