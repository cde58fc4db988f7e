"""The coordinator's page of the network's connected systems (/n/<network_slug>/koppelingen): register one (the
secret is shown once), see which are connected, disconnect one after a confirmation. The GP's own page is in the GP
portal (app/gp_portal/views/systems.py); both use app.fhir.clients."""
from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.core.security import require_membership
from app.extensions import db
from app.fhir import clients
from app.fhir.forms import SCOPE_LABELS, RevokeSystemForm, SystemForm
from app.networks.models import Role

bp = Blueprint("systems", __name__)  # /n/<network_slug>/koppelingen


def render_systems(form, rows, *, revoke_endpoint: str, created=None, status: int = 200):
    return render_template("fhir/systems.html", form=form, rows=rows, created=created, labels=SCOPE_LABELS,
                           revoke_endpoint=revoke_endpoint), status


def revoke_page(client, *, back_endpoint: str):
    """Disconnect *client* after a confirmation (its tokens stop on the next request), then back to the list."""
    form = RevokeSystemForm()
    if form.validate_on_submit():
        clients.revoke_client(client, by=current_user)
        db.session.commit()
        flash(_("The system is disconnected; its tokens no longer work."), "success")
        return redirect(url_for(back_endpoint))
    return render_template("fhir/system_revoke.html", client=client, form=form, back=url_for(back_endpoint)), (
        400 if form.errors else 200)


def register_from_form(form, **where):
    """Register the posted system; (client, secret) or None with the refusal flashed."""
    try:
        client, secret = clients.register_client(registered_by=current_user, name=form.name.data,
                                                 scopes=form.scopes.data or [], **where)
    except clients.RegistrationRefused:
        db.session.rollback()
        flash(_("This system cannot be registered this way."), "error")
        return None
    db.session.commit()
    return client, secret


@bp.route("/", methods=["GET", "POST"])
@login_required
@require_membership(Role.COORDINATOR)
def index():
    form = SystemForm(allowed=clients.NETWORK_SCOPES)
    created = None
    if form.validate_on_submit():
        made = register_from_form(form, network=g.network)
        if made is not None:
            created = {"name": made[0].name, "client_id": made[0].client_id, "secret": made[1]}
            form = SystemForm(formdata=None, allowed=clients.NETWORK_SCOPES)
    return render_systems(form, clients.clients_of_network(g.network.id), revoke_endpoint="systems.revoke",
                          created=created, status=400 if form.errors else 200)


@bp.route("/<int:api_client_id>/ontkoppelen", methods=["GET", "POST"])
@login_required
@require_membership(Role.COORDINATOR)
def revoke(api_client_id: int):
    client = clients.network_client(g.network.id, api_client_id) or abort(404)
    return revoke_page(client, back_endpoint="systems.index")
