"""Notes and next actions through the routes: who reads which note (every visibility, every kind of
viewer), hidden notes answer 404, editing keeps the earlier text, the notes page needs the notes part of
the consent, its query count does not grow with the notes; next steps (add, done, overdue) and the
start page's overdue list across networks."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from app.cases import services
from app.cases.access import case_access, note_visible
from app.cases.models import (
    Case,
    CaseAction,
    Consent,
    ConsentPart,
    Note,
    NoteDiscipline,
    NoteVersion,
    NoteVisibility,
)
from app.cases.start_page import overdue_actions_for_user
from app.core.audit import AuditEvent, AuditOutcome
from app.core.db import utcnow
from app.core.tenancy import network_context
from app.extensions import db
from app.networks.models import Discipline, Membership, MembershipDiscipline, Role
from tests.case_factories import add_to_team, make_case, write_note
from tests.conftest import counted_statements, login_as, make_gp, make_member, make_network

T, D, P = NoteVisibility.TEAM, NoteVisibility.DISCIPLINE, NoteVisibility.PRIVATE


@pytest.fixture
def casus():
    """Network ZK with Wim Jansen's case: the dietician writes a note of every visibility."""
    zk = make_network("zk", approved_at=utcnow())
    tw = make_network("tw", approved_at=utcnow())
    coordinator = make_member(zk, "coordinator@zk.nl", role=Role.COORDINATOR, disciplines=("casemanager",), locale="en")
    dietician = make_member(zk, "dietist@zk.nl", disciplines=("dietist",), locale="en")
    dietician2 = make_member(zk, "dietist2@zk.nl", disciplines=("dietist",), locale="en")
    sexologist = make_member(zk, "seksuoloog@zk.nl", disciplines=("seksuoloog",), locale="en")
    physio = make_member(zk, "fysio@zk.nl", disciplines=("fysiotherapeut",), locale="en")  # not on the team
    other_network = make_member(tw, "dietist@tw.nl", disciplines=("dietist",), locale="en")
    gp = make_gp("gp@example.nl", "01234567", email_verified_at=utcnow())
    case = make_case(zk, gp, coordinator)
    add_to_team(case, coordinator.user, dietician)
    add_to_team(case, coordinator.user, dietician2)
    add_to_team(case, coordinator.user, sexologist)
    notes = {v: write_note(case, dietician, f"NOTE-{v.value}", v) for v in NoteVisibility}
    return {"zk": zk, "tw": tw, "case": case, "coordinator": coordinator, "dietician": dietician,
            "dietician2": dietician2, "sexologist": sexologist, "physio": physio,
            "other_network": other_network, "gp": gp, "notes": notes}


def notes_url(casus, case_id=None):
    return f"/n/zk/cases/{case_id or casus['case'].id}/notities"


def note_url(casus, note_id):
    return f"/n/zk/cases/{casus['case'].id}/notities/{note_id}"


def fresh(model, object_id, network):
    """The row as the database has it now (the test's session may hold an older copy)."""
    db.session.rollback()
    with network_context(network.id):
        return db.session.get(model, object_id, populate_existing=True)


def withdraw_all_consents(casus, membership):
    with network_context(casus["zk"].id):
        case = db.session.get(Case, casus["case"].id)
        for consent in services.consents_of(case):
            if membership.id in {m.membership_id for m in consent.members} and consent.withdrawn_at is None:
                services.withdraw_consent(consent, casus["coordinator"].user, "Patiënt wil dit niet meer")
        db.session.commit()


# who -> {visibility: reads the dietician's note of that visibility}; None: the notes page is 404.
VIEWERS = {
    "dietician": {T: True, D: True, P: True},  # the author
    "dietician2": {T: True, D: True, P: False},  # same discipline, on the team
    "sexologist": {T: True, D: False, P: False},  # other discipline, on the team
    "coordinator": {T: True, D: False, P: False},  # others' discipline and private notes stay private
    "withdrawn": None,  # the sexologist after the patient withdrew consent
    "physio": None,  # a member of the network, not on the team
    "other_network": None,  # a member of another network
}


@pytest.mark.parametrize("who", list(VIEWERS))
def test_who_reads_which_note_through_the_routes(client, casus, who):
    if who == "withdrawn":
        withdraw_all_consents(casus, casus["sexologist"])
        user = casus["sexologist"].user
    else:
        user = casus[who].user
    login_as(client, user)
    expected = VIEWERS[who]

    response = client.get(notes_url(casus))
    if expected is None:
        assert response.status_code == 404
        for visibility in NoteVisibility:
            assert f"NOTE-{visibility.value}" not in response.get_data(as_text=True)
    else:
        assert response.status_code == 200
        html = response.get_data(as_text=True)
        for visibility, sees in expected.items():
            assert (f"NOTE-{visibility.value}" in html) is sees, (who, visibility)
    if who == "other_network":  # their own network's URL with this case's ids: not found there either
        assert client.get(f"/n/tw/cases/{casus['case'].id}/notities").status_code == 404
        assert client.get(f"/n/tw/cases/{casus['case'].id}/notities/{casus['notes'][T].id}").status_code == 404
    for visibility, note in casus["notes"].items():
        response = client.get(note_url(casus, note.id))
        sees = bool(expected and expected[visibility])
        assert response.status_code == (200 if sees else 404), (who, visibility)
        assert (f"NOTE-{visibility.value}" in response.get_data(as_text=True)) is sees


def test_a_hidden_note_is_refused_and_logged(client, casus):
    private = casus["notes"][P]
    login_as(client, casus["sexologist"].user)
    assert client.get(note_url(casus, private.id)).status_code == 404
    assert client.post(note_url(casus, private.id), data={"note_body": "overwritten"}).status_code == 404
    denied = db.session.scalars(select(AuditEvent).where(AuditEvent.event == "case.note_access_denied")).all()
    assert [(e.object_type, e.object_id, e.outcome) for e in denied] == [("note", private.id, AuditOutcome.DENIED)] * 2
    assert fresh(Note, private.id, casus["zk"]).body == "NOTE-private"


def test_a_note_of_another_case_is_404(client, casus):
    other_case = make_case(casus["zk"], casus["gp"], casus["coordinator"], story="Ander verhaal")
    note = write_note(other_case, casus["coordinator"], "OTHER-CASE-NOTE", T)
    login_as(client, casus["coordinator"].user)
    response = client.get(note_url(casus, note.id))  # the note id under the wrong case
    assert response.status_code == 404
    assert "OTHER-CASE-NOTE" not in response.get_data(as_text=True)


def test_a_member_with_only_the_intake_part_gets_404_on_notes_and_proms(client, casus):
    physio = casus["physio"]
    add_to_team(casus["case"], casus["coordinator"].user, physio, parts={ConsentPart.INTAKE})
    login_as(client, physio.user)
    assert client.get(notes_url(casus)).status_code == 404
    assert client.get(f"/n/zk/cases/{casus['case'].id}/lastmeter").status_code == 404
    assert client.post(notes_url(casus), data={"body": "x", "visibility": "team"}).status_code == 404
    with network_context(casus["zk"].id):
        assert db.session.scalar(select(Note).where(Note.body == "x")) is None


def test_write_a_note_of_each_visibility(client, casus):
    sexologist = casus["sexologist"]
    login_as(client, sexologist.user)
    for visibility in NoteVisibility:
        response = client.post(notes_url(casus), data={"body": f"SEX-{visibility.value}",
                                                       "visibility": visibility.value})
        assert response.status_code == 303
        assert response.headers["Location"].endswith(notes_url(casus))
    with network_context(casus["zk"].id):
        written = {n.body: n for n in db.session.scalars(select(Note).where(
            Note.author_membership_id == sexologist.id))}
    assert {n.visibility for n in written.values()} == set(NoteVisibility)
    html = client.get(notes_url(casus)).get_data(as_text=True)
    assert all(f"SEX-{v.value}" in html for v in NoteVisibility)
    sexology = db.session.scalar(select(Discipline).where(Discipline.code == "seksuoloog"))
    assert sexology.name_en in html  # the author's discipline (when writing) is shown

    # The dietician (other discipline) reads only the team note of the sexologist.
    login_as(client, casus["dietician"].user)
    html = client.get(notes_url(casus)).get_data(as_text=True)
    assert "SEX-team" in html and "SEX-discipline" not in html and "SEX-private" not in html


def test_an_empty_note_keeps_the_form_and_says_why(client, casus):
    login_as(client, casus["dietician"].user)
    response = client.post(notes_url(casus), data={"body": "   ", "visibility": "team"})
    assert response.status_code == 400
    response = client.post(notes_url(casus), data={"body": "Advies gegeven", "visibility": "nobody"})
    assert response.status_code == 400
    assert "Advies gegeven" in response.get_data(as_text=True)  # the text is kept


def test_a_member_without_discipline_cannot_write_a_discipline_note(client, casus):
    """The service refuses; the message is shown and the text kept."""
    member = make_member(casus["zk"], "zonder@zk.nl")
    add_to_team(casus["case"], casus["coordinator"].user, member)
    login_as(client, member.user)
    response = client.post(notes_url(casus), data={"body": "Mijn tekst", "visibility": "discipline"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Mijn tekst" in html
    assert "flash-error" in html


def test_every_listing_writes_one_audit_read_row(client, casus):
    login_as(client, casus["dietician"].user)
    before = db.session.scalar(select(AuditEvent.id).order_by(AuditEvent.id.desc()).limit(1))
    client.get(notes_url(casus))
    db.session.rollback()
    rows = db.session.scalars(select(AuditEvent).where(AuditEvent.id > before)).all()
    assert [(r.event, r.object_type, r.object_id, r.patient_id) for r in rows] == [
        ("case.notes_viewed", "case", casus["case"].id, casus["case"].patient_id)]


def test_editing_keeps_the_earlier_text(client, casus):
    note = casus["notes"][T]
    login_as(client, casus["dietician"].user)
    response = client.post(note_url(casus, note.id), data={"note_body": "NOTE-team, aangevuld"})
    assert response.status_code == 303
    current = fresh(Note, note.id, casus["zk"])
    with network_context(casus["zk"].id):
        assert (current.body, current.version) == ("NOTE-team, aangevuld", 2)
        [old] = db.session.scalars(select(NoteVersion).where(NoteVersion.note_id == note.id)).all()
        assert (old.version, old.body) == (1, "NOTE-team")

    listing = client.get(notes_url(casus)).get_data(as_text=True)
    assert "NOTE-team, aangevuld" in listing
    assert "edited (version 2)" in listing
    page = client.get(note_url(casus, note.id)).get_data(as_text=True)
    assert "NOTE-team, aangevuld" in page and "NOTE-team</div>" in page  # current and earlier text

    # Another reader sees the versions but cannot change the note.
    login_as(client, casus["sexologist"].user)
    page = client.get(note_url(casus, note.id)).get_data(as_text=True)
    assert "NOTE-team</div>" in page and 'name="note_body"' not in page
    response = client.post(note_url(casus, note.id), data={"note_body": "vervalst"})
    assert response.status_code == 400
    assert fresh(Note, note.id, casus["zk"]).body == "NOTE-team, aangevuld"


def test_notes_page_query_count_does_not_grow_with_the_notes(client, casus):
    login_as(client, casus["dietician"].user)
    client.get(notes_url(casus))  # warm-up (first request loads the disciplines etc.)
    with counted_statements() as few:
        assert client.get(notes_url(casus)).status_code == 200
    for index in range(27):
        write_note(casus["case"], casus["dietician2"], f"Extra {index}", T if index % 2 else D)
    with counted_statements() as many:
        response = client.get(notes_url(casus))
    assert response.status_code == 200
    assert len(many) == len(few), (len(few), len(many))
    html = response.get_data(as_text=True)
    assert html.count('data-note="') == 25  # a page at a time
    assert "30 notes you may read" in html
    assert client.get(notes_url(casus) + "?page=2").get_data(as_text=True).count('data-note="') == 5


def _bulk_notes(casus, count: int) -> None:
    """*count* notes of every visibility by the other dietician and the sexologist, inserted in bulk."""
    authors = [casus["dietician2"], casus["sexologist"]]
    with network_context(casus["zk"].id):
        groups = {a.id: list(db.session.scalars(select(Discipline.id).join(
            MembershipDiscipline, MembershipDiscipline.discipline_id == Discipline.id).where(
            MembershipDiscipline.membership_id == a.id))) for a in authors}
        rows = [Note(network_id=casus["zk"].id, case_id=casus["case"].id, author_membership_id=author.id,
                     visibility=visibility, discipline_ids=groups[author.id], body=f"Bulk {index}", version=1)
                for index in range(count)
                for author, visibility in [(authors[index % 2], (T, D, P)[index % 3])]]
        db.session.add_all(rows)
        db.session.flush()
        db.session.add_all(NoteDiscipline(network_id=casus["zk"].id, note_id=row.id, discipline_id=discipline_id)
                           for row in rows for discipline_id in row.discipline_ids)
        db.session.commit()


@pytest.mark.parametrize("reader", ["dietician", "sexologist", "coordinator"])
def test_the_notes_page_reads_a_page_from_the_database_for_10_and_500_notes(client, casus, reader):
    """Filtered, counted and paged in SQL: the same statements for 10 and 500 notes, every statement on the
    notes table limited to a page or a count, and exactly the notes note_visible allows."""
    login_as(client, casus[reader].user)
    statements = {}
    for size, extra in (("small", 7), ("large", 490)):
        _bulk_notes(casus, extra)
        client.get(notes_url(casus))  # warm-up
        with counted_statements() as seen:
            html = client.get(notes_url(casus)).get_data(as_text=True)
        statements[size] = seen
        on_notes = [s for s in seen if "FROM notes" in s]
        assert on_notes and all("LIMIT" in s or "count(" in s for s in on_notes), on_notes
        with network_context(casus["zk"].id):
            case = db.session.get(Case, casus["case"].id)
            access = case_access(case, db.session.get(Membership, casus[reader].id))
            allowed = [n for n in db.session.scalars(select(Note).where(Note.case_id == case.id))
                       if note_visible(n, access)]
        assert f"{len(allowed)} notes you may read" in html
        assert html.count('data-note="') == min(25, len(allowed))
    assert len(statements["large"]) == len(statements["small"])


# --- next steps ------------------------------------------------------------------------------------

def actions_url(casus):
    return f"/n/zk/cases/{casus['case'].id}/acties"


def add_step(casus, owner: Membership, description: str, due_on: date) -> CaseAction:
    """Directly through the service (a due date in the past is only possible here, for overdue tests)."""
    with network_context(casus["zk"].id):
        row = services.add_action(db.session.get(Case, casus["case"].id), casus["coordinator"].user,
                                  description=description, owner=db.session.get(Membership, owner.id), due_on=due_on)
        db.session.commit()
        return row


def test_add_a_step_for_a_team_member(client, casus):
    login_as(client, casus["dietician"].user)
    due = date.today() + timedelta(days=7)
    response = client.post(actions_url(casus), data={"description": "Voedingsadvies evalueren",
                                                     "owner": casus["sexologist"].id, "due_on": due.isoformat()})
    assert response.status_code == 303
    with network_context(casus["zk"].id):
        [row] = db.session.scalars(select(CaseAction)).all()
        assert (row.description, row.owner_membership_id, row.due_on) == (
            "Voedingsadvies evalueren", casus["sexologist"].id, due)
    html = client.get(actions_url(casus)).get_data(as_text=True)
    assert "Voedingsadvies evalueren" in html and casus["sexologist"].user.full_name in html


@pytest.mark.parametrize("data, field", [
    ({"description": "", "due_on": "+7"}, "description"),
    ({"description": "Bellen", "due_on": "-1"}, "due_on"),  # in the past
    ({"description": "Bellen", "due_on": ""}, "due_on"),
    ({"description": "Bellen", "due_on": "+7", "owner": "physio"}, "owner"),  # not on the team
])
def test_a_step_needs_a_text_a_team_owner_and_a_date_not_in_the_past(client, casus, data, field):
    login_as(client, casus["dietician"].user)
    due = data["due_on"]
    form = {"description": data["description"],
            "due_on": (date.today() + timedelta(days=int(due))).isoformat() if due else "",
            "owner": casus[data.get("owner", "dietician")].id}
    response = client.post(actions_url(casus), data=form)
    assert response.status_code == 400
    assert f'id="{field}-err"' in response.get_data(as_text=True)
    with network_context(casus["zk"].id):
        assert db.session.scalars(select(CaseAction)).all() == []


def test_the_owner_or_the_coordinator_marks_a_step_done(client, casus):
    row = add_step(casus, casus["sexologist"], "Gesprek met partner plannen", date.today() + timedelta(days=3))
    done_url = f"{actions_url(casus)}/{row.id}/klaar"

    login_as(client, casus["dietician"].user)  # on the team, not the owner
    html = client.get(actions_url(casus)).get_data(as_text=True)
    assert done_url not in html
    assert client.post(done_url, data={}).status_code == 303
    assert fresh(CaseAction, row.id, casus["zk"]).done_at is None

    login_as(client, casus["sexologist"].user)
    assert done_url in client.get(actions_url(casus)).get_data(as_text=True)
    assert client.post(done_url, data={}).status_code == 303
    assert fresh(CaseAction, row.id, casus["zk"]).done_at is not None

    other = add_step(casus, casus["dietician"], "Gewicht wegen", date.today() + timedelta(days=3))
    login_as(client, casus["coordinator"].user)
    assert client.post(f"{actions_url(casus)}/{other.id}/klaar", data={}).status_code == 303
    assert fresh(CaseAction, other.id, casus["zk"]).done_at is not None


def test_a_step_of_another_case_is_404(client, casus):
    other_case = make_case(casus["zk"], casus["gp"], casus["coordinator"], story="Ander verhaal")
    with network_context(casus["zk"].id):
        row = services.add_action(db.session.get(Case, other_case.id), casus["coordinator"].user,
                                  description="Elders", owner=db.session.get(Membership, casus["coordinator"].id),
                                  due_on=date.today())
        db.session.commit()
    login_as(client, casus["coordinator"].user)
    assert client.post(f"{actions_url(casus)}/{row.id}/klaar", data={}).status_code == 404


def test_overdue_steps_are_marked(client, casus):
    add_step(casus, casus["dietician"], "Te laat", date.today() - timedelta(days=2))
    add_step(casus, casus["dietician"], "Op tijd", date.today() + timedelta(days=2))
    login_as(client, casus["dietician"].user)
    html = client.get(actions_url(casus)).get_data(as_text=True)
    late_row = html[html.index("Te laat") - 200: html.index("Te laat")]
    assert 'class="overdue"' in late_row
    on_time_row = html[html.index("Op tijd") - 200: html.index("Op tijd")]
    assert 'class="overdue"' not in on_time_row


def test_start_page_helper_lists_overdue_steps_across_networks(casus):
    dietician = casus["dietician"]
    add_step(casus, dietician, "ZK te laat", date.today() - timedelta(days=1))
    add_step(casus, dietician, "ZK nog niet", date.today())
    add_step(casus, casus["sexologist"], "Van een ander", date.today() - timedelta(days=1))
    # The same user in network TW, owner of an overdue step there.
    tw_coordinator = make_member(casus["tw"], "coordinator@tw.nl", role=Role.COORDINATOR)
    tw_dietician = make_member(casus["tw"], dietician.user.email, disciplines=("dietist",))
    tw_case = make_case(casus["tw"], casus["gp"], tw_coordinator)
    add_to_team(tw_case, tw_coordinator.user, tw_dietician)
    with network_context(casus["tw"].id):
        services.add_action(db.session.get(Case, tw_case.id), tw_coordinator.user, description="TW te laat",
                            owner=db.session.get(Membership, tw_dietician.id), due_on=date.today() - timedelta(days=3))
        db.session.commit()

    found = overdue_actions_for_user(dietician.user)
    assert sorted((network.slug, step.description) for network, step in found) == [
        ("tw", "TW te laat"), ("zk", "ZK te laat")]

    # The consent in ZK is withdrawn: that case (and its steps) disappear from the start page too.
    withdraw_all_consents(casus, dietician)
    assert [(n.slug, s.description) for n, s in overdue_actions_for_user(dietician.user)] == [("tw", "TW te laat")]


def test_overdue_partial_renders_links_per_network(app, casus):
    from flask import render_template

    add_step(casus, casus["dietician"], "ZK te laat", date.today() - timedelta(days=1))
    found = overdue_actions_for_user(casus["dietician"].user)
    with app.test_request_context("/"):
        html = render_template("main/_overdue_actions.html", overdue_actions=found)
        assert f'href="/n/zk/cases/{casus["case"].id}/acties"' in html
        assert "ZK te laat" in html
        assert render_template("main/_overdue_actions.html", overdue_actions=[]).strip() == ""


def test_withdrawn_consent_hides_the_steps_page(client, casus):
    withdraw_all_consents(casus, casus["sexologist"])
    login_as(client, casus["sexologist"].user)
    assert client.get(actions_url(casus)).status_code == 404
    with network_context(casus["zk"].id):
        assert db.session.scalars(select(Consent)).all()  # withdrawn, never deleted
