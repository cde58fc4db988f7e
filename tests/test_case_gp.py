"""The GP's view of the case behind their referral: key moments (a member added shows only its discipline),
sent letters only, the question thread with the central care provider; never note or intake contents;
404 for every other GP, and for a referral without a case."""
from __future__ import annotations

import pytest
from flask import render_template
from sqlalchemy import select

from app.cases import services
from app.cases.models import Case, CaseMessage, Letter, NoteVisibility
from app.cases.services import letters as letter_service
from app.core.audit import AuditEvent
from app.core.db import utcnow
from app.core.jobs import run_inline_pending
from app.core.tenancy import network_context
from app.extensions import db
from app.gp_portal.services.case import gp_case_summary
from app.networks.models import Membership, Role
from app.referrals.models import Referral, ReferralStatus
from tests.case_factories import add_to_team, make_case, write_note
from tests.conftest import login_as, make_gp, make_member, make_network
from tests.referral_factories import make_referral
from tests.test_jobs import MailSink

NOTE_SECRET = "GEHEIME-NOTITIE-over-de-stoelgang"
STORY_SECRET = "VERHAAL-sinds-de-operatie"


@pytest.fixture
def world():
    network = make_network("noord")
    coordinator = make_member(network, "coo@example.nl", role=Role.COORDINATOR, disciplines=("casemanager",),
                              name="Carla Coordinator")
    member = make_member(network, "dietist@example.nl", disciplines=("dietist",), name="Diana Dietist")
    gp = make_gp("gp@example.nl", "01234567", email_verified_at=utcnow(), name="Dokter Gerrit")
    other_gp = make_gp("other@example.nl", "07654321", email_verified_at=utcnow(), name="Dokter Anders")
    case = make_case(network, gp, coordinator, story=STORY_SECRET)
    add_to_team(case, coordinator.user, member)
    write_note(case, member, NOTE_SECRET, NoteVisibility.TEAM)
    return {"network": network, "coordinator": coordinator, "member": member, "gp": gp, "other_gp": other_gp,
            "case": case, "referral_id": case.referral_id}


@pytest.fixture
def smtp():
    sink = MailSink().start()
    yield sink
    sink.stop()


def referral_of(world) -> Referral:
    db.session.rollback()
    return db.session.scalar(select(Referral).where(Referral.id == world["referral_id"])
                             .execution_options(all_networks=True))


def summary(app, world) -> dict:
    referral = referral_of(world)
    with app.test_request_context(), network_context(referral.network_id):
        result = gp_case_summary(referral, log_read=False)
        page = render_template("gp_portal/_case.html", gp_case=result)
        db.session.rollback()
    return result, page


def the_letter(world) -> Letter:
    db.session.rollback()
    with network_context(world["network"].id):
        return db.session.scalar(select(Letter).where(Letter.case_id == world["case"].id))


def send_letter(world, *, make_pdf: bool = True) -> Letter:
    with network_context(world["network"].id):
        letter = db.session.scalar(select(Letter).where(Letter.case_id == world["case"].id))
        letter_service.send_letter(letter, world["coordinator"].user)
        db.session.commit()
    if make_pdf:
        run_inline_pending()
    else:
        db.session.info.pop("outbox_inline", None)  # the job stays pending: the PDF is "being prepared"
    return the_letter(world)


def gp_base(world) -> str:
    return f"/verwijzer/verwijzingen/{world['referral_id']}"


def test_the_summary_shows_key_moments_and_disciplines_only(app, world):
    result, page = summary(app, world)

    assert result["status"] == "active" and result["referral_id"] == world["referral_id"]
    assert result["central"]["name"] == "Carla Coordinator" and result["central"]["phone"] == ""
    kinds = [m["kind"] for m in result["moments"]]
    assert kinds == ["opened", "central_changed", "member_joined"]
    joined = result["moments"][2]
    assert joined["detail"] == "Diëtist"  # the discipline, not the member's name
    assert result["letters"] == []  # the intake letter is a draft
    assert result["messages"] == []
    flat = repr(result) + page
    for secret in (NOTE_SECRET, STORY_SECRET, "Diana", "Weer kunnen fietsen"):
        assert secret not in flat, secret
    assert "Diëtist" in page and "Carla Coordinator" in page
    assert f"{gp_base(world)}/vraag" in page


def test_the_central_provider_phone_shows_only_when_public(app, world):
    with network_context(world["network"].id):
        membership = db.session.get(Membership, world["coordinator"].id)
        membership.phone = "023 555 1234"
        db.session.commit()
    assert summary(app, world)[0]["central"]["phone"] == ""
    with network_context(world["network"].id):
        db.session.get(Membership, world["coordinator"].id).phone_is_public = True
        db.session.commit()
    assert summary(app, world)[0]["central"]["phone"] == "023 555 1234"


def test_sent_letters_and_closing_appear_as_key_moments(app, world):
    letter = send_letter(world)
    result, page = summary(app, world)
    assert [m["kind"] for m in result["moments"]][-1] == "letter_sent"
    assert result["letters"] == [{"id": letter.id, "kind": "intake", "label": letter.kind.label,
                                  "sent_at": letter.sent_at, "pdf_ready": True}]
    assert f"{gp_base(world)}/brieven/{letter.id}" in page


def test_no_case_no_summary(app, world):
    referral = make_referral(world["network"], world["gp"], status=ReferralStatus.ACCEPTED,
                             coordinator=world["coordinator"].user)
    with app.test_request_context(), network_context(referral.network_id):
        assert gp_case_summary(referral) is None
        assert render_template("gp_portal/_case.html", gp_case=None).strip() == ""


def test_the_summary_read_is_logged_with_the_referrer_basis(app, world):
    referral = referral_of(world)
    with app.test_request_context(), network_context(referral.network_id):
        gp_case_summary(referral)
        db.session.commit()
    row = db.session.scalar(select(AuditEvent).where(AuditEvent.event == "case.gp_summary_viewed"))
    assert (row.basis, row.patient_id, row.network_id) == ("referrer", world["case"].patient_id,
                                                           world["network"].id)


# --- routes ----------------------------------------------------------------------------------------

def test_the_gp_downloads_a_sent_letter_as_pdf(client, world):
    letter = send_letter(world)
    login_as(client, world["gp"])
    response = client.get(f"{gp_base(world)}/brieven/{letter.id}")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf" and response.data.startswith(b"%PDF")
    assert response.headers["Content-Disposition"].startswith("attachment")
    db.session.rollback()
    row = db.session.scalar(select(AuditEvent).where(AuditEvent.event == "letter.downloaded"))
    assert (row.basis, row.user_id, row.patient_id) == ("referrer", world["gp"].id, world["case"].patient_id)


def test_while_the_pdf_is_prepared_the_gp_reads_the_letter_as_a_page(client, world):
    letter = send_letter(world, make_pdf=False)
    assert not letter.pdf_storage
    login_as(client, world["gp"])
    response = client.get(f"{gp_base(world)}/brieven/{letter.id}")
    assert response.status_code == 200 and response.mimetype == "text/html"
    assert "Dokter Gerrit" in response.get_data(as_text=True)
    db.session.rollback()
    row = db.session.scalar(select(AuditEvent).where(AuditEvent.event == "letter.viewed"))
    assert row.basis == "referrer"


def test_a_draft_letter_is_not_downloadable_by_the_gp(client, world):
    letter = the_letter(world)
    assert letter.sent_at is None
    login_as(client, world["gp"])
    assert client.get(f"{gp_base(world)}/brieven/{letter.id}").status_code == 404


def test_another_gp_gets_404_everywhere(client, world):
    letter = send_letter(world)
    login_as(client, world["other_gp"])
    assert client.get(f"{gp_base(world)}/brieven/{letter.id}").status_code == 404
    assert client.post(f"{gp_base(world)}/vraag", data={"body": "Hoe gaat het?"}).status_code == 404
    with network_context(world["network"].id):
        assert db.session.scalar(select(CaseMessage.id)) is None


def test_a_network_member_is_not_the_referrer(client, world):
    letter = send_letter(world)
    login_as(client, world["coordinator"].user)
    assert client.get(f"{gp_base(world)}/brieven/{letter.id}").status_code == 404
    assert client.post(f"{gp_base(world)}/vraag", data={"body": "Hallo"}).status_code == 404


def test_a_letter_of_another_case_is_404_for_the_gp(client, world):
    other_case = make_case(world["network"], world["gp"], world["coordinator"])
    with network_context(world["network"].id):
        other_letter = db.session.scalar(select(Letter).where(Letter.case_id == other_case.id))
        letter_service.send_letter(other_letter, world["coordinator"].user)
        db.session.commit()
    run_inline_pending()
    login_as(client, world["gp"])
    assert client.get(f"{gp_base(world)}/brieven/{other_letter.id}").status_code == 404
    assert client.get(f"/verwijzer/verwijzingen/{other_case.referral_id}/brieven/{other_letter.id}").status_code \
        == 200


def test_no_case_means_404_for_the_question(client, world):
    referral = make_referral(world["network"], world["gp"], status=ReferralStatus.ACCEPTED,
                             coordinator=world["coordinator"].user)
    login_as(client, world["gp"])
    assert client.post(f"/verwijzer/verwijzingen/{referral.id}/vraag", data={"body": "Hallo"}).status_code == 404
    assert client.get(f"/verwijzer/verwijzingen/{referral.id}/brieven/1").status_code == 404


def test_question_and_answer_reach_both_sides_by_mail_without_patient_data(app, app_with, smtp, world):
    inline = app_with(MAIL_URL=smtp.url, REDIS_URL=None)
    gp_client = login_as(inline.test_client(), world["gp"])

    empty = gp_client.post(f"{gp_base(world)}/vraag", data={"body": "   "})
    assert empty.status_code == 302
    response = gp_client.post(f"{gp_base(world)}/vraag", data={"body": "Mag hij weer sporten?"})
    assert response.status_code == 302
    assert response.headers["Location"].split("#")[0].endswith(gp_base(world))

    with network_context(world["network"].id):
        [message] = db.session.scalars(select(CaseMessage)).all()
        assert (message.from_gp, message.author_id, message.body) == (True, world["gp"].id, "Mag hij weer sporten?")
    to_central = [m for m in smtp.messages if m.rcpt_tos == [world["coordinator"].user.email]]
    assert len(to_central) == 1
    for secret in ("Wim", "Jansen", "111222333", "sporten"):
        assert secret not in to_central[0].body and secret not in to_central[0].subject

    # The central care provider reads the thread and answers; the GP gets a mail and sees the answer.
    coordinator_client = login_as(inline.test_client(), world["coordinator"].user)
    thread_url = f"/n/{world['network'].slug}/cases/{world['case'].id}/huisarts"
    page = coordinator_client.get(thread_url)
    assert page.status_code == 200 and "Mag hij weer sporten?" in page.get_data(as_text=True)
    assert coordinator_client.post(thread_url, data={"body": ""}).status_code == 400
    assert coordinator_client.post(thread_url, data={"body": "Ja, rustig opbouwen."}).status_code == 302

    to_gp = [m for m in smtp.messages if m.rcpt_tos == [world["gp"].email]]
    assert len(to_gp) == 1
    for secret in ("Wim", "Jansen", "111222333", "opbouwen"):
        assert secret not in to_gp[0].body and secret not in to_gp[0].subject

    result, page = summary(app, world)
    assert [(m["from_gp"], m["body"]) for m in result["messages"]] == [
        (True, "Mag hij weer sporten?"), (False, "Ja, rustig opbouwen.")]
    assert "Ja, rustig opbouwen." in page


def test_the_central_member_answers_too_but_not_another_team_member(client, world):
    thread_url = f"/n/{world['network'].slug}/cases/{world['case'].id}/huisarts"
    login_as(client, world["member"].user)
    assert client.get(thread_url).status_code == 404
    with network_context(world["network"].id):
        case = db.session.get(Case, world["case"].id)
        services.set_central(case, world["coordinator"].user, db.session.get(Membership, world["member"].id))
        db.session.commit()
    assert client.get(thread_url).status_code == 200
    assert client.post(thread_url, data={"body": "Antwoord van de diëtist"}).status_code == 302
