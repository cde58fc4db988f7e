"""The benchmark's seeder (scripts/bench) at a tiny scale: counts, tenancy, the audit chain, and every
benchmarked page answers 200 on the seeded data, so `make bench` cannot rot unseen."""
from __future__ import annotations

import re

from sqlalchemy import select

from app.auth.models import User
from app.core.audit import verify_chain
from app.extensions import db
from scripts.bench import seed as bench_seed
from scripts.bench.pages import pages
from tests.conftest import counted_statements, login_as


def test_seeder_counts_tenancy_chain_and_pages(app):
    result = bench_seed.seed(db.engine, 0.0005, log=lambda *_: None)
    expected = bench_seed.plan(0.0005)
    found = bench_seed.check(db.engine)
    assert found["counts"]["networks"] == expected["networks"]
    assert found["counts"]["referrals"] == expected["referrals"]
    assert found["counts"]["cases"] == expected["cases"]
    assert found["counts"]["notes"] == expected["notes"]
    assert found["counts"]["audit_events"] == expected["audit"]
    assert found["big_members"] == expected["big_members"]
    assert found["notes_case"] >= expected["notes_case"]
    assert set(found["mismatches"].values()) == {0}, found["mismatches"]
    assert verify_chain() is None

    coordinator = db.session.scalar(select(User).where(User.email == result.coordinator_email))
    gp = db.session.scalar(select(User).where(User.email == result.gp_email))
    clients = {"coordinator": login_as(app.test_client(), coordinator), "gp": login_as(app.test_client(), gp),
               "anonymous": app.test_client()}
    for name, who, url in pages(result):
        with counted_statements() as statements:
            response = clients[who].get(url)
        assert response.status_code == 200, (name, url, response.status_code)
        assert statements, name
    body = clients["coordinator"].get(pages(result)[0][2]).get_data(as_text=True)
    assert re.search(r"Notitie \d+", body)  # the newest page of the notes case's notes
    assert verify_chain() is None  # the pages' own audit rows chain on after the seeded block
