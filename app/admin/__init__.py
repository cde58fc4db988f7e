"""Platform administration: networks and their coordinators, users, failed jobs. No patient data."""
from flask import Blueprint

bp = Blueprint("admin", __name__)


@bp.context_processor
def _audit_alarm() -> dict:
    """Every admin page says so when the last check found the audit chain broken (base.html shows it)."""
    from app.core.audit_integrity import chain_alarm

    return {"audit_alarm": chain_alarm()}


from app.admin.views import approvals, networks  # noqa: E402, F401
