"""The acknowledgement-norm reminder: which referrals are due, `flask remind-referral-norms`, the job
(idempotent, checks again when it runs) and the mail as a real SMTP server (aiosmtpd) receives it:
numbers and due times only, never the patient.

Today is fixed at Wednesday 10 June 2026, 08:00 UTC; the norm is 2 working days, and a referral is
named when its due time is less than a day away or past. Coordinators are made with locale "en".
"""
from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import select

from app.core.audit import AuditAction, AuditEvent
from app.core.jobs import Outbox, deliver_outbox, enqueue, run_inline_pending
from app.core.tenancy import all_networks, network_context
from app.extensions import db
from app.networks.models import Membership, Network, Role
from app.referrals import services
from app.referrals.jobs import JOB_KIND, enqueue_norm_reminders
from app.referrals.models import Referral, ReferralStatus
from app.referrals.services import Action, Side
from tests.conftest import make_gp, make_member, make_network
from tests.referral_factories import make_referral
from tests.test_jobs import ROOT

S = ReferralStatus
NOW = datetime(2026, 6, 10, 8, 0, tzinfo=UTC)
PATIENT = {"given_name": "Gerarda", "family_name": "Pietersma", "bsn": "123456782", "address": "Kwakernaak 3",
           "phone": "023 987 6543"}
PATIENT_SECRETS = ("Gerarda", "Pietersma", "123456782", "Kwakernaak", "987 6543")


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller




def coordinator(network: Network, email: str, name: str) -> Membership:
    return make_member(network, email, role=Role.COORDINATOR, name=name, locale="en", password=None, mfa=False)


def submitted_at(clock, when: datetime, network: Network, gp, **fields) -> Referral:
    clock.move_to(when)
    referral = make_referral(network, gp, **PATIENT, **fields)
    clock.move_to(NOW)
    return referral


def reload(referral_id: int) -> Referral:
    db.session.rollback()  # see what the command's app committed
    return db.session.scalar(all_networks(select(Referral).where(Referral.id == referral_id)))


def reminder_rows() -> list[Outbox]:
    db.session.rollback()
    return list(db.session.scalars(select(Outbox).where(Outbox.kind == JOB_KIND).order_by(Outbox.id)))


def remind(app) -> str:
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["remind-referral-norms"])
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result.output


@pytest.fixture
def noord(clock):
    """Two active coordinators, a deactivated one and a member; referrals in every situation."""
    network = make_network("noord", name="Netwerk Noord", approved_at=NOW)
    carla = coordinator(network, "carla@example.nl", "Carla Coordinator")
    coordinator(network, "kees@example.nl", "Kees Coordinator")
    former = coordinator(network, "oud@example.nl", "Oud Coordinator")
    with network_context(network.id):
        db.session.get(Membership, former.id).deactivate()
        db.session.commit()
    make_member(network, "lid@example.nl", name="Lid Noord", locale="en", password=None, mfa=False)
    gp = make_gp("huisarts@example.nl", name="Hanna Huisarts", locale="en")
    made = {
        # Wednesday 3 June: due Friday 5 June, 23:59:59 local; overdue now.
        "overdue": submitted_at(clock, NOW - timedelta(days=7), network, gp),
        # Monday 8 June: due tonight (Wednesday 23:59:59 local), within a day.
        "due_tonight": submitted_at(clock, NOW - timedelta(days=2), network, gp),
        # Tuesday 9 June: due Thursday night, more than a day away.
        "not_yet": submitted_at(clock, NOW - timedelta(days=1), network, gp),
        "acknowledged": submitted_at(clock, NOW - timedelta(days=7), network, gp, status=S.ACKNOWLEDGED,
                                     coordinator=carla.user),
        "declined": submitted_at(clock, NOW - timedelta(days=7), network, gp, status=S.DECLINED,
                                 coordinator=carla.user),
        "reminded": submitted_at(clock, NOW - timedelta(days=8), network, gp),
    }
    with network_context(network.id):
        db.session.scalar(select(Referral).where(Referral.id == made["reminded"].id)).norm_reminded_at = (
            NOW - timedelta(days=2))
        db.session.commit()
    return network, carla.user, gp, made


def test_enqueue_picks_exactly_the_due_and_overdue_referrals_per_network(clock, noord):
    network, _carla, gp, made = noord
    zuid = make_network("zuid", name="Netwerk Zuid", approved_at=NOW)
    coordinator(zuid, "zoe@example.nl", "Zoe Zuid")
    theirs = submitted_at(clock, NOW - timedelta(days=3), zuid, gp)
    west = make_network("west", name="Netwerk West", approved_at=NOW)  # due, but no coordinator to remind
    make_member(west, "wl@example.nl", name="West Lid", password=None, mfa=False)
    submitted_at(clock, NOW - timedelta(days=7), west, gp)

    assert enqueue_norm_reminders(NOW) == [network.id, zuid.id]
    db.session.commit()

    rows = reminder_rows()
    assert [(row.network_id, row.payload, row.status) for row in rows] == [
        (network.id, {"network_id": network.id, "referral_ids": [made["overdue"].id, made["due_tonight"].id]},
         "pending"),
        (zuid.id, {"network_id": zuid.id, "referral_ids": [theirs.id]}, "pending")]
    for row in rows:
        for secret in PATIENT_SECRETS:
            assert secret not in repr(row.payload)


def test_a_second_enqueue_waits_for_the_pending_job(noord):
    network = noord[0]
    assert enqueue_norm_reminders(NOW) == [network.id]
    db.session.flush()
    assert enqueue_norm_reminders(NOW) == []
    db.session.rollback()


def test_command_mails_each_active_coordinator_once_without_patient_data(inline_app, smtp, noord, clock):
    network, _carla, _gp, made = noord

    assert "queued 1 referral norm reminder(s)" in remind(inline_app)

    [row] = reminder_rows()
    assert (row.status, row.attempts) == ("done", 1)
    assert sorted(rcpt for mail in smtp.messages for rcpt in mail.rcpt_tos) == ["carla@example.nl", "kees@example.nl"]
    mail = next(m for m in smtp.messages if m.rcpt_tos == ["carla@example.nl"])
    assert mail.subject == "Referrals waiting for acknowledgement in Netwerk Noord"
    assert "Hello Carla Coordinator," in mail.body
    assert "2 referrals to Netwerk Noord are still waiting for acknowledgement" in mail.body
    assert f"- {made['overdue'].number}: overdue since 5 Jun 2026, 23:59" in mail.body
    assert f"- {made['due_tonight'].number}: acknowledge by 10 Jun 2026, 23:59" in mail.body
    for other in ("not_yet", "acknowledged", "declined", "reminded"):
        assert f"- {made[other].number}:" not in mail.body, other
    assert "http://localhost/n/noord/referrals/" in mail.body.split()
    for received in smtp.messages:
        text = "\n".join([received.raw.decode("utf-8", "replace"), received.subject, received.body])
        for secret in PATIENT_SECRETS:
            assert secret not in text, secret

    assert reload(made["overdue"].id).norm_reminded_at == NOW
    assert reload(made["due_tonight"].id).norm_reminded_at == NOW
    assert reload(made["not_yet"].id).norm_reminded_at is None
    rows = db.session.scalars(select(AuditEvent).where(AuditEvent.event == "referral.norm_reminded")
                              .order_by(AuditEvent.id)).all()
    assert [(r.action, r.object_id, r.patient_id, r.network_id, r.user_id) for r in rows] == [
        (AuditAction.UPDATE, made[key].id, made[key].patient_id, network.id, None)
        for key in ("overdue", "due_tonight")]

    # The next hourly run: nothing new is due, nothing is sent.
    clock.move_to(NOW + timedelta(hours=1))
    assert "queued 0 referral norm reminder(s)" in remind(inline_app)
    assert len(smtp.messages) == 2
    # Thursday morning the third referral comes within a day of its due time: one more mail each, naming it only.
    clock.move_to(datetime(2026, 6, 11, 6, tzinfo=UTC))
    assert "queued 1 referral norm reminder(s)" in remind(inline_app)
    later = [m for m in smtp.messages[2:] if m.rcpt_tos == ["carla@example.nl"]]
    assert len(smtp.messages) == 4 and len(later) == 1
    assert f"- {made['not_yet'].number}:" in later[0].body and made["overdue"].number not in later[0].body


def test_a_referral_acknowledged_meanwhile_is_skipped(inline_app, smtp, noord):
    _network, carla, _gp, made = noord
    [network_id] = enqueue_norm_reminders(NOW)
    db.session.commit()
    row_id = reminder_rows()[0].id
    with network_context(network_id):  # between queueing and running, a coordinator acknowledges one
        referral = db.session.scalar(select(Referral).where(Referral.id == made["overdue"].id))
        services.transition(referral, Action.ACKNOWLEDGE, actor=carla, side=Side.NETWORK)
        db.session.commit()
    db.session.info.pop("outbox_inline", None)  # the acknowledgement's mail to the GP is not under test

    with inline_app.app_context():
        deliver_outbox(row_id)
        run_inline_pending()

    assert sorted(r for m in smtp.messages for r in m.rcpt_tos) == ["carla@example.nl", "kees@example.nl"]
    for mail in smtp.messages:
        assert made["due_tonight"].number in mail.body and made["overdue"].number not in mail.body
        assert "1 referral to Netwerk Noord is still waiting" in mail.body
    assert reload(made["overdue"].id).norm_reminded_at is None
    assert reload(made["due_tonight"].id).norm_reminded_at == NOW


def test_job_run_twice_mails_once(inline_app, smtp, noord):
    network, _carla, _gp, made = noord
    payload = {"network_id": network.id, "referral_ids": [made["overdue"].id]}
    first = enqueue(JOB_KIND, payload, network_id=network.id)
    second = enqueue(JOB_KIND, payload, network_id=network.id)
    db.session.commit()
    first_id, second_id = first.id, second.id
    db.session.info.pop("outbox_inline", None)

    with inline_app.app_context():
        deliver_outbox(first_id)
        run_inline_pending()
        deliver_outbox(second_id)
        run_inline_pending()

    assert len(smtp.messages) == 2  # one per active coordinator, not four
    assert [r.status for r in reminder_rows()] == ["done", "done"]


def test_job_refuses_to_run_for_another_network(noord):
    network, _carla, _gp, made = noord
    zuid = make_network("zuid")
    row = enqueue(JOB_KIND, {"network_id": network.id, "referral_ids": [made["overdue"].id]}, network_id=zuid.id)
    db.session.commit()
    with pytest.raises(ValueError, match="own network"):
        deliver_outbox(row.id)
    assert reload(made["overdue"].id).norm_reminded_at is None


def test_reminder_job_is_known_to_a_freshly_started_app():
    """The worker builds the app with create_app(); the handler must be registered by then."""
    code = ("from app.core import jobs\n"
            "assert 'referral_norm_reminder' not in jobs._handlers\n"
            "from app import create_app\n"
            "create_app()\n"
            "print(sorted(jobs._handlers))\n")
    env = {**os.environ, "APP_ENV": "testing"}
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert "'referral_norm_reminder'" in result.stdout
