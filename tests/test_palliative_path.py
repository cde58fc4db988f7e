"""The palliative path of a case (issue 13, part 2): a team member signals (the surprise question), the coordinator
or central care provider marks the palliative phase (the GP sees it the same day, on the timeline and by mail),
and the wishes conversation writes a new version of the wishes section that the team reads. Who may do what
follows the one case door; every bad input gets a message with the form kept; mail carries no patient data."""
from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from app.cases.models import Case, ConsentPart
from app.core.db import utcnow
from app.core.tenancy import network_context
from app.extensions import db
from app.networks.models import Role
from app.palliative.models import PalliativeEvent, PalliativeEventKind
from app.records import services as record_services
from app.records.models import SectionKey
from tests.case_factories import add_to_team, make_case
from tests.conftest import delivered_mails, login_as, make_gp, make_member, make_network

SECRETS = ("Wim", "Jansen", "111222333", "Kerkstraat", "diarree", "thuis")


def _world():
    network = make_network("zk", approved_at=utcnow())
    coordinator = make_member(network, "coordinator@example.nl", role=Role.COORDINATOR, disciplines=("casemanager",),
                              name="Carla Coordinator")
    dietician = make_member(network, "dietist@example.nl", disciplines=("dietist",), name="Dirk Dietist")
    notes_only = make_member(network, "psycholoog@example.nl", disciplines=("psycholoog",))
    outsider = make_member(network, "fysio@example.nl", disciplines=("fysiotherapeut",))
    gp = make_gp("huisarts@example.nl", "01234567", email_verified_at=utcnow(), name="Hans Huisarts")
    case = make_case(network, gp, coordinator)
    add_to_team(case, coordinator.user, dietician)
    add_to_team(case, coordinator.user, notes_only, parts={ConsentPart.NOTES})
    return {"network": network, "coordinator": coordinator, "dietician": dietician, "notes_only": notes_only,
            "outsider": outsider, "gp": gp, "case": case, "url": f"/n/zk/cases/{case.id}/palliatief"}


def _events(world) -> list[PalliativeEvent]:
    db.session.rollback()
    with network_context(world["network"].id):
        return list(db.session.scalars(select(PalliativeEvent).order_by(PalliativeEvent.id)))


def _no_secrets(mails) -> None:
    for mail in mails:
        text = f"{mail['subject']}\n{mail['body']}"
        assert not [s for s in SECRETS if s in text], mail["template"]


def test_a_team_member_signals_and_the_central_care_provider_and_the_gp_are_told(client, new_client):
    world = _world()
    login_as(client, world["dietician"].user)
    page = client.get(world["url"])
    assert page.status_code == 200 and 'id="signal"' in page.get_data(as_text=True)
    response = client.post(world["url"], data={"form": "signal", "indicators": ["weight_loss"], "remark": "Mager"})
    assert response.status_code == 400 and "Mager" in response.get_data(as_text=True)  # the question unticked
    assert _events(world) == []
    response = client.post(world["url"], data={"form": "signal", "not_surprised": "y",
                                               "indicators": ["weight_loss", "nonsense"], "remark": "Mager"})
    assert response.status_code == 400 and _events(world) == []  # a value the form does not offer
    response = client.post(world["url"], data={"form": "signal", "not_surprised": "y",
                                               "indicators": ["weight_loss", "symptoms"], "remark": "Mager"})
    assert response.status_code == 302
    [signal] = _events(world)
    assert (signal.kind, signal.indicators, signal.recorded_by_id) == (
        PalliativeEventKind.SIGNAL, ["symptoms", "weight_loss"], world["dietician"].user_id)
    to_central = delivered_mails("coordinator@example.nl", "palliative_news")
    to_gp = delivered_mails("huisarts@example.nl", "referral_update")
    assert len(to_central) == 1 and len(to_gp) == 1
    assert f"/n/zk/cases/{world['case'].id}/palliatief" in to_central[0]["body"]
    _no_secrets(to_central + to_gp)
    # A member whose consent lacks the intake part, and one not on the team, get a 404.
    for who in ("notes_only", "outsider"):
        other = login_as(new_client(), world[who].user)
        assert other.get(world["url"]).status_code == 404, who
        assert other.post(world["url"], data={"form": "signal", "not_surprised": "y"}).status_code == 404, who
    assert len(_events(world)) == 1


def test_the_marking_is_read_with_the_case_on_a_get_only(app, client):
    """The case header's marking comes with the case's own load (app.cases.access CASE_HEADER_COLUMNS) on a GET;
    a POST may mark the phase after the case is loaded, so there nothing is read ahead and the header asks."""
    from flask import g

    from app.cases.access import case_header_values, case_with_viewer_disciplines

    world = _world()
    login_as(client, world["coordinator"].user)
    mark = {"form": "mark", "marked_on": date.today().isoformat(), "informed": ["patient"], "confirm": "y"}
    assert client.post(world["url"], data=mark).status_code == 302
    case_id, coordinator = world["case"].id, world["coordinator"]
    for method, expected in (("GET", {"palliative_since": date.today()}), ("POST", None)):
        with app.test_request_context(method=method), network_context(world["network"].id):
            g.pop("case_header_values", None)  # the test's app context outlives each request context
            case, _disciplines = case_with_viewer_disciplines(case_id, coordinator)
            assert case.id == case_id and case_header_values(case_id) == expected, method
        db.session.rollback()


def test_the_coordinator_marks_the_phase_once_and_the_gp_sees_it_the_same_day(client, new_client):
    world = _world()
    dietician = login_as(new_client(), world["dietician"].user)
    mark = {"form": "mark", "marked_on": date.today().isoformat(), "informed": ["patient", "gp"], "confirm": "y"}
    assert dietician.post(world["url"], data=mark).status_code == 404  # not central, not the coordinator
    login_as(client, world["coordinator"].user)
    for bad, message in (({"confirm": ""}, "Vink het vakje aan"),
                         ({"marked_on": (date.today() + timedelta(days=1)).isoformat()}, "toekomst"),
                         ({"marked_on": "1850-01-01"}, "te ver terug"), ({"marked_on": "gisteren"}, "")):
        response = client.post(world["url"], data={**mark, **bad, "remark": "Besproken"})
        assert response.status_code == 400, bad
        assert "Besproken" in response.get_data(as_text=True) and message in response.get_data(as_text=True)
    assert _events(world) == []
    assert client.post(world["url"], data=mark).status_code == 302
    [marking] = _events(world)
    assert (marking.kind, marking.occurred_on, marking.informed) == (
        PalliativeEventKind.MARKED, date.today(), ["gp", "patient"])
    # The case shows it on every page, to whoever's consent covers the intake.
    assert 'id="palliative-tag"' in client.get(f"/n/zk/cases/{world['case'].id}").get_data(as_text=True)
    assert 'id="palliative-tag"' in dietician.get(f"/n/zk/cases/{world['case'].id}/notities").get_data(as_text=True)
    notes_only = login_as(new_client(), world["notes_only"].user)
    assert 'id="palliative-tag"' not in notes_only.get(
        f"/n/zk/cases/{world['case'].id}/notities").get_data(as_text=True)
    # The GP: a mail the same day and the moment on their referral page.
    to_gp = delivered_mails("huisarts@example.nl", "referral_update")
    assert len(to_gp) == 1
    _no_secrets(to_gp)
    gp = login_as(new_client(), world["gp"])
    gp_page = gp.get(f"/verwijzer/verwijzingen/{world['case'].referral_id}").get_data(as_text=True)
    assert "palliatieve fase" in gp_page.lower()
    # Once only.
    response = client.post(world["url"], data=mark)
    assert response.status_code == 400 and len(_events(world)) == 1


def test_the_wishes_conversation_writes_a_new_version_of_the_wishes_section(client, new_client):
    world = _world()
    with network_context(world["network"].id):
        before = record_services.sections_of(world["case"].patient_id, [SectionKey.WISHES]).get(SectionKey.WISHES)
        before_version, before_content = before.version, dict(before.content)
    login_as(client, world["coordinator"].user)
    page = client.get(world["url"]).get_data(as_text=True)
    assert 'id="wishes"' in page
    conversation = {"form": "wishes", "held_on": date.today().isoformat(), "participants": "Wim, Els, de huisarts",
                    "values_and_goals": "Zo lang mogelijk thuis bij Els", "preferred_place_of_death": "thuis",
                    "resuscitation": "yes", "euthanasia": "unknown", "representative": "Els Jansen"}
    response = client.post(world["url"], data={**conversation, "held_on": "2999-01-01"})
    assert response.status_code == 400 and "Zo lang mogelijk thuis bij Els" in response.get_data(as_text=True)
    response = client.post(world["url"], data={**conversation, "resuscitation": "maybe"})
    assert response.status_code == 400
    assert client.post(world["url"], data=conversation).status_code == 302
    with network_context(world["network"].id):
        after = record_services.sections_of(world["case"].patient_id, [SectionKey.WISHES]).get(SectionKey.WISHES)
    assert after.version == before_version + 1
    assert after.content["preferred_place_of_death"] == "thuis"
    assert after.content["values_and_goals"] == "Zo lang mogelijk thuis bij Els"
    assert after.content["resuscitation"] == "yes" and after.content["representative"] == "Els Jansen"
    for name in ("icu_admission", "hospital_admission", "artificial_nutrition"):  # what the form does not hold
        assert after.content.get(name) == before_content.get(name)
    [conversation_row] = _events(world)
    assert (conversation_row.kind, conversation_row.section_version) == (PalliativeEventKind.WISHES, after.version)
    # The dietician on the team reads the new wishes on the case page.
    dietician = login_as(new_client(), world["dietician"].user)
    assert "Zo lang mogelijk thuis bij Els" in dietician.get(f"/n/zk/cases/{world['case'].id}").get_data(as_text=True)


def test_nothing_is_recorded_on_a_closed_case(client):
    world = _world()
    with network_context(world["network"].id):
        case = db.session.get(Case, world["case"].id)
        from app.cases.models import CaseStatus

        case.status = CaseStatus.CLOSED
        db.session.commit()
    login_as(client, world["coordinator"].user)
    assert client.get(world["url"]).status_code == 200
    response = client.post(world["url"], data={"form": "signal", "not_surprised": "y"})
    assert response.status_code == 400 and _events(world) == []


def test_the_death_of_the_patient_closes_the_case_tells_everyone_and_assigns_the_bereavement_follow_up(
        client, new_client):
    world = _world()
    second = make_member(world["network"], "coordinator2@example.nl", role=Role.COORDINATOR, name="Cora Tweede")
    case_id = world["case"].id
    death = {"form": "death", "died_on": date.today().isoformat(), "place": "home", "preferred_place": "yes",
             "follow_up_user_id": str(second.user_id), "follow_up_due_on": (date.today() + timedelta(days=7)).isoformat(),
             "remark": "Rustig overleden", "confirm": "y"}
    dietician = login_as(new_client(), world["dietician"].user)
    assert dietician.post(world["url"], data=death).status_code == 404  # not central, not the coordinator
    login_as(client, world["coordinator"].user)
    for bad in ({"confirm": ""}, {"place": "moon"}, {"follow_up_user_id": str(world["dietician"].user_id)},
                {"follow_up_due_on": (date.today() - timedelta(days=1)).isoformat()},
                {"died_on": (date.today() + timedelta(days=1)).isoformat()}):
        response = client.post(world["url"], data={**death, **bad})
        assert response.status_code == 400, bad
        assert "Rustig overleden" in response.get_data(as_text=True), bad
    with network_context(world["network"].id):
        assert db.session.get(Case, case_id).status.value == "active"
    assert client.post(world["url"], data=death).status_code == 302

    db.session.rollback()  # a fresh look: the request committed in its own session
    with network_context(world["network"].id):
        case = db.session.get(Case, case_id)
        assert case.status.value == "closed"
        from app.cases.models import CareTeamMember, TeamStatus

        statuses = set(db.session.scalars(select(CareTeamMember.status).where(CareTeamMember.case_id == case_id)))
        assert statuses == {TeamStatus.LEFT}  # every part closed at once
    [row] = [e for e in _events(world) if e.kind is PalliativeEventKind.DECEASED]
    assert (row.place, row.preferred_place, row.follow_up_user_id) == ("home", "yes", second.user_id)
    # The team (without a link: their access ended) and the GP are told; no patient data.
    to_team = delivered_mails(template="case_closed_death")
    assert sorted(m["to"] for m in to_team) == ["dietist@example.nl", "psycholoog@example.nl"]
    assert all("http" not in m["body"] for m in to_team)
    to_gp = delivered_mails("huisarts@example.nl", "referral_update")
    assert len(to_gp) == 1
    _no_secrets(to_team + to_gp)
    assert dietician.get(f"/n/zk/cases/{case_id}").status_code == 404
    # The case leaves the active list.
    active = client.get("/n/zk/cases/?status=active").get_data(as_text=True)
    assert f"/n/zk/cases/{case_id}\"" not in active

    # The follow-up is on the assignee's start page (no patient named) until done, and on nobody else's.
    assistant = login_as(new_client(), second.user)
    start = assistant.get("/").get_data(as_text=True)
    assert f'data-case="{case_id}"' in start and "Jansen" not in start
    assert f'data-case="{case_id}"' not in client.get("/").get_data(as_text=True)
    assert client.post(world["url"], data={"form": "follow_up_done"}).status_code == 404  # not assigned to them
    assert assistant.post(world["url"], data={"form": "follow_up_done"}).status_code == 302
    assert f'data-case="{case_id}"' not in assistant.get("/").get_data(as_text=True)
    [row] = [e for e in _events(world) if e.kind is PalliativeEventKind.DECEASED]
    assert row.follow_up_done_by_id == second.user_id
