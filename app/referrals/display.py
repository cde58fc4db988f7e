"""How the coordinator's pages show a referral: the GP form's codes as labels (the form's own
vocabulary, models.LABELS) and the acknowledgement norm in plain words ("1 day and 3 hours left")."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import gettext as _
from flask_babel import ngettext

from app.core.db import utcnow
from app.core.i18n import kept_text
from app.core.workdays import time_left
from app.referrals.models import LABELS, Referral, ReferralStatus

DIMENSIONS = ("physical", "psychological", "social", "spiritual")


def label(kind: str, code: str | None) -> str:
    """The label of *code* in the GP form's list *kind* (models.LABELS: "sex", "tumour_type",
    "yes_no_unknown", "urgency", "complaints_physical", ...). A code missing there (an older or newer
    choice) is shown as stored, so nothing the GP sent is hidden; an empty one as a dash."""
    if not code:
        return "\u2013"  # an en dash
    known = LABELS.get(kind, {}).get(code)
    return kept_text(("referral-label", kind, code), known) if known is not None else code.replace("_", " ")


def complaint_rows(referral: Referral) -> list[tuple[str, list[str], str]]:
    """(dimension label, item labels, text) for each dimension the GP filled in, in the form's order."""
    rows = []
    complaints = referral.complaints or {}
    for dimension in [*DIMENSIONS, *sorted(set(complaints) - set(DIMENSIONS))]:
        entry = complaints.get(dimension) or {}
        items = [label(f"complaints_{dimension}", str(item)) for item in entry.get("items") or []]
        text = (entry.get("text") or "").strip()
        if items or text:
            rows.append((label("dimension", dimension), items, text))
    return rows


def span_in_words(delta: timedelta) -> str:
    """A duration as days and hours in words; under an hour says so."""
    total_hours = int(abs(delta).total_seconds() // 3600)
    days, hours = divmod(total_hours, 24)
    day_text = ngettext("%(num)d day", "%(num)d days", days)
    hour_text = ngettext("%(num)d hour", "%(num)d hours", hours)
    if days and hours:
        return _("%(days)s and %(hours)s", days=day_text, hours=hour_text)
    if days:
        return day_text
    if hours:
        return hour_text
    return _("less than an hour")


@dataclass(frozen=True)
class NormState:
    """Where a referral stands against the acknowledgement norm."""

    due_at: datetime | None
    overdue: bool
    text: str  # "2 days and 3 hours left", "overdue by 5 hours"; once acknowledged: "within the norm"
    pending: bool  # still waiting for acknowledgement


def norm_state(referral: Referral, now: datetime | None = None) -> NormState:
    """The norm for a submitted referral (time left or overdue), or how an acknowledged one did."""
    now = now or utcnow()
    due = referral.ack_due_at
    if due is None:
        return NormState(None, False, "", False)
    if referral.status is ReferralStatus.SUBMITTED:
        left = time_left(due, now)
        if left < timedelta(0):
            return NormState(due, True, _("overdue by %(span)s", span=span_in_words(left)), True)
        return NormState(due, False, _("%(span)s left", span=span_in_words(left)), True)
    if referral.acknowledged_at is None:
        return NormState(due, False, "", False)
    if referral.acknowledged_at <= due:
        return NormState(due, False, _("within the norm"), False)
    late = referral.acknowledged_at - due
    return NormState(due, True, _("%(span)s after the due time", span=span_in_words(late)), False)


# The one next step the detail page puts first, per status (the others stay secondary, folded away).
# Accepted: plan the intake (a date for the GP and the patient); planned: hold it (start the intake).
MAIN_STEPS = {
    ReferralStatus.SUBMITTED: "acknowledge",
    ReferralStatus.ACKNOWLEDGED: "accept",
    ReferralStatus.ACCEPTED: "plan_intake",
    ReferralStatus.INTAKE_PLANNED: "start_intake",
}


def main_step(referral: Referral, open_actions, *, intake_possible: bool) -> str | None:
    """The main next step on the coordinator's detail page: an open action's value, "start_intake" (a link to
    the intake, when no possible match waits for a decision), or None (waiting for the GP, or nothing left)."""
    step = MAIN_STEPS.get(referral.status)
    if step == "start_intake":
        return step if intake_possible else None
    return step if step in {action.value for action in open_actions} else None
