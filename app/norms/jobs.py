"""The norms' periodic job: open clocks past their due moment are named, by referral number and norm only, once
per clock, in one mail to the people who can act on them: the case's central care provider for a letter, the
coordinators for the intake (and when the case has no active central member). The scheduler (app/schedule.py) runs
remind_overdue_norms() hourly; `flask remind-overdue-norms` runs it by hand."""
from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import click
from flask import Flask
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, select

from app.cases.models import Case
from app.core import audit
from app.core.audit import AuditAction
from app.core.db import utcnow
from app.core.jobs import enqueue, job_handler, job_pending, run_periodic, serialize_enqueueing
from app.core.mail import absolute_url, queue_mail
from app.core.tenancy import all_networks, current_network_id, network_context
from app.extensions import db
from app.networks.models import Membership, Network, Role
from app.norms.models import NormClock, NormKind, NormState
from app.referrals import services as referral_services
from app.referrals.models import Referral

log = logging.getLogger(__name__)

JOB_KIND = "norm_overdue_reminder"


def _overdue_not_reminded(now: datetime):
    return NormClock.state == NormState.OPEN, NormClock.due_at < now, NormClock.reminded_at.is_(None)


def enqueue_overdue_reminders(now: datetime | None = None) -> list[int]:
    """One reminder job per network with overdue clocks not reminded yet (and none waiting). Returns network ids."""
    now = now or utcnow()
    serialize_enqueueing(JOB_KIND)
    due = db.session.execute(all_networks(
        select(NormClock.network_id, NormClock.id).where(*_overdue_not_reminded(now))
        .order_by(NormClock.network_id, NormClock.due_at, NormClock.id))).all()
    per_network: dict[int, list[int]] = {}
    for network_id, clock_id in due:
        per_network.setdefault(network_id, []).append(clock_id)
    queued = []
    for network_id, clock_ids in per_network.items():
        with network_context(network_id):
            if job_pending(JOB_KIND, network_id):
                continue
            enqueue(JOB_KIND, {"network_id": network_id, "clock_ids": clock_ids}, network_id=network_id)
        queued.append(network_id)
    return queued


@job_handler(JOB_KIND)
def send_overdue_reminder(payload: dict[str, Any]) -> None:
    """Idempotent: a clock reminded (or met) already is skipped. The mail names numbers and norms, never the
    patient."""
    network_id = current_network_id()
    if network_id is None or payload.get("network_id") != network_id:
        raise ValueError("norm_overdue_reminder runs in its own network only")
    now = utcnow()
    rows = db.session.execute(
        select(NormClock, Referral.number, Referral.patient_id, Case.central_membership_id)
        .join(Referral, and_(Referral.id == NormClock.referral_id, Referral.network_id == NormClock.network_id))
        .outerjoin(Case, and_(Case.referral_id == NormClock.referral_id, Case.network_id == NormClock.network_id))
        .where(NormClock.id.in_(payload.get("clock_ids") or []), *_overdue_not_reminded(now))
        .order_by(NormClock.due_at, NormClock.id)
        .with_for_update(of=NormClock).execution_options(populate_existing=True)).all()
    if not rows:
        return
    network = db.session.get(Network, network_id)
    coordinators = referral_services.coordinators_of(network_id)
    central = {m.id: m for m in db.session.scalars(select(Membership).where(
        Membership.id.in_({r.central_membership_id for r in rows if r.central_membership_id}),
        Membership.is_active.is_(True)))}
    per_recipient: dict[int, tuple[Any, dict, list[dict]]] = {}  # user id -> (user, recheck, items)

    def add(user, recheck: dict, item: dict) -> None:
        if user.active:
            per_recipient.setdefault(user.id, (user, recheck, []))[2].append(item)

    for clock, number, _patient_id, central_id in rows:
        item = {"number": number, "norm": clock.kind.label, "due": clock.due_at}
        member = central.get(central_id) if clock.kind is not NormKind.INTAKE else None
        if member is not None:
            add(member.user, {"membership_id": member.id}, item)
        else:
            for user in coordinators:
                add(user, {"user_id": user.id, "role": Role.COORDINATOR.value}, item)
    link = absolute_url("norms.overdue", network_slug=network.slug)
    for user, recheck, items in per_recipient.values():
        queue_mail(to=user.email, template="norm_overdue_reminder",
                   subject=_l("Norms overdue in %(network)s", network=network.name),
                   locale=user.locale or network.default_locale or "nl", network_id=network_id, user=user,
                   network_name=network.name, items=items, link=link, recheck=("membership", recheck))
    for clock, _number, patient_id, _central_id in rows:
        clock.reminded_at = now
        audit.record("norm.reminded", AuditAction.UPDATE, patient_id=patient_id, object_type="norm_clock",
                     object_id=clock.id, network_id=network_id, reason=clock.kind.value)
    if not per_recipient:
        log.info("norm reminder for network %s: nobody to mail", network_id)


def remind_overdue_norms() -> int:
    """The periodic job (hourly): queue the reminders. Returns how many networks got one."""
    return run_periodic(enqueue_overdue_reminders)


def register_cli(app: Flask) -> None:
    @app.cli.command("remind-overdue-norms")
    def remind_overdue_norms_command() -> None:
        """Queue the reminders for overdue norms between the care lines (the scheduler does this hourly)."""
        click.echo(f"{remind_overdue_norms()} network(s) reminded")
