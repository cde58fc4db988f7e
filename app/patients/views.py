"""Patient list (a search is logged), registration and detail: coordinators only for now."""
from __future__ import annotations

from flask import flash, g, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.core import audit
from app.core.audit import AuditAction, patient_data
from app.core.pagination import paginate
from app.core.security import require_membership
from app.extensions import db
from app.networks.models import Role
from app.patients import bp, services
from app.patients.forms import PatientForm, PatientSearchForm

SEARCH_LIMIT = 50


@bp.route("/", methods=["GET", "POST"])
@login_required
@require_membership(Role.COORDINATOR)
@patient_data
def index():
    """GET lists patients page by page; a search is a POST, so a name or BSN never enters a URL."""
    form = PatientSearchForm()
    q = form.q.data.strip() if form.validate_on_submit() and form.q.data else ""
    if q:
        found = db.session.scalars(services.patients_query(q).limit(SEARCH_LIMIT + 1)).all()
        page, items, more = None, found[:SEARCH_LIMIT], len(found) > SEARCH_LIMIT
    else:
        page = paginate(services.patients_query())
        items, more = page.items, False
    # One row per list or search; the search term itself stays out of the log.
    audit.record("patient.searched" if q else "patient.listed", AuditAction.SEARCH if q else AuditAction.READ,
                 object_type="patient", reason=f"{len(items)} results",
                 patient_id=items[0].id if len(items) == 1 else None)
    # Rendered before the commit: a commit expires the loaded rows, and the template would then
    # reload every patient with its own query (N+1). Nothing is sent before the audit row is committed.
    html = render_template("patients/index.html", page=page, items=items, more=more, q=q, form=form)
    db.session.commit()
    return html


@bp.route("/new", methods=["GET", "POST"])
@login_required
@require_membership(Role.COORDINATOR)
@patient_data
def create():
    form = PatientForm()
    if form.validate_on_submit():
        patient = services.register_patient(
            network_id=g.network.id, actor_id=current_user.id, given_name=form.given_name.data,
            family_name=form.family_name.data, date_of_birth=form.date_of_birth.data, bsn=form.bsn.data,
            postcode=form.postcode.data, phone=form.phone.data or "")
        db.session.commit()
        flash(_("The patient is registered."), "success")
        return redirect(url_for("patients.detail", patient_id=patient.id))
    return render_template("patients/form.html", form=form)


@bp.route("/<int:patient_id>")
@login_required
@require_membership(Role.COORDINATOR)
@patient_data
def detail(patient_id: int):
    patient = services.get_patient(patient_id)
    db.session.commit()
    return render_template("patients/detail.html", patient=patient)
