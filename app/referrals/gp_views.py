"""The referrer's side: the form per network, drafts, confirmation, own referrals (/verwijzer/...)."""
from __future__ import annotations

from flask_login import login_required

from app.core.audit import patient_data
from app.referrals import gp_bp


@gp_bp.route("/<int:referral_id>")
@login_required
@patient_data
def detail(referral_id: int):
    raise NotImplementedError
