"""Referrers (GPs and practice nurses): self-registration, email verification, practice links."""
from flask import Blueprint

bp = Blueprint("referrer", __name__)

from app.referrer import views  # noqa: E402, F401
