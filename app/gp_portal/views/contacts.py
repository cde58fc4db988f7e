"""The network's "who for what" directory for the GPs who refer to it (/verwijzer/netwerken/<slug>/wie-waarvoor).

No patient data. A GP reads it only for a network where they have sent a referral (the same named bypass as
their own referrals: referral_services.referrals_of_referrer); any other network answers 404.
"""
from __future__ import annotations

from flask import abort, render_template
from flask_login import current_user, login_required

from app.core.pagination import paginate
from app.core.tenancy import network_context
from app.gp_portal import bp
from app.gp_portal.views._common import require_referrer
from app.palliative import services as palliative_services


@bp.route("/netwerken/<slug>/wie-waarvoor")
@login_required
def network_contacts(slug: str):
    require_referrer()
    network = palliative_services.referrer_network(current_user, slug[:60]) or abort(404)
    with network_context(network.id):
        page = paginate(palliative_services.contacts_query())
        return render_template("palliative/gp_contacts.html", network=network, page=page)
