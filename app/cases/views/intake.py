"""Case routes: the single intake (one form, prefilled from the referral), its read-only versions and the
correction path (a new draft version; the old one stays readable)."""
from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.cases import bp, services
from app.cases.access import may_do_intake
from app.cases.forms import CorrectionForm, IntakeForm, intake_labels
from app.cases.models import ConsentPart, Intake, IntakeStatus
from app.cases.services import CaseRuleBroken
from app.cases.views._common import load_case, log_read
from app.cases.views.case import render_detail, users_by_id
from app.core import audit
from app.core.audit import AuditAction, patient_data
from app.core.security import require_membership
from app.extensions import db
from app.patients import merging as matching
from app.patients.models import Patient
from app.referrals.models import Referral, ReferralStatus

INTAKE_STATUSES = (ReferralStatus.ACCEPTED, ReferralStatus.INTAKE_PLANNED)


@bp.route("/intake/<int:referral_id>", methods=["GET", "POST"])
@login_required
@require_membership()
@patient_data
def intake(referral_id: int):
    """The coordinator's intake: a summary of what the GP sent, then the patient's story and the rest.

    GET changes nothing (the form is prefilled from the referral); the first save creates the draft."""
    if not may_do_intake(g.membership):
        audit.deny("case.intake_denied", object_type="referral", object_id=referral_id, reason="not a coordinator")
    referral = db.session.scalar(select(Referral).where(Referral.id == referral_id,
                                                        Referral.status != ReferralStatus.DRAFT))
    if referral is None:
        audit.deny("case.intake_denied", object_type="referral", object_id=referral_id, reason="no such referral")
    draft = services.draft_intake(referral.id)
    case = services.case_for_referral(referral.id)
    if draft is None and case is not None:
        flash(_("The intake is completed. A correction starts from the case page."), "info")
        return redirect(url_for("cases.detail", case_id=case.id))
    if draft is None and referral.status not in INTAKE_STATUSES:
        flash(_("The intake starts from an accepted referral."), "error")
        return redirect(url_for("cases.index"))
    if draft is None and matching.match_pending(referral):
        # One patient, one story: the coordinator decides on the possible match (on the referral) first.
        flash(_("This patient may already be known to the network. Decide on the possible match before the "
                "intake."), "error")
        return redirect(url_for("referrals.detail", referral_id=referral.id), code=303)
    completing = request.method == "POST" and request.form.get("action") == "complete"
    prefilled, is_update = services.prefill(referral)
    stored = draft if draft is not None else {**prefilled, "held_on": services.default_held_on(referral)}
    form = IntakeForm(stored=stored, completing=completing)
    status = 200
    if form.is_submitted():
        status = 400
        if form.validate():
            try:
                target = draft or services.start_intake(referral, current_user)
                services.save_intake(target, current_user, form.values())
                opened = services.complete_intake(target, current_user, g.membership) if completing else None
                db.session.commit()
            except CaseRuleBroken as exc:
                db.session.rollback()
                flash(str(exc), "error")
            except IntegrityError:
                # Two first saves at once: the other one made the draft. Nothing of this one is lost: it is
                # shown again below and the next save goes into that draft.
                db.session.rollback()
                flash(_("This intake was started at the same moment by someone else. Check the form and save "
                        "again."), "error")
            else:
                if opened is not None:
                    flash(_("The intake is completed and the case is open."), "success")
                    return redirect(url_for("cases.detail", case_id=opened.id))
                flash(_("The draft is saved. Nothing is shared until the intake is completed."), "success")
                return redirect(url_for("cases.intake", referral_id=referral.id))
        draft = services.draft_intake(referral.id)  # after a rollback: the row as stored
    patient = db.session.scalar(select(Patient).where(Patient.id == referral.patient_id))
    if draft is not None:
        audit.record("intake.viewed", AuditAction.READ, patient_id=referral.patient_id, object_type="intake",
                     object_id=draft.id, basis="coordinator", reason=f"draft version {draft.version}")
    else:
        audit.record("intake.form_viewed", AuditAction.READ, patient_id=referral.patient_id,
                     object_type="referral", object_id=referral.id, basis="coordinator")
    html = render_template("cases/intake_form.html", form=form, referral=referral, patient=patient, draft=draft,
                           case=case, medications=list(referral.medications), is_update=is_update,
                           own_questionnaire=services.patient_questionnaire(referral.id), **intake_labels())
    db.session.commit()
    return html, status


@bp.route("/<int:case_id>/intake/<int:version>", methods=["GET"])
@login_required
@require_membership()
@patient_data
def intake_version(case_id: int, version: int):
    """Any completed version, read-only, with what superseded it."""
    case, access = load_case(case_id, part=ConsentPart.INTAKE)
    versions = services.intakes_of(case.referral_id)
    shown = next((v for v in versions if v.version == version), None)
    if shown is not None and shown.status is IntakeStatus.DRAFT and access.may_correct_intake:
        return redirect(url_for("cases.intake", referral_id=case.referral_id))
    if shown is None or shown.status is not IntakeStatus.COMPLETED:
        audit.deny("case.access_denied", patient_id=case.patient_id, object_type="intake",
                   reason=f"version {version}")
    completed = [v for v in versions if v.status is IntakeStatus.COMPLETED]
    superseded_by = next((v for v in completed if v.version > shown.version), None)
    supersedes = next((v for v in reversed(completed) if v.version < shown.version), None)
    users = users_by_id([v.completed_by_id for v in completed] + [v.created_by_id for v in completed])
    log_read(case, access, "intake", object_type="intake", object_id=shown.id)
    html = render_template("cases/intake_version.html", case=case, access=access, patient=case.patient,
                           intake=shown, versions=completed, superseded_by=superseded_by, supersedes=supersedes,
                           current=completed[-1], users=users, **intake_labels())
    db.session.commit()
    return html


@bp.route("/<int:case_id>/intake/correctie", methods=["POST"])
@login_required
@require_membership()
@patient_data
def intake_correct(case_id: int):
    """Start a correction: a new draft version, a copy of the current one, edited on the intake page."""
    case, access = load_case(case_id, need="may_correct_intake")
    form = CorrectionForm()
    if not form.validate_on_submit():
        html = render_detail(case, access, correction_form=form)
        db.session.commit()
        return html, 400
    try:
        correction: Intake = services.correct_intake(case, current_user, form.reason.data or "")
    except CaseRuleBroken as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(url_for("cases.intake", referral_id=case.referral_id))
    db.session.commit()
    flash(_("Version %(version)d is a draft copy of the intake. Correct it and complete it; until then the care "
            "team reads the current version.", version=correction.version), "success")
    return redirect(url_for("cases.intake", referral_id=case.referral_id))
