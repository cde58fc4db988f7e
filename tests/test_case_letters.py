"""Letters to the GP: the intake letter drafted when the intake completes, edited while a draft, sent with
a confirmation, stored as PDF by the letter_pdf job, downloadable; the GP's mail holds no patient data;
only the coordinator and the central care provider handle letters."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.cases import services
from app.cases.models import Case, CaseEvent, CaseEventKind, Letter, LetterKind
from app.cases.services import letters as letter_service
from app.core.audit import AuditAction, AuditEvent, AuditOutcome
from app.core.db import utcnow
from app.core.jobs import Outbox, run_inline_pending
from app.core.storage import stored_path
from app.core.tenancy import network_context
from app.extensions import db
from app.networks.models import Membership, Role
from tests.case_factories import add_to_team, make_case
from tests.conftest import login_as, make_gp, make_member, make_network
from tests.test_jobs import MailSink


@pytest.fixture
def world():
    network = make_network("noord")
    coordinator = make_member(network, "coo@example.nl", role=Role.COORDINATOR, disciplines=("casemanager",),
                              name="Carla Coordinator")
    member = make_member(network, "dietist@example.nl", disciplines=("dietist",), name="Diana Dietist")
    gp = make_gp("gp@example.nl", email_verified_at=utcnow(), name="Dokter Gerrit")
    case = make_case(network, gp, coordinator)
    return {"network": network, "coordinator": coordinator, "member": member, "gp": gp, "case": case}


@pytest.fixture
def smtp():
    sink = MailSink().start()
    yield sink
    sink.stop()


def letters_of(case: Case) -> list[Letter]:
    db.session.rollback()  # a fresh read: requests commit in their own sessions
    with network_context(case.network_id):
        return list(db.session.scalars(select(Letter).where(Letter.case_id == case.id).order_by(Letter.id)))


def base(world) -> str:
    return f"/n/{world['network'].slug}/cases/{world['case'].id}"


def html(response) -> str:
    return response.get_data(as_text=True)


def send(client, world, letter: Letter):
    return client.post(f"{base(world)}/brieven/{letter.id}/verzenden", data={"confirm": "y"})


def test_the_intake_letter_is_drafted_when_the_intake_completes(client, world):
    [letter] = letters_of(world["case"])
    assert letter.kind is LetterKind.INTAKE and letter.sent_at is None and not letter.pdf_storage
    assert "Dokter Gerrit" in letter.body and "R-" in letter.body  # to the GP, naming the referral

    login_as(client, world["coordinator"].user)
    page = client.get(f"{base(world)}/brieven")
    assert page.status_code == 200
    assert f'data-letter="{letter.id}"' in html(page)
    assert f"{base(world)}/brieven/{letter.id}" in html(page)
    assert f"{base(world)}/huisarts" in html(page)  # the GP thread link
    assert 'http-equiv="refresh"' not in html(page)  # nothing is being prepared


def test_edit_preview_and_send_then_the_pdf_is_made_and_downloadable(client, world):
    [letter] = letters_of(world["case"])
    login_as(client, world["coordinator"].user)
    url = f"{base(world)}/brieven/{letter.id}"
    assert client.get(url).status_code == 200

    # A preview shows the typed text without saving it.
    preview = client.post(url, data={"body": "Alleen een voorbeeld", "action": "preview"})
    assert preview.status_code == 200 and "Alleen een voorbeeld" in html(preview)
    assert letters_of(world["case"])[0].body == letter.body

    # An empty text is refused; the letter keeps its text.
    assert client.post(url, data={"body": "  ", "action": "save"}).status_code == 400
    assert client.post(url, data={"body": "Beste collega,\n\nNieuwe tekst.", "action": "save"}).status_code == 302
    assert letters_of(world["case"])[0].body == "Beste collega,\n\nNieuwe tekst."

    # The PDF is not there before sending.
    assert client.get(f"{url}/pdf").status_code == 404
    # Sending needs the confirmation box.
    assert client.post(f"{url}/verzenden", data={}).status_code == 302
    assert letters_of(world["case"])[0].sent_at is None

    response = send(client, world, letter)
    assert response.status_code == 302 and response.headers["Location"].endswith(f"{base(world)}/brieven")

    [sent] = letters_of(world["case"])
    assert sent.sent_at is not None and sent.sent_by_id == world["coordinator"].user_id
    # The letter_pdf job ran at the end of the request (no REDIS_URL): the PDF is stored.
    assert sent.pdf_storage
    assert stored_path(sent.network_id, sent.pdf_storage).read_bytes().startswith(b"%PDF")
    with network_context(sent.network_id):
        assert db.session.scalar(select(func.count(CaseEvent.id)).where(
            CaseEvent.case_id == sent.case_id, CaseEvent.kind == CaseEventKind.LETTER_SENT)) == 1

    download = client.get(f"{url}/pdf")
    assert download.status_code == 200
    assert download.mimetype == "application/pdf"
    assert download.headers["Content-Disposition"].startswith("attachment")
    assert download.data.startswith(b"%PDF")
    db.session.rollback()
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.event == "letter.downloaded",
                                                      AuditEvent.action == AuditAction.EXPORT,
                                                      AuditEvent.patient_id == world["case"].patient_id))

    listing = html(client.get(f"{base(world)}/brieven"))
    assert f"{url}/pdf" in listing and 'http-equiv="refresh"' not in listing


def test_the_list_shows_a_pdf_being_prepared_until_the_job_ran(client, world):
    [letter] = letters_of(world["case"])
    with network_context(world["network"].id):
        letter = db.session.get(Letter, letter.id)
        letter_service.send_letter(letter, world["coordinator"].user)
        db.session.commit()  # no request: the job waits in this session's inline list
    login_as(client, world["coordinator"].user)

    listing = html(client.get(f"{base(world)}/brieven"))
    assert 'http-equiv="refresh"' in listing and "pdf-status" in listing
    assert client.get(f"{base(world)}/brieven/{letter.id}/pdf").status_code == 404

    run_inline_pending()  # the outbox delivers the letter_pdf job (and the GP's mail)
    db.session.rollback()
    assert db.session.scalar(select(func.count(Outbox.id)).where(Outbox.kind == "letter_pdf",
                                                                 Outbox.status == "done")) == 1
    pdf = client.get(f"{base(world)}/brieven/{letter.id}/pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    assert 'http-equiv="refresh"' not in html(client.get(f"{base(world)}/brieven"))


def test_the_pdf_job_renders_the_letter_and_is_idempotent(app, world):
    [letter] = letters_of(world["case"])
    with app.test_request_context(), network_context(world["network"].id):
        letter = db.session.get(Letter, letter.id)
        letter_service.render_letter_pdf({"letter_id": letter.id})  # a draft: nothing is made
        assert not letter.pdf_storage
        letter_service.send_letter(letter, world["coordinator"].user)
        letter_service.render_letter_pdf({"letter_id": letter.id})
        first = letter.pdf_storage
        pdf = stored_path(letter.network_id, first).read_bytes()
        assert pdf.startswith(b"%PDF") and len(pdf) > 1000
        letter_service.render_letter_pdf({"letter_id": letter.id})  # run again: the stored PDF is kept
        assert letter.pdf_storage == first
        db.session.rollback()


def test_the_gp_mail_names_no_patient(app_with, smtp, world):
    inline = app_with(MAIL_URL=smtp.url, REDIS_URL=None)
    client = login_as(inline.test_client(), world["coordinator"].user)
    [letter] = letters_of(world["case"])

    assert send(client, world, letter).status_code == 302

    to_gp = [m for m in smtp.messages if m.rcpt_tos == [world["gp"].email]]
    assert len(to_gp) == 1
    mail = to_gp[0]
    with network_context(world["network"].id):
        number = db.session.get(Case, world["case"].id).referral.number
    assert number in mail.subject or number in mail.body
    for secret in ("Wim", "Jansen", "111222333", "1971", "Kerkstraat"):
        assert secret not in mail.body and secret not in mail.subject


def test_a_sent_letter_is_not_changed_or_sent_again(client, world):
    [letter] = letters_of(world["case"])
    login_as(client, world["coordinator"].user)
    send(client, world, letter)
    sent = letters_of(world["case"])[0]

    response = client.post(f"{base(world)}/brieven/{letter.id}", data={"body": "Later veranderd", "action": "save"})
    assert response.status_code == 303
    again = send(client, world, letter)
    assert again.status_code == 302
    after = letters_of(world["case"])[0]
    assert after.body == sent.body and after.sent_at == sent.sent_at
    page = client.get(f"{base(world)}/brieven/{letter.id}")
    assert page.status_code == 200 and 'name="body"' not in html(page)  # read-only: no edit form
    with network_context(world["network"].id):
        with pytest.raises(letter_service.LetterRuleBroken):
            letter_service.edit_letter(db.session.get(Letter, letter.id), world["coordinator"].user, "x")
        db.session.rollback()
        assert db.session.scalar(select(func.count(CaseEvent.id)).where(
            CaseEvent.kind == CaseEventKind.LETTER_SENT)) == 1


def test_a_team_member_who_is_not_central_gets_404_and_is_logged(client, world):
    add_to_team(world["case"], world["coordinator"].user, world["member"])
    [letter] = letters_of(world["case"])
    login_as(client, world["member"].user)
    urls = [f"{base(world)}/brieven", f"{base(world)}/brieven/{letter.id}", f"{base(world)}/brieven/{letter.id}/pdf",
            f"{base(world)}/huisarts"]
    for url in urls:
        assert client.get(url).status_code == 404, url
    assert client.post(f"{base(world)}/brieven/{letter.id}", data={"body": "x", "action": "save"}).status_code == 404
    assert send(client, world, letter).status_code == 404
    assert client.post(f"{base(world)}/huisarts", data={"body": "Antwoord"}).status_code == 404
    assert letters_of(world["case"])[0].sent_at is None
    db.session.rollback()
    assert db.session.scalar(select(func.count(AuditEvent.id)).where(
        AuditEvent.event == "case.access_denied", AuditEvent.user_id == world["member"].user_id,
        AuditEvent.outcome == AuditOutcome.DENIED)) >= 6

    # Once the member is the central care provider, the letters are theirs to send.
    with network_context(world["network"].id):
        case = db.session.get(Case, world["case"].id)
        services.set_central(case, world["coordinator"].user, db.session.get(Membership, world["member"].id))
        db.session.commit()
    assert client.get(f"{base(world)}/brieven").status_code == 200
    assert send(client, world, letter).status_code == 302
    assert letters_of(world["case"])[0].sent_at is not None


def test_a_letter_of_another_case_or_network_is_404(client, world):
    other_network = make_network("zuid")
    other_coordinator = make_member(other_network, "coo-zuid@example.nl", role=Role.COORDINATOR)
    other_case = make_case(other_network, world["gp"], other_coordinator)
    [other_letter] = letters_of(other_case)
    login_as(client, world["coordinator"].user)

    assert client.get(f"{base(world)}/brieven/{other_letter.id}").status_code == 404
    assert client.get(f"/n/noord/cases/{other_case.id}/brieven").status_code == 404
    assert client.get(f"/n/zuid/cases/{other_case.id}/brieven").status_code == 404
