"""The single intake and the shared case: care team, consent, notes, actions, measurements, letters."""
from flask import Blueprint

bp = Blueprint("cases", __name__)  # /n/<network_slug>/cases

from app.cases import jobs, views  # noqa: E402, F401 - jobs registers its job handler
