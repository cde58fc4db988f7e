"""PDF letters sent with a referral: checked by their first bytes, stored by app/core/storage.py
(UPLOAD_DIR/<network_id>/<random hex>), every addition and download audit-logged.

Run inside the referral's network (`services.in_network(referral)`); callers commit.
"""
from __future__ import annotations

from flask import Response, abort, g, has_request_context
from flask_babel import gettext as _
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage

from app.auth.models import User
from app.core import audit
from app.core.audit import AuditAction
from app.core.db import utcnow
from app.core.storage import (
    MAX_UPLOAD_BYTES,
    PDF,
    read_upload,
    safe_display_name,
    send_stored,
    sniff_content_type,
    store_bytes,
)
from app.extensions import db
from app.referrals.models import Referral, ReferralAttachment

MAX_ATTACHMENTS = 10  # per referral


class AttachmentError(ValueError):
    """The file is refused; str() is the message for the user."""


def display_name(filename: str | None) -> str:
    """The name shown and offered on download: printable, without a path, always ending in .pdf."""
    return safe_display_name(filename, default_stem="bijlage", content_type=PDF)


def read_pdf(upload: FileStorage) -> bytes:
    """The bytes of an uploaded PDF, or AttachmentError saying why not. Leaves the stream rewound,
    so the form can check a file and the view store it afterwards."""
    name = display_name(upload.filename)
    upload.stream.seek(0)
    data = read_upload(upload.stream, MAX_UPLOAD_BYTES)
    upload.stream.seek(0)
    if len(data) > MAX_UPLOAD_BYTES:
        raise AttachmentError(_("%(name)s is larger than %(mb)d MB. Attach a smaller file.", name=name,
                                mb=MAX_UPLOAD_BYTES // (1024 * 1024)))
    if not data:
        raise AttachmentError(_("%(name)s is empty.", name=name))
    # The first bytes decide, never the name or the browser's content type.
    if sniff_content_type(data[:16]) != PDF:
        raise AttachmentError(_("%(name)s is not a PDF file. Only PDF files can be attached; save or scan the "
                                "letter as a PDF first.", name=name))
    return data


def count(referral: Referral) -> int:
    """Attachments of *referral* that are not removed."""
    return db.session.scalar(select(func.count(ReferralAttachment.id)).where(
        ReferralAttachment.referral_id == referral.id, ReferralAttachment.removed_at.is_(None))) or 0


def add(referral: Referral, file_storage: FileStorage, user: User) -> ReferralAttachment:
    """Store an uploaded PDF with *referral*. Raises AttachmentError (with the message for the user)."""
    data = read_pdf(file_storage)
    if count(referral) >= MAX_ATTACHMENTS:
        raise AttachmentError(_("A referral can have at most %(max)d attachments; %(name)s was not added.",
                                max=MAX_ATTACHMENTS, name=display_name(file_storage.filename)))
    attachment = ReferralAttachment(network_id=referral.network_id, referral_id=referral.id,
                                    filename=display_name(file_storage.filename),
                                    storage_name=store_bytes(referral.network_id, data), size=len(data),
                                    uploaded_by_id=user.id)
    db.session.add(attachment)
    db.session.flush()
    audit.record("referral.attachment_added", AuditAction.CREATE, patient_id=referral.patient_id,
                 object_type="referral_attachment", object_id=attachment.id, basis="referrer",
                 reason=f"referral {referral.id}, {len(data)} bytes")
    return attachment


def get(referral: Referral, attachment_id: int) -> ReferralAttachment | None:
    """Attachment *attachment_id* of *referral* (not removed); None for anything else."""
    return db.session.scalar(select(ReferralAttachment).where(
        ReferralAttachment.id == attachment_id, ReferralAttachment.referral_id == referral.id,
        ReferralAttachment.removed_at.is_(None)))


def _basis() -> str:
    return "coordinator" if has_request_context() and g.get("membership") is not None else "referrer"


def send(attachment: ReferralAttachment) -> Response:
    """The file as a download; records the download (the caller commits before returning the response)."""
    path = attachment.stored_file_path()
    if not path.is_file():
        abort(404)
    patient_id = db.session.scalar(select(Referral.patient_id).where(Referral.id == attachment.referral_id))
    audit.record("referral.attachment_downloaded", AuditAction.EXPORT, patient_id=patient_id,
                 object_type="referral_attachment", object_id=attachment.id, basis=_basis(),
                 reason=f"referral {attachment.referral_id}")
    return send_stored(path, mimetype=PDF, download_name=attachment.filename)


def remove(attachment: ReferralAttachment) -> None:
    """Soft-remove an attachment of a draft (a wrong letter must not be sent)."""
    attachment.removed_at = utcnow()
    audit.record("referral.attachment_removed", AuditAction.DELETE, object_type="referral_attachment",
                 object_id=attachment.id, basis="referrer", reason=f"referral {attachment.referral_id}")


def purge_draft(referral: Referral) -> None:
    """Delete every attachment row and file of a draft that is being discarded (the rows reference it)."""
    rows = list(db.session.scalars(select(ReferralAttachment).where(ReferralAttachment.referral_id == referral.id)))
    for row in rows:
        db.session.delete(row)
    db.session.flush()
    for row in rows:
        row.delete_stored_file()
