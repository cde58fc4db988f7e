"""Stored files: uploads and generated PDFs under UPLOAD_DIR/<network_id>/<random hex>, outside the web root.

Shared infrastructure for every feature that keeps a file (quality evidence and snapshot reports,
referral attachments, letters to the GP, signed consent documents). The server makes every stored
name; a name from the database is checked before it becomes a path. A file type is decided by the
file's first bytes, never by its name or the browser's content type. What a feature accepts (which
types, which size, its messages) stays with the feature.
"""
from __future__ import annotations

import io
import os
import secrets
from pathlib import Path
from typing import ClassVar

from flask import Response, current_app, send_file

MAX_UPLOAD_BYTES = 10 * 1024 * 1024  # what a form may upload; features read at most this plus one byte
PDF = "application/pdf"
# Magic bytes -> the content type we store and serve.
SIGNATURES = ((b"%PDF-", PDF), (b"\x89PNG\r\n\x1a\n", "image/png"), (b"\xff\xd8\xff", "image/jpeg"))
EXTENSIONS = {PDF: ".pdf", "image/png": ".png", "image/jpeg": ".jpg"}
_HEX = frozenset("0123456789abcdef")


class StorageError(ValueError):
    """A stored name that the server did not make (never turned into a path)."""


def sniff_content_type(head: bytes) -> str | None:
    """The content type of a file by its first bytes (PDF, PNG, JPEG), or None for anything else."""
    return next((content_type for magic, content_type in SIGNATURES if head.startswith(magic)), None)


def read_upload(stream, max_bytes: int = MAX_UPLOAD_BYTES) -> bytes:
    """At most *max_bytes* + 1 bytes of an upload: more than *max_bytes* means too large."""
    return stream.read(max_bytes + 1)


def safe_display_name(filename: str | None, *, default_stem: str, content_type: str) -> str:
    """The name shown and offered on download: printable, without a path, at most 150 characters before
    the extension, which follows the checked *content_type* (not the claimed one)."""
    base = os.path.basename((filename or "").replace("\\", "/")).strip()
    base = "".join(c for c in base if c.isprintable() and c not in '"<>')[:150]
    return (os.path.splitext(base)[0] or default_stem) + EXTENSIONS[content_type]


def network_dir(network_id: int) -> Path:
    return Path(current_app.config["UPLOAD_DIR"]) / str(int(network_id))


def stored_path(network_id: int, storage_name: str) -> Path:
    """The file for a server-made name; refuses anything that is not a plain hex name."""
    if not storage_name or not all(c in _HEX for c in storage_name):
        raise StorageError("bad storage name")
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


def send_bytes(data: bytes, *, mimetype: str, download_name: str) -> Response:
    """A download that is never cached and never sniffed by the browser."""
    response = send_file(io.BytesIO(data), mimetype=mimetype, as_attachment=True, download_name=download_name,
                         max_age=0)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def send_stored(path: Path, *, mimetype: str, download_name: str) -> Response:
    """A stored file as a download. Files are at most 10 MB: read into memory, so no file handle
    outlives the request."""
    return send_bytes(path.read_bytes(), mimetype=mimetype, download_name=download_name)


class StoredFileMixin:
    """A network-owned row that names (at most) one stored file.

    The models that keep files name their columns differently (``storage_name``, ``pdf_storage``,
    ``document_storage``, ``pdf_storage_name``; ``file_name``, ``filename``, ``document_name``), and
    renaming them would need a migration, so the mixin declares no column: each model says which of
    its columns holds the server-made name (``stored_file_column``), and gets the helpers.
    """

    stored_file_column: ClassVar[str] = "storage_name"

    @property
    def storage_key(self) -> str | None:
        """The server-made name of the file, or None when the row has no file (yet)."""
        return getattr(self, self.stored_file_column) or None

    def stored_file_path(self) -> Path | None:
        """Where the file is (whether or not it exists); None without a file. Raises StorageError for a
        name the server did not make."""
        key = self.storage_key
        return stored_path(self.network_id, key) if key else None

    def stored_file(self) -> Path | None:
        """The file if the row names one, the name is sound and the file exists; None otherwise."""
        try:
            path = self.stored_file_path()
        except StorageError:
            return None
        return path if path is not None and path.is_file() else None

    def store_file(self, data: bytes) -> str:
        """Write *data* as this row's file (under its network) and remember the name; returns the name."""
        key = store_bytes(self.network_id, data)
        setattr(self, self.stored_file_column, key)
        return key

    def delete_stored_file(self) -> None:
        """Remove the file from disk (after the commit that dropped the row); a missing file is fine."""
        path = self.stored_file_path()
        if path is not None:
            path.unlink(missing_ok=True)
