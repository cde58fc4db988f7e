"""The patient's portal (/mijn): their record in plain words, their consents, who looked, their questionnaires,
messages, relatives and data; a relative sees the sections the patient granted and nothing else.

Every page opens the account through services.account_of (the user's own live account; anyone else's id, a
revoked one, or a page the account may not open: a logged 404) and runs inside the account's network.
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager

from flask import Response, abort, flash, g, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from app.cases import proms
from app.cases import services as case_services
from app.cases.access import PortalView, portal_access
from app.cases.export import patient_export
from app.cases.models import CareTeamMember, CaseAction, ConsentPart, Letter, TeamStatus
from app.cases.services import letters as letter_services
from app.cases.views.case import users_by_id
from app.core import audit
from app.core.audit import ACTION_LABELS, OUTCOME_LABELS, AuditAction, patient_data
from app.core.audit_words import event_label
from app.core.i18n import current_locale
from app.core.pagination import paginate
from app.core.pdf import html_to_pdf
from app.core.storage import send_bytes
from app.extensions import db, limiter
from app.patient_portal import bp, services
from app.patient_portal.forms import (
    PLAIN_PART_LABELS,
    ConsentForProposalForm,
    CorrectionForm,
    InviteRelativeForm,
    MessageForm,
    QuestionnaireForm,
    RevokeForm,
    WithdrawOwnForm,
    section_title,
)
from app.patients.models import Patient, PortalAccount, PortalMessageKind
from app.records import display
from app.records import services as record_services


@bp.app_context_processor
def _portal_helpers():
    def has_portal_account() -> bool:
        """For the main navigation: once per request, and only asked outside a network."""
        if not current_user.is_authenticated:
            return False
        if "has_portal_account" not in g:
            g.has_portal_account = services.has_portal_account(current_user)
        return g.has_portal_account
    return {"has_portal_account": has_portal_account}


def _part_label(part) -> str:
    return str(PLAIN_PART_LABELS[ConsentPart(part)])


def _user_key() -> str:
    return f"portal:{current_user.get_id()}"


@contextmanager
def opened(account_id: int, need: str | None = None) -> Iterator[tuple[PortalAccount, PortalView]]:
    """The current user's own live account (and what it may see), inside its network; a logged 404 otherwise.
    *need*: an ability of PortalView the page requires (e.g. "may_manage_consents": the patient's own)."""
    account = services.account_of(current_user, account_id)
    if account is None:
        audit.deny("portal.access_denied", object_type="portal_account", object_id=account_id,
                   reason="not an own live account")
    with services.in_network(account):
        view = portal_access(account)
        if need is not None and not getattr(view, need):
            audit.deny("portal.access_denied", patient_id=account.patient_id, object_type="portal_account",
                       object_id=account.id, reason=need)
        g.portal_role = account.role.value  # the audit rows name the role
        yield account, view


def _read(account: PortalAccount, what: str, *, object_type: str = "portal_account", object_id: int | None = None,
          reason: str = "") -> None:
    audit.record(f"portal.{what}_viewed", AuditAction.READ, patient_id=account.patient_id, object_type=object_type,
                 object_id=object_id if object_id is not None else account.id, basis=str(account.role),
                 reason=reason)


def _page(template: str, account: PortalAccount, view: PortalView, **context):
    patient = db.session.scalar(select(Patient).where(Patient.id == account.patient_id))
    return render_template(template, account=account, view=view, patient=patient,
                           portal_network=services.network_of(account), **context)


@bp.route("/")
@login_required
@patient_data
def index():
    """Every record the user may open, in any network (one is opened straight away)."""
    accounts = services.accounts_of(current_user)
    audit.record("portal.accounts_listed", AuditAction.READ, object_type="portal_account",
                 reason=f"{len(accounts)} accounts")
    rows = []
    for account in accounts:
        with services.in_network(account):
            patient = db.session.scalar(select(Patient).where(Patient.id == account.patient_id))
            rows.append({"account": account, "network": services.network_of(account), "patient": patient})
    db.session.commit()
    if len(rows) == 1:
        return redirect(url_for("patient_portal.record", account_id=rows[0]["account"].id))
    return render_template("patient_portal/index.html", rows=rows)


def _team(case) -> list[dict]:
    """The care team now (on it, accepted), with disciplines and the central care provider first."""
    rows = list(db.session.scalars(select(CareTeamMember).where(CareTeamMember.case_id == case.id,
                                                                CareTeamMember.status == TeamStatus.ACTIVE)))
    locale = current_locale()
    team = [{"name": r.membership.user.full_name, "discipline": case_services.discipline_names(r.membership, locale),
             "central": r.membership_id == case.central_membership_id} for r in rows]
    central = case.central
    if central is not None and not any(t["central"] for t in team):
        team.append({"name": central.user.full_name, "discipline": case_services.discipline_names(central, locale),
                     "central": True})
    return sorted(team, key=lambda t: (not t["central"], t["name"].lower()))


def _central_contact(case) -> dict | None:
    central = case.central if case is not None else None
    if central is None:
        return None
    return {"name": central.user.full_name, "discipline": case_services.discipline_names(central, current_locale()),
            "phone": central.phone if central.phone_is_public else "", "practice": central.practice_name}


@bp.route("/<int:account_id>")
@login_required
@patient_data
def record(account_id: int):
    """My record: the sections the account may see in plain words; for the patient also the team, the next
    steps and the letters to their GP."""
    with opened(account_id) as (account, view):
        referral = services.referral_of(account)
        case = services.case_of(account)
        sections = [(spec, section, display.filled_fields(spec, section.content) if section else [])
                    for spec, section in record_services.sections_for_viewer(account.patient_id,
                                                                             view.visible_sections)]
        context = {"referral": referral, "case": case, "sections": sections, "section_title": section_title}
        if view.is_own_record:
            context["questionnaire_waiting"] = not services.questionnaires_of(account)
            if case is not None:
                context["team"] = _team(case)
                context["central"] = _central_contact(case)
                context["actions"] = list(db.session.scalars(
                    select(CaseAction).where(CaseAction.case_id == case.id, CaseAction.done_at.is_(None))
                    .order_by(CaseAction.due_on, CaseAction.id).limit(20)))
                context["letters"] = list(db.session.scalars(
                    select(Letter).where(Letter.case_id == case.id, Letter.sent_at.is_not(None))
                    .order_by(Letter.sent_at.desc(), Letter.id.desc()).limit(20)))
                context["waiting_proposals"] = len(services.waiting_proposals(case))
        _read(account, "record", reason="sections " + ",".join(sorted(k.value for k in view.visible_sections)))
        html = _page("patient_portal/record.html", account, view, **context)
        db.session.commit()
    return html


@bp.route("/<int:account_id>/brieven/<int:letter_id>")
@login_required
@patient_data
def letter(account_id: int, letter_id: int):
    """A letter the network sent to the patient's GP, as it was sent."""
    with opened(account_id, "may_see_letters") as (account, view):
        case = services.case_of(account) or abort(404)
        sent = db.session.scalar(select(Letter).where(Letter.id == letter_id, Letter.case_id == case.id,
                                                      Letter.sent_at.is_not(None)))
        if sent is None:
            audit.deny("portal.access_denied", patient_id=account.patient_id, object_type="letter",
                       object_id=letter_id, reason="not a sent letter of this record")
        _read(account, "letter", object_type="letter", object_id=sent.id)
        html = _page("patient_portal/letter.html", account, view, letter=sent,
                     **letter_services.letter_context(case))
        db.session.commit()
    return html


# --- consents --------------------------------------------------------------------------------------------------

@bp.route("/<int:account_id>/toestemming")
@login_required
@patient_data
def consents(account_id: int):
    """Who may see which parts of my record, since when; proposals waiting for my yes."""
    with opened(account_id, "may_manage_consents") as (account, view):
        case = services.case_of(account)
        listed = case_services.consents_of(case) if case is not None else []
        waiting = services.waiting_proposals(case) if case is not None else []
        _read(account, "consents")
        html = _page("patient_portal/consents.html", account, view, case=case, consents=listed[::-1],
                     waiting=waiting, users=users_by_id({c.obtained_by_id for c in listed}
                                                        | {c.withdrawn_by_id for c in listed}),
                     part_label=_part_label)
        db.session.commit()
    return html


@bp.route("/<int:account_id>/voorstel/<int:member_id>", methods=["GET", "POST"])
@login_required
@patient_data
def proposal(account_id: int, member_id: int):
    """A care provider proposed for my team: I say yes (a consent I give myself) or leave it."""
    with opened(account_id, "may_manage_consents") as (account, view):
        case = services.case_of(account) or abort(404)
        row = next((r for r in services.waiting_proposals(case) if r.id == member_id), None)
        if row is None:
            audit.deny("portal.access_denied", patient_id=account.patient_id, object_type="care_team_member",
                       object_id=member_id, reason="no proposal waiting for the patient")
        form = ConsentForProposalForm()
        status = 200
        if form.is_submitted():
            status = 400
            if form.validate():
                try:
                    services.consent_for_proposal(account, case, row, parts={ConsentPart(p) for p in form.parts.data},
                                                  valid_until=form.valid_until.data)
                except services.PortalRuleBroken as exc:
                    db.session.rollback()
                    flash(str(exc), "error")
                else:
                    db.session.commit()
                    flash(_("Thank you. %(name)s is asked to join your care team and sees what you chose.",
                            name=row.membership.user.full_name), "success")
                    return redirect(url_for("patient_portal.consents", account_id=account.id))
        _read(account, "proposal", object_type="care_team_member", object_id=row.id)
        html = _page("patient_portal/proposal.html", account, view, row=row, form=form,
                     discipline=case_services.discipline_names(row.membership, current_locale()),
                     proposer=users_by_id([row.proposed_by_id]).get(row.proposed_by_id))
        db.session.commit()
    return html, status


@bp.route("/<int:account_id>/toestemming/<int:consent_id>/intrekken", methods=["GET", "POST"])
@login_required
@limiter.limit("30/hour", methods=["POST"], key_func=_user_key)
@patient_data
def withdraw(account_id: int, consent_id: int):
    """Withdraw a consent myself: it ends now; the covered care providers' next request is refused."""
    with opened(account_id, "may_manage_consents") as (account, view):
        case = services.case_of(account) or abort(404)
        consent = services.own_consent(case, consent_id)
        if consent is None:
            audit.deny("portal.access_denied", patient_id=account.patient_id, object_type="consent",
                       object_id=consent_id, reason="no such consent of this record")
        if consent.withdrawn_at is not None:
            flash(_("This consent was withdrawn already."), "info")
            return redirect(url_for("patient_portal.consents", account_id=account.id))
        form = WithdrawOwnForm()
        status = 200
        if form.is_submitted():
            status = 400
            if form.validate():
                try:
                    services.withdraw_own_consent(account, case, consent, form.reason.data or "")
                except services.PortalRuleBroken as exc:
                    db.session.rollback()
                    flash(str(exc), "error")
                else:
                    db.session.commit()
                    flash(_("Your consent is withdrawn. From now on they no longer see what it shared."),
                          "success")
                    return redirect(url_for("patient_portal.consents", account_id=account.id))
        _read(account, "consent", object_type="consent", object_id=consent.id)
        html = _page("patient_portal/withdraw.html", account, view, consent=consent, form=form,
                     part_label=_part_label)
        db.session.commit()
    return html, status


# --- who looked ------------------------------------------------------------------------------------------------

@bp.route("/<int:account_id>/inzage")
@login_required
@patient_data
def access_log(account_id: int):
    """The NEN 7513 log of my record in plain words, refused attempts included, newest first."""
    with opened(account_id, "may_see_access_log") as (account, view):
        _read(account, "access_log")
        db.session.flush()
        page = paginate(services.access_log_query(account))
        user_ids = {row.user_id for row in page.items if row.user_id}
        users = users_by_id(user_ids)
        memberships = services.memberships_by_user(user_ids)
        locale = current_locale()

        def who(row) -> str:
            if row.user_id == current_user.id:
                return _("You")
            user = users.get(row.user_id)
            if user is None:
                return _("The system")
            membership = memberships.get(row.user_id)
            discipline = case_services.discipline_names(membership, locale) if membership is not None else ""
            if not discipline and row.user_role == "coordinator":
                discipline = _("coordinator")
            elif not discipline and row.user_role == "gp":
                discipline = _("your GP")
            return f"{user.full_name}, {discipline}" if discipline else user.full_name

        html = _page("patient_portal/access_log.html", account, view, page=page, who=who, event_label=event_label,
                     action_labels=ACTION_LABELS, outcome_labels=OUTCOME_LABELS)
        db.session.commit()
    return html


# --- questionnaires --------------------------------------------------------------------------------------------

@bp.route("/<int:account_id>/vragenlijst", methods=["GET", "POST"])
@login_required
@limiter.limit("30/hour", methods=["POST"], key_func=_user_key)
@patient_data
def questionnaire(account_id: int):
    """The distress thermometer and problem list, filled in by the patient (before the intake, and when the
    3-monthly reminder comes)."""
    with opened(account_id, "may_fill_questionnaires") as (account, view):
        form = QuestionnaireForm()
        status = 200
        if form.is_submitted():
            status = 400
            if form.validate():
                try:
                    services.submit_questionnaire(account, score=form.score.data, problems=list(form.problems.data),
                                                  remark=form.remark.data or "")
                except (services.PortalRuleBroken, case_services.CaseRuleBroken) as exc:
                    db.session.rollback()
                    flash(str(exc), "error")
                else:
                    db.session.commit()
                    flash(_("Thank you. Your answers are saved; your care providers see them."), "success")
                    return redirect(url_for("patient_portal.questionnaire", account_id=account.id))
        earlier = services.questionnaires_of(account)
        _read(account, "questionnaires")
        html = _page("patient_portal/questionnaire.html", account, view, form=form, earlier=earlier,
                     categories=proms.PROBLEM_CATEGORIES, problem_label=proms.problem_label)
        db.session.commit()
    return html, status


# --- relatives -------------------------------------------------------------------------------------------------

@bp.route("/<int:account_id>/naasten", methods=["GET", "POST"])
@login_required
@limiter.limit("20/hour", methods=["POST"], key_func=_user_key)
@patient_data
def relatives(account_id: int):
    """The patient lets a relative or representative in, to the parts they choose; and sees who is in."""
    with opened(account_id, "may_invite_relatives") as (account, view):
        form = InviteRelativeForm()
        status = 200
        if form.is_submitted():
            status = 400
            if form.validate():
                try:
                    services.invite_relative(account, email=form.email.data, full_name=form.full_name.data,
                                             relation=form.relation.data or "", sections=form.sections.data,
                                             locale=form.locale.data)
                except services.PortalRuleBroken as exc:
                    db.session.rollback()
                    form.email.errors.append(str(exc))
                else:
                    db.session.commit()
                    flash(_("%(name)s is invited. They see only what you chose.", name=form.full_name.data.strip()),
                          "success")
                    return redirect(url_for("patient_portal.relatives", account_id=account.id))
        _read(account, "relatives")
        html = _page("patient_portal/relatives.html", account, view, form=form,
                     relatives=services.relatives_of(account), section_title=section_title)
        db.session.commit()
    return html, status


@bp.route("/<int:account_id>/naasten/<int:relative_id>/intrekken", methods=["GET", "POST"])
@login_required
@patient_data
def relative_revoke(account_id: int, relative_id: int):
    with opened(account_id, "may_invite_relatives") as (account, view):
        relative = next((r for r in services.relatives_of(account) if r.id == relative_id), None)
        if relative is None:
            audit.deny("portal.access_denied", patient_id=account.patient_id, object_type="portal_account",
                       object_id=relative_id, reason="not a relative of this record")
        if relative.revoked_at is not None:
            flash(_("This access has ended already."), "info")
            return redirect(url_for("patient_portal.relatives", account_id=account.id))
        form = RevokeForm()
        status = 200
        if form.is_submitted():
            status = 400
            if form.validate():
                services.revoke(relative, current_user)
                db.session.commit()
                flash(_("%(name)s no longer sees your record.", name=relative.user.full_name), "success")
                return redirect(url_for("patient_portal.relatives", account_id=account.id))
        _read(account, "relative", object_id=relative.id)
        html = _page("patient_portal/relative_revoke.html", account, view, relative=relative, form=form,
                     section_title=section_title)
        db.session.commit()
    return html, status


# --- messages and my data --------------------------------------------------------------------------------------

@bp.route("/<int:account_id>/berichten", methods=["GET", "POST"])
@login_required
@limiter.limit("60/hour", methods=["POST"], key_func=_user_key)
@patient_data
def messages(account_id: int):
    """My thread with the central care provider."""
    with opened(account_id, "may_message") as (account, view):
        referral = services.referral_of(account)
        form = MessageForm()
        status = 200
        if form.is_submitted():
            status = 400
            if form.validate():
                try:
                    services.add_message(referral, current_user, form.body.data, from_patient=True)
                except services.PortalRuleBroken as exc:
                    db.session.rollback()
                    form.body.errors.append(str(exc))
                else:
                    db.session.commit()
                    flash(_("Your message is sent."), "success")
                    return redirect(url_for("patient_portal.messages", account_id=account.id))
        thread = services.messages_of(referral.id)
        _read(account, "messages")
        html = _page("patient_portal/messages.html", account, view, form=form, thread=thread,
                     central=_central_contact(services.case_of(account)))
        db.session.commit()
    return html, status


@bp.route("/<int:account_id>/gegevens", methods=["GET", "POST"])
@login_required
@limiter.limit("20/hour", methods=["POST"], key_func=_user_key)
@patient_data
def my_data(account_id: int):
    """Download everything; ask for a correction (it reaches the coordinator)."""
    with opened(account_id, "may_download") as (account, view):
        form = CorrectionForm()
        status = 200
        if form.is_submitted():
            status = 400
            if form.validate():
                try:
                    services.add_message(services.referral_of(account), current_user, form.correction.data,
                                         from_patient=True, kind=PortalMessageKind.CORRECTION)
                except services.PortalRuleBroken as exc:
                    db.session.rollback()
                    form.correction.errors.append(str(exc))
                else:
                    db.session.commit()
                    flash(_("Your request is sent to the coordinator of the network. You get an answer in your "
                            "messages."), "success")
                    return redirect(url_for("patient_portal.my_data", account_id=account.id))
        _read(account, "my_data")
        html = _page("patient_portal/my_data.html", account, view, form=form)
        db.session.commit()
    return html, status


def _export(account: PortalAccount, fmt: str) -> dict:
    patient = db.session.scalar(select(Patient).where(Patient.id == account.patient_id))
    audit.record("patient.exported", AuditAction.EXPORT, patient_id=patient.id, object_type="patient",
                 object_id=patient.id, basis="patient", reason=f"right of access, own download, {fmt}")
    return patient_export(patient)


@bp.route("/<int:account_id>/gegevens/export.json")
@login_required
@limiter.limit("20/hour", key_func=_user_key)
@patient_data
def export_json(account_id: int):
    with opened(account_id, "may_download") as (account, _view):
        data = _export(account, "json")
        db.session.commit()
    body = json.dumps(data, ensure_ascii=False, indent=2)
    return Response(body, mimetype="application/json", headers={
        "Content-Disposition": 'attachment; filename="mijn-gegevens.json"', "X-Content-Type-Options": "nosniff"})


@bp.route("/<int:account_id>/gegevens/export.pdf")
@login_required
@limiter.limit("20/hour", key_func=_user_key)
@patient_data
def export_pdf(account_id: int):
    with opened(account_id, "may_download") as (account, _view):
        data = _export(account, "pdf")
        pdf = html_to_pdf(render_template("patients/export_pdf.html", data=data))
        db.session.commit()
    return send_bytes(pdf, mimetype="application/pdf", download_name="mijn-gegevens.pdf")
