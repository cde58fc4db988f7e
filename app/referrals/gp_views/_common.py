"""Shared by the referrer's pages: the template helpers and the access check on a referral (404 if not own)."""
from __future__ import annotations

from flask import abort
from flask_login import current_user

from app.referrals import gp_bp, services
from app.referrals.models import Referral, ReferralStatus
from app.referrals.services import is_verified_referrer

S = ReferralStatus


@gp_bp.app_context_processor
def _referrer_helpers():
    # The public network page shows "Refer a patient" only to those who may.
    return {"is_verified_referrer": is_verified_referrer}


def listed_patient_name(referral: Referral) -> str:
    """The patient's name for lists: a draft's name is still in the form input it keeps."""
    if referral.status is not S.DRAFT:
        return referral.patient_name
    data = referral.draft_data or {}

    def first(key: str) -> str:
        value = data.get(key) or ""
        return str(value[0] if isinstance(value, list) and value else value).strip()

    return f"{first('given_name')} {first('family_name')}".strip()


@gp_bp.context_processor
def _page_helpers():
    return {"patient_name": listed_patient_name}


# --- access -------------------------------------------------------------------------------------

def _require_referrer() -> None:
    if not is_verified_referrer(current_user):
        abort(404)


def _own_referral(referral_id: int) -> Referral:
    """The referral when the current user is its GP or typed it; 404 for everyone else."""
    _require_referrer()
    referral = services.referral_for_referrer(current_user, referral_id)
    if referral is None:
        abort(404)
    return referral
