"""Platform admin: approving applications to start a network."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from app.admin import bp
from app.core.security import require_platform_admin
from app.directory import services as directory_services
from app.extensions import db
from app.networks.models import Network


@bp.route("/networks/<int:network_id>/approve", methods=["GET", "POST"])
@login_required
@require_platform_admin
def approve_network(network_id: int):
    """GET asks for confirmation; POST approves. Approval does not make the network public."""
    network = db.get_or_404(Network, network_id)
    if request.method == "POST":
        if directory_services.approve_network(network=network):
            db.session.commit()
            flash(_("%(name)s is approved.", name=network.name), "success")
        else:
            flash(_("%(name)s was approved already.", name=network.name), "info")
        return redirect(url_for("admin.networks"))
    return render_template("admin/network_approve.html", application=network,
                           coordinators=directory_services.coordinators_of(network))
