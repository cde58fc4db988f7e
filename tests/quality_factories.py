"""Factories for the quality self-check tests (evidence and snapshots), shared with the guard walks."""
from __future__ import annotations

from app.core.db import utcnow
from app.core.storage import store_bytes
from app.core.tenancy import network_context
from app.extensions import db
from app.networks.models import Membership
from app.quality.models import Evidence, SelfCheckSnapshot, SnapshotPdfStatus
from app.quality.services import current_criteria_set

FAKE_PDF = b"%PDF-1.4\n% a stand-in report written by the test factory\n%%EOF\n"


def make_evidence(by: Membership, *, code: str = "4", text: str = "Onze visie", data: bytes | None = None,
                  file_name: str = "visie.pdf", content_type: str = "application/pdf") -> Evidence:
    """Evidence of *by*'s network; with *data*, a stored file (under the test UPLOAD_DIR)."""
    with network_context(by.network_id):
        evidence = Evidence(network_id=by.network_id, criterion_code=code, text=text, uploaded_by_id=by.user_id)
        if data is not None:
            evidence.storage_name = store_bytes(by.network_id, data)
            evidence.file_name, evidence.content_type, evidence.size_bytes = file_name, content_type, len(data)
        db.session.add(evidence)
        db.session.commit()
    return evidence


def make_snapshot(by: Membership, *, reason: str = "frozen reason", pdf: bytes | None = None) -> SelfCheckSnapshot:
    """A snapshot with one result row; with *pdf*, a finished report file."""
    with network_context(by.network_id):
        criteria_set = current_criteria_set()
        snapshot = SelfCheckSnapshot(
            network_id=by.network_id, criteria_set_id=criteria_set.id, taken_at=utcnow(), taken_by_id=by.user_id,
            results=[{"code": "1a", "title": "t", "title_nl": "t", "title_en": "t", "status": "met",
                      "reason": reason, "fix": "", "details": [], "warning_level": False, "locale": "en"}],
            evidence=[], pdf_status=SnapshotPdfStatus.NONE, pdf_progress=0)
        if pdf is not None:
            snapshot.pdf_status, snapshot.pdf_progress = SnapshotPdfStatus.DONE, 100
            snapshot.pdf_storage_name = store_bytes(by.network_id, pdf)
        db.session.add(snapshot)
        db.session.commit()
    return snapshot
