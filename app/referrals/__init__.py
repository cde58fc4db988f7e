"""GP referrals: the network's inbox (coordinators) and the referrer's side (GPs and practice nurses)."""
from flask import Blueprint

bp = Blueprint("referrals", __name__)  # /n/<network_slug>/referrals: coordinators
gp_bp = Blueprint("gp_referrals", __name__)  # /verwijzer/verwijzingen: the referrer's own referrals

from app.referrals import gp_views, inbox_views, jobs  # noqa: E402, F401 - jobs registers its job handler
