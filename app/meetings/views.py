"""Meetings of a network: list and detail for every member; recording, changing, deleting and the
participation overview for coordinators."""
from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required
from sqlalchemy import select

from app.core.bounded import db_int
from app.core.dates import local_today
from app.core.pagination import paginate
from app.core.security import require_membership
from app.extensions import db
from app.meetings import bp, services
from app.meetings.forms import MeetingForm
from app.meetings.models import Meeting, MeetingKind
from app.networks.models import Role


def _get_meeting_or_404(meeting_id: int) -> Meeting:
    return db.first_or_404(select(Meeting).where(Meeting.id == meeting_id))


def _filters() -> tuple[MeetingKind | None, int | None]:
    """Kind and year from the query string; values that make no sense are ignored."""
    kind = request.args.get("kind", "")
    year = request.args.get("year", type=db_int)
    return (MeetingKind(kind) if kind in set(MeetingKind) else None,
            year if year is not None and 1 <= year <= 9999 else None)


@bp.route("/")
@login_required
@require_membership()
def index():
    kind, year = _filters()
    page = paginate(services.meetings_query(kind=kind, year=year))
    return render_template("meetings/index.html", page=page, kind=kind, year=year, kinds=list(MeetingKind),
                           years=services.meeting_years())


@bp.route("/<int:meeting_id>")
@login_required
@require_membership()
def detail(meeting_id: int):
    meeting = _get_meeting_or_404(meeting_id)
    return render_template("meetings/detail.html", meeting=meeting, attendees=services.attendees(meeting))


@bp.route("/new", methods=["GET", "POST"])
@login_required
@require_membership(Role.COORDINATOR)
def create():
    form = MeetingForm(members=services.active_members())
    if form.validate_on_submit():
        try:
            meeting = services.create_meeting(network=g.network, **_meeting_fields(form))
        except services.MeetingError as exc:
            form.attendees.errors.append(str(exc))
        else:
            db.session.commit()
            flash(_("The meeting is recorded."), "success")
            return redirect(url_for("meetings.detail", meeting_id=meeting.id))
    return render_template("meetings/form.html", form=form, meeting=None, former=[])


@bp.route("/<int:meeting_id>/edit", methods=["GET", "POST"])
@login_required
@require_membership(Role.COORDINATOR)
def edit(meeting_id: int):
    meeting = _get_meeting_or_404(meeting_id)
    members = services.active_members()
    form = MeetingForm(obj=meeting, members=members)
    active_ids = {m.id for m in members}
    if request.method == "GET":
        form.kind.data = meeting.kind.value
        form.attendees.data = [a.membership_id for a in meeting.attendances if a.membership_id in active_ids]
    if form.validate_on_submit():
        try:
            services.update_meeting(meeting, **_meeting_fields(form))
        except services.MeetingError as exc:
            form.attendees.errors.append(str(exc))
        else:
            db.session.commit()
            flash(_("The meeting is saved."), "success")
            return redirect(url_for("meetings.detail", meeting_id=meeting.id))
    # Attendance of members deactivated since is kept; the form only lists it.
    former = [m for m in services.attendees(meeting) if m.id not in active_ids]
    return render_template("meetings/form.html", form=form, meeting=meeting, former=former)


def _meeting_fields(form: MeetingForm) -> dict:
    return {"held_on": form.held_on.data, "kind": MeetingKind(form.kind.data), "title": form.title.data,
            "notes": form.notes.data or "", "attendee_ids": form.attendees.data or []}


@bp.route("/<int:meeting_id>/delete", methods=["GET", "POST"])
@login_required
@require_membership(Role.COORDINATOR)
def delete(meeting_id: int):
    """GET asks for confirmation (or explains why it cannot be deleted); POST deletes."""
    meeting = _get_meeting_or_404(meeting_id)
    if request.method == "POST":
        try:
            services.delete_meeting(meeting)
        except services.MeetingError as exc:
            flash(str(exc), "error")
            return redirect(url_for("meetings.detail", meeting_id=meeting.id))
        db.session.commit()
        flash(_("The meeting is deleted."), "success")
        return redirect(url_for("meetings.index"))
    return render_template("meetings/delete.html", meeting=meeting)


@bp.route("/participation")
@login_required
@require_membership(Role.COORDINATOR)
def participation():
    today = local_today()
    rows = services.participation_summary(g.network, today=today)
    first, last = services.participation_window(today)
    return render_template("meetings/participation.html", rows=rows, first=first, last=last,
                           minimum=g.network.participation_min_meetings,
                           short=sum(1 for _m, _n, meets in rows if meets is False))
