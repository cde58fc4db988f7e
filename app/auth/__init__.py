"""Accounts: login with TOTP, logout, password reset, invitations, account settings."""
from flask import Blueprint

bp = Blueprint("auth", __name__)

from app.auth import views  # noqa: E402, F401
