"""The shared record: writing sections (versions, no-op when unchanged, history, changed since), the
normal form, what a referral and an intake put in it (by hand), the audit row, tenancy, and erasure.
Migration 0007's data migration is tested in tests/test_migrations.py."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from app.auth.models import User
from app.cases.models import ConsentPart, Intake, IntakeStatus
from app.core.audit import AuditAction, AuditEvent
from app.core.db import utcnow
from app.core.tenancy import network_context
from app.extensions import db
from app.networks.models import Role
from app.records import mapping
from app.records import services as records
from app.records.models import (
    SECTION_PARTS,
    SECTIONS,
    RecordSection,
    RecordSectionVersion,
    RecordSource,
    SectionKey,
    keys_for_parts,
)
from app.referrals.models import Referral
from tests.case_factories import make_case
from tests.conftest import make_gp, make_member, make_network, make_patient


@pytest.fixture
def world():
    network = make_network("zk", name="Netwerk Zuid-Kennemerland", approved_at=utcnow())
    coordinator = make_member(network, "coordinator@zk.nl", role=Role.COORDINATOR, disciplines=("casemanager",),
                              name="Carla Coordinator")
    patient = make_patient(network, created_by=coordinator.user)
    return {"network": network, "coordinator": coordinator, "patient_id": patient.id}


def _write(world, key, content, reason="why", **links):
    return records.write_section(world["patient_id"], key, content, actor=world["coordinator"].user, reason=reason,
                                 source=RecordSource.COORDINATOR, **links)


# --- the definitions ------------------------------------------------------------------------------------

def test_every_section_is_defined_once_in_order_and_belongs_to_one_part():
    assert list(SECTIONS) == list(SectionKey)
    assert {key: spec.part for key, spec in SECTIONS.items()} == SECTION_PARTS
    assert [key for key, part in SECTION_PARTS.items() if part is not ConsentPart.INTAKE] == [SectionKey.DISTRESS]
    assert keys_for_parts([ConsentPart.PROMS]) == {SectionKey.DISTRESS}
    assert keys_for_parts(["intake"]) == set(SectionKey) - {SectionKey.DISTRESS}
    assert keys_for_parts([ConsentPart.NOTES]) == frozenset()
    for spec in SECTIONS.values():
        assert len(set(spec.field_names)) == len(spec.fields)
    problems = SECTIONS[SectionKey.PROBLEMS]
    assert {"physical_items", "spiritual_text", "work", "household", "referral_question", "urgency"} <= set(
        problems.field_names)
    assert ("fatigue", "bowel") <= tuple(code for code, _ in problems.field("physical_items").choices)
    assert "pain" in {code for code, _ in SECTIONS[SectionKey.DISTRESS].field("problems").choices}
    assert [code for code, _ in SECTIONS[SectionKey.DIAGNOSIS].field("treatment_goal").choices] == [
        "curative", "life_prolonging", "palliative", "unknown"]


def test_consent_part_labels_speak_the_patients_words(app):
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert ConsentPart.INTAKE.label.startswith("My story and hand-over")
        assert ConsentPart.PROMS.label == "Questionnaires (distress thermometer)"


def test_normal_form_drops_unknown_keys_bounds_lengths_and_refuses_bad_scores():
    content = mapping.normalise(SectionKey.DISTRESS, {"score": "7", "problems": ["pain", "pain", " fatigue "],
                                                      "measured_on": date(2026, 12, 1), "secret": "x"})
    assert content == {"score": 7, "problems": ["pain", "fatigue"], "measured_on": "2026-12-01", "remarks": ""}
    story = mapping.normalise(SectionKey.STORY, {"story": "  " + "a" * 60_000})
    assert story == {"story": "a" * 50_000, "sharing_wishes": ""}
    rows = mapping.normalise(SectionKey.MEDICATION, {"rows": [{"name": "Loperamide", "colour": "red"},
                                                              {"name": "", "dose": " "}]})
    assert rows["rows"] == [{"name": "Loperamide", "dose": "", "since": "", "stopped": "", "stop_reason": ""}]
    for bad in (11, -1, "veel", 7.5, True):
        with pytest.raises(ValueError):
            mapping.normalise(SectionKey.DISTRESS, {"score": bad})
    with pytest.raises(ValueError):
        mapping.normalise(SectionKey.CARE_PLAN, {"next_evaluation_on": "volgende week"})


# --- writing and reading ----------------------------------------------------------------------------------

def test_write_versions_noop_history_and_changed_since(world):
    with network_context(world["network"].id):
        first = _write(world, SectionKey.CARE_PLAN, {"goals": "Weer fietsen"}, reason="first")
        assert (first.version, first.content["goals"], first.content["who_does_what"]) == (1, "Weer fietsen", "")
        assert _write(world, SectionKey.CARE_PLAN, {"goals": " Weer fietsen ", "unknown": "x"}) is None  # unchanged
        assert _write(world, SectionKey.WISHES, {}) is None  # empty content makes no section
        between = utcnow()
        second = _write(world, SectionKey.CARE_PLAN, {"goals": "Weer fietsen", "who_does_what": "Dietist: voeding"},
                        reason="second")
        assert second.id == first.id and second.version == 2
        db.session.commit()

        versions = records.history(world["patient_id"], SectionKey.CARE_PLAN)
        assert [(v.version, v.reason, v.source) for v in versions] == [
            (2, "second", RecordSource.COORDINATOR), (1, "first", RecordSource.COORDINATOR)]
        assert versions[1].content["who_does_what"] == ""  # the old version stays readable as it was
        assert versions[0].written_by_id == world["coordinator"].user_id
        assert records.version(world["patient_id"], SectionKey.CARE_PLAN, 1).content["goals"] == "Weer fietsen"
        assert records.version(world["patient_id"], SectionKey.CARE_PLAN, 3) is None

        _write(world, SectionKey.STORY, {"story": "Mijn verhaal"})
        db.session.commit()
        found = records.sections_of(world["patient_id"], [SectionKey.STORY, SectionKey.DISTRESS])
        assert set(found) == {SectionKey.STORY}  # only the keys asked for, only existing sections
        assert set(records.sections_of(world["patient_id"], SectionKey)) == {SectionKey.STORY, SectionKey.CARE_PLAN}
        assert records.sections_of(world["patient_id"], []) == {}
        viewer = records.sections_for_viewer(world["patient_id"], [SectionKey.CARE_PLAN, SectionKey.STORY,
                                                                  SectionKey.MEDICATION])
        assert [(spec.key, section is not None) for spec, section in viewer] == [
            (SectionKey.STORY, True), (SectionKey.MEDICATION, False), (SectionKey.CARE_PLAN, True)]

        assert records.changed_since(world["patient_id"], SectionKey, None) == {SectionKey.STORY,
                                                                               SectionKey.CARE_PLAN}
        assert records.changed_since(world["patient_id"], SectionKey, between) == {SectionKey.STORY,
                                                                                  SectionKey.CARE_PLAN}
        assert records.changed_since(world["patient_id"], [SectionKey.STORY], between) == {SectionKey.STORY}
        assert records.changed_since(world["patient_id"], SectionKey, utcnow() + timedelta(seconds=1)) == set()


def test_a_write_is_audited_without_content(world):
    with network_context(world["network"].id):
        section = _write(world, SectionKey.STORY, {"story": "Geheim verhaal"})
        db.session.commit()
        rows = db.session.scalars(select(AuditEvent).where(AuditEvent.event == "record.section_written")).all()
    assert len(rows) == 1
    row = rows[0]
    assert (row.action, row.patient_id, row.object_type, row.object_id, row.reason, row.network_id,
            row.user_id) == (AuditAction.UPDATE, world["patient_id"], "record_section", section.id, "story v1",
                             world["network"].id, world["coordinator"].user_id)
    assert "Geheim" not in row.payload()


def test_a_section_of_one_network_is_invisible_in_another(world):
    other = make_network("other")
    other_coordinator = make_member(other, "c@other.nl", role=Role.COORDINATOR)
    other_patient = make_patient(other, created_by=other_coordinator.user)
    a_id, b_id, b_patient_id = world["network"].id, other.id, other_patient.id
    b_user_id = other_coordinator.user_id
    with network_context(a_id):
        _write(world, SectionKey.STORY, {"story": "Van netwerk A"})
        db.session.commit()
    db.session.expunge_all()
    with network_context(b_id):
        assert db.session.scalar(select(func.count()).select_from(RecordSection)) == 0
        assert db.session.scalar(select(func.count()).select_from(RecordSectionVersion)) == 0
        assert records.sections_of(world["patient_id"], SectionKey) == {}
        assert records.history(world["patient_id"], SectionKey.STORY) == []
        assert records.sections_of(b_patient_id, SectionKey) == {}
        # Writing for A's patient id from B's context fails on the composite key; nothing lands in A.
        with pytest.raises(IntegrityError):
            records.write_section(world["patient_id"], SectionKey.STORY, {"story": "Van B"},
                                  actor=db.session.get(User, b_user_id), reason="x", source=RecordSource.COORDINATOR)
        db.session.rollback()
    with network_context(a_id):
        assert records.sections_of(world["patient_id"], SectionKey)[SectionKey.STORY].content["story"] == (
            "Van netwerk A")


# --- from the referral and the intake ---------------------------------------------------------------------

@pytest.fixture
def case_world():
    network = make_network("zk", name="Netwerk Zuid-Kennemerland", approved_at=utcnow())
    coordinator = make_member(network, "coordinator@zk.nl", role=Role.COORDINATOR, disciplines=("casemanager",))
    gp = make_gp("gp@example.nl", "01234567", name="Dr. Huisarts", email_verified_at=utcnow())
    gp.gp_profile.phone = "023 555 0000"
    db.session.commit()
    case = make_case(network, gp, coordinator, relative_name="Els Jansen", relative_relation="partner",
                     relative_phone="06 12345678", medication_list_attached=True)
    return {"network": network, "coordinator": coordinator, "gp": gp, "case": case}


def test_content_from_referral_by_hand(case_world):
    with network_context(case_world["network"].id):
        referral = db.session.scalar(select(Referral).where(Referral.id == case_world["case"].referral_id))
        content = records.content_from_referral(referral)
        submitted_on = mapping.local_date(referral.submitted_at).isoformat()
    assert set(content) == {SectionKey.DIAGNOSIS, SectionKey.MEDICATION, SectionKey.WISHES, SectionKey.PROBLEMS,
                            SectionKey.DISTRESS, SectionKey.PEOPLE, SectionKey.CONTACT}
    assert content[SectionKey.DIAGNOSIS] == {
        "tumour_type": "colorectal", "diagnosis": "", "treatment_goal": "curative",
        "treatment_phase": "after_treatment", "history": "Hemicolectomie 2026", "hospital_treatment_so_far": "",
        "hospital_treatment_planned": ""}
    assert content[SectionKey.MEDICATION] == {
        "rows": [{"name": "Loperamide", "dose": "2 mg zo nodig", "since": "2026", "stopped": "", "stop_reason": ""}],
        "list_attached": "yes", "remarks": ""}
    wishes = content[SectionKey.WISHES]
    assert (wishes["resuscitation"], wishes["euthanasia"], wishes["advance_directive"]) == ("unknown",) * 3
    assert wishes["icu_admission"] == wishes["preferred_place_of_death"] == ""
    problems = content[SectionKey.PROBLEMS]
    assert problems["referral_question"] == "Begeleiding bij diarree, vermoeidheid en seksuele klachten"
    assert problems["physical_items"] == ["fatigue", "bowel"]
    assert problems["physical_text"] == "Diarree sinds de operatie"
    assert problems["social_text"] == "Woont samen met zijn vrouw"  # the GP's social situation
    assert (problems["urgency"], problems["work"], problems["expected"]) == ("routine", "", "")
    assert content[SectionKey.DISTRESS] == {"score": 7, "problems": [], "measured_on": submitted_on, "remarks": ""}
    assert content[SectionKey.PEOPLE] == {
        "gp": "Dr. Huisarts, Praktijk De Linde, Haarlem, 023 555 0000", "specialist": "dr. De Boer",
        "hospital": "Spaarne Gasthuis", "case_manager": "", "home_care": "", "central_care_provider": "",
        "informal_carers": "Els Jansen (partner), 06 12345678"}
    assert content[SectionKey.CONTACT] == {"agreements": "", "preferred_language": "nl", "phone": "023 123 4567"}


def test_the_submitted_referral_and_the_completed_intake_write_the_record(case_world):
    """The real flows (services.submit, complete_intake) seed the record: the referral first, then the intake."""
    with network_context(case_world["network"].id):
        referral = db.session.scalar(select(Referral).where(Referral.id == case_world["case"].referral_id))
        sections = records.sections_of(referral.patient_id, SectionKey)
        assert set(sections) == set(records.content_from_referral(referral)) | {SectionKey.STORY,
                                                                                 SectionKey.CARE_PLAN}
        assert sections[SectionKey.STORY].content["story"] == "Ik heb sinds de operatie diarree."
        assert sections[SectionKey.MEDICATION].content["rows"][0]["name"] == "Loperamide"
        people = records.history(referral.patient_id, SectionKey.PEOPLE)
        assert [(v.source, v.case_id) for v in people] == [(RecordSource.INTAKE, case_world["case"].id),
                                                           (RecordSource.REFERRAL, None)]
        care_plan = records.history(referral.patient_id, SectionKey.CARE_PLAN)
        assert [(v.version, v.source, v.reason) for v in care_plan] == [(1, RecordSource.INTAKE, "intake v1")]


def test_seeding_from_the_referral_then_the_intake_merges_and_versions(case_world):
    actor = case_world["coordinator"].user
    with network_context(case_world["network"].id):
        referral = db.session.scalar(select(Referral).where(Referral.id == case_world["case"].referral_id))
        # Start from an empty record: the functions are tested here, the flows above.
        db.session.execute(delete(RecordSectionVersion).where(RecordSectionVersion.patient_id == referral.patient_id))
        db.session.execute(delete(RecordSection).where(RecordSection.patient_id == referral.patient_id))
        written = records.seed_from_referral(referral, actor)
        assert {section.key for section in written} == set(records.content_from_referral(referral))
        assert records.seed_from_referral(referral, actor) == []  # again: nothing changed, nothing written
        intake = db.session.scalar(select(Intake).where(Intake.referral_id == referral.id,
                                                        Intake.status == IntakeStatus.COMPLETED))
        # A completed intake is final: what it might have said is given as a plain mapping.
        merged = records.content_from_intake({
            **records.intake_facts(intake), "sharing_wishes": "Niet over zijn broer",
            "problems": {"physical": {"items": ["pain"], "text": ""}, "social": {"items": [], "text": ""}},
            "practical": {"work": "Werkt halve dagen"}})
        assert set(merged) == {SectionKey.STORY, SectionKey.PROBLEMS, SectionKey.DISTRESS, SectionKey.CARE_PLAN,
                               SectionKey.PEOPLE}
        assert merged[SectionKey.STORY] == {"story": "Ik heb sinds de operatie diarree.",
                                            "sharing_wishes": "Niet over zijn broer"}
        problems = merged[SectionKey.PROBLEMS]
        assert problems["physical_items"] == ["pain"]  # the intake's value wins where given
        assert problems["physical_text"] == "Diarree sinds de operatie"  # the rest is kept
        assert problems["social_text"] == "Woont samen met zijn vrouw"
        assert problems["referral_question"].startswith("Begeleiding")
        assert problems["work"] == "Werkt halve dagen"
        assert merged[SectionKey.CARE_PLAN] == {"goals": "Weer kunnen fietsen", "who_does_what": "",
                                                "plan_physical": "", "plan_psychological": "", "plan_social": "",
                                                "plan_spiritual": "", "next_evaluation_on": None}
        assert merged[SectionKey.PEOPLE]["informal_carers"] == "Els Jansen, partner\nWoont samen met zijn vrouw"
        assert merged[SectionKey.PEOPLE]["specialist"] == "dr. De Boer"
        assert merged[SectionKey.DISTRESS] == {"score": 7, "problems": [],
                                               "measured_on": intake.held_on.isoformat(), "remarks": ""}

        written = records.seed_from_intake(intake, actor, case_id=case_world["case"].id)
        db.session.flush()
        people = records.history(intake.patient_id, SectionKey.PEOPLE)
        assert [(v.version, v.source, v.referral_id, v.intake_id) for v in people] == [
            (2, RecordSource.INTAKE, referral.id, intake.id), (1, RecordSource.REFERRAL, referral.id, None)]
        assert people[0].case_id == case_world["case"].id and people[0].reason == "intake v1"
        story = records.sections_of(intake.patient_id, [SectionKey.STORY])[SectionKey.STORY]
        assert story.version == 1 and story.content == {"story": "Ik heb sinds de operatie diarree.",
                                                        "sharing_wishes": ""}
        assert {section.key for section in written} >= {SectionKey.STORY, SectionKey.CARE_PLAN, SectionKey.PEOPLE}
        db.session.rollback()


def test_content_from_intake_accepts_plain_mappings():
    merged = mapping.intake_content(
        {"story": "", "problems": {}, "practical": {}, "distress_score": None, "distress_problems": [],
         "goals": "", "partner_situation": "", "sharing_wishes": "", "held_on": "2026-12-07"},
        {SectionKey.STORY: {"story": "Bestaand"}})
    assert merged == {}  # an empty intake changes nothing
    merged = mapping.intake_content({"story": "Nieuw", "distress_problems": ["pain"], "held_on": "2026-12-07"},
                                    {SectionKey.STORY: {"story": "Bestaand", "sharing_wishes": "Alles"}})
    assert merged[SectionKey.STORY] == {"story": "Nieuw", "sharing_wishes": "Alles"}
    assert merged[SectionKey.DISTRESS] == {"score": None, "problems": ["pain"], "measured_on": "2026-12-07", "remarks": ""}


def test_erasing_a_patient_removes_their_record(case_world, app):
    from app.admin.services.erase import erase_patient

    with network_context(case_world["network"].id):
        referral = db.session.scalar(select(Referral).where(Referral.id == case_world["case"].referral_id))
        patient_id = referral.patient_id
        # The flows wrote the record: the referral's seven sections, the intake's story and care plan.
        sections = db.session.scalar(select(func.count()).select_from(RecordSection))
        versions = db.session.scalar(select(func.count()).select_from(RecordSectionVersion))
        assert sections == 9 and versions > sections
    result = erase_patient(network_id=case_world["network"].id, patient_id=patient_id, legal_reference="Vonnis 1")
    db.session.commit()
    assert (result.counts["record_sections"], result.counts["record_section_versions"]) == (sections, versions)
    with network_context(case_world["network"].id):
        assert db.session.scalar(select(func.count()).select_from(RecordSection)) == 0
        assert db.session.scalar(select(func.count()).select_from(RecordSectionVersion)) == 0
