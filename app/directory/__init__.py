"""The public directory of networks (no sign-in) and applying to start a network."""
from flask import Blueprint

bp = Blueprint("directory", __name__)

from app.directory import views  # noqa: E402, F401
