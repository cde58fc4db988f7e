"""FHIR API clients and their access tokens (global tables: a GP's client spans networks).

A client is registered either for one network (by its coordinator: `network_id` set) or for one GP's own
referrals (by the GP: `owner_user_id` set), never both. Secrets and tokens are stored only as hashes.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.auth.models import User
from app.core.db import utcnow
from app.core.security import hash_matches
from app.extensions import db


class ApiClient(db.Model):
    """A registered system; implements Authlib's ClientMixin for the client-credentials grant."""

    __tablename__ = "api_clients"
    __table_args__ = (
        CheckConstraint("(network_id IS NULL) <> (owner_user_id IS NULL)", name="one_owner"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    secret_hash: Mapped[str] = mapped_column(String(200))
    scope: Mapped[str] = mapped_column(String(500))
    network_id: Mapped[int | None] = mapped_column(ForeignKey("networks.id"), index=True)
    owner_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    registered_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]

    owner: Mapped[User | None] = relationship(foreign_keys=[owner_user_id])

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    # --- Authlib ClientMixin ---------------------------------------------------------------------

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> None:
        return None

    def get_allowed_scope(self, scope: str | None) -> str:
        allowed = set(self.scope.split())
        if not scope:
            return self.scope
        return " ".join(s for s in scope.split() if s in allowed)

    def check_redirect_uri(self, redirect_uri) -> bool:
        return False

    def check_client_secret(self, client_secret: str) -> bool:
        return self.is_active and hash_matches(self.secret_hash, client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type) -> bool:
        return False

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "client_credentials"


class ApiToken(db.Model):
    """An issued bearer token (hash only); implements Authlib's TokenMixin."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    api_client_id: Mapped[int] = mapped_column(ForeignKey("api_clients.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scope: Mapped[str] = mapped_column(String(500))
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]

    client: Mapped[ApiClient] = relationship()

    def check_client(self, client) -> bool:
        return client.id == self.api_client_id

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return max(0, int((self.expires_at - self.issued_at).total_seconds()))

    def is_expired(self) -> bool:
        return self.expires_at <= utcnow()

    def is_revoked(self) -> bool:
        # Revoking the client ends every token at once, on the next request.
        return self.revoked_at is not None or not self.client.is_active

    def get_user(self):
        return self.client.owner

    def get_client(self) -> ApiClient:
        return self.client


class ApiSubscription(db.Model):
    """A client's R4 Subscription (rest-hook, empty payload): when a Task it may read changes, the job queue POSTs
    a notification without body to *endpoint* (headers name the Subscription and the Task; no patient data), and
    the system reads the Task. Retried by the job queue; ended by DELETE or when the client is revoked."""

    __tablename__ = "api_subscriptions"
    id: Mapped[int] = mapped_column(primary_key=True)
    api_client_id: Mapped[int] = mapped_column(ForeignKey("api_clients.id"), index=True)
    criteria: Mapped[str] = mapped_column(String(200))  # "Task" (every Task the client reads) or "Task?_id=<id>"
    task_id: Mapped[int | None]  # the one Task of "Task?_id=<id>"
    endpoint: Mapped[str] = mapped_column(String(500))
    header: Mapped[str] = mapped_column(String(500), default="")  # e.g. the receiver's "Authorization: Bearer ..."
    reason: Mapped[str] = mapped_column(String(500), default="")
    status: Mapped[str] = mapped_column(String(20), default="active")  # active | off
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None]
    last_sent_at: Mapped[datetime | None]
    failures: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str] = mapped_column(String(300), default="")

    client: Mapped[ApiClient] = relationship()
