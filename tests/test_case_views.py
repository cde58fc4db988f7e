"""The case pages through HTTP: the route-level access table (the same people as tests/test_case_access.py),
the single intake (prefilled, drafts, completing, corrections), the hand-off with consent, withdrawal taking
effect on the next request, the patient's overview and export, and a bounded number of queries per page."""
from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from app.auth.models import User
from app.cases import services
from app.cases.models import (
    CareTeamMember,
    Case,
    CaseEventKind,
    Consent,
    ConsentMethod,
    ConsentPart,
    Intake,
    IntakeStatus,
    NoteVisibility,
    TeamStatus,
)
from app.core.audit import AuditAction, AuditEvent, AuditOutcome
from app.core.db import utcnow
from app.core.jobs import Outbox
from app.core.tenancy import network_context
from app.extensions import db
from app.networks.models import Membership, Role
from app.records import services as record_services
from app.records.models import RecordSource, SectionKey, section_spec
from app.referrals.models import Referral, ReferralStatus
from tests.case_factories import add_to_team, give_consent, make_case, write_note
from tests.conftest import counted_statements, login_as, make_gp, make_member, make_network
from tests.referral_factories import make_referral

CANARY = "CANARY-STORY-5e1f: ik slaap slecht sinds de operatie"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def casus():
    """Network ZK with the casus of Wim Jansen (canary text in the intake story); network TW with a
    dietician of its own; a proposed-but-not-accepted occupational therapist."""
    zk = make_network("zk", approved_at=utcnow())
    tw = make_network("tw", approved_at=utcnow())
    coordinator = make_member(zk, "coordinator@zk.nl", role=Role.COORDINATOR, disciplines=("casemanager",),
                              name="Marieke Coordinator")
    dietician = make_member(zk, "dietist@zk.nl", disciplines=("dietist",), name="Sanne Dietist")
    sexologist = make_member(zk, "seksuoloog@zk.nl", disciplines=("seksuoloog",), name="Joost Seksuoloog")
    physio = make_member(zk, "fysio@zk.nl", disciplines=("fysiotherapeut",), name="Fatima Fysio")
    ergo = make_member(zk, "ergo@zk.nl", disciplines=("ergotherapeut",), name="Ilse Ergo")
    other_network = make_member(tw, "dietist@tw.nl", disciplines=("dietist",), name="Bart Tw")
    gp = make_gp("gp@example.nl", "01234567", email_verified_at=utcnow(), name="Hans Huisarts")
    other_gp = make_gp("gp2@example.nl", "07654321", email_verified_at=utcnow())
    case = make_case(zk, gp, coordinator, story=CANARY)
    add_to_team(case, coordinator.user, dietician)
    sexologist_consent = give_consent(case, dietician.user, sexologist)
    with network_context(zk.id):
        row = services.propose_member(db.session.get(Case, case.id), dietician.user,
                                      db.session.get(Membership, sexologist.id), reason="Seksuele klachten")
        services.respond_to_proposal(row, sexologist.user, accept=True)
        db.session.commit()
    add_to_team(case, dietician.user, ergo, accept=False)
    write_note(case, dietician, "NOTE-team", NoteVisibility.TEAM)
    return {"zk": zk, "tw": tw, "case": case, "coordinator": coordinator, "dietician": dietician,
            "sexologist": sexologist, "physio": physio, "ergo": ergo, "other_network": other_network, "gp": gp,
            "other_gp": other_gp, "sexologist_consent": sexologist_consent}


def _user(casus, who):
    value = casus[who]
    return value.user if isinstance(value, Membership) else value


def _client(new_client, casus, who):
    return login_as(new_client(), _user(casus, who))


def _base(casus, slug: str | None = None) -> str:
    return f"/n/{slug or casus['zk'].slug}/cases"


def _withdraw(casus, consent_key="sexologist_consent"):
    with network_context(casus["zk"].id):
        consent = db.session.get(Consent, casus[consent_key].id)
        services.withdraw_consent(consent, casus["coordinator"].user, "Patiënt wil dit niet meer")
        db.session.commit()


def _audit_rows(**filters) -> list[AuditEvent]:
    db.session.rollback()  # a fresh snapshot: requests commit in their own sessions
    statement = select(AuditEvent).order_by(AuditEvent.id)
    for name, value in filters.items():
        statement = statement.where(getattr(AuditEvent, name) == value)
    return list(db.session.scalars(statement))


def _in_zk(casus, fn):
    db.session.rollback()
    with network_context(casus["zk"].id):
        return fn()


# --- the route-level access table ---------------------------------------------------------------------

# who -> (detail, intake version 1, proposal); "slug" says which network's URL they use.
ACCESS_TABLE = {
    "dietician": (200, 200, 200),  # on the team, consent covers them
    "sexologist_withdrawn": (404, 404, 404),  # was on the team; the consent was withdrawn
    "coordinator": (200, 200, 200),  # the referral consent
    "physio": (404, 404, 404),  # same network, not on the team
    "other_network": (404, 404, 404),  # another network's member, this network's slug: the membership gate
    "other_network_own_slug": (404, 404, 404),  # their own network's slug with this case id
    "gp": (404, 404, 404),  # the referring GP: only through their referral page
    "other_gp": (404, 404, 404),
    "ergo": (404, 404, 200),  # proposed, not accepted: only the proposal
}


@pytest.mark.parametrize("who", list(ACCESS_TABLE))
def test_route_access_table(casus, new_client, who):
    if who == "sexologist_withdrawn":
        sexologist = _client(new_client, casus, "sexologist")
        assert sexologist.get(f"{_base(casus)}/{casus['case'].id}").status_code == 200  # before
        _withdraw(casus)
        client, user = sexologist, casus["sexologist"].user
    elif who == "other_network_own_slug":
        client, user = _client(new_client, casus, "other_network"), casus["other_network"].user
    else:
        client, user = _client(new_client, casus, who), _user(casus, who)
    slug = casus["tw"].slug if who == "other_network_own_slug" else casus["zk"].slug
    base = f"{_base(casus, slug)}/{casus['case'].id}"
    before = len(_audit_rows())
    for path, expected in zip((base, f"{base}/intake/1", f"{base}/voorstel"), ACCESS_TABLE[who], strict=True):
        response = client.get(path)
        body = response.get_data(as_text=True)
        assert response.status_code == expected, (who, path, response.status_code)
        if expected == 404:
            assert "CANARY-STORY" not in body
            assert "Jansen" not in body
        if path.endswith("/voorstel"):
            assert "CANARY-STORY" not in body  # a proposal shows no intake, also when allowed
    if ACCESS_TABLE[who][0] == 200:
        assert "CANARY-STORY" in client.get(base).get_data(as_text=True)  # the canary is really there
    # Every refusal is in the audit log: by the membership gate for outsiders, by the case door otherwise.
    denied = [row.event for row in _audit_rows()[before:] if row.outcome is AuditOutcome.DENIED
              and row.user_id == user.id]
    gate = who in ("other_network", "gp", "other_gp")
    expected_event = "network.access_denied" if gate else "case.access_denied"
    assert denied == [expected_event] * sum(1 for code in ACCESS_TABLE[who] if code == 404)


def test_a_proposed_member_sees_who_asks_and_why_but_not_the_intake(casus, new_client):
    ergo = _client(new_client, casus, "ergo")
    body = ergo.get(f"{_base(casus)}/{casus['case'].id}/voorstel").get_data(as_text=True)
    assert "Sanne Dietist" in body and "Hulp nodig" in body and "Behandeling en overleg" in body
    assert "NOTE-team" not in body and "CANARY-STORY" not in body


# --- the list ---------------------------------------------------------------------------------------------

def test_coordinator_list_shows_cases_and_referrals_ready_for_intake(casus, new_client):
    ready = make_referral(casus["zk"], casus["gp"], status=ReferralStatus.ACCEPTED,
                          coordinator=casus["coordinator"].user, family_name="Vermeer")
    make_referral(casus["zk"], casus["gp"], status=ReferralStatus.SUBMITTED, family_name="Nogniet")
    client = _client(new_client, casus, "coordinator")
    before = len(_audit_rows())
    body = client.get(f"{_base(casus)}/").get_data(as_text=True)
    assert f"/cases/{casus['case'].id}" in body and "Jansen" in body
    assert f"/cases/intake/{ready.id}" in body and "Vermeer" in body
    assert "Nogniet" not in body  # not accepted yet
    rows = _audit_rows()[before:]
    assert [(r.event, r.action) for r in rows] == [("case.listed", AuditAction.READ)]
    closed = client.get(f"{_base(casus)}/?status=closed").get_data(as_text=True)
    assert f"/cases/{casus['case'].id}\"" not in closed
    # A referral with a draft intake offers to continue it; one without, to start it (the draft read in the list's
    # own statement).
    drafted = make_referral(casus["zk"], casus["gp"], status=ReferralStatus.ACCEPTED,
                            coordinator=casus["coordinator"].user, given_name="Wim", family_name="Verhoeven",
                            bsn="999888777")  # someone else: no possible match
    assert client.post(f"{_base(casus)}/intake/{drafted.id}", data=_intake_data()).status_code == 302
    assert _intake_count(casus, drafted.id) == 1
    body = client.get(f"{_base(casus)}/").get_data(as_text=True)
    rows = {referral_id: row for row, referral_id in re.findall(
        r'(<tr>(?:(?!</tr>).)*?/cases/intake/(\d+)(?:(?!</tr>).)*</tr>)', body, re.S)}
    assert "Verder met de intake" in rows[str(drafted.id)] and "Intake starten" not in rows[str(drafted.id)]
    assert "Verder met de intake" not in rows[str(ready.id)] and "Intake starten" in rows[str(ready.id)]


def test_member_list_shows_their_cases_and_their_open_proposals(casus, new_client):
    case_id = casus["case"].id
    body = _client(new_client, casus, "dietician").get(f"{_base(casus)}/").get_data(as_text=True)
    assert f"/cases/{case_id}\"" in body
    body = _client(new_client, casus, "ergo").get(f"{_base(casus)}/").get_data(as_text=True)
    assert f"/cases/{case_id}/voorstel" in body and f"/cases/{case_id}\"" not in body
    body = _client(new_client, casus, "physio").get(f"{_base(casus)}/").get_data(as_text=True)
    assert "Jansen" not in body
    _withdraw(casus)
    body = _client(new_client, casus, "sexologist").get(f"{_base(casus)}/").get_data(as_text=True)
    assert "Jansen" not in body


# --- the intake ----------------------------------------------------------------------------------------

@pytest.fixture
def accepted(casus):
    referral = make_referral(casus["zk"], casus["gp"], status=ReferralStatus.ACCEPTED,
                             coordinator=casus["coordinator"].user, given_name="Wim", family_name="Verhoeven",
                             bsn="999888777", question="GP-QUESTION-42")  # someone else: no possible match
    return referral


def _checked(body: str, name: str) -> set[str]:
    found = set()
    for tag in re.findall(r"<input[^>]*>", body):
        if f'name="{name}"' in tag and "checked" in tag:
            found.add(re.search(r'value="([^"]*)"', tag).group(1))
    return found


def _intake_count(casus, referral_id) -> int:
    return _in_zk(casus, lambda: db.session.scalar(select(func.count(Intake.id)).where(
        Intake.referral_id == referral_id)))


def test_the_intake_form_is_prefilled_from_the_referral(casus, new_client, accepted):
    client = _client(new_client, casus, "coordinator")
    response = client.get(f"{_base(casus)}/intake/{accepted.id}")
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "GP-QUESTION-42" in body and "Loperamide" in body  # what the GP sent, read-only
    assert _checked(body, "problems_physical") == {"fatigue", "bowel"}  # the GP's complaints, not re-entered
    assert "Diarree sinds de operatie" in body and "Woont samen met zijn vrouw" in body
    assert _intake_count(casus, accepted.id) == 0  # a GET changes nothing


@pytest.mark.parametrize("who", ["dietician", "physio"])
def test_only_a_coordinator_opens_the_intake(casus, new_client, accepted, who):
    assert _client(new_client, casus, who).get(f"{_base(casus)}/intake/{accepted.id}").status_code == 404


def test_the_intake_of_another_networks_referral_is_404(casus, new_client):
    tw_coordinator = make_member(casus["tw"], "coordinator@tw.nl", role=Role.COORDINATOR)
    tw_referral = make_referral(casus["tw"], casus["gp"], status=ReferralStatus.ACCEPTED,
                                coordinator=tw_coordinator.user)
    client = _client(new_client, casus, "coordinator")
    assert client.get(f"{_base(casus)}/intake/{tw_referral.id}").status_code == 404
    assert client.post(f"{_base(casus)}/intake/{tw_referral.id}", data={"action": "save"}).status_code == 404


def _intake_data(**overrides):
    data = {"held_on": date.today().isoformat(), "story": "Mijn verhaal", "problems_physical": ["fatigue", "bowel"],
            "problems_physical_text": "Diarree", "practical_work": "Werkt halve dagen", "distress_score": "6",
            "distress_physical": ["fatigue", "diarrhoea"], "distress_emotional": ["worry"],
            "goals": "Weer fietsen", "partner_situation": "Vrouw is moe", "sharing_wishes": "Niet met werkgever",
            "action": "save"}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_save_draft_keeps_invalid_input_and_saves_nothing(casus, new_client, accepted):
    client = _client(new_client, casus, "coordinator")
    future = (date.today() + timedelta(days=3)).isoformat()
    response = client.post(f"{_base(casus)}/intake/{accepted.id}",
                           data=_intake_data(distress_score="elf", held_on=future, story="Onvolledig verhaal"))
    body = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'value="elf"' in body and "Onvolledig verhaal" in body and "Werkt halve dagen" in body
    assert "The distress thermometer score is a whole number from 0 to 10." in body or "0 tot 10" in body
    assert _checked(body, "distress_physical") == {"fatigue", "diarrhoea"}
    assert _intake_count(casus, accepted.id) == 0

    response = client.post(f"{_base(casus)}/intake/{accepted.id}", data=_intake_data())
    assert response.status_code == 302
    draft = _in_zk(casus, lambda: services.draft_intake(accepted.id))
    assert draft.story == "Mijn verhaal" and draft.distress_score == 6
    assert draft.distress_problems == ["worry", "fatigue", "diarrhoea"]  # in the order of the Lastmeter
    assert draft.practical["work"] == "Werkt halve dagen" and draft.problems["physical"]["items"] == ["fatigue", "bowel"]
    body = client.get(f"{_base(casus)}/intake/{accepted.id}").get_data(as_text=True)  # the draft comes back
    assert "Mijn verhaal" in body and _checked(body, "distress_emotional") == {"worry"}


def test_a_planned_intake_is_dated_no_later_than_today(casus, new_client):
    planned = make_referral(casus["zk"], casus["gp"], status=ReferralStatus.INTAKE_PLANNED,
                            coordinator=casus["coordinator"].user, family_name="Visser",
                            bsn="999888777")  # planned on 7 December 2026; no possible match
    client = _client(new_client, casus, "coordinator")
    body = client.get(f"{_base(casus)}/intake/{planned.id}").get_data(as_text=True)
    held_on = re.search(r'name="held_on"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="held_on"', body)
    shown = date.fromisoformat(held_on.group(1) or held_on.group(2))
    assert shown == min(date(2026, 12, 7), date.today())
    response = client.post(f"{_base(casus)}/intake/{planned.id}", data=_intake_data(held_on=shown.isoformat()))
    assert response.status_code == 302


def test_completing_needs_the_story(casus, new_client, accepted):
    client = _client(new_client, casus, "coordinator")
    response = client.post(f"{_base(casus)}/intake/{accepted.id}", data=_intake_data(story="", action="complete"))
    assert response.status_code == 400
    assert _in_zk(casus, lambda: services.case_for_referral(accepted.id)) is None


def test_completing_opens_the_case_and_the_referral_is_in_care(casus, new_client, accepted):
    client = _client(new_client, casus, "coordinator")
    response = client.post(f"{_base(casus)}/intake/{accepted.id}", data=_intake_data(action="complete"))
    assert response.status_code == 302
    case = _in_zk(casus, lambda: services.case_for_referral(accepted.id))
    assert case is not None and response.headers["Location"].endswith(f"/cases/{case.id}")
    referral = _in_zk(casus, lambda: db.session.scalar(select(Referral).where(Referral.id == accepted.id)))
    assert referral.status is ReferralStatus.IN_CARE
    assert case.central_membership_id == casus["coordinator"].id
    # A completed intake is not edited on the intake page: it sends you to the case.
    again = client.get(f"{_base(casus)}/intake/{accepted.id}")
    assert again.status_code == 302 and again.headers["Location"].endswith(f"/cases/{case.id}")
    body = client.get(f"{_base(casus)}/{case.id}").get_data(as_text=True)
    assert "Mijn verhaal" in body and "Niet met werkgever" in body


def test_a_correction_is_version_2_and_version_1_stays_readable(casus, new_client):
    case_id, referral_id = casus["case"].id, casus["case"].referral_id
    client = _client(new_client, casus, "coordinator")
    assert client.post(f"{_base(casus)}/{case_id}/intake/correctie", data={"reason": ""}).status_code == 400
    response = client.post(f"{_base(casus)}/{case_id}/intake/correctie", data={"reason": "Datum klopte niet"})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/cases/intake/{referral_id}")
    body = client.get(f"{_base(casus)}/intake/{referral_id}").get_data(as_text=True)
    assert "CANARY-STORY" in body and "Datum klopte niet" in body  # a copy of the current version
    # Until it is completed the team reads version 1.
    dietician = _client(new_client, casus, "dietician")
    assert "CANARY-STORY" in dietician.get(f"{_base(casus)}/{case_id}").get_data(as_text=True)
    response = client.post(f"{_base(casus)}/intake/{referral_id}",
                           data=_intake_data(story="Gecorrigeerd verhaal", action="complete"))
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/cases/{case_id}")
    versions = _in_zk(casus, lambda: [(v.version, v.status, v.story) for v in services.intakes_of(referral_id)])
    assert versions == [(1, IntakeStatus.COMPLETED, CANARY), (2, IntakeStatus.COMPLETED, "Gecorrigeerd verhaal")]
    detail = dietician.get(f"{_base(casus)}/{case_id}").get_data(as_text=True)
    assert "Gecorrigeerd verhaal" in detail and "CANARY-STORY" not in detail
    old = dietician.get(f"{_base(casus)}/{case_id}/intake/1")
    assert old.status_code == 200
    old_body = old.get_data(as_text=True)
    assert "CANARY-STORY" in old_body and f"/cases/{case_id}/intake/2" in old_body
    assert re.search(r"(Superseded by|Vervangen door) (version|versie) 2", old_body)
    assert "Gecorrigeerd verhaal" in dietician.get(f"{_base(casus)}/{case_id}/intake/2").get_data(as_text=True)
    assert dietician.get(f"{_base(casus)}/{case_id}/intake/3").status_code == 404


def test_members_cannot_correct_the_intake(casus, new_client):
    response = _client(new_client, casus, "dietician").post(
        f"{_base(casus)}/{casus['case'].id}/intake/correctie", data={"reason": "Ik wil het anders"})
    assert response.status_code == 404
    assert _in_zk(casus, lambda: services.draft_intake(casus["case"].referral_id)) is None


def test_a_member_whose_consent_leaves_out_the_intake_gets_404_on_the_intake(casus, new_client):
    add_to_team(casus["case"], casus["coordinator"].user, casus["physio"], parts={ConsentPart.NOTES})
    physio = _client(new_client, casus, "physio")
    detail = physio.get(f"{_base(casus)}/{casus['case'].id}")
    assert detail.status_code == 200 and "CANARY-STORY" not in detail.get_data(as_text=True)
    assert physio.get(f"{_base(casus)}/{casus['case'].id}/intake/1").status_code == 404


# --- the hand-off -------------------------------------------------------------------------------------------

def _team_rows(casus, membership_id):
    return _in_zk(casus, lambda: list(db.session.scalars(select(CareTeamMember).where(
        CareTeamMember.case_id == casus["case"].id, CareTeamMember.membership_id == membership_id))))


def _consents_for(casus, membership_id):
    from app.cases.access import covering_consents

    return _in_zk(casus, lambda: covering_consents(db.session.get(Case, casus["case"].id), membership_id))


def test_proposing_without_consent_fields_when_none_covers_is_refused(casus, new_client):
    dietician = _client(new_client, casus, "dietician")
    url = f"{_base(casus)}/{casus['case'].id}/team/voorstellen"
    page = dietician.get(url).get_data(as_text=True)
    assert "Fatima Fysio" in page and "Ilse Ergo" not in page  # already proposed
    response = dietician.post(url, data={"membership_id": str(casus["physio"].id), "reason": "Conditie"})
    body = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Conditie" in body  # the form is kept
    assert "Confirm that the patient agreed" in body or "patiënt" in body
    assert _team_rows(casus, casus["physio"].id) == [] and _consents_for(casus, casus["physio"].id) == []


def test_proposing_with_consent_fields_records_the_consent_and_the_proposal(casus, new_client):
    dietician = _client(new_client, casus, "dietician")
    url = f"{_base(casus)}/{casus['case'].id}/team/voorstellen"
    data = {"membership_id": str(casus["physio"].id), "reason": "Conditie opbouwen", "role_in_case": "Beweging",
            "consent_method": "written", "consent_purpose": "Conditietraining", "consent_parts": ["intake", "notes"],
            "consent_agreed": "y", "consent_document": (io.BytesIO(PDF), "getekend.pdf")}
    response = dietician.post(url, data=data, content_type="multipart/form-data")
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    consents = _consents_for(casus, casus["physio"].id)
    assert len(consents) == 1
    consent = consents[0]
    assert consent.method is ConsentMethod.WRITTEN and consent.obtained_by_id == casus["dietician"].user_id
    assert consent.parts == [ConsentPart.INTAKE, ConsentPart.NOTES] and consent.document_name == "getekend.pdf"
    rows = _team_rows(casus, casus["physio"].id)
    assert [(r.status, r.reason, r.role_in_case) for r in rows] == [(TeamStatus.PROPOSED, "Conditie opbouwen",
                                                                     "Beweging")]
    mails = [o for o in db.session.scalars(select(Outbox).where(Outbox.kind == "mail"))
             if o.payload["to"] == "fysio@zk.nl"]
    assert len(mails) == 1 and "CANARY" not in mails[0].payload["body"] and "Jansen" not in mails[0].payload["body"]

    # The physiotherapist: the proposal first, not the case; after accepting, the intake.
    physio = _client(new_client, casus, "physio")
    case_url = f"{_base(casus)}/{casus['case'].id}"
    assert physio.get(case_url).status_code == 404
    proposal = physio.get(f"{case_url}/voorstel").get_data(as_text=True)
    assert "Conditie opbouwen" in proposal and "Conditietraining" in proposal and "CANARY-STORY" not in proposal
    response = physio.post(f"{case_url}/team/{rows[0].id}/antwoord", data={"answer": "accept"})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/cases/{casus['case'].id}")
    detail = physio.get(case_url)
    assert detail.status_code == 200 and "CANARY-STORY" in detail.get_data(as_text=True)
    assert physio.get(f"{case_url}/intake/1").status_code == 200


def test_a_document_that_is_not_a_pdf_is_refused_and_nothing_is_saved(casus, new_client):
    dietician = _client(new_client, casus, "dietician")
    data = {"membership_id": str(casus["physio"].id), "reason": "Conditie", "consent_method": "written",
            "consent_purpose": "Conditietraining", "consent_parts": ["intake"], "consent_agreed": "y",
            "consent_document": (io.BytesIO(b"MZ\x90\x00 not a pdf"), "getekend.pdf")}
    response = dietician.post(f"{_base(casus)}/{casus['case'].id}/team/voorstellen", data=data,
                              content_type="multipart/form-data")
    assert response.status_code == 400
    assert _team_rows(casus, casus["physio"].id) == [] and _consents_for(casus, casus["physio"].id) == []


def test_a_member_already_covered_is_proposed_without_consent_fields(casus, new_client):
    give_consent(casus["case"], casus["coordinator"].user, casus["physio"])
    response = _client(new_client, casus, "dietician").post(
        f"{_base(casus)}/{casus['case'].id}/team/voorstellen",
        data={"membership_id": str(casus["physio"].id), "reason": "Conditie"})
    assert response.status_code == 302
    assert [r.status for r in _team_rows(casus, casus["physio"].id)] == [TeamStatus.PROPOSED]


@pytest.mark.parametrize("who", ["physio", "ergo"])
def test_only_the_team_and_the_coordinator_propose(casus, new_client, who):
    response = _client(new_client, casus, who).post(
        f"{_base(casus)}/{casus['case'].id}/team/voorstellen",
        data={"membership_id": str(casus["physio"].id), "reason": "Conditie"})
    assert response.status_code == 404


def test_only_the_proposed_member_answers_the_proposal(casus, new_client):
    row = _team_rows(casus, casus["ergo"].id)[0]
    url = f"{_base(casus)}/{casus['case'].id}/team/{row.id}/antwoord"
    for who in ("dietician", "coordinator", "physio"):
        assert _client(new_client, casus, who).post(url, data={"answer": "accept"}).status_code == 404
    assert _team_rows(casus, casus["ergo"].id)[0].status is TeamStatus.PROPOSED
    response = _client(new_client, casus, "ergo").post(url, data={"answer": "decline"})
    assert response.status_code == 302
    assert _team_rows(casus, casus["ergo"].id)[0].status is TeamStatus.DECLINED


def test_the_central_care_provider_is_set_by_the_coordinator_or_the_current_central(casus, new_client):
    url = f"{_base(casus)}/{casus['case'].id}/centrale-zorgverlener"
    assert _client(new_client, casus, "dietician").post(
        url, data={"membership_id": str(casus["dietician"].id)}).status_code == 404  # not central (yet)
    coordinator = _client(new_client, casus, "coordinator")
    assert coordinator.post(url, data={"membership_id": str(casus["physio"].id)}).status_code == 400  # not on team
    response = coordinator.post(url, data={"membership_id": str(casus["dietician"].id), "reason": "Meeste contact"})
    assert response.status_code == 302
    assert _in_zk(casus, lambda: db.session.get(Case, casus["case"].id).central_membership_id) == casus["dietician"].id
    # Now the dietician is central and may hand it on.
    response = _client(new_client, casus, "dietician").post(url, data={"membership_id": str(casus["sexologist"].id)})
    assert response.status_code == 302
    history = _in_zk(casus, lambda: [c.membership_id for c in services.central_history(
        db.session.get(Case, casus["case"].id))])
    assert history == [casus["coordinator"].id, casus["dietician"].id, casus["sexologist"].id]
    body = coordinator.get(f"{_base(casus)}/{casus['case'].id}").get_data(as_text=True)
    assert "Meeste contact" in body


# --- consent ----------------------------------------------------------------------------------------------

def test_withdrawal_takes_effect_on_the_next_request_and_is_logged(casus, new_client):
    case_url = f"{_base(casus)}/{casus['case'].id}"
    sexologist = _client(new_client, casus, "sexologist")
    assert sexologist.get(case_url).status_code == 200
    coordinator = _client(new_client, casus, "coordinator")
    withdraw_url = f"{case_url}/toestemming/{casus['sexologist_consent'].id}/intrekken"
    confirm = coordinator.get(withdraw_url)  # the confirmation step
    assert confirm.status_code == 200 and "Joost Seksuoloog" in confirm.get_data(as_text=True)
    assert coordinator.post(withdraw_url, data={"reason": ""}).status_code == 400
    assert sexologist.get(case_url).status_code == 200  # nothing happened
    response = coordinator.post(withdraw_url, data={"reason": "Patiënt belde: wil geen seksuoloog meer"})
    assert response.status_code == 302
    before = len(_audit_rows())
    assert sexologist.get(case_url).status_code == 404  # the very next request
    denied = [r for r in _audit_rows()[before:] if r.user_id == casus["sexologist"].user_id]
    assert [(r.event, r.outcome, r.patient_id, r.object_id) for r in denied] == [
        ("case.access_denied", AuditOutcome.DENIED, casus["case"].patient_id, casus["case"].id)]
    # The others keep their access.
    assert _client(new_client, casus, "dietician").get(case_url).status_code == 200
    body = coordinator.get(f"{case_url}/toestemming").get_data(as_text=True)
    assert "wil geen seksuoloog meer" in body


@pytest.mark.parametrize("who", ["dietician", "sexologist", "physio"])
def test_consent_pages_are_for_the_coordinator(casus, new_client, who):
    client = _client(new_client, casus, who)
    base = f"{_base(casus)}/{casus['case'].id}/toestemming"
    consent_id = casus["sexologist_consent"].id
    for path in (base, f"{base}/overzicht", f"{base}/export.csv", f"{base}/{consent_id}/intrekken",
                 f"{base}/{consent_id}/document"):
        assert client.get(path).status_code == 404, path
    assert client.post(f"{base}/{consent_id}/intrekken", data={"reason": "weg"}).status_code == 404
    assert _in_zk(casus, lambda: db.session.get(Consent, consent_id).withdrawn_at) is None


def test_recording_a_consent_with_a_signed_document(casus, new_client):
    coordinator = _client(new_client, casus, "coordinator")
    url = f"{_base(casus)}/{casus['case'].id}/toestemming"
    response = coordinator.post(url, data={"members": [str(casus["physio"].id)], "consent_method": "verbal",
                                           "consent_purpose": "Beweegadvies", "consent_parts": ["intake"]})
    assert response.status_code == 400  # the patient's agreement is not confirmed
    assert _consents_for(casus, casus["physio"].id) == []
    data = {"members": [str(casus["physio"].id)], "consent_method": "written", "consent_purpose": "Beweegadvies",
            "consent_parts": ["intake", "proms"], "consent_agreed": "y",
            "consent_valid_until": (date.today() + timedelta(days=90)).isoformat(),
            "consent_document": (io.BytesIO(PDF), "toestemming wim.pdf")}
    response = coordinator.post(url, data=data, content_type="multipart/form-data")
    assert response.status_code == 302
    consent = _consents_for(casus, casus["physio"].id)[0]
    assert consent.parts == [ConsentPart.INTAKE, ConsentPart.PROMS] and consent.document_storage
    download = coordinator.get(f"{url}/{consent.id}/document")
    assert download.status_code == 200 and download.data == PDF
    assert download.headers["Content-Disposition"].startswith("attachment")
    assert [r.event for r in _audit_rows(object_type="consent", object_id=consent.id,
                                         action=AuditAction.EXPORT)] == ["consent.document_downloaded"]
    assert coordinator.get(f"{url}/{casus['sexologist_consent'].id}/document").status_code == 404  # no file


def test_the_overview_for_the_patient_lists_consents_and_who_looked(casus, new_client):
    case_url = f"{_base(casus)}/{casus['case'].id}"
    _client(new_client, casus, "dietician").get(case_url)
    _client(new_client, casus, "physio").get(case_url)  # refused: in the log as well
    coordinator = _client(new_client, casus, "coordinator")
    response = coordinator.get(f"{case_url}/toestemming/overzicht")
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Behandeling en overleg" in body  # the consents
    table = body[body.index("access-log"):]
    assert "Sanne Dietist" in table and "Fatima Fysio" in table and "Marieke Coordinator" in table
    assert [r.action for r in _audit_rows(event="case.consent_overview_viewed")] == [AuditAction.READ]
    # Another patient's log rows never show up here.
    other = make_case(casus["zk"], casus["gp"], casus["coordinator"], family_name="Anders")
    _client(new_client, casus, "ergo").get(f"{_base(casus)}/{other.id}")  # ergo has no access: a denied row
    body = coordinator.get(f"{case_url}/toestemming/overzicht").get_data(as_text=True)
    assert _audit_rows(user_id=casus["ergo"].user_id, outcome=AuditOutcome.DENIED)  # logged, for the other patient
    assert "Ilse Ergo" not in body[body.index("access-log"):]


def test_the_export_is_csv_with_bom_semicolons_and_no_formulas(casus, new_client):
    with network_context(casus["zk"].id):
        services.record_consent(db.session.get(Case, casus["case"].id), casus["coordinator"].user,
                                method=ConsentMethod.VERBAL, purpose="=HYPERLINK(\"http://x\")",
                                membership_ids=[casus["physio"].id], parts={ConsentPart.INTAKE})
        db.session.commit()
    _client(new_client, casus, "dietician").get(f"{_base(casus)}/{casus['case'].id}")
    response = _client(new_client, casus, "coordinator").get(
        f"{_base(casus)}/{casus['case'].id}/toestemming/export.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith("attachment")
    raw = response.data
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    cells = [cell for row in rows for cell in row]
    assert "'=HYPERLINK(\"http://x\")" in cells and "=HYPERLINK(\"http://x\")" not in cells
    assert "Sanne Dietist" in cells and "Behandeling en overleg" in cells
    assert [r.action for r in _audit_rows(event="case.consent_exported")] == [AuditAction.EXPORT]


# --- a bounded number of queries ---------------------------------------------------------------------------

def _grow(case: Case, coordinator: Membership, members: list[Membership], notes: int, events: int,
          versions: int = 1) -> None:
    """A team, notes, timeline events, and *versions* versions of every section of the shared record."""
    with network_context(case.network_id):
        for version in range(versions):
            for key in SectionKey:
                field = next(f for f in section_spec(key).fields if f.kind in ("text", "textarea"))
                record_services.write_section(case.patient_id, key, {field.name: f"{key} v{version}"},
                                              actor=coordinator.user, reason="grow", source=RecordSource.COORDINATOR)
        db.session.commit()
    for member in members:
        add_to_team(case, coordinator.user, member)
    for i in range(notes):
        write_note(case, members[i % len(members)], f"note {i}", NoteVisibility.TEAM)
    with network_context(case.network_id):
        row = db.session.get(Case, case.id)
        for i in range(events):
            services.add_event(row, coordinator.user, CaseEventKind.PROM_RECORDED, str(i % 10))
        services.set_central(row, coordinator.user, db.session.get(Membership, members[0].id), "Eerste")
        db.session.commit()


def _count(client, url: str) -> int:
    client.get(url)  # warm up (first-use loading of templates and translations)
    with counted_statements() as statements:
        response = client.get(url)
    assert response.status_code == 200
    return len(statements)


def test_the_case_page_needs_the_same_number_of_queries_for_a_small_and_a_large_case(new_client):
    network = make_network("groot", approved_at=utcnow())
    coordinator = make_member(network, "coordinator@groot.nl", role=Role.COORDINATOR, disciplines=("casemanager",))
    members = [make_member(network, f"lid{i}@groot.nl", disciplines=("dietist", "fysiotherapeut")[i % 2:][:1])
               for i in range(12)]
    gp = make_gp("gp@groot.nl", "01234568", email_verified_at=utcnow())
    small = make_case(network, gp, coordinator, family_name="Klein")
    large = make_case(network, gp, coordinator, family_name="Groot")
    _grow(small, coordinator, members[:2], notes=3, events=3, versions=1)
    _grow(large, coordinator, members, notes=30, events=30, versions=8)
    client = login_as(new_client(), coordinator.user)
    small_count = _count(client, f"/n/groot/cases/{small.id}")
    large_count = _count(client, f"/n/groot/cases/{large.id}")
    assert small_count == large_count, (small_count, large_count)
    # The same for a team member reading the case, and for the list pages.
    member = login_as(new_client(), members[0].user)
    assert _count(member, f"/n/groot/cases/{small.id}") == _count(member, f"/n/groot/cases/{large.id}")
    body = client.get(f"/n/groot/cases/{large.id}").get_data(as_text=True)
    assert body.count('class="tag teamstatus-active"') == 12
    assert f"{SectionKey.CARE_PLAN} v7" in body and f"{SectionKey.CARE_PLAN} v6" not in body  # the current versions


def test_a_consent_form_submitted_twice_records_one_consent(casus, new_client):
    """A double click or a retry after a timeout: the form's key makes the second post a no-op."""
    coordinator = _client(new_client, casus, "coordinator")
    url = f"{_base(casus)}/{casus['case'].id}/toestemming"
    page = coordinator.get(url).get_data(as_text=True)
    key = re.search(r'name="consent_key"[^>]*value="([^"]+)"', page) or re.search(
        r'value="([^"]+)"[^>]*name="consent_key"', page)
    assert key, "the consent form carries a key"
    data = {"members": [str(casus["physio"].id)], "consent_method": "verbal", "consent_purpose": "Beweegadvies",
            "consent_parts": ["intake"], "consent_agreed": "y", "consent_key": key.group(1)}
    assert coordinator.post(url, data=dict(data)).status_code == 302
    assert coordinator.post(url, data=dict(data)).status_code == 302
    assert len(_consents_for(casus, casus["physio"].id)) == 1
    # A new form (a new key) is a new consent.
    assert coordinator.post(url, data={**data, "consent_key": "another-form-key"}).status_code == 302
    assert len(_consents_for(casus, casus["physio"].id)) == 2


def test_a_proposal_submitted_twice_proposes_once(casus, new_client):
    dietician = _client(new_client, casus, "dietician")
    url = f"{_base(casus)}/{casus['case'].id}/team/voorstellen"
    data = {"membership_id": str(casus["physio"].id), "reason": "Conditie", "consent_method": "verbal",
            "consent_purpose": "Conditietraining", "consent_parts": ["intake"], "consent_agreed": "y",
            "consent_key": "one-proposal-form"}
    assert dietician.post(url, data=dict(data)).status_code == 302
    again = dietician.post(url, data=dict(data))
    assert again.status_code == 303 and again.headers["Location"].endswith(f"/cases/{casus['case'].id}")
    assert [r.status for r in _team_rows(casus, casus["physio"].id)] == [TeamStatus.PROPOSED]
    assert len(_consents_for(casus, casus["physio"].id)) == 1


# --- access you can see --------------------------------------------------------------------------------

def _en_client(new_client, casus, who):
    """A signed-in client whose saved language is English: the assertions below read the English words,
    whatever catalogue another test left compiled or cached."""
    user = db.session.get(User, _user(casus, who).id)
    user.locale = "en"
    db.session.commit()
    return login_as(new_client(), user)


def _label(part: ConsentPart) -> str:
    with force_locale("en"):
        return str(part.label)


def _team_table_rows(body: str) -> dict[int, str]:
    """The care team table's rows by CareTeamMember id, as text."""
    return {int(row_id): re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
            for row_id, html in re.findall(r'<tr data-team-row="(\d+)"[^>]*>(.*?)</tr>', body, re.S)}


def _row_of(casus, who: str) -> int:
    return _in_zk(casus, lambda: db.session.scalar(
        select(CareTeamMember.id).where(CareTeamMember.case_id == casus["case"].id,
                                        CareTeamMember.membership_id == casus[who].id)
        .order_by(CareTeamMember.id.desc())))


def _expire_consents_of(casus, who: str) -> None:
    """Move every consent naming *who* to have ended yesterday (a consent cannot be recorded in the past)."""
    def expire():
        for consent in services.consents_of(db.session.get(Case, casus["case"].id)):
            if any(m.membership_id == casus[who].id for m in consent.members):
                consent.valid_until = date.today() - timedelta(days=1)
        db.session.commit()
    _in_zk(casus, expire)


def test_the_team_table_shows_each_members_real_access(casus, new_client):
    add_to_team(casus["case"], casus["coordinator"].user, casus["physio"], parts={ConsentPart.INTAKE})
    client = _en_client(new_client, casus, "coordinator")
    url = f"{_base(casus)}/{casus['case'].id}"
    rows = _team_table_rows(client.get(url).get_data(as_text=True))
    notes, intake = _label(ConsentPart.NOTES), _label(ConsentPart.INTAKE)
    dietician, physio, ergo = (rows[_row_of(casus, who)] for who in ("dietician", "physio", "ergo"))
    assert notes in dietician and intake in dietician and "until withdrawn" in dietician and "since" in dietician
    assert intake in physio and notes not in physio  # the consent's parts, not the team status
    assert "Once accepted:" in ergo
    assert "No access" not in dietician + physio + ergo

    _withdraw(casus)  # the sexologist's consent
    _expire_consents_of(casus, "physio")
    with network_context(casus["zk"].id):
        row = services.active_team_member(db.session.get(Case, casus["case"].id), casus["dietician"].id)
        services.close_part(row, casus["dietician"].user, "Adviezen gegeven")
        db.session.commit()
    body = client.get(url).get_data(as_text=True)
    rows = _team_table_rows(body)
    sexologist = rows[_row_of(casus, "sexologist")]
    assert "On the team" in sexologist and "No access since" in sexologist and "(consent withdrawn)" in sexologist
    assert notes not in sexologist
    assert "(consent expired)" in rows[_row_of(casus, "physio")]
    assert "(closed their part)" in rows[_row_of(casus, "dietician")]
    assert re.search(rf'<tr data-team-row="{_row_of(casus, "sexologist")}" class="inactive"', body)


def test_a_member_whose_access_ended_sees_a_line_without_patient_details(casus, new_client):
    patient = _in_zk(casus, lambda: db.session.get(Case, casus["case"].id).patient)
    sexologist = _en_client(new_client, casus, "sexologist")
    assert "Your access to case" not in sexologist.get(f"{_base(casus)}/").get_data(as_text=True)
    _withdraw(casus)
    body = sexologist.get(f"{_base(casus)}/").get_data(as_text=True)
    section = body[body.index('id="ended-heading"'):]
    line = re.search(r'<li data-ended-case="(\d+)">(.*?)</li>', section, re.S)
    assert line and int(line.group(1)) == casus["case"].id
    assert f"Your access to case {casus['case'].id} ended on" in line.group(2)
    assert "the patient withdrew the consent" in line.group(2)
    for detail in (patient.family_name, patient.given_name, patient.bsn, f"/cases/{casus['case'].id}"):
        assert detail and detail not in section, detail
    assert patient.family_name not in body
    # Another member of the team, whose consent is live, has no such line.
    assert 'id="ended-heading"' not in _en_client(new_client, casus, "dietician").get(
        f"{_base(casus)}/").get_data(as_text=True)


def test_the_404_of_a_case_says_no_access_alike_for_every_case(casus, new_client):
    """A member whose access ended reads why she sees nothing; the words are the same for a case that does
    not exist and for one she never was on, so they tell nobody whether the case exists."""
    _withdraw(casus)
    message = "You have no access to this case (any more). Ask the coordinator."
    sexologist, physio = _en_client(new_client, casus, "sexologist"), _en_client(new_client, casus, "physio")
    for client, path in ((sexologist, casus["case"].id), (sexologist, 999999), (physio, casus["case"].id),
                         (physio, f"{casus['case'].id}/notities")):
        response = client.get(f"{_base(casus)}/{path}")
        body = response.get_data(as_text=True)
        assert response.status_code == 404
        assert message in body and "Jansen" not in body and "CANARY-STORY" not in body
    # Outside the case routes the 404 keeps its general words.
    assert message not in sexologist.get("/n/zk/nergens").get_data(as_text=True)


def test_the_start_page_shows_an_open_proposal_with_a_link_to_answer(casus, new_client):
    proposal = f'/n/zk/cases/{casus["case"].id}/voorstel'
    ergo = _en_client(new_client, casus, "ergo")
    body = ergo.get("/").get_data(as_text=True)
    section = body[body.index('id="open-proposals-heading"'):]
    assert proposal in section and "Sanne Dietist asks you on" in section
    assert "Jansen" not in body and "CANARY-STORY" not in body  # the start page names no patient
    assert ergo.get(proposal).status_code == 200  # the link opens the accept / decline form
    assert 'id="open-proposals-heading"' not in _en_client(new_client, casus, "dietician").get("/").get_data(
        as_text=True)
    # Without a live consent the proposal cannot be answered: the door says so, and so does the start page.
    ergo_consent = _in_zk(casus, lambda: next(c.id for c in services.consents_of(db.session.get(
        Case, casus["case"].id)) if any(m.membership_id == casus["ergo"].id for m in c.members)))
    casus["ergo_consent"] = _Ref(ergo_consent)
    _withdraw(casus, "ergo_consent")
    assert 'id="open-proposals-heading"' not in ergo.get("/").get_data(as_text=True)


class _Ref:
    def __init__(self, value: int):
        self.id = value


def test_the_case_page_query_count_does_not_grow_with_members_whose_access_differs(new_client):
    network = make_network("groot", approved_at=utcnow())
    coordinator = make_member(network, "coordinator@groot.nl", role=Role.COORDINATOR, disciplines=("casemanager",))
    members = [make_member(network, f"lid{i}@groot.nl", disciplines=("dietist",)) for i in range(10)]
    gp = make_gp("gp@groot.nl", "01234568", email_verified_at=utcnow())
    small = make_case(network, gp, coordinator, family_name="Klein")
    large = make_case(network, gp, coordinator, family_name="Groot")
    _grow(small, coordinator, members[:1], notes=1, events=1)
    _grow(large, coordinator, members[:6], notes=1, events=1)
    for member in members[6:8]:  # proposed, with consent
        add_to_team(large, coordinator.user, member, accept=False)
    give_consent(large, coordinator.user, members[1], parts={ConsentPart.NOTES})  # a second consent
    with network_context(network.id):
        for consent in services.consents_of(db.session.get(Case, large.id)):
            if any(m.membership_id in (members[2].id, members[3].id) for m in consent.members):
                services.withdraw_consent(consent, coordinator.user, "Ingetrokken")
        db.session.commit()
    coordinator.user.locale = "en"
    db.session.commit()
    client = login_as(new_client(), coordinator.user)
    assert _count(client, f"/n/groot/cases/{small.id}") == _count(client, f"/n/groot/cases/{large.id}")
    body = client.get(f"/n/groot/cases/{large.id}").get_data(as_text=True)
    assert body.count("(consent withdrawn)") == 2 and body.count("Once accepted:") == 2
