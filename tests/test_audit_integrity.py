"""The audit log cannot be quietly cut: the retention purge leaves a sealed checkpoint the chain continues from,
refuses to purge over a broken chain, a forged checkpoint is found, and the scheduled check raises the alarm on
/admin and in /healthz (503) until the chain verifies again."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine
from sqlalchemy import func, select, text

from app.core import audit
from app.core.audit import AuditAction, AuditCheckpoint, AuditEvent, verify_chain
from app.core.audit_integrity import AuditPurgeRefused, chain_alarm, purge_expired, verify_scheduled
from app.extensions import db
from tests.conftest import login_as, make_user
from tests.test_audit import _tamper

LONG_AGO = datetime(2019, 3, 1, 12, 0, tzinfo=UTC)  # more than 5 years before "now"
NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def _events(n: int, tag: str) -> list[int]:
    ids = [audit.record(f"test.{tag}_{i}", AuditAction.READ, reason=tag, network_id=None).id for i in range(n)]
    db.session.commit()
    return ids


def _old_and_new() -> tuple[list[int], list[int]]:
    with time_machine.travel(LONG_AGO, tick=False):
        old = _events(4, "old")
    with time_machine.travel(NOW, tick=False):
        new = _events(3, "new")
    return old, new


def _remaining_ids() -> list[int]:
    db.session.rollback()
    return list(db.session.scalars(select(AuditEvent.id).order_by(AuditEvent.id)))


def test_the_purge_removes_only_rows_past_the_retention_term_and_the_chain_still_verifies():
    old, new = _old_and_new()
    with time_machine.travel(NOW, tick=False):
        assert purge_expired() == 4
        db.session.commit()
    remaining = _remaining_ids()
    assert remaining[:3] == new and len(remaining) == 4  # the three new rows and the "audit.purged" row
    purged = db.session.scalar(select(AuditEvent).where(AuditEvent.event == "audit.purged"))
    assert "4 rows up to" in purged.reason and "retention 5 years" in purged.reason
    [checkpoint] = db.session.scalars(select(AuditCheckpoint)).all()
    assert (checkpoint.up_to_event_id, checkpoint.purged_rows) == (old[-1], 4)
    assert verify_chain() is None
    # Rows written after the purge join the chain from there.
    _events(2, "later")
    assert verify_chain() is None
    # A second purge finds nothing more to remove.
    with time_machine.travel(NOW, tick=False):
        assert purge_expired() == 0


def test_a_forged_checkpoint_is_found():
    _old_and_new()
    with time_machine.travel(NOW, tick=False):
        purge_expired()
        db.session.commit()
    first_after = _remaining_ids()[0]
    # Someone with database access deletes one more row and moves the checkpoint on, without the app's key.
    checkpoint = db.session.scalar(select(AuditCheckpoint))
    db.session.execute(text("UPDATE audit_checkpoints SET up_to_event_id = :id, last_hash = :hash"),
                       {"id": first_after, "hash": db.session.get(AuditEvent, first_after).hash})
    db.session.commit()
    assert checkpoint is not None
    assert verify_chain() is not None


def test_the_purge_refuses_to_run_over_a_broken_chain():
    old, _new = _old_and_new()
    _tamper("UPDATE audit_events SET reason = 'nothing to see' WHERE id = :id", id=old[1])
    with time_machine.travel(NOW, tick=False), pytest.raises(AuditPurgeRefused, match=str(old[1])):
        purge_expired()
    db.session.rollback()
    assert len(_remaining_ids()) == 7
    assert db.session.scalar(select(func.count(AuditCheckpoint.id))) == 0


def test_the_newest_row_is_never_purged():
    with time_machine.travel(LONG_AGO, tick=False):
        only = _events(2, "old")
    with time_machine.travel(NOW, tick=False):
        assert purge_expired() == 1  # the first; the newest stays, so ids never start again below the checkpoint
        db.session.commit()
    assert _remaining_ids()[0] == only[1]
    assert verify_chain() is None


def test_a_broken_chain_raises_the_alarm_on_admin_and_healthz_until_it_verifies(client):
    events = _events(3, "x")
    assert verify_scheduled() == 0
    assert chain_alarm() is None
    health = client.get("/healthz")
    assert health.status_code == 200 and health.get_json()["checks"]["audit_chain"] == "ok"

    _tamper("UPDATE audit_events SET reason = 'nothing to see' WHERE id = :id", id=events[1])
    assert client.get("/healthz").status_code == 200  # nobody has looked yet
    assert verify_scheduled() == 1
    health = client.get("/healthz")
    assert health.status_code == 503
    assert health.get_json()["checks"]["audit_chain"] == f"broken at row {events[1]}"
    admin = make_user("admin@example.nl", is_platform_admin=True)
    login_as(client, admin)
    page = client.get("/admin/").get_data(as_text=True)
    assert 'id="audit-alarm"' in page and f"{events[1]}" in page

    # Put right (restored from the backup, say): the next check clears the alarm.
    db.session.rollback()
    row = db.session.get(AuditEvent, events[1])
    _tamper("UPDATE audit_events SET reason = 'x' WHERE id = :id", id=row.id)
    assert verify_scheduled() == 0
    assert client.get("/healthz").status_code == 200
    assert 'id="audit-alarm"' not in client.get("/admin/").get_data(as_text=True)


def test_a_retention_under_five_years_refuses_to_start():
    from app import create_app
    from tests.conftest import make_config

    with pytest.raises(RuntimeError, match="AUDIT_RETENTION_YEARS"):
        create_app(make_config(AUDIT_RETENTION_YEARS=4))
