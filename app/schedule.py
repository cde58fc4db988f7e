"""The periodic jobs and their schedule: the one list, and the two ways it runs.

- With REDIS_URL, `flask scheduler` runs RQ's cron scheduler (rq.cron.CronScheduler): it enqueues
  run_scheduled(name) on the app's queue when a job is due, and `flask worker` runs it.
- Without REDIS_URL (the embedded default of `make run`), InProcessScheduler runs the same list in a
  background thread of `flask run` (development only, or with IN_PROCESS_SCHEDULER=1).

Every job is idempotent on its own (job_pending, serialize_enqueueing, the *_reminded_at marks), so
two schedulers at once send nothing twice; with Redis, a claim per job and period also keeps the
second scheduler's run from doing the work again.
"""
from __future__ import annotations

import importlib
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask import Flask, current_app

from app.extensions import db

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    func: str  # "module:function"; the function runs inside an app context and returns a count
    every: timedelta

    def resolve(self) -> Callable[[], int]:
        module, _sep, attr = self.func.partition(":")
        return getattr(importlib.import_module(module), attr)

    def run(self) -> int:
        return self.resolve()()


# The one schedule (the intervals the old cron lines used). Each function lives in its feature's jobs.py.
SCHEDULE: tuple[PeriodicJob, ...] = (
    # Offer outbox rows again that were not handed to RQ (Redis was down) or not run (a crash).
    PeriodicJob("outbox-relay", "app.core.jobs:relay_pending", timedelta(minutes=1)),
    # Held mails about changes, combined per recipient into one mail once the first waited a few minutes.
    PeriodicJob("mail-digest", "app.core.mail:flush_digests", timedelta(minutes=1)),
    # Referrals nearly or already past the acknowledgement norm.
    PeriodicJob("referral-norm-reminder", "app.referrals.jobs:remind_referral_norms", timedelta(hours=1)),
    # The norms between the care lines past their due moment (app.norms).
    PeriodicJob("norm-overdue-reminder", "app.norms.jobs:remind_overdue_norms", timedelta(hours=1)),
    # The yearly NVPO self-check reminder.
    PeriodicJob("self-check-reminder", "app.meetings.jobs:remind_self_checks", timedelta(days=1)),
    # The 3-monthly distress thermometer reminder.
    PeriodicJob("prom-reminder", "app.cases.jobs:remind_proms", timedelta(days=1)),
    # NEN 7513: the audit log's hash chain checked (a break raises the alarm on /admin and /healthz) ...
    PeriodicJob("audit-verify", "app.core.audit_integrity:verify_scheduled", timedelta(days=1)),
    # ... and its rows older than the retention term purged behind a sealed checkpoint.
    PeriodicJob("audit-retention", "app.core.audit_integrity:purge_scheduled", timedelta(days=1)),
)
JOBS: dict[str, PeriodicJob] = {job.name: job for job in SCHEDULE}


# --- with Redis: RQ's cron scheduler -------------------------------------------------------------------

def cron_job_name(job: PeriodicJob) -> str:
    return f"{current_app.config['JOB_QUEUE_NAME']}:{job.name}"


def build_cron_scheduler():
    """An rq.cron.CronScheduler on the app's queue with every job of SCHEDULE (inside an app context)."""
    from rq.cron import CronScheduler

    from app.core.jobs import get_queue

    queue = get_queue()
    scheduler = CronScheduler(connection=queue.connection, name=f"{queue.name}:{os.getpid()}:{os.urandom(3).hex()}")
    for job in SCHEDULE:
        scheduler.register(run_scheduled, queue.name, args=(job.name,), interval=int(job.every.total_seconds()),
                           name=cron_job_name(job), failure_ttl=30 * 24 * 3600)
    return scheduler


def claim_period(job: PeriodicJob, at: datetime) -> bool:
    """Claim *job*'s period that *at* falls in (periods are counted from the epoch), once, in Redis.
    False when another scheduler's run claimed it already."""
    from app.core.jobs import get_queue

    seconds = int(job.every.total_seconds())
    period = int(at.timestamp()) // seconds
    key = f"{current_app.config['JOB_QUEUE_NAME']}:periodic:{job.name}:{period}"
    return bool(get_queue().connection.set(key, "1", nx=True, ex=seconds * 2))


def run_scheduled(name: str) -> int | None:
    """What the cron scheduler enqueues: the named periodic job, inside an app context, at most once per
    period (the period of the time it was enqueued). Returns the job's count, None when skipped."""
    from rq import get_current_job

    from app.core.jobs import _job_app_context

    job = JOBS[name]
    rq_job = get_current_job()
    at = (rq_job.enqueued_at if rq_job is not None else None) or datetime.now(UTC)
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)  # RQ keeps UTC
    with _job_app_context():
        if current_app.config.get("REDIS_URL") and not claim_period(job, at):
            log.info("periodic job %s: this period ran already (another scheduler)", name)
            return None
        count = job.run()
        log.info("periodic job %s: %s", name, count)
        return count


# --- without Redis: a thread in `flask run` --------------------------------------------------------------

class InProcessScheduler:
    """Runs each job of *jobs* when due: at start, then once per period, in this process."""

    def __init__(self, app: Flask, jobs: tuple[PeriodicJob, ...] = SCHEDULE):
        self.app = app
        self.jobs = jobs
        self.last_run: dict[str, datetime] = {}
        self._stop = threading.Event()
        self.thread: threading.Thread | None = None

    def due(self, now: datetime) -> list[PeriodicJob]:
        return [job for job in self.jobs
                if job.name not in self.last_run or now >= self.last_run[job.name] + job.every]

    def run_due(self, now: datetime | None = None) -> list[str]:
        """Run every due job once (each in its own app context and session); return their names."""
        now = now or datetime.now(UTC)
        ran = []
        for job in self.due(now):
            self.last_run[job.name] = now
            with self.app.app_context():
                try:
                    job.run()
                except Exception:
                    log.exception("periodic job %s failed", job.name)
                finally:
                    db.session.remove()
            ran.append(job.name)
        return ran

    def seconds_to_next(self, now: datetime) -> float:
        nexts = [self.last_run.get(job.name, now) + job.every for job in self.jobs]
        return max(1.0, min(60.0, (min(nexts) - now).total_seconds()))

    def loop(self) -> None:
        while not self._stop.is_set():
            self.run_due()
            self._stop.wait(self.seconds_to_next(datetime.now(UTC)))

    def start(self) -> threading.Thread:
        self.thread = threading.Thread(target=self.loop, name="netwerkzorg-scheduler", daemon=True)
        self.thread.start()
        return self.thread

    def stop(self) -> None:
        self._stop.set()


def serving_with_flask_run() -> bool:
    """True in the process of `flask run` that serves requests: not in other flask commands (db upgrade,
    seed-demo, worker), not in gunicorn, and under the reloader only in its child (WERKZEUG_RUN_MAIN)."""
    import click
    from flask.helpers import get_debug_flag

    ctx = click.get_current_context(silent=True)
    if ctx is None or ctx.command.name != "run":
        return False
    if os.environ.get("WERKZEUG_RUN_MAIN") == "true":
        return True  # the reloader's child, which serves
    reload = ctx.params.get("reload")
    uses_reloader = get_debug_flag() if reload is None else reload
    return not uses_reloader  # the reloader's parent only watches files


_started: InProcessScheduler | None = None


def register_scheduler(app: Flask) -> None:
    """Start the in-process scheduler in `flask run` when IN_PROCESS_SCHEDULER is on (by default only in
    development without REDIS_URL; never in tests unless a test asks). Once per process."""
    global _started
    if not app.config.get("IN_PROCESS_SCHEDULER") or _started is not None or not serving_with_flask_run():
        return
    if app.config.get("REDIS_URL"):
        log.warning("IN_PROCESS_SCHEDULER with REDIS_URL: run `flask scheduler` instead; not started")
        return
    _started = InProcessScheduler(app)
    _started.start()
    log.info("in-process scheduler started: %s", ", ".join(job.name for job in SCHEDULE))
