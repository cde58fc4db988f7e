"""Shared by the portal's pages: the template helpers, the rate-limit key and the access check on a
referral (404 if not own)."""
from __future__ import annotations

from flask import abort
from flask_login import current_user

from app.gp_portal import bp
from app.referrals import services
from app.referrals.models import Referral, ReferralStatus

S = ReferralStatus


@bp.app_context_processor
def _referrer_helpers():
    # The public network page shows "Refer a patient" only to those who may.
    return {"is_verified_referrer": services.is_verified_referrer}


def listed_patient_name(referral: Referral) -> str:
    """The patient's name for lists: a draft's name is still in the form input it keeps."""
    if referral.status is not S.DRAFT:
        return referral.patient_name
    data = referral.draft_data or {}

    def first(key: str) -> str:
        value = data.get(key) or ""
        return str(value[0] if isinstance(value, list) and value else value).strip()

    return f"{first('given_name')} {first('family_name')}".strip()


@bp.context_processor
def _page_helpers():
    return {"patient_name": listed_patient_name}


# --- access -------------------------------------------------------------------------------------

def user_key() -> str:
    """Rate limits per signed-in user."""
    return f"user:{current_user.get_id()}"


def require_referrer() -> None:
    if not services.is_verified_referrer(current_user):
        abort(404)


def own_referral(referral_id: int) -> Referral:
    """The referral when the current user is its GP or typed it; 404 for everyone else."""
    require_referrer()
    referral = services.referral_for_referrer(current_user, referral_id)
    if referral is None:
        abort(404)
    return referral
