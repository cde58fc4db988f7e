"""Meetings of a network (network meeting, MDO, training), attendance, participation and the
yearly self-check reminder job."""
from flask import Blueprint

bp = Blueprint("meetings", __name__)

from app.meetings import jobs, views  # noqa: E402, F401 - jobs registers its job handler
