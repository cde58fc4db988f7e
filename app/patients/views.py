"""Patient list (a search is logged), registration and detail: coordinators only for now."""
from __future__ import annotations

import json

from flask import Response, flash, g, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from app.cases.export import patient_export
from app.core import audit
from app.core.audit import AuditAction, patient_data
from app.core.pagination import paginate
from app.core.pdf import html_to_pdf
from app.core.security import require_membership
from app.core.storage import send_bytes
from app.extensions import db
from app.networks.models import Role
from app.patients import bp, merging, services
from app.patients.forms import PatientForm, PatientMergeForm, PatientSearchForm
from app.patients.models import Patient

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
    duplicates = merging.candidates_for(patient) if patient.merged_into_id is None else []
    html = render_template("patients/detail.html", patient=patient, duplicates=duplicates)
    db.session.commit()
    return html


@bp.route("/<int:patient_id>/samenvoegen/<int:duplicate_id>", methods=["GET", "POST"])
@login_required
@require_membership(Role.COORDINATOR)
@patient_data
def merge(patient_id: int, duplicate_id: int):
    """Merge the record *duplicate_id* into *patient_id* after a confirmation (it cannot be undone).

    GET shows both records and what moves; only the confirmed POST changes anything."""
    kept, duplicate = services.get_patient(patient_id), services.get_patient(duplicate_id)
    back = redirect(url_for("patients.detail", patient_id=kept.id), code=303)
    try:
        merging.check_mergeable(kept, duplicate)
    except merging.MatchError as exc:
        db.session.commit()  # the reads are logged
        flash(str(exc), "error")
        return back
    form = PatientMergeForm()
    status = 200
    if form.is_submitted():
        status = 400
        if form.validate():
            merging.merge_patients(kept=kept, duplicate=duplicate, actor=current_user)
            db.session.commit()
            flash(_("The records are merged: everything of the other record now belongs to %(name)s.",
                    name=kept.full_name), "success")
            return back
    html = render_template("patients/merge.html", kept=kept, duplicate=duplicate, form=form,
                           preview=merging.merge_preview(kept, duplicate))
    db.session.commit()
    return html, status


# --- right of access (GDPR art. 15): everything about one patient ------------------------------------

def _export(patient_id: int, fmt: str) -> dict:
    """The patient's complete data (app.cases.export), after writing the EXPORT audit row."""
    patient = db.first_or_404(select(Patient).where(Patient.id == patient_id))
    audit.record("patient.exported", AuditAction.EXPORT, patient_id=patient.id, object_type="patient",
                 object_id=patient.id, basis="coordinator", reason=f"right of access, {fmt}")
    return patient_export(patient)


@bp.route("/<int:patient_id>/export.json")
@login_required
@require_membership(Role.COORDINATOR)
@patient_data
def export_json(patient_id: int):
    data = _export(patient_id, "json")
    db.session.commit()
    body = json.dumps(data, ensure_ascii=False, indent=2, sort_keys=False)
    return Response(body, mimetype="application/json", headers={
        "Content-Disposition": f'attachment; filename="patient-{patient_id}-export.json"',
        "X-Content-Type-Options": "nosniff"})


@bp.route("/<int:patient_id>/export.pdf")
@login_required
@require_membership(Role.COORDINATOR)
@patient_data
def export_pdf(patient_id: int):
    """The same content as export.json, readable: rendered in the request (one patient is small)."""
    data = _export(patient_id, "pdf")
    pdf = html_to_pdf(render_template("patients/export_pdf.html", data=data))
    db.session.commit()
    return send_bytes(pdf, mimetype="application/pdf", download_name=f"patient-{patient_id}-export.pdf")
