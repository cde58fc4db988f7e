"""The embedded default holds under concurrent users: 16 people at once on the same database (SQLite in WAL mode
with a busy timeout on the first pass, PostgreSQL on the second), each reading pages that write audit rows. No
request fails ("database is locked") and the audit hash chain stays one line (no two rows with the same
previous hash, so verify_chain finds nothing).

How it fails: drop the write lock that _last_hash takes on SQLite, and two requests read the same chain head:
the chain forks and verify_chain names the row; drop WAL and the busy timeout and requests fail with
"database is locked".
"""
from __future__ import annotations

import threading
from collections import Counter

from sqlalchemy import func, select

from app.core.audit import AuditEvent, verify_chain
from app.core.db import utcnow
from app.extensions import db
from app.networks.models import Role
from tests.conftest import login_as, make_member, make_network, make_patient

USERS = 16
REQUESTS_EACH = 8


def test_sixteen_concurrent_users_see_no_error_and_the_chain_verifies(app):
    network = make_network("zk", approved_at=utcnow())
    coordinators = [make_member(network, f"coordinator{i}@example.nl", role=Role.COORDINATOR) for i in range(USERS)]
    patient = make_patient(network, created_by=coordinators[0].user)
    clients = [login_as(app.test_client(), membership.user) for membership in coordinators]
    pages = [f"/n/zk/patients/{patient.id}", "/n/zk/patients/", "/n/zk/cases/"]
    before = db.session.scalar(select(func.count(AuditEvent.id)))
    db.session.commit()
    barrier = threading.Barrier(USERS, timeout=60)
    statuses: Counter = Counter()
    errors: list[BaseException] = []
    lock = threading.Lock()

    def browse(client) -> None:
        try:
            barrier.wait()
            for number in range(REQUESTS_EACH):
                response = client.get(pages[number % len(pages)])
                with lock:
                    statuses[response.status_code] += 1
        except BaseException as exc:
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=browse, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert errors == []
    assert statuses == Counter({200: USERS * REQUESTS_EACH})
    db.session.rollback()
    written = db.session.scalar(select(func.count(AuditEvent.id))) - before
    assert written >= USERS * REQUESTS_EACH  # every page view left its row
    prev_hashes = db.session.scalars(select(AuditEvent.prev_hash)).all()
    assert len(prev_hashes) == len(set(prev_hashes)), "two rows follow the same row: the chain forked"
    assert verify_chain() is None
