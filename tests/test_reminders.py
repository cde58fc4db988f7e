"""The yearly self-check reminder: which networks are due, `flask remind-self-checks`, the job
(idempotent, re-checks when it runs) and the mail as a real SMTP server (aiosmtpd) receives it.

Today is fixed with time_machine at Sunday 15 June 2025. Coordinators are made with locale "en".
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
from app.core.jobs import Outbox, deliver_outbox, enqueue, get_queue, run_inline_pending
from app.core.tenancy import network_context
from app.extensions import db
from app.meetings.jobs import JOB_KIND, enqueue_due_reminders, is_due
from app.networks.models import Membership, Network, Role
from app.quality.models import CriteriaSet, SelfCheckSnapshot
from tests.conftest import IS_POSTGRES, make_member, make_network, make_patient
from tests.test_jobs import ROOT, TEST_REDIS_URL, run_worker

NOW = datetime(2025, 6, 15, 9, 0, tzinfo=UTC)
PATIENT_SECRETS = ("123456782", "Gerarda", "Pietersma", "Kwakernaak")


@pytest.fixture(autouse=True)
def _frozen_now():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller




# --- helpers ------------------------------------------------------------------------------------

def coordinator(network: Network, email: str, name: str, **fields) -> Membership:
    return make_member(network, email, role=Role.COORDINATOR, name=name, locale="en", password=None,
                       mfa=False, **fields)


def take_snapshot(network: Network, taken_at: datetime, by: Membership) -> None:
    criteria_set = db.session.scalar(select(CriteriaSet).order_by(CriteriaSet.id).limit(1))
    if criteria_set is None:  # the seeded sets are emptied between tests unless kept
        criteria_set = CriteriaSet(version="test", effective_from=datetime(2024, 2, 6).date())
        db.session.add(criteria_set)
        db.session.flush()
    with network_context(network.id):
        db.session.add(SelfCheckSnapshot(network_id=network.id, criteria_set_id=criteria_set.id, taken_at=taken_at,
                                         taken_by_id=by.user_id, results=[], evidence=[]))
        db.session.commit()


def reminder_rows() -> list[Outbox]:
    db.session.rollback()  # see what the CLI's app committed
    return list(db.session.scalars(select(Outbox).where(Outbox.kind == JOB_KIND).order_by(Outbox.id)))


def reminded_at(network_id: int) -> datetime | None:
    db.session.rollback()
    return db.session.scalar(select(Network.self_check_reminded_at).where(Network.id == network_id))


def remind(app) -> str:
    """`flask remind-self-checks` in *app* (its context, so the command does not use the test's app)."""
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["remind-self-checks"])
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result.output


@pytest.fixture
def noord():
    """Due (never checked): two active coordinators, a deactivated one, a member and a patient."""
    network = make_network("noord", name="Netwerk Noord")
    carla = coordinator(network, "carla@example.nl", "Carla Coordinator")
    coordinator(network, "kees@example.nl", "Kees Coordinator")
    former = coordinator(network, "oud@example.nl", "Oud Coordinator")
    with network_context(network.id):
        db.session.get(Membership, former.id).deactivate()
        db.session.commit()
    make_member(network, "lid@example.nl", name="Lid Noord", locale="en", password=None, mfa=False)
    make_patient(network, given_name="Gerarda", family_name="Pietersma-Kwakernaak", bsn="123456782",
                 created_by=carla.user)
    return network


# --- due-ness -----------------------------------------------------------------------------------

@pytest.mark.parametrize("snapshot_at, reminded, due", [
    (None, None, True),                                         # never checked, never reminded
    (datetime(2024, 5, 1, tzinfo=UTC), None, True),             # checked 13 months ago
    (datetime(2024, 6, 14, 9, tzinfo=UTC), None, True),         # a year and a day ago
    (datetime(2024, 6, 16, 9, tzinfo=UTC), None, False),        # a day less than a year ago
    (datetime(2025, 1, 10, tzinfo=UTC), None, False),           # checked this year
    (None, datetime(2025, 3, 1, tzinfo=UTC), False),            # reminded 3.5 months ago
    (datetime(2024, 5, 1, tzinfo=UTC), datetime(2024, 7, 16, tzinfo=UTC), False),  # 11 months minus a day
    (datetime(2024, 5, 1, tzinfo=UTC), datetime(2024, 7, 1, tzinfo=UTC), True),    # 11.5 months ago
], ids=["none", "old", "year-and-a-day", "just-recent", "recent", "reminded-recently",
        "reminded-just-under-11-months", "reminded-long-ago"])
def test_network_is_due_when_its_self_check_is_old_and_it_was_not_reminded_lately(snapshot_at, reminded, due):
    network = make_network("noord", self_check_reminded_at=reminded)
    boss = coordinator(network, "carla@example.nl", "Carla Coordinator")
    if snapshot_at is not None:
        take_snapshot(network, snapshot_at, boss)
    with network_context(network.id):
        assert is_due(network, now=NOW) is due


def first_coordinator(network: Network) -> Membership:
    with network_context(network.id):
        return db.session.scalars(select(Membership).where(Membership.role == Role.COORDINATOR)
                                  .order_by(Membership.id)).first()


def test_only_the_latest_snapshot_counts(noord):
    boss = first_coordinator(noord)
    take_snapshot(noord, datetime(2023, 1, 1, tzinfo=UTC), boss)
    take_snapshot(noord, datetime(2025, 2, 1, tzinfo=UTC), boss)
    take_snapshot(noord, datetime(2024, 1, 1, tzinfo=UTC), boss)
    with network_context(noord.id):
        assert is_due(noord, now=NOW) is False


# --- the command, the job and the mail ----------------------------------------------------------

def test_command_mails_each_active_coordinator_of_a_due_network_once(inline_app, smtp, noord):
    zuid = make_network("zuid", name="Netwerk Zuid")  # checked this year: not due
    take_snapshot(zuid, datetime(2025, 3, 1, tzinfo=UTC), coordinator(zuid, "zc@example.nl", "Zuid Coordinator"))
    oost = make_network("oost", name="Netwerk Oost", self_check_reminded_at=datetime(2025, 4, 1, tzinfo=UTC))
    coordinator(oost, "oc@example.nl", "Oost Coordinator")  # reminded in April: not due
    west = make_network("west", name="Netwerk West")  # due, but nobody to remind
    make_member(west, "wl@example.nl", name="West Lid", password=None, mfa=False)

    assert "queued 1 self-check reminder(s)" in remind(inline_app)

    [row] = reminder_rows()
    assert (row.network_id, row.payload, row.status, row.attempts) == (noord.id, {"network_id": noord.id}, "done", 1)
    assert sorted(rcpt for mail in smtp.messages for rcpt in mail.rcpt_tos) == [
        "carla@example.nl", "kees@example.nl"]
    mail = next(m for m in smtp.messages if m.rcpt_tos == ["carla@example.nl"])
    assert mail.subject == "Time for the yearly quality self-check of Netwerk Noord"
    assert "Hello Carla Coordinator," in mail.body
    assert "Netwerk Noord has not saved a quality self-check yet." in mail.body
    assert "http://localhost/n/noord/quality" in mail.body.split()
    for received in smtp.messages:
        text = "\n".join([received.raw.decode("utf-8", "replace"), received.subject, received.body])
        for secret in PATIENT_SECRETS:
            assert secret not in text, secret
    for outbox in db.session.scalars(select(Outbox)):
        for secret in PATIENT_SECRETS:
            assert secret not in repr(outbox.payload), secret

    assert reminded_at(noord.id) == NOW
    assert reminded_at(zuid.id) is None and reminded_at(west.id) is None
    assert reminded_at(oost.id) == datetime(2025, 4, 1, tzinfo=UTC)
    [audit_row] = db.session.scalars(select(AuditEvent).where(AuditEvent.event == "network.self_check_reminded"))
    assert (audit_row.action, audit_row.object_type, audit_row.object_id, audit_row.network_id, audit_row.user_id) == (
        AuditAction.UPDATE, "network", noord.id, noord.id, None)

    # Cron runs it again the next day: nothing is queued and nothing is sent.
    with time_machine.travel(NOW + timedelta(days=1), tick=False):
        assert "queued 0 self-check reminder(s)" in remind(inline_app)
    assert len(reminder_rows()) == 1
    assert len(smtp.messages) == 2


def test_mail_names_the_date_of_an_old_self_check(inline_app, smtp):
    network = make_network("noord", name="Netwerk Noord")
    boss = coordinator(network, "carla@example.nl", "Carla Coordinator")
    take_snapshot(network, datetime(2024, 5, 2, 12, tzinfo=UTC), boss)

    remind(inline_app)

    [mail] = smtp.messages
    assert "The last quality self-check of Netwerk Noord was saved on 2 May 2024" in mail.body


def test_job_run_twice_mails_once(inline_app, smtp, noord):
    # Two rows for the same network (two cron runs before a worker ran, or a relay after a crash).
    first = enqueue(JOB_KIND, {"network_id": noord.id}, network_id=noord.id)
    second = enqueue(JOB_KIND, {"network_id": noord.id}, network_id=noord.id)
    db.session.commit()
    first_id, second_id = first.id, second.id

    with inline_app.app_context():
        deliver_outbox(first_id)
        run_inline_pending()  # the mail rows the job queued
        assert len(smtp.messages) == 2
        deliver_outbox(second_id)
        run_inline_pending()

    assert len(smtp.messages) == 2  # one per active coordinator, not four
    assert [r.status for r in reminder_rows()] == ["done", "done"]
    assert len(db.session.scalars(select(Outbox).where(Outbox.kind == "mail")).all()) == 2


def test_command_does_not_queue_a_second_row_while_one_waits(app, noord):
    assert enqueue_due_reminders(now=NOW) == [noord.id]
    db.session.flush()
    assert enqueue_due_reminders(now=NOW) == []  # the first row is still pending
    db.session.rollback()


def test_job_checks_again_when_it_runs(inline_app, smtp, noord):
    row = enqueue(JOB_KIND, {"network_id": noord.id}, network_id=noord.id)
    db.session.commit()
    row_id = row.id
    # Between queueing and running, a coordinator saves a self-check.
    take_snapshot(noord, NOW - timedelta(hours=1), first_coordinator(noord))

    with inline_app.app_context():
        deliver_outbox(row_id)

    assert smtp.messages == []
    assert [r.status for r in reminder_rows()] == ["done"]
    assert reminded_at(noord.id) is None


def test_job_refuses_to_run_for_another_network(app, noord):
    zuid = make_network("zuid")
    row = enqueue(JOB_KIND, {"network_id": noord.id}, network_id=zuid.id)
    db.session.commit()
    with pytest.raises(ValueError, match="own network"):
        deliver_outbox(row.id)
    assert reminded_at(noord.id) is None and reminded_at(zuid.id) is None


def test_network_is_reminded_again_after_eleven_months(inline_app, smtp, noord, _frozen_now):
    remind(inline_app)
    assert len(smtp.messages) == 2

    _frozen_now.move_to(datetime(2026, 5, 10, 9, tzinfo=UTC))  # ten months and a bit later
    remind(inline_app)
    assert len(smtp.messages) == 2

    _frozen_now.move_to(datetime(2026, 5, 16, 9, tzinfo=UTC))  # eleven months and a day
    remind(inline_app)
    assert len(smtp.messages) == 4
    assert reminded_at(noord.id) == datetime(2026, 5, 16, 9, tzinfo=UTC)


def test_reminder_job_is_known_to_a_freshly_started_app():
    """The worker builds the app with create_app(); the handler must be registered by then."""
    code = ("from app.core import jobs\n"
            "assert 'self_check_reminder' not in jobs._handlers\n"
            "from app import create_app\n"
            "create_app()\n"
            "print(sorted(jobs._handlers))\n")
    env = {**os.environ, "APP_ENV": "testing"}
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert "'self_check_reminder'" in result.stdout


@pytest.mark.redis
@pytest.mark.skipif(not (TEST_REDIS_URL and IS_POSTGRES), reason="needs TEST_REDIS_URL and PostgreSQL")
def test_worker_process_sends_the_reminder(app_with, smtp, noord):
    from redis import Redis

    Redis.from_url(TEST_REDIS_URL).flushdb()
    queue_app = app_with(REDIS_URL=TEST_REDIS_URL, MAIL_URL="")
    try:
        remind(queue_app)
        [row] = reminder_rows()
        assert row.status == "pending"
        with queue_app.app_context():
            assert get_queue().job_ids == [f"outbox-{row.id}"]
        assert smtp.messages == []

        run_worker(smtp.url)

        assert [r.status for r in reminder_rows()] == ["done"]
        assert sorted(r for m in smtp.messages for r in m.rcpt_tos) == ["carla@example.nl", "kees@example.nl"]
    finally:
        Redis.from_url(TEST_REDIS_URL).flushdb()
