"""The distress thermometer (Lastmeter): the problem list and the trend chart drawn on the server as
inline SVG. The reminder to measure again is a periodic job in app.cases.jobs."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from flask_babel import gettext as _
from markupsafe import Markup, escape

from app.cases.models import LASTMETER_GROUPS, PromMeasurement
from app.core.dates import show_date

THRESHOLD = 4  # a score of 4 or more suggests discussing a referral (NVPO / IKNL Lastmeter guidance)
MAX_SCORE = 10


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
                 list="; ".join(f"{show_date(m.measured_on)}: {m.score}" for m in rows))
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
            label = f"{show_date(m.measured_on)}: {m.score}"
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
                         f' fill="{INK}">{escape(show_date(day))}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text in it is escaped above
