"""The network's own profile (criteria 3-10) and its hospital and GP contacts. Callers commit."""
from __future__ import annotations

import re
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import delete, select

from app.core import audit
from app.core.audit import AuditAction
from app.extensions import db
from app.networks.models import ContactKind, Network, NetworkContact, ServiceAreaRange

# Editable profile columns: the only attributes update_profile() writes (no mass assignment).
PROFILE_FIELDS = (
    "name", "region", "service_area", "contact_name", "contact_phone", "contact_email", "website_url",
    "website_updated_on", "legal_form", "kvk_number", "is_not_for_profit", "vision_text", "participation_text",
    "participation_min_meetings", "is_public", "local_attested", "referral_ack_norm_days",
)
CONTACT_FIELDS = ("kind", "organisation", "contact_person", "email", "phone", "agreement")
REFERRAL_NORM_MIN_DAYS, REFERRAL_NORM_MAX_DAYS = 1, 10  # the referral acknowledgement norm, in working days
MAX_SERVICE_AREA_PARTS = 500  # far more than any local network needs; keeps a pasted list bounded

_SINGLE = re.compile(r"([0-9]{4})")
_RANGE = re.compile(r"([0-9]{4})\s*[-\u2013]\s*([0-9]{4})")


class ServiceAreaError(ValueError):
    """The service area text cannot be read; the message says which part and why."""


def parse_service_area(text: str) -> list[tuple[int, int]]:
    """Read "2011-2036, 2100, 2101-2106" into sorted, merged (first, last) postcode ranges.

    Parts are separated by commas, semicolons or line breaks. Raises ServiceAreaError for a part
    that is not a 4-digit postcode (1000-9999) or a range of two, low to high.
    """
    parts = [part.strip() for part in re.split(r"[,;\n]", text or "") if part.strip()]
    if len(parts) > MAX_SERVICE_AREA_PARTS:
        raise ServiceAreaError(_("Enter at most %(n)d postcodes or ranges.", n=MAX_SERVICE_AREA_PARTS))
    ranges = [_parse_part(part) for part in parts]
    return _merge(ranges)


def _parse_part(part: str) -> tuple[int, int]:
    if match := _RANGE.fullmatch(part):
        first, last = int(match.group(1)), int(match.group(2))
    elif match := _SINGLE.fullmatch(part):
        first = last = int(match.group(1))
    else:
        raise ServiceAreaError(_('"%(part)s" is not a 4-digit postcode (like 2011) or a range (like 2011-2036).',
                                 part=part[:40]))
    if first < 1000 or last < 1000:
        raise ServiceAreaError(_('"%(part)s": Dutch postcodes run from 1000 to 9999.', part=part[:40]))
    if first > last:
        raise ServiceAreaError(_('"%(part)s": a range runs from the lower to the higher postcode, '
                                 'for example %(first)d-%(last)d.', part=part[:40], first=last, last=first))
    return first, last


def _merge(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for first, last in sorted(ranges):
        if merged and first <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], last))
        else:
            merged.append((first, last))
    return merged


def format_service_area(ranges: list[tuple[int, int]]) -> str:
    """The canonical text of parsed ranges: "2011-2036, 2100-2106"."""
    return ", ".join(f"{first}" if first == last else f"{first}-{last}" for first, last in ranges)


def update_profile(*, network: Network, name: str, region: str, service_area: str, contact_name: str,
                   contact_phone: str, contact_email: str, website_url: str, website_updated_on: date | None,
                   legal_form: str, kvk_number: str, is_not_for_profit: bool, vision_text: str,
                   participation_text: str, participation_min_meetings: int | None, is_public: bool,
                   local_attested: bool, referral_ack_norm_days: int | None = None) -> list[str]:
    """Save the coordinator's profile of *network* and return the names of the changed fields.

    The service area text is stored in canonical form and its ServiceAreaRange rows are replaced.
    referral_ack_norm_days None keeps the current norm; a value outside 1-10 raises ValueError.
    One audit row (network.profile_updated) names the changed fields; nothing changed, no row.
    Raises ServiceAreaError for an unreadable service area. Flushes; the caller commits.
    """
    ranges = parse_service_area(service_area)
    if referral_ack_norm_days is None:
        referral_ack_norm_days = network.referral_ack_norm_days
    if not REFERRAL_NORM_MIN_DAYS <= referral_ack_norm_days <= REFERRAL_NORM_MAX_DAYS:
        raise ValueError(f"referral_ack_norm_days out of range: {referral_ack_norm_days}")
    values = {
        "name": name.strip(), "region": region.strip(), "service_area": format_service_area(ranges),
        "contact_name": contact_name.strip(), "contact_phone": contact_phone.strip(),
        "contact_email": contact_email.strip().lower(), "website_url": website_url.strip(),
        "website_updated_on": website_updated_on, "legal_form": legal_form.strip(),
        "kvk_number": kvk_number.strip(), "is_not_for_profit": bool(is_not_for_profit),
        "vision_text": vision_text.strip(), "participation_text": participation_text.strip(),
        "participation_min_meetings": participation_min_meetings, "is_public": bool(is_public),
        "local_attested": bool(local_attested), "referral_ack_norm_days": referral_ack_norm_days,
    }
    changed = [field for field in PROFILE_FIELDS if getattr(network, field) != values[field]]
    for field in changed:
        setattr(network, field, values[field])
    if "service_area" in changed:
        _replace_ranges(network, ranges)
    if changed:
        audit.record("network.profile_updated", AuditAction.UPDATE, object_type="network", object_id=network.id,
                     network_id=network.id, reason="changed: " + ", ".join(changed))
    db.session.flush()
    return changed


def _replace_ranges(network: Network, ranges: list[tuple[int, int]]) -> None:
    # A bulk delete skips the tenancy hooks, so it names the network itself.
    db.session.execute(delete(ServiceAreaRange).where(ServiceAreaRange.network_id == network.id))
    db.session.add_all(ServiceAreaRange(network_id=network.id, first=first, last=last) for first, last in ranges)


def service_area_ranges(network: Network) -> list[ServiceAreaRange]:
    return list(db.session.scalars(select(ServiceAreaRange).where(ServiceAreaRange.network_id == network.id)
                                   .order_by(ServiceAreaRange.first)))


# --- partner contacts (criteria 8 and 9) --------------------------------------------------------

def contacts_query():
    """The current network's contacts, hospitals first (the tenancy net scopes the query)."""
    return select(NetworkContact).order_by(NetworkContact.kind.desc(), NetworkContact.organisation)


def _contact_values(fields: dict) -> dict:
    values = {name: (fields[name] or "").strip() for name in CONTACT_FIELDS if name != "kind"}
    values["email"] = values["email"].lower()
    values["kind"] = ContactKind(fields["kind"])
    return values


def create_contact(*, network: Network, **fields) -> NetworkContact:
    """Add a hospital or GP contact (fields: CONTACT_FIELDS). Flushes and audits; the caller commits."""
    contact = NetworkContact(network_id=network.id, **_contact_values(fields))
    db.session.add(contact)
    db.session.flush()
    audit.record("network_contact.created", AuditAction.CREATE, object_type="network_contact", object_id=contact.id)
    return contact


def update_contact(contact: NetworkContact, **fields) -> list[str]:
    """Change a contact; returns the changed field names (audited when any). The caller commits."""
    values = _contact_values(fields)
    changed = [name for name in CONTACT_FIELDS if getattr(contact, name) != values[name]]
    for name in changed:
        setattr(contact, name, values[name])
    if changed:
        db.session.flush()
        audit.record("network_contact.updated", AuditAction.UPDATE, object_type="network_contact",
                     object_id=contact.id, reason="changed: " + ", ".join(changed))
    return changed


def delete_contact(contact: NetworkContact) -> None:
    """Delete a contact for good (it holds no patient data); audited. The caller commits."""
    contact_id = contact.id
    db.session.delete(contact)
    db.session.flush()
    audit.record("network_contact.deleted", AuditAction.DELETE, object_type="network_contact", object_id=contact_id)
