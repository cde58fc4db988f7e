"""The cases feature's periodic job: the reminder to measure the distress thermometer (Lastmeter) again.

The reminder goes to the case's central care provider only while the one access door
(app.cases.access.case_access) still lets them see the case's questionnaires: the job asks again when
it runs, so withdrawn consent or a deactivated member means no mail. A patient who uses the portal is
asked to fill it in themselves (app.cases.access.portal_access decides, again before SMTP). The mails hold
a link only. The scheduler (app/schedule.py) runs remind_proms() daily; `flask remind-proms` by hand.
"""
from __future__ import annotations

import logging
from datetime import date, datetime
from typing import Any

import click
from flask import Flask
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.cases.access import case_access, portal_access
from app.cases.models import Case, CaseStatus, ConsentPart
from app.core import audit
from app.core.audit import AuditAction
from app.core.dates import local_today
from app.core.db import utcnow
from app.core.jobs import enqueue, job_handler, job_pending, run_periodic, serialize_enqueueing
from app.core.mail import absolute_url, mail_recheck, queue_mail
from app.core.tenancy import all_networks, current_network_id, network_context
from app.extensions import db
from app.networks.models import Membership, Network
from app.patients.models import PortalAccount, PortalRole

log = logging.getLogger(__name__)

JOB_KIND = "prom_reminder"


def _due(today: date) -> tuple:
    return (Case.status == CaseStatus.ACTIVE, Case.next_prom_due_on.is_not(None), Case.next_prom_due_on <= today,
            Case.prom_reminded_at.is_(None))


def reminder_recipient(case: Case) -> Membership | None:
    """The central care provider, if the access door lets them see this case's questionnaires now
    (consent not withdrawn or expired, still on the team, membership and account active). Inside the network."""
    central = case.central
    if central is None or not central.user.active:
        return None
    if not case_access(case, central).sees(ConsentPart.PROMS):
        return None
    return central


def patient_to_remind(case: Case) -> PortalAccount | None:
    """The patient's own portal account for the case, while the portal door lets them in (inside the network)."""
    account = db.session.scalar(select(PortalAccount).where(
        PortalAccount.referral_id == case.referral_id, PortalAccount.role == PortalRole.PATIENT,
        PortalAccount.revoked_at.is_(None)).limit(1))
    return account if account is not None and portal_access(account).may_fill_questionnaires else None


@mail_recheck("prom_reminder")
def may_still_be_reminded(*, membership_id: int, case_ids: list[int]) -> bool:
    """Mail re-check right before SMTP (inside the network): the membership is still the central care
    provider of every case of the mail and the access door still lets them see its questionnaires (consent
    not withdrawn or expired, still on the team, membership and account active). All or nothing: the mail
    names each case, so one case the recipient may no longer be told about drops the whole mail."""
    cases = db.session.scalars(select(Case).where(Case.id.in_(case_ids))).all()
    if not case_ids or len(cases) != len(set(case_ids)):
        return False
    for case in cases:
        central = reminder_recipient(case)
        if central is None or central.id != membership_id:
            return False
    return True


def enqueue_prom_reminders(now: datetime | None = None) -> list[int]:
    """Queue one reminder job per network with active cases whose measurement is due and that were not
    reminded yet, and whose central care provider may still see them; not while a job of that network
    waits already. Returns the network ids. The caller commits; the job checks each case again."""
    today = local_today(now)
    serialize_enqueueing(JOB_KIND)
    # Across networks on purpose (the scheduler has no network): ids only; the work happens per network below.
    due = db.session.execute(all_networks(
        select(Case.network_id, Case.id).where(*_due(today)).order_by(Case.network_id, Case.id))).all()
    per_network: dict[int, list[int]] = {}
    for network_id, case_id in due:
        per_network.setdefault(network_id, []).append(case_id)
    queued = []
    for network_id, case_ids in per_network.items():
        with network_context(network_id):
            if job_pending(JOB_KIND, network_id):
                continue
            cases = db.session.scalars(select(Case).where(Case.id.in_(case_ids)).order_by(Case.id)).all()
            reachable = [case.id for case in cases
                         if reminder_recipient(case) is not None or patient_to_remind(case) is not None]
            if not reachable:
                continue
            enqueue(JOB_KIND, {"network_id": network_id, "case_ids": reachable}, network_id=network_id)
        queued.append(network_id)
    return queued


@job_handler(JOB_KIND)
def send_prom_reminders(payload: dict[str, Any]) -> None:
    """Mail each central care provider once about the payload's cases that are still active, still due
    and not reminded yet, and that the access door still lets them see; mark those cases reminded.
    Idempotent: a second run finds prom_reminded_at set and sends nothing. Runs inside
    network_context; deliver_outbox commits. The mail holds links only, never the patient."""
    network_id = current_network_id()
    if network_id is None or payload.get("network_id") != network_id:
        raise ValueError("prom_reminder runs in its own network only")
    today = local_today()
    # Row locks serialise two workers running reminders for the same cases.
    cases = list(db.session.scalars(
        select(Case).where(Case.id.in_(payload.get("case_ids") or []), *_due(today)).order_by(Case.id)
        .with_for_update(of=Case).execution_options(populate_existing=True)))
    if not cases:
        return
    network = db.session.get(Network, network_id)
    per_recipient: dict[int, tuple[Membership, list[Case]]] = {}
    patients: list[tuple[Case, PortalAccount]] = []
    for case in cases:
        central = reminder_recipient(case)
        account = patient_to_remind(case)
        if central is None and account is None:  # consent withdrawn, left the team, deactivated: no mail, no mark
            log.info("prom reminder for case %s in network %s skipped: no central care provider with access",
                     case.id, network_id)
            continue
        if central is not None:
            per_recipient.setdefault(central.id, (central, []))[1].append(case)
        if account is not None:
            patients.append((case, account))
    now = utcnow()
    for case, account in patients:
        # The patient's own mail says nothing of the network (its name tells what care this is) nor the illness.
        user = account.user
        queue_mail(to=user.email, template="portal_questionnaire_due",
                   subject=_l("Time for your questionnaire in Netwerkzorg"),
                   locale=user.locale or network.default_locale or "nl", network_id=network_id, user=user,
                   link=absolute_url("patient_portal.questionnaire", account_id=account.id),
                   recheck=("portal_account", {"account_id": account.id}))
        case.prom_reminded_at = now
        audit.record("case.prom_reminded", AuditAction.UPDATE, patient_id=case.patient_id, object_type="case",
                     object_id=case.id, network_id=network_id, reason="the patient (portal) mailed")
    for central, own_cases in per_recipient.values():
        user = central.user
        links = [absolute_url("cases.proms", network_slug=network.slug, case_id=case.id) for case in own_cases]
        queue_mail(to=user.email, template="prom_reminder",
                   subject=_l("Distress thermometer due in %(network)s", network=network.name),
                   locale=user.locale or network.default_locale or "nl", network_id=network_id, user=user,
                   network_name=network.name, links=links,
                   recheck=("prom_reminder", {"membership_id": central.id, "case_ids": [c.id for c in own_cases]}))
        for case in own_cases:
            case.prom_reminded_at = now
            audit.record("case.prom_reminded", AuditAction.UPDATE, patient_id=case.patient_id, object_type="case",
                         object_id=case.id, network_id=network_id,
                         reason=f"central care provider (membership {central.id}) mailed")


def remind_proms() -> int:
    """The periodic job (daily): queue the due reminders. Returns how many networks got one."""
    return run_periodic(enqueue_prom_reminders)


def register_cli(app: Flask) -> None:
    @app.cli.command("remind-proms")
    def remind_proms_command() -> None:
        """Queue the distress thermometer reminders for cases that are due now (the scheduler runs it daily)."""
        click.echo(f"queued {remind_proms()} distress thermometer reminder(s)")
