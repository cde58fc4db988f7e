"""One audit chain per network: a row links to the last row of its own network, a change or removal in one
network's chain is found, the prefix written before the split (one global chain) still verifies, a purge
leaves each chain's head in the sealed checkpoint, and on PostgreSQL a writer in one network does not wait for
a writer in another (the one that shares its chain does).

How it fails: link rows to the global head again and test_each_row_links_within_its_network fails; drop the
per-chain lock key and the PostgreSQL test's second network waits for the first (lock timeout)."""
from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
import time_machine
from sqlalchemy import select, text
from sqlalchemy.exc import OperationalError

from app.core import audit
from app.core.audit import AuditAction, AuditCheckpoint, AuditEvent, verify_chain
from app.core.audit_integrity import purge_expired
from app.extensions import db
from tests.conftest import IS_POSTGRES
from tests.test_audit import _tamper

A, B = 101, 102  # audit rows name networks by plain id (no foreign key): the trail outlives what it describes


def _write(network_id: int | None, n: int = 1, tag: str = "x") -> list[AuditEvent]:
    rows = [audit.record(f"test.{tag}_{i}", AuditAction.READ, network_id=network_id, reason=tag) for i in range(n)]
    db.session.commit()
    return rows


def _interleaved() -> list[AuditEvent]:
    rows = []
    for network_id in (A, B, A, None, B, A):
        rows += _write(network_id)
    return rows


def test_each_row_links_within_its_network():
    rows = _interleaved()
    last: dict[int | None, str] = {}
    for row in rows:
        assert row.prev_hash == last.get(row.network_id, "")
        last[row.network_id] = row.hash
    assert verify_chain() is None


def test_a_removed_row_breaks_its_own_networks_chain():
    rows = _interleaved()
    a_rows = [r for r in rows if r.network_id == A]
    _tamper("DELETE FROM audit_events WHERE id = :id", id=a_rows[1].id)
    assert verify_chain() == a_rows[2].id


def test_a_row_moved_to_another_network_is_found():
    rows = _interleaved()
    victim = rows[1]  # network B's first row
    _tamper("UPDATE audit_events SET network_id = :a WHERE id = :id", a=A, id=victim.id)
    assert verify_chain() == victim.id  # its hash covers the network


def _legacy_rows(n: int) -> list[int]:
    """Rows chained the way they were before the split: each onto the newest row of any network."""
    ids = []
    for i in range(n):
        head = db.session.scalar(select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)) or ""
        row = AuditEvent(occurred_at=datetime(2026, 1, 1, tzinfo=UTC), event=f"test.legacy_{i}",
                         action=AuditAction.READ, outcome=audit.AuditOutcome.SUCCESS, user_id=None, user_role="",
                         network_id=(A, B)[i % 2], patient_id=None, object_type="", object_id=None, basis="",
                         reason="", ip_address="", user_agent="", prev_hash=head)
        row.hash = row.compute_hash()
        db.session.add(row)
        db.session.flush()
        ids.append(row.id)
    db.session.commit()
    return ids


def test_the_global_prefix_from_before_the_split_verifies_and_the_chains_go_on_from_it():
    _legacy_rows(4)
    _interleaved()
    assert verify_chain() is None


def test_after_the_split_a_row_linked_only_to_the_global_head_is_found():
    _legacy_rows(2)
    _write(A)  # links within A (A's head differs from the global head, B's row): the split is now behind us
    # A forged row for B that links to the newest row of any network (A's), as before the split.
    head = db.session.scalar(select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1))
    forged = AuditEvent(occurred_at=datetime(2026, 2, 1, tzinfo=UTC), event="test.forged", action=AuditAction.READ,
                        outcome=audit.AuditOutcome.SUCCESS, user_id=None, user_role="", network_id=B, patient_id=None,
                        object_type="", object_id=None, basis="", reason="", ip_address="", user_agent="",
                        prev_hash=head)
    forged.hash = forged.compute_hash()
    db.session.add(forged)
    db.session.commit()
    assert verify_chain() == forged.id


def test_the_purge_keeps_each_chains_head_and_a_purged_chain_continues_from_it():
    with time_machine.travel(datetime(2019, 3, 1, 12, 0, tzinfo=UTC), tick=False):
        old_b_head = _write(B, 2, "old")[-1].hash
        _write(A, 2, "old")
    with time_machine.travel(datetime(2026, 12, 7, 9, 0, tzinfo=UTC), tick=False):
        _write(A, 1, "new")
        assert purge_expired() == 4
        db.session.commit()
        checkpoint = db.session.scalar(select(AuditCheckpoint))
        assert checkpoint.heads()[str(B)] == old_b_head
        later = _write(B, 1, "later")[0]  # B's chain was purged whole: it goes on from the checkpoint
    assert later.prev_hash == old_b_head
    assert verify_chain() is None


@pytest.mark.skipif(not IS_POSTGRES, reason="SQLite has one writer at a time: there is nothing to run side by side")
def test_a_writer_in_one_network_does_not_wait_for_another_networks_open_transaction(app):
    _write(A)
    audit.record("test.holding", AuditAction.READ, network_id=A)  # A's chain lock is held until this commits
    outcome: dict[int, str] = {}

    def write_elsewhere(network_id: int) -> None:
        with app.app_context():
            # Waiting would mean a lock: a generous timeout turns a wait into an error, not a slow pass.
            db.session.execute(text("SET lock_timeout = '10s'"))
            try:
                _write(network_id)
                outcome[network_id] = "written"
            except OperationalError:
                outcome[network_id] = "waited"
            finally:
                db.session.rollback()
                db.session.remove()

    for network_id in (B, A):
        thread = threading.Thread(target=write_elsewhere, args=(network_id,))
        thread.start()
        thread.join(timeout=120)
    db.session.commit()
    assert outcome == {B: "written", A: "waited"}
    assert verify_chain() is None


@pytest.mark.skipif(not IS_POSTGRES, reason="SQLite has one writer at a time: there is nothing to run side by side")
def test_a_writer_that_waited_for_its_chain_links_after_the_row_it_waited_for(app):
    """The head is read after the chain's lock is granted (audit_chain_head, one statement): a writer that waited
    for another writer of its chain links to that writer's row, so the chain does not fork."""
    _write(A)
    holding = audit.record("test.holding", AuditAction.READ, network_id=A)  # A's chain lock is held until commit
    written: dict[str, str] = {}

    def write_same_chain() -> None:
        with app.app_context():
            try:
                written["prev_hash"] = _write(A, 1, "after")[0].prev_hash
            finally:
                db.session.remove()

    thread = threading.Thread(target=write_same_chain)
    thread.start()
    _wait_until_a_session_waits_for_an_advisory_lock()
    db.session.commit()  # releases the lock: the waiting writer goes on
    thread.join(timeout=120)
    assert written == {"prev_hash": holding.hash}
    assert verify_chain() is None


def _wait_until_a_session_waits_for_an_advisory_lock() -> None:
    """Poll pg_locks from a connection of its own (no sleep of a guessed length: waits as long as it takes)."""
    engine = db.engine
    for _ in range(6000):
        with engine.connect() as conn:
            if conn.execute(text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
                            ).scalar_one():
                return
        threading.Event().wait(0.01)
    raise AssertionError("the second writer never waited for the chain's lock")
