"""Meetings and attendance: create, change, delete, and participation per member. Callers commit."""
from __future__ import annotations

from datetime import date, timedelta

from flask_babel import gettext as _
from sqlalchemy import and_, distinct, extract, func, select
from sqlalchemy.orm import selectinload

from app.auth.models import User
from app.core import audit
from app.core.audit import AuditAction
from app.core.dates import local_today, shift_months
from app.extensions import db
from app.meetings.models import Attendance, Meeting, MeetingKind
from app.networks.models import Membership, Network


class MeetingError(Exception):
    pass


def latest_meeting_date(today: date) -> date:
    """A meeting may be planned at most a year ahead."""
    return shift_months(today, 12)


def participation_window(today: date) -> tuple[date, date]:
    """The last 12 months, both ends included: (a year ago + 1 day, today). Planned meetings do not count."""
    return shift_months(today, -12) + timedelta(days=1), today


# --- queries --------------------------------------------------------------------------------------

def meetings_query(*, kind: MeetingKind | None = None, year: int | None = None):
    """Meetings of the current network, newest first, optionally of one kind and one calendar year."""
    statement = select(Meeting).order_by(Meeting.held_on.desc(), Meeting.id.desc())
    if kind is not None:
        statement = statement.where(Meeting.kind == kind)
    if year is not None:
        statement = statement.where(Meeting.held_on.between(date(year, 1, 1), date(year, 12, 31)))
    return statement


def meeting_years() -> list[int]:
    """The calendar years that have meetings, newest first (for the year filter)."""
    year = extract("year", Meeting.held_on)
    return [int(y) for y in db.session.scalars(select(distinct(year)).order_by(year.desc()))]


def active_members() -> list[Membership]:
    """Active members of the current network by name: the people attendance can be recorded for."""
    return list(db.session.scalars(select(Membership).join(Membership.user).where(
        Membership.is_active.is_(True)).order_by(User.full_name, Membership.id)))


def attendees(meeting: Meeting) -> list[Membership]:
    """The members who attended *meeting* (also those deactivated since), by name, in one query."""
    ids = [a.membership_id for a in meeting.attendances]
    if not ids:
        return []
    return list(db.session.scalars(select(Membership).join(Membership.user).where(
        Membership.id.in_(ids)).order_by(User.full_name, Membership.id)))


# --- changes ----------------------------------------------------------------------------------------

def create_meeting(*, network: Network, held_on: date, kind: MeetingKind, title: str, notes: str,
                   attendee_ids: list[int]) -> Meeting:
    """Record a meeting with its attendance (active members only). Flushes and audit-logs."""
    meeting = Meeting(network_id=network.id, held_on=held_on, kind=kind, title=title.strip(),
                      notes=(notes or "").strip())
    db.session.add(meeting)
    db.session.flush()
    added, _removed = _set_attendance(meeting, attendee_ids)
    audit.record("meeting.created", AuditAction.CREATE, object_type="meeting", object_id=meeting.id,
                 reason=f"attendance +{added}")
    return meeting


def update_meeting(meeting: Meeting, *, held_on: date, kind: MeetingKind, title: str, notes: str,
                   attendee_ids: list[int]) -> None:
    """Change a meeting and its attendance. Attendance of members deactivated since is kept:
    they are not on the form, so their absence from *attendee_ids* means nothing."""
    meeting.held_on, meeting.kind = held_on, kind
    meeting.title, meeting.notes = title.strip(), (notes or "").strip()
    added, removed = _set_attendance(meeting, attendee_ids)
    audit.record("meeting.updated", AuditAction.UPDATE, object_type="meeting", object_id=meeting.id,
                 reason=f"attendance +{added} -{removed}")


def _set_attendance(meeting: Meeting, attendee_ids: list[int]) -> tuple[int, int]:
    """Make the active members' attendance equal to *attendee_ids*; returns (added, removed).

    Raises MeetingError for an id that is not an active member of the meeting's network.
    """
    active_ids = set(db.session.scalars(select(Membership.id).where(
        Membership.network_id == meeting.network_id, Membership.is_active.is_(True))))
    wanted = set(attendee_ids)
    if wanted - active_ids:
        raise MeetingError(_("Attendance can only be recorded for active members."))
    current = {a.membership_id: a for a in meeting.attendances}
    removed = [a for membership_id, a in current.items() if membership_id in active_ids - wanted]
    for attendance in removed:
        meeting.attendances.remove(attendance)
    added = sorted(wanted - current.keys())
    for membership_id in added:
        meeting.attendances.append(Attendance(network_id=meeting.network_id, membership_id=membership_id))
    db.session.flush()
    return len(added), len(removed)


def delete_meeting(meeting: Meeting) -> None:
    """Delete a meeting without attendance. Raises MeetingError when attendance is recorded:
    it is the evidence of members' participation (NVPO criterion 3)."""
    if meeting.attendances:
        raise MeetingError(_("This meeting has recorded attendance, so it cannot be deleted."))
    audit.record("meeting.deleted", AuditAction.DELETE, object_type="meeting", object_id=meeting.id,
                 reason=f"{meeting.held_on.isoformat()} {meeting.kind.value}")
    db.session.delete(meeting)
    db.session.flush()


# --- participation (NVPO criterion 3) -------------------------------------------------------------

def _attended_subquery(network: Network, today: date):
    """Meetings attended per membership in the 12-month window (an aggregate subquery)."""
    first, last = participation_window(today)
    return (select(Attendance.membership_id, func.count().label("attended"))
            .join(Meeting, and_(Meeting.network_id == Attendance.network_id, Meeting.id == Attendance.meeting_id))
            .where(Attendance.network_id == network.id, Meeting.held_on.between(first, last))
            .group_by(Attendance.membership_id)
            .subquery())


def participation_counts(network: Network, *, today: date | None = None) -> dict[int, int]:
    """Meetings attended in the last 12 months per active membership id: plain numbers from one aggregate
    query, no member objects (the self-check needs only the counts)."""
    attended = _attended_subquery(network, today or local_today())
    rows = db.session.execute(
        select(Membership.id, func.coalesce(attended.c.attended, 0))
        .outerjoin(attended, attended.c.membership_id == Membership.id)
        .where(Membership.network_id == network.id, Membership.is_active.is_(True)))
    return {membership_id: int(count) for membership_id, count in rows}


def participation_summary(network: Network, *, today: date | None = None
                          ) -> list[tuple[Membership, int, bool | None]]:
    """Per active member of *network*: (membership, meetings attended in the last 12 months,
    meets the network's rule), by name. meets_rule is None when participation_min_meetings is not set.

    One aggregate query (plus one for the disciplines shown with it), whatever the number of members.
    Must run inside the network (a request of it or network_context).
    """
    attended = _attended_subquery(network, today or local_today())
    rows = db.session.execute(
        select(Membership, func.coalesce(attended.c.attended, 0))
        .join(Membership.user)
        .outerjoin(attended, attended.c.membership_id == Membership.id)
        .where(Membership.network_id == network.id, Membership.is_active.is_(True))
        .order_by(User.full_name, Membership.id)
        .options(selectinload(Membership.disciplines))).all()
    minimum = network.participation_min_meetings
    return [(membership, int(count), None if minimum is None else count >= minimum)
            for membership, count in rows]
