"""Closing through the route: a member closes their part (with a summary and a confirmation) and no
longer sees the case; the central care provider closes the case only when every other part is closed
(the refusal names who is still open); closing closes the referral and drafts the closing letter."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from app.cases import services
from app.cases.models import CareTeamMember, Case, CaseStatus, Letter, LetterKind, TeamStatus
from app.core.db import utcnow
from app.core.tenancy import network_context
from app.extensions import db
from app.networks.models import Membership, Role
from app.referrals.models import Referral, ReferralStatus
from tests.case_factories import add_to_team, make_case
from tests.conftest import login_as, make_gp, make_member, make_network


@pytest.fixture
def casus():
    zk = make_network("zk", approved_at=utcnow())
    coordinator = make_member(zk, "coordinator@zk.nl", role=Role.COORDINATOR, disciplines=("casemanager",),
                              name="Carla Coordinator")
    dietician = make_member(zk, "dietist@zk.nl", disciplines=("dietist",), name="Dirk Dietist")
    sexologist = make_member(zk, "seksuoloog@zk.nl", disciplines=("seksuoloog",), name="Sara Seksuoloog")
    gp = make_gp("gp@example.nl", "01234567", email_verified_at=utcnow())
    case = make_case(zk, gp, coordinator)
    rows = {"dietician": add_to_team(case, coordinator.user, dietician),
            "sexologist": add_to_team(case, coordinator.user, sexologist)}
    return {"zk": zk, "case": case, "coordinator": coordinator, "dietician": dietician, "sexologist": sexologist,
            "rows": rows, "gp": gp}


def close_url(casus):
    return f"/n/zk/cases/{casus['case'].id}/afsluiten"


def team_row(casus, who) -> CareTeamMember:
    db.session.rollback()
    with network_context(casus["zk"].id):
        return db.session.get(CareTeamMember, casus["rows"][who].id, populate_existing=True)


def case_now(casus) -> Case:
    db.session.rollback()
    with network_context(casus["zk"].id):
        return db.session.get(Case, casus["case"].id, populate_existing=True)


def close_part(client, casus, who, summary="Voedingsadvies gegeven; gewicht stabiel"):
    login_as(client, casus[who].user)
    return client.post(close_url(casus), data={"what": "part", "part_summary": summary, "part_confirm": "y"})


def test_a_member_closes_their_part_and_no_longer_sees_the_case(client, casus):
    login_as(client, casus["dietician"].user)
    html = client.get(close_url(casus)).get_data(as_text=True)
    assert 'name="part_summary"' in html and 'name="case_summary"' not in html

    response = close_part(client, casus, "dietician")
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/n/zk/cases/")
    row = team_row(casus, "dietician")
    assert (row.status, row.part_summary) == (TeamStatus.LEFT, "Voedingsadvies gegeven; gewicht stabiel")
    assert row.left_at is not None
    assert client.get(close_url(casus)).status_code == 404
    assert client.get(f"/n/zk/cases/{casus['case'].id}/notities").status_code == 404
    assert case_now(casus).status is CaseStatus.ACTIVE


@pytest.mark.parametrize("data", [
    {"what": "part", "part_summary": "Klaar"},  # not confirmed
    {"what": "part", "part_summary": "  ", "part_confirm": "y"},  # no summary
    {"part_summary": "Klaar", "part_confirm": "y"},  # not said what to close
])
def test_closing_a_part_needs_a_summary_and_a_confirmation(client, casus, data):
    login_as(client, casus["dietician"].user)
    response = client.post(close_url(casus), data=data)
    assert response.status_code == 400
    assert team_row(casus, "dietician").status is TeamStatus.ACTIVE


def test_case_close_is_refused_while_parts_are_open_and_names_them(client, casus):
    login_as(client, casus["coordinator"].user)  # the central care provider after the intake
    html = client.get(close_url(casus)).get_data(as_text=True)
    assert 'name="case_summary"' in html and 'name="part_summary"' not in html
    close_part(client, casus, "dietician")

    login_as(client, casus["coordinator"].user)
    response = client.post(close_url(casus), data={"what": "case", "case_summary": "Zorg afgerond",
                                                   "case_confirm": "y"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Sara Seksuoloog" in html and "flash-error" in html
    assert "Zorg afgerond" in html  # the summary is kept
    case = case_now(casus)
    assert case.status is CaseStatus.ACTIVE and case.closed_at is None
    with network_context(casus["zk"].id):
        assert db.session.scalars(select(Letter).where(Letter.kind == LetterKind.CLOSING)).all() == []


def test_the_central_provider_closes_the_case_the_referral_and_drafts_the_letter(client, casus):
    close_part(client, casus, "dietician")
    close_part(client, casus, "sexologist", "Twee gesprekken met Wim en zijn vrouw")

    login_as(client, casus["coordinator"].user)
    response = client.post(close_url(casus), data={"what": "case", "case_summary": "Zorg afgerond"})
    assert response.status_code == 400  # the confirmation is missing
    assert case_now(casus).status is CaseStatus.ACTIVE

    response = client.post(close_url(casus), data={"what": "case", "case_summary": "Zorg afgerond",
                                                   "case_confirm": "y"})
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/n/zk/cases/{casus['case'].id}/brieven")
    case = case_now(casus)
    assert (case.status, case.closing_summary) == (CaseStatus.CLOSED, "Zorg afgerond")
    with network_context(casus["zk"].id):
        referral = db.session.scalar(select(Referral).where(Referral.id == case.referral_id))
        assert referral.status is ReferralStatus.CLOSED
        [letter] = db.session.scalars(select(Letter).where(Letter.kind == LetterKind.CLOSING)).all()
        assert letter.sent_at is None  # a draft
        assert "Zorg afgerond" in letter.body and "Twee gesprekken" in letter.body

    html = client.get(close_url(casus)).get_data(as_text=True)
    assert "Zorg afgerond" in html and 'name="case_summary"' not in html
    # Closed cases are kept; writing in them is refused.
    response = client.post(f"/n/zk/cases/{casus['case'].id}/notities", data={"body": "Na afsluiten",
                                                                              "visibility": "team"})
    assert response.status_code == 400
    assert client.post(close_url(casus), data={"what": "case", "case_summary": "Nog eens",
                                               "case_confirm": "y"}).status_code == 400


def test_only_the_central_provider_closes_the_case(client, casus):
    login_as(client, casus["dietician"].user)
    response = client.post(close_url(casus), data={"what": "case", "case_summary": "Klaar", "case_confirm": "y"})
    assert response.status_code == 400
    assert case_now(casus).status is CaseStatus.ACTIVE


def test_a_member_central_provider_closes_the_case_not_only_their_part(client, casus):
    with network_context(casus["zk"].id):
        services.set_central(db.session.get(Case, casus["case"].id), casus["coordinator"].user,
                             db.session.get(Membership, casus["dietician"].id))
        db.session.commit()
    login_as(client, casus["dietician"].user)
    html = client.get(close_url(casus)).get_data(as_text=True)
    assert 'name="case_summary"' in html and 'name="part_summary"' not in html
    response = client.post(close_url(casus), data={"what": "part", "part_summary": "Klaar", "part_confirm": "y"})
    assert response.status_code == 400
    assert team_row(casus, "dietician").status is TeamStatus.ACTIVE

    close_part(client, casus, "sexologist")
    login_as(client, casus["dietician"].user)
    response = client.post(close_url(casus), data={"what": "case", "case_summary": "Klaar", "case_confirm": "y"})
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/n/zk/cases/")  # they no longer see the case
    assert case_now(casus).status is CaseStatus.CLOSED
    assert team_row(casus, "dietician").status is TeamStatus.LEFT


def test_outsiders_get_404(client, casus):
    physio = make_member(casus["zk"], "fysio@zk.nl", disciplines=("fysiotherapeut",))
    login_as(client, physio.user)
    assert client.get(close_url(casus)).status_code == 404
    assert client.post(close_url(casus), data={"what": "case", "case_summary": "x", "case_confirm": "y"}
                       ).status_code == 404
    tw = make_network("tw")
    other = make_member(tw, "coordinator@tw.nl", role=Role.COORDINATOR)
    login_as(client, other.user)
    assert client.get(close_url(casus)).status_code == 404
    other_case = make_case(tw, casus["gp"], other)
    assert client.get(f"/n/tw/cases/{other_case.id}/afsluiten").status_code == 200
