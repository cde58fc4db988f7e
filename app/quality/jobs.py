"""The snapshot PDF job: ids in, runs inside the snapshot's network (the outbox gives it), idempotent."""
from __future__ import annotations

from typing import Any

from flask import render_template
from flask_babel import force_locale

from app.auth.models import User
from app.core.jobs import job_handler
from app.core.pdf import html_to_pdf
from app.extensions import db
from app.networks.models import Network
from app.quality.checks import Status
from app.quality.models import SelfCheckSnapshot, SnapshotPdfStatus


def _progress(snapshot: SelfCheckSnapshot, status: SnapshotPdfStatus, percent: int) -> None:
    # Committed at once so the snapshot page (polling) shows it; the PDF fields are not frozen.
    snapshot.pdf_status, snapshot.pdf_progress = status, percent
    db.session.commit()


def _name(user_id: int) -> str:
    user = db.session.get(User, user_id)
    return user.full_name if user is not None else ""


@job_handler("snapshot_pdf")
def render_snapshot_pdf(payload: dict[str, Any]) -> None:
    """Render the snapshot report to UPLOAD_DIR/<network>/<name>: queued -> running 10/50/90 -> done.

    A snapshot that is done (or gone) is left alone. On an error the status becomes failed and
    the error is raised again, so the outbox retries (a retry renders from the start).
    """
    snapshot = db.session.get(SelfCheckSnapshot, int(payload["snapshot_id"]))
    if snapshot is None or snapshot.pdf_status is SnapshotPdfStatus.DONE:
        return
    snapshot_id = snapshot.id
    try:
        _progress(snapshot, SnapshotPdfStatus.RUNNING, 10)
        network = db.session.get(Network, snapshot.network_id)
        locale = (snapshot.results[0].get("locale") if snapshot.results else None) or network.default_locale
        with force_locale(locale):
            html = render_template("quality/snapshot_pdf.html", snapshot=snapshot, network=network,
                                   locale=locale, Status=Status, taken_by=_name(snapshot.taken_by_id))
        _progress(snapshot, SnapshotPdfStatus.RUNNING, 50)
        pdf = html_to_pdf(html)
        _progress(snapshot, SnapshotPdfStatus.RUNNING, 90)
        snapshot.store_file(pdf)
        snapshot.pdf_status, snapshot.pdf_progress = SnapshotPdfStatus.DONE, 100
        db.session.flush()  # the outbox commits this together with marking its row done
    except Exception:
        db.session.rollback()
        failed = db.session.get(SelfCheckSnapshot, snapshot_id)
        if failed is not None:
            _progress(failed, SnapshotPdfStatus.FAILED, failed.pdf_progress)
        raise
