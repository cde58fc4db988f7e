"""The network profile and the hospital and GP contacts, kept by the coordinator (criteria 3-10)."""
from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required
from sqlalchemy import select

from app.core.security import require_membership
from app.extensions import db
from app.networks import bp
from app.networks.forms.profile import ContactForm, NetworkProfileForm
from app.networks.models import NetworkContact, Role
from app.networks.services import profile as profile_services
from app.networks.services.profile import CONTACT_FIELDS, PROFILE_FIELDS


def _get_contact_or_404(contact_id: int) -> NetworkContact:
    return db.first_or_404(select(NetworkContact).where(NetworkContact.id == contact_id))


@bp.route("/settings", methods=["GET", "POST"])
@login_required
@require_membership(Role.COORDINATOR)
def settings():
    form = NetworkProfileForm(obj=g.network)  # reads the network to fill the form; never writes back
    if form.validate_on_submit():
        try:
            changed = profile_services.update_profile(
                network=g.network, **{field: getattr(form, field).data for field in PROFILE_FIELDS})
        except profile_services.ServiceAreaError as exc:
            form.service_area.errors.append(str(exc))
        else:
            db.session.commit()
            flash(_("The network profile is saved.") if changed else _("Nothing was changed."), "success")
            return redirect(url_for("networks.settings"))
    return render_template("networks/settings.html", form=form)


@bp.route("/contacts")
@login_required
@require_membership()
def contacts():
    """Every member may read the list; only coordinators change it."""
    items = db.session.scalars(profile_services.contacts_query()).all()
    return render_template("networks/contacts.html", contacts=items)


@bp.route("/contacts/new", methods=["GET", "POST"])
@login_required
@require_membership(Role.COORDINATOR)
def contact_create():
    form = ContactForm()
    if form.validate_on_submit():
        contact = profile_services.create_contact(network=g.network, **_contact_data(form))
        db.session.commit()
        flash(_("%(organisation)s is added.", organisation=contact.organisation), "success")
        return redirect(url_for("networks.contacts"))
    return render_template("networks/contact_form.html", form=form, contact=None)


@bp.route("/contacts/<int:contact_id>/edit", methods=["GET", "POST"])
@login_required
@require_membership(Role.COORDINATOR)
def contact_edit(contact_id: int):
    contact = _get_contact_or_404(contact_id)
    form = ContactForm(obj=contact)
    if form.validate_on_submit():
        profile_services.update_contact(contact, **_contact_data(form))
        db.session.commit()
        flash(_("%(organisation)s is saved.", organisation=contact.organisation), "success")
        return redirect(url_for("networks.contacts"))
    return render_template("networks/contact_form.html", form=form, contact=contact)


@bp.route("/contacts/<int:contact_id>/delete", methods=["GET", "POST"])
@login_required
@require_membership(Role.COORDINATOR)
def contact_delete(contact_id: int):
    """GET asks for confirmation; POST deletes."""
    contact = _get_contact_or_404(contact_id)
    if request.method == "POST":
        organisation = contact.organisation
        profile_services.delete_contact(contact)
        db.session.commit()
        flash(_("%(organisation)s is deleted.", organisation=organisation), "success")
        return redirect(url_for("networks.contacts"))
    return render_template("networks/contact_delete.html", contact=contact)


def _contact_data(form: ContactForm) -> dict:
    return {field: getattr(form, field).data for field in CONTACT_FIELDS}
