"""The network's side of the patient portal (/n/<network_slug>/portaal/verwijzing/<referral_id>): the coordinator
invites the patient and ends an account; the coordinator and the central care provider read and answer the
patient's messages and correction requests. Anyone else: a logged 404."""
from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from app.core import audit
from app.core.audit import AuditAction, patient_data
from app.core.security import require_membership
from app.extensions import db
from app.networks.models import Role
from app.patient_portal import network_bp as bp
from app.patient_portal import services
from app.patient_portal.forms import InvitePatientForm, MessageForm, RevokeForm, section_title
from app.patients.models import Patient
from app.referrals.models import Referral


def _form_keys() -> set[str]:
    """Which of the page's two forms was sent (their fields carry a prefix)."""
    return set(request.form)


def _referral(referral_id: int) -> Referral:
    """The referral of this network whose portal the member may open (coordinator, central care provider)."""
    referral = db.session.scalar(select(Referral).where(Referral.id == referral_id))
    if referral is None or not services.network_may_open(referral, g.membership):
        audit.deny("portal.access_denied", patient_id=referral.patient_id if referral else None,
                   object_type="referral", object_id=referral_id, reason="network side of the patient portal")
    return referral


@bp.route("/verwijzing/<int:referral_id>", methods=["GET", "POST"])
@login_required
@require_membership()
@patient_data
def referral_portal(referral_id: int):
    """Who takes part through the portal, the invitation, and the thread with the patient."""
    referral = _referral(referral_id)
    is_coordinator = g.membership.role is Role.COORDINATOR
    patient = db.session.scalar(select(Patient).where(Patient.id == referral.patient_id))
    invite_form = InvitePatientForm(prefix="invite", full_name=patient.full_name)
    message_form = MessageForm(prefix="message")
    status = 200
    if invite_form.is_submitted() and "invite-email" in _form_keys():
        status = 400
        if not is_coordinator:
            audit.deny("portal.access_denied", patient_id=referral.patient_id, object_type="referral",
                       object_id=referral.id, reason="only the coordinator invites")
        if invite_form.validate():
            try:
                services.invite_patient(referral, current_user, email=invite_form.email.data,
                                        full_name=invite_form.full_name.data, locale=invite_form.locale.data)
            except services.PortalRuleBroken as exc:
                db.session.rollback()
                invite_form.email.errors.append(str(exc))
            else:
                db.session.commit()
                flash(_("The invitation is sent. The patient sets a password and two-step verification."),
                      "success")
                return redirect(url_for("portal_network.referral_portal", referral_id=referral.id))
    elif message_form.is_submitted() and "message-body" in _form_keys():
        status = 400
        if message_form.validate():
            try:
                services.add_message(referral, current_user, message_form.body.data, from_patient=False)
            except services.PortalRuleBroken as exc:
                db.session.rollback()
                message_form.body.errors.append(str(exc))
            else:
                db.session.commit()
                flash(_("Your answer is sent; the patient gets a mail that there is a new message."), "success")
                return redirect(url_for("portal_network.referral_portal", referral_id=referral.id))
    audit.record("portal.network_side_viewed", AuditAction.READ, patient_id=referral.patient_id,
                 object_type="referral", object_id=referral.id, basis=str(g.membership.role))
    html = render_template("patient_portal/network.html", referral=referral, patient=patient,
                           accounts=services.accounts_for_referral(referral.id),
                           thread=services.messages_of(referral.id), invite_form=invite_form,
                           message_form=message_form, is_coordinator=is_coordinator,
                           invitable=referral.status in services.INVITABLE,
                           case=services.case_services.case_for_referral(referral.id), section_title=section_title)
    db.session.commit()
    return html, status


@bp.route("/verwijzing/<int:referral_id>/toegang/<int:account_id>/intrekken", methods=["GET", "POST"])
@login_required
@require_membership(Role.COORDINATOR)
@patient_data
def revoke_account(referral_id: int, account_id: int):
    """End a patient's or relative's access to the portal (a patient's takes the relatives' with it)."""
    referral = _referral(referral_id)
    account = next((a for a in services.accounts_for_referral(referral.id) if a.id == account_id), None)
    if account is None:
        audit.deny("portal.access_denied", patient_id=referral.patient_id, object_type="portal_account",
                   object_id=account_id, reason="not an account of this referral")
    back = redirect(url_for("portal_network.referral_portal", referral_id=referral.id))
    if account.revoked_at is not None:
        flash(_("This access has ended already."), "info")
        return back
    form = RevokeForm()
    status = 200
    if form.is_submitted():
        status = 400
        if form.validate():
            services.revoke(account, current_user)
            db.session.commit()
            flash(_("The access has ended. %(name)s no longer sees the record.", name=account.user.full_name),
                  "success")
            return back
    audit.record("portal.network_side_viewed", AuditAction.READ, patient_id=referral.patient_id,
                 object_type="portal_account", object_id=account.id, basis="coordinator")
    html = render_template("patient_portal/network_revoke.html", referral=referral, account=account, form=form,
                           section_title=section_title)
    db.session.commit()
    return html, status
