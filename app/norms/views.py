"""The norms' pages for the coordinator: the overdue list (and what is due soon) and the network's settings."""
from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from app.core import audit
from app.core.audit import AuditAction, patient_data
from app.core.db import utcnow
from app.core.pagination import paginate
from app.core.security import require_membership
from app.extensions import db
from app.networks.models import Role
from app.norms import bp, services
from app.norms.forms import NormSettingsForm

TABS = ("overdue", "soon")


@bp.route("/", methods=["GET"])
@login_required
@require_membership(Role.COORDINATOR)
@patient_data
def overdue():
    """Open norms past their due moment (or due within two working days), most urgent first, paginated in SQL."""
    tab = request.args.get("tab", "overdue")
    tab = tab if tab in TABS else "overdue"
    now = utcnow()
    query = services.overdue_query(now) if tab == "overdue" else services.due_soon_query(now)
    page = paginate(query)
    referrals = services.referrals_of(page.items)
    patients = {r.patient_id for r in referrals.values()}
    audit.record("norm.listed", AuditAction.READ, object_type="norm_clock",
                 reason=f"{len(page.items)} norms, tab {tab}",
                 patient_id=next(iter(patients)) if len(patients) == 1 else None)
    html = render_template("norms/overdue.html", page=page, tab=tab, now=now, referrals=referrals,
                           overdue_count=services.overdue_count(now) if tab != "overdue" else page.total)
    db.session.commit()
    return html


@bp.route("/instellingen", methods=["GET", "POST"])
@login_required
@require_membership(Role.COORDINATOR)
def settings():
    network = g.network
    form = NormSettingsForm(obj=network)
    if form.validate_on_submit():
        changed = services.save_settings(network, intake_days=form.intake_norm_days.data,
                                         letter_days=form.gp_letter_norm_days.data,
                                         mdo_days=form.mdo_report_norm_days.data)
        if changed:
            audit.record("network.norms_updated", AuditAction.UPDATE, object_type="network", object_id=network.id,
                         reason="changed: " + ", ".join(changed))
        db.session.commit()
        flash(_("The norms are saved. They apply to norms that start from now on."), "success")
        return redirect(url_for("norms.settings"))
    return render_template("norms/settings.html", form=form), 400 if form.errors else 200
