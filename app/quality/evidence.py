"""Evidence per criterion: text and/or an uploaded PDF, PNG or JPEG stored outside the web root.

The type is decided by the file's first bytes, never by its name or the browser's content type.
Files live under UPLOAD_DIR/<network_id>/<random hex>; removal is soft (removed_at). Callers commit.
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from app.auth.models import User
from app.core import audit
from app.core.audit import AuditAction
from app.core.db import utcnow
from app.extensions import db
from app.networks.models import Network
from app.quality.models import Evidence

MAX_EVIDENCE_BYTES = 10 * 1024 * 1024
# Magic bytes -> the content type we store and serve.
SIGNATURES = ((b"%PDF-", "application/pdf"), (b"\x89PNG\r\n\x1a\n", "image/png"), (b"\xff\xd8\xff", "image/jpeg"))
EXTENSIONS = {"application/pdf": ".pdf", "image/png": ".png", "image/jpeg": ".jpg"}


class EvidenceError(ValueError):
    """The upload is refused; the message is shown to the coordinator."""


def sniff_content_type(head: bytes) -> str | None:
    return next((content_type for magic, content_type in SIGNATURES if head.startswith(magic)), None)


def network_dir(network_id: int) -> Path:
    return Path(current_app.config["UPLOAD_DIR"]) / str(int(network_id))


def stored_path(network_id: int, storage_name: str) -> Path:
    """The file for a server-made name; refuses anything that is not a plain hex name."""
    if not storage_name or not all(c in "0123456789abcdef" for c in storage_name):
        raise EvidenceError("bad storage name")
    return network_dir(network_id) / storage_name


def store_bytes(network_id: int, data: bytes) -> str:
    """Write *data* under a new random name in the network's directory; returns the name."""
    directory = network_dir(network_id)
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    name = secrets.token_hex(20)
    fd = os.open(directory / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    return name


def _display_name(filename: str | None, content_type: str) -> str:
    base = os.path.basename((filename or "").replace("\\", "/")).strip()
    base = "".join(c for c in base if c.isprintable() and c not in '"<>')[:150]
    stem = os.path.splitext(base)[0] or "evidence"
    return stem + EXTENSIONS[content_type]  # the extension follows the real type, not the claimed one


def add_evidence(*, network: Network, user: User, criterion_code: str, text: str,
                 upload: FileStorage | None) -> Evidence:
    """Add evidence (text, file or both) for *criterion_code*. Raises EvidenceError for a refused file."""
    text = (text or "").strip()
    fields: dict[str, object] = {}
    if upload is not None and upload.filename:
        data = upload.stream.read(MAX_EVIDENCE_BYTES + 1)
        if len(data) > MAX_EVIDENCE_BYTES:
            raise EvidenceError(_("The file is larger than %(mb)d MB. Upload a smaller file.", mb=10))
        if not data:
            raise EvidenceError(_("The file is empty."))
        content_type = sniff_content_type(data[:16])
        if content_type is None:
            raise EvidenceError(_("Only PDF, PNG and JPEG files are accepted; this file is none of these."))
        fields = {"file_name": _display_name(upload.filename, content_type), "content_type": content_type,
                  "size_bytes": len(data), "storage_name": store_bytes(network.id, data)}
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
