"""Case routes (/n/<network_slug>/cases/...), split by sub-workflow. Every route loads its case through
_common.load_case, the one place that asks app.cases.access and answers 404 (logged) when refused.
The GP's side of the case lives in the GP portal (app/gp_portal/views/case.py)."""
from app.cases.views import case, closing, consent, intake, letters, notes, proms, record, team  # noqa: F401
