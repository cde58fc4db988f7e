"""The single intake and the shared case: care team, consent, notes, actions, measurements, letters."""
from flask import Blueprint

bp = Blueprint("cases", __name__)  # /n/<network_slug>/cases

from app.cases import views  # noqa: E402, F401
