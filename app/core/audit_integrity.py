"""The audit log cannot be quietly cut: the scheduled chain check with its alarm, and the retention purge.

- verify_and_record() walks the hash chain (app.core.audit.verify_chain_report) and keeps the result as an
  AuditVerification row; chain_alarm() reads the newest one. A broken chain shows on /admin and turns /healthz
  to 503 until a later check finds it intact. The scheduler (app/schedule.py) runs it daily, `flask
  audit-verify` by hand.
- purge_expired() removes the rows older than AUDIT_RETENTION_YEARS (NEN 7513: at least 5). It never purges
  over a broken chain (that would destroy the evidence), writes a checkpoint sealed with a key derived from
  SECRET_KEY (the last purged row's id and hash), deletes under a purge permit that exists only inside its own
  transaction (the database trigger refuses every other DELETE), and appends an "audit.purged" row to the chain.
  The chain then verifies from the checkpoint on.

The caller commits (the scheduler's run, the CLI).
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from sqlalchemy import delete, func, select
from sqlalchemy.exc import DBAPIError

from app.core import audit
from app.core.audit import (
    AuditAction,
    AuditCheckpoint,
    AuditEvent,
    AuditPurgePermit,
    AuditVerification,
    chain_key,
    checkpoint_seal,
    latest_checkpoint,
    lock_chain,
    verify_chain_report,
)
from app.core.dates import shift_months
from app.core.db import utcnow
from app.extensions import db

log = logging.getLogger(__name__)


class AuditPurgeRefused(RuntimeError):
    """The purge did not run; str() says why (for the operator: no patient data)."""


@dataclass(frozen=True)
class ChainAlarm:
    checked_at: datetime
    broken_at_id: int


def verify_and_record() -> AuditVerification:
    rows, broken = verify_chain_report()
    result = AuditVerification(checked_at=utcnow(), rows_checked=rows, broken_at_id=broken)
    db.session.add(result)
    db.session.flush()
    if broken is not None:
        log.error("audit chain broken at row %s (%s rows checked)", broken, rows)
    return result


def verify_scheduled() -> int:
    """The periodic job: check the chain and keep the result. Returns 1 when broken, else 0."""
    result = verify_and_record()
    db.session.commit()
    return 0 if result.broken_at_id is None else 1


def chain_alarm() -> ChainAlarm | None:
    """The alarm for /admin and /healthz: the newest check found the chain broken."""
    newest = db.session.scalar(select(AuditVerification).order_by(AuditVerification.id.desc()).limit(1))
    if newest is None or newest.broken_at_id is None:
        return None
    return ChainAlarm(checked_at=newest.checked_at, broken_at_id=newest.broken_at_id)


def retention_cutoff(now: datetime | None = None) -> datetime:
    return shift_months(now or utcnow(), -12 * current_app.config["AUDIT_RETENTION_YEARS"])


def purge_expired(now: datetime | None = None) -> int:
    """Remove the rows older than the retention term behind a sealed checkpoint. Returns how many went."""
    now = now or utcnow()
    cutoff = retention_cutoff(now)
    lock_chain(every_chain=True)  # no row is appended while the checkpoint is taken
    # The newest row always stays: an empty table would let SQLite hand out ids below the checkpoint again.
    newest = db.session.scalar(select(func.max(AuditEvent.id)))
    boundary = db.session.scalar(select(func.max(AuditEvent.id)).where(AuditEvent.occurred_at < cutoff,
                                                                      AuditEvent.id < newest)) if newest else None
    if boundary is None:
        return 0
    _rows, broken = verify_chain_report()
    if broken is not None:
        raise AuditPurgeRefused(f"the audit chain is broken at row {broken}: nothing is purged")
    last = db.session.get(AuditEvent, boundary)
    count = db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.id <= boundary)) or 0
    checkpoint = AuditCheckpoint(sealed_at=now, up_to_event_id=boundary, last_hash=last.hash, purged_rows=count,
                                 seal="", chain_heads=json.dumps(_chain_heads_up_to(boundary), sort_keys=True))
    checkpoint.seal = checkpoint_seal(checkpoint)
    db.session.add(checkpoint)
    db.session.expunge(last)  # the ORM must not try to flush the rows it is about to lose
    permit = AuditPurgePermit(created_at=now)
    db.session.add(permit)
    db.session.flush()
    # Core statements on the table: the ORM guard (app.core.audit) refuses any change to AuditEvent objects.
    db.session.connection().execute(delete(AuditEvent.__table__).where(AuditEvent.__table__.c.id <= boundary))
    db.session.delete(permit)
    db.session.flush()
    audit.record("audit.purged", AuditAction.DELETE, object_type="audit_log", object_id=checkpoint.id,
                 network_id=None, reason=f"{count} rows up to {boundary}, older than {cutoff.date().isoformat()} "
                 f"(retention {current_app.config['AUDIT_RETENTION_YEARS']} years); checkpoint {checkpoint.id}")
    return count


def _chain_heads_up_to(boundary: int) -> dict[str, str]:
    """Each chain's last hash at or below *boundary*, over the previous checkpoint's (a chain purged before)."""
    previous = latest_checkpoint()
    heads = previous.heads() if previous is not None else {}
    last_ids = (select(func.max(AuditEvent.id).label("id")).where(AuditEvent.id <= boundary)
                .group_by(AuditEvent.network_id).subquery())
    for network_id, hash_ in db.session.execute(select(AuditEvent.network_id, AuditEvent.hash)
                                                .join(last_ids, AuditEvent.id == last_ids.c.id)):
        heads[str(chain_key(network_id))] = hash_
    return heads


def purge_scheduled() -> int:
    """The periodic job: purge what the retention term allows (nothing over a broken chain)."""
    try:
        purged = purge_expired()
    except AuditPurgeRefused as exc:
        db.session.rollback()
        log.error("audit purge refused: %s", exc)
        return 0
    except DBAPIError:
        # With two database roles the application's may not delete audit rows: the owner runs `flask audit-purge`.
        db.session.rollback()
        log.warning("audit purge not permitted for this database role: run flask audit-purge as the owner")
        return 0
    db.session.commit()
    return purged
