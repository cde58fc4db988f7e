"""Registering, revoking and authenticating API clients, and issuing their tokens (the service layer).

Who may register: a coordinator for their network, or a verified GP for their own referrals. Callers commit;
every registration and revocation is audit-logged here.
"""
from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import select

from app.auth.models import ReferrerKind, User
from app.core import audit
from app.core.audit import AuditAction
from app.core.db import utcnow
from app.core.security import hash_password, hash_token
from app.core.tenancy import network_context
from app.extensions import db
from app.fhir.models import ApiClient, ApiToken
from app.networks.models import Membership, Network, Role

# SMART v1 system scopes this server knows; a client gets a subset, a token a subset of the client's.
SCOPE_REFERRAL_WRITE = "system/ServiceRequest.write"
SCOPE_TASK_READ = "system/Task.read"
SCOPE_CARETEAM_READ = "system/CareTeam.read"
SCOPE_CONSENT_READ = "system/Consent.read"
SCOPE_LETTER_READ = "system/DocumentReference.read"  # the letters to the GP (DocumentReference, Binary, Communication)
SCOPE_RECORD_READ = "system/Composition.read"  # the shared record, as far as the patient's consent shares it
SCOPES = (SCOPE_REFERRAL_WRITE, SCOPE_TASK_READ, SCOPE_CARETEAM_READ, SCOPE_CONSENT_READ, SCOPE_LETTER_READ,
          SCOPE_RECORD_READ)
# A network's system reads its network's referrals, care teams and consents; a GP's system sends referrals (as that
# GP) and reads their status, care team and the letters to the GP; the consents and the record are the network's.
NETWORK_SCOPES = frozenset({SCOPE_TASK_READ, SCOPE_CARETEAM_READ, SCOPE_CONSENT_READ, SCOPE_RECORD_READ})
GP_SCOPES = frozenset({SCOPE_REFERRAL_WRITE, SCOPE_TASK_READ, SCOPE_CARETEAM_READ, SCOPE_LETTER_READ})
TOKEN_LIFETIME = timedelta(minutes=15)


class RegistrationRefused(Exception):
    """The user may not register a client this way; str() says why."""


def _is_coordinator(user: User, network: Network) -> bool:
    with network_context(network.id):
        return db.session.scalar(select(Membership.id).where(
            Membership.user_id == user.id, Membership.role == Role.COORDINATOR,
            Membership.is_active.is_(True))) is not None


def register_client(*, registered_by: User, name: str, scopes: list[str],
                    network: Network | None = None) -> tuple[ApiClient, str]:
    """Register a client for *network* (by its coordinator) or, without a network, for the registering GP's
    own referrals. Returns (client, secret): the secret is shown once and stored only as an argon2 hash.
    Raises RegistrationRefused."""
    from app.referrals.services import is_verified_referrer

    name = (name or "").strip()
    if not name or len(name) > 200:
        raise RegistrationRefused("name: 1 to 200 characters")
    if network is not None:
        if not _is_coordinator(registered_by, network):
            raise RegistrationRefused("only a coordinator of the network registers its systems")
        allowed = NETWORK_SCOPES
    else:
        if not is_verified_referrer(registered_by) or registered_by.gp_profile.kind is not ReferrerKind.GP:
            raise RegistrationRefused("only a verified GP registers a system for their own referrals")
        allowed = GP_SCOPES
    wrong = sorted(set(scopes) - allowed)
    if wrong or not scopes:
        raise RegistrationRefused(f"scopes not allowed: {wrong}" if wrong else "choose at least one scope")
    secret = secrets.token_urlsafe(32)
    client = ApiClient(client_id=secrets.token_urlsafe(18), name=name, secret_hash=hash_password(secret),
                       scope=" ".join(sorted(set(scopes))), network_id=network.id if network else None,
                       owner_user_id=None if network else registered_by.id, registered_by_id=registered_by.id)
    db.session.add(client)
    db.session.flush()
    audit.record("api_client.registered", AuditAction.CREATE, user_id=registered_by.id, object_type="api_client",
                 object_id=client.id, network_id=client.network_id, basis="coordinator" if network else "gp")
    return client, secret


def revoke_client(client: ApiClient, *, by: User) -> None:
    """Revoke *client*: its tokens stop working on the next request (checked on every request)."""
    if client.revoked_at is None:
        client.revoked_at = utcnow()
        audit.record("api_client.revoked", AuditAction.UPDATE, user_id=by.id, object_type="api_client",
                     object_id=client.id, network_id=client.network_id)


LIST_LIMIT = 100  # a network or a GP connects a handful of systems


def clients_of_network(network_id: int) -> list[ApiClient]:
    return list(db.session.scalars(select(ApiClient).where(ApiClient.network_id == network_id)
                                   .order_by(ApiClient.revoked_at.is_not(None), ApiClient.id.desc()).limit(LIST_LIMIT)))


def clients_of_owner(user: User) -> list[ApiClient]:
    return list(db.session.scalars(select(ApiClient).where(ApiClient.owner_user_id == user.id)
                                   .order_by(ApiClient.revoked_at.is_not(None), ApiClient.id.desc()).limit(LIST_LIMIT)))


def network_client(network_id: int, api_client_id: int) -> ApiClient | None:
    """A system of *network_id* (None for another network's or an unknown id)."""
    return db.session.scalar(select(ApiClient).where(ApiClient.id == api_client_id,
                                                     ApiClient.network_id == network_id))


def owned_client(user: User, api_client_id: int) -> ApiClient | None:
    return db.session.scalar(select(ApiClient).where(ApiClient.id == api_client_id,
                                                     ApiClient.owner_user_id == user.id))


def client_by_client_id(client_id: str) -> ApiClient | None:
    if not client_id or len(client_id) > 64:
        return None
    return db.session.scalar(select(ApiClient).where(ApiClient.client_id == client_id))


def save_token(token: dict, client: ApiClient) -> ApiToken:
    """Store an issued token as a hash, with its expiry."""
    now = utcnow()
    row = ApiToken(api_client_id=client.id, token_hash=hash_token(token["access_token"]),
                   scope=token.get("scope", ""), issued_at=now,
                   expires_at=now + timedelta(seconds=int(token["expires_in"])))
    db.session.add(row)
    db.session.flush()
    return row


def token_by_value(value: str) -> ApiToken | None:
    if not value or len(value) > 200:
        return None
    return db.session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(value)))


def revoke_token(token: ApiToken) -> None:
    if token.revoked_at is None:
        token.revoked_at = utcnow()
