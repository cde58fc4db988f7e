"""The network's referral inbox, detail and the coordinator's actions (/n/<slug>/referrals/...)."""
from __future__ import annotations

from flask_login import login_required

from app.core.audit import patient_data
from app.core.security import require_membership
from app.networks.models import Role
from app.referrals import bp


@bp.route("/<int:referral_id>")
@login_required
@require_membership(Role.COORDINATOR)
@patient_data
def detail(referral_id: int):
    raise NotImplementedError
