"""Meetings of a network (network meeting, MDO, training), attendance, participation and the
yearly self-check reminder job."""
from flask import Blueprint

bp = Blueprint("meetings", __name__)

from app.meetings import reminders, views  # noqa: E402, F401 - reminders registers its job handler
