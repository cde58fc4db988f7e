"""Members from CSV: reading a spreadsheet export, checking every row, inviting the valid ones,
and keeping the upload between preview and confirmation (the export is in member_services).

Callers commit. The file a coordinator uploads is kept server-side (never in the session or the
page) under UPLOAD_DIR/imports/<network_id>/<token>.csv until it is imported or abandoned.
"""
from __future__ import annotations

import codecs
import csv
import io
import re
import secrets
import time
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select

from app.auth.models import User
from app.core import audit
from app.core.audit import AuditAction
from app.core.validators import is_valid_agb, is_valid_big, normalise_postcode
from app.extensions import db
from app.networks.forms.members import PHONE_RE, is_web_url
from app.networks.models import Discipline, Membership, Network, Role
from app.networks.services.memberships import invite_member

MAX_BYTES = 2 * 1024 * 1024
MAX_ROWS = 1000
TOKEN_RE = re.compile(r"[0-9a-f]{32}")
STALE_AFTER_SECONDS = 24 * 3600
COLUMNS = ("name", "email", "disciplines", "agb", "big", "practice", "address", "postcode", "town", "phone",
           "listed", "verwijsgids_url")
# Headings a Dutch or English spreadsheet may use for the same columns.
ALIASES = {"naam": "name", "full name": "name", "e-mail": "email", "e-mailadres": "email", "email address": "email",
           "discipline": "disciplines", "agb code": "agb", "agb-code": "agb", "big number": "big",
           "big-nummer": "big", "big nummer": "big", "praktijk": "practice", "adres": "address",
           "plaats": "town", "woonplaats": "town", "city": "town", "telefoon": "phone", "verwijsgids": "listed",
           "url": "verwijsgids_url", "verwijsgids url": "verwijsgids_url", "verwijsgids link": "verwijsgids_url"}
MAX_LENGTHS = {"name": 200, "practice": 200, "address": 200, "town": 100, "verwijsgids_url": 300}
YES = {"ja", "yes", "j", "y"}
NO = {"nee", "no", "n", ""}


class ImportFileError(Exception):
    """The file as a whole cannot be read (size, encoding, missing columns): nothing to preview."""


@dataclass
class ImportRow:
    line: int
    values: dict[str, str]
    discipline_ids: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def is_valid(self) -> bool:
        return not self.errors

    @property
    def email(self) -> str:
        return self.values["email"].strip().lower()


@dataclass
class ImportPreview:
    rows: list[ImportRow]
    delimiter: str
    encoding: str
    ignored_columns: list[str]
    discipline_names: dict[int, str]

    @property
    def valid_rows(self) -> list[ImportRow]:
        return [row for row in self.rows if row.is_valid]

    @property
    def invalid_count(self) -> int:
        return len(self.rows) - len(self.valid_rows)


# --- reading the file ---------------------------------------------------------------------------

def decode_upload(raw: bytes) -> tuple[str, str]:
    """UTF-8 (with or without BOM), else Windows-1252, the ANSI code page of a Dutch Excel."""
    if raw.startswith(codecs.BOM_UTF8):
        raw = raw[len(codecs.BOM_UTF8):]
    try:
        text, encoding = raw.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError:
        # cp1252 leaves five byte values undefined; those become U+FFFD and show up in the preview.
        text, encoding = raw.decode("cp1252", errors="replace"), "Windows-1252"
    if "\x00" in text:  # UTF-16 or a binary file (a saved .xlsx); PostgreSQL cannot store NUL either
        raise ImportFileError(_("This file cannot be read as text. In your spreadsheet, choose "
                                "Save as, then \"CSV UTF-8\" or \"CSV (semicolon separated)\"."))
    return text, encoding


def detect_delimiter(text: str) -> str:
    """";" or ",": whichever the heading row holds more of (a Dutch Excel writes ";")."""
    heading = next((line for line in text.splitlines() if line.strip()), "")
    return ";" if heading.count(";") > heading.count(",") else ","


def _column_name(heading: str) -> str:
    key = " ".join(heading.replace("\ufeff", "").strip().lower().replace("_", " ").split())
    key = ALIASES.get(key, key)
    return key.replace(" ", "_")


def _normalised(text: str) -> str:
    """Case, accents and spacing do not matter: "Diëtist", "dietist" and " DIETIST " match."""
    stripped = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return " ".join(stripped.lower().replace("_", " ").split())


def read_rows(raw: bytes) -> tuple[list[tuple[int, dict[str, str]]], str, str, list[str]]:
    """Decode and split the file: ([(line, {column: value})], delimiter, encoding, ignored columns)."""
    if not raw.strip():
        raise ImportFileError(_("The file is empty."))
    text, encoding = decode_upload(raw)
    delimiter = detect_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        headings = [_column_name(h) for h in next(reader)]
        rows = []
        for cells in reader:
            if not any(cell.strip() for cell in cells):
                continue  # spreadsheets export empty rows as ";;;;"
            if len(rows) >= MAX_ROWS:
                raise ImportFileError(_("The file has more than %(max)d rows; split it into smaller files.",
                                        max=MAX_ROWS))
            values = dict.fromkeys(COLUMNS, "")
            values.update({h: c.strip() for h, c in zip(headings, cells, strict=False) if h in COLUMNS})
            rows.append((reader.line_num, values))
    except csv.Error as exc:
        raise ImportFileError(_("The file is not a valid CSV file (line %(line)d).", line=reader.line_num)) from exc
    missing = [c for c in ("name", "email") if c not in headings]
    if missing:
        raise ImportFileError(_("The first row must name the columns; missing: %(columns)s. Expected: %(all)s.",
                                columns=", ".join(missing), all=", ".join(COLUMNS)))
    if not rows:
        raise ImportFileError(_("The file has a heading row but no members."))
    ignored = [h for h in headings if h and h not in COLUMNS]
    return rows, delimiter, encoding, ignored


# --- checking the rows --------------------------------------------------------------------------

def build_preview(raw: bytes, *, locale: str) -> ImportPreview:
    """Read and check every row against the controlled list and the network's members.

    Raises ImportFileError when the file as a whole cannot be read. Reads, never writes.
    """
    rows, delimiter, encoding, ignored = read_rows(raw)
    disciplines = db.session.scalars(select(Discipline)).all()
    lookup = {}
    for d in disciplines:
        for name in (d.code, d.name_nl, d.name_en):
            lookup[_normalised(name)] = d.id
    emails = {values["email"].strip().lower() for _line, values in rows if values["email"].strip()}
    members = _existing_member_emails(emails)
    checked, first_line = [], {}
    for line, values in rows:
        row = ImportRow(line=line, values=values)
        _check_row(row, lookup)
        if row.values["email"]:
            if row.email in first_line:
                row.errors.append(_("The same email address is also on row %(line)d.", line=first_line[row.email]))
            else:
                first_line[row.email] = line
            if row.email in members:
                row.errors.append(_("%(email)s is already a member of this network.", email=row.email))
        checked.append(row)
    return ImportPreview(rows=checked, delimiter=delimiter, encoding=encoding, ignored_columns=ignored,
                         discipline_names={d.id: d.name(locale) for d in disciplines})


def _existing_member_emails(emails: set[str]) -> set[str]:
    if not emails:
        return set()
    # The membership is scoped to the current network; deactivated members count as members.
    return set(db.session.scalars(select(func.lower(User.email)).join(Membership, Membership.user_id == User.id)
                                  .where(func.lower(User.email).in_(emails))))


def _check_row(row: ImportRow, lookup: dict[str, int]) -> None:
    values, errors = row.values, row.errors
    if not values["name"]:
        errors.append(_("The name is missing."))
    if not values["email"]:
        errors.append(_("The email address is missing."))
    else:
        try:
            validate_email(values["email"], check_deliverability=False)
        except EmailNotValidError:
            errors.append(_("“%(value)s” is not a valid email address.", value=values["email"]))
    for part in re.split(r"[|,;]", values["disciplines"]):
        if part.strip():
            discipline_id = lookup.get(_normalised(part))
            if discipline_id is None:
                errors.append(_("Unknown discipline: “%(value)s”.", value=part.strip()))
            elif discipline_id not in row.discipline_ids:
                row.discipline_ids.append(discipline_id)
    _check_codes(values, errors)
    listed = values["listed"].lower()
    if listed not in YES | NO:
        errors.append(_("“Listed” must be ja, nee, yes or no, not “%(value)s”.", value=values["listed"]))
    elif listed in YES and not values["verwijsgids_url"]:
        errors.append(_("A member listed in the Verwijsgids Kanker needs the link to the listing."))
    if values["verwijsgids_url"] and not is_web_url(values["verwijsgids_url"]):
        errors.append(_("The Verwijsgids link must be a web address starting with http:// or https://."))
    for column, limit in MAX_LENGTHS.items():
        if len(values[column]) > limit:
            errors.append(_("The %(column)s is too long (at most %(max)d characters).", column=column, max=limit))


def _check_codes(values: dict[str, str], errors: list[str]) -> None:
    values["agb"] = re.sub(r"[\s.]", "", values["agb"])
    if values["agb"] and not is_valid_agb(values["agb"]):
        errors.append(_("The AGB code must be exactly 8 digits, not “%(value)s”.", value=values["agb"]))
    values["big"] = re.sub(r"[\s.]", "", values["big"])
    if values["big"] and not is_valid_big(values["big"]):
        errors.append(_("The BIG number must be exactly 11 digits, not “%(value)s”.", value=values["big"]))
    if values["postcode"]:
        postcode = normalise_postcode(values["postcode"])
        if postcode is None:
            errors.append(_("“%(value)s” is not a Dutch postcode like 1234 AB.", value=values["postcode"]))
        else:
            values["postcode"] = postcode
    if values["phone"] and not re.match(PHONE_RE, values["phone"]):
        errors.append(_("“%(value)s” is not a phone number.", value=values["phone"]))


# --- importing ----------------------------------------------------------------------------------

def import_members(*, network: Network, rows: list[ImportRow], skipped: int, base_url: str) -> list[Membership]:
    """Invite every row in *rows* (all valid) exactly as the invite form does, one mail each.

    Raises networks.services.MembershipError when someone became a member since the check;
    the caller rolls back so nothing of the file is written. Flushes, does not commit.
    """
    created = []
    for row in rows:
        v = row.values
        membership = invite_member(network=network, email=row.email, full_name=v["name"], role=Role.MEMBER,
                                   discipline_ids=row.discipline_ids, practice_name=v["practice"],
                                   city=v["town"], agb_code=v["agb"] or None, base_url=base_url)
        membership.big_number = v["big"] or None
        membership.address = v["address"]
        membership.postcode = v["postcode"]
        membership.phone = v["phone"]
        membership.is_listed_in_verwijsgids = v["listed"].lower() in YES
        membership.verwijsgids_url = v["verwijsgids_url"]
        created.append(membership)
    db.session.flush()
    audit.record("membership.imported", AuditAction.CREATE, object_type="membership",
                 reason=f"CSV import: {len(created)} invited, {skipped} rows skipped")
    return created


# --- the upload between preview and confirmation ------------------------------------------------

def _upload_dir(network_id: int) -> Path:
    return Path(current_app.config["UPLOAD_DIR"]) / "imports" / str(int(network_id))


def store_upload(network_id: int, raw: bytes) -> str:
    """Keep the file for the confirmation step; returns the random token that names it."""
    directory = _upload_dir(network_id)
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    _prune_stale(directory)
    token = secrets.token_hex(16)
    path = directory / f"{token}.csv"
    with path.open("xb") as handle:
        handle.write(raw)
    path.chmod(0o600)
    return token


def upload_path(network_id: int, token: str) -> Path | None:
    """The stored file of *token* in this network, or None (bad token, other network, gone)."""
    if not TOKEN_RE.fullmatch(token or ""):
        return None  # also keeps "../" and absolute paths out of the file name
    path = _upload_dir(network_id) / f"{token}.csv"
    return path if path.is_file() else None


def discard_upload(path: Path) -> None:
    path.unlink(missing_ok=True)


def _prune_stale(directory: Path) -> None:
    """Remove abandoned uploads (previewed, never confirmed) after a day."""
    cutoff = time.time() - STALE_AFTER_SECONDS
    for old in directory.glob("*.csv"):
        if old.stat().st_mtime < cutoff:
            old.unlink(missing_ok=True)
