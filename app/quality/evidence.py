"""Evidence per criterion: text and/or an uploaded PDF, PNG or JPEG stored outside the web root.

What counts as evidence (the accepted types, the size, the messages) is decided here; storing and
checking the file is app/core/storage.py (UPLOAD_DIR/<network_id>/<random hex>, type by the first
bytes). Removal is soft (removed_at). Callers commit.
"""
from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from app.auth.models import User
from app.core import audit
from app.core.audit import AuditAction
from app.core.db import utcnow
from app.core.storage import MAX_UPLOAD_BYTES, read_upload, safe_display_name, sniff_content_type, store_bytes
from app.extensions import db
from app.networks.models import Network
from app.quality.models import Evidence

MAX_EVIDENCE_BYTES = MAX_UPLOAD_BYTES
ACCEPTED_TYPES = frozenset({"application/pdf", "image/png", "image/jpeg"})


class EvidenceError(ValueError):
    """The upload is refused; the message is shown to the coordinator."""


def add_evidence(*, network: Network, user: User, criterion_code: str, text: str,
                 upload: FileStorage | None) -> Evidence:
    """Add evidence (text, file or both) for *criterion_code*. Raises EvidenceError for a refused file."""
    text = (text or "").strip()
    fields: dict[str, object] = {}
    if upload is not None and upload.filename:
        data = read_upload(upload.stream, MAX_EVIDENCE_BYTES)
        if len(data) > MAX_EVIDENCE_BYTES:
            raise EvidenceError(_("The file is larger than %(mb)d MB. Upload a smaller file.", mb=10))
        if not data:
            raise EvidenceError(_("The file is empty."))
        content_type = sniff_content_type(data[:16])
        if content_type not in ACCEPTED_TYPES:
            raise EvidenceError(_("Only PDF, PNG and JPEG files are accepted; this file is none of these."))
        name = safe_display_name(upload.filename, default_stem="evidence", content_type=content_type)
        fields = {"file_name": name, "content_type": content_type, "size_bytes": len(data),
                  "storage_name": store_bytes(network.id, data)}
    elif not text:
        raise EvidenceError(_("Write a text or choose a file."))
    evidence = Evidence(network_id=network.id, criterion_code=criterion_code, text=text,
                        uploaded_by_id=user.id, **fields)
    db.session.add(evidence)
    db.session.flush()
    audit.record("evidence.uploaded", AuditAction.CREATE, object_type="evidence", object_id=evidence.id,
                 reason=f"criterion {criterion_code}" + (f", {fields['content_type']}" if fields else ""))
    return evidence


def get_evidence(evidence_id: int) -> Evidence | None:
    """Evidence of the current network that has not been removed."""
    return db.session.scalar(select(Evidence).where(Evidence.id == evidence_id, Evidence.removed_at.is_(None)))


def evidence_for_page() -> dict[str, list[tuple[Evidence, str]]]:
    """Evidence not removed, per criterion code, with the uploader's name."""
    grouped: dict[str, list[tuple[Evidence, str]]] = {}
    for evidence, name in db.session.execute(
            select(Evidence, User.full_name).join(User, User.id == Evidence.uploaded_by_id)
            .where(Evidence.removed_at.is_(None)).order_by(Evidence.id)):
        grouped.setdefault(evidence.criterion_code, []).append((evidence, name))
    return grouped


def record_download(evidence: Evidence) -> None:
    audit.record("evidence.downloaded", AuditAction.EXPORT, object_type="evidence", object_id=evidence.id)


def remove_evidence(evidence: Evidence) -> None:
    """Soft-remove: hidden from the page and the next snapshots; earlier snapshots keep their listing."""
    evidence.removed_at = utcnow()
    audit.record("evidence.removed", AuditAction.DELETE, object_type="evidence", object_id=evidence.id,
                 reason=f"criterion {evidence.criterion_code}")
