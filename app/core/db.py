"""Declarative base, naming convention, UTC timestamps and the network-scoped mixin."""
from __future__ import annotations

import time
from datetime import UTC, datetime

from sqlalchemy import DateTime, ForeignKey, MetaData, TypeDecorator, event, func
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column, registry


def utcnow() -> datetime:
    return datetime.now(UTC)


def ping_after_idle(engine, idle_seconds: float) -> None:
    """Disconnect handling for pooled connections: one that sat in the pool for *idle_seconds* or more is pinged
    when it is checked out, and replaced if the ping fails (the pool tries again with a new one).

    pool_pre_ping would ping on every checkout, a round trip on every request; a connection used a moment ago is
    alive, and should the database have gone away in that moment, the failing statement invalidates the pool
    and the next request reconnects. (tests/test_db_ping.py shows both.)"""
    pool = engine.pool

    @event.listens_for(pool, "checkin")
    def _idle_from_now(dbapi_connection, record) -> None:
        if record is not None:
            record.info["idle_since"] = time.monotonic()

    @event.listens_for(pool, "checkout")
    def _ping_if_idle(dbapi_connection, record, proxy) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < idle_seconds:
            return  # new, or used a moment ago
        try:
            cursor = dbapi_connection.cursor()
            try:
                cursor.execute("SELECT 1")
            finally:
                cursor.close()
        except Exception as error:  # any failure of the ping means: not this connection
            raise DisconnectionError("pooled connection failed its ping") from error


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC on every backend; SQLite drops the offset, so it is restored on read."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None:
            if value.tzinfo is None:
                raise ValueError("naive datetime given; use utcnow()")
            value = value.astimezone(UTC)
        return value

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    # One registry carries the naming convention and the UTC timestamp type; Flask-SQLAlchemy
    # subclasses this base, which forbids a per-class type_annotation_map.
    registry = registry(metadata=MetaData(naming_convention={
        "pk": "pk_%(table_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
    }), type_annotation_map={datetime: UTCDateTime()})


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, server_default=func.now())


class NetworkScopedMixin:
    """Marks a row as owned by one network; the tenancy safety net scopes every query on it."""

    @declared_attr
    def network_id(cls) -> Mapped[int]:  # noqa: N805 - declared_attr takes the class
        return mapped_column(ForeignKey("networks.id", ondelete="RESTRICT"), index=True)
