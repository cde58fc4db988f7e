"""The GP's side of the case, on the referrer's blueprint (/verwijzer/verwijzingen/<referral_id>/...).

The GP is not a network member: the only door is referral_services.referral_for_referrer (the GP of the
referral or the practice nurse who typed it); everything else runs inside the referral's network. Anyone
else, a referral without a case, a draft letter or another case's letter: 404.
"""
from __future__ import annotations

import io

from flask import abort, flash, redirect, render_template, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import TextAreaField
from wtforms.validators import DataRequired, Length

from app.cases import gp, services
from app.cases.services import letters
from app.core import audit
from app.core.audit import AuditAction, patient_data
from app.extensions import db
from app.quality.evidence import stored_path
from app.referrals import gp_bp
from app.referrals import services as referral_services
from app.referrals.models import Referral
from app.referrer.services import is_verified_referrer


class QuestionForm(FlaskForm):
    body = TextAreaField(_l("Your question"), validators=[DataRequired(), Length(max=5000)])


def _own_referral(referral_id: int) -> Referral:
    if not is_verified_referrer(current_user):
        abort(404)
    referral = referral_services.referral_for_referrer(current_user, referral_id)
    if referral is None:
        abort(404)
    return referral


@gp_bp.route("/<int:referral_id>/brieven/<int:letter_id>")
@login_required
@patient_data
def case_letter(referral_id: int, letter_id: int):
    """A sent letter of this referral's case: the stored PDF, or the letter as a page while it is made."""
    referral = _own_referral(referral_id)
    with referral_services.in_network(referral):
        case = gp.case_of_referral(referral) or abort(404)
        letter = gp.sent_letter(case, letter_id) or abort(404)
        path = stored_path(letter.network_id, letter.pdf_storage) if letter.pdf_storage else None
        if path is not None and path.is_file():
            audit.record("letter.downloaded", AuditAction.EXPORT, patient_id=case.patient_id, object_type="letter",
                         object_id=letter.id, basis="referrer", network_id=case.network_id)
            name = f"{referral.number}-{letter.kind.value}-{letter.id}.pdf"
            db.session.commit()
            response = send_file(io.BytesIO(path.read_bytes()), mimetype="application/pdf", as_attachment=True,
                                 download_name=name, max_age=0)
            response.headers["X-Content-Type-Options"] = "nosniff"
            return response
        audit.record("letter.viewed", AuditAction.READ, patient_id=case.patient_id, object_type="letter",
                     object_id=letter.id, basis="referrer", network_id=case.network_id)
        html = render_template("cases/letter_view.html", letter=letter, **letters.letter_context(case))
        db.session.commit()
    return html


@gp_bp.route("/<int:referral_id>/vraag", methods=["POST"])
@login_required
@patient_data
def case_question(referral_id: int):
    """The GP asks the central care provider a question (the provider gets a mail without patient data)."""
    referral = _own_referral(referral_id)
    form = QuestionForm()
    with referral_services.in_network(referral):
        case = gp.case_of_referral(referral) or abort(404)
        if not form.validate_on_submit():
            for error in form.body.errors or [_("Write your question.")]:
                flash(str(error), "error")
            return redirect(url_for("gp_referrals.detail", referral_id=referral.id, _anchor="case-questions"))
        try:
            services.add_case_message(case, current_user, form.body.data, from_gp=True)
        except services.CaseRuleBroken as exc:
            db.session.rollback()
            flash(str(exc), "error")
        else:
            db.session.commit()
            flash(_("Your question is sent to the central care provider."), "success")
    return redirect(url_for("gp_referrals.detail", referral_id=referral.id, _anchor="case-questions"))
