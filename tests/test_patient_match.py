"""One patient, one story: a referral of a patient the network already knows shows the match to the
coordinator before the intake; linking makes the intake an update of the known record, "someone else"
dismisses the match; two records of one person are merged after a confirmation. Nothing merges without
a person, every decision is audited, and another network's patients are never shown or reachable."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from app.cases import services
from app.cases.models import Case, Consent, Intake
from app.core.audit import AuditEvent
from app.core.db import utcnow
from app.core.tenancy import network_context
from app.extensions import db
from app.networks.models import Role
from app.patients import merging
from app.patients.models import Patient, match_key
from app.records import services as records
from app.records.models import RecordSection, RecordSectionVersion, RecordSource, SectionKey
from app.referrals.models import MatchDecision, Referral, ReferralStatus
from tests.case_factories import give_consent, make_case
from tests.conftest import login_as, make_gp, make_member, make_network, make_patient
from tests.referral_factories import make_referral

STORY = "STORY-7c2a: sinds de chemo ben ik zo moe"


@pytest.fixture
def net():
    network = make_network("zk", approved_at=utcnow())
    other = make_network("tw", approved_at=utcnow())
    coordinator = make_member(network, "coordinator@zk.nl", role=Role.COORDINATOR, disciplines=("casemanager",))
    other_coordinator = make_member(other, "coordinator@tw.nl", role=Role.COORDINATOR, disciplines=("casemanager",))
    member = make_member(network, "dietist@zk.nl", disciplines=("dietist",))
    gp = make_gp("gp@example.nl", "01234567", email_verified_at=utcnow())
    return {"network": network, "other": other, "coordinator": coordinator, "other_coordinator": other_coordinator,
            "member": member, "gp": gp}


def _in(network, fn):
    db.session.rollback()  # see what the requests committed
    with network_context(network.id):
        return fn()


def _get(model, object_id):
    return db.session.scalar(select(model).where(model.id == object_id))


def _audit(event: str) -> list[AuditEvent]:
    db.session.rollback()
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.event == event).order_by(AuditEvent.id)))


def _client(new_client, net, who="coordinator"):
    return login_as(new_client(), net[who].user)


def _detail(net, referral_id: int) -> str:
    return f"/n/{net['network'].slug}/referrals/{referral_id}"


def _intake_data(**overrides):
    data = {"held_on": date.today().isoformat(), "story": STORY + " En nu ook pijn.", "goals": "Weer wandelen",
            "distress_score": "5", "action": "complete"}
    data.update(overrides)
    return data


@pytest.fixture
def known(net):
    """A patient in care after a completed intake (story and goals in the shared record)."""
    case = make_case(net["network"], net["gp"], net["coordinator"], story=STORY)
    return case


# --- the match is shown before the intake ----------------------------------------------------------------

def test_a_second_referral_with_the_same_bsn_is_linked_and_its_intake_updates_the_record(net, known, new_client):
    second = make_referral(net["network"], net["gp"], status=ReferralStatus.ACCEPTED,
                           coordinator=net["coordinator"].user, given_name="Willem", family_name="Jansen-Smit",
                           question="Nieuwe vraag: pijn")
    provisional_id = second.patient_id  # the record made when the referral came in
    client = _client(new_client, net)
    page = client.get(_detail(net, second.id)).get_data(as_text=True)
    assert 'id="match"' in page and f"/referrals/{second.id}/match/koppelen" in page
    assert 'name="patient_id"' in page and f'value="{known.patient_id}"' in page
    # Before a decision the intake does not open: it sends the coordinator to the match.
    response = client.get(f"/n/{net['network'].slug}/cases/intake/{second.id}")
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/referrals/{second.id}")
    response = client.post(f"/n/{net['network'].slug}/cases/intake/{second.id}", data=_intake_data())
    assert response.status_code == 303
    assert _in(net["network"], lambda: db.session.scalar(select(func.count(Intake.id)).where(
        Intake.referral_id == second.id))) == 0

    response = client.post(f"{_detail(net, second.id)}/match/koppelen", data={"patient_id": known.patient_id})
    assert response.status_code == 303
    referral = _in(net["network"], lambda: _get(Referral, second.id))
    assert referral.patient_id == known.patient_id and referral.match_decision is MatchDecision.LINKED
    assert referral.match_decided_by_id == net["coordinator"].user_id
    provisional = _in(net["network"], lambda: _get(Patient, provisional_id))
    assert provisional.merged_into_id == known.patient_id
    assert [e.patient_id for e in _audit("referral.match_linked")] == [known.patient_id]
    assert 'id="match"' not in client.get(_detail(net, second.id)).get_data(as_text=True)

    # The intake opens as an update: the story and goals come from the known record, not blank.
    body = client.get(f"/n/{net['network'].slug}/cases/intake/{second.id}").get_data(as_text=True)
    assert STORY in body and "Weer kunnen fietsen" in body

    story_before = _in(net["network"], lambda: records.sections_of(known.patient_id, [SectionKey.STORY]))
    version_before = story_before[SectionKey.STORY].version
    response = client.post(f"/n/{net['network'].slug}/cases/intake/{second.id}", data=_intake_data())
    assert response.status_code == 302

    def check():
        assert db.session.scalar(select(func.count(Patient.id)).where(Patient.merged_into_id.is_(None))) == 1
        case = services.case_for_referral(second.id)
        assert case.patient_id == known.patient_id
        story = records.sections_of(known.patient_id, [SectionKey.STORY])[SectionKey.STORY]
        assert story.version == version_before + 1 and story.content["story"].endswith("En nu ook pijn.")
        history = records.history(known.patient_id, SectionKey.STORY)
        assert [v.version for v in history] == list(range(story.version, 0, -1))
        assert history[0].intake_id is not None and history[0].referral_id == second.id
    _in(net["network"], check)


def test_name_date_of_birth_and_postcode_match_ignoring_case_and_spaces(net, new_client):
    first = make_referral(net["network"], net["gp"], bsn=None, given_name="Anna Maria", family_name="van der Berg",
                          postcode="2012 AB")
    second = make_referral(net["network"], net["gp"], bsn=None, given_name="anna  maria", family_name="Van Der Berg ",
                           postcode="2012ab")
    assert match_key("Anna Maria", "van der Berg", date(1971, 3, 14), "2012 AB") == match_key(
        " annamaria", "VANDERBERG", date(1971, 3, 14), "2012AB")
    matches = _in(net["network"], lambda: [p.id for p in merging.referral_matches(_get(Referral, second.id))])
    assert matches == [first.patient_id]
    # Another date of birth is someone else.
    third = make_referral(net["network"], net["gp"], bsn=None, given_name="Anna Maria", family_name="van der Berg",
                          postcode="2012 AB", date_of_birth=date(1972, 3, 14))
    assert _in(net["network"], lambda: merging.referral_matches(_get(Referral, third.id))) == []
    assert 'id="match"' in _client(new_client, net).get(_detail(net, second.id)).get_data(as_text=True)


def test_another_networks_patient_is_never_a_match(net, new_client):
    foreign = make_patient(net["other"], given_name="CANARY-TW", family_name="Jansen",
                           created_by=net["other_coordinator"].user)
    referral = make_referral(net["network"], net["gp"])  # the same BSN as the patient in the other network
    assert _in(net["network"], lambda: merging.referral_matches(_get(Referral, referral.id))) == []
    client = _client(new_client, net)
    body = client.get(_detail(net, referral.id)).get_data(as_text=True)
    assert 'id="match"' not in body and "CANARY-TW" not in body
    # A forged link to the other network's patient changes nothing.
    response = client.post(f"{_detail(net, referral.id)}/match/koppelen", data={"patient_id": foreign.id})
    assert response.status_code == 303
    stored = _in(net["network"], lambda: _get(Referral, referral.id))
    assert stored.patient_id == referral.patient_id and stored.match_decision is None


def test_someone_else_dismisses_the_match_for_good_and_is_audited(net, known, new_client):
    second = make_referral(net["network"], net["gp"], status=ReferralStatus.ACCEPTED,
                           coordinator=net["coordinator"].user)
    client = _client(new_client, net)
    response = client.post(f"{_detail(net, second.id)}/match/afwijzen", data={})
    assert response.status_code == 303
    referral = _in(net["network"], lambda: _get(Referral, second.id))
    assert referral.match_decision is MatchDecision.DISMISSED and referral.patient_id == second.patient_id
    rows = _audit("referral.match_dismissed")
    assert [(r.patient_id, r.object_id, r.user_id) for r in rows] == [
        (second.patient_id, second.id, net["coordinator"].user_id)]
    assert str(known.patient_id) in rows[0].reason
    assert 'id="match"' not in client.get(_detail(net, second.id)).get_data(as_text=True)
    assert client.get(f"/n/{net['network'].slug}/cases/intake/{second.id}").status_code == 200  # a first intake
    # Deciding twice is refused; the first decision stands.
    client.post(f"{_detail(net, second.id)}/match/koppelen", data={"patient_id": known.patient_id})
    assert _in(net["network"], lambda: _get(Referral, second.id)).patient_id == second.patient_id
    assert len(_audit("referral.match_dismissed")) == 1 and _audit("referral.match_linked") == []


def test_care_without_intake_waits_for_the_match_decision(net, known, new_client):
    second = make_referral(net["network"], net["gp"], status=ReferralStatus.ACCEPTED,
                           coordinator=net["coordinator"].user)
    response = _client(new_client, net).post(f"{_detail(net, second.id)}/actie", data={
        "action": "care_without_intake", "care_reason": "Telefonisch", "care_confirm": "y"})
    assert response.status_code == 303
    assert _in(net["network"], lambda: services.case_for_referral(second.id)) is None


# --- merging two records ---------------------------------------------------------------------------------

def _merge_url(net, kept_id, duplicate_id):
    return f"/n/{net['network'].slug}/patients/{kept_id}/samenvoegen/{duplicate_id}"


def test_merging_two_records_moves_everything_after_a_confirmation(net, known, new_client):
    other_case = make_case(net["network"], net["gp"], net["coordinator"], story="Ander verhaal",
                           given_name="W.", family_name="Jansen")
    give_consent(other_case, net["coordinator"].user, net["member"])
    kept_id, duplicate_id = known.patient_id, other_case.patient_id

    def counts(patient_id):
        return {model.__name__: db.session.scalar(select(func.count()).select_from(model)
                                                  .where(model.patient_id == patient_id))
                for model in (Referral, Intake, Case, Consent, RecordSection, RecordSectionVersion)}
    kept_before, dup_before = _in(net["network"], lambda: counts(kept_id)), _in(net["network"], lambda: counts(duplicate_id))
    shared = _in(net["network"], lambda: set(records.sections_of(kept_id, SectionKey))
                 & set(records.sections_of(duplicate_id, SectionKey)))
    assert SectionKey.STORY in shared
    story_versions = _in(net["network"], lambda: (
        records.sections_of(kept_id, [SectionKey.STORY])[SectionKey.STORY].version,
        records.sections_of(duplicate_id, [SectionKey.STORY])[SectionKey.STORY].version))
    client = _client(new_client, net)
    detail = client.get(f"/n/{net['network'].slug}/patients/{kept_id}").get_data(as_text=True)
    assert _merge_url(net, kept_id, duplicate_id) in detail

    page = client.get(_merge_url(net, kept_id, duplicate_id))
    assert page.status_code == 200 and 'name="confirm"' in page.get_data(as_text=True)
    assert client.post(_merge_url(net, kept_id, duplicate_id), data={}).status_code == 400  # not confirmed
    assert _in(net["network"], lambda: counts(duplicate_id)) == dup_before

    response = client.post(_merge_url(net, kept_id, duplicate_id), data={"confirm": "y"})
    assert response.status_code == 303

    def check():
        after = counts(kept_id)
        assert counts(duplicate_id) == dict.fromkeys(after, 0)
        for name in ("Referral", "Intake", "Case", "Consent"):
            assert after[name] == kept_before[name] + dup_before[name], name
        # Every version is kept; each section both had gets one merged version on top.
        assert after["RecordSectionVersion"] == (kept_before["RecordSectionVersion"]
                                                 + dup_before["RecordSectionVersion"] + len(shared))
        assert after["RecordSection"] == kept_before["RecordSection"] + dup_before["RecordSection"] - len(shared)
        story = records.sections_of(kept_id, [SectionKey.STORY])[SectionKey.STORY]
        assert story.version == sum(story_versions) + 1  # both histories, then the merged version
        texts = [v.content["story"] for v in records.history(kept_id, SectionKey.STORY)]
        assert STORY in texts and "Ander verhaal" in texts
        assert _get(Patient, duplicate_id).merged_into_id == kept_id
        assert duplicate_id not in [p.id for p in merging.candidates_for(_get(Patient, kept_id))]
    _in(net["network"], check)
    rows = _audit("patient.merged")
    assert {r.patient_id for r in rows} == {kept_id, duplicate_id}
    assert all(r.user_id == net["coordinator"].user_id and str(duplicate_id) in r.reason for r in rows)
    # Merging again is refused (the record is merged already), and changes nothing.
    response = client.post(_merge_url(net, kept_id, duplicate_id), data={"confirm": "y"})
    assert response.status_code == 303 and len(_audit("patient.merged")) == 2


def test_a_section_only_the_duplicate_has_moves_as_it_is(net):
    kept = make_patient(net["network"], bsn="123456782")
    duplicate = make_patient(net["network"], bsn="123456782")
    with network_context(net["network"].id):
        section = records.write_section(duplicate.id, SectionKey.CONTACT, {"phone": "06 1"},
                                        actor=net["coordinator"].user, reason="t", source=RecordSource.COORDINATOR)
        merging.merge_patients(kept=_get(Patient, kept.id), duplicate=_get(Patient, duplicate.id),
                               actor=net["coordinator"].user)
        db.session.commit()
        moved = records.sections_of(kept.id, [SectionKey.CONTACT])[SectionKey.CONTACT]
        assert moved.id == section.id and moved.version == 1 and moved.content["phone"] == "06 1"
        assert [v.version for v in records.history(kept.id, SectionKey.CONTACT)] == [1]


def test_merge_refuses_the_same_patient_and_another_networks_patient(net, new_client):
    patient = make_patient(net["network"], created_by=net["coordinator"].user)
    foreign = make_patient(net["other"], given_name="CANARY-TW", created_by=net["other_coordinator"].user)
    client = _client(new_client, net)
    for method in ("get", "post"):
        response = getattr(client, method)(_merge_url(net, patient.id, foreign.id),
                                           **({"data": {"confirm": "y"}} if method == "post" else {}))
        assert response.status_code == 404 and "CANARY-TW" not in response.get_data(as_text=True)
        assert getattr(client, method)(_merge_url(net, foreign.id, patient.id),
                                       **({"data": {}} if method == "post" else {})).status_code == 404
    response = client.post(_merge_url(net, patient.id, patient.id), data={"confirm": "y"})
    assert response.status_code == 303
    assert _in(net["network"], lambda: _get(Patient, patient.id)).merged_into_id is None
    assert _audit("patient.merged") == []


@pytest.mark.parametrize("who", ["member", "other_coordinator"])
def test_only_the_networks_coordinator_decides_and_merges(net, known, new_client, who):
    second = make_referral(net["network"], net["gp"], status=ReferralStatus.ACCEPTED,
                           coordinator=net["coordinator"].user)
    client = _client(new_client, net, who)
    base = _detail(net, second.id)
    assert client.post(f"{base}/match/koppelen", data={"patient_id": known.patient_id}).status_code == 404
    assert client.post(f"{base}/match/afwijzen", data={}).status_code == 404
    assert client.get(_merge_url(net, known.patient_id, second.patient_id)).status_code == 404
    assert _in(net["network"], lambda: _get(Referral, second.id)).match_decision is None


def test_bad_input_never_fails_and_get_changes_nothing(net, known, new_client):
    second = make_referral(net["network"], net["gp"])
    client = _client(new_client, net)
    base = _detail(net, second.id)
    for data in ({}, {"patient_id": "abc"}, {"patient_id": "-1"}, {"patient_id": "999999"},
                 {"patient_id": str(second.patient_id)}):
        assert client.post(f"{base}/match/koppelen", data=data).status_code == 303, data
    assert client.get(f"{base}/match/koppelen").status_code == 405
    assert client.get(f"{base}/match/afwijzen").status_code == 405
    assert client.post(f"/n/{net['network'].slug}/referrals/999999/match/koppelen", data={}).status_code == 404
    assert client.post(f"{base}/match/afwijzen", data={}, csrf=False).status_code == 400
    assert client.post(_merge_url(net, known.patient_id, second.patient_id), data={"confirm": "y"},
                       csrf=False).status_code == 400
    assert _in(net["network"], lambda: _get(Referral, second.id)).match_decision is None
    assert _in(net["network"], lambda: _get(Patient, second.patient_id)).merged_into_id is None
