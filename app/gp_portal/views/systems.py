"""The GP's connected systems (/verwijzer/koppelingen): the GP's own information system sends referrals and reads
their status and letters over the FHIR API; register it (the secret is shown once), disconnect it."""
from __future__ import annotations

from flask import abort
from flask_login import current_user, login_required

from app.auth.models import ReferrerKind
from app.fhir import clients
from app.fhir.forms import SystemForm
from app.fhir.systems_views import register_from_form, render_systems, revoke_page
from app.gp_portal import bp
from app.referrals.services import is_verified_referrer


def _verified_gp() -> None:
    """A GP (not a practice nurse) with a verified account; 404 for anyone else."""
    profile = current_user.gp_profile
    if profile is None or profile.kind is not ReferrerKind.GP or not is_verified_referrer(current_user):
        abort(404)


@bp.route("/koppelingen", methods=["GET", "POST"])
@login_required
def systems():
    _verified_gp()
    form = SystemForm(allowed=clients.GP_SCOPES)
    created = None
    if form.validate_on_submit():
        made = register_from_form(form)
        if made is not None:
            created = {"name": made[0].name, "client_id": made[0].client_id, "secret": made[1]}
            form = SystemForm(formdata=None, allowed=clients.GP_SCOPES)
    return render_systems(form, clients.clients_of_owner(current_user), revoke_endpoint="gp_portal.system_revoke",
                          created=created, status=400 if form.errors else 200)


@bp.route("/koppelingen/<int:api_client_id>/ontkoppelen", methods=["GET", "POST"])
@login_required
def system_revoke(api_client_id: int):
    _verified_gp()
    client = clients.owned_client(current_user, api_client_id) or abort(404)
    return revoke_page(client, back_endpoint="gp_portal.systems")
