"""Network start page, member directory and administration, the audit log."""
from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import NamedTuple

from flask import current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required
from sqlalchemy import func, select

from app.auth.models import User
from app.core import audit
from app.core.audit import ACTION_LABELS, OUTCOME_LABELS, ROLE_LABELS, AuditAction, AuditEvent, AuditOutcome
from app.core.audit_words import event_words, object_label
from app.core.dates import local_today
from app.core.db import utcnow
from app.core.i18n import current_locale
from app.core.pagination import paginate_capped, paginate_rows
from app.core.security import require_membership
from app.extensions import db
from app.networks import bp
from app.networks.forms.network import AuditFilterForm, InviteMemberForm
from app.networks.models import Membership, Role
from app.networks.services import members as member_services
from app.networks.services import memberships as services
from app.quality.services import results_without_member


def _get_membership_or_404(membership_id: int) -> Membership:
    return db.first_or_404(select(Membership).where(Membership.id == membership_id))


@bp.route("/")
@login_required
@require_membership()
def home():
    # The cases feature builds on this one: imported here, when the page is asked for, not at start-up.
    from app.cases import attention
    from app.norms.services import overdue_count_column

    coordinator = g.membership.role is Role.COORDINATOR
    # The page's own counts ride along with the figures: one statement for all of them.
    also = {"active_members": select(func.count()).select_from(Membership).where(
        Membership.network_id == g.network.id, Membership.is_active.is_(True)).scalar_subquery()}
    if coordinator:
        also["overdue_norms"] = overdue_count_column(g.network.id)
    values: dict = {}
    figures = (attention.coordinator_figures(also=also, values=values) if coordinator
               else attention.member_figures(g.membership, also=also, values=values))
    return render_template("networks/home.html", active_members=int(values["active_members"] or 0),
                           overdue_norms=int(values.get("overdue_norms") or 0), figures=figures)


@bp.route("/members")
@login_required
@require_membership()
def members():
    """The directory: search, filters (active only for coordinators), whitelisted sort, pages.

    A fixed number of queries whatever the size: user and network are joined, disciplines come in one
    selectin query (tests/test_member_profile.py counts them)."""
    filters = member_services.DirectoryFilters.from_args(
        request.args, is_coordinator=g.membership.role is Role.COORDINATOR)
    listed = member_services.directory_query(filters)
    # Each row brings its discipline ids (counted without them); their names come from the catalogue.
    page = paginate_rows(listed.add_columns(member_services.discipline_ids_column()), count_of=listed)
    disciplines = services.discipline_catalogue()
    by_id = {entry.id: entry for entry in disciplines}
    member_disciplines = {row.id: sorted((by_id[key] for key in _ids(row.discipline_ids) if key in by_id),
                                         key=lambda entry: entry.sort_order) for row in page.items}
    return render_template("networks/members.html", page=page, filters=filters, disciplines=disciplines,
                           member_disciplines=member_disciplines, locale=current_locale())


def _ids(joined: str | None) -> list[int]:
    """The ids of a comma-separated text (member_services.discipline_ids_column)."""
    return [int(key) for key in (joined or "").split(",") if key]


@bp.route("/members/<int:membership_id>")
@login_required
@require_membership()
def member_detail(membership_id: int):
    member = _get_membership_or_404(membership_id)
    if not member.is_active and g.membership.role is not Role.COORDINATOR:
        return render_template("errors/error.html", code=404, kind="http"), 404
    can_manage = g.membership.role is Role.COORDINATOR or member.id == g.membership.id
    return render_template("networks/member_detail.html", member=member, locale=current_locale(),
                           can_manage=can_manage, trainings=member_services.training_records_for(member),
                           today=local_today())


@bp.route("/members/invite", methods=["GET", "POST"])
@login_required
@require_membership(Role.COORDINATOR)
def invite_member():
    form = InviteMemberForm()
    form.disciplines.choices = [(d.id, d.name(current_locale()))
                                for d in db.session.scalars(services.disciplines_query())]
    if form.validate_on_submit():
        try:
            membership = services.invite_member(
                network=g.network, email=form.email.data, full_name=form.full_name.data,
                role=Role(form.role.data), discipline_ids=form.disciplines.data or [],
                practice_name=form.practice_name.data or "", city=form.city.data or "",
                agb_code=form.agb_code.data, base_url=current_app.config["BASE_URL"])
        except services.MembershipError as exc:
            form.email.errors.append(str(exc))
        else:
            db.session.commit()
            flash(_("%(name)s is invited.", name=membership.user.full_name), "success")
            return redirect(url_for("networks.member_detail", membership_id=membership.id))
    return render_template("networks/invite_member.html", form=form)


@bp.route("/members/<int:membership_id>/active", methods=["GET", "POST"])
@login_required
@require_membership(Role.COORDINATOR)
def member_set_active(membership_id: int):
    """GET asks for confirmation; POST deactivates or reactivates."""
    member = _get_membership_or_404(membership_id)
    if request.method == "POST":
        make_active = not member.is_active
        try:
            services.set_membership_active(member, active=make_active)
        except services.MembershipError as exc:
            flash(str(exc), "error")
        else:
            db.session.commit()
            flash(_("%(name)s is active again.", name=member.user.full_name) if make_active else
                  _("%(name)s is deactivated; the history is kept.", name=member.user.full_name), "success")
        return redirect(url_for("networks.member_detail", membership_id=member.id))
    # Before deactivating: the NVPO criteria that are met now and would not be without this member.
    breakages = results_without_member(g.network, member.id) if member.is_active else []
    return render_template("networks/member_set_active.html", member=member, breakages=breakages,
                           locale=current_locale())


# 20 pages of 50: beyond them the coordinator narrows the filter. A bound well under any busy network's log keeps
# the count's cost the same for a network of a year and of ten (README "Benchmark").
AUDIT_COUNT_CAP = 1_000
NO_USER = "\u2013"  # an en dash: a row of the system's own (no user)


class AuditRow(NamedTuple):
    """One shown row of the audit log, its cells in words."""

    occurred_at: datetime
    user: str
    role: str
    words: str
    event: str
    action: str
    action_label: str
    outcome: str
    outcome_label: str
    patient: int | str
    object_text: str
    ip_address: str


AUDIT_COLUMNS = ("id", "occurred_at", "event", "action", "outcome", "user_id", "user_role", "patient_id",
                 "object_type", "object_id", "ip_address")


@bp.route("/audit")
@login_required
@require_membership(Role.COORDINATOR)
def audit_log():
    """The network's NEN 7513 log, filterable; reading it is itself logged."""
    form = AuditFilterForm(request.args)
    form.action.choices = [("", _("All actions"))] + [(a.value, str(ACTION_LABELS[a])) for a in AuditAction]
    form.outcome.choices = [("", _("All outcomes"))] + [(o.value, str(OUTCOME_LABELS[o])) for o in AuditOutcome]
    # The shown columns as rows (not the hashes, the user agent or the reason), 50 to a page.
    statement = (select(*(getattr(AuditEvent, name) for name in AUDIT_COLUMNS))
                 .where(AuditEvent.network_id == g.network.id))
    if form.validate():
        statement = _filter_audit(statement, form)
    # The count stops at AUDIT_COUNT_CAP: a network's log grows by the million, a view must not. The user's email
    # is joined to the page's rows (users have no network: no scope to ask), the count is of the log alone.
    ordered = statement.order_by(AuditEvent.id.desc())
    page = paginate_capped(ordered.add_columns(User.email.label("user_email"))
                           .outerjoin(User, User.id == AuditEvent.user_id),
                           per_page=50, cap=AUDIT_COUNT_CAP, rows=True, count_of=ordered)
    # Each label put in words once per page, not once per row (a log repeats a handful of events); the rows' cells
    # are then looked up in one pass here (the template's per-cell calls cost more than the lookups).
    actions = {action: str(label) for action, label in ACTION_LABELS.items()}
    outcomes = {outcome: str(label) for outcome, label in OUTCOME_LABELS.items()}
    roles = {role: str(label) for role, label in ROLE_LABELS.items()}
    kinds = {(e.event, e.action, e.object_type) for e in page.items}
    words = {(event, action, object_type): event_words(event, actions.get(action, action.value), object_type)
             for event, action, object_type in kinds}
    objects = {object_type: object_label(object_type) for object_type in {kind[2] for kind in kinds} if object_type}
    rows = [AuditRow(e.occurred_at, e.user_email or NO_USER, roles.get(e.user_role, e.user_role),
                     words[(e.event, e.action, e.object_type)], e.event, e.action.value,
                     actions.get(e.action, e.action.value), e.outcome.value, outcomes.get(e.outcome, e.outcome.value),
                     e.patient_id or "",
                     f"{objects[e.object_type]} {e.object_id or ''}".rstrip() if e.object_type else "", e.ip_address)
            for e in page.items]
    audit.record("audit_log.read", AuditAction.READ, object_type="audit_log",
                 reason=request.query_string.decode()[:500])
    html = render_template("networks/audit_log.html", page=page, rows=rows, form=form)
    db.session.commit()
    return html


def _filter_audit(statement, form: AuditFilterForm):
    if form.user.data:
        statement = statement.where(AuditEvent.user_id.in_(select(User.id).where(
            func.lower(User.email).like(f"%{form.user.data.strip().lower()}%"))))
    if form.patient.data and form.patient.data.strip().isdigit():
        statement = statement.where(AuditEvent.patient_id == int(form.patient.data))
    if form.action.data:
        statement = statement.where(AuditEvent.action == AuditAction(form.action.data))
    if form.outcome.data:  # e.g. every refused attempt, for the periodic access review
        statement = statement.where(AuditEvent.outcome == AuditOutcome(form.outcome.data))
    if form.date_from.data:
        statement = statement.where(AuditEvent.occurred_at >= datetime.combine(
            form.date_from.data, time.min, tzinfo=utcnow().tzinfo))
    if form.date_to.data:
        statement = statement.where(AuditEvent.occurred_at < datetime.combine(
            form.date_to.data + timedelta(days=1), time.min, tzinfo=utcnow().tzinfo))
    return statement

