"""The tenant (network) of a request or job, and the safety nets that keep every query inside it.

Layers: the network comes from the URL and must match a membership (security.py); a
do_orm_execute listener adds the network criteria to every SELECT of a scoped class; a
before_flush listener refuses writes of rows belonging to another network. On PostgreSQL a second
wall below the ORM: row-level security on every network-owned table (migration 0016) reads the
settings netwerkzorg.network_id and netwerkzorg.all_networks, which a cursor hook here keeps equal
to the current network and the named bypass on every connection, before every statement (raw SQL
included). It applies to the application's database role, which does not own the tables
(docs/operations.md, "Two database roles"). Core imports no feature: the lookup of a network by its
slug is passed in by create_app (register_tenancy).
"""
from __future__ import annotations

import contextlib
import contextvars
import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask, g, has_app_context
from sqlalchemy import event, inspect
from sqlalchemy.engine import Engine
from sqlalchemy.orm import ORMExecuteState, Session, with_loader_criteria

from app.core.db import NetworkScopedMixin

_job_network: contextvars.ContextVar[int | None] = contextvars.ContextVar("job_network", default=None)


class NoNetworkContext(RuntimeError):
    """A query on network-owned data ran without a network: fail closed."""


class CrossNetworkWrite(RuntimeError):
    """A flush tried to write a row of another network than the current one."""


def current_network_id() -> int | None:
    override = _job_network.get()
    if override is not None:
        return override
    if has_app_context():
        network = g.get("network")
        if network is not None:
            return network.id
    return None


@contextmanager
def network_context(network_id: int) -> Iterator[None]:
    """Run a block (a job, a CLI command, a seed) as if inside *network_id*."""
    if not network_id:
        raise NoNetworkContext("network_context needs a network id")
    token = _job_network.set(network_id)
    try:
        yield
    finally:
        _job_network.reset(token)


def all_networks(statement):
    """Mark a statement as deliberately reading across networks (named bypass, grep-able)."""
    return statement.execution_options(all_networks=True)


def global_tables_only(statement):
    """Mark a statement that reads or writes only tables without row-level security (networks, users, sessions,
    the audit log): it runs under whatever network settings the connection has. Looking up the URL's network before
    the network is known, the signed-in session, or writing the audit row of a page that reads across networks (the
    GP's) so costs no round trip to flip the settings and back (two a request). The tenant scope refuses the mark on
    a statement of network data."""
    return statement.execution_options(global_tables_only=True)


def prebuilt(statement):
    """Mark a statement that is built once per process (functools.cache) and run with bound parameters: the
    scope's copy of it is kept per network, so its cache key is made once instead of on every run (about a third
    of a small query's cost). The copy holds the same network criteria as every other statement."""
    return statement.execution_options(prebuilt=True)


# (id of a prebuilt statement, network id) -> (that statement, its scoped copy). The statement is held, so its id
# cannot be reused by another object while the entry lives; the check `kept[0] is statement` makes sure of it.
_scoped_copies: dict[tuple[int, int], tuple[Any, Any]] = {}
_SCOPED_COPIES_MAX = 4096


@event.listens_for(Session, "do_orm_execute")
def _scope_to_network(state: ORMExecuteState) -> None:
    if state.execution_options.get("global_tables_only") and any(
            issubclass(mapper.class_, NetworkScopedMixin) for mapper in state.all_mappers):
        # The mark skips the row-level security settings: a statement on network data must never carry it.
        raise NoNetworkContext(f"global_tables_only on network data: {state.statement}")
    if not state.is_select or state.is_column_load or state.is_relationship_load:
        return
    if state.execution_options.get("all_networks"):
        return
    network_id = current_network_id()  # captured outside the lambda: it is evaluated once per class
    if network_id is None:
        if any(issubclass(mapper.class_, NetworkScopedMixin) for mapper in state.all_mappers):
            raise NoNetworkContext(f"query on network data without a network: {state.statement}")
        return
    statement = state.statement
    if not state.execution_options.get("prebuilt"):
        state.statement = statement.options(_network_criteria(network_id))
        return
    key = (id(statement), network_id)
    kept = _scoped_copies.get(key)
    if kept is None or kept[0] is not statement:
        if len(_scoped_copies) >= _SCOPED_COPIES_MAX:
            _scoped_copies.clear()
        kept = (statement, statement.options(_network_criteria(network_id)))
        _scoped_copies[key] = kept
    state.statement = kept[1]


@functools.lru_cache(maxsize=4096)
def _network_criteria(network_id: int):
    """The scope of one network as a loader option, made once per network: building it on every statement
    (lambda analysis, a new cache key) was a third of a small query's cost."""
    return with_loader_criteria(NetworkScopedMixin, lambda cls: cls.network_id == network_id, include_aliases=True)


@event.listens_for(Session, "before_flush")
def _refuse_cross_network_writes(session: Session, flush_context, instances) -> None:
    network_id = current_network_id()
    for obj in list(session.new) + list(session.dirty) + list(session.deleted):
        if not isinstance(obj, NetworkScopedMixin):
            continue
        if obj.network_id is None and obj in session.new and network_id is not None:
            obj.network_id = network_id
        if network_id is None or obj.network_id != network_id:
            raise CrossNetworkWrite(f"{type(obj).__name__} of network {obj.network_id} "
                                    f"written in network {network_id}")


def register_tenancy(app: Flask, *, load_network: Callable[[str], Any]) -> None:
    """URL processors for /n/<network_slug>/...: *load_network(slug)* returns the network or None
    (the networks feature provides it; core does not know the model)."""

    @app.url_value_preprocessor
    def _pull_network(endpoint, values):
        slug = values.pop("network_slug", None) if values else None
        g.network = None
        g.network_requested = slug is not None
        if slug is not None and "\x00" not in slug:  # PostgreSQL refuses NUL; such a slug is unknown
            # An unknown slug is answered by the gate in security.py, the same way as a network
            # the user is not a member of, so that slugs are not confirmed to outsiders.
            g.network = load_network(slug)

    @app.url_defaults
    def _push_network(endpoint, values):
        network = g.get("network")
        if network is not None and app.url_map.is_endpoint_expecting(endpoint, "network_slug"):
            values.setdefault("network_slug", network.slug)


# --- the second wall: PostgreSQL row-level security --------------------------------------------------------------

TENANT_SETTINGS = ("SELECT set_config('netwerkzorg.network_id', %s, false), "
                   "set_config('netwerkzorg.all_networks', %s, false)")


def _current_network_id_without_loading() -> int | None:
    """current_network_id() for the cursor hook: g.network's id from its identity, never by loading the object
    (an expired network would refresh itself through this very hook)."""
    override = _job_network.get()
    if override is not None:
        return override
    if has_app_context():
        network = g.get("network")
        if network is not None:
            identity = inspect(network).identity
            return identity[0] if identity else None
    return None


_TRANSACTION_CONTROL = ("ROLLBACK ", "RELEASE S", "SAVEPOINT", "BEGIN", "COMMIT")
_PSYCOPG_IN_ERROR = 3  # psycopg.pq.TransactionStatus.INERROR


def send_tenant_settings(dbapi_connection, wanted: tuple[str, str]) -> None:
    """One round trip; a page whose statements all agree on the settings never pays it (tests count it here)."""
    with dbapi_connection.cursor() as own:
        own.execute(TENANT_SETTINGS, wanted)


@event.listens_for(Engine, "before_cursor_execute")
def _tell_postgres_the_network(conn, cursor, statement, parameters, context, executemany) -> None:
    """Before each statement: the connection's settings say the current network and whether the statement is the
    named bypass (all_networks). Sent only when they differ from what the connection has (one round trip when the
    network changes, none otherwise)."""
    if conn.dialect.name != "postgresql" or statement.lstrip()[:9].upper() in _TRANSACTION_CONTROL:
        return  # ROLLBACK TO SAVEPOINT runs in an aborted transaction, where nothing else may be sent first
    if context is not None and context.execution_options.get("global_tables_only"):
        return
    bypass = bool(context is not None and context.execution_options.get("all_networks"))
    wanted = (str(_current_network_id_without_loading() or ""), "on" if bypass else "off")
    record = conn.connection  # the pool's record of this DBAPI connection: its info outlives the checkout
    if record.info.get("tenant_settings") == wanted:
        return
    status = getattr(getattr(record.dbapi_connection, "info", None), "transaction_status", None)
    if status is not None and int(status) == _PSYCOPG_IN_ERROR:
        return  # an aborted transaction takes nothing but its rollback; the next transaction sends them
    send_tenant_settings(record.dbapi_connection, wanted)
    record.info["tenant_settings"] = wanted
    record.info["tenant_settings_in_transaction"] = True


@event.listens_for(Engine, "commit")
def _keep_tenant_settings(conn) -> None:
    with contextlib.suppress(Exception):  # a connection already closed has nothing to keep
        conn.connection.info["tenant_settings_in_transaction"] = False


@event.listens_for(Engine, "rollback")
def _forget_tenant_settings(conn) -> None:
    # A rollback undoes a set_config made in its own transaction (only then): send them again next time.
    with contextlib.suppress(Exception):  # a connection already closed has nothing to forget
        info = conn.connection.info
        if info.pop("tenant_settings_in_transaction", False):
            info.pop("tenant_settings", None)


@event.listens_for(Engine, "rollback_savepoint")
def _forget_tenant_settings_of_a_savepoint(conn, name, context) -> None:
    with contextlib.suppress(Exception):  # conservative: a savepoint's rollback may have undone them
        conn.connection.info.pop("tenant_settings", None)
