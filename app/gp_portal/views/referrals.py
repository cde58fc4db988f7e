"""The own referrals (/verwijzer/verwijzingen/...): the list, the confirmation, a referral (with the case
behind it), answering, withdrawing, the attached letters."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.orm import joinedload

from app.auth.models import GPProfile
from app.core import audit
from app.core.audit import AuditAction, patient_data
from app.core.i18n import current_locale
from app.core.pagination import paginate
from app.extensions import db
from app.gp_portal import bp
from app.gp_portal.forms import AnswerForm, WithdrawForm
from app.gp_portal.services.case import gp_case_summary
from app.gp_portal.views._common import S, own_referral
from app.referrals import attachments, services
from app.referrals.models import LABELS, Referral
from app.referrals.services import Action, Side

# --- the list -----------------------------------------------------------------------------------

@bp.route("/verwijzingen/")
@login_required
@patient_data
def index():
    if current_user.gp_profile is None:
        abort(404)
    if not services.is_verified_referrer(current_user):
        return render_template("gp_portal/index.html", verified=False, page=None, items=[])
    page = paginate(services.referrals_of_referrer(current_user)
                    .options(joinedload(Referral.gp_profile).joinedload(GPProfile.user)))
    items = page.items
    one = items[0] if len(items) == 1 else None
    audit.record("referral.listed", AuditAction.READ, object_type="referral", basis="referrer",
                 reason=f"{len(items)} results", patient_id=one.patient_id if one else None,
                 network_id=one.network_id if one else None)
    # Rendered before the commit: a commit expires the rows and the template would reload each one.
    html = render_template("gp_portal/index.html", verified=True, page=page, items=items,
                           has_gp=bool(services.gps_for_referrer(current_user)))
    db.session.commit()
    return html


# --- after sending ------------------------------------------------------------------------------

@bp.route("/verwijzingen/<int:referral_id>/bevestiging")
@login_required
def confirmation(referral_id: int):
    """Names the number and the network only (no patient data, so nothing to log)."""
    referral = own_referral(referral_id)
    if referral.status is S.DRAFT:
        return redirect(url_for(".edit_draft", referral_id=referral_id))
    return render_template("gp_portal/confirmation.html", referral=referral)


@bp.route("/verwijzingen/<int:referral_id>")
@login_required
@patient_data
def detail(referral_id: int):
    referral = own_referral(referral_id)
    if referral.status is S.DRAFT:
        return redirect(url_for(".edit_draft", referral_id=referral_id))
    with services.in_network(referral):
        services.log_read(referral, basis="referrer")
        html = render_template("gp_portal/detail.html", referral=referral, labels=LABELS,
                               actions=services.actions_for(referral, Side.REFERRER), answer_form=AnswerForm(),
                               locale=current_locale(), gp_case=gp_case_summary(referral))
        db.session.commit()
    return html


def _transition(referral: Referral, action: Action, text: str, success: str):
    with services.in_network(referral):
        try:
            services.transition(referral, action, actor=current_user, side=Side.REFERRER, text=text)
        except services.IllegalTransition as exc:
            db.session.rollback()
            flash(str(exc), "error")
        else:
            db.session.commit()
            flash(success, "success")
    return redirect(url_for(".detail", referral_id=referral.id))


@bp.route("/verwijzingen/<int:referral_id>/antwoorden", methods=["POST"])
@login_required
@patient_data
def answer(referral_id: int):
    referral = own_referral(referral_id)
    form = AnswerForm()
    if not form.validate_on_submit():
        for error in form.text.errors:
            flash(error, "error")
        return redirect(url_for(".detail", referral_id=referral_id, _anchor="answer"))
    return _transition(referral, Action.ANSWER, form.text.data, _("Your answer is sent to the network."))


@bp.route("/verwijzingen/<int:referral_id>/intrekken", methods=["GET", "POST"])
@login_required
@patient_data
def withdraw(referral_id: int):
    referral = own_referral(referral_id)
    form = WithdrawForm()
    if form.validate_on_submit():
        return _transition(referral, Action.WITHDRAW, form.reason.data or "", _("The referral is withdrawn."))
    if referral.status is S.DRAFT:
        return redirect(url_for(".edit_draft", referral_id=referral_id))
    try:
        services.check_transition(referral, Action.WITHDRAW, Side.REFERRER)
    except services.IllegalTransition as exc:
        flash(str(exc), "error")
        return redirect(url_for(".detail", referral_id=referral_id))
    with services.in_network(referral):
        services.log_read(referral, basis="referrer")
        html = render_template("gp_portal/withdraw.html", referral=referral, form=form)
        db.session.commit()
    return html, 400 if form.errors else 200


@bp.route("/verwijzingen/<int:referral_id>/bijlagen/<int:attachment_id>")
@login_required
@patient_data
def download(referral_id: int, attachment_id: int):
    referral = own_referral(referral_id)
    with services.in_network(referral):
        attachment = attachments.get(referral, attachment_id) or abort(404)
        response = attachments.send(attachment)
        db.session.commit()
    return response
