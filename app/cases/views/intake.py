"""Case routes: intake (stubs until built; the signatures are fixed)."""
from __future__ import annotations

from flask_login import login_required

from app.cases import bp
from app.core.audit import patient_data
from app.core.security import require_membership


@bp.route("/intake/<int:referral_id>", methods=["GET", "POST"])
@login_required
@require_membership()
@patient_data
def intake(referral_id: int):
    raise NotImplementedError


@bp.route("/<int:case_id>/intake/<int:version>", methods=["GET"])
@login_required
@require_membership()
@patient_data
def intake_version(case_id: int, version: int):
    raise NotImplementedError


@bp.route("/<int:case_id>/intake/correctie", methods=["POST"])
@login_required
@require_membership()
@patient_data
def intake_correct(case_id: int):
    raise NotImplementedError
