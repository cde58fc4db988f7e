"""Patient list (a search is logged), registration and detail: coordinators only for now."""
from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.core import audit
from app.core.audit import AuditAction, patient_data
from app.core.pagination import paginate
from app.core.security import require_membership
from app.extensions import db
from app.networks.models import Role
from app.patients import bp, services
from app.patients.forms import PatientForm


@bp.route("/")
@login_required
@require_membership(Role.COORDINATOR)
@patient_data
def index():
    q = (request.args.get("q") or "").strip()[:100]
    page = paginate(services.patients_query(q))
    # A list shows names: one row per page view, with the search term kept out of the log text.
    audit.record("patient.searched" if q else "patient.listed", AuditAction.SEARCH if q else AuditAction.READ,
                 object_type="patient", reason=f"{len(page.items)} results",
                 patient_id=page.items[0].id if len(page.items) == 1 else None)
    db.session.commit()
    return render_template("patients/index.html", page=page, q=q)


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
