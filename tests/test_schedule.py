"""The periodic jobs (app/schedule.py): one schedule, run by RQ's cron scheduler with Redis and by a
thread of `flask run` without it; each job runs once per period and sends nothing twice."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click
import pytest
from sqlalchemy import select

from app.core.jobs import Outbox
from app.extensions import db
from app.meetings import jobs as meeting_jobs
from app.networks.models import Network, Role
from app.schedule import JOBS, SCHEDULE, InProcessScheduler, build_cron_scheduler, claim_period, serving_with_flask_run
from tests.conftest import make_member, make_network
from tests.test_jobs import ROOT, TEST_REDIS_URL, needs_redis

NAMES = ["outbox-relay", "mail-digest", "referral-norm-reminder", "norm-overdue-reminder", "self-check-reminder", "prom-reminder",
         "audit-verify", "audit-retention"]


def outbox(kind: str) -> list[Outbox]:
    db.session.rollback()  # see what the jobs' own sessions committed
    return list(db.session.scalars(select(Outbox).where(Outbox.kind == kind).order_by(Outbox.id)))


@pytest.fixture
def redis_db():
    """The Redis database of TEST_REDIS_URL, emptied before and after."""
    from redis import Redis

    connection = Redis.from_url(TEST_REDIS_URL)
    connection.flushdb()
    yield connection
    connection.flushdb()
    connection.close()


@pytest.fixture
def due_network():
    """A network with two coordinators and no self-check yet: due for the yearly reminder."""
    network = make_network("noord")
    for address in ("carla@example.nl", "kees@example.nl"):
        make_member(network, address, role=Role.COORDINATOR, password=None, mfa=False)
    return network


def test_the_schedule_keeps_the_old_cron_intervals():
    assert [job.name for job in SCHEDULE] == NAMES
    assert {job.name: job.every for job in SCHEDULE} == {
        "outbox-relay": timedelta(minutes=1), "referral-norm-reminder": timedelta(hours=1),
        "norm-overdue-reminder": timedelta(hours=1), "self-check-reminder": timedelta(days=1), "prom-reminder": timedelta(days=1),
        "mail-digest": timedelta(minutes=1), "audit-verify": timedelta(days=1), "audit-retention": timedelta(days=1)}
    for job in SCHEDULE:
        assert callable(job.resolve()), job.func


def test_the_in_process_schedule_runs_each_due_job_once_per_period(app):
    scheduler = InProcessScheduler(app)
    start = datetime(2026, 6, 10, 9, 0, tzinfo=UTC)
    assert scheduler.run_due(start) == NAMES  # everything once at start
    assert scheduler.run_due(start + timedelta(seconds=30)) == []
    assert scheduler.run_due(start + timedelta(seconds=59)) == []
    assert scheduler.run_due(start + timedelta(minutes=1)) == ["outbox-relay", "mail-digest"]
    assert scheduler.run_due(start + timedelta(minutes=1, seconds=30)) == []
    assert scheduler.run_due(start + timedelta(hours=1)) == ["outbox-relay", "mail-digest", "referral-norm-reminder",
                                                             "norm-overdue-reminder"]
    assert scheduler.run_due(start + timedelta(hours=1)) == []
    assert scheduler.run_due(start + timedelta(days=1)) == NAMES
    assert scheduler.seconds_to_next(start + timedelta(days=1)) == 60


def test_the_in_process_schedule_sends_a_reminder_once(app, due_network):
    scheduler = InProcessScheduler(app, tuple(job for job in SCHEDULE if job.name == "self-check-reminder"))
    start = datetime.now(UTC)
    assert scheduler.run_due(start) == ["self-check-reminder"]
    assert scheduler.run_due(start + timedelta(days=1)) == ["self-check-reminder"]  # a day later: not due again
    assert [row.status for row in outbox(meeting_jobs.JOB_KIND)] == ["done"]
    assert sorted(row.payload["to"] for row in outbox("mail")) == ["carla@example.nl", "kees@example.nl"]


def test_running_the_reminder_twice_in_one_period_queues_one_job_and_one_mail_each(app, due_network):
    """Two schedulers (or the command by hand) in the same period: the second run finds the first."""
    assert meeting_jobs.remind_self_checks() == 1
    assert meeting_jobs.remind_self_checks() == 0
    assert len(outbox(meeting_jobs.JOB_KIND)) == 1
    assert len(outbox("mail")) == 2
    # Also while the first job still waits (with Redis the worker runs it later): no second row.
    other = make_network("zuid")
    make_member(other, "zoe@example.nl", role=Role.COORDINATOR, password=None, mfa=False)
    assert meeting_jobs.enqueue_due_reminders() == [other.id]
    assert meeting_jobs.enqueue_due_reminders() == []
    db.session.rollback()


def test_the_command_runs_the_job_by_hand(app, due_network):
    result = app.test_cli_runner().invoke(args=["remind-self-checks"])
    assert result.exit_code == 0, result.output
    assert "queued 1 self-check reminder(s)" in result.output
    assert db.session.scalar(select(Network.self_check_reminded_at).where(Network.id == due_network.id))


# --- when the in-process scheduler starts -----------------------------------------------------------

def in_command(name: str, **params) -> bool:
    ctx = click.Context(click.Command(name))
    ctx.params = params
    with ctx:
        return serving_with_flask_run()


def test_the_in_process_scheduler_starts_only_in_the_serving_flask_run(monkeypatch):
    monkeypatch.delenv("WERKZEUG_RUN_MAIN", raising=False)
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    assert serving_with_flask_run() is False  # not a command at all (tests, gunicorn)
    assert in_command("upgrade") is False  # flask db upgrade, seed-demo, worker ...
    assert in_command("run", reload=None) is True  # `flask run` without the reloader (make run)
    assert in_command("run", reload=True) is False  # the reloader's parent only watches
    monkeypatch.setenv("FLASK_DEBUG", "1")
    assert in_command("run", reload=None) is False  # --debug: the reloader is on by default
    monkeypatch.setenv("WERKZEUG_RUN_MAIN", "true")
    assert in_command("run", reload=None) is True  # the reloader's child serves


def test_config_starts_it_in_development_without_redis_and_never_in_tests(app):
    from config import DevelopmentConfig, ProductionConfig, TestingConfig

    assert app.config["IN_PROCESS_SCHEDULER"] is False
    assert TestingConfig.IN_PROCESS_SCHEDULER is False
    assert ProductionConfig.IN_PROCESS_SCHEDULER is (os.environ.get("IN_PROCESS_SCHEDULER") in ("1", "true"))
    if not os.environ.get("REDIS_URL") and "IN_PROCESS_SCHEDULER" not in os.environ:
        assert DevelopmentConfig.IN_PROCESS_SCHEDULER is True


# --- with Redis: RQ's cron scheduler ----------------------------------------------------------------

@pytest.mark.redis
@needs_redis
def test_the_cron_scheduler_enqueues_every_job_and_the_worker_runs_each_once_per_period(app_with, redis_db,
                                                                                        due_network):
    from rq import SimpleWorker

    from app.core.jobs import get_queue

    redis_app = app_with(REDIS_URL=TEST_REDIS_URL)
    with redis_app.app_context():
        scheduler = build_cron_scheduler()
        enqueued = scheduler.enqueue_jobs()  # one tick: every interval job is due at start
        assert [job.name for job in enqueued] == [f"netwerkzorg-test:{name}" for name in NAMES]
        assert scheduler.enqueue_jobs() == []  # not due again yet
        queue = get_queue()
        jobs = [queue.fetch_job(job_id) for job_id in queue.job_ids]
        assert [(job.func_name, job.args) for job in jobs] == [("app.schedule.run_scheduled", (name,))
                                                               for name in NAMES]

        SimpleWorker([queue], connection=queue.connection).work(burst=True)  # runs them and the mail they queue
        assert [job.get_status() for job in jobs] == ["finished"] * len(NAMES)
        # One network due for the self-check; the audit chain intact (0) and nothing old enough to purge (0).
        assert [job.return_value() for job in jobs] == [0, 0, 0, 0, 1, 0, 0, 0]

        # A second scheduler in the same period: its runs are skipped (the period is claimed). The relay's and
        # the digest's period is a minute, which this test may cross; the others' periods are an hour or a day.
        queue.empty()
        build_cron_scheduler().enqueue_jobs()
        again = [queue.fetch_job(job_id) for job_id in queue.job_ids]
        SimpleWorker([queue], connection=queue.connection).work(burst=True)
        every_minute = {"outbox-relay", "mail-digest"}
        assert [job.return_value() for job in again if job.args[0] not in every_minute] == (
            [None] * (len(NAMES) - len(every_minute)))
    assert len(outbox(meeting_jobs.JOB_KIND)) == 1
    assert sorted(row.payload["to"] for row in outbox("mail")) == ["carla@example.nl", "kees@example.nl"]


@pytest.mark.redis
@needs_redis
def test_a_period_is_claimed_once(app_with, redis_db):
    with app_with(REDIS_URL=TEST_REDIS_URL).app_context():
        job = JOBS["referral-norm-reminder"]
        at = datetime(2026, 6, 10, 9, 15, tzinfo=UTC)
        assert claim_period(job, at) is True
        assert claim_period(job, at + timedelta(minutes=40)) is False  # the same hour
        assert claim_period(job, at + timedelta(hours=1)) is True
        assert claim_period(JOBS["outbox-relay"], at) is True  # each job has its own periods


@pytest.mark.redis
@needs_redis
def test_flask_scheduler_enqueues_every_job(redis_db):
    """`flask scheduler` as its own process, for a bounded time; stopped with SIGTERM like honcho does."""
    from rq import Queue

    env = {**os.environ, "APP_ENV": "testing", "FLASK_APP": "wsgi.py", "TEST_REDIS_URL": TEST_REDIS_URL}
    process = subprocess.Popen([str(Path(sys.executable).parent / "flask"), "scheduler"], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    queue = Queue("netwerkzorg-test", connection=redis_db)
    try:
        deadline = time.monotonic() + 60
        while len(queue.job_ids) < len(NAMES) and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.2)
        functions = sorted(queue.fetch_job(job_id).args[0] for job_id in queue.job_ids)
    finally:
        process.send_signal(signal.SIGTERM)
        output = process.communicate(timeout=30)[0]
    assert functions == sorted(NAMES), output
    assert process.returncode == 0, output
