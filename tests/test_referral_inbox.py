"""The coordinator's referral inbox (/n/<slug>/referrals/): the list with its filters, norm and
pagination, the detail page, every action over HTTP (the illegal ones refused without a change),
attachment downloads, the navigation count, the norm setting, roles and isolation.

Today is fixed at Wednesday 10 June 2026, 08:00 UTC (10:00 in Amsterdam); with the default norm of
2 working days a referral submitted now is due on Friday 12 June, 23:59:59 Amsterdam time.
Users are made with locale "en", so the assertions read the English messages.
"""
from __future__ import annotations

import html as html_module
import re
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import pytest
import time_machine
from sqlalchemy import select

from app.core.audit import AuditAction, AuditEvent
from app.core.db import utcnow
from app.core.jobs import Outbox
from app.core.storage import store_bytes
from app.core.tenancy import all_networks, network_context
from app.extensions import db
from app.networks.models import Network, Role
from app.referrals.models import Referral, ReferralAttachment, ReferralEvent, ReferralStatus
from tests.conftest import counted_statements, login_as, make_gp, make_member, make_network, make_practice_link
from tests.referral_factories import make_referral

S = ReferralStatus
NOW = datetime(2026, 6, 10, 8, 0, tzinfo=UTC)
PDF_BYTES = b"%PDF-1.4\n% test letter\n%%EOF\n"


@pytest.fixture(autouse=True)
def _frozen_now():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def person(network: Network, email: str, name: str, *, role: Role = Role.MEMBER):
    return make_member(network, email, role=role, name=name, locale="en", password=None, mfa=False).user


@pytest.fixture
def noord():
    network = make_network("noord", name="Netwerk Noord", approved_at=NOW)
    return SimpleNamespace(
        network=network,
        boss=person(network, "carla@example.nl", "Carla Coordinator", role=Role.COORDINATOR),
        member=person(network, "lid@example.nl", "Lid Noord"),
        gp=make_gp("huisarts@example.nl", name="Hanna Huisarts", locale="en", practice_name="Praktijk De Linde"))


@pytest.fixture
def zuid(noord):
    network = make_network("zuid", name="Netwerk Zuid", approved_at=NOW)
    return SimpleNamespace(network=network,
                           boss=person(network, "zoe@example.nl", "Zoe Zuid", role=Role.COORDINATOR))


def refer(ctx, status: S = S.SUBMITTED, **fields) -> Referral:
    return make_referral(ctx.network, ctx.gp, status=status, coordinator=ctx.boss, **fields)


def fresh(referral_id: int) -> Referral:
    db.session.rollback()  # see what the request committed
    return db.session.scalar(all_networks(select(Referral).where(Referral.id == referral_id)))


def page_text(response) -> str:
    return html_module.unescape(response.get_data(as_text=True))


def body_rows(html: str) -> list[str]:
    match = re.search(r"<tbody>(.*?)</tbody>", html, re.S)
    return re.findall(r"<tr[ >].*?</tr>", match.group(1), re.S) if match else []


def field_error(html: str, field: str) -> str:
    match = re.search(rf'<p class="error" id="{field}-err">(.*?)</p>', html, re.S)
    return html_module.unescape(match.group(1)) if match else ""


def act(client, referral: Referral, action: str, **data):
    return client.post(f"/n/{referral.network.slug}/referrals/{referral.id}/actie", data={"action": action, **data})


def events_of(referral_id: int) -> list[ReferralEvent]:
    db.session.rollback()
    return list(db.session.scalars(all_networks(
        select(ReferralEvent).where(ReferralEvent.referral_id == referral_id).order_by(ReferralEvent.id))))


# --- the inbox ----------------------------------------------------------------------------------

def test_inbox_lists_the_open_referrals_of_this_network_with_gp_norm_and_urgency(client, noord, zuid):
    submitted = refer(noord, urgency="urgent")
    acknowledged = refer(noord, S.ACKNOWLEDGED, given_name="Anna", family_name="Acker")
    asked = refer(noord, S.INFO_REQUESTED, given_name="Ines", family_name="Info")
    accepted = refer(noord, S.ACCEPTED, given_name="Aart", family_name="Aanvaard")
    refer(noord, S.DECLINED, given_name="Door", family_name="Afgewezen")
    refer(noord, S.DRAFT, given_name="Concept")
    make_referral(zuid.network, noord.gp, coordinator=zuid.boss, given_name="Zeno", family_name="Zuidpatient")
    login_as(client, noord.boss)

    html = page_text(client.get("/n/noord/referrals/"))

    rows = body_rows(html)
    assert [re.search(r'data-number="([^"]+)"', row).group(1) for row in rows] == [
        submitted.number, acknowledged.number, asked.number]  # oldest deadline first
    assert "Wim Jansen" in rows[0] and "Hanna Huisarts" in rows[0] and "Praktijk De Linde, Haarlem" in rows[0]
    assert "Submitted" in rows[0] and "2 days and 13 hours left" in rows[0] and "Urgent" in rows[0]
    assert 'class="overdue"' not in rows[0]
    assert "Information requested" in rows[2] and "left" not in rows[2]
    for absent in ("Aanvaard", "Afgewezen", "Concept", "Zuidpatient"):
        assert absent not in html
    assert accepted.number not in html
    # Links name the referral id only: no patient data in a URL.
    assert re.findall(r'href="(/n/noord/referrals/\d+)"', html) == [
        f"/n/noord/referrals/{r.id}" for r in (submitted, acknowledged, asked)]


def test_overdue_referrals_are_marked_and_say_by_how_much(client, noord, _frozen_now):
    _frozen_now.move_to(NOW - timedelta(days=7))  # Wednesday 3 June: due Friday 5 June 23:59:59 local
    late = refer(noord)
    _frozen_now.move_to(NOW)
    login_as(client, noord.boss)

    [row] = body_rows(page_text(client.get("/n/noord/referrals/")))

    assert late.number in row and 'class="overdue"' in row
    assert "overdue by 4 days and 10 hours" in row


@pytest.mark.parametrize("status, shown", [
    ("all", {"submitted", "accepted", "declined"}),
    ("declined", {"declined"}),
    ("accepted", {"accepted"}),
    ("in_care", set()),
    ("nonsense", {"submitted"}),  # an unknown filter falls back to the open referrals
    ("draft", {"submitted"}),  # drafts are never listed
])
def test_inbox_filters_by_status(client, noord, status, shown):
    made = {"submitted": refer(noord), "accepted": refer(noord, S.ACCEPTED), "declined": refer(noord, S.DECLINED)}
    refer(noord, S.DRAFT)
    login_as(client, noord.boss)

    html = page_text(client.get(f"/n/noord/referrals/?status={status}"))

    listed = set(re.findall(r'data-number="([^"]+)"', html))
    assert listed == {made[name].number for name in shown}
    if not shown:
        assert "No referrals match this filter." in html


def test_empty_inbox_says_so(client, noord):
    login_as(client, noord.boss)
    html = page_text(client.get("/n/noord/referrals/"))
    assert "No referrals are waiting for the network." in html and "<table" not in html


def test_inbox_pages_and_logs_one_audit_row_per_page(client, noord):
    numbers = [refer(noord).number for _ in range(27)]
    login_as(client, noord.boss)

    first = page_text(client.get("/n/noord/referrals/"))
    second = page_text(client.get("/n/noord/referrals/?page=2"))

    assert re.findall(r'data-number="([^"]+)"', first) == numbers[:25]
    assert re.findall(r'data-number="([^"]+)"', second) == numbers[25:]
    assert "Page 2 of 2" in second and "27 results" in second
    rows = list(db.session.scalars(select(AuditEvent).where(AuditEvent.event == "referral.listed")
                                   .order_by(AuditEvent.id)))  # without an order PostgreSQL may return any
    assert [(r.action, r.object_type, r.user_id, r.network_id, r.reason) for r in rows] == [
        (AuditAction.READ, "referral", noord.boss.id, noord.network.id, "25 results, filter open"),
        (AuditAction.READ, "referral", noord.boss.id, noord.network.id, "2 results, filter open")]


def test_inbox_query_count_does_not_grow_with_the_rows(client, noord):
    """Each referral from another GP, typed by a practice nurse: the GP's name is not already loaded with
    the typist, so a lazy load per row would show up here."""
    poh = make_gp("poh@example.nl", agb="09999999", kind="poh", name="Petra Poh", locale="en")

    def refer_from_new_gps(count: int) -> None:
        for _ in range(count):
            index = next(serial)
            gp = make_gp(f"gp{index}@example.nl", agb=f"{10000000 + index}", name=f"Dokter {index}", locale="en",
                         email_verified_at=NOW)
            make_practice_link(gp, poh, confirmed=True)
            make_referral(noord.network, gp, typed_by=poh)

    serial = iter(range(100))
    login_as(client, noord.boss)
    refer_from_new_gps(3)
    client.get("/n/noord/referrals/")  # warm up (session row, caches)
    with counted_statements() as few:
        assert client.get("/n/noord/referrals/").status_code == 200
    refer_from_new_gps(12)
    with counted_statements() as many:
        html = page_text(client.get("/n/noord/referrals/"))
    assert len(body_rows(html)) == 15 and "Dokter 14" in html
    assert len(many) == len(few), many


# --- the detail page ----------------------------------------------------------------------------

def test_detail_shows_everything_the_gp_sent_and_logs_the_read(client, noord, zuid):
    referral = refer(noord, resuscitation="yes", resuscitation_text="Niet reanimeren, besproken met huisarts",
                     advance_directive="yes", advance_directive_text="Wilsverklaring bij de huisarts",
                     relative_name="Els Jansen", relative_relation="partner", relative_phone="06 1234 5678")
    login_as(client, noord.boss)

    response = client.get(f"/n/noord/referrals/{referral.id}")

    assert response.status_code == 200
    html = page_text(response)
    for expected in ("Referral " + referral.number, "Wim Jansen", "111222333", "Kerkstraat 1", "2012 AB Haarlem",
                     "Els Jansen (partner), 06 1234 5678", "Male", "Colorectal cancer", "Spaarne Gasthuis", "dr. De Boer",
                     "After treatment", "Curative", "Hemicolectomie 2026", "Loperamide", "2 mg zo nodig",
                     "Niet reanimeren, besproken met huisarts", "Wilsverklaring bij de huisarts",
                     "Begeleiding bij diarree, vermoeidheid en seksuele klachten", "Physical", "Fatigue, Bowel problems or diarrhoea",
                     "Diarree sinds de operatie", "7 out of 10", "Dietician", "Routine",
                     "Woont samen met zijn vrouw", "Hanna Huisarts", "Praktijk De Linde, Haarlem", "01234567",
                     "confirmed on", "by Hanna Huisarts", "Acknowledge by", "2 days and 13 hours left",
                     "No attachments.", "No messages yet."):
        assert expected in html, expected
    assert "Psychological" not in html  # dimensions the GP left empty are not listed
    # The actions open now: acknowledge, decline, forward (not accept: it needs an acknowledgement first).
    assert set(re.findall(r'name="action" value="([a-z_]+)"', html)) == {"acknowledge", "decline", "forward"}
    assert "Netwerk Zuid</option>" in html and "Netwerk Noord</option>" not in html  # never to itself
    [read] = db.session.scalars(select(AuditEvent).where(AuditEvent.event == "referral.viewed"))
    assert (read.action, read.patient_id, read.object_id, read.user_id, read.basis) == (
        AuditAction.READ, referral.patient_id, referral.id, noord.boss.id, "coordinator")


def test_detail_shows_the_timeline_and_the_thread(client, noord):
    referral = refer(noord, S.INFO_REQUESTED)
    login_as(client, noord.boss)
    html = page_text(client.get(f"/n/noord/referrals/{referral.id}"))
    timeline = html.split('id="timeline-heading"')[1]
    assert re.findall(r"<strong>([^<]+)</strong>", timeline) == [
        "Submitted", "Acknowledged", "Information requested"]
    assert "Carla Coordinator" in timeline and "Hanna Huisarts" in timeline
    thread = html.split('id="thread-heading"')[1].split('id="timeline-heading"')[0]
    assert "Toelichting" in thread and "Carla Coordinator (network)" in thread


def test_detail_of_a_draft_or_another_network_is_404(client, noord, zuid):
    draft = refer(noord, S.DRAFT)
    theirs = make_referral(zuid.network, noord.gp, coordinator=zuid.boss)
    login_as(client, noord.boss)
    assert client.get(f"/n/noord/referrals/{draft.id}").status_code == 404
    assert client.get(f"/n/noord/referrals/{theirs.id}").status_code == 404
    assert act(client, theirs, "acknowledge").status_code == 404
    assert fresh(theirs.id).status is S.SUBMITTED


# --- actions ------------------------------------------------------------------------------------

def test_acknowledge_informs_the_gp_without_patient_data(client, noord):
    referral = refer(noord)
    login_as(client, noord.boss)

    response = act(client, referral, "acknowledge")

    assert response.status_code == 303 and response.headers["Location"].endswith(f"/n/noord/referrals/{referral.id}")
    saved = fresh(referral.id)
    assert saved.status is S.ACKNOWLEDGED and saved.acknowledged_at == NOW
    html = page_text(client.get(response.headers["Location"]))
    assert f"Referral {referral.number} is acknowledged; the GP is informed." in html
    assert "Acknowledged on 10 Jun 2026, 10:00: within the norm" in html
    mails = [row.payload for row in db.session.scalars(select(Outbox).where(Outbox.kind == "mail"))
             if row.payload["to"] == "huisarts@example.nl"]
    assert len(mails) == 1 and referral.number in mails[0]["body"]
    assert "Jansen" not in mails[0]["body"] and "111222333" not in mails[0]["body"]
    assert mails[0]["subject"] == f"The network has received referral {referral.number}"  # says what changed


def test_accept_while_submitted_is_refused_and_nothing_changes(client, noord):
    referral = refer(noord)
    login_as(client, noord.boss)

    response = act(client, referral, "accept")

    assert response.status_code == 303
    html = page_text(client.get(response.headers["Location"]))
    assert "A referral is accepted after it is acknowledged and while no question to the GP is open." in html
    assert fresh(referral.id).status is S.SUBMITTED and len(events_of(referral.id)) == 1


@pytest.mark.parametrize("status, action, message", [
    (S.SUBMITTED, "plan_intake", "Accept the referral before planning the intake."),
    (S.SUBMITTED, "request_info", "Acknowledge the referral before asking the GP a question."),
    (S.ACKNOWLEDGED, "acknowledge", "This referral has been acknowledged already."),
    (S.ACCEPTED, "decline", "An accepted referral can no longer be declined or forwarded."),
    (S.ACCEPTED, "start_care", "The patient is in care once the intake is completed."),
    (S.INTAKE_PLANNED, "start_care", "The patient is in care once the intake is completed."),
    (S.SUBMITTED, "care_without_intake", "Care without intake is decided after the referral is accepted"),
    (S.IN_CARE, "care_without_intake", "Care without intake is decided after the referral is accepted"),
    (S.INTAKE_PLANNED, "close", "Only a referral whose patient is in care can be closed."),
    (S.CLOSED, "acknowledge", "This referral is no longer open"),
    (S.SUBMITTED, "withdraw", "This action is not yours to take."),  # the GP's action
    (S.SUBMITTED, "answer", "This action is not yours to take."),
    (S.SUBMITTED, "shout", "Choose one of the actions on the page."),
])
def test_illegal_actions_are_refused_with_the_reason(client, noord, status, action, message):
    referral = refer(noord, status)
    before = len(events_of(referral.id))
    login_as(client, noord.boss)

    response = act(client, referral, action, question="Vraag", decline_reason="Reden", decline_confirm="y",
                   intake_on="2026-07-01")

    assert response.status_code == 303
    assert message in page_text(client.get(response.headers["Location"]))
    assert fresh(referral.id).status is status and len(events_of(referral.id)) == before


def test_ask_the_gp_a_question(client, noord):
    referral = refer(noord, S.ACKNOWLEDGED)
    login_as(client, noord.boss)

    refused = act(client, referral, "request_info", question="  ")
    assert refused.status_code == 400
    assert field_error(page_text(refused), "question") == "Write the question for the GP."
    assert fresh(referral.id).status is S.ACKNOWLEDGED

    response = act(client, referral, "request_info", question="Welke chemo kreeg hij?")
    assert response.status_code == 303 and fresh(referral.id).status is S.INFO_REQUESTED
    html = page_text(client.get(response.headers["Location"]))
    assert "Your question is sent to the GP." in html and "Welke chemo kreeg hij?" in html
    to_gp = [row.payload for row in db.session.scalars(select(Outbox).where(Outbox.kind == "mail").order_by(Outbox.id))
             if row.payload["to"] == "huisarts@example.nl"]
    subject = f"The network asks you a question about referral {referral.number}"
    assert to_gp[-1]["subject"] == subject and f"{subject} (Netwerk Noord)." in to_gp[-1]["body"]
    assert "Welke chemo" not in to_gp[-1]["body"]  # the question itself stays behind the sign-in


def test_accept_with_an_intake_date_also_plans_the_intake(client, noord):
    referral = refer(noord, S.ACKNOWLEDGED)
    login_as(client, noord.boss)

    response = act(client, referral, "accept", accept_intake_on="2026-06-16")

    saved = fresh(referral.id)
    assert response.status_code == 303
    assert (saved.status, saved.intake_on) == (S.INTAKE_PLANNED, date(2026, 6, 16))
    assert [e.to_status for e in events_of(referral.id)][-2:] == [S.ACCEPTED, S.INTAKE_PLANNED]
    assert (f"Referral {referral.number} is accepted and the intake is planned on 16 Jun 2026."
            in page_text(client.get(response.headers["Location"])))


def test_accept_without_a_date_and_with_a_past_date(client, noord):
    referral = refer(noord, S.ACKNOWLEDGED)
    login_as(client, noord.boss)

    refused = act(client, referral, "accept", accept_intake_on="2026-06-09")
    assert refused.status_code == 400
    assert field_error(page_text(refused), "accept_intake_on") == "The intake date cannot be in the past."
    assert fresh(referral.id).status is S.ACKNOWLEDGED

    assert act(client, referral, "accept").status_code == 303
    saved = fresh(referral.id)
    assert (saved.status, saved.intake_on) == (S.ACCEPTED, None)


def test_plan_intake_needs_a_date_not_in_the_past(client, noord):
    referral = refer(noord, S.ACCEPTED)
    login_as(client, noord.boss)

    for value, message in (("", "Choose the date of the intake."),
                           ("2026-06-09", "The intake date cannot be in the past."),
                           ("10-06-2026", "Not a valid date value.")):
        refused = act(client, referral, "plan_intake", intake_on=value)
        assert refused.status_code == 400
        assert message in field_error(page_text(refused), "intake_on"), value
    assert fresh(referral.id).status is S.ACCEPTED

    assert act(client, referral, "plan_intake", intake_on="2026-06-10").status_code == 303  # today is fine
    saved = fresh(referral.id)
    assert (saved.status, saved.intake_on) == (S.INTAKE_PLANNED, date(2026, 6, 10))


def test_care_without_intake_and_close(client, noord):
    referral = refer(noord, S.INTAKE_PLANNED)
    login_as(client, noord.boss)

    assert act(client, referral, "care_without_intake", care_reason="Palliatief, thuis", care_confirm="y"
               ).status_code == 303
    assert fresh(referral.id).status is S.IN_CARE
    response = act(client, referral, "close", close_note="Traject afgerond")
    assert response.status_code == 303 and fresh(referral.id).status is S.CLOSED
    assert events_of(referral.id)[-1].text == "Traject afgerond"
    html = page_text(client.get(response.headers["Location"]))
    assert f"Referral {referral.number} is closed." in html and "No action is open for the network" in html


def test_decline_needs_a_reason_and_a_confirmation(client, noord):
    referral = refer(noord)
    login_as(client, noord.boss)

    no_reason = act(client, referral, "decline", decline_reason=" ", decline_confirm="y")
    assert no_reason.status_code == 400
    assert field_error(page_text(no_reason), "decline_reason") == "Give the reason for declining."
    unconfirmed = act(client, referral, "decline", decline_reason="Buiten ons werkgebied")
    assert unconfirmed.status_code == 400
    assert "Tick the box to confirm" in field_error(page_text(unconfirmed), "decline_confirm")
    assert "Buiten ons werkgebied" in page_text(unconfirmed)  # the input is kept
    assert fresh(referral.id).status is S.SUBMITTED and len(events_of(referral.id)) == 1

    response = act(client, referral, "decline", decline_reason="Buiten ons werkgebied",
                   decline_alternative="Netwerk Zuid-Kennemerland", decline_confirm="y")

    assert response.status_code == 303 and fresh(referral.id).status is S.DECLINED
    assert events_of(referral.id)[-1].text == (
        "Buiten ons werkgebied\n\nSuggested alternative: Netwerk Zuid-Kennemerland")
    assert f"Referral {referral.number} is declined; the GP is informed." in page_text(
        client.get(response.headers["Location"]))


def test_forward_to_another_approved_network(client, noord, zuid):
    unapproved = make_network("west", name="Netwerk West")
    referral = refer(noord, S.ACKNOWLEDGED)
    login_as(client, noord.boss)

    form = page_text(client.get(f"/n/noord/referrals/{referral.id}"))
    options = re.findall(r'<option value="(\d+)">', form)
    assert options == ["0", str(zuid.network.id)]  # "Choose a network", then the approved others only

    for target, message in ((noord.network.id, "A referral cannot be forwarded to this network itself."),
                            (unapproved.id, "Choose one of the networks in the list."),
                            (0, "Choose the network to forward to.")):
        refused = act(client, referral, "forward", forward_network=str(target), forward_confirm="y")
        assert refused.status_code == 400
        assert field_error(page_text(refused), "forward_network") == message
    unconfirmed = act(client, referral, "forward", forward_network=str(zuid.network.id))
    assert unconfirmed.status_code == 400 and "Tick the box" in field_error(page_text(unconfirmed), "forward_confirm")
    assert fresh(referral.id).status is S.ACKNOWLEDGED

    response = act(client, referral, "forward", forward_network=str(zuid.network.id), forward_confirm="y",
                   forward_note="Dichter bij huis")

    saved = fresh(referral.id)
    assert (saved.status, saved.forwarded_to_network_id) == (S.FORWARDED, zuid.network.id)
    assert events_of(referral.id)[-1].text == "Dichter bij huis"
    html = page_text(client.get(response.headers["Location"]))
    assert f"Referral {referral.number} is forwarded to Netwerk Zuid; the GP is informed." in html
    assert "Forwarded to Netwerk Zuid." in html


def test_every_action_writes_an_audit_row_naming_the_patient(client, noord):
    referral = refer(noord)
    login_as(client, noord.boss)
    act(client, referral, "acknowledge")
    [row] = db.session.scalars(select(AuditEvent).where(AuditEvent.event == "referral.acknowledge"))
    assert (row.action, row.patient_id, row.object_id, row.user_id, row.network_id) == (
        AuditAction.UPDATE, referral.patient_id, referral.id, noord.boss.id, noord.network.id)


# --- attachments --------------------------------------------------------------------------------

def attach(referral: Referral, filename: str = "brief.pdf", *, removed: bool = False) -> ReferralAttachment:
    with network_context(referral.network_id):
        row = ReferralAttachment(network_id=referral.network_id, referral_id=referral.id, filename=filename,
                                 storage_name=store_bytes(referral.network_id, PDF_BYTES), size=len(PDF_BYTES),
                                 uploaded_by_id=referral.submitted_by_id, removed_at=utcnow() if removed else None)
        db.session.add(row)
        db.session.commit()
        return row


def test_attachments_are_listed_and_downloaded(client, noord):
    referral = refer(noord)
    letter = attach(referral, "ontslagbrief.pdf")
    removed = attach(referral, "verkeerde-brief.pdf", removed=True)
    other = attach(refer(noord), "andere.pdf")
    login_as(client, noord.boss)

    html = page_text(client.get(f"/n/noord/referrals/{referral.id}"))
    assert "ontslagbrief.pdf" in html and "verkeerde-brief.pdf" not in html
    assert f'href="/n/noord/referrals/{referral.id}/bijlagen/{letter.id}"' in html

    response = client.get(f"/n/noord/referrals/{referral.id}/bijlagen/{letter.id}")
    assert response.status_code == 200 and response.data == PDF_BYTES
    assert response.mimetype == "application/pdf" and "ontslagbrief.pdf" in response.headers["Content-Disposition"]
    [row] = db.session.scalars(select(AuditEvent).where(AuditEvent.event == "referral.attachment_downloaded"))
    assert (row.action, row.patient_id, row.object_id, row.user_id) == (
        AuditAction.EXPORT, referral.patient_id, letter.id, noord.boss.id)

    assert client.get(f"/n/noord/referrals/{referral.id}/bijlagen/{removed.id}").status_code == 404
    assert client.get(f"/n/noord/referrals/{referral.id}/bijlagen/{other.id}").status_code == 404


# --- roles, navigation and the norm setting ---------------------------------------------------------

def test_members_get_404_on_every_referral_route(client, noord):
    referral = refer(noord)
    letter = attach(referral)
    login_as(client, noord.member)
    for path in ("/n/noord/referrals/", f"/n/noord/referrals/{referral.id}", "/n/noord/referrals/dashboard",
                 f"/n/noord/referrals/{referral.id}/bijlagen/{letter.id}"):
        assert client.get(path).status_code == 404, path
    assert act(client, referral, "acknowledge").status_code == 404
    assert fresh(referral.id).status is S.SUBMITTED
    html = page_text(client.get("/n/noord/"))
    assert "/n/noord/referrals/" not in html


def test_coordinators_see_the_count_of_new_referrals(client, noord):
    login_as(client, noord.boss)
    html = page_text(client.get("/n/noord/"))
    assert 'href="/n/noord/referrals/">Referrals</a>' in html and "No new referrals are waiting." in html

    refer(noord)
    refer(noord)
    refer(noord, S.ACKNOWLEDGED)  # no longer new
    with counted_statements() as statements:
        html = page_text(client.get("/n/noord/"))
    assert re.search(r'href="/n/noord/referrals/">Referrals <span class="badge badge-count" aria-hidden="true">2</span>',
                     html)
    assert "2 new referrals are waiting for acknowledgement." in html
    # nav and card share one count, read by the gate with the membership (the card's figures reuse it)
    assert sum("count(referrals.id)" in s.lower() for s in statements) == 1
    assert sum("referrals.status = " in s.lower() and "count(" in s.lower() for s in statements) == 2


def test_norm_setting_is_saved_and_validated(client, noord):
    from tests.test_network_profile import VALID

    login_as(client, noord.boss)
    page = page_text(client.get("/n/noord/settings"))
    assert re.search(r'name="referral_ack_norm_days"[^>]*value="2"', page)

    for value, message in (("0", "Enter a number of working days from 1 to 10."),
                           ("11", "Enter a number of working days from 1 to 10."),
                           ("", "Enter a number of working days from 1 to 10."),
                           ("twee", "Enter a number of working days from 1 to 10.")):
        refused = client.post("/n/noord/settings", data={**VALID, "referral_ack_norm_days": value})
        assert refused.status_code == 200
        assert message in field_error(page_text(refused), "referral_ack_norm_days"), value
    assert fresh_norm(noord.network.id) == 2

    assert client.post("/n/noord/settings", data={**VALID, "referral_ack_norm_days": "5"}).status_code == 302
    assert fresh_norm(noord.network.id) == 5
    rows = db.session.scalars(select(AuditEvent).where(AuditEvent.event == "network.profile_updated")).all()
    assert "referral_ack_norm_days" in rows[-1].reason
    # A form posted without the field (an older page) keeps the norm.
    assert client.post("/n/noord/settings", data=VALID).status_code == 302
    assert fresh_norm(noord.network.id) == 5
    # New referrals get the new norm: Wednesday + 5 working days is Wednesday 17 June, 23:59:59 local.
    assert refer(noord).ack_due_at == datetime(2026, 6, 17, 21, 59, 59, 999999, tzinfo=UTC)


def fresh_norm(network_id: int) -> int:
    db.session.rollback()
    return db.session.get(Network, network_id).referral_ack_norm_days
