"""Case routes: letters (stubs until built; the signatures are fixed)."""
from __future__ import annotations

from flask_login import login_required

from app.cases import bp
from app.core.audit import patient_data
from app.core.security import require_membership


@bp.route("/<int:case_id>/brieven", methods=["GET"])
@login_required
@require_membership()
@patient_data
def letters(case_id: int):
    raise NotImplementedError


@bp.route("/<int:case_id>/brieven/<int:letter_id>", methods=["GET", "POST"])
@login_required
@require_membership()
@patient_data
def letter_edit(case_id: int, letter_id: int):
    raise NotImplementedError


@bp.route("/<int:case_id>/brieven/<int:letter_id>/verzenden", methods=["POST"])
@login_required
@require_membership()
@patient_data
def letter_send(case_id: int, letter_id: int):
    raise NotImplementedError


@bp.route("/<int:case_id>/brieven/<int:letter_id>/pdf", methods=["GET"])
@login_required
@require_membership()
@patient_data
def letter_pdf(case_id: int, letter_id: int):
    raise NotImplementedError
