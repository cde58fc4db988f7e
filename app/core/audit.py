"""NEN 7513 audit log: one append-only, hash-chained table and the helper every view calls.

The application never updates or deletes an AuditEvent (a flush guard refuses it; database triggers refuse
UPDATE, DELETE and, on PostgreSQL, TRUNCATE too). Each row's hash covers the previous row's hash *in the same
network* (one chain per network, and one for the rows of no network), so a changed or removed row breaks its
chain (verify_chain), and a page view in one network never waits for another network's audit row: the writer
locks only its own chain. Rows written before the chains were split (migration 0020) form one global chain;
the verifier accepts that prefix. The one deletion is the retention purge (app.core.audit_integrity): it
removes the oldest rows under a purge permit and leaves a sealed checkpoint (the last purged row's hash and
each chain's last purged hash, HMAC-sealed with a key derived from SECRET_KEY) that the chains continue from.
"""
from __future__ import annotations

import enum
import functools
import hashlib
import hmac
import json
from datetime import datetime

from flask import abort, current_app, g, has_request_context, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import ForeignKey, Index, Integer, String, Text, bindparam, event, func, insert, literal, select, text
from sqlalchemy.orm import Mapped, Session, make_transient_to_detached, mapped_column

from app.core.db import utcnow
from app.core.tenancy import current_network_id, global_tables_only
from app.core.types import enum_type
from app.extensions import db


class AuditAction(enum.StrEnum):
    CREATE = "C"
    READ = "R"
    UPDATE = "U"
    DELETE = "D"
    EXPORT = "E"
    SEARCH = "S"
    LOGIN = "L"


class AuditOutcome(enum.StrEnum):
    SUCCESS = "success"
    FAILURE = "failure"
    DENIED = "denied"


# The words for the codes, on the network's audit log page and the patient's access overview.
ACTION_LABELS = {AuditAction.CREATE: _l("Created"), AuditAction.READ: _l("Viewed"), AuditAction.UPDATE: _l("Changed"),
                 AuditAction.DELETE: _l("Removed"), AuditAction.EXPORT: _l("Exported or printed"),
                 AuditAction.SEARCH: _l("Searched"), AuditAction.LOGIN: _l("Signed in")}
OUTCOME_LABELS = {AuditOutcome.SUCCESS: _l("Allowed"), AuditOutcome.DENIED: _l("Refused"),
                  AuditOutcome.FAILURE: _l("Failed")}
ROLE_LABELS = {"coordinator": _l("Coordinator"), "member": _l("Member"), "gp": _l("GP"),
               "platform_admin": _l("Platform administrator"), "api_client": _l("Connected system (API)"),
               "patient": _l("Patient"), "relative": _l("Relative of the patient")}


class AuditEvent(db.Model):
    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_network_id_occurred_at", "network_id", "occurred_at"),
        Index("ix_audit_events_network_id_patient_id", "network_id", "patient_id"),
        # The patient's own access log (the portal): their rows, newest first.
        Index("ix_audit_events_network_id_patient_id_id", "network_id", "patient_id", "id"),
        # The audit log page's order (newest first within the network): a page is read from the index.
        Index("ix_audit_events_network_id_id", "network_id", "id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime]
    event: Mapped[str] = mapped_column(String(60))
    action: Mapped[AuditAction] = mapped_column(enum_type(AuditAction))
    outcome: Mapped[AuditOutcome] = mapped_column(enum_type(AuditOutcome))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    user_role: Mapped[str] = mapped_column(String(30), default="")
    on_behalf_of_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # The registered API system that acted (app.fhir), with user_id the GP it acts for, if any.
    api_client_id: Mapped[int | None]
    # Plain integers, not foreign keys: the trail must outlive what it describes.
    network_id: Mapped[int | None]
    patient_id: Mapped[int | None]
    object_type: Mapped[str] = mapped_column(String(40), default="")
    object_id: Mapped[int | None]
    basis: Mapped[str] = mapped_column(String(60), default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    ip_address: Mapped[str] = mapped_column(String(45), default="")
    user_agent: Mapped[str] = mapped_column(String(200), default="")
    prev_hash: Mapped[str] = mapped_column(String(64), default="")
    hash: Mapped[str] = mapped_column(String(64), default="")

    def payload(self) -> str:
        fields = {
            "occurred_at": self.occurred_at.isoformat(), "event": self.event, "action": str(self.action),
            "outcome": str(self.outcome), "user_id": self.user_id, "user_role": self.user_role,
            "on_behalf_of_user_id": self.on_behalf_of_user_id, "network_id": self.network_id,
            "patient_id": self.patient_id, "object_type": self.object_type, "object_id": self.object_id,
            "basis": self.basis, "reason": self.reason, "ip_address": self.ip_address,
        }
        if self.api_client_id is not None:  # only then: rows written before the column keep their hash
            fields["api_client_id"] = self.api_client_id
        return json.dumps(fields, sort_keys=True, separators=(",", ":"))

    def compute_hash(self) -> str:
        return hashlib.sha256((self.prev_hash + self.payload()).encode()).hexdigest()


class AuditCheckpoint(db.Model):
    """Where the chain starts after a retention purge: the last purged row's id and hash, sealed."""

    __tablename__ = "audit_checkpoints"
    id: Mapped[int] = mapped_column(primary_key=True)
    sealed_at: Mapped[datetime]
    up_to_event_id: Mapped[int]
    last_hash: Mapped[str] = mapped_column(String(64))
    purged_rows: Mapped[int]
    seal: Mapped[str] = mapped_column(String(64))
    # Per chain (chain_key: the network id, 0 for no network) the hash of its last purged row, as JSON; None on
    # checkpoints sealed before the chains were split.
    chain_heads: Mapped[str | None] = mapped_column(Text)

    def seal_text(self) -> str:
        text_ = f"{self.up_to_event_id}:{self.last_hash}:{self.purged_rows}:{self.sealed_at.isoformat()}"
        return text_ if self.chain_heads is None else f"{text_}:{self.chain_heads}"

    def heads(self) -> dict[str, str]:
        return json.loads(self.chain_heads) if self.chain_heads else {}


class AuditVerification(db.Model):
    """One run of the chain check (scheduled, or `flask audit-verify`); the newest says whether to raise the alarm."""

    __tablename__ = "audit_verifications"
    id: Mapped[int] = mapped_column(primary_key=True)
    checked_at: Mapped[datetime]
    rows_checked: Mapped[int]
    broken_at_id: Mapped[int | None]


class AuditPurgePermit(db.Model):
    """While a row exists (inside the purge's own transaction only), the delete trigger lets rows go."""

    __tablename__ = "audit_purge_permits"
    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime]


def checkpoint_seal(checkpoint: AuditCheckpoint) -> str:
    key = hashlib.sha256(b"netwerkzorg audit checkpoint:" + current_app.config["SECRET_KEY"].encode()).digest()
    return hmac.new(key, checkpoint.seal_text().encode(), hashlib.sha256).hexdigest()


def latest_checkpoint() -> AuditCheckpoint | None:
    return db.session.scalar(select(AuditCheckpoint).order_by(AuditCheckpoint.id.desc()).limit(1))


class AuditLogIsAppendOnly(RuntimeError):
    pass


@event.listens_for(Session, "before_flush")
def _refuse_audit_changes(session: Session, flush_context, instances) -> None:
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, AuditEvent) and (obj in session.deleted or session.is_modified(obj)):
            raise AuditLogIsAppendOnly("audit events cannot be changed or deleted")


@event.listens_for(Session, "do_orm_execute")
def _refuse_bulk_audit_changes(state) -> None:
    # session.execute(update(AuditEvent)) / delete(AuditEvent) skip the flush guard above.
    if (state.is_update or state.is_delete) and any(m.class_ is AuditEvent for m in state.all_mappers):
        raise AuditLogIsAppendOnly("audit events cannot be changed or deleted")


def chain_key(network_id: int | None) -> int:
    return network_id or 0


def _network_is(network_id: int | None):
    return AuditEvent.network_id.is_(None) if network_id is None else AuditEvent.network_id == network_id


def lock_chain(network_id: int | None = None, *, every_chain: bool = False) -> None:
    """Serialise the writers of one chain so it stays linear; released at the end of the transaction.

    On PostgreSQL a writer holds the shared lock 7513 and the exclusive lock of its own chain (7514, key): writers
    of different networks do not wait for each other. The purge takes 7513 exclusively (every_chain), so no row
    is appended anywhere while it seals the checkpoint.
    """
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        if every_chain:
            db.session.execute(text("SELECT pg_advisory_xact_lock(7513)"))
        else:
            db.session.execute(text("SELECT pg_advisory_xact_lock_shared(7513), pg_advisory_xact_lock(7514, :key)"),
                               {"key": chain_key(network_id)})
    elif dialect == "sqlite":
        # SQLite has one writer at a time: a write (that changes no row) takes the database's write lock before the
        # head is read, so a second request waits (busy timeout) instead of reading the same head and forking.
        db.session.execute(text("UPDATE audit_events SET id = id WHERE 0"))


def _last_hash(network_id: int | None) -> str:
    lock_chain(network_id)
    head = db.session.scalar(select(AuditEvent.hash).where(_network_is(network_id))
                             .order_by(AuditEvent.id.desc()).limit(1))
    if head is None:  # a new chain, or every row of it purged: it goes on from the checkpoint
        checkpoint = latest_checkpoint()
        return checkpoint.heads().get(str(chain_key(network_id)), "") if checkpoint is not None else ""
    return head


def _request_role() -> str:
    if g.get("api_client") is not None:
        return "api_client"
    if g.get("portal_role"):  # a patient or a relative in the patient portal
        return g.portal_role
    membership = g.get("membership") if has_request_context() else None
    if membership is not None:
        return str(membership.role)
    if current_user and current_user.is_authenticated:
        if current_user.is_platform_admin:
            return "platform_admin"
        if current_user.gp_profile is not None:
            return "gp"
    return ""


def record(event: str, action: AuditAction, *, outcome: AuditOutcome = AuditOutcome.SUCCESS,
           user_id: int | None = None, patient_id: int | None = None, object_type: str = "",
           object_id: int | None = None, basis: str = "", reason: str = "",
           network_id: int | None = None, on_behalf_of_user_id: int | None = None) -> AuditEvent:
    """Add one audit row to the current transaction (flushed, not committed: the caller commits).

    Who, where from and in which network come from the request when not given.
    """
    return _record(event, action, outcome=outcome, user_id=user_id, patient_id=patient_id, object_type=object_type,
                   object_id=object_id, basis=basis, reason=reason, network_id=network_id,
                   on_behalf_of_user_id=on_behalf_of_user_id)[0]


def record_with_previous(event: str, action: AuditAction, *, patient_id: int, object_type: str, object_id: int,
                         basis: str = "") -> tuple[AuditEvent, datetime | None]:
    """record(), and when this user's previous row of the same event on the same patient and object in this
    network was written (None for a first): "changed since your last visit" comes from the log the page writes.
    On PostgreSQL the INSERT returns it (a subquery of its RETURNING reads the log as it was before the row)."""
    return _record(event, action, patient_id=patient_id, object_type=object_type, object_id=object_id,
                   basis=basis, previous=True)


def _record(event: str, action: AuditAction, *, outcome: AuditOutcome = AuditOutcome.SUCCESS,
            user_id: int | None = None, patient_id: int | None = None, object_type: str = "",
            object_id: int | None = None, basis: str = "", reason: str = "",
            network_id: int | None = None, on_behalf_of_user_id: int | None = None,
            previous: bool = False) -> tuple[AuditEvent, datetime | None]:
    in_request = has_request_context()
    api_client = g.get("api_client") if in_request else None
    if user_id is None and api_client is not None:
        user_id = api_client.owner_user_id  # a GP's system acts for that GP; a network's system for nobody
    elif user_id is None and in_request and current_user and current_user.is_authenticated:
        user_id = current_user.id
    fields = {
        "occurred_at": utcnow(), "event": event, "action": action, "outcome": outcome, "user_id": user_id,
        "user_role": _request_role() if in_request else "",
        "on_behalf_of_user_id": on_behalf_of_user_id,
        "network_id": network_id if network_id is not None else current_network_id(),
        "patient_id": patient_id, "object_type": object_type, "object_id": object_id, "basis": basis,
        "reason": reason[:2000],
        "ip_address": (request.remote_addr or "")[:45] if in_request else "",
        "user_agent": (request.user_agent.string or "")[:200] if in_request else "",
        "api_client_id": api_client.id if api_client is not None else None,
    }
    row, previous_at = _write_row(fields, previous=previous)
    if has_request_context():
        g.setdefault("audit_events", []).append(row.id)
        if action in _READS and outcome is AuditOutcome.SUCCESS:
            # Kept until the request commits: a request that fails after the read still logs it
            # (app/core/transaction.py writes these again after the rollback).
            g.setdefault("uncommitted_audit_reads", []).append(fields)
    return row, previous_at


_READS = frozenset({AuditAction.READ, AuditAction.EXPORT, AuditAction.SEARCH})


def write_row(fields: dict) -> AuditEvent:
    """Chain one row onto the log in the current transaction (written, not committed). The row goes in by one
    INSERT ... RETURNING id, not through the session's unit of work (a third of an audit row's cost on every
    page); the returned object is then put in the session as the persistent row it is, so a change to it still
    meets the append-only guard."""
    return _write_row(fields)[0]


def _write_row(fields: dict, *, previous: bool = False) -> tuple[AuditEvent, datetime | None]:
    db.session.flush()  # what the request changed goes in first, as before
    row = AuditEvent(**fields)
    previous_at = None
    if db.session.get_bind().dialect.name == "postgresql":
        previous_at = _insert_linked_in_sql(row, fields, previous=previous)
    else:
        if previous:
            previous_at = db.session.scalar(select(_previous_of_same(
                {name: literal(fields[name], type_=AuditEvent.__table__.c[name].type) for name in _SAME})))
        row.prev_hash = _last_hash(row.network_id)
        row.hash = row.compute_hash()
        row.id = db.session.execute(insert(AuditEvent).values(**fields, prev_hash=row.prev_hash, hash=row.hash)
                                    .returning(AuditEvent.id)).scalar_one()
    make_transient_to_detached(row)
    db.session.add(row)
    return row, previous_at


# What makes a row "the same" as an earlier one for record_with_previous (the index of the case page's visit).
_SAME = ("network_id", "patient_id", "user_id", "event", "object_id")


def _previous_of_same(values: dict):
    """The latest occurred_at of the rows whose _SAME columns equal *values* (SQL expressions)."""
    table = AuditEvent.__table__
    return (select(func.max(table.c.occurred_at))
            .where(*(table.c[name] == values[name] for name in _SAME)).scalar_subquery())


def _insert_linked_in_sql(row: AuditEvent, fields: dict, *, previous: bool = False) -> datetime | None:
    """PostgreSQL: one INSERT ... SELECT, one round trip a row. audit_chain_head (migration 0021) takes the chain's
    locks as lock_chain does and then reads its head (or the checkpoint's, as _last_hash), on a snapshot taken
    after the lock is granted; the INSERT computes the hash itself, sha256(prev_hash + payload) as
    AuditEvent.compute_hash, with the payload made here. The statement is built once per set of fields and runs
    on the session's connection (Core: no ORM insert machinery, its cache key made once)."""
    names = tuple(fields)
    params = {f"v_{name}": fields[name] for name in names}
    params.update(chain_key=chain_key(row.network_id), chain_network=row.network_id, payload=row.payload())
    result = db.session.connection().execute(_linked_insert(names, previous), params).one()
    row.id, row.prev_hash, row.hash = result[:3]
    return result[3] if previous else None


@functools.lru_cache(maxsize=16)
def _linked_insert(names: tuple[str, ...], previous: bool = False):
    """*previous*: RETURNING also reads record_with_previous's time. A statement's own new row is not visible to
    its subqueries (PostgreSQL: a command does not see its own changes), so it is the row before this one."""
    table = AuditEvent.__table__
    head = select(func.audit_chain_head(bindparam("chain_key", type_=Integer),
                                        bindparam("chain_network", type_=Integer), type_=String)
                  .label("prev")).subquery()
    values = [bindparam(f"v_{name}", type_=table.c[name].type) for name in names]
    linked = func.encode(func.sha256(func.convert_to(head.c.prev + bindparam("payload", type_=Text), "UTF8")),
                         "hex")
    # The audit log and its checkpoints have no row-level security: the row goes in under any network settings.
    returned = [table.c.id, table.c.prev_hash, table.c.hash]
    if previous:
        returned.append(_previous_of_same({name: bindparam(f"v_{name}", type_=table.c[name].type) for name in _SAME}))
    return global_tables_only(insert(table).from_select([*names, "prev_hash", "hash"],
                                                        select(*values, head.c.prev, linked).select_from(head))
                              .returning(*returned))


@event.listens_for(Session, "after_commit")
def _reads_are_committed(session: Session) -> None:
    if has_request_context():
        g.pop("uncommitted_audit_reads", None)


def patient_data(view):
    """Mark a view that shows or changes patient data: tests/test_audit.py requests every marked
    route and fails unless it wrote an audit row, and fails for a route in a patient blueprint
    that is not marked."""
    view.touches_patient_data = True
    return view


def deny(event: str, *, patient_id: int | None = None, object_type: str = "",
         object_id: int | None = None, reason: str = ""):
    """Record a refused access in its own commit, then answer 404 (existence is not confirmed)."""
    db.session.rollback()
    record(event, AuditAction.READ, outcome=AuditOutcome.DENIED, patient_id=patient_id,
           object_type=object_type, object_id=object_id, reason=reason)
    db.session.commit()
    abort(404)


def verify_chain() -> int | None:
    """Return the id of the first row whose hash does not match, or None when the chain is intact."""
    return verify_chain_report()[1]


def verify_chain_report() -> tuple[int, int | None]:
    """(rows checked, id of the first broken row or None). After a purge the chains start at the newest sealed
    checkpoint; a checkpoint whose seal does not match counts as broken at the first row after it (0: none).

    One pass in id order keeps each chain's last hash. A row links to the last row of its own chain; rows from
    before the split (one global chain) link to the row before them, which is accepted until the first row that
    links only within its chain: from there on every row must.
    """
    global_prev, after, heads = "", 0, {}
    checkpoint = latest_checkpoint()
    if checkpoint is not None:
        after = checkpoint.up_to_event_id
        first = db.session.scalar(select(func.min(AuditEvent.id)).where(AuditEvent.id > after))
        if not hmac.compare_digest(checkpoint.seal, checkpoint_seal(checkpoint)):
            return 0, first or 0
        global_prev, heads = checkpoint.last_hash, checkpoint.heads()
    global_links_allowed = True
    checked = 0
    rows = db.session.scalars(select(AuditEvent).where(AuditEvent.id > after).order_by(AuditEvent.id)
                              .execution_options(yield_per=1000))
    try:
        for row in rows:
            checked += 1
            key = str(chain_key(row.network_id))
            if row.compute_hash() != row.hash:
                return checked, row.id
            if row.prev_hash == heads.get(key, ""):
                if row.prev_hash != global_prev:
                    global_links_allowed = False
            elif not (global_links_allowed and row.prev_hash == global_prev):
                return checked, row.id
            heads[key] = global_prev = row.hash
    finally:
        rows.close()  # an early return must not leave PostgreSQL's server-side cursor open
    return checked, None
