"""A network (tenant): its start page, members and roles, and its audit log."""
from flask import Blueprint

bp = Blueprint("networks", __name__)

from app.networks.views import home, members, profile  # noqa: E402, F401
