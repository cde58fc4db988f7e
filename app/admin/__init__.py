"""Platform administration: networks and their coordinators, users, failed jobs. No patient data."""
from flask import Blueprint

bp = Blueprint("admin", __name__)

from app.admin import approval_views, views  # noqa: E402, F401
