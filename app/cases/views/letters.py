"""Case routes: letters to the GP (list, edit while a draft, send, PDF) and the GP's question thread.

Only the coordinator and the case's central care provider handle letters and answer the GP; for every
other member (also on the care team) these routes are a logged 404, like any refused case access.
"""
from __future__ import annotations

import io
from datetime import timedelta

from flask import abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import BooleanField, TextAreaField
from wtforms.validators import DataRequired, Length

from app.cases import bp, services
from app.cases.access import CaseAccess
from app.cases.models import Case, Letter
from app.cases.services import letters as letter_service
from app.cases.views._common import load_case, log_read
from app.core import audit
from app.core.audit import AuditAction, patient_data
from app.core.db import utcnow
from app.core.security import require_membership
from app.extensions import db

# While a sent letter's PDF is missing, the list refreshes itself for this long; after that it says so.
PDF_WAIT = timedelta(minutes=15)


class LetterForm(FlaskForm):
    body = TextAreaField(_l("Letter text"), validators=[DataRequired(), Length(max=20000)])


class SendLetterForm(FlaskForm):
    confirm = BooleanField(_l("I checked the letter; send it to the GP. A sent letter cannot be changed."),
                           validators=[DataRequired(_l("Tick the box to confirm sending."))])


class DraftForm(FlaskForm):
    """Only the CSRF token: drafting a letter is one button."""


class AnswerForm(FlaskForm):
    body = TextAreaField(_l("Your answer"), validators=[DataRequired(), Length(max=5000)])


def _load(case_id: int) -> tuple[Case, CaseAccess]:
    """The case, for its coordinator or its central care provider; a logged 404 for everyone else."""
    case, access = load_case(case_id)
    if not access.may_send_letters:
        audit.deny("case.access_denied", patient_id=case.patient_id, object_type="case", object_id=case.id,
                   reason="letters: neither coordinator nor central care provider")
    return case, access


def _letter(case: Case, letter_id: int) -> Letter:
    letter = letter_service.get_letter(case, letter_id)
    if letter is None:
        audit.deny("case.access_denied", patient_id=case.patient_id, object_type="letter", object_id=letter_id,
                   reason=f"no such letter in case {case.id}")
    return letter


def _waiting(letter: Letter) -> bool:
    """Sent, PDF not there yet, and recently enough that the page should keep refreshing."""
    return (letter.sent_at is not None and not letter.pdf_storage
            and utcnow() - letter.sent_at < PDF_WAIT)


@bp.route("/<int:case_id>/brieven", methods=["GET"])
@login_required
@require_membership()
@patient_data
def letters(case_id: int):
    case, access = _load(case_id)
    rows = letter_service.letters_of(case)
    log_read(case, access, "letters")
    html = render_template("cases/letters.html", case=case, access=access, letters=rows,
                           busy=any(_waiting(letter) for letter in rows), waiting=_waiting,
                           draft_form=DraftForm(formdata=None))
    db.session.commit()
    return html


@bp.route("/<int:case_id>/brieven/nieuw", methods=["POST"])
@login_required
@require_membership()
@patient_data
def letter_new(case_id: int):
    """Draft a letter on a significant change (the palliative phase marked, a new central care provider, a stop of
    treatment): it lists the changes since the last letter; edit it, then send it."""
    case, access = _load(case_id)
    if not DraftForm().validate_on_submit():
        flash(_("The form has expired. Try again."), "error")
        return redirect(url_for("cases.letters", case_id=case.id))
    if not access.case_open:
        flash(_("The case is closed."), "error")
        return redirect(url_for("cases.letters", case_id=case.id))
    try:
        letter = letter_service.draft_update_letter(case, current_user)
    except letter_service.LetterRuleBroken as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(url_for("cases.letters", case_id=case.id))
    db.session.commit()
    flash(_("A draft is ready. Check and complete it, then send it."), "success")
    return redirect(url_for("cases.letter_edit", case_id=case.id, letter_id=letter.id))


@bp.route("/<int:case_id>/brieven/<int:letter_id>", methods=["GET", "POST"])
@login_required
@require_membership()
@patient_data
def letter_edit(case_id: int, letter_id: int):
    """GET shows the letter (editable while a draft) with a preview; POST saves ("save") or only
    previews the typed text ("preview")."""
    case, access = _load(case_id)
    letter = _letter(case, letter_id)
    form = LetterForm(obj=letter)
    preview_text = letter.body
    status = 200
    if request.method == "POST":
        if letter.sent_at is not None:
            db.session.rollback()
            flash(_("A sent letter is not changed."), "error")
            return redirect(url_for("cases.letter_edit", case_id=case.id, letter_id=letter.id)), 303
        if form.validate_on_submit():
            if request.form.get("action") == "preview":
                preview_text = form.body.data.strip()
                log_read(case, access, "letter", object_type="letter", object_id=letter.id)
            else:
                try:
                    letter_service.edit_letter(letter, current_user, form.body.data)
                except letter_service.LetterRuleBroken as exc:
                    db.session.rollback()
                    flash(str(exc), "error")
                else:
                    db.session.commit()
                    flash(_("The letter is saved."), "success")
                return redirect(url_for("cases.letter_edit", case_id=case.id, letter_id=letter.id))
        else:
            status = 400
            log_read(case, access, "letter", object_type="letter", object_id=letter.id)
    else:
        log_read(case, access, "letter", object_type="letter", object_id=letter.id)
    html = render_template("cases/letter_edit.html", case=case, access=access, letter=letter, form=form,
                           send_form=SendLetterForm(formdata=None), preview_text=preview_text,
                           pdf_ready=letter_service.pdf_ready(letter), waiting=_waiting(letter),
                           referral=case.referral)
    db.session.commit()
    return html, status


@bp.route("/<int:case_id>/brieven/<int:letter_id>/verzenden", methods=["POST"])
@login_required
@require_membership()
@patient_data
def letter_send(case_id: int, letter_id: int):
    """Send a draft after the confirmation box is ticked: marked sent, the PDF made by a job, the GP
    told by a mail that holds no patient data."""
    case, _access = _load(case_id)
    letter = _letter(case, letter_id)
    form = SendLetterForm()
    if not form.validate_on_submit():
        for error in form.confirm.errors or [_("Tick the box to confirm sending.")]:
            flash(str(error), "error")
        return redirect(url_for("cases.letter_edit", case_id=case.id, letter_id=letter.id, _anchor="send"))
    try:
        letter_service.send_letter(letter, current_user)
    except letter_service.LetterRuleBroken as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(url_for("cases.letter_edit", case_id=case_id, letter_id=letter_id))
    db.session.commit()
    flash(_("The letter is sent. The GP gets a notification; the PDF is being prepared."), "success")
    return redirect(url_for("cases.letters", case_id=case_id))


@bp.route("/<int:case_id>/brieven/<int:letter_id>/pdf", methods=["GET"])
@login_required
@require_membership()
@patient_data
def letter_pdf(case_id: int, letter_id: int):
    """The stored PDF of a sent letter (404 until the job made it)."""
    case, access = _load(case_id)
    letter = _letter(case, letter_id)
    path = letter_service.pdf_path(letter)
    if path is None:
        abort(404)
    audit.record("letter.downloaded", AuditAction.EXPORT, patient_id=case.patient_id, object_type="letter",
                 object_id=letter.id, basis=access.basis[:60])
    db.session.commit()
    response = send_file(io.BytesIO(path.read_bytes()), mimetype="application/pdf", as_attachment=True,
                         download_name=f"{letter.kind.value}-{case.id}-{letter.id}.pdf", max_age=0)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.route("/<int:case_id>/huisarts", methods=["GET", "POST"])
@login_required
@require_membership()
@patient_data
def gp_thread(case_id: int):
    """The GP's questions and the answers of the central care provider (or coordinator), in one thread.
    An answer mails the GP a notification without patient data."""
    case, access = _load(case_id)
    form = AnswerForm()
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                services.add_case_message(case, current_user, form.body.data, from_gp=False)
            except services.CaseRuleBroken as exc:
                db.session.rollback()
                flash(str(exc), "error")
            else:
                db.session.commit()
                flash(_("Your answer is sent; the GP gets a notification."), "success")
                return redirect(url_for("cases.gp_thread", case_id=case_id))
        status = 400
    messages = services.case_messages(case)
    log_read(case, access, "gp_thread")
    html = render_template("cases/letters_gp_thread.html", case=case, access=access, messages=messages, form=form,
                           referral=case.referral)
    db.session.commit()
    return html, status
