"""The public directory (read-only, public data of approved public networks) and network applications.

Public pages read several networks. Every such read is either inside network_context(network.id)
for one network, or marked with all_networks() and a comment saying why; callers commit.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy import and_, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from app.auth.models import User
from app.core import audit
from app.core.audit import AuditAction
from app.core.db import utcnow
from app.core.tenancy import all_networks, network_context
from app.extensions import db
from app.networks.models import (
    Discipline,
    Membership,
    MembershipDiscipline,
    Network,
    NetworkStatus,
    Role,
    ServiceAreaRange,
)
from app.networks.services.memberships import DisciplineEntry, discipline_catalogue

PATIENT_POSTCODE_RE = re.compile(r"\s*([1-9][0-9]{3})\s*(?:[A-Za-z]{2})?\s*")
MAX_PENDING_APPLICATIONS = 1


class ApplicationError(Exception):
    pass


def parse_patient_postcode(text: str) -> int | None:
    """"7511", "7511JK", "7511 jk" -> 7511; None when it is not a Dutch postcode."""
    match = PATIENT_POSTCODE_RE.fullmatch(text or "")
    return int(match.group(1)) if match else None


def public_networks_query():
    """Networks anyone may see: approved by the platform admin and published by their coordinator."""
    return select(Network).where(Network.is_public.is_(True), Network.approved_at.is_not(None))


def networks_serving(postcode: int) -> list[int]:
    """Ids of networks whose service area contains the 4-digit *postcode* (public or not: callers filter)."""
    # Deliberately across networks: the search has to look at every network's service area. It reads
    # postcode ranges only, and the caller keeps the ids of approved public networks.
    return list(db.session.scalars(all_networks(
        select(ServiceAreaRange.network_id).where(ServiceAreaRange.first <= postcode,
                                                  ServiceAreaRange.last >= postcode).distinct())))


def _active_member_disciplines():
    return (select(MembershipDiscipline.network_id, MembershipDiscipline.discipline_id)
            .join(Membership, and_(Membership.network_id == MembershipDiscipline.network_id,
                                   Membership.id == MembershipDiscipline.membership_id))
            .where(Membership.is_active.is_(True)).distinct())


def networks_with_discipline(discipline_id: int) -> list[int]:
    """Ids of networks with an active member of the discipline (public or not: callers filter)."""
    # Deliberately across networks, for the search "which network has a dietician": discipline ids only.
    statement = _active_member_disciplines().where(MembershipDiscipline.discipline_id == discipline_id)
    return list({network_id for network_id, _ in db.session.execute(all_networks(statement))})


def disciplines_by_network(network_ids: list[int]) -> dict[int, list[DisciplineEntry]]:
    """The distinct disciplines of active members, per network, in the controlled list's order."""
    if not network_ids:
        return {}
    # Deliberately across networks: one query for a whole page of the directory instead of one per
    # network. Callers pass ids of approved public networks only; it reads discipline ids only.
    pairs = db.session.execute(all_networks(
        _active_member_disciplines().where(MembershipDiscipline.network_id.in_(network_ids)))).all()
    disciplines = discipline_catalogue()
    present: dict[int, set[int]] = {}
    for network_id, discipline_id in pairs:
        present.setdefault(network_id, set()).add(discipline_id)
    return {network_id: [d for d in disciplines if d.id in present.get(network_id, ())]
            for network_id in network_ids}


def find_discipline(code: str) -> Discipline | None:
    return db.session.scalar(select(Discipline).where(Discipline.code == code)) if code else None


# --- one network's public page --------------------------------------------------------------------

@dataclass
class PublicMember:
    """What the public page shows of a member: no email address, a phone only when published."""

    name: str
    practice_name: str
    city: str
    phone: str
    is_listed_in_verwijsgids: bool
    verwijsgids_url: str
    is_oncology_specialised: bool


@dataclass
class DisciplineSection:
    code: str
    name: str
    members: list[PublicMember] = field(default_factory=list)


def public_members(network: Network, *, locale: str) -> list[DisciplineSection]:
    """Active members of *network* per discipline (a member with two disciplines is in both).

    Three queries whatever the number of members; runs inside network_context(network.id).
    """
    with network_context(network.id):
        memberships = db.session.scalars(
            select(Membership).where(Membership.is_active.is_(True))
            .options(selectinload(Membership.disciplines))).unique().all()
        sections: dict[str, DisciplineSection] = {}
        order: dict[str, int] = {}
        for membership in sorted(memberships, key=lambda m: m.user.full_name.lower()):
            person = _public_member(membership)
            for discipline in membership.disciplines or [None]:
                code = discipline.code if discipline else ""
                if code not in sections:
                    name = discipline.name(locale) if discipline else _("Other")
                    sections[code] = DisciplineSection(code=code, name=name)
                    order[code] = discipline.sort_order if discipline else 10_000
                sections[code].members.append(person)
    return sorted(sections.values(), key=lambda section: order[section.code])


def _public_member(membership: Membership) -> PublicMember:
    url = membership.verwijsgids_url if membership.verwijsgids_url.startswith(("https://", "http://")) else ""
    return PublicMember(
        name=membership.user.full_name, practice_name=membership.practice_name, city=membership.city,
        phone=membership.phone if membership.phone_is_public else "",
        is_listed_in_verwijsgids=membership.is_listed_in_verwijsgids, verwijsgids_url=url,
        is_oncology_specialised=membership.is_oncology_specialised)


# --- applying to start a network, and approval by the platform admin -------------------------------

def apply_for_network(*, applicant: User, name: str, slug: str, region: str) -> Network:
    """Create a network awaiting approval (not public, being set up) with *applicant* as coordinator.

    Raises ApplicationError when the slug is taken or the applicant already has an application
    waiting. Flushes and audits; the caller commits.
    """
    if _pending_applications(applicant) >= MAX_PENDING_APPLICATIONS:
        raise ApplicationError(_("You already have an application waiting for approval."))
    if db.session.scalar(select(Network.id).where(Network.slug == slug)) is not None:
        raise ApplicationError(_("This web address name is taken; choose another one."))
    network = Network(name=name.strip(), slug=slug, region=region.strip(), status=NetworkStatus.SETTING_UP,
                      is_public=False, approved_at=None)
    try:
        with db.session.begin_nested():  # a concurrent application for the same slug: a clear error
            db.session.add(network)
            db.session.flush()
    except IntegrityError:
        raise ApplicationError(_("This web address name is taken; choose another one.")) from None
    with network_context(network.id):
        membership = Membership(network_id=network.id, user_id=applicant.id, role=Role.COORDINATOR)
        db.session.add(membership)
        db.session.flush()
        audit.record("network.applied", AuditAction.CREATE, object_type="network", object_id=network.id)
        audit.record("membership.created", AuditAction.CREATE, object_type="membership", object_id=membership.id)
    return network


def _pending_applications(applicant: User) -> int:
    # Deliberately across networks: the applicant's own coordinator memberships of unapproved networks.
    return db.session.scalar(all_networks(
        select(func.count(Membership.id)).join(Network, Network.id == Membership.network_id)
        .where(Membership.user_id == applicant.id, Membership.role == Role.COORDINATOR,
               Network.approved_at.is_(None))))


def pending_applications() -> list[Network]:
    return list(db.session.scalars(select(Network).where(Network.approved_at.is_(None))
                                   .order_by(Network.created_at, Network.id)))


def coordinators_of(network: Network) -> list[Membership]:
    """The coordinators of one network (for the platform admin's approval page)."""
    with network_context(network.id):
        return list(db.session.scalars(select(Membership).where(Membership.role == Role.COORDINATOR)
                                       .order_by(Membership.id)))


def approve_network(*, network: Network) -> bool:
    """Approve an application (sets approved_at; audited). False when it was approved already.

    Approval does not publish the network: its coordinator chooses that. The caller commits.
    """
    if network.approved_at is not None:
        return False
    network.approved_at = utcnow()
    db.session.flush()
    audit.record("network.approved", AuditAction.UPDATE, object_type="network", object_id=network.id,
                 network_id=network.id)
    return True
