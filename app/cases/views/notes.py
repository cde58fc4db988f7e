"""Case routes: notes (stubs until built; the signatures are fixed)."""
from __future__ import annotations

from flask_login import login_required

from app.cases import bp
from app.core.audit import patient_data
from app.core.security import require_membership


@bp.route("/<int:case_id>/notities", methods=["GET", "POST"])
@login_required
@require_membership()
@patient_data
def notes(case_id: int):
    raise NotImplementedError


@bp.route("/<int:case_id>/notities/<int:note_id>", methods=["GET", "POST"])
@login_required
@require_membership()
@patient_data
def note_edit(case_id: int, note_id: int):
    raise NotImplementedError


@bp.route("/<int:case_id>/acties", methods=["GET", "POST"])
@login_required
@require_membership()
@patient_data
def actions(case_id: int):
    raise NotImplementedError


@bp.route("/<int:case_id>/acties/<int:action_id>/klaar", methods=["POST"])
@login_required
@require_membership()
@patient_data
def action_done(case_id: int, action_id: int):
    raise NotImplementedError
