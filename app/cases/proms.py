"""The distress thermometer (Lastmeter): the problem list, the trend chart drawn on the server as inline
SVG, and the reminder to measure again that `flask remind-proms` queues daily from cron.

The reminder goes to the case's central care provider only while the one access door
(app.cases.access.case_access) still lets them see the case's questionnaires: the job asks again when
it runs, so withdrawn consent or a deactivated member means no mail. The mail holds a link only.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import click
from flask import Flask
from flask_babel import format_date
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape
from sqlalchemy import select

from app.cases.access import case_access
from app.cases.models import LASTMETER_GROUPS, Case, CaseStatus, ConsentPart, PromMeasurement
from app.core import audit
from app.core.audit import AuditAction
from app.core.dates import local_today
from app.core.db import utcnow
from app.core.jobs import enqueue, job_handler, job_pending
from app.core.mail import absolute_url, queue_mail
from app.core.tenancy import all_networks, current_network_id, network_context
from app.core.workdays import DEFAULT_TZ
from app.extensions import db
from app.networks.models import Membership, Network

log = logging.getLogger(__name__)

THRESHOLD = 4  # a score of 4 or more suggests discussing a referral (NVPO / IKNL Lastmeter guidance)
MAX_SCORE = 10
JOB_KIND = "prom_reminder"
TZ = ZoneInfo(DEFAULT_TZ)


# --- the problem list -------------------------------------------------------------------------------

@dataclass(frozen=True)
class ProblemCategory:
    code: str
    label: Any  # lazy string
    items: tuple[tuple[str, Any], ...]  # (code, lazy label)

    @property
    def codes(self) -> frozenset[str]:
        return frozenset(code for code, _label in self.items)


# The Lastmeter's problem list, by category: the one list the intake also uses (app.cases.models). The stored
# codes are the item codes; they never change (labels may), so old measurements keep their meaning.
PROBLEM_CATEGORIES: tuple[ProblemCategory, ...] = tuple(
    ProblemCategory(code, label, items) for code, label, items in LASTMETER_GROUPS)
PROBLEM_LABELS: dict[str, Any] = {code: label for category in PROBLEM_CATEGORIES for code, label in category.items}


def problem_choices() -> list[tuple[str, str]]:
    """All items as (code, label) for a form, in the reader's language (call inside a request)."""
    return [(code, str(label)) for code, label in PROBLEM_LABELS.items()]


def problem_label(code: str) -> str:
    """The label of a stored item; an unknown code (e.g. from an older list) is shown as it is."""
    label = PROBLEM_LABELS.get(code)
    return str(label) if label is not None else code


def suggests_referral(score: int | None) -> bool:
    return score is not None and score >= THRESHOLD


# --- the trend chart ---------------------------------------------------------------------------------

WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 40, 20, 20, 44
LINE_COLOUR, POINT_COLOUR, HIGH_COLOUR = "#0b6e6e", "#0b6e6e", "#b3261e"
INK, GRID, THRESHOLD_COLOUR = "#1b1f24", "#d8dde3", "#8a5a00"


def _x_positions(days: list[date]) -> list[float]:
    """x per measurement, proportional to time; one day (or one measurement) sits in the middle."""
    plot_width = WIDTH - LEFT - RIGHT
    first, last = min(days), max(days)
    span = (last - first).days
    if span == 0:
        return [LEFT + plot_width / 2 for _day in days]
    return [LEFT + plot_width * (day - first).days / span for day in days]


def _y(score: float) -> float:
    return TOP + (HEIGHT - TOP - BOTTOM) * (1 - score / MAX_SCORE)


def trend_chart_svg(measurements: list[PromMeasurement]) -> Markup:
    """The scores over time as an SVG line chart: axis 0-10, the threshold 4 as a dashed line, one point
    per measurement with a tooltip. Presentation attributes only (the CSP forbids style attributes),
    with <title>, <desc> and aria-label for screen readers. *measurements* oldest first."""
    rows = sorted(measurements, key=lambda m: (m.measured_on, m.id or 0))
    title = _("Distress thermometer over time")
    if rows:
        desc = _("Scores from 0 to 10; 4 or more suggests discussing a referral. Measurements: %(list)s.",
                 list="; ".join(f"{format_date(m.measured_on, 'medium')}: {m.score}" for m in rows))
    else:
        desc = _("No measurements yet.")
    baseline = _y(0)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}"'
        f' role="img" aria-label="{escape(title)}" aria-describedby="prom-chart-desc" class="chart">',
        f"<title>{escape(title)}</title>",
        f'<desc id="prom-chart-desc">{escape(desc)}</desc>',
    ]
    for tick in range(0, MAX_SCORE + 1, 2):
        y = _y(tick)
        parts.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" stroke="{GRID}"'
                     f' stroke-width="1"/>')
        parts.append(f'<text x="{LEFT - 8}" y="{y + 4:.1f}" text-anchor="end" font-size="11" fill="{INK}">'
                     f"{tick}</text>")
    parts.append(f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{baseline:.1f}" stroke="{INK}" stroke-width="1"/>')
    parts.append(f'<line x1="{LEFT}" y1="{baseline:.1f}" x2="{WIDTH - RIGHT}" y2="{baseline:.1f}" stroke="{INK}"'
                 f' stroke-width="1"/>')
    threshold_y = _y(THRESHOLD)
    threshold_text = _("%(score)d: consider a referral", score=THRESHOLD)
    parts.append(f'<line x1="{LEFT}" y1="{threshold_y:.1f}" x2="{WIDTH - RIGHT}" y2="{threshold_y:.1f}"'
                 f' stroke="{THRESHOLD_COLOUR}" stroke-width="2" stroke-dasharray="6 4" class="threshold">'
                 f"<title>{escape(threshold_text)}</title></line>")
    parts.append(f'<text x="{WIDTH - RIGHT}" y="{threshold_y - 6:.1f}" text-anchor="end" font-size="11"'
                 f' fill="{THRESHOLD_COLOUR}">{escape(threshold_text)}</text>')
    if rows:
        xs = _x_positions([m.measured_on for m in rows])
        if len(rows) > 1:
            points = " ".join(f"{x:.1f},{_y(m.score):.1f}" for x, m in zip(xs, rows, strict=True))
            parts.append(f'<polyline points="{points}" fill="none" stroke="{LINE_COLOUR}" stroke-width="2"/>')
        for x, m in zip(xs, rows, strict=True):
            colour = HIGH_COLOUR if suggests_referral(m.score) else POINT_COLOUR
            label = f"{format_date(m.measured_on, 'medium')}: {m.score}"
            parts.append(f'<circle cx="{x:.1f}" cy="{_y(m.score):.1f}" r="5" fill="{colour}" stroke="#fff"'
                         f' stroke-width="1.5" class="measurement"><title>{escape(label)}</title></circle>')
        labelled = sorted({0, len(rows) - 1}) if len(rows) > 6 else range(len(rows))
        seen_days: set[date] = set()
        for index in labelled:
            day = rows[index].measured_on
            if day in seen_days:  # measurements on one day share a label
                continue
            seen_days.add(day)
            x = min(max(xs[index], LEFT + 34), WIDTH - RIGHT - 34)  # keep the label inside the picture
            parts.append(f'<text x="{x:.1f}" y="{baseline + 18:.1f}" text-anchor="middle" font-size="11"'
                         f' fill="{INK}">{escape(format_date(day, "d MMM yyyy"))}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text in it is escaped above


# --- the reminder to measure again --------------------------------------------------------------------



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


def enqueue_prom_reminders(now: datetime | None = None) -> list[int]:
    """Queue one reminder job per network with active cases whose measurement is due and that were not
    reminded yet, and whose central care provider may still see them; not while a job of that network
    waits already. Returns the network ids. The caller commits; the job checks each case again."""
    today = local_today(now)
    # Across networks on purpose (cron has no network): ids only; the work happens per network below.
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
            reachable = [case.id for case in cases if reminder_recipient(case) is not None]
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
    for case in cases:
        central = reminder_recipient(case)
        if central is None:  # consent withdrawn, left the team, deactivated: no mail, no mark
            log.info("prom reminder for case %s in network %s skipped: no central care provider with access",
                     case.id, network_id)
            continue
        per_recipient.setdefault(central.id, (central, []))[1].append(case)
    now = utcnow()
    for central, own_cases in per_recipient.values():
        user = central.user
        links = [absolute_url("cases.proms", network_slug=network.slug, case_id=case.id) for case in own_cases]
        queue_mail(to=user.email, template="prom_reminder",
                   subject=_l("Distress thermometer due in %(network)s", network=network.name),
                   locale=user.locale or network.default_locale or "nl", network_id=network_id, user=user,
                   network_name=network.name, links=links)
        for case in own_cases:
            case.prom_reminded_at = now
            audit.record("case.prom_reminded", AuditAction.UPDATE, patient_id=case.patient_id, object_type="case",
                         object_id=case.id, network_id=network_id,
                         reason=f"central care provider (membership {central.id}) mailed")


def register_prom_cli(app: Flask) -> None:
    @app.cli.command("remind-proms")
    def remind_proms() -> None:
        """Queue the distress thermometer reminders for cases that are due (run daily from cron)."""
        from app.core.jobs import run_inline_pending

        network_ids = enqueue_prom_reminders()
        db.session.commit()
        run_inline_pending()  # without REDIS_URL the jobs run here; with it, the worker runs them
        click.echo(f"queued {len(network_ids)} distress thermometer reminder(s)")
