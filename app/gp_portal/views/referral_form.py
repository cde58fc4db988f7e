"""The referral form (/verwijzer/verwijzingen/nieuw|concept/...): a new referral, a draft to edit or discard,
saving and submitting."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.datastructures import MultiDict

from app.auth.models import GPProfile
from app.core.audit import patient_data
from app.core.bounded import db_int
from app.core.i18n import current_locale
from app.core.tenancy import network_context
from app.extensions import db
from app.gp_portal import bp
from app.gp_portal.forms import (
    KEY_RE,
    ConfirmForm,
    ReferralForm,
    draft_data_from_request,
    form_data_from_referral,
    submission_from_form,
)
from app.gp_portal.views._common import S, own_referral, require_referrer
from app.networks.models import Network
from app.networks.services.memberships import disciplines_query
from app.referrals import attachments, services
from app.referrals.models import Referral

# --- access -------------------------------------------------------------------------------------

def _own_draft(referral_id: int) -> Referral | None:
    """The user's own draft; None when it was submitted meanwhile (the caller redirects to it)."""
    referral = own_referral(referral_id)
    if referral.status is not S.DRAFT:
        return None
    if referral.submitted_by_id != current_user.id:
        abort(404)
    return referral


# --- the form -----------------------------------------------------------------------------------

def _build_form(gps: list[GPProfile], formdata=None) -> ReferralForm:
    kwargs = {"formdata": formdata} if formdata is not None else {}
    return ReferralForm(gps=gps, disciplines=list(db.session.scalars(disciplines_query())),
                        locale=current_locale(), choose_gp=current_user.gp_profile.is_poh, **kwargs)


def _chosen_gp(form: ReferralForm, gps: list[GPProfile]) -> GPProfile:
    """The GP chosen in the form; for a draft with no (valid) choice, the first one allowed."""
    chosen = form.on_behalf_of.data if "on_behalf_of" in form else None
    return next((gp for gp in gps if gp.id == chosen), gps[0])


def _render_form(network: Network, form: ReferralForm, draft: Referral | None):
    # Without JavaScript a GP adds rows by saving: keep two empty rows below the filled ones.
    rows = form.medications
    while len(rows) < rows.max_entries and sum(not (e.form.name.data or "").strip() for e in rows) < 2:
        rows.append_entry()
    return render_template("gp_portal/form.html", network=network, form=form, draft=draft,
                           stored=draft.attachments if draft is not None else [],
                           is_poh=current_user.gp_profile.is_poh)


def _no_gp():
    return render_template("gp_portal/no_gp.html")


@bp.route("/verwijzingen/nieuw/<slug>", methods=["GET", "POST"])
@login_required
@patient_data
def new(slug: str):
    """A new referral to the network *slug*; ?van=<id> copies one of the user's referrals (forwarded)."""
    require_referrer()
    network = services.referable_network(slug[:60]) or abort(404)
    gps = services.gps_for_referrer(current_user)
    if not gps:
        return _no_gp()
    if request.method == "POST":
        return _handle_post(network, _build_form(gps), gps, key=request.form.get("submission_key"))
    source_id, prefill = _prefill()
    form = _build_form(gps, MultiDict(prefill) if prefill else None)
    form.submission_key.data = services.new_submission_key()
    form.van.data = str(source_id or "")
    return _render_form(network, form, None)


def _prefill() -> tuple[int | None, dict | None]:
    """The form input copied from the referral named by ?van= (the user's own, submitted; the read is
    logged), with its id; (None, None) without one."""
    source_id = request.args.get("van", type=db_int)
    source = services.referral_for_referrer(current_user, source_id) if source_id else None
    if source is None or source.status is S.DRAFT:
        return None, None
    with services.in_network(source):
        services.log_read(source, basis="referrer")
        data = form_data_from_referral(source)
        db.session.commit()
    return source_id, data


@bp.route("/verwijzingen/concept/<int:referral_id>", methods=["GET", "POST"])
@login_required
@patient_data
def edit_draft(referral_id: int):
    draft = _own_draft(referral_id)
    if draft is None:
        return redirect(url_for(".detail", referral_id=referral_id))
    network = services.referable_network(draft.network.slug) or abort(404)
    gps = services.gps_for_referrer(current_user)
    if not gps:
        return _no_gp()
    if request.method == "POST":
        return _handle_post(network, _build_form(gps), gps, key=draft.submission_key)
    form = _build_form(gps, MultiDict(draft.draft_data or {}))
    form.submission_key.data = draft.submission_key
    with services.in_network(draft):
        services.log_read(draft, basis="referrer")
        html = _render_form(network, form, draft)
        db.session.commit()
    return html


def _handle_post(network: Network, form: ReferralForm, gps: list[GPProfile], *, key: str | None):
    """Save the draft ("draft") or submit ("submit"). A key that was submitted before (double click,
    back button, retry) only leads to that referral's confirmation: nothing is stored twice."""
    if not key or not KEY_RE.match(key):
        key = services.new_submission_key()  # a page without a key (should not happen): start afresh
    form.submission_key.data = key
    gp_profile = _chosen_gp(form, gps)
    draft_data = draft_data_from_request(form, request.form)
    draft_data["submission_key"] = [key]
    with network_context(network.id):
        try:
            existing = services.find_by_key(current_user, key)
            if existing is not None and existing.status is not S.DRAFT:
                return redirect(url_for(".confirmation", referral_id=existing.id))
            if existing is not None:
                _remove_ticked(existing)
            if request.form.get("action") == "submit":
                return _submit(network, form, gp_profile, key, existing, draft_data)
            return _save_draft(form, gp_profile, key, draft_data)
        except services.KeyConflict:  # someone else's key: as if it did not exist
            db.session.rollback()
            abort(404)


def _remove_ticked(draft: Referral) -> None:
    """Letters of the draft the user ticked to remove (a checkbox per letter: no nested forms, no script)."""
    for attachment_id in set(request.form.getlist("remove_attachment", type=db_int)):
        attachment = attachments.get(draft, attachment_id)
        if attachment is not None:
            attachments.remove(attachment)


def _store_uploads(draft: Referral, uploads) -> list[str]:
    problems = []
    for upload in uploads:
        try:
            attachments.add(draft, upload, current_user)
        except attachments.AttachmentError as exc:
            problems.append(str(exc))
    return problems


def _save_draft(form: ReferralForm, gp_profile: GPProfile, key: str, draft_data: dict):
    draft = services.save_draft(user=current_user, gp_profile=gp_profile, submission_key=key, form_data=draft_data)
    problems = _store_uploads(draft, [upload for upload, _problem in form.checked_uploads()])
    draft_id = draft.id
    db.session.commit()
    for problem in problems:
        flash(problem, "error")
    flash(_("Your draft is saved. Nothing has been sent to the network yet."), "success")
    return redirect(url_for(".edit_draft", referral_id=draft_id))


def _submit(network: Network, form: ReferralForm, gp_profile: GPProfile, key: str, existing: Referral | None,
            draft_data: dict):
    form.existing_attachments = attachments.count(existing) if existing is not None else 0
    if not form.validate():
        # Nothing is lost: the input as typed and the valid letters are kept with the draft.
        draft = services.save_draft(user=current_user, gp_profile=gp_profile, submission_key=key,
                                    form_data=draft_data)
        _store_uploads(draft, form.valid_uploads())  # refused files are named next to the field already
        html = _render_form(network, form, draft)
        db.session.commit()
        return html, 400
    if form.valid_uploads():
        draft = services.save_draft(user=current_user, gp_profile=gp_profile, submission_key=key,
                                    form_data=draft_data)
        if draft.status is S.DRAFT:  # a concurrent request may have submitted the key meanwhile
            _store_uploads(draft, form.valid_uploads())
    fields, medications, discipline_ids = submission_from_form(form)
    referral, created = services.submit(user=current_user, gp_profile=gp_profile, submission_key=key, fields=fields,
                                        medications=medications, discipline_ids=discipline_ids)
    if created:
        _link_forwarded(referral, form.van.data)
    referral_id = referral.id
    db.session.commit()
    return redirect(url_for(".confirmation", referral_id=referral_id))


def _link_forwarded(referral: Referral, source_id: str | None) -> None:
    """Remember which forwarded referral this one continues, when the user's own was forwarded here.
    (Belongs in services.submit as an argument; kept here until the service takes it.)"""
    if not source_id:
        return
    source = services.referral_for_referrer(current_user, int(source_id))
    if source is not None and source.status is S.FORWARDED and source.forwarded_to_network_id == referral.network_id:
        referral.forwarded_from_referral_id = source.id


@bp.route("/verwijzingen/concept/<int:referral_id>/verwijderen", methods=["GET", "POST"])
@login_required
@patient_data
def discard_draft(referral_id: int):
    draft = _own_draft(referral_id)
    if draft is None:
        return redirect(url_for(".detail", referral_id=referral_id))
    form = ConfirmForm()
    with services.in_network(draft):
        if form.validate_on_submit():
            attachments.purge_draft(draft)
            services.discard_draft(draft, current_user)
            db.session.commit()
            flash(_("The draft is discarded."), "success")
            return redirect(url_for(".index"))
        services.log_read(draft, basis="referrer")
        html = render_template("gp_portal/discard.html", draft=draft, form=form)
        db.session.commit()
    return html
