"""Case routes: consent (stubs until built; the signatures are fixed)."""
from __future__ import annotations

from flask_login import login_required

from app.cases import bp
from app.core.audit import patient_data
from app.core.security import require_membership


@bp.route("/<int:case_id>/toestemming", methods=["GET", "POST"])
@login_required
@require_membership()
@patient_data
def consents(case_id: int):
    raise NotImplementedError


@bp.route("/<int:case_id>/toestemming/<int:consent_id>/intrekken", methods=["GET", "POST"])
@login_required
@require_membership()
@patient_data
def consent_withdraw(case_id: int, consent_id: int):
    raise NotImplementedError


@bp.route("/<int:case_id>/toestemming/<int:consent_id>/document", methods=["GET"])
@login_required
@require_membership()
@patient_data
def consent_document(case_id: int, consent_id: int):
    raise NotImplementedError


@bp.route("/<int:case_id>/toestemming/overzicht", methods=["GET"])
@login_required
@require_membership()
@patient_data
def consent_overview(case_id: int):
    raise NotImplementedError


@bp.route("/<int:case_id>/toestemming/export.csv", methods=["GET"])
@login_required
@require_membership()
@patient_data
def consent_export(case_id: int):
    raise NotImplementedError
