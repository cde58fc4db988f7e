"""Patient rights: the complete export for a right-of-access request (coordinator only, audit-logged), and
the platform admin's erase procedure for a legal request (no patient data shown, every row and file of
the patient gone, the audit trail kept)."""
from __future__ import annotations

import io
import json
from datetime import date

import pytest
from pypdf import PdfReader
from sqlalchemy import func, or_, select

from app.cases import services
from app.cases.models import Case, Consent, ConsentMethod, ConsentPart, Letter, Note, NoteVisibility
from app.cases.services import letters as letter_service
from app.core.audit import AuditAction, AuditEvent
from app.core.db import utcnow
from app.core.jobs import run_inline_pending
from app.core.storage import store_bytes, stored_path
from app.core.tenancy import network_context
from app.extensions import db
from app.networks.models import Membership, Role
from app.records import services as record_services
from app.records.models import RecordSource, SectionKey
from app.referrals.models import Referral, ReferralAttachment, ReferralMessage
from tests.case_factories import add_to_team, make_case, write_note
from tests.conftest import login_as, make_gp, make_member, make_network, make_user
from tests.palliative_factories import make_palliative_world
from tests.portal_factories import make_portal_world
from tests.quality_factories import FAKE_PDF

SECRET_NOTES = {NoteVisibility.TEAM: "Notitie voor het team", NoteVisibility.DISCIPLINE: "Alleen voor dietisten",
                NoteVisibility.PRIVATE: "Alleen voor mij"}


def _full_case(network, gp, coordinator: Membership, member: Membership, **referral_fields) -> dict:
    """A case with every kind of row: team, consents (one withdrawn, with a document), notes of every
    visibility (one edited), an action, a measurement, a sent letter with its PDF, the GP thread, a
    referral message and an attachment file."""
    case = make_case(network, gp, coordinator, **referral_fields)
    add_to_team(case, coordinator.user, member)
    notes = {v: write_note(case, member, body, v) for v, body in SECRET_NOTES.items()}
    with network_context(network.id):
        case = db.session.get(Case, case.id)
        me = db.session.get(Membership, member.id)
        services.edit_note(db.session.get(Note, notes[NoteVisibility.TEAM].id), member.user, me,
                           "Notitie voor het team, aangevuld")
        document = store_bytes(network.id, FAKE_PDF)
        consent = services.record_consent(case, coordinator.user, method=ConsentMethod.WRITTEN, purpose="Overleg",
                                          membership_ids=[member.id], parts={ConsentPart.INTAKE},
                                          document_name="toestemming.pdf", document_storage=document)
        services.withdraw_consent(consent, coordinator.user, "Op verzoek van de patient")
        services.add_action(case, coordinator.user, description="Bellen over voeding",
                            owner=db.session.get(Membership, coordinator.id), due_on=date.today())
        services.record_prom(case, coordinator.user, score=5, problems=["vermoeidheid"], measured_on=date.today())
        services.add_case_message(case, gp, "Hoe gaat het met hem?", from_gp=True)
        db.session.add(ReferralMessage(network_id=network.id, referral_id=case.referral_id, occurred_at=utcnow(),
                                       author_id=gp.id, from_network=False, body="Aanvulling van de huisarts"))
        attachment = ReferralAttachment(network_id=network.id, referral_id=case.referral_id, filename="brief.pdf",
                                        storage_name=store_bytes(network.id, FAKE_PDF), size=len(FAKE_PDF),
                                        uploaded_by_id=gp.id)
        db.session.add(attachment)
        letter = db.session.scalar(select(Letter).where(Letter.case_id == case.id))
        letter_service.send_letter(letter, coordinator.user)
        record_services.seed_from_referral(db.session.get(Referral, case.referral_id), coordinator.user)
        db.session.commit()
    run_inline_pending()  # the letter PDF (and the mails)
    with network_context(network.id):
        letter = db.session.get(Letter, letter.id)
        attachment = db.session.get(ReferralAttachment, attachment.id)
        files = [stored_path(network.id, name) for name in (letter.pdf_storage, document, attachment.storage_name)]
        patient_id = db.session.get(Case, case.id).patient_id
    make_palliative_world(network, coordinator, case)  # the hospital's roles and an outside central provider
    make_portal_world(network, coordinator, case, tag=f"rights-{case.id}")  # the patient's portal, a relative
    assert all(path.is_file() for path in files)
    return {"case_id": case.id, "referral_id": case.referral_id, "patient_id": patient_id, "files": files}


@pytest.fixture
def world():
    network = make_network("noord")
    coordinator = make_member(network, "coo@example.nl", role=Role.COORDINATOR, disciplines=("casemanager",))
    member = make_member(network, "dietist@example.nl", disciplines=("dietist",), name="Diana Dietist")
    gp = make_gp("gp@example.nl", email_verified_at=utcnow(), name="Dokter Gerrit")
    wim = _full_case(network, gp, coordinator, member)
    anna = _full_case(network, gp, coordinator, member, given_name="Anna", family_name="Visser", bsn="123456782")
    other_network = make_network("zuid")
    other_coordinator = make_member(other_network, "coo-zuid@example.nl", role=Role.COORDINATOR)
    elsewhere = make_case(other_network, gp, other_coordinator, given_name="Elders")
    admin = make_user("admin@example.nl", is_platform_admin=True)
    return {"network": network, "coordinator": coordinator, "member": member, "gp": gp, "wim": wim, "anna": anna,
            "other_network": other_network, "other_coordinator": other_coordinator, "elsewhere": elsewhere,
            "admin": admin}


def export_url(world, patient_id: int, fmt: str = "json", slug: str = "noord") -> str:
    return f"/n/{slug}/patients/{patient_id}/export.{fmt}"


# --- export -----------------------------------------------------------------------------------------

def test_the_json_export_holds_every_section(client, world):
    login_as(client, world["coordinator"].user)
    response = client.get(export_url(world, world["wim"]["patient_id"]))
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.headers["Content-Disposition"].startswith("attachment")
    data = json.loads(response.data)

    assert data["patient"]["id"] == world["wim"]["patient_id"]
    assert (data["patient"]["given_name"], data["patient"]["date_of_birth"]) == ("Wim", "1971-03-14")
    [referral] = data["referrals"]
    assert referral["id"] == world["wim"]["referral_id"] and referral["question"]
    assert referral["complaints"]["physical"]["items"] == ["fatigue", "bowel"]
    assert [m["name"] for m in referral["medications"]] == ["Loperamide"]
    assert referral["disciplines_asked"] == ["Diëtist"]
    assert referral["events"] and referral["messages"][0]["body"] == "Aanvulling van de huisarts"
    assert referral["attachments"][0]["filename"] == "brief.pdf"
    assert "storage_name" not in referral["attachments"][0] and "submission_key" not in referral
    assert len(data["intakes"]) == 1 and data["intakes"][0]["status"] == "completed"

    [case] = data["cases"]
    assert case["id"] == world["wim"]["case_id"]
    assert [t["member"]["name"] for t in case["care_team"] if t["status"] == "active"] == ["Diana Dietist"]
    assert [t["status"] for t in case["care_team"] if t["member"]["name"] != "Diana Dietist"] == ["proposed"]
    assert sorted(a["role"] for a in data["portal"]["accounts"]) == ["patient", "relative", "relative"]
    assert [q["score"] for q in data["portal"]["questionnaires"]] == [7]
    assert case["central_provider_history"]
    assert len(case["consents"]) == 2
    withdrawn = [c for c in case["consents"] if c["withdrawn_at"]]
    assert withdrawn and withdrawn[0]["withdrawal_reason"] == "Op verzoek van de patient"
    assert withdrawn[0]["document_name"] == "toestemming.pdf" and "document_storage" not in withdrawn[0]
    # Every visibility: this is the patient's own right of access.
    assert {n["visibility"] for n in case["notes"]} == {"team", "discipline", "private"}
    edited = next(n for n in case["notes"] if n["visibility"] == "team")
    assert edited["body"] == "Notitie voor het team, aangevuld" and edited["version"] == 2
    assert [v["body"] for v in edited["earlier_versions"]] == ["Notitie voor het team"]
    assert case["actions"][0]["description"] == "Bellen over voeding"
    assert {p["score"] for p in case["distress_measurements"]} == {7, 5}  # the intake score, then ours
    assert case["letters"][0]["sent_at"] and case["letters"][0]["pdf_stored"] is True
    assert case["gp_thread"][0]["body"] == "Hoe gaat het met hem?"
    # The rows of the packages above cases (app.palliative), through the same builder.
    assert [r["name"] for r in case["hospital_roles"]] == ["Casemanager"]
    assert [r["name"] for r in case["outside_central_providers"]] == ["Wijkverpleegkundige"]
    assert [(r["kind"], r["indicators"]) for r in case["palliative_path"]] == [("signal", ["weight_loss"])]
    assert case["timeline"]
    # ISO dates.
    assert case["opened_at"].startswith(str(date.today().year)) and "T" in case["opened_at"]

    log = data["access_log"]
    events = {row["event"] for row in log}
    assert {"case.opened", "note.created", "patient.exported"} <= events
    assert all(row["occurred_at"] and "T" in row["occurred_at"] for row in log)
    # Nothing of another patient.
    assert "Anna" not in response.get_data(as_text=True) and "Visser" not in response.get_data(as_text=True)


def test_the_export_holds_the_shared_record_with_every_version(client, world):
    with network_context(world["network"].id):
        record_services.write_section(world["wim"]["patient_id"], SectionKey.MEDICATION,
                                      {"rows": [{"name": "Loperamide", "dose": "4 mg"}]},
                                      actor=world["coordinator"].user, reason="Dosis verhoogd",
                                      source=RecordSource.COORDINATOR)
        db.session.commit()
    login_as(client, world["coordinator"].user)
    data = json.loads(client.get(export_url(world, world["wim"]["patient_id"])).data)
    sections = {section["key"]: section for section in data["record"]}
    assert {"story", "medication"} <= sections.keys()
    medication = sections["medication"]
    assert medication["content"]["rows"][0]["dose"] == "4 mg"
    assert [v["version"] for v in medication["versions"]] == list(range(1, medication["version"] + 1))
    assert medication["versions"][0]["content"]["rows"][0]["name"] == "Loperamide"
    newest = medication["versions"][-1]
    assert (newest["reason"], newest["source"]) == ("Dosis verhoogd", "coordinator")
    assert newest["written_by_name"] == world["coordinator"].user.full_name
    assert "Dosis verhoogd" in _pdf_text(client.get(export_url(world, world["wim"]["patient_id"], "pdf")).data)


def _pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_the_export_is_audit_logged_as_an_export(client, world):
    login_as(client, world["coordinator"].user)
    client.get(export_url(world, world["wim"]["patient_id"]))
    client.get(export_url(world, world["wim"]["patient_id"], "pdf"))
    db.session.rollback()
    rows = db.session.scalars(select(AuditEvent).where(AuditEvent.event == "patient.exported")).all()
    assert [(r.action, r.patient_id, r.user_id, r.network_id) for r in rows] == [
        (AuditAction.EXPORT, world["wim"]["patient_id"], world["coordinator"].user_id, world["network"].id)] * 2


def test_the_pdf_export(client, world):
    login_as(client, world["coordinator"].user)
    response = client.get(export_url(world, world["wim"]["patient_id"], "pdf"))
    assert response.status_code == 200
    assert response.mimetype == "application/pdf" and response.data.startswith(b"%PDF")
    assert response.headers["Content-Disposition"].startswith("attachment")


def test_a_member_gets_404(client, world):
    login_as(client, world["member"].user)
    for fmt in ("json", "pdf"):
        assert client.get(export_url(world, world["wim"]["patient_id"], fmt)).status_code == 404


def test_another_networks_patient_is_404(client, world):
    login_as(client, world["coordinator"].user)
    elsewhere = world["elsewhere"].patient_id
    for fmt in ("json", "pdf"):
        assert client.get(export_url(world, elsewhere, fmt)).status_code == 404
    # And the other network's coordinator cannot export ours.
    login_as(client, world["other_coordinator"].user)
    assert client.get(export_url(world, world["wim"]["patient_id"], slug="zuid")).status_code == 404
    assert client.get(export_url(world, world["wim"]["patient_id"], slug="noord")).status_code == 404


# --- erasure ----------------------------------------------------------------------------------------

ERASE_URL = "/admin/patients/wissen"
CASE_AND_REFERRAL_TABLES = (
    "patients", "referrals", "referral_medications", "referral_disciplines", "referral_events", "referral_messages",
    "referral_attachments", "intakes", "cases", "central_provider_changes", "care_team_members", "consents",
    "consent_members", "notes", "note_versions", "note_disciplines", "case_actions", "prom_measurements", "letters", "case_messages",
    "case_events", "record_sections", "record_section_versions", "hospital_roles", "outside_central_providers",
    "portal_accounts", "patient_questionnaires", "portal_messages", "palliative_events", "mdo_discussions",
    "norm_clocks")
LINK_COLUMNS = ("patient_id", "referral_id", "case_id", "note_id", "consent_id")


def erase_form(world, patient_id: int, **overrides) -> dict:
    return {"network_id": str(world["network"].id), "patient_id": str(patient_id),
            "legal_reference": "Rechtbank Haarlem, C/15/123456, 1 december 2026",
            "confirm_patient_id": str(patient_id), **overrides}


def link_ids(world, who: str) -> dict[str, list[int]]:
    """The ids that point at *who*'s data: patient, referral, case, notes and consents (taken before erasing)."""
    db.session.rollback()
    ids = world[who]
    with network_context(world["network"].id):
        note_ids = list(db.session.scalars(select(Note.id).where(Note.case_id == ids["case_id"])))
        consent_ids = list(db.session.scalars(select(Consent.id).where(Consent.case_id == ids["case_id"])))
    return {"patient_id": [ids["patient_id"]], "referral_id": [ids["referral_id"]], "case_id": [ids["case_id"]],
            "note_id": note_ids, "consent_id": consent_ids}


def rows_of(world, keys: dict[str, list[int]]) -> dict[str, int]:
    """For every table of the network with a link column: the rows that point at these ids."""
    db.session.rollback()
    counts = {}
    for table in db.metadata.sorted_tables:
        if "network_id" not in table.c or table.name == "audit_events":
            continue
        conditions = [table.c[name].in_(keys[name]) for name in LINK_COLUMNS if name in table.c and keys[name]]
        own = {"patients": "patient_id", "referrals": "referral_id", "cases": "case_id", "notes": "note_id",
               "consents": "consent_id"}.get(table.name)
        if own:
            conditions.append(table.c.id.in_(keys[own]))
        if not conditions:
            continue
        counts[table.name] = db.session.execute(select(func.count()).select_from(table).where(
            table.c.network_id == world["network"].id, or_(*conditions))).scalar_one()
    return counts


def test_only_a_platform_admin_reaches_the_erase_page(client, world):
    for user in (world["coordinator"].user, world["member"].user, world["gp"]):
        login_as(client, user)
        assert client.get(ERASE_URL).status_code == 404
        assert client.post(ERASE_URL, data=erase_form(world, world["wim"]["patient_id"])).status_code == 404
    assert rows_of(world, link_ids(world, "wim"))["patients"] == 1
    login_as(client, world["admin"])
    page = client.get(ERASE_URL)
    assert page.status_code == 200
    assert "Wim" not in page.get_data(as_text=True) and "Jansen" not in page.get_data(as_text=True)


@pytest.mark.parametrize("overrides", [{"legal_reference": ""}, {"legal_reference": "   "},
                                       {"confirm_patient_id": "999"}, {"confirm_patient_id": ""}])
def test_the_legal_reference_and_the_typed_confirmation_are_required(client, world, overrides):
    login_as(client, world["admin"])
    wim = link_ids(world, "wim")
    before = rows_of(world, wim)
    response = client.post(ERASE_URL, data=erase_form(world, world["wim"]["patient_id"], **overrides))
    assert response.status_code == 400
    assert rows_of(world, wim) == before and before["patients"] == 1
    db.session.rollback()
    assert db.session.scalar(select(AuditEvent.id).where(AuditEvent.event == "patient.erased")) is None


def test_a_patient_of_another_network_is_not_erased_through_this_one(client, world):
    login_as(client, world["admin"])
    elsewhere = world["elsewhere"]
    response = client.post(ERASE_URL, data=erase_form(world, elsewhere.patient_id))
    assert response.status_code == 400
    db.session.rollback()
    with network_context(world["other_network"].id):
        assert db.session.scalar(select(Case.id).where(Case.id == elsewhere.id)) == elsewhere.id


def test_erasing_removes_every_row_and_file_of_the_patient_and_keeps_the_audit_trail(client, world):
    wim, anna = link_ids(world, "wim"), link_ids(world, "anna")
    assert all(wim.values()) and all(anna.values())
    before = rows_of(world, wim)
    anna_before = rows_of(world, anna)
    # Every referral and case table holds rows of the patient before (so "0 after" means something).
    assert sorted(before) == sorted(CASE_AND_REFERRAL_TABLES)
    assert all(count > 0 for count in before.values()), before
    db.session.rollback()
    earlier_audit = db.session.scalar(select(func.count(AuditEvent.id)).where(
        AuditEvent.patient_id == world["wim"]["patient_id"]))
    assert earlier_audit > 10

    login_as(client, world["admin"])
    response = client.post(ERASE_URL, data=erase_form(world, world["wim"]["patient_id"]))
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    for secret in ("Wim", "Jansen", "111222333", *SECRET_NOTES.values()):
        assert secret not in page  # the platform admin sees counts only
    assert 'id="erase-counts"' in page

    after = rows_of(world, wim)
    assert sorted(after) == sorted(CASE_AND_REFERRAL_TABLES)
    assert all(count == 0 for count in after.values()), after
    assert rows_of(world, anna) == anna_before  # the other patient is untouched
    assert all(not path.exists() for path in world["wim"]["files"])
    assert all(path.is_file() for path in world["anna"]["files"])
    with network_context(world["other_network"].id):
        assert db.session.scalar(select(func.count(Case.id))) == 1
    with network_context(world["network"].id):
        assert db.session.scalar(select(func.count(Referral.id))) == 1

    db.session.rollback()
    erased = db.session.scalars(select(AuditEvent).where(AuditEvent.event == "patient.erased")).all()
    assert len(erased) == 1
    row = erased[0]
    assert (row.action, row.patient_id, row.network_id, row.user_id, row.user_role) == (
        AuditAction.DELETE, world["wim"]["patient_id"], world["network"].id, world["admin"].id, "platform_admin")
    assert row.reason.startswith("Rechtbank Haarlem, C/15/123456")
    assert "notes 3" in row.reason and "files 3" in row.reason
    for secret in ("Wim", "Jansen", *SECRET_NOTES.values()):
        assert secret not in row.reason
    assert db.session.scalar(select(func.count(AuditEvent.id)).where(
        AuditEvent.patient_id == world["wim"]["patient_id"])) == earlier_audit + 1

    # Erasing again finds nothing.
    assert client.post(ERASE_URL, data=erase_form(world, world["wim"]["patient_id"])).status_code == 400
