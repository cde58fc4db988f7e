"""The meetings feature's periodic job: the yearly reminder to re-check the NVPO quality criteria.
Which networks are due, the job that mails their coordinators, and remind_self_checks(), which the
scheduler (app/schedule.py) runs daily and `flask remind-self-checks` runs by hand."""
from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import click
from flask import Flask, current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import func, or_, select

from app.auth.models import User
from app.core import audit
from app.core.audit import AuditAction
from app.core.dates import shift_months
from app.core.db import utcnow
from app.core.jobs import enqueue, job_handler, job_pending, run_periodic, serialize_enqueueing
from app.core.mail import queue_mail
from app.core.tenancy import current_network_id, network_context
from app.extensions import db
from app.networks.models import Membership, Network, Role
from app.quality.models import SelfCheckSnapshot

log = logging.getLogger(__name__)

JOB_KIND = "self_check_reminder"
SELF_CHECK_MAX_AGE_MONTHS = 12  # a self-check older than this is due again
REMIND_EVERY_MONTHS = 11  # at most one reminder in this period, so a daily run mails once a year


def latest_self_check_at(network: Network) -> datetime | None:
    """When the network's latest self-check snapshot was taken (None: never). Inside the network."""
    return db.session.scalar(select(func.max(SelfCheckSnapshot.taken_at)).where(
        SelfCheckSnapshot.network_id == network.id))


def is_due(network: Network, *, now: datetime) -> bool:
    """True when the latest self-check is over 12 months old (or missing) and the network was not
    reminded in the last 11 months. Must run inside the network (network_context)."""
    reminded = network.self_check_reminded_at
    if reminded is not None and reminded > shift_months(now, -REMIND_EVERY_MONTHS):
        return False
    latest = latest_self_check_at(network)
    return latest is None or latest < shift_months(now, -SELF_CHECK_MAX_AGE_MONTHS)


def reminder_recipients() -> list[Membership]:
    """The active coordinators (with an active account) of the current network."""
    return list(db.session.scalars(select(Membership).join(Membership.user).where(
        Membership.role == Role.COORDINATOR, Membership.is_active.is_(True), User.active.is_(True))
        .order_by(Membership.id)))


def enqueue_due_reminders(*, now: datetime | None = None) -> list[int]:
    """Add one reminder job per due network that has a coordinator and no reminder waiting yet.

    Returns the network ids. The caller commits; the job checks again when it runs.
    """
    now = now or utcnow()
    serialize_enqueueing(JOB_KIND)
    candidates = db.session.scalars(select(Network).where(or_(
        Network.self_check_reminded_at.is_(None),
        Network.self_check_reminded_at <= shift_months(now, -REMIND_EVERY_MONTHS))).order_by(Network.id)).all()
    queued = []
    for network in candidates:
        with network_context(network.id):
            if not is_due(network, now=now) or not reminder_recipients() or job_pending(JOB_KIND, network.id):
                continue
            enqueue(JOB_KIND, {"network_id": network.id}, network_id=network.id)
        queued.append(network.id)
    return queued


@job_handler(JOB_KIND)
def send_self_check_reminder(payload: dict[str, Any]) -> None:
    """Mail each active coordinator of the job's network, if the network is still due, and note
    when. Idempotent: a second run finds self_check_reminded_at set and sends nothing.
    Runs inside network_context; deliver_outbox commits."""
    network_id = current_network_id()
    if network_id is None or payload.get("network_id") != network_id:
        raise ValueError("self_check_reminder runs in its own network only")
    # The row lock serialises two workers that run reminders of the same network at once.
    network = db.session.scalar(select(Network).where(Network.id == network_id).with_for_update())
    now = utcnow()
    if network is None or not is_due(network, now=now):
        return
    recipients = reminder_recipients()
    if not recipients:
        log.info("self-check reminder for network %s: no active coordinator", network_id)
        return
    latest = latest_self_check_at(network)
    link = f"{current_app.config['BASE_URL']}/n/{network.slug}/quality"
    for membership in recipients:
        locale = membership.user.locale or network.default_locale or "nl"
        with force_locale(locale):
            subject = _("Time for the yearly quality self-check of %(network)s", network=network.name)
        queue_mail(to=membership.user.email, template="self_check_reminder", subject=subject, locale=locale,
                   network_id=network.id, user=membership.user, network_name=network.name,
                   latest=latest, link=link,
                   recheck=("membership", {"membership_id": membership.id, "role": Role.COORDINATOR.value}))
    network.self_check_reminded_at = now
    audit.record("network.self_check_reminded", AuditAction.UPDATE, object_type="network",
                 object_id=network.id, network_id=network.id, reason=f"{len(recipients)} coordinator(s) mailed")


def remind_self_checks() -> int:
    """The periodic job (daily): queue the due reminders. Returns how many networks got one."""
    return run_periodic(enqueue_due_reminders)


def register_cli(app: Flask) -> None:
    @app.cli.command("remind-self-checks")
    def remind_self_checks_command() -> None:
        """Queue the yearly self-check reminder for every due network now (the scheduler runs it daily)."""
        click.echo(f"queued {remind_self_checks()} self-check reminder(s)")
