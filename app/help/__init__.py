"""In-app help: the role guides of docs/guides rendered inside the app, and the help link of each page."""
from flask import Blueprint

bp = Blueprint("help", __name__)

from app.help import views  # noqa: E402, F401
