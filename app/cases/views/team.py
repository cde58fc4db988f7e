"""Care-team routes of a case: the proposal, proposing a colleague (with consent), the central care provider."""
from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.auth.models import User
from app.cases import bp, services
from app.cases.access import covering_consents
from app.cases.forms import CentralForm, ConsentFieldsForm, ProposeForm, RespondForm
from app.cases.models import CareTeamMember, Case, Consent, ConsentMember, TeamStatus
from app.cases.services import CaseRuleBroken
from app.cases.views._common import load_case, log_read
from app.cases.views.case import central_choices, member_discipline_names, render_detail, team_of, users_by_id
from app.core import audit
from app.core.audit import patient_data
from app.core.bounded import db_int
from app.core.dates import local_today
from app.core.security import require_membership
from app.core.storage import MAX_UPLOAD_BYTES, PDF, read_upload, sniff_content_type, store_bytes
from app.extensions import db
from app.networks.models import Membership, Role

# --- recording consent from a form -------------------------------------------------------------------

def store_consent_document(form: ConsentFieldsForm, network_id: int) -> tuple[str, str] | None:
    """Check the optional signed document (PDF by its first bytes, at most 10 MB) and store it.

    Returns (display name, storage name), ("", "") without a file, or None with an error on the field."""
    upload = form.consent_document.data
    if upload is None or not getattr(upload, "filename", ""):
        return "", ""
    data = read_upload(upload.stream, MAX_UPLOAD_BYTES)
    message = None
    if len(data) > MAX_UPLOAD_BYTES:
        message = _("The file is larger than %(mb)d MB. Upload a smaller file.", mb=MAX_UPLOAD_BYTES // 2**20)
    elif not data:
        message = _("The file is empty.")
    elif sniff_content_type(data[:16]) != PDF:
        message = _("Only a PDF file is accepted; this file is not a PDF.")
    if message:
        form.consent_document.errors = [*form.consent_document.errors, message]
        return None
    base = (upload.filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    stem = "".join(c for c in base if c.isprintable() and c not in '"<>;')[:150].rsplit(".", 1)[0]
    return (stem or "toestemming") + ".pdf", store_bytes(network_id, data)


def record_consent_from_form(case: Case, form: ConsentFieldsForm, membership_ids: list[int]) -> Consent | None:
    """services.record_consent with the form's fields; None (errors on the form) when the document is refused.
    Raises CaseRuleBroken like the service."""
    key = (form.consent_key.data or "")[:64]
    earlier = services.consent_by_key(case, key)
    if earlier is not None:
        return earlier  # the same form again (double click, retry): recorded once, no second document stored
    document = store_consent_document(form, case.network_id)
    if document is None:
        return None
    return services.record_consent(case, current_user, method=form.consent_method_value(),
                                   purpose=form.consent_purpose.data or "", membership_ids=membership_ids,
                                   parts=form.consent_parts_set(), valid_until=form.consent_valid_until.data,
                                   document_name=document[0], document_storage=document[1], submission_key=key)


def _rule_broken(exc: CaseRuleBroken) -> None:
    db.session.rollback()
    flash(str(exc), "error")


# --- the proposal --------------------------------------------------------------------------------------------

@bp.route("/<int:case_id>/voorstel", methods=["GET"])
@login_required
@require_membership()
@patient_data
def proposal(case_id: int):
    """What a proposed member sees before accepting: who asks, why, and the consent that covers them.
    The coordinator and the team see the open proposals of the case here too. No intake, no notes."""
    case, access = load_case(case_id, allow_proposed=True)
    if access.may_respond_to_proposal:
        rows = [access.team_member]
    else:
        rows = [row for row in team_of(case) if row.status is TeamStatus.PROPOSED]
    consents = {row.id: covering_consents(case, row.membership_id) for row in rows}
    users = users_by_id([*(row.proposed_by_id for row in rows),
                         *(c.obtained_by_id for found in consents.values() for c in found)])
    log_read(case, access, "proposal", object_type="care_team_member",
             object_id=rows[0].id if len(rows) == 1 else None)
    html = render_template("cases/proposal.html", case=case, access=access, patient=case.patient, rows=rows,
                           consents=consents, users=users,
                           form=RespondForm(formdata=None), discipline_names=member_discipline_names)
    db.session.commit()
    return html


@bp.route("/<int:case_id>/team/<int:member_id>/antwoord", methods=["POST"])
@login_required
@require_membership()
@patient_data
def team_respond(case_id: int, member_id: int):
    case, access = load_case(case_id, allow_proposed=True)
    row = access.team_member
    if (not access.may_respond_to_proposal or row is None or row.id != member_id
            or row.membership_id != g.membership.id):
        audit.deny("case.access_denied", patient_id=case.patient_id, object_type="care_team_member",
                   object_id=member_id, reason="not the proposed member")
    form = RespondForm()
    answer = request.form.get("answer")
    if not form.validate_on_submit() or answer not in ("accept", "decline"):
        flash(_("Choose to accept or to decline."), "error")
        return redirect(url_for("cases.proposal", case_id=case.id))
    try:
        services.respond_to_proposal(row, current_user, accept=answer == "accept")
    except CaseRuleBroken as exc:
        _rule_broken(exc)
        return redirect(url_for("cases.index"))
    db.session.commit()
    if answer == "accept":
        flash(_("You are on the care team now."), "success")
        return redirect(url_for("cases.detail", case_id=case.id))
    flash(_("You declined. The colleague who asked you can see that on the case."), "success")
    return redirect(url_for("cases.index"))


# --- proposing a colleague ---------------------------------------------------------------------------------

def _candidates(case: Case) -> list[Membership]:
    """Active members of the network who are not on the care team and not proposed."""
    on_team = select(CareTeamMember.membership_id).where(
        CareTeamMember.case_id == case.id, CareTeamMember.status.in_((TeamStatus.ACTIVE, TeamStatus.PROPOSED)))
    return list(db.session.scalars(
        select(Membership).join(User, User.id == Membership.user_id)
        .where(Membership.role == Role.MEMBER, Membership.is_active.is_(True), Membership.id.not_in(on_team))
        .options(selectinload(Membership.disciplines)).order_by(User.full_name, Membership.id)))


def _covered_ids(case: Case) -> set[int]:
    """Members named by a live consent of this case (to say so in the list; the door decides on POST)."""
    today = local_today()
    return set(db.session.scalars(
        select(ConsentMember.membership_id)
        .join(Consent, (Consent.id == ConsentMember.consent_id) & (Consent.network_id == ConsentMember.network_id))
        .where(Consent.case_id == case.id, Consent.withdrawn_at.is_(None),
               (Consent.valid_until.is_(None)) | (Consent.valid_until >= today))))


@bp.route("/<int:case_id>/team/voorstellen", methods=["GET", "POST"])
@login_required
@require_membership()
@patient_data
def team_propose(case_id: int):
    case, access = load_case(case_id)
    if not access.may_propose:
        if access.case_open:
            audit.deny("case.access_denied", patient_id=case.patient_id, object_type="case", object_id=case.id,
                       reason="propose: not on the care team")
        flash(_("The case is closed."), "error")
        return redirect(url_for("cases.detail", case_id=case.id))
    candidates = _candidates(case)
    covered = _covered_ids(case)
    form = ProposeForm()
    recorded = _("consent recorded")
    form.membership_id.choices = [("", _("Choose...")), *[
        (m.id, f"{m.user.full_name}, {member_discipline_names(m)}" + (f" ({recorded})" if m.id in covered else ""))
        for m in candidates]]
    status = 200
    if form.is_submitted():
        status = 400
        already = _already_asked(case, request.form.get("membership_id", type=db_int))
        if already is not None:  # a double click or a retry: the first submission did the work
            flash(_("%(name)s is already asked to join the care team.", name=already.membership.user.full_name),
                  "info")
            return redirect(url_for("cases.detail", case_id=case.id), code=303)
        if form.validate():
            chosen = next((m for m in candidates if m.id == form.membership_id.data), None)
            created = _propose(case, form, chosen)
            if created:
                waiting = services.waits_for_patient(case, chosen.id)
                db.session.commit()
                if waiting:
                    flash(_("The patient is asked in their portal whether %(name)s may join; %(name)s gets a mail "
                            "after the patient's yes.", name=chosen.user.full_name), "success")
                else:
                    flash(_("%(name)s is asked to join the care team and gets a mail.", name=chosen.user.full_name),
                          "success")
                return redirect(url_for("cases.detail", case_id=case.id))
    log_read(case, access, "team_propose")
    html = render_template("cases/propose.html", case=case, access=access, patient=case.patient, form=form,
                           covered=covered, has_candidates=bool(candidates),
                           patient_decides=services.patient_decides_in_portal(case))
    db.session.commit()
    return html, status


def _already_asked(case: Case, membership_id: int | None):
    """The care-team row of this colleague when they are proposed or on the team already."""
    return services.active_team_member(case, membership_id) if membership_id else None


def _propose(case: Case, form: ProposeForm, chosen: Membership | None) -> bool:
    """Record the consent (when none covers the colleague yet), then the proposal. False: errors shown."""
    if chosen is None:
        form.membership_id.errors = [*form.membership_id.errors, _("Choose the colleague to involve.")]
        return False
    needs_consent = not covering_consents(case, chosen.id)
    if needs_consent and form.wait_for_patient.data and services.patient_decides_in_portal(case):
        try:
            services.propose_member(case, current_user, chosen, reason=form.reason.data or "",
                                    role_in_case=form.role_in_case.data or "", wait_for_patient=True)
        except CaseRuleBroken as exc:
            _rule_broken(exc)
            return False
        return True
    if needs_consent and not form.require_consent():
        flash(_("No consent covers %(name)s yet: record the patient's consent in this form.",
                name=chosen.user.full_name), "error")
        return False
    try:
        if needs_consent and record_consent_from_form(case, form, [chosen.id]) is None:
            db.session.rollback()
            return False
        services.propose_member(case, current_user, chosen, reason=form.reason.data or "",
                                role_in_case=form.role_in_case.data or "")
    except CaseRuleBroken as exc:
        _rule_broken(exc)
        return False
    return True


# --- the central care provider ----------------------------------------------------------------------------

@bp.route("/<int:case_id>/centrale-zorgverlener", methods=["POST"])
@login_required
@require_membership()
@patient_data
def central_set(case_id: int):
    case, access = load_case(case_id)
    if not access.may_set_central_care_provider and access.case_open:  # closed: the service says so
        audit.deny("case.access_denied", patient_id=case.patient_id, object_type="case", object_id=case.id,
                   reason="set central: not coordinator or central care provider")
    form = CentralForm()
    form.membership_id.choices = central_choices(case, team_of(case))
    if form.validate_on_submit():
        chosen = db.session.scalar(select(Membership).where(Membership.id == form.membership_id.data))
        try:
            services.set_central(case, current_user, chosen, form.reason.data or "")
        except CaseRuleBroken as exc:
            _rule_broken(exc)
        else:
            db.session.commit()
            flash(_("%(name)s is the central care provider.", name=chosen.user.full_name), "success")
            return redirect(url_for("cases.detail", case_id=case.id, _anchor="central"))
    else:
        flash(_("Choose the central care provider from the list."), "error")
    html = render_detail(case, access, central_form=form)
    db.session.commit()
    return html, 400
