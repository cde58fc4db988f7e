"""Work after the request: a transactional outbox handed to RQ after commit (or run inline).

enqueue() writes an Outbox row in the caller's transaction, so the work is never lost even when
Redis is down; after commit the row is pushed to RQ (REDIS_URL set) or run at the end of the
request (embedded default). relay_pending() re-offers rows that were not delivered. Consumers
are idempotent: a delivered row is never run twice.

Core imports no feature: handlers register themselves with @job_handler when their module is
imported (create_app imports them), and the app factory an RQ work horse needs is given by
register_jobs.
"""
from __future__ import annotations

import logging
import os
import zlib
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from flask import Flask, current_app, has_app_context
from sqlalchemy import JSON, Index, String, Text, event, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column

from app.core.db import TimestampMixin, utcnow
from app.core.tenancy import network_context
from app.extensions import db

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
# A handler may return DROPPED: the work was refused on purpose (e.g. a mail whose recipient may no
# longer be told); the row is then closed as "dropped", not run again and not counted as failed.
DROPPED = "dropped"
_handlers: dict[str, Callable[[dict[str, Any]], str | None]] = {}


class Outbox(TimestampMixin, db.Model):
    """A unit of work to run after commit. network_id is set for work inside a network."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status_created_at", "status", "created_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(60))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    network_id: Mapped[int | None]
    status: Mapped[str] = mapped_column(String(20), default="pending")  # pending / done / failed / dropped
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    delivered_at: Mapped[datetime | None]


def job_handler(kind: str):
    """Register the function that runs outbox rows of *kind*; it gets the payload (ids, no PII) and
    returns None (done) or DROPPED."""
    def register(func):
        _handlers[kind] = func
        return func
    return register


def enqueue(kind: str, payload: dict[str, Any], *, network_id: int | None = None) -> Outbox:
    """Add work to the caller's transaction; it runs after commit. The caller commits."""
    if kind not in _handlers:
        raise KeyError(f"no job handler for {kind!r}")
    row = Outbox(kind=kind, payload=payload, network_id=network_id)
    db.session.add(row)
    db.session.flush()
    db.session.info.setdefault("outbox_new", []).append(row.id)
    return row


def job_pending(kind: str, network_id: int | None) -> bool:
    """Is a job of *kind* for this network still waiting (so a periodic run does not queue it twice)?"""
    return db.session.scalar(select(Outbox.id).where(
        Outbox.kind == kind, Outbox.network_id == network_id, Outbox.status == "pending").limit(1)) is not None


def serialize_enqueueing(kind: str) -> None:
    """Let one transaction at a time decide "is a *kind* job waiting? if not, add one", until it commits.

    Two schedulers (or a scheduler and someone running the CLI command) may run a periodic job at
    the same moment; without this both could see nothing pending and both add a row. On PostgreSQL a
    transaction-level advisory lock serialises them (the second then sees the first's row). SQLite
    has one writing process in practice (the embedded default), so nothing is needed there.
    """
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": zlib.crc32(kind.encode())})


def run_periodic(enqueue_due: Callable[[], list[int]]) -> int:
    """The body of a periodic reminder job: queue what is due, commit, and without Redis run the queued
    rows here (with Redis the worker runs them). Returns how many networks got a job."""
    network_ids = enqueue_due()
    db.session.commit()
    run_inline_pending()
    return len(network_ids)


@event.listens_for(Session, "after_commit")
def _hand_over(session: Session) -> None:
    ids = session.info.pop("outbox_new", [])
    if not ids:
        return
    if has_app_context() and current_app.config.get("REDIS_URL"):
        for outbox_id in ids:
            push_to_queue(outbox_id)
    else:
        # No SQL may run inside after_commit: the request's end (or the CLI) runs these.
        session.info.setdefault("outbox_inline", []).extend(ids)


@event.listens_for(Session, "after_rollback")
def _drop_pending(session: Session) -> None:
    session.info.pop("outbox_new", None)


def get_queue():
    from redis import Redis
    from rq import Queue

    connection = Redis.from_url(current_app.config["REDIS_URL"], socket_connect_timeout=2, socket_timeout=5)
    return Queue(current_app.config["JOB_QUEUE_NAME"], connection=connection)


def push_to_queue(outbox_id: int) -> bool:
    """Hand one row to RQ; on a Redis failure leave it pending for the relay and say so."""
    from redis.exceptions import RedisError
    from rq import Retry

    intervals = list(current_app.config["JOB_RETRY_INTERVALS"])
    try:
        get_queue().enqueue(deliver_outbox, outbox_id, job_id=f"outbox-{outbox_id}",
                            retry=Retry(max=len(intervals), interval=intervals),
                            failure_ttl=30 * 24 * 3600)
    except RedisError as exc:
        log.warning("outbox %s not queued (%s); the relay will retry", outbox_id, type(exc).__name__)
        return False
    return True


def run_inline_pending() -> None:
    """Run the rows committed in this session when no queue is configured."""
    while ids := db.session.info.pop("outbox_inline", []):
        for outbox_id in ids:
            try:
                deliver_outbox(outbox_id)
            except Exception:
                log.exception("inline job %s failed", outbox_id)


def deliver_outbox(outbox_id: int) -> None:
    """Run one outbox row, once. Raises so RQ retries; the row records the error."""
    with _job_app_context():
        # The row lock claims the row: a relay and a slow worker cannot both send it.
        row = db.session.get(Outbox, outbox_id, with_for_update=True)
        if row is None or row.status in ("done", DROPPED):
            db.session.rollback()
            return
        handler = _handlers[row.kind]
        payload = dict(row.payload)
        try:
            if row.network_id is not None:
                with network_context(row.network_id):
                    outcome = handler(payload)
            else:
                outcome = handler(payload)
        except Exception as exc:
            db.session.rollback()
            row = db.session.get(Outbox, outbox_id)
            row.attempts += 1
            row.last_error = f"{type(exc).__name__}: {str(exc)[:500]}"
            row.status = "failed" if row.attempts >= MAX_ATTEMPTS else "pending"
            db.session.commit()
            raise
        row.status = DROPPED if outcome == DROPPED else "done"
        row.attempts += 1
        row.delivered_at = utcnow()
        if payload != row.payload:  # a handler may rewrite its payload (the development mail outbox)
            row.payload = payload
        db.session.commit()


def relay_pending(*, older_than: timedelta = timedelta(seconds=30)) -> int:
    """Offer undelivered rows again (after a Redis outage or a crash). Returns how many."""
    cutoff = utcnow() - older_than
    ids = list(db.session.scalars(select(Outbox.id).where(
        Outbox.status == "pending", Outbox.created_at <= cutoff).order_by(Outbox.id).limit(500)))
    for outbox_id in ids:
        if current_app.config.get("REDIS_URL"):
            push_to_queue(outbox_id)
        else:
            try:
                deliver_outbox(outbox_id)
            except Exception:
                log.exception("relayed job %s failed", outbox_id)
    return len(ids)


_app_factory: Callable[[], Flask] | None = None
_worker_app: Flask | None = None
_worker_pid: int | None = None


class _job_app_context:  # noqa: N801 - used like a function
    """Use the current app (request, CLI) or, inside an RQ work horse, one made for this process."""

    def __enter__(self):
        global _worker_app, _worker_pid
        self._ctx = None
        if has_app_context():
            return
        if _worker_app is None or _worker_pid != os.getpid():
            if _app_factory is None:
                raise RuntimeError("no app factory for jobs: create the app (register_jobs) first, "
                                   "e.g. run the worker with `flask worker`")
            _worker_app, _worker_pid = _app_factory(), os.getpid()
        self._ctx = _worker_app.app_context()
        self._ctx.push()

    def __exit__(self, *exc):
        if self._ctx is not None:
            db.session.remove()
            self._ctx.pop()


def register_jobs(app: Flask, *, app_factory: Callable[[], Flask]) -> None:
    """Run inline jobs at the end of a request; *app_factory* builds the app inside an RQ work horse
    that has none (the process that called create_app forks the work horses, so they inherit it)."""
    global _app_factory
    _app_factory = app_factory

    @app.after_request
    def _run_inline_jobs(response):
        if db.session.info.get("outbox_inline"):
            run_inline_pending()
        return response
