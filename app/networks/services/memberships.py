"""Memberships: invite, deactivate and reactivate members of a network. Callers commit."""
from __future__ import annotations

import functools
from dataclasses import dataclass

from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import joinedload, lazyload

from app.auth.models import TokenPurpose, User
from app.auth.services import find_user_by_email, lapse_tokens
from app.core import audit
from app.core.audit import AuditAction
from app.core.mail import OneTimeLink, mail_recheck, queue_mail
from app.core.security import session_joined_to, session_token_hash
from app.core.tenancy import all_networks, global_tables_only, prebuilt
from app.extensions import db
from app.networks.models import Discipline, DisciplineGroup, Membership, MembershipDiscipline, Network, Role


class MembershipError(Exception):
    pass


def own_memberships(user_id: int) -> list[Membership]:
    """The user's active memberships in every network (the start page): a deliberate read across networks,
    always filtered by the user."""
    return list(db.session.scalars(all_networks(
        select(Membership).where(Membership.user_id == user_id, Membership.is_active.is_(True))
        .options(joinedload(Membership.network)))))


def own_network_names(user_id: int) -> list[str]:
    """Names of every network the user belongs to (words a password must not contain); across networks,
    filtered by the user."""
    return list(db.session.scalars(all_networks(select(Network.name).join(
        Membership, Membership.network_id == Network.id).where(Membership.user_id == user_id))))


def disciplines_query():
    return select(Discipline).order_by(Discipline.sort_order)


@dataclass(frozen=True)
class DisciplineEntry:
    """A discipline of the controlled list as plain values (shared between requests, never an ORM object)."""

    id: int
    code: str
    name_nl: str
    name_en: str
    group: DisciplineGroup
    counts_as_psychosocial: bool
    sort_order: int
    in_verwijsgids_scope: bool

    def name(self, locale: str) -> str:
        return self.name_en if locale == "en" else self.name_nl


def discipline_catalogue() -> tuple[DisciplineEntry, ...]:
    """The controlled list in its order, read once per process and database: the migrations seed it and
    nothing in the application changes it (a new list comes with a deployment, which restarts the workers)."""
    return _catalogue_of(db.engine.url.render_as_string(hide_password=True))


def discipline_names(locale: str) -> dict[int, str]:
    """Discipline id -> its name in *locale*, from the catalogue."""
    return {entry.id: entry.name(locale) for entry in discipline_catalogue()}


@functools.lru_cache(maxsize=8)
def _catalogue_of(_database: str) -> tuple[DisciplineEntry, ...]:
    return tuple(DisciplineEntry(d.id, d.code, d.name_nl, d.name_en, d.group, d.counts_as_psychosocial,
                                 d.sort_order, d.in_verwijsgids_scope)
                 for d in db.session.scalars(disciplines_query()))


def invite_member(*, network: Network, email: str, full_name: str, role: Role,
                  discipline_ids: list[int] = (), practice_name: str = "", city: str = "",
                  agb_code: str | None = None, base_url: str) -> Membership:
    """Add a person to *network* and mail them an invitation (a new account) or a notice.

    Raises MembershipError when they are a member already.
    """
    user = find_user_by_email(email)
    new_account = user is None
    if new_account:
        user = User(email=email.strip().lower(), full_name=full_name.strip(), active=True)
        db.session.add(user)
        db.session.flush()
    existing = db.session.scalar(select(Membership).where(Membership.network_id == network.id,
                                                          Membership.user_id == user.id))
    if existing is not None:
        raise MembershipError(_("%(email)s is already a member of this network.", email=user.email))
    membership = Membership(network_id=network.id, user_id=user.id, role=role, practice_name=practice_name,
                            city=city, agb_code=agb_code or None)
    db.session.add(membership)
    db.session.flush()
    for discipline_id in dict.fromkeys(discipline_ids):
        db.session.add(MembershipDiscipline(network_id=network.id, membership_id=membership.id,
                                            discipline_id=discipline_id))
    audit.record("membership.created", AuditAction.CREATE, object_type="membership", object_id=membership.id)
    if new_account or not user.password_hash:
        lapse_tokens(user, TokenPurpose.INVITE)
        # The token is minted when the mail is sent (the outbox holds no usable link), and only while
        # the membership is still active then.
        queue_mail(to=user.email, template="invitation", subject=_l("Invitation to Netwerkzorg"),
                   locale=user.locale or network.default_locale, network_id=network.id,
                   network_name=network.name, user=user,
                   one_time_link=OneTimeLink(user.id, TokenPurpose.INVITE.value, "auth.accept_invitation_link"),
                   recheck=("membership", {"membership_id": membership.id}))
    else:
        queue_mail(to=user.email, template="added_to_network", network_id=network.id,
                   locale=user.locale or network.default_locale,
                   subject=_l("You were added to %(network)s", network=network.name),
                   network_name=network.name, user=user, link=base_url + url_for("main.index"))
    return membership


@mail_recheck("membership")
def may_still_be_told(*, membership_id: int | None = None, user_id: int | None = None,
                      role: str | None = None) -> bool:
    """Mail re-check (right before SMTP, inside the mail's network): the membership (by id, or the user's
    membership in this network) is still active, with *role* if given, and so is the account."""
    statement = select(Membership).join(Membership.user).where(Membership.is_active.is_(True), User.active.is_(True))
    if membership_id is not None:
        statement = statement.where(Membership.id == membership_id)
    elif user_id is not None:
        statement = statement.where(Membership.user_id == user_id)
    else:
        return False
    if role is not None:
        statement = statement.where(Membership.role == Role(role))
    return db.session.scalar(statement.limit(1)) is not None


def active_coordinator_count() -> int:
    """Active coordinators of the current network."""
    return db.session.scalar(select(func.count()).select_from(Membership).where(
        Membership.role == Role.COORDINATOR, Membership.is_active.is_(True)))


def set_membership_active(membership: Membership, *, active: bool) -> None:
    """Deactivate or reactivate; history is kept, nothing is deleted.

    Raises MembershipError when it would leave the network without an active coordinator.
    """
    if not active and membership.role is Role.COORDINATOR and active_coordinator_count() <= 1:
        raise MembershipError(_("A network needs at least one active coordinator."))
    if active:
        membership.is_active = True
        membership.deactivated_at = None
    else:
        membership.deactivate()
    audit.record("membership.reactivated" if active else "membership.deactivated", AuditAction.UPDATE,
                 object_type="membership", object_id=membership.id)


# --- the lookups create_app hands to core (core imports no feature) -----------------------------

def network_by_slug(slug: str) -> Network | None:
    """The network named in a URL, or None (the URL processor of app.core.tenancy)."""
    return db.session.scalar(_network_by_slug(), {"slug": slug})


@functools.cache
def _network_by_slug():
    return global_tables_only(select(Network).where(Network.slug == bindparam("slug")))


def network_and_session_by_slug(slug: str):
    """The URL's network and, in the same statement, the signed-in session (app.core.security.session_joined_to):
    (network or None, session row or None). Without a session cookie only the network is read."""
    token_hash = session_token_hash()
    if token_hash is None:
        return network_by_slug(slug), None
    row = db.session.execute(_network_and_session(), {"slug": slug, "token_hash": token_hash}).first()
    return (row[0], row[1]) if row is not None else (None, None)


@functools.cache
def _network_and_session():
    # Networks, sessions, users and GP profiles have no row-level security: no network settings needed yet.
    return session_joined_to(_network_by_slug())


def active_membership(network_id: int, user_id: int) -> Membership | None:
    """The user's active membership of the network, or None (the gate of app.core.security)."""
    return db.session.scalar(_active_membership_query(), {"network_id": network_id, "user_id": user_id})


def active_membership_with(network_id: int, user_id: int, column_of) -> tuple[Membership | None, object]:
    """active_membership and one more scalar column over the membership row, in the same statement (the
    composition root reads the coordinator's badge count this way: one statement fewer on every page).
    *column_of(network_id)* makes that column from the network id's bound parameter; it is built once per caller."""
    row = db.session.execute(_active_membership_with(column_of),
                             {"network_id": network_id, "user_id": user_id}).first()
    return (row[0], row[1]) if row is not None else (None, None)


@functools.cache
def _active_membership_query():
    # Built once (prebuilt: it runs on every request). Its user is the signed-in user, already loaded with the
    # session: from the identity map, not joined again.
    return prebuilt(select(Membership).where(Membership.network_id == bindparam("network_id"),
                                             Membership.user_id == bindparam("user_id"),
                                             Membership.is_active.is_(True))
                    .options(lazyload(Membership.user)))


@functools.cache
def _active_membership_with(column_of):
    return _active_membership_query().add_columns(column_of(bindparam("network_id")))
