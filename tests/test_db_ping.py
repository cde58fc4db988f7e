"""Pooled connections and a database that went away (app.core.db.ping_after_idle): a connection idle for a while is
pinged at checkout and replaced when the ping fails; a busy one is not pinged (no round trip per request), and if
its server went away the failing statement invalidates it and the next checkout reconnects."""
from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from app.core.db import ping_after_idle
from tests.conftest import DATABASE_URL, IS_POSTGRES

pytestmark = pytest.mark.skipif(not IS_POSTGRES, reason="ends a server connection with pg_terminate_backend")


def _pooled_engine(idle_seconds: float):
    engine = create_engine(DATABASE_URL, pool_size=1, max_overflow=0)
    ping_after_idle(engine, idle_seconds)
    return engine


def _backend_pid(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT pg_backend_pid()")).scalar_one()


def _end_server_side(pid: int) -> None:
    other = create_engine(DATABASE_URL, poolclass=NullPool)
    with other.connect() as conn:
        assert conn.execute(text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": pid}).scalar_one()
    other.dispose()


def test_an_idle_connection_whose_server_went_away_is_replaced_at_checkout(app):
    engine = _pooled_engine(0)  # every pooled connection counts as idle
    try:
        first = _backend_pid(engine)
        _end_server_side(first)
        with engine.connect() as conn:  # the ping fails, the pool connects anew: no error reaches the caller
            assert conn.execute(text("SELECT pg_backend_pid()")).scalar_one() != first
    finally:
        engine.dispose()


def test_a_busy_connection_is_not_pinged_and_the_pool_recovers_after_one_failure(app):
    engine = _pooled_engine(3600)
    try:
        first = _backend_pid(engine)
        with engine.connect() as conn:  # used a moment ago: no ping, the same connection comes back
            assert conn.execute(text("SELECT pg_backend_pid()")).scalar_one() == first
        _end_server_side(first)
        with pytest.raises(DBAPIError) as failure, engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        assert failure.value.connection_invalidated
        assert _backend_pid(engine) != first
    finally:
        engine.dispose()
