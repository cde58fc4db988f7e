"""The case behind a referral (/verwijzer/verwijzingen/<referral_id>/brieven|vraag): a sent letter, a question.

The GP is not a network member: the only door is referral_services.referral_for_referrer (the GP of the
referral or the practice nurse who typed it); everything else runs inside the referral's network. Anyone
else, a referral without a case, a draft letter or another case's letter: 404.
"""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.cases import services
from app.cases.services import letters
from app.core import audit
from app.core.audit import AuditAction, patient_data
from app.core.storage import PDF, send_stored
from app.extensions import db
from app.gp_portal import bp
from app.gp_portal.forms import MdoInputForm, QuestionForm
from app.gp_portal.services import case as gp_case
from app.gp_portal.views._common import own_referral
from app.palliative import mdo as mdo_services
from app.palliative.services import PalliativeRuleBroken
from app.referrals import services as referral_services


@bp.route("/verwijzingen/<int:referral_id>/brieven/<int:letter_id>")
@login_required
@patient_data
def case_letter(referral_id: int, letter_id: int):
    """A sent letter of this referral's case: the stored PDF, or the letter as a page while it is made."""
    referral = own_referral(referral_id)
    with referral_services.in_network(referral):
        case = gp_case.case_of_referral(referral) or abort(404)
        letter = gp_case.sent_letter(case, letter_id) or abort(404)
        path = letter.stored_file_path()
        if path is not None and path.is_file():
            audit.record("letter.downloaded", AuditAction.EXPORT, patient_id=case.patient_id, object_type="letter",
                         object_id=letter.id, basis="referrer", network_id=case.network_id)
            name = f"{referral.number}-{letter.kind.value}-{letter.id}.pdf"
            db.session.commit()
            return send_stored(path, mimetype=PDF, download_name=name)
        audit.record("letter.viewed", AuditAction.READ, patient_id=case.patient_id, object_type="letter",
                     object_id=letter.id, basis="referrer", network_id=case.network_id)
        html = render_template("gp_portal/letter_view.html", letter=letter, **letters.letter_context(case))
        db.session.commit()
    return html


@bp.route("/verwijzingen/<int:referral_id>/vraag", methods=["POST"])
@login_required
@patient_data
def case_question(referral_id: int):
    """The GP asks the central care provider a question (the provider gets a mail without patient data)."""
    referral = own_referral(referral_id)
    form = QuestionForm()
    with referral_services.in_network(referral):
        case = gp_case.case_of_referral(referral) or abort(404)
        if not form.validate_on_submit():
            for error in form.body.errors or [_("Write your question.")]:
                flash(str(error), "error")
            return redirect(url_for("gp_portal.detail", referral_id=referral.id, _anchor="case-questions"))
        try:
            services.add_case_message(case, current_user, form.body.data, from_gp=True)
        except services.CaseRuleBroken as exc:
            db.session.rollback()
            flash(str(exc), "error")
        else:
            db.session.commit()
            flash(_("Your question is sent to the central care provider."), "success")
    return redirect(url_for("gp_portal.detail", referral_id=referral.id, _anchor="case-questions"))


@bp.route("/verwijzingen/<int:referral_id>/mdo/<int:discussion_id>", methods=["POST"])
@login_required
@patient_data
def case_mdo_input(referral_id: int, discussion_id: int):
    """The GP's input before a multidisciplinary meeting they were asked for (the central care provider is told)."""
    referral = own_referral(referral_id)
    form = MdoInputForm()
    with referral_services.in_network(referral):
        case = gp_case.case_of_referral(referral) or abort(404)
        found = mdo_services.get_discussion(case, discussion_id)
        if found is None or not found[0].gp_asked:
            abort(404)
        discussion, _meeting = found
        if not form.validate_on_submit():
            for errors in form.errors.values():
                for error in errors:
                    flash(str(error), "error")
            return redirect(url_for("gp_portal.detail", referral_id=referral.id, _anchor="mdo"))
        try:
            mdo_services.give_gp_input(case, current_user, discussion, home_situation=form.home_situation.data,
                                       patient_wishes=form.patient_wishes.data)
        except PalliativeRuleBroken as exc:
            db.session.rollback()
            flash(str(exc), "error")
        else:
            db.session.commit()
            flash(_("Thank you: your input is with the team before the meeting."), "success")
    return redirect(url_for("gp_portal.detail", referral_id=referral.id, _anchor="mdo"))
