"""Case routes: proms (stubs until built; the signatures are fixed)."""
from __future__ import annotations

from flask_login import login_required

from app.cases import bp
from app.core.audit import patient_data
from app.core.security import require_membership


@bp.route("/<int:case_id>/lastmeter", methods=["GET", "POST"])
@login_required
@require_membership()
@patient_data
def proms(case_id: int):
    raise NotImplementedError
