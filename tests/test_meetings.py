"""Meetings: recording and editing with attendance, validation, read-only members, delete rules,
the list filters, participation against the network's rule (bounded queries), audit rows, isolation.

Users are made with locale "en", so the assertions read the English messages. Dates are fixed with
time_machine: today is Sunday 15 June 2025.
"""
from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
import time_machine
from sqlalchemy import func, select

from app.auth.models import User
from app.core.audit import AuditAction, AuditEvent
from app.core.tenancy import network_context
from app.extensions import db
from app.meetings.models import Attendance, Meeting, MeetingKind
from app.meetings.services import participation_summary
from app.networks.models import Discipline, Membership, MembershipDiscipline, Network, Role
from tests.conftest import counted_statements, login_as, make_meeting, make_member, make_network

TODAY = date(2025, 6, 15)


@pytest.fixture(autouse=True)
def _frozen_today():
    with time_machine.travel(datetime(2025, 6, 15, 10, 0, tzinfo=UTC), tick=False):
        yield


# --- helpers ------------------------------------------------------------------------------------

def member(network: Network, email: str, *, role: Role = Role.MEMBER, name: str | None = None,
           disciplines: tuple[str, ...] = ()) -> Membership:
    """A membership with a fast user (no argon2 hash)."""
    return make_member(network, email, role=role, name=name, disciplines=disciplines, locale="en",
                       password=None, mfa=False)


@pytest.fixture
def noord():
    return make_network("noord", name="Netwerk Noord")


@pytest.fixture
def coordinator(noord):
    return member(noord, "coo@example.nl", role=Role.COORDINATOR, name="Carla Coordinator")


@pytest.fixture
def coo_client(client, coordinator):
    return login_as(client, coordinator.user)


@pytest.fixture
def people(noord):
    return {name: member(noord, f"{name.lower()}@example.nl", name=f"{name} Lid", disciplines=("dietist",))
            for name in ("Anna", "Bram", "Cees", "Dirk")}


def meeting_data(**overrides) -> dict:
    data = {"held_on": "2025-06-10", "kind": "mdo", "title": "MDO juni", "notes": "Agenda: verwijsroutes",
            "attendees": []}
    data.update(overrides)
    return data


def load_meeting(network: Network, meeting_id: int) -> Meeting | None:
    db.session.expire_all()
    with network_context(network.id):
        return db.session.scalar(select(Meeting).where(Meeting.id == meeting_id))


def attendee_ids(network: Network, meeting_id: int) -> set[int]:
    with network_context(network.id):
        return set(db.session.scalars(select(Attendance.membership_id).where(Attendance.meeting_id == meeting_id)))


def meeting_count(network: Network) -> int:
    with network_context(network.id):
        return db.session.scalar(select(func.count()).select_from(Meeting))


def meeting_audit(event_name: str) -> list[AuditEvent]:
    db.session.expire_all()
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.event == event_name)))


def checked_ids(html: str) -> set[int]:
    """Membership ids of the ticked attendance boxes."""
    boxes = re.findall(r'<input[^>]*name="attendees"[^>]*>', html)
    return {int(re.search(r'value="(\d+)"', box).group(1)) for box in boxes if "checked" in box}


def box_ids(html: str) -> set[int]:
    return {int(v) for v in re.findall(r'<input[^>]*name="attendees"[^>]*value="(\d+)"', html)}


def body_rows(html: str) -> list[str]:
    match = re.search(r"<tbody>(.*?)</tbody>", html, re.S)
    return re.findall(r"<tr[ >].*?</tr>", match.group(1), re.S) if match else []




# --- recording and editing ----------------------------------------------------------------------

def test_coordinator_records_a_meeting_with_attendance(noord, coo_client, coordinator, people):
    anna, bram = people["Anna"], people["Bram"]
    form = coo_client.get("/n/noord/meetings/new").get_data(as_text=True)
    assert box_ids(form) == {m.id for m in people.values()} | {coordinator.id}

    response = coo_client.post("/n/noord/meetings/new", data=meeting_data(attendees=[anna.id, bram.id]))

    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    with network_context(noord.id):
        meeting = db.session.scalars(select(Meeting)).one()
        assert (meeting.held_on, meeting.kind, meeting.title, meeting.notes) == (
            date(2025, 6, 10), MeetingKind.MDO, "MDO juni", "Agenda: verwijsroutes")
        meeting_id = meeting.id
    assert response.headers["Location"].endswith(f"/n/noord/meetings/{meeting_id}")
    assert attendee_ids(noord, meeting_id) == {anna.id, bram.id}
    [row] = meeting_audit("meeting.created")
    assert (row.action, row.object_type, row.object_id, row.network_id, row.user_id) == (
        AuditAction.CREATE, "meeting", meeting_id, noord.id, coordinator.user_id)

    page = coo_client.get(f"/n/noord/meetings/{meeting_id}").get_data(as_text=True)
    assert "MDO juni" in page and "Anna Lid" in page and "Bram Lid" in page
    assert "Cees Lid" not in page
    assert "2 members attended." in page


def test_edit_changes_attendance_and_keeps_members_deactivated_since(noord, coo_client, people):
    anna, bram, cees = people["Anna"], people["Bram"], people["Cees"]
    meeting = make_meeting(noord, title="Netwerkoverleg mei", held_on=date(2025, 5, 20), attendees=(anna, bram))
    with network_context(noord.id):
        db.session.get(Membership, anna.id).deactivate()
        db.session.commit()

    form = coo_client.get(f"/n/noord/meetings/{meeting.id}/edit").get_data(as_text=True)
    assert anna.id not in box_ids(form)  # no box for a deactivated member ...
    assert checked_ids(form) == {bram.id}
    assert "Also attended, deactivated since (kept): Anna Lid" in form  # ... but their attendance is shown

    response = coo_client.post(f"/n/noord/meetings/{meeting.id}/edit", data=meeting_data(
        held_on="2025-05-21", kind="network", title="Netwerkoverleg mei (verzet)", attendees=[cees.id]))

    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    changed = load_meeting(noord, meeting.id)
    assert (changed.held_on, changed.kind, changed.title) == (
        date(2025, 5, 21), MeetingKind.NETWORK, "Netwerkoverleg mei (verzet)")
    assert attendee_ids(noord, meeting.id) == {anna.id, cees.id}  # Bram removed, Anna kept, Cees added
    [row] = meeting_audit("meeting.updated")
    assert (row.action, row.object_type, row.object_id) == (AuditAction.UPDATE, "meeting", meeting.id)
    assert row.reason == "attendance +1 -1"

    detail = coo_client.get(f"/n/noord/meetings/{meeting.id}").get_data(as_text=True)
    assert re.search(r"Anna Lid</a> <span class=\"tag\">deactivated</span>", detail)


def test_invalid_meeting_form_is_shown_again_with_what_was_entered(noord, coo_client, people):
    anna = people["Anna"]
    # One year ahead is the limit; a day later is refused.
    response = coo_client.post("/n/noord/meetings/new", data=meeting_data(
        held_on="2026-06-16", title="Symposium", notes="Zaal gereserveerd", attendees=[anna.id]))

    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "The date can be at most a year ahead (until 15 Jun 2026)." in html
    assert 'value="Symposium"' in html and "Zaal gereserveerd" in html and 'value="2026-06-16"' in html
    assert checked_ids(html) == {anna.id}
    assert meeting_count(noord) == 0

    missing = coo_client.post("/n/noord/meetings/new", data=meeting_data(title="", held_on="")).get_data(
        as_text=True)
    assert "Enter the date of the meeting." in missing and "This field is required." in missing
    assert meeting_count(noord) == 0

    ok = coo_client.post("/n/noord/meetings/new", data=meeting_data(held_on="2026-06-15", title="Symposium"))
    assert ok.status_code == 302
    assert meeting_count(noord) == 1


def test_attendance_only_for_active_members_of_the_network(noord, coo_client, people):
    anna = people["Anna"]
    with network_context(noord.id):
        db.session.get(Membership, anna.id).deactivate()
        db.session.commit()
    zuid = make_network("zuid")
    outsider = member(zuid, "zoe@example.nl", name="Zoe Zuid")

    for wrong in (anna.id, outsider.id, 999999):
        response = coo_client.post("/n/noord/meetings/new", data=meeting_data(attendees=[people["Bram"].id, wrong]))
        assert response.status_code == 200, wrong
        assert "is not a valid choice" in response.get_data(as_text=True)
    assert meeting_count(noord) == 0
    with network_context(zuid.id):
        assert db.session.scalar(select(func.count()).select_from(Attendance)) == 0


# --- members read, coordinators change -----------------------------------------------------------

def test_members_read_meetings_but_cannot_change_them(noord, client, coordinator, people):
    anna = people["Anna"]
    meeting = make_meeting(noord, title="Scholing lymfoedeem", kind="training", attendees=(anna,))
    empty = make_meeting(noord, title="Geannuleerd overleg")
    login_as(client, anna.user)

    index = client.get("/n/noord/meetings/")
    assert index.status_code == 200
    assert "Scholing lymfoedeem" in index.get_data(as_text=True)
    assert "Record a meeting" not in index.get_data(as_text=True)
    detail = client.get(f"/n/noord/meetings/{meeting.id}")
    assert detail.status_code == 200
    assert "Anna Lid" in detail.get_data(as_text=True)
    assert f"/meetings/{meeting.id}/edit" not in detail.get_data(as_text=True)

    before = meeting_audit("meeting.updated") + meeting_audit("meeting.deleted") + meeting_audit("meeting.created")
    for path in ("/n/noord/meetings/new", f"/n/noord/meetings/{meeting.id}/edit",
                 f"/n/noord/meetings/{empty.id}/delete", "/n/noord/meetings/participation"):
        assert client.get(path).status_code == 404, path
        assert client.post(path, data=meeting_data(title="Gekaapt")).status_code in (404, 405), path
    assert meeting_count(noord) == 2
    assert load_meeting(noord, meeting.id).title == "Scholing lymfoedeem"
    assert load_meeting(noord, empty.id) is not None
    after = meeting_audit("meeting.updated") + meeting_audit("meeting.deleted") + meeting_audit("meeting.created")
    assert after == before


def test_members_see_deactivated_attendees_only_as_a_count(noord, client, people):
    anna, bram = people["Anna"], people["Bram"]
    meeting = make_meeting(noord, attendees=(anna, bram))
    with network_context(noord.id):
        db.session.get(Membership, bram.id).deactivate()
        db.session.commit()
    login_as(client, anna.user)
    html = client.get(f"/n/noord/meetings/{meeting.id}").get_data(as_text=True)
    assert "Anna Lid" in html and "Bram Lid" not in html
    assert "and 1 former member" in html


# --- deleting -----------------------------------------------------------------------------------

def test_meeting_with_attendance_cannot_be_deleted(noord, coo_client, people):
    meeting = make_meeting(noord, title="MDO mei", attendees=(people["Anna"],))

    detail = coo_client.get(f"/n/noord/meetings/{meeting.id}").get_data(as_text=True)
    assert "has recorded attendance, so it cannot be deleted" in detail
    assert f"/meetings/{meeting.id}/delete" not in detail
    confirm = coo_client.get(f"/n/noord/meetings/{meeting.id}/delete").get_data(as_text=True)
    assert "This meeting cannot be deleted" in confirm and "<form" not in confirm.split("<main", 1)[1]

    response = coo_client.post(f"/n/noord/meetings/{meeting.id}/delete", data={})

    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/n/noord/meetings/{meeting.id}")
    assert load_meeting(noord, meeting.id) is not None
    assert attendee_ids(noord, meeting.id) == {people["Anna"].id}
    assert meeting_audit("meeting.deleted") == []
    flashed = coo_client.get(f"/n/noord/meetings/{meeting.id}").get_data(as_text=True)
    assert "This meeting has recorded attendance, so it cannot be deleted." in flashed


def test_meeting_without_attendance_is_deleted_after_confirmation(noord, coo_client):
    meeting_id = make_meeting(noord, title="Dubbel ingevoerd").id
    keep_id = make_meeting(noord, title="Blijft staan").id

    confirm = coo_client.get(f"/n/noord/meetings/{meeting_id}/delete")
    assert confirm.status_code == 200
    assert "Delete Dubbel ingevoerd?" in confirm.get_data(as_text=True)
    assert load_meeting(noord, meeting_id) is not None  # the GET only asks

    response = coo_client.post(f"/n/noord/meetings/{meeting_id}/delete", data={})

    assert response.status_code == 302 and response.headers["Location"].endswith("/n/noord/meetings/")
    assert load_meeting(noord, meeting_id) is None
    assert load_meeting(noord, keep_id) is not None
    [row] = meeting_audit("meeting.deleted")
    assert (row.action, row.object_type, row.object_id, row.network_id) == (
        AuditAction.DELETE, "meeting", meeting_id, noord.id)
    assert coo_client.get(f"/n/noord/meetings/{meeting_id}").status_code == 404


# --- the list -----------------------------------------------------------------------------------

def test_list_is_newest_first_filtered_by_kind_and_year_and_paginated(noord, coo_client):
    make_meeting(noord, title="Oud overleg", held_on=date(2024, 3, 1))
    make_meeting(noord, title="MDO maart", held_on=date(2025, 3, 4), kind="mdo")
    make_meeting(noord, title="Scholing april", held_on=date(2025, 4, 8), kind="training")
    make_meeting(noord, title="Gepland overleg", held_on=date(2025, 9, 1))

    html = coo_client.get("/n/noord/meetings/").get_data(as_text=True)
    titles = [re.search(r">([^<]+)</a>", row).group(1) for row in body_rows(html)]
    assert titles == ["Gepland overleg", "Scholing april", "MDO maart", "Oud overleg"]
    assert re.findall(r'<option value="(\d{4})"', html) == ["2025", "2024"]

    def titles_for(query: str) -> list[str]:
        page = coo_client.get(f"/n/noord/meetings/?{query}")
        assert page.status_code == 200, query
        return [re.search(r">([^<]+)</a>", row).group(1) for row in body_rows(page.get_data(as_text=True))]

    assert titles_for("kind=mdo") == ["MDO maart"]
    assert titles_for("year=2024") == ["Oud overleg"]
    assert titles_for("year=2025&kind=network") == ["Gepland overleg"]
    assert titles_for("year=2023") == []
    for nonsense in ("kind=party", "year=abc", "year=0", "year=99999"):
        assert len(titles_for(nonsense)) == 4, nonsense

    for day in range(1, 26):
        make_meeting(noord, title=f"Extra {day:02d}", held_on=date(2023, 1, day))
    page2 = coo_client.get("/n/noord/meetings/?page=2").get_data(as_text=True)
    assert len(body_rows(page2)) == 4 and "Page 2 of 2" in page2
    assert "Extra 01" in page2 and "Extra 25" not in page2


# --- participation --------------------------------------------------------------------------------

def test_participation_counts_the_last_twelve_months_against_the_rule(noord, coo_client, coordinator, people):
    anna, bram, cees, dirk = (people[n] for n in ("Anna", "Bram", "Cees", "Dirk"))
    noord.participation_min_meetings = 2
    db.session.commit()
    make_meeting(noord, held_on=date(2024, 6, 15), attendees=(anna, bram, dirk))  # exactly a year ago: out
    make_meeting(noord, held_on=date(2024, 6, 16), attendees=(anna, bram, dirk))  # the first day in
    make_meeting(noord, held_on=date(2025, 6, 15), attendees=(anna, dirk))  # today: in
    make_meeting(noord, held_on=date(2025, 6, 16), attendees=(bram, cees))  # planned: not yet attended
    make_meeting(noord, held_on=date(2025, 1, 10), attendees=(anna,))
    with network_context(noord.id):
        db.session.get(Membership, dirk.id).deactivate()  # deactivated members are not listed
        db.session.commit()

    with network_context(noord.id):
        summary = [(m.user.full_name, attended, meets) for m, attended, meets in participation_summary(noord)]
    assert summary == [("Anna Lid", 3, True), ("Bram Lid", 1, False), ("Carla Coordinator", 0, False),
                       ("Cees Lid", 0, False)]

    html = coo_client.get("/n/noord/meetings/participation").get_data(as_text=True)
    rows = body_rows(html)
    assert [re.search(r">([^<]+)</a>", r).group(1) for r in rows] == [
        "Anna Lid", "Bram Lid", "Carla Coordinator", "Cees Lid"]
    assert "meets the rule" in rows[0] and "falls short" not in rows[0]
    assert all("falls short" in r for r in rows[1:])
    assert "3 members fall short." in html
    assert "at least 2 meetings a year" in html
    assert "16 Jun 2024" in html and "15 Jun 2025" in html


def test_participation_without_a_rule_shows_counts_and_a_hint(noord, coo_client, people):
    make_meeting(noord, held_on=date(2025, 2, 1), attendees=(people["Anna"],))

    with network_context(noord.id):
        summary = {m.id: (attended, meets) for m, attended, meets in participation_summary(noord)}
    assert summary[people["Anna"].id] == (1, None)
    assert summary[people["Bram"].id] == (0, None)

    html = coo_client.get("/n/noord/meetings/participation").get_data(as_text=True)
    assert "No participation rule is set" in html and "network settings" in html
    assert 'href="/n/noord/settings"' in html
    assert '<span class="tag">falls short' not in html and "meets the rule" not in html
    assert re.search(r"Anna Lid</a></td>\s*<td>[^<]*</td>\s*<td>1</td>", html)


def test_participation_rule_of_zero_is_met_by_everyone(noord, people):
    noord.participation_min_meetings = 0
    db.session.commit()
    with network_context(noord.id):
        assert {meets for _m, _n, meets in participation_summary(noord)} == {True}


def add_members(network: Network, count: int, meeting: Meeting, *, start: int = 0) -> None:
    """Many members fast: users without a password, each with a discipline and one attendance."""
    dietist = db.session.scalar(select(Discipline.id).where(Discipline.code == "dietist"))
    with network_context(network.id):
        for i in range(start, start + count):
            user = User(email=f"lid{i:03d}@example.nl", full_name=f"Lid {i:03d}", locale="en")
            db.session.add(user)
            db.session.flush()
            membership = Membership(network_id=network.id, user_id=user.id)
            db.session.add(membership)
            db.session.flush()
            db.session.add(MembershipDiscipline(network_id=network.id, membership_id=membership.id,
                                                discipline_id=dietist))
            db.session.add(Attendance(network_id=network.id, meeting_id=meeting.id, membership_id=membership.id))
        db.session.commit()


def test_participation_page_query_count_does_not_grow_with_the_members(noord, coo_client):
    noord.participation_min_meetings = 1
    db.session.commit()
    meeting = make_meeting(noord, held_on=date(2025, 5, 1))
    add_members(noord, 4, meeting)  # 5 members with the coordinator
    coo_client.get("/n/noord/meetings/participation")  # warm-up: first-use caches
    with counted_statements() as few:
        response = coo_client.get("/n/noord/meetings/participation")
    assert len(body_rows(response.get_data(as_text=True))) == 5

    add_members(noord, 55, meeting, start=4)  # 60 members
    with counted_statements() as many:
        response = coo_client.get("/n/noord/meetings/participation")
    html = response.get_data(as_text=True)
    assert len(body_rows(html)) == 60
    assert "Dietician" in html and "1 member falls short." in html  # only the coordinator attended nothing

    assert len(many) == len(few), "\n".join(many)
    assert len(few) <= 8, "\n".join(few)


def test_meeting_list_query_count_does_not_grow_with_the_meetings(noord, coo_client, people):
    for day in range(1, 4):
        make_meeting(noord, held_on=date(2025, 1, day), attendees=tuple(people.values()))
    coo_client.get("/n/noord/meetings/")
    with counted_statements() as few:
        coo_client.get("/n/noord/meetings/")
    for day in range(4, 29):
        make_meeting(noord, held_on=date(2025, 1, day), attendees=tuple(people.values()))
    with counted_statements() as many:
        html = coo_client.get("/n/noord/meetings/").get_data(as_text=True)
    assert len(body_rows(html)) == 25
    assert len(many) == len(few), "\n".join(many)


# --- isolation ------------------------------------------------------------------------------------

def test_meetings_and_participation_stay_inside_the_network(noord, coo_client, people):
    zuid = make_network("zuid", participation_min_meetings=1)
    zoe = member(zuid, "zoe@example.nl", name="Zoe Zuid")
    zuid_coordinator = member(zuid, "zc@example.nl", role=Role.COORDINATOR, name="Zuid Coordinator")
    foreign = make_meeting(zuid, title="Zuidelijk overleg", held_on=date(2025, 5, 1), attendees=(zoe,))
    own = make_meeting(noord, title="Noordelijk overleg", held_on=date(2025, 5, 1), attendees=(people["Anna"],))

    index = coo_client.get("/n/noord/meetings/").get_data(as_text=True)
    assert "Noordelijk overleg" in index and "Zuidelijk overleg" not in index
    participation = coo_client.get("/n/noord/meetings/participation").get_data(as_text=True)
    assert "Zoe Zuid" not in participation and "Zuid Coordinator" not in participation
    for path in (f"/n/noord/meetings/{foreign.id}", f"/n/noord/meetings/{foreign.id}/edit",
                 f"/n/noord/meetings/{foreign.id}/delete", "/n/zuid/meetings/", "/n/zuid/meetings/participation"):
        assert coo_client.get(path).status_code == 404, path
    # A foreign member cannot be slipped into our attendance.
    response = coo_client.post(f"/n/noord/meetings/{own.id}/edit", data=meeting_data(attendees=[zoe.id]))
    assert response.status_code == 200
    assert attendee_ids(noord, own.id) == {people["Anna"].id}

    with network_context(zuid.id):
        summary = {m.user.full_name: n for m, n, _meets in participation_summary(zuid)}
    assert summary == {"Zoe Zuid": 1, "Zuid Coordinator": 0}
    assert zuid_coordinator.network_id == zuid.id
