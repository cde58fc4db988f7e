"""The network's referral inbox, detail, the coordinator's actions, attachment downloads and the
dashboard (/n/<slug>/referrals/...). Coordinators only; patient data never goes into a URL."""
from __future__ import annotations

import logging

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from app.auth.models import GPProfile, User
from app.core import audit
from app.core.audit import AuditAction, patient_data
from app.core.dates import show_date
from app.core.db import utcnow
from app.core.i18n import current_locale
from app.core.pagination import paginate_keys
from app.core.security import require_membership
from app.extensions import db
from app.networks.models import Role
from app.patients import merging as matching
from app.referrals import attachments, bp, dashboard, display, services
from app.referrals.forms import ACTION_FORMS, MatchDismissForm, MatchLinkForm, build_action_form
from app.referrals.models import Referral, ReferralStatus
from app.referrals.services import Action, IllegalTransition, Place, Side

log = logging.getLogger(__name__)

S = ReferralStatus
# The inbox is where the coordinator acts on these (services.ACTIONABLE_PLACE); later steps are on the case list.
OPEN_STATUSES = services.statuses_in(Place.INBOX)
# The inbox filter (?status=...): open (the default), all, or one status; drafts are never shown.
FILTERS: dict[str, tuple[ReferralStatus, ...] | None] = {
    "open": OPEN_STATUSES, "all": None, **{status.value: (status,) for status in S if status is not S.DRAFT}}

coordinator_only = require_membership(Role.COORDINATOR)


@bp.app_context_processor
def _referral_badge():
    """`new_referral_count()` in templates, for coordinators only: one COUNT query, made on first use."""
    membership = g.get("membership")
    if g.get("network") is None or membership is None or membership.role is not Role.COORDINATOR:
        return {}

    def new_referral_count() -> int:
        if "new_referral_count" not in g:
            try:
                g.new_referral_count = services.new_referral_count()
            except SQLAlchemyError:
                # A badge must not break the page around it (the error page after a database
                # failure extends base.html too); the view's own commit still fails loudly.
                log.warning("new referral count unavailable", exc_info=True)
                g.new_referral_count = 0
        return g.new_referral_count

    return {"new_referral_count": new_referral_count}


@bp.route("/")
@login_required
@coordinator_only
@patient_data
def index():
    status = request.args.get("status", "open")
    if status not in FILTERS:
        status = "open"
    # Rows of the shown columns (the GP's name and practice joined), not referral objects with every field the GP
    # sent: the inbox shows eight of them.
    # The page's ids are cut from the referrals alone (index order); the GP is joined to those 25 only.
    # gp_profile_id is NOT NULL: the joins drop no row, so the count of the ids is the list's.
    def rows_of(page_keys):
        return (select(Referral.id, Referral.number, Referral.patient_id, Referral.given_name, Referral.family_name,
                       Referral.submitted_at, Referral.status, Referral.ack_due_at, Referral.acknowledged_at,
                       Referral.urgency, User.full_name.label("gp_name"), GPProfile.practice_name,
                       GPProfile.city.label("gp_city"))
                .join(page_keys, page_keys.c.id == Referral.id)
                .join(GPProfile, GPProfile.id == Referral.gp_profile_id).join(User, User.id == GPProfile.user_id)
                .order_by(Referral.ack_due_at, Referral.id))

    page = paginate_keys(services.inbox_query(statuses=FILTERS[status]).with_only_columns(Referral.id), rows_of)
    audit.record("referral.listed", AuditAction.READ, object_type="referral",
                 reason=f"{len(page.items)} results, filter {status}",
                 patient_id=page.items[0].patient_id if len(page.items) == 1 else None)
    now = utcnow()
    # Rendered before the commit, which would expire the rows (one reload per row); see patients.index.
    html = render_template("referrals/index.html", page=page, status=status, filters=_filter_choices(),
                           norms={r.id: display.norm_state(r, now) for r in page.items}, label=display.label)
    db.session.commit()
    return html


def _filter_choices() -> list[tuple[str, str]]:
    return [("open", _("Open: waiting for the network")), ("all", _("All referrals")),
            *[(s.value, s.label) for s in S if s is not S.DRAFT]]


@bp.route("/<int:referral_id>")
@login_required
@coordinator_only
@patient_data
def detail(referral_id: int):
    return _show(services.get_for_network(referral_id))


def _show(referral: Referral, *, posted: tuple[Action, FlaskForm] | None = None, status: int = 200):
    """The detail page with a form for every action open now (the posted one keeps its input and errors)."""
    services.log_read(referral, basis="coordinator")
    actions = services.actions_for(referral, Side.NETWORK)
    targets = services.forward_targets(g.network.id) if Action.FORWARD in actions else []
    forms = {action: build_action_form(action, targets=targets, own_network_id=g.network.id) for action in actions}
    if posted is not None:
        forms[posted[0]] = posted[1]
    matches = matching.referral_matches(referral)
    consent_by = (referral.submitted_by if referral.consent_confirmed_by_id == referral.submitted_by_id
                  else db.session.get(User, referral.consent_confirmed_by_id))
    html = render_template("referrals/detail.html", referral=referral, forms=forms, Action=Action,
                           norm=display.norm_state(referral), label=display.label,
                           complaints=display.complaint_rows(referral), consent_by=consent_by,
                           locale=current_locale(), matches=matches,
                           main_step=display.main_step(referral, forms, intake_possible=not matches),
                           link_forms={p.id: MatchLinkForm(formdata=None, patient_id=p.id) for p in matches},
                           dismiss_form=MatchDismissForm(formdata=None), match_decider=_match_decider(referral))
    db.session.commit()
    return html, status


def _match_decider(referral: Referral) -> User | None:
    return db.session.get(User, referral.match_decided_by_id) if referral.match_decided_by_id else None


@bp.route("/<int:referral_id>/actie", methods=["POST"])
@login_required
@coordinator_only
@patient_data
def act(referral_id: int):
    """Take the posted `action`; a refused one changes nothing and says why."""
    referral = services.get_for_network(referral_id, lock=True)
    back = redirect(url_for("referrals.detail", referral_id=referral.id), code=303)
    try:
        action = Action(request.form.get("action", ""))
        services.check_transition(referral, action, Side.NETWORK)
        if action not in ACTION_FORMS:  # an internal step of another service (START_CARE) has no button
            raise ValueError(action)
    except ValueError:
        flash(_("Choose one of the actions on the page."), "error")
        return back
    except IllegalTransition as exc:
        flash(str(exc), "error")
        return back
    if action is Action.CARE_WITHOUT_INTAKE and matching.match_pending(referral):
        flash(_("This patient may already be known to the network. Decide on the possible match first."), "error")
        return back
    targets = services.forward_targets(g.network.id) if action is Action.FORWARD else []
    form = build_action_form(action, targets=targets, own_network_id=g.network.id, formdata=request.form)
    if not form.validate():
        return _show(referral, posted=(action, form), status=400)
    try:
        message = _apply(referral, action, form)
    except IllegalTransition as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return back
    db.session.commit()
    flash(message, "success")
    return back


def _apply(referral: Referral, action: Action, form) -> str:
    """Call the status machine with the form's values; returns the success message."""
    who = {"actor": current_user, "side": Side.NETWORK}
    number = referral.number
    if action is Action.ACCEPT:
        planned = form.accept_intake_on.data is not None
        services.transition(referral, Action.ACCEPT, notify=not planned, **who)  # one mail for both steps
        if not planned:
            return _("Referral %(number)s is accepted.", number=number)
        services.transition(referral, Action.PLAN_INTAKE, intake_on=form.accept_intake_on.data, **who)
        return _("Referral %(number)s is accepted and the intake is planned on %(date)s.", number=number,
                 date=show_date(form.accept_intake_on.data))
    if action is Action.PLAN_INTAKE:
        services.transition(referral, action, intake_on=form.intake_on.data, **who)
        return _("The intake is planned on %(date)s.", date=show_date(form.intake_on.data))
    if action is Action.REQUEST_INFO:
        services.transition(referral, action, text=form.question.data, **who)
        return _("Your question is sent to the GP.")
    if action is Action.DECLINE:
        text = form.decline_reason.data.strip()
        if (alternative := (form.decline_alternative.data or "").strip()):
            text += "\n\n" + _("Suggested alternative: %(alternative)s", alternative=alternative)
        services.transition(referral, action, text=text, **who)
        return _("Referral %(number)s is declined; the GP is informed.", number=number)
    if action is Action.CARE_WITHOUT_INTAKE:
        services.transition(referral, action, text=form.care_reason.data, **who)
        return _("The patient of referral %(number)s is in care without intake; the case is open and the GP is "
                 "informed.", number=number)
    if action is Action.FORWARD:
        services.transition(referral, action, text=form.forward_note.data or "", forward_to=form.target, **who)
        return _("Referral %(number)s is forwarded to %(network)s; the GP is informed.", number=number,
                 network=form.target.name)
    text = (form.close_note.data or "") if action is Action.CLOSE else ""
    services.transition(referral, action, text=text, **who)
    return {Action.ACKNOWLEDGE: _("Referral %(number)s is acknowledged; the GP is informed.", number=number),
            Action.CLOSE: _("Referral %(number)s is closed.", number=number)}[action]


# --- one patient, one story: the coordinator's decision on a possible match -------------------------

@bp.route("/<int:referral_id>/match/koppelen", methods=["POST"])
@login_required
@coordinator_only
@patient_data
def match_link(referral_id: int):
    """The same person: the referral now belongs to the known patient (the record made for it is merged)."""
    referral = services.get_for_network(referral_id, lock=True)
    back = redirect(url_for("referrals.detail", referral_id=referral.id), code=303)
    form = MatchLinkForm()
    if not form.validate_on_submit():
        flash(_("Choose one of the patients shown as a possible match."), "error")
        return back
    try:
        patient = matching.link_referral(referral, form.patient_id.data, current_user)
    except matching.MatchError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return back
    db.session.commit()
    flash(_("Referral %(number)s now belongs to %(name)s, whom the network already knows. The intake updates "
            "the shared record.", number=referral.number, name=patient.full_name), "success")
    return back


@bp.route("/<int:referral_id>/match/afwijzen", methods=["POST"])
@login_required
@coordinator_only
@patient_data
def match_dismiss(referral_id: int):
    """Someone else: the possible matches are dismissed for this referral, and not shown again."""
    referral = services.get_for_network(referral_id, lock=True)
    back = redirect(url_for("referrals.detail", referral_id=referral.id), code=303)
    if not MatchDismissForm().validate_on_submit():
        flash(_("The decision was not saved. Please try again."), "error")
        return back
    try:
        matching.dismiss_matches(referral, current_user)
    except matching.MatchError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return back
    db.session.commit()
    flash(_("Recorded: the patient of referral %(number)s is someone else.", number=referral.number), "success")
    return back


@bp.route("/<int:referral_id>/bijlagen/<int:attachment_id>")
@login_required
@coordinator_only
@patient_data
def attachment(referral_id: int, attachment_id: int):
    """A letter the GP attached (not removed), of this referral in this network; 404 otherwise."""
    referral = services.get_for_network(referral_id)
    stored = attachments.get(referral, attachment_id) or abort(404)
    response = attachments.send(stored)  # records the download (404 for a missing file, before logging)
    db.session.commit()
    return response


@bp.route("/dashboard", endpoint="dashboard")
@login_required
@coordinator_only
def dashboard_view():
    """Figures only (counts, medians, shares): no patient data, so no audit row."""
    figures = dashboard.referral_figures(locale=current_locale())
    return render_template("referrals/dashboard.html", figures=figures,
                           chart=dashboard.bar_chart_svg(figures.months) if figures.total else None,
                           month_label=dashboard.month_label, decimal=dashboard.one_decimal,
                           percent=dashboard.percent)
