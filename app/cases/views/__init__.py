"""Case routes (/n/<network_slug>/cases/...), split by sub-workflow. Every route loads its case through
_common.load_case, the one place that asks app.cases.access and answers 404 (logged) when refused.
The GP's side of the case lives on the referrer's blueprint (app/cases/gp_views.py)."""
from app.cases import gp_views  # noqa: F401
from app.cases.views import case, closing, consent, intake, letters, notes, proms, team  # noqa: F401
