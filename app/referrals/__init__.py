"""GP referrals: the domain (models, services), the network's inbox (coordinators), dashboard and reminders.
The GP's and practice nurse's side is the GP portal (app/gp_portal), which builds on this package."""
from flask import Blueprint

bp = Blueprint("referrals", __name__)  # /n/<network_slug>/referrals: coordinators

from app.referrals import jobs, views  # noqa: E402, F401 - jobs registers its job handler
