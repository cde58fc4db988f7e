"""The coordinator's referral figures: referrals per month, median times, the acknowledgement
norm, disciplines asked for and statuses; and the monthly bar chart as inline SVG.

A fixed number of queries whatever the volume: the needed columns of the last 12 months, the
first move out of "submitted" per referral, and two GROUP BY counts (portable across PostgreSQL
and SQLite). Months are calendar months in the networks' zone (Europe/Amsterdam). Everything runs
inside the current network (the tenancy scope); no patient data leaves this module.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from statistics import median
from zoneinfo import ZoneInfo

from flask_babel import format_date, format_decimal, format_percent
from flask_babel import gettext as _
from markupsafe import Markup, escape
from sqlalchemy import and_, func, select

from app.core.dates import shift_months
from app.core.db import utcnow
from app.core.workdays import DEFAULT_TZ
from app.extensions import db
from app.networks.models import Discipline
from app.referrals.models import Referral, ReferralDiscipline, ReferralEvent, ReferralStatus

S = ReferralStatus
MONTHS = 12
TZ = ZoneInfo(DEFAULT_TZ)
# Leaving "submitted" this way is the network's first answer to the GP (acknowledging is the usual one).
NETWORK_ANSWERS = (S.ACKNOWLEDGED, S.DECLINED, S.FORWARDED)


@dataclass(frozen=True)
class MonthCount:
    month: date  # the first day of the month
    count: int


@dataclass(frozen=True)
class Figures:
    months: list[MonthCount]
    median_ack_hours: float | None  # submission to the network's first answer
    median_intake_days: float | None  # submission (local date) to the planned intake date
    within_norm: int
    outside_norm: int
    per_discipline: list[tuple[str, int]]
    per_status: list[tuple[ReferralStatus, int]]  # all referrals, now (not only the last 12 months)

    @property
    def total(self) -> int:
        return sum(month.count for month in self.months)

    @property
    def norm_share(self) -> float | None:
        decided = self.within_norm + self.outside_norm
        return self.within_norm / decided if decided else None


def month_starts(now: datetime) -> list[date]:
    """The first days of the last 12 calendar months, oldest first, this month last."""
    this_month = now.astimezone(TZ).date().replace(day=1)
    return [shift_months(this_month, -offset) for offset in range(MONTHS - 1, -1, -1)]


def referral_figures(*, now: datetime | None = None, locale: str = "nl") -> Figures:
    """All figures for the current network, for referrals submitted in the last 12 months."""
    now = now or utcnow()
    months = month_starts(now)
    since = datetime.combine(months[0], time.min, tzinfo=TZ).astimezone(UTC)
    rows = db.session.execute(select(
        Referral.id, Referral.submitted_at, Referral.ack_due_at, Referral.acknowledged_at, Referral.intake_on)
        .where(Referral.status != S.DRAFT, Referral.submitted_at >= since)).all()
    first_moves = _first_moves_out_of_submitted(since)

    per_month = dict.fromkeys(months, 0)
    ack_hours, intake_days, outcomes = [], [], []
    for row in rows:
        submitted_day = row.submitted_at.astimezone(TZ).date()
        if submitted_day.replace(day=1) in per_month:
            per_month[submitted_day.replace(day=1)] += 1
        answered_at = _answered_at(row, first_moves.get(row.id))
        if answered_at is not None:
            ack_hours.append((answered_at - row.submitted_at).total_seconds() / 3600)
        if row.intake_on is not None:
            intake_days.append((row.intake_on - submitted_day).days)
        outcomes.append(_norm_outcome(row, answered_at, first_moves.get(row.id), now))
    return Figures(
        months=[MonthCount(month, per_month[month]) for month in months],
        median_ack_hours=median(ack_hours) if ack_hours else None,
        median_intake_days=median(intake_days) if intake_days else None,
        within_norm=outcomes.count("within"), outside_norm=outcomes.count("outside"),
        per_discipline=_per_discipline(since, locale), per_status=_per_status())


def _first_moves_out_of_submitted(since: datetime) -> dict[int, tuple[ReferralStatus, datetime]]:
    """referral id -> (status it went to, when) for referrals of the period that left "submitted"."""
    moves = db.session.execute(
        select(ReferralEvent.referral_id, ReferralEvent.to_status, ReferralEvent.occurred_at)
        .join(Referral, and_(Referral.id == ReferralEvent.referral_id,
                             Referral.network_id == ReferralEvent.network_id))
        .where(ReferralEvent.from_status == S.SUBMITTED, Referral.submitted_at >= since)
        .order_by(ReferralEvent.id.desc()))
    return {referral_id: (to_status, occurred_at) for referral_id, to_status, occurred_at in moves}  # first wins


def _answered_at(row, move: tuple[ReferralStatus, datetime] | None) -> datetime | None:
    """When the network first answered: acknowledged, or declined / forwarded without acknowledging."""
    if row.acknowledged_at is not None:
        return row.acknowledged_at
    if move is not None and move[0] in NETWORK_ANSWERS:
        return move[1]
    return None


def _norm_outcome(row, answered_at, move, now: datetime) -> str | None:
    """"within" / "outside" the acknowledgement norm, or None while it cannot be judged yet.

    Answered: by the due time or not. Never answered: outside once the due time passed while the
    referral was still waiting (now, or when the GP withdrew it); a referral withdrawn before its
    due time, or still within it, does not count.
    """
    if row.ack_due_at is None:
        return None
    if answered_at is not None:
        return "within" if answered_at <= row.ack_due_at else "outside"
    waited_until = move[1] if move is not None else now
    return "outside" if waited_until > row.ack_due_at else None


def _per_discipline(since: datetime, locale: str) -> list[tuple[str, int]]:
    name = Discipline.name_en if locale == "en" else Discipline.name_nl
    count = func.count(ReferralDiscipline.referral_id)
    return [(discipline, number) for discipline, number in db.session.execute(
        select(name, count)
        .join(ReferralDiscipline, ReferralDiscipline.discipline_id == Discipline.id)
        .join(Referral, and_(Referral.id == ReferralDiscipline.referral_id,
                             Referral.network_id == ReferralDiscipline.network_id))
        .where(Referral.status != S.DRAFT, Referral.submitted_at >= since)
        .group_by(Discipline.id, name, Discipline.sort_order)
        .order_by(count.desc(), Discipline.sort_order))]


def _per_status() -> list[tuple[ReferralStatus, int]]:
    counts = dict(db.session.execute(select(Referral.status, func.count(Referral.id))
                                     .where(Referral.status != S.DRAFT).group_by(Referral.status)).all())
    return [(status, counts[status]) for status in S if counts.get(status)]


def month_label(month: date) -> str:
    return format_date(month, "MMMM yyyy")


def one_decimal(value: float) -> str:
    """5.25 -> "5.3" (en) / "5,3" (nl); whole numbers without a decimal."""
    return format_decimal(round(value, 1), "#,##0.#")


def percent(share: float) -> str:
    return format_percent(share, "#,##0%")


# --- the chart -------------------------------------------------------------------------------------

WIDTH, HEIGHT = 720, 260
LEFT, RIGHT, TOP, BOTTOM = 36, 12, 24, 44
BAR_COLOUR, INK, LINE = "#0b6e6e", "#1b1f24", "#5b6570"


def bar_chart_svg(months: list[MonthCount]) -> Markup:
    """Referrals per month as an SVG bar chart: presentation attributes only (the CSP forbids style
    attributes), a <title> and <desc> for screen readers, and a tooltip <title> per bar."""
    top = max((month.count for month in months), default=0) or 1
    plot_height = HEIGHT - TOP - BOTTOM
    slot = (WIDTH - LEFT - RIGHT) / len(months)
    baseline = TOP + plot_height
    labels = [format_date(month.month, "MMM yyyy") for month in months]
    title = _("Referrals per month, last 12 months")
    desc = _("Number of referrals submitted per month: %(list)s.", list=", ".join(
        f"{text} {month.count}" for text, month in zip(labels, months, strict=True)))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}"'
        f' role="img" aria-label="{escape(title)}" aria-describedby="referral-chart-desc" class="chart">',
        f"<title>{escape(title)}</title>",
        f'<desc id="referral-chart-desc">{escape(desc)}</desc>',
        f'<line x1="{LEFT}" y1="{baseline}" x2="{WIDTH - RIGHT}" y2="{baseline}" stroke="{LINE}" stroke-width="1"/>',
        f'<text x="{LEFT - 6}" y="{TOP + 4}" text-anchor="end" font-size="11" fill="{LINE}">{top}</text>',
        f'<text x="{LEFT - 6}" y="{baseline}" text-anchor="end" font-size="11" fill="{LINE}">0</text>',
    ]
    for index, (month, text) in enumerate(zip(months, labels, strict=True)):
        height = plot_height * month.count / top
        x = LEFT + index * slot + slot * 0.15
        centre = LEFT + index * slot + slot / 2
        parts.append(f'<rect x="{x:.1f}" y="{baseline - height:.1f}" width="{slot * 0.7:.1f}" height="{height:.1f}"'
                     f' fill="{BAR_COLOUR}"><title>{escape(text)}: {month.count}</title></rect>')
        if month.count:
            parts.append(f'<text x="{centre:.1f}" y="{baseline - height - 4:.1f}" text-anchor="middle"'
                         f' font-size="12" fill="{INK}">{month.count}</text>')
        short = format_date(month.month, "MMM")
        parts.append(f'<text x="{centre:.1f}" y="{baseline + 16}" text-anchor="middle" font-size="11"'
                     f' fill="{INK}">{escape(short)}</text>')
        if index == 0 or month.month.month == 1:
            parts.append(f'<text x="{centre:.1f}" y="{baseline + 32}" text-anchor="middle" font-size="11"'
                         f' fill="{LINE}">{month.month.year}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text in it is escaped above
