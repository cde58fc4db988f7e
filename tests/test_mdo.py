"""The case on a multidisciplinary meeting (issue 13 section 4), through the pages: the coordinator puts the case on
a coming MDO and asks the GP; the GP gives input in the GP portal (another GP cannot); the team reads it; the
conclusion drafts the report with the conclusion and the GP's input; after it the GP's form is closed. Bad input
gets a message and keeps the form; nobody outside the door records anything."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.cases.models import ConsentPart, Letter, LetterKind
from app.core.dates import local_today
from app.core.db import utcnow
from app.core.tenancy import network_context
from app.extensions import db
from app.meetings.models import Meeting, MeetingKind
from app.networks.models import Role
from app.palliative.models import MdoDiscussion
from tests.case_factories import add_to_team, make_case
from tests.conftest import csrf_token, delivered_mails, login_as, make_gp, make_member, make_network

SECRETS = ("Wim", "Jansen", "111222333", "Kerkstraat")


def _world():
    network = make_network("zk", approved_at=utcnow())
    coordinator = make_member(network, "coordinator@example.nl", role=Role.COORDINATOR, disciplines=("casemanager",),
                              name="Carla Coordinator")
    dietician = make_member(network, "dietist@example.nl", disciplines=("dietist",), name="Dirk Dietist")
    notes_only = make_member(network, "psycholoog@example.nl", disciplines=("psycholoog",))
    gp = make_gp("huisarts@example.nl", "01234567", email_verified_at=utcnow(), name="Hans Huisarts")
    other_gp = make_gp("ander@example.nl", "76543210", email_verified_at=utcnow(), name="Anna Ander")
    case = make_case(network, gp, coordinator)
    add_to_team(case, coordinator.user, dietician)
    add_to_team(case, coordinator.user, notes_only, parts={ConsentPart.NOTES})
    with network_context(network.id):
        coming = Meeting(network_id=network.id, held_on=local_today() + timedelta(days=7), kind=MeetingKind.PATZ,
                         title="PaTz Haarlem-Noord")
        past = Meeting(network_id=network.id, held_on=local_today() - timedelta(days=7), kind=MeetingKind.MDO,
                       title="MDO vorige week")
        training = Meeting(network_id=network.id, held_on=local_today() + timedelta(days=3),
                           kind=MeetingKind.TRAINING, title="Scholing")
        db.session.add_all([coming, past, training])
        db.session.commit()
        ids = {"coming": coming.id, "past": past.id, "training": training.id}
    return {"network": network, "coordinator": coordinator, "dietician": dietician, "notes_only": notes_only,
            "gp": gp, "other_gp": other_gp, "case": case, "url": f"/n/zk/cases/{case.id}/palliatief", **ids}


def _discussions(world) -> list[MdoDiscussion]:
    db.session.rollback()
    with network_context(world["network"].id):
        return list(db.session.scalars(select(MdoDiscussion).order_by(MdoDiscussion.id)))


def _plan(client, world, **fields):
    token = csrf_token(client, world["url"])
    return client.post(world["url"], data={"csrf_token": token, "form": "mdo_plan", **fields})


def test_the_case_goes_on_a_coming_meeting_and_the_gp_gives_input_in_the_portal(client, new_client):
    world = _world()
    login_as(client, world["coordinator"].user)
    page = client.get(world["url"]).get_data(as_text=True)
    assert "PaTz Haarlem-Noord" in page and "MDO vorige week" not in page and "Scholing" not in page
    # No meeting chosen, or one in the past, or a training: refused with the question kept.
    response = _plan(client, world, meeting_id="", question="Thuis of hospice?", ask_gp="y")
    assert response.status_code == 400 and "Thuis of hospice?" in response.get_data(as_text=True)
    for wrong in (world["past"], world["training"], 999999):
        response = _plan(client, world, meeting_id=str(wrong), question="Thuis of hospice?", ask_gp="y")
        assert response.status_code == 400, wrong
    assert _discussions(world) == []
    response = _plan(client, world, meeting_id=str(world["coming"]), question="Thuis of hospice?", ask_gp="y")
    assert response.status_code == 302
    (discussion,) = _discussions(world)
    assert discussion.gp_asked and discussion.question == "Thuis of hospice?"
    assert _plan(client, world, meeting_id=str(world["coming"]), ask_gp="y").status_code == 400  # once per meeting

    asked = delivered_mails("huisarts@example.nl", "referral_update")
    assert asked and "/verwijzer/verwijzingen/" in asked[-1]["body"]
    assert not [s for s in SECRETS if s in asked[-1]["body"] + asked[-1]["subject"]]

    # The GP sees the meeting and the question on the referral page, and answers.
    gp = login_as(new_client(), world["gp"])
    detail_url = f"/verwijzer/verwijzingen/{world['case'].referral_id}"
    detail = gp.get(detail_url).get_data(as_text=True)
    assert 'id="mdo"' in detail and "Thuis of hospice?" in detail and "PaTz" in detail
    input_url = f"{detail_url}/mdo/{discussion.id}"
    token = csrf_token(gp, detail_url)
    assert gp.post(input_url, data={"csrf_token": token}).status_code == 302  # empty: refused with a message
    assert _discussions(world)[0].gp_input_at is None
    response = gp.post(input_url, data={"csrf_token": token, "home_situation": "Slaapt beneden, vrouw zorgt",
                                        "patient_wishes": "Thuis sterven"})
    assert response.status_code == 302
    stored = _discussions(world)[0]
    assert stored.gp_home_situation == "Slaapt beneden, vrouw zorgt" and stored.gp_input_by_id == world["gp"].id
    # Another GP: the referral is not theirs: 404.
    other = login_as(new_client(), world["other_gp"])
    assert other.post(input_url, data={"csrf_token": csrf_token(other, "/verwijzer/verwijzingen/"),
                                       "home_situation": "x"}).status_code == 404

    # The team reads the GP's input on the path page; a member whose consent does not cover the intake part: 404.
    team = login_as(new_client(), world["dietician"].user)
    assert "Slaapt beneden, vrouw zorgt" in team.get(world["url"]).get_data(as_text=True)
    assert login_as(new_client(), world["notes_only"].user).get(world["url"]).status_code == 404


def test_the_conclusion_drafts_the_report_and_closes_the_gps_form(client, new_client):
    world = _world()
    with network_context(world["network"].id):
        meeting = db.session.get(Meeting, world["coming"])
        meeting.held_on = local_today() + timedelta(days=2)
        db.session.commit()
    login_as(client, world["coordinator"].user)
    _plan(client, world, meeting_id=str(world["coming"]), question="Welke zorg thuis?", ask_gp="y")
    (discussion,) = _discussions(world)
    # Before the meeting there is no conclusion form, and a posted conclusion is refused.
    assert 'name="conclusion"' not in client.get(world["url"]).get_data(as_text=True)
    token = csrf_token(client, world["url"])
    data = {"csrf_token": token, "form": "mdo_conclude", "discussion_id": str(discussion.id),
            "conclusion": "Thuiszorg uitbreiden"}
    assert client.post(world["url"], data=data).status_code == 400
    with network_context(world["network"].id):
        db.session.get(Meeting, world["coming"]).held_on = local_today()
        db.session.get(MdoDiscussion, discussion.id).gp_home_situation = "Redelijk"
        db.session.get(MdoDiscussion, discussion.id).gp_input_at = utcnow()
        db.session.commit()
    # An empty conclusion: refused; a dietician (not coordinator nor central): 404; a foreign id: 404.
    assert client.post(world["url"], data={**data, "conclusion": ""}).status_code == 400
    team = login_as(new_client(), world["dietician"].user)
    assert team.post(world["url"], data={**data, "csrf_token": csrf_token(team, world["url"])}).status_code == 404
    assert client.post(world["url"], data={**data, "discussion_id": "999999"}).status_code == 404
    response = client.post(world["url"], data=data)
    assert response.status_code == 302 and "/brieven/" in response.headers["Location"]
    stored = _discussions(world)[0]
    assert stored.conclusion == "Thuiszorg uitbreiden" and stored.letter_id
    with network_context(world["network"].id):
        letter = db.session.get(Letter, stored.letter_id)
        assert letter.kind is LetterKind.MDO and letter.sent_at is None
        assert "Thuiszorg uitbreiden" in letter.body and "Redelijk" in letter.body and "Welke zorg thuis?" in letter.body
    assert client.post(world["url"], data=data).status_code == 400  # concluded once

    gp = login_as(new_client(), world["gp"])
    detail_url = f"/verwijzer/verwijzingen/{world['case'].referral_id}"
    detail = gp.get(detail_url).get_data(as_text=True)
    assert f'action="{detail_url}/mdo/{discussion.id}"' not in detail  # the form is closed
    gp.post(f"{detail_url}/mdo/{discussion.id}", data={"csrf_token": csrf_token(gp, detail_url),
                                                        "home_situation": "Te laat"})
    assert _discussions(world)[0].gp_home_situation == "Redelijk"
    # The GP's key moments: on the agenda, and discussed (the report itself is sent from the letters page; its norm
    # is in tests/test_norms.py).
    assert 'data-kind="mdo_planned"' in detail and 'data-kind="mdo_concluded"' in detail
