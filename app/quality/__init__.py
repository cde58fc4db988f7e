"""The NVPO quality self-check: criteria checks, evidence, frozen snapshots and their PDF report."""
from flask import Blueprint

bp = Blueprint("quality", __name__)

from app.quality import jobs, views  # noqa: E402, F401 - routes and the snapshot_pdf job handler
