"""The public directory as an Open Referral HSDS 3.0 feed: each approved public network is an organization, each
discipline its active members offer is a service of it, with the network's postcode ranges as service areas.

Only what the public pages show, and less: no member's name, phone or address (a service says how many of its
members are listed in the Verwijsgids Kanker, not who). Ids are stable UUIDs derived from our ids, so a consumer
can follow changes. Lists are paginated in SQL; every query is either over public networks across the platform
(all_networks, named below) or inside one network's context.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from flask import url_for
from sqlalchemy import and_, func, select

from app.core.tenancy import all_networks
from app.directory.services import public_networks_query
from app.extensions import db
from app.networks.models import Discipline, Membership, MembershipDiscipline, Network, ServiceAreaRange

HSDS_VERSION = "3.0"
NAMESPACE = uuid.UUID("5b0c3b6e-8f7e-4c1a-9b0e-6f1d2a4c8e01")  # ours: the ids of nested objects are uuid5 of it
# Organizations and services get ids that are UUIDs with our prefix and the row ids inside, so a request for one is
# one indexed read (a uuid5 cannot be turned back into the row it names).
PREFIX = 0x6E6574776B7A7267  # "netwkzrg"
KIND_ORGANIZATION, KIND_SERVICE = 1, 2
MAX_PER_PAGE = 100
TAXONOMY = "netwerkzorg"  # our taxonomy of disciplines and network statuses


def _encode(kind: int, first: int, second: int = 0) -> str:
    return str(uuid.UUID(int=(PREFIX << 64) | (kind << 56) | ((first & 0xFFFFFFFF) << 24) | (second & 0xFFFFFF)))


def decode(value: str) -> tuple[int, int, int] | None:
    """(kind, first id, second id) of one of our ids; None for anything else."""
    try:
        number = uuid.UUID(str(value)).int
    except (ValueError, AttributeError, TypeError):
        return None
    if number >> 64 != PREFIX:
        return None
    return (number >> 56) & 0xFF, (number >> 24) & 0xFFFFFFFF, number & 0xFFFFFF


def organization_uuid(network_id: int) -> str:
    return _encode(KIND_ORGANIZATION, network_id)


def service_uuid(network_id: int, discipline_id: int) -> str:
    return _encode(KIND_SERVICE, network_id, discipline_id)


def _uuid(namespace_key: str) -> str:
    return str(uuid.uuid5(NAMESPACE, namespace_key))


def page_envelope(contents: list[dict], *, total: int, page: int, per_page: int) -> dict[str, Any]:
    pages = max(1, -(-total // per_page))
    return {"total_items": total, "total_pages": pages, "page_number": page, "size": len(contents),
            "first_page": page == 1, "last_page": page >= pages, "empty": total == 0, "contents": contents}


# --- organizations ---------------------------------------------------------------------------------------------

def _organization_basics(network: Network) -> dict[str, Any]:
    body = {"id": organization_uuid(network.id), "name": network.name,
            "description": network.vision_text or f"Oncologiezorgnetwerk {network.name}"
            + (f" ({network.region})" if network.region else ""),
            "uri": url_for("directory.network", slug=network.slug, _external=True)}
    if network.contact_email:
        body["email"] = network.contact_email
    if network.website_url.startswith(("https://", "http://")):
        body["website"] = network.website_url
    if network.legal_form:
        body["legal_status"] = network.legal_form
    return body


def organizations_page(page: int, per_page: int) -> dict[str, Any]:
    statement = public_networks_query().order_by(Network.name, Network.id)
    total = db.session.scalar(select(func.count()).select_from(statement.order_by(None).subquery())) or 0
    networks = db.session.scalars(statement.limit(per_page).offset((page - 1) * per_page)).all()
    return page_envelope([_organization_basics(n) for n in networks], total=total, page=page, per_page=per_page)


def public_network_by_uuid(value: str) -> Network | None:
    """The approved public network whose organization id is *value*; None for any other id."""
    decoded = decode(value)
    if decoded is None or decoded[0] != KIND_ORGANIZATION:
        return None
    return db.session.scalar(public_networks_query().where(Network.id == decoded[1]))


def _status_attribute(network: Network, link_id: str) -> dict[str, Any]:
    term_id = _uuid(f"term:status:{network.status.value}")
    return {"id": _uuid(f"attribute:status:{network.id}"), "link_id": link_id, "link_type": "organization",
            "link_entity": "organization", "taxonomy_term_id": term_id, "value": network.status.value,
            "taxonomy_term": {"id": term_id, "code": f"nvpo-status:{network.status.value}",
                              "name": str(network.status.label), "taxonomy": TAXONOMY,
                              "description": "The network's status against the NVPO criteria for oncology care "
                                             "networks: being set up, active, or qualified."}}


def organization_detail(network: Network) -> dict[str, Any]:
    body = _organization_basics(network)
    org_id = body["id"]
    if network.contact_phone:
        body["phones"] = [{"id": _uuid(f"phone:{network.id}"), "organization_id": org_id,
                           "number": network.contact_phone, "type": "voice"}]
    if network.contact_name or network.contact_email:
        body["contacts"] = [{"id": _uuid(f"contact:{network.id}"), "organization_id": org_id,
                             "name": network.contact_name or network.name, "title": "Contactpunt",
                             **({"email": network.contact_email} if network.contact_email else {})}]
    if network.kvk_number:
        body["organization_identifiers"] = [{"id": _uuid(f"kvk:{network.id}"), "organization_id": org_id,
                                             "identifier_scheme": "NL-KVK", "identifier_type": "KvK-nummer",
                                             "identifier": network.kvk_number}]
    body["attributes"] = [_status_attribute(network, org_id)]
    return body


# --- services: one per discipline of a network's active members ------------------------------------------------

@dataclass(frozen=True)
class ServiceRow:
    network: Network
    discipline: Discipline
    members: int
    listed: int  # of them, listed in the Verwijsgids Kanker


def _service_rows_query():
    """(network, discipline, active members, of them listed in the Verwijsgids) for approved public networks, by
    network name and the discipline's order; across networks on purpose (the public feed), counts only."""
    public = public_networks_query().with_only_columns(Network.id).subquery()
    counts = (select(MembershipDiscipline.network_id.label("network_id"),
                     MembershipDiscipline.discipline_id.label("discipline_id"),
                     func.count(Membership.id).label("members"),
                     func.sum(db.case((Membership.is_listed_in_verwijsgids.is_(True), 1), else_=0)).label("listed"))
              .join(Membership, and_(Membership.network_id == MembershipDiscipline.network_id,
                                     Membership.id == MembershipDiscipline.membership_id))
              .where(Membership.is_active.is_(True), MembershipDiscipline.network_id.in_(select(public.c.id)))
              .group_by(MembershipDiscipline.network_id, MembershipDiscipline.discipline_id).subquery())
    return (select(Network, Discipline, counts.c.members, counts.c.listed)
            .join(counts, counts.c.network_id == Network.id)
            .join(Discipline, Discipline.id == counts.c.discipline_id)
            .order_by(Network.name, Network.id, Discipline.sort_order, Discipline.id))


def _ranges(network_ids: list[int]) -> dict[int, list[tuple[int, int]]]:
    if not network_ids:
        return {}
    rows = db.session.execute(all_networks(  # public networks' postcode ranges, shown on their public pages too
        select(ServiceAreaRange.network_id, ServiceAreaRange.first, ServiceAreaRange.last)
        .where(ServiceAreaRange.network_id.in_(network_ids))
        .order_by(ServiceAreaRange.network_id, ServiceAreaRange.first)))
    found: dict[int, list[tuple[int, int]]] = {}
    for network_id, first, last in rows:
        found.setdefault(network_id, []).append((first, last))
    return found


def _service_basics(row: ServiceRow, locale: str) -> dict[str, Any]:
    name = row.discipline.name(locale)
    return {"id": service_uuid(row.network.id, row.discipline.id), "organization_id": organization_uuid(row.network.id),
            "name": f"{name} · {row.network.name}", "alternate_name": name,
            "description": f"{name} in {row.network.name}: {row.members} "
                           f"{'zorgverlener' if row.members == 1 else 'zorgverleners'}"
                           f", van wie {row.listed} in de Verwijsgids Kanker.",
            "url": url_for("directory.network", slug=row.network.slug, _external=True,
                           _anchor=f"d-{row.discipline.code}"),
            "status": "active"}


def _service_detail(row: ServiceRow, ranges: list[tuple[int, int]], locale: str) -> dict[str, Any]:
    body = _service_basics(row, locale)
    service_id = body["id"]
    body["service_areas"] = [{
        "id": _uuid(f"area:{row.network.id}:{row.discipline.id}:{first}:{last}"), "service_id": service_id,
        "name": f"{first}" if first == last else f"{first}-{last}",
        "description": "Dutch postcodes (4 digits) served by the network",
        "extent": f"{first}" if first == last else f"{first}-{last}", "extent_type": "text"} for first, last in ranges]
    term_id = _uuid(f"term:discipline:{row.discipline.code}")
    listed_term = _uuid("term:verwijsgids")
    body["attributes"] = [
        {"id": _uuid(f"attribute:discipline:{service_id}"), "link_id": service_id, "link_type": "service",
         "link_entity": "service", "taxonomy_term_id": term_id, "value": row.discipline.code,
         "taxonomy_term": {"id": term_id, "code": f"discipline:{row.discipline.code}",
                           "name": row.discipline.name(locale), "taxonomy": TAXONOMY,
                           "description": "A discipline of the oncology care network's members."}},
        {"id": _uuid(f"attribute:verwijsgids:{service_id}"), "link_id": service_id, "link_type": "service",
         "link_entity": "service", "taxonomy_term_id": listed_term, "value": str(row.listed),
         "taxonomy_term": {"id": listed_term, "code": "verwijsgids-kanker-listed",
                           "name": "Listed in the Verwijsgids Kanker", "taxonomy": TAXONOMY,
                           "description": "How many of the service's members are listed in the Verwijsgids Kanker "
                                          "(https://www.verwijsgidskanker.nl/)."}},
    ]
    body["organization"] = _organization_basics(row.network)
    return body


def services_page(page: int, per_page: int, locale: str) -> dict[str, Any]:
    statement = _service_rows_query()
    total = db.session.scalar(all_networks(select(func.count()).select_from(statement.order_by(None).subquery()))) or 0
    rows = [ServiceRow(*row) for row in db.session.execute(all_networks(
        statement.limit(per_page).offset((page - 1) * per_page)))]
    return page_envelope([_service_basics(row, locale) for row in rows], total=total, page=page, per_page=per_page)


def service_detail(value: str, locale: str) -> dict[str, Any] | None:
    """One service (a discipline of a public network with active members in it); None for any other id."""
    decoded = decode(value)
    if decoded is None or decoded[0] != KIND_SERVICE:
        return None
    _kind, network_id, discipline_id = decoded
    # One public network's one discipline: counts only, across networks because the feed has no network context.
    row = db.session.execute(all_networks(_service_rows_query().where(
        Network.id == network_id, Discipline.id == discipline_id))).first()
    if row is None:
        return None
    found = ServiceRow(*row)
    return _service_detail(found, _ranges([network_id]).get(network_id, []), locale)
