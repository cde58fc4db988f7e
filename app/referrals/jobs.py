"""The referrals feature's periodic job: the acknowledgement-norm reminder. Referrals still waiting for
acknowledgement whose due time is near (or already past) are named, by number and due time only, in
one mail to each active coordinator of their network, once per referral. The scheduler
(app/schedule.py) runs remind_referral_norms() hourly; `flask remind-referral-norms` runs it by hand."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

import click
from flask import Flask
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.core import audit
from app.core.audit import AuditAction
from app.core.db import utcnow
from app.core.jobs import enqueue, job_handler, job_pending, run_periodic, serialize_enqueueing
from app.core.mail import absolute_url, queue_mail
from app.core.tenancy import all_networks, current_network_id, network_context
from app.extensions import db
from app.networks.models import Network, Role
from app.referrals import services
from app.referrals.models import Referral, ReferralStatus

log = logging.getLogger(__name__)

JOB_KIND = "referral_norm_reminder"
REMIND_BEFORE = timedelta(days=1)  # remind when the due time is less than this away (or past)


def _waiting_and_not_reminded():
    return Referral.status == ReferralStatus.SUBMITTED, Referral.norm_reminded_at.is_(None)


def enqueue_norm_reminders(now: datetime | None = None) -> list[int]:
    """Queue one reminder job per network that has referrals due within REMIND_BEFORE (or overdue),
    not reminded yet, an active coordinator, and no reminder job waiting already.

    Returns the network ids. The caller commits; the job checks each referral again when it runs.
    """
    now = now or utcnow()
    serialize_enqueueing(JOB_KIND)
    # Across networks on purpose (the scheduler has no network): ids only; the work happens per network below.
    due = db.session.execute(all_networks(
        select(Referral.network_id, Referral.id)
        .where(*_waiting_and_not_reminded(), Referral.ack_due_at <= now + REMIND_BEFORE)
        .order_by(Referral.network_id, Referral.ack_due_at, Referral.id))).all()
    per_network: dict[int, list[int]] = {}
    for network_id, referral_id in due:
        per_network.setdefault(network_id, []).append(referral_id)
    queued = []
    for network_id, referral_ids in per_network.items():
        with network_context(network_id):
            if job_pending(JOB_KIND, network_id) or not services.coordinators_of(network_id):
                continue
            enqueue(JOB_KIND, {"network_id": network_id, "referral_ids": referral_ids}, network_id=network_id)
        queued.append(network_id)
    return queued


@job_handler(JOB_KIND)
def send_norm_reminder(payload: dict[str, Any]) -> None:
    """Mail each active coordinator once about the payload's referrals that still wait for
    acknowledgement and were not reminded yet, and mark them reminded. Idempotent: a second run
    finds norm_reminded_at set and sends nothing. Runs inside network_context; deliver_outbox commits.
    The mail names numbers and due times only, never the patient."""
    network_id = current_network_id()
    if network_id is None or payload.get("network_id") != network_id:
        raise ValueError("referral_norm_reminder runs in its own network only")
    # Row locks serialise two workers running reminders for the same referrals.
    referrals = list(db.session.scalars(
        select(Referral).where(Referral.id.in_(payload.get("referral_ids") or []), *_waiting_and_not_reminded())
        .order_by(Referral.ack_due_at, Referral.id)
        .with_for_update(of=Referral).execution_options(populate_existing=True)))
    if not referrals:
        return
    recipients = services.coordinators_of(network_id)
    if not recipients:
        log.info("referral norm reminder for network %s: no active coordinator", network_id)
        return
    network = db.session.get(Network, network_id)
    now = utcnow()
    items = [{"number": r.number, "due": r.ack_due_at, "overdue": r.ack_due_at < now} for r in referrals]
    link = absolute_url("referrals.index", network_slug=network.slug)
    for user in recipients:
        queue_mail(to=user.email, template="referral_norm_reminder",
                   subject=_l("Referrals waiting for acknowledgement in %(network)s", network=network.name),
                   locale=user.locale or network.default_locale or "nl", network_id=network_id, user=user,
                   network_name=network.name, items=items, link=link,
                   recheck=("membership", {"user_id": user.id, "role": Role.COORDINATOR.value}))
    for referral in referrals:
        referral.norm_reminded_at = now
        audit.record("referral.norm_reminded", AuditAction.UPDATE, patient_id=referral.patient_id,
                     object_type="referral", object_id=referral.id, network_id=network_id,
                     reason=f"{len(recipients)} coordinator(s) mailed")


def remind_referral_norms() -> int:
    """The periodic job (hourly): queue the due reminders. Returns how many networks got one."""
    return run_periodic(enqueue_norm_reminders)


def register_cli(app: Flask) -> None:
    @app.cli.command("remind-referral-norms")
    def remind_referral_norms_command() -> None:
        """Remind coordinators of referrals nearly or already past the acknowledgement norm now (the
        scheduler runs it hourly)."""
        click.echo(f"queued {remind_referral_norms()} referral norm reminder(s)")
