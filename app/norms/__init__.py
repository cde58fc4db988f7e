"""The norms between the care lines, tracked (issue 13 section 3): a clock per norm on each case, the overdue list,
the reminder job and the share within the norm on the dashboard."""
from flask import Blueprint

bp = Blueprint("norms", __name__)  # /n/<network_slug>/normen


@bp.app_template_global()
def case_norm_clocks(case, access):
    """The case's norm clocks for the letters page: for those who send the letters (coordinator, central care
    provider); [] for everyone else."""
    from app.norms.services import clocks_of_case

    if access is None or not access.may_send_letters:
        return []
    return clocks_of_case(case)


@bp.app_template_global()
def norm_figures_for_dashboard():
    """The share within each norm for the referral dashboard (a coordinator's page): the last 12 months."""
    from app.core.dates import shift_months
    from app.core.db import utcnow
    from app.norms.services import norm_figures

    now = utcnow()
    return norm_figures(since=shift_months(now, -12), now=now)


from app.norms import views  # noqa: E402, F401
