"""20 concurrent submissions against PostgreSQL: no lost or duplicated referral, unique reference numbers.

Each thread has its own app context, so its own database session and connection, as concurrent web
requests do. Ten keys are each submitted twice at once (a double click, a retry after a timeout);
two of them had a saved draft before.
"""
from __future__ import annotations

import threading
from collections import Counter

import pytest
from sqlalchemy import func, select

from app.core.db import utcnow
from app.core.tenancy import network_context
from app.extensions import db
from app.networks.models import Role
from app.patients.models import Patient
from app.referrals import services
from app.referrals.models import Referral, ReferralEvent, ReferralStatus
from tests.conftest import IS_POSTGRES, make_gp, make_member, make_network
from tests.referral_factories import MEDICATIONS, VALID_FIELDS

pytestmark = [pytest.mark.postgres_only,
              pytest.mark.skipif(not IS_POSTGRES, reason="concurrency is proven on PostgreSQL")]

KEYS = [f"key-{i:02d}" for i in range(10)]
THREADS = 20


def test_twenty_concurrent_submissions(app):
    network = make_network("zk", approved_at=utcnow())
    make_member(network, "coordinator@example.nl", role=Role.COORDINATOR)
    gp = make_gp(email_verified_at=utcnow())
    gp_id, network_id = gp.id, network.id
    with network_context(network_id):
        for key in KEYS[:2]:  # two had a draft: the submit path locks the draft row
            services.save_draft(user=gp, gp_profile=gp.gp_profile, submission_key=key, form_data={"x": ["1"]})
        db.session.commit()

    barrier = threading.Barrier(THREADS, timeout=30)
    results: list[tuple[str, int, str, bool]] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def submit(key: str, index: int) -> None:
        try:
            with app.app_context():
                user = db.session.get(type(gp), gp_id)
                profile = user.gp_profile
                db.session.commit()  # end the read transaction: every thread starts its submit fresh
                barrier.wait()
                with network_context(network_id):
                    referral, created = services.submit(
                        user=user, gp_profile=profile, submission_key=key,
                        fields={**VALID_FIELDS, "given_name": f"Patient{index}"},
                        medications=MEDICATIONS, discipline_ids=[])
                    number, referral_id = referral.number, referral.id
                    db.session.commit()
                with lock:
                    results.append((key, referral_id, number, created))
                db.session.remove()
        except BaseException as exc:
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=submit, args=(KEYS[i % len(KEYS)], i)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert len(results) == THREADS

    # One referral per key: both submitters of a key got the same referral, exactly one created it.
    by_key: dict[str, set[tuple[int, str]]] = {}
    for key, referral_id, number, _ in results:
        by_key.setdefault(key, set()).add((referral_id, number))
    assert all(len(found) == 1 for found in by_key.values()), by_key
    assert Counter(key for key, *_, created in results if created) == Counter(KEYS)

    db.session.expire_all()
    with network_context(network_id):
        referrals = db.session.scalars(select(Referral)).all()
        assert len(referrals) == len(KEYS)
        assert all(r.status is ReferralStatus.SUBMITTED for r in referrals)
        numbers = sorted(r.number for r in referrals)
        year = referrals[0].submitted_at.year
        assert numbers == [f"R-{year}-{n:04d}" for n in range(1, len(KEYS) + 1)]  # unique, no gaps
        assert db.session.scalar(select(func.count(Patient.id))) == len(KEYS)
        assert db.session.scalar(select(func.count(ReferralEvent.id))) == len(KEYS)
        assert services.new_referral_count() == len(KEYS)
