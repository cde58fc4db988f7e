"""Platform administration: networks and their coordinators, users, failed jobs. No patient data."""
from flask import Blueprint

bp = Blueprint("admin", __name__)

from app.admin.views import approvals, networks  # noqa: E402, F401
