"""The self-check pages: results, version switch, evidence uploads, snapshots, the PDF job, and the
warning before deactivating a member who keeps a criterion met."""
from __future__ import annotations

import io
import os
import re

import pytest
from sqlalchemy import select, update

from app.core.audit import AuditEvent
from app.core.tenancy import all_networks, network_context
from app.extensions import db
from app.networks.models import Membership, Role
from app.quality import jobs as quality_jobs
from app.quality.models import Evidence, SelfCheckSnapshot, SnapshotPdfStatus
from app.quality.services import SnapshotIsFrozen
from tests.conftest import login_as, make_member, make_network
from tests.quality_factories import make_evidence, make_snapshot


def add_member(network, email, **fields):
    """A member without a password (no slow hashing): these tests sign in with login_as.

    They read the English texts, so the users prefer English (Dutch is the default locale).
    """
    fields.setdefault("locale", "en")
    return make_member(network, email, password=None, **fields)

PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 32
HTML_AS_PDF = b"<!doctype html><html><script>alert(1)</script></html>"
MB = 1024 * 1024


@pytest.fixture(autouse=True)
def uploads(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "UPLOAD_DIR", str(tmp_path))
    return tmp_path


@pytest.fixture
def noord():
    """A network with 4 disciplines (no dietician): 1a and 1b are not met."""
    network = make_network("noord")
    coordinator = add_member(network, "coo@example.nl", role=Role.COORDINATOR, disciplines=("casemanager",))
    members = {code: add_member(network, f"{code}@example.nl", disciplines=(code,))
               for code in ("fysiotherapeut", "psycholoog", "huisarts")}
    return {"network": network, "coordinator": coordinator, **members}


@pytest.fixture
def coo(client, noord):
    return login_as(client, noord["coordinator"].user)


def html(response) -> str:
    return response.get_data(as_text=True)


def criterion_block(page: str, code: str) -> str:
    match = re.search(rf'<section class="card criterion" id="criterion-{re.escape(code)}".*?</section>', page, re.S)
    assert match, f"criterion {code} not on the page"
    return match.group(0)


def status_of(page: str, code: str) -> str:
    return re.search(r'data-status="([a-z_]+)"', criterion_block(page, code)).group(1)


def audit_events(event: str) -> list[AuditEvent]:
    db.session.rollback()
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.event == event)))


def upload(client, code: str, data: bytes | None = None, name: str = "bewijs.pdf", text: str = "", **query):
    form = {f"ev{code}-text": text}
    if data is not None:
        form[f"ev{code}-file"] = (io.BytesIO(data), name)
    query_string = "&".join(f"{k}={v}" for k, v in query.items())
    response = client.post(f"/n/noord/quality/evidence?criterion={code}{'&' + query_string if query else ''}",
                           data=form, content_type="multipart/form-data")
    # Werkzeug's test client spools a big body to a temp file that nobody closes (a server owns
    # wsgi.input in production); close it here, or its ResourceWarning fails a later test.
    response.request.environ["wsgi.input"].close()
    return response


def evidence_rows() -> list[Evidence]:
    """Every evidence row of every network (a refused upload must leave none anywhere)."""
    db.session.rollback()
    return list(db.session.scalars(all_networks(select(Evidence).order_by(Evidence.id))))


def _bulk_members(network, count: int, *, start: int) -> None:
    """Many members fast (no password hashing), each with a discipline and one attendance this year."""
    from datetime import timedelta

    from app.auth.models import User
    from app.core.dates import local_today
    from app.meetings.models import Attendance, Meeting, MeetingKind
    from app.networks.models import Discipline, MembershipDiscipline
    dietist = db.session.scalar(select(Discipline.id).where(Discipline.code == "dietist"))
    with network_context(network.id):
        meeting = Meeting(network_id=network.id, held_on=local_today() - timedelta(days=3),
                          kind=next(iter(MeetingKind)), title=f"Overleg {start}")
        db.session.add(meeting)
        users = [User(email=f"bulk{i:04d}@example.nl", full_name=f"Lid {i:04d}", locale="en")
                 for i in range(start, start + count)]
        db.session.add_all(users)
        db.session.flush()
        members = [Membership(network_id=network.id, user_id=user.id) for user in users]
        db.session.add_all(members)
        db.session.flush()
        db.session.add_all(MembershipDiscipline(network_id=network.id, membership_id=m.id, discipline_id=dietist)
                           for m in members)
        db.session.add_all(Attendance(network_id=network.id, meeting_id=meeting.id, membership_id=m.id)
                           for m in members)
        db.session.commit()


def test_the_self_check_issues_the_same_statements_for_10_and_500_members(coo, noord):
    from tests.conftest import counted_statements
    seen = {}
    for size, count, start in (("small", 6, 0), ("large", 490, 6)):
        _bulk_members(noord["network"], count, start=start)
        coo.get("/n/noord/quality/")  # warm-up
        with counted_statements() as statements:
            page = html(coo.get("/n/noord/quality/"))
        seen[size] = statements
        assert status_of(page, "1b") == "met"  # the dieticians arrived
    assert len(seen["large"]) == len(seen["small"]), (len(seen["small"]), len(seen["large"]))


# --- the page --------------------------------------------------------------------------------------

def test_page_shows_every_criterion_with_status_reason_and_fix(coo):
    page = html(coo.get("/n/noord/quality/"))
    assert "2024-02-06" in re.search(r'<p id="criteria-version">.*?</p>', page, re.S).group(0)
    codes = re.findall(r'id="criterion-([0-9a-z]+)"', page)
    assert codes == ["1a", "1b", "2a", "2b", "3", "4", "5", "6", "7", "8", "9", "10"]
    block = criterion_block(page, "1b")
    assert status_of(page, "1b") == "not_met" and "dietician" in block
    assert 'href="/n/noord/members/invite"' in block  # the fix links to the invite form
    assert status_of(page, "1a") == "not_met" and "4 different disciplines" in criterion_block(page, "1a")
    assert 'action="/n/noord/quality/evidence?criterion=4"' in page  # coordinators can add evidence
    assert 'action="/n/noord/quality/snapshots/freeze"' in page


def test_fix_links_to_a_missing_endpoint_fall_back_to_the_network_home(app, coo, monkeypatch):
    if "networks.settings" in app.view_functions:
        assert 'href="/n/noord/settings"' in criterion_block(html(coo.get("/n/noord/quality/")), "10")
    monkeypatch.delitem(app.view_functions, "networks.settings", raising=False)
    block = criterion_block(html(coo.get("/n/noord/quality/")), "10")
    assert 'href="/n/noord/"' in block


def test_members_see_the_page_read_only(client, noord):
    login_as(client, noord["psycholoog"].user)
    response = client.get("/n/noord/quality/?version=2021")
    page = html(response)
    assert response.status_code == 200 and "2024-02-06" in page  # the version switch is for coordinators
    assert "/quality/evidence?" not in page and "snapshots/freeze" not in page
    assert upload(client, "4", text="visie").status_code == 404
    assert client.post("/n/noord/quality/snapshots/freeze", data={"version": "2021"}).status_code == 404


def _listed_share(network, listed: int, total: int) -> None:
    with network_context(network.id):
        for i in range(total):
            membership = add_member(network, f"physio{i}@example.nl", disciplines=("fysiotherapeut",))
            db.session.get(Membership, membership.id).is_listed_in_verwijsgids = i < listed
        db.session.commit()


def test_the_version_switch_shows_2a_against_2021(coo, noord):
    # Members in Verwijsgids professions: the physio and psychologist of the fixture (not listed) plus 9.
    _listed_share(noord["network"], 6, 9)  # 6 of 11 listed: 54%
    current = html(coo.get("/n/noord/quality/"))
    assert status_of(current, "2a") == "warning" and "54% &lt; 60%" in criterion_block(current, "2a")
    old = html(coo.get("/n/noord/quality/?version=2021"))
    assert status_of(old, "2a") == "met" and "54% ≥ 50%" in criterion_block(old, "2a")
    assert "This is not the current version (2024-02-06)" in old
    assert coo.get("/n/noord/quality/?version=1999").status_code == 404


# --- evidence --------------------------------------------------------------------------------------

def test_a_pdf_upload_is_stored_outside_static_and_meets_an_evidence_criterion(coo, noord, uploads):
    assert status_of(html(coo.get("/n/noord/quality/")), "4") == "needs_evidence"
    response = upload(coo, "4", PDF, name="../../visie plan.pdf", text="Onze visie 2026")
    assert response.status_code == 302 and response.headers["Location"].endswith("#criterion-4")
    [evidence] = evidence_rows()
    assert (evidence.criterion_code, evidence.content_type, evidence.size_bytes) == ("4", "application/pdf", len(PDF))
    assert evidence.file_name == "visie plan.pdf" and evidence.text == "Onze visie 2026"
    assert re.fullmatch(r"[0-9a-f]{40}", evidence.storage_name)
    stored = uploads / str(noord["network"].id) / evidence.storage_name
    assert stored.read_bytes() == PDF
    assert "static" not in str(stored)
    page = html(coo.get("/n/noord/quality/"))
    assert status_of(page, "4") == "met" and "visie plan.pdf" in criterion_block(page, "4")
    [event] = audit_events("evidence.uploaded")
    assert event.object_id == evidence.id and event.user_id == noord["coordinator"].user_id


def test_an_upload_over_10_mb_gets_a_clear_message(coo, uploads):
    response = upload(coo, "4", b"%PDF-" + b"0" * (10 * MB - 4))
    assert response.status_code == 200
    assert "larger than 10 MB" in criterion_block(html(response), "4")
    assert evidence_rows() == [] and not any(uploads.rglob("*"))
    assert upload(coo, "4", b"%PDF-" + b"0" * (10 * MB - 5)).status_code == 302  # exactly 10 MB is fine


def test_an_upload_over_the_request_limit_is_413(coo):
    response = upload(coo, "4", b"%PDF-" + b"0" * (12 * MB))
    assert response.status_code == 413
    assert evidence_rows() == []


@pytest.mark.parametrize("data, name", [(HTML_AS_PDF, "rapport.pdf"), (b"GIF89a" + b"\x00" * 10, "logo.png"),
                                        (b"MZ\x90\x00", "scan.jpg")])
def test_the_type_is_checked_by_content_not_by_name(coo, uploads, data, name):
    response = upload(coo, "4", data, name=name)
    assert response.status_code == 200
    assert "Only PDF, PNG and JPEG" in criterion_block(html(response), "4")
    assert evidence_rows() == [] and not any(uploads.rglob("*"))


@pytest.mark.parametrize("data, content_type, stored_name", [(PNG, "image/png", "foto.png"),
                                                             (JPEG, "image/jpeg", "foto.jpg")])
def test_images_are_accepted_and_named_after_their_real_type(coo, data, content_type, stored_name):
    assert upload(coo, "8", data, name="foto.pdf").status_code == 302
    [evidence] = evidence_rows()
    assert (evidence.content_type, evidence.file_name) == (content_type, stored_name)


def test_text_only_evidence_and_an_empty_submission(coo):
    assert "Write a text or choose a file" in html(upload(coo, "2b"))
    assert upload(coo, "2b", text="https://netwerk.nl/leden").status_code == 302
    [evidence] = evidence_rows()
    assert evidence.storage_name is None and evidence.text == "https://netwerk.nl/leden"
    assert status_of(html(coo.get("/n/noord/quality/")), "2b") == "met"


def test_each_criterion_has_its_own_evidence_form_and_a_refused_one_keeps_its_error(coo):
    """The empty forms are rendered once and given each criterion's code (app/quality/views.py BlankEvidenceForm):
    every form posts to its own criterion with its own field ids, and after a refused upload only that criterion's
    form is open with the message and the text kept."""
    page = html(coo.get("/n/noord/quality/"))
    codes = re.findall(r'id="criterion-([0-9a-z]+)"', page)
    for code in codes:
        block = criterion_block(page, code)
        assert f'action="/n/noord/quality/evidence?criterion={code}"' in block, code
        assert f'id="ev{code}-text"' in block and f'name="ev{code}-file"' in block, code
        assert "zzcriterionzz" not in block and "<details class=\"upload\">" in block, code
    refused = html(upload(coo, "2b", text="x" * 5001))
    assert '<details class="upload" open>' in criterion_block(refused, "2b")
    assert "x" * 5001 in criterion_block(refused, "2b") and 'class="error"' in criterion_block(refused, "2b")
    assert '<details class="upload">' in criterion_block(refused, "4")


def test_evidence_for_an_unknown_criterion_is_404(coo):
    assert upload(coo, "99", text="x").status_code == 404


def test_download_headers_and_audit(coo, client, noord, new_client):
    upload(coo, "4", PDF, name="visie.pdf")
    [evidence] = evidence_rows()
    response = coo.get(f"/n/noord/quality/evidence/{evidence.id}/download")
    assert response.status_code == 200 and response.data == PDF
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.headers["Content-Disposition"].startswith("attachment;") and "visie.pdf" in \
        response.headers["Content-Disposition"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in response.headers["Cache-Control"]
    [event] = audit_events("evidence.downloaded")
    assert event.object_id == evidence.id
    # Any member of the network may download; nobody outside it.
    reader = login_as(new_client(), noord["huisarts"].user)
    assert reader.get(f"/n/noord/quality/evidence/{evidence.id}/download").status_code == 200
    outsider = add_member(make_network("zuid"), "zuid@example.nl", role=Role.COORDINATOR)
    stranger = login_as(new_client(), outsider.user)
    assert stranger.get(f"/n/noord/quality/evidence/{evidence.id}/download").status_code == 404
    assert stranger.get(f"/n/zuid/quality/evidence/{evidence.id}/download").status_code == 404


def test_text_evidence_downloads_as_a_text_attachment(coo, noord):
    evidence = make_evidence(noord["coordinator"], code="3", text="<b>Afspraak</b>: 2x per jaar")
    response = coo.get(f"/n/noord/quality/evidence/{evidence.id}/download")
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert response.headers["Content-Disposition"] == f"attachment; filename=evidence-{evidence.id}.txt"
    assert response.get_data(as_text=True) == "<b>Afspraak</b>: 2x per jaar"


def test_removal_asks_first_then_hides_the_evidence(coo, client, noord, new_client):
    upload(coo, "4", PDF)
    [evidence] = evidence_rows()
    confirm = coo.get(f"/n/noord/quality/evidence/{evidence.id}/remove")
    assert confirm.status_code == 200 and "Remove this evidence" in html(confirm)
    assert evidence_rows()[0].removed_at is None  # the GET changed nothing
    member = login_as(new_client(), noord["huisarts"].user)
    assert member.post(f"/n/noord/quality/evidence/{evidence.id}/remove", data={}).status_code == 404
    assert coo.post(f"/n/noord/quality/evidence/{evidence.id}/remove", data={}, csrf=False).status_code == 400
    assert evidence_rows()[0].removed_at is None
    assert coo.post(f"/n/noord/quality/evidence/{evidence.id}/remove", data={}).status_code == 302
    assert evidence_rows()[0].removed_at is not None
    assert coo.get(f"/n/noord/quality/evidence/{evidence.id}/download").status_code == 404
    assert status_of(html(coo.get("/n/noord/quality/")), "4") == "needs_evidence"
    assert [e.object_id for e in audit_events("evidence.removed")] == [evidence.id]


# --- snapshots -------------------------------------------------------------------------------------

def _freeze(client, version: str = "2024-02-06"):
    response = client.post("/n/noord/quality/snapshots/freeze", data={"version": version})
    assert response.status_code == 302, response.status_code
    return int(response.headers["Location"].rstrip("/").split("/")[-1])


def _snapshot(snapshot_id: int, network_id: int) -> SelfCheckSnapshot:
    db.session.rollback()
    with network_context(network_id):
        return db.session.get(SelfCheckSnapshot, snapshot_id)


def test_freeze_keeps_results_with_reasons_and_the_evidence_list(coo, noord):
    upload(coo, "4", text="Onze visie")
    snapshot_id = _freeze(coo, "2021")
    snapshot = _snapshot(snapshot_id, noord["network"].id)
    assert snapshot.criteria_set.version == "2021" and snapshot.taken_by_id == noord["coordinator"].user_id
    by_code = {r["code"]: r for r in snapshot.results}
    assert by_code["1b"]["status"] == "not_met" and "dietician" in by_code["1b"]["reason"]
    assert by_code["4"]["status"] == "met"
    assert [(e["code"], e["text"]) for e in snapshot.evidence] == [("4", "Onze visie")]
    page = html(coo.get(f"/n/noord/quality/snapshots/{snapshot_id}"))
    assert "2021" in page and "dietician" in page and "Onze visie" in page
    # Later changes do not touch the snapshot.
    add_member(noord["network"], "dietist@example.nl", disciplines=("dietist",))
    assert "dietician" in html(coo.get(f"/n/noord/quality/snapshots/{snapshot_id}"))
    assert [e.object_id for e in audit_events("self_check.frozen")] == [snapshot_id]


def test_freeze_refuses_an_unknown_version(coo):
    assert coo.post("/n/noord/quality/snapshots/freeze", data={"version": "1999"}).status_code == 400


def test_history_is_paginated_newest_first(coo, noord):
    ids = [make_snapshot(noord["coordinator"], reason=f"run {i}").id for i in range(27)]
    first = html(coo.get("/n/noord/quality/snapshots"))
    linked = [int(i) for i in re.findall(r'/quality/snapshots/(\d+)"', first)]
    assert len(linked) == 25 and linked[0] == ids[-1]
    second = html(coo.get("/n/noord/quality/snapshots?page=2"))
    assert sorted(int(i) for i in re.findall(r'/quality/snapshots/(\d+)"', second)) == ids[:2]


@pytest.mark.parametrize("field, value", [("results", []), ("evidence", [{"code": "4"}]),
                                          ("criteria_set_id", 1), ("taken_by_id", None)])
def test_frozen_fields_cannot_change(noord, field, value):
    snapshot = make_snapshot(noord["coordinator"])
    with network_context(noord["network"].id):
        snapshot = db.session.get(SelfCheckSnapshot, snapshot.id)
        setattr(snapshot, field, value if value is not None else noord["psycholoog"].user_id)
        with pytest.raises(SnapshotIsFrozen):
            db.session.flush()
        db.session.rollback()


def test_snapshots_cannot_be_deleted_or_changed_in_bulk_but_the_pdf_fields_can_change(noord):
    snapshot = make_snapshot(noord["coordinator"])
    with network_context(noord["network"].id):
        row = db.session.get(SelfCheckSnapshot, snapshot.id)
        db.session.delete(row)
        with pytest.raises(SnapshotIsFrozen):
            db.session.flush()
        db.session.rollback()
        with pytest.raises(SnapshotIsFrozen):
            db.session.execute(update(SelfCheckSnapshot).values(results=[]))
        db.session.rollback()
        row = db.session.get(SelfCheckSnapshot, snapshot.id)
        row.pdf_status, row.pdf_progress = SnapshotPdfStatus.QUEUED, 0
        db.session.commit()
        assert db.session.get(SelfCheckSnapshot, snapshot.id).pdf_status is SnapshotPdfStatus.QUEUED


# --- the PDF report ----------------------------------------------------------------------------------

def test_pdf_job_renders_a_real_pdf_and_reports_progress(coo, noord, uploads, monkeypatch):
    seen = []
    original = quality_jobs._progress

    def recording(snapshot, status, percent):
        seen.append((str(status), percent))
        original(snapshot, status, percent)

    monkeypatch.setattr(quality_jobs, "_progress", recording)
    snapshot_id = _freeze(coo)
    before = html(coo.get(f"/n/noord/quality/snapshots/{snapshot_id}"))
    assert "Make a PDF report" in before and 'http-equiv="refresh"' not in before
    response = coo.post(f"/n/noord/quality/snapshots/{snapshot_id}/pdf", data={})
    assert response.status_code == 302  # without Redis the job ran at the end of this request
    assert seen == [("running", 10), ("running", 50), ("running", 90)]
    snapshot = _snapshot(snapshot_id, noord["network"].id)
    assert snapshot.pdf_status is SnapshotPdfStatus.DONE and snapshot.pdf_progress == 100
    stored = uploads / str(noord["network"].id) / snapshot.pdf_storage_name
    assert stored.read_bytes().startswith(b"%PDF-") and stored.stat().st_size > 2000
    page = html(coo.get(f"/n/noord/quality/snapshots/{snapshot_id}"))
    assert "Download the PDF report" in page and "<progress" not in page and 'http-equiv="refresh"' not in page
    download = coo.get(f"/n/noord/quality/snapshots/{snapshot_id}/pdf/download")
    assert download.status_code == 200 and download.data.startswith(b"%PDF-")
    assert download.headers["Content-Type"] == "application/pdf"
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert [e.object_id for e in audit_events("self_check.pdf_downloaded")] == [snapshot_id]
    # Idempotent: a second request and a second run of the job change nothing.
    assert coo.post(f"/n/noord/quality/snapshots/{snapshot_id}/pdf", data={}).status_code == 302
    with network_context(noord["network"].id):
        quality_jobs.render_snapshot_pdf({"snapshot_id": snapshot_id})
    assert _snapshot(snapshot_id, noord["network"].id).pdf_storage_name == snapshot.pdf_storage_name
    assert len(os.listdir(uploads / str(noord["network"].id))) == 1


@pytest.mark.parametrize("status, progress, text", [(SnapshotPdfStatus.QUEUED, 0, "Waiting to start"),
                                                     (SnapshotPdfStatus.RUNNING, 50, "Making the report: 50%")])
def test_the_snapshot_page_shows_progress_while_the_pdf_is_made(coo, noord, status, progress, text):
    snapshot = make_snapshot(noord["coordinator"])
    with network_context(noord["network"].id):
        row = db.session.get(SelfCheckSnapshot, snapshot.id)
        row.pdf_status, row.pdf_progress = status, progress
        db.session.commit()
    page = html(coo.get(f"/n/noord/quality/snapshots/{snapshot.id}"))
    head = page.split("</head>")[0]
    assert '<meta http-equiv="refresh" content="2">' in head
    assert f'<progress max="100" value="{progress}">' in page and text in page
    assert re.findall(r"<script[^>]*>", page) == ['<script src="/static/js/tables.js" defer>',
                                                        '<script src="/static/js/forms.js" defer>',
                                                        '<script src="/static/js/nav.js" defer>']  # no page script
    assert coo.get(f"/n/noord/quality/snapshots/{snapshot.id}/pdf/download").status_code == 404


def test_a_failed_pdf_job_says_so_and_can_be_retried(coo, noord, monkeypatch):
    def broken(_html):
        raise RuntimeError("renderer down")

    monkeypatch.setattr(quality_jobs, "html_to_pdf", broken)
    snapshot_id = _freeze(coo)
    coo.post(f"/n/noord/quality/snapshots/{snapshot_id}/pdf", data={})
    assert _snapshot(snapshot_id, noord["network"].id).pdf_status is SnapshotPdfStatus.FAILED
    page = html(coo.get(f"/n/noord/quality/snapshots/{snapshot_id}"))
    assert "Making the report failed" in page and "Try again" in page
    monkeypatch.undo()
    coo.post(f"/n/noord/quality/snapshots/{snapshot_id}/pdf", data={})
    assert _snapshot(snapshot_id, noord["network"].id).pdf_status is SnapshotPdfStatus.DONE


def test_the_pdf_renderer_fetches_nothing():
    from app.core.pdf import NoFetching, html_to_pdf

    with pytest.raises(ValueError):
        NoFetching().fetch("file:///etc/passwd")
    # An image or stylesheet in the HTML is skipped, not fetched; the PDF is still made.
    pdf = html_to_pdf('<p>x</p><img src="file:///etc/passwd"><link rel="stylesheet" href="http://127.0.0.1:1/a.css">')
    assert pdf.startswith(b"%PDF-")


# --- the warning before deactivating -------------------------------------------------------------------

def test_deactivating_the_only_dietician_warns_about_1b(coo, noord):
    dietician = add_member(noord["network"], "dietist@example.nl", disciplines=("dietist",))
    page = html(coo.get(f"/n/noord/members/{dietician.id}/active"))
    warning = re.search(r'<div class="flash flash-warning" role="alert" id="quality-warning">.*?</div>', page, re.S)
    assert warning, "no warning on the confirmation page"
    codes = re.findall(r'<li data-code="([0-9a-z]+)">', warning.group(0))
    assert codes == ["1a", "1b"]  # 5 disciplines -> 4, and no dietician left
    assert "dietician" in warning.group(0)
    # A member whose discipline is covered twice breaks nothing: no warning.
    second = add_member(noord["network"], "fysio2@example.nl", disciplines=("fysiotherapeut",))
    assert 'id="quality-warning"' not in html(coo.get(f"/n/noord/members/{second.id}/active"))
