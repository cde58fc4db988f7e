"""The shared record on the case: the sections the door lets through, updating a section where the member's
discipline owns it (a new version with a reason, never a lost update), the history, and what changed
since the viewer's last visit."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.cases.models import Case, CaseStatus, ConsentPart
from app.core.dates import local_today
from app.core.db import utcnow
from app.core.tenancy import network_context
from app.extensions import db
from app.networks.models import Role
from app.records import services as record_services
from app.records.models import RecordSection, RecordSectionVersion, RecordSource, SectionKey
from tests.case_factories import add_to_team, make_case
from tests.conftest import csrf_token, login_as, make_gp, make_member, make_network


@pytest.fixture
def team():
    network = make_network("rec", approved_at=utcnow())
    coordinator = make_member(network, "coordinator@rec.nl", role=Role.COORDINATOR, disciplines=("casemanager",))
    dietician = make_member(network, "dietist@rec.nl", disciplines=("dietist",))
    nurse = make_member(network, "verpleegkundige@rec.nl", disciplines=("verpleegkundige",))
    intake_only = make_member(network, "fysio@rec.nl", disciplines=("fysiotherapeut",))
    gp = make_gp("gp@rec.nl", "01234567", email_verified_at=utcnow())
    case = make_case(network, gp, coordinator, story="Ik wil thuis blijven wonen.")
    add_to_team(case, coordinator.user, dietician)
    add_to_team(case, coordinator.user, nurse)
    add_to_team(case, coordinator.user, intake_only, parts={ConsentPart.INTAKE, ConsentPart.NOTES})
    with network_context(network.id):
        record_services.write_section(case.patient_id, SectionKey.MEDICATION,
                                      {"rows": [{"name": "Oxycodon", "dose": "5 mg"}]}, actor=coordinator.user,
                                      reason="uit de verwijzing", source=RecordSource.COORDINATOR)
        record_services.write_section(case.patient_id, SectionKey.DISTRESS, {"score": 7, "remarks": "DISTRESS-X"},
                                      actor=coordinator.user, reason="meting", source=RecordSource.COORDINATOR)
        db.session.commit()
    return {"network": network, "case": case, "coordinator": coordinator, "dietician": dietician,
            "nurse": nurse, "intake_only": intake_only}


def _url(team, tail: str = "") -> str:
    return f"/n/rec/cases/{team['case'].id}{tail}"


def _version(team, key: SectionKey) -> int:
    db.session.rollback()
    with network_context(team["network"].id):
        section = db.session.scalar(select(RecordSection).where(RecordSection.patient_id == team["case"].patient_id,
                                                                RecordSection.key == key))
        return section.version if section is not None else 0


def _post(client, url: str, data: dict):
    return client.post(url, data={"csrf_token": csrf_token(client, url), **data})


def test_the_team_sees_what_the_gp_handed_over_and_the_story(team, new_client):
    dietician = login_as(new_client(), team["dietician"].user)
    page = dietician.get(_url(team)).get_data(as_text=True)
    assert "Oxycodon" in page and "Ik wil thuis blijven wonen." in page and "DISTRESS-X" in page


def test_a_member_without_the_questionnaires_part_never_sees_the_distress_thermometer(team, new_client):
    client = login_as(new_client(), team["intake_only"].user)
    page = client.get(_url(team)).get_data(as_text=True)
    assert "Oxycodon" in page and "DISTRESS-X" not in page
    assert "Not shared with you" in page or "Niet met jou gedeeld" in page
    assert client.get(_url(team, "/dossier/distress")).status_code == 404
    assert client.get(_url(team, "/dossier/distress/bijwerken")).status_code == 404
    assert client.get(_url(team, "/dossier/medication")).status_code == 200


def test_a_member_updates_a_section_of_their_discipline_and_the_history_keeps_the_old_version(team, new_client):
    dietician = login_as(new_client(), team["dietician"].user)
    before = _version(team, SectionKey.CARE_PLAN)
    response = _post(dietician, _url(team, "/dossier/care_plan/bijwerken"), {
        "goals": "Op gewicht blijven", "who_does_what": "Diëtist: voedingsadvies", "next_evaluation_on": "2027-01-15",
        "reason": "Na het eerste consult", "based_on_version": str(before)})
    assert response.status_code == 303
    assert _version(team, SectionKey.CARE_PLAN) == before + 1
    history = dietician.get(_url(team, "/dossier/care_plan")).get_data(as_text=True)
    assert "Op gewicht blijven" in history and "Na het eerste consult" in history
    assert f"Versie {before + 1}" in history or f"Version {before + 1}" in history
    with network_context(team["network"].id):
        latest = db.session.scalar(select(RecordSectionVersion).where(
            RecordSectionVersion.patient_id == team["case"].patient_id,
            RecordSectionVersion.key == SectionKey.CARE_PLAN).order_by(RecordSectionVersion.version.desc()))
        assert latest.source is RecordSource.MEMBER and latest.written_by_id == team["dietician"].user_id
        assert latest.content["next_evaluation_on"] == "2027-01-15" and latest.case_id == team["case"].id


def test_the_care_plan_holds_goals_and_actions_per_dimension(team, new_client):
    """The individual care plan (palliative care): physical, psychological, social and spiritual goals and actions,
    reviewed on a date; the other fields of the plan are kept."""
    dietician = login_as(new_client(), team["dietician"].user)
    form = dietician.get(_url(team, "/dossier/care_plan/bijwerken")).get_data(as_text=True)
    for name in ("plan_physical", "plan_psychological", "plan_social", "plan_spiritual", "next_evaluation_on"):
        assert f'name="{name}"' in form, name
    before = _version(team, SectionKey.CARE_PLAN)
    response = _post(dietician, _url(team, "/dossier/care_plan/bijwerken"), {
        "goals": "Thuis blijven", "plan_physical": "Eiwitrijk eten; diëtist elke twee weken",
        "plan_spiritual": "Gesprek met de geestelijk verzorger", "next_evaluation_on": "2027-02-01",
        "reason": "Zorgplan per dimensie", "based_on_version": str(before)})
    assert response.status_code == 303
    with network_context(team["network"].id):
        latest = db.session.scalar(select(RecordSectionVersion).where(
            RecordSectionVersion.patient_id == team["case"].patient_id,
            RecordSectionVersion.key == SectionKey.CARE_PLAN).order_by(RecordSectionVersion.version.desc()))
    assert latest.content["plan_physical"] == "Eiwitrijk eten; diëtist elke twee weken"
    assert latest.content["plan_spiritual"] == "Gesprek met de geestelijk verzorger"
    assert latest.content["plan_social"] == "" and latest.content["next_evaluation_on"] == "2027-02-01"
    page = dietician.get(f"/n/{team['network'].slug}/cases/{team['case'].id}").get_data(as_text=True)
    assert "Eiwitrijk eten" in page


def test_medication_is_kept_by_medical_and_nursing_members_only(team, new_client):
    dietician = login_as(new_client(), team["dietician"].user)
    page = dietician.get(_url(team)).get_data(as_text=True)
    assert "/dossier/medication/bijwerken" not in page and "/dossier/care_plan/bijwerken" in page
    assert dietician.get(_url(team, "/dossier/medication/bijwerken")).status_code == 404
    nurse = login_as(new_client(), team["nurse"].user)
    version = _version(team, SectionKey.MEDICATION)
    form = nurse.get(_url(team, "/dossier/medication/bijwerken")).get_data(as_text=True)
    assert 'value="Oxycodon"' in form  # the current rows, then empty ones
    response = _post(nurse, _url(team, "/dossier/medication/bijwerken"), {
        "rows-0-name": "Oxycodon", "rows-0-dose": "10 mg", "rows-1-name": "Macrogol", "rows-1-dose": "1 sachet",
        "rows-2-name": "", "reason": "Dosis verhoogd, laxans erbij", "based_on_version": str(version)})
    assert response.status_code == 303
    with network_context(team["network"].id):
        section = db.session.scalar(select(RecordSection).where(RecordSection.key == SectionKey.MEDICATION))
        assert [(row["name"], row["dose"]) for row in section.content["rows"]] == [
            ("Oxycodon", "10 mg"), ("Macrogol", "1 sachet")]


def test_an_update_on_an_old_version_is_refused_and_the_text_is_kept(team, new_client):
    coordinator = login_as(new_client(), team["coordinator"].user)
    version = _version(team, SectionKey.CONTACT)
    first = _post(coordinator, _url(team, "/dossier/contact/bijwerken"),
                  {"agreements": "Bellen op maandag", "reason": "Afspraak", "based_on_version": str(version)})
    assert first.status_code == 303
    stale = _post(coordinator, _url(team, "/dossier/contact/bijwerken"),
                  {"agreements": "Mailen op vrijdag", "reason": "Andere afspraak", "based_on_version": str(version)})
    assert stale.status_code == 409
    body = stale.get_data(as_text=True)
    assert "Mailen op vrijdag" in body and "Bellen op maandag" in body  # theirs kept, the current one shown
    assert _version(team, SectionKey.CONTACT) == version + 1
    # Saving again on the version the page now carries goes through.
    carried = re.search(r'name="based_on_version"[^>]*value="(\d+)"', body) or re.search(
        r'value="(\d+)"[^>]*name="based_on_version"', body)
    again = _post(coordinator, _url(team, "/dossier/contact/bijwerken"),
                  {"agreements": "Mailen op vrijdag", "reason": "Andere afspraak",
                   "based_on_version": carried.group(1)})
    assert again.status_code == 303 and _version(team, SectionKey.CONTACT) == version + 2


@pytest.mark.parametrize("data, message", [
    ({"agreements": "Bellen", "reason": ""}, "what changed"),
    ({"agreements": "x" * 10_001, "reason": "te lang"}, "10000"),
])
def test_a_bad_update_keeps_the_input_and_writes_nothing(team, new_client, data, message):
    client = login_as(new_client(), team["coordinator"].user)
    version = _version(team, SectionKey.CONTACT)
    response = _post(client, _url(team, "/dossier/contact/bijwerken?lang=en"),
                     {**data, "based_on_version": str(version)})
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert data["agreements"][:50] in body
    assert _version(team, SectionKey.CONTACT) == version


def test_a_score_out_of_range_is_refused_with_a_message(team, new_client):
    client = login_as(new_client(), team["coordinator"].user)
    version = _version(team, SectionKey.DISTRESS)
    response = _post(client, _url(team, "/dossier/distress/bijwerken"),
                     {"score": "11", "remarks": "te hoog", "reason": "meting", "based_on_version": str(version)})
    assert response.status_code == 400 and "te hoog" in response.get_data(as_text=True)
    assert _version(team, SectionKey.DISTRESS) == version


def test_what_changed_since_the_last_visit_is_marked(team, new_client):
    dietician = login_as(new_client(), team["dietician"].user)
    dietician.get(_url(team))  # the first visit
    quiet = dietician.get(_url(team)).get_data(as_text=True)
    assert quiet.count('class="tag changed"') == 0
    coordinator = login_as(new_client(), team["coordinator"].user)
    _post(coordinator, _url(team, "/dossier/wishes/bijwerken"), {
        "resuscitation": "yes", "reason": "Gesprek over behandelgrenzen",
        "based_on_version": str(_version(team, SectionKey.WISHES))})
    page = dietician.get(_url(team)).get_data(as_text=True)
    assert page.count('class="tag changed"') == 1
    wishes = re.search(r'<article[^>]*id="section-wishes".*?</article>', page, re.S).group(0)
    assert 'class="tag changed"' in wishes


def test_unknown_sections_and_closed_cases_are_refused(team, new_client):
    client = login_as(new_client(), team["coordinator"].user)
    assert client.get(_url(team, "/dossier/no-such-section")).status_code == 404
    with network_context(team["network"].id):
        case = db.session.get(Case, team["case"].id)
        case.status, case.closed_at = CaseStatus.CLOSED, utcnow()  # closing itself is tested in test_case_closing
        db.session.commit()
    assert client.get(_url(team, "/dossier/story/bijwerken")).status_code == 404
    page = client.get(_url(team)).get_data(as_text=True)
    assert "/bijwerken" not in page
    assert client.get(_url(team, "/dossier/story")).status_code == 200  # the history stays readable


def test_a_new_measurement_updates_the_distress_section_and_keeps_its_remarks(team, new_client):
    client = login_as(new_client(), team["dietician"].user)
    version = _version(team, SectionKey.DISTRESS)
    response = _post(client, _url(team, "/lastmeter"), {"score": "4", "problems": ["fatigue"],
                                                         "measured_on": local_today().isoformat()})
    assert response.status_code == 303
    assert _version(team, SectionKey.DISTRESS) == version + 1
    with network_context(team["network"].id):
        section = db.session.scalar(select(RecordSection).where(RecordSection.key == SectionKey.DISTRESS))
        assert section.content == {"score": 4, "problems": ["fatigue"], "measured_on": local_today().isoformat(),
                                   "remarks": "DISTRESS-X"}


def test_an_older_measurement_leaves_the_distress_section_at_the_newest(team, new_client):
    client = login_as(new_client(), team["dietician"].user)
    _post(client, _url(team, "/lastmeter"), {"score": "4", "measured_on": local_today().isoformat()})
    version = _version(team, SectionKey.DISTRESS)
    response = _post(client, _url(team, "/lastmeter"), {"score": "9", "measured_on": "2026-01-05"})
    assert response.status_code == 303
    assert _version(team, SectionKey.DISTRESS) == version
