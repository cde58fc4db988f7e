"""Case routes: case (stubs until built; the signatures are fixed)."""
from __future__ import annotations

from flask_login import login_required

from app.cases import bp
from app.core.audit import patient_data
from app.core.security import require_membership


@bp.route("/", methods=["GET"])
@login_required
@require_membership()
@patient_data
def index():
    raise NotImplementedError


@bp.route("/<int:case_id>", methods=["GET"])
@login_required
@require_membership()
@patient_data
def detail(case_id: int):
    raise NotImplementedError


@bp.route("/<int:case_id>/voorstel", methods=["GET"])
@login_required
@require_membership()
@patient_data
def proposal(case_id: int):
    raise NotImplementedError


@bp.route("/<int:case_id>/team/voorstellen", methods=["GET", "POST"])
@login_required
@require_membership()
@patient_data
def team_propose(case_id: int):
    raise NotImplementedError


@bp.route("/<int:case_id>/team/<int:member_id>/antwoord", methods=["POST"])
@login_required
@require_membership()
@patient_data
def team_respond(case_id: int, member_id: int):
    raise NotImplementedError


@bp.route("/<int:case_id>/centrale-zorgverlener", methods=["POST"])
@login_required
@require_membership()
@patient_data
def central_set(case_id: int):
    raise NotImplementedError
