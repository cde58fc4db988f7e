"""The second wall of tenancy, below the ORM: PostgreSQL row-level security for the application's own database role
(not the owner; `flask db-grant-app-role`). A deliberately unscoped raw SQL query inside network A's context sees
only A's rows; a write of B's row from A's context is refused; the named bypass reads across networks; the role
cannot change, delete or truncate the audit log. Then the isolation walk of tests/test_tenancy.py runs again,
every request served by an application connected as that role, so every page works through the policies.

make test creates the role (scripts/run-tests.sh: TEST_APP_PG_URL). How it fails: drop a table from the policy
migration (0016), and test_every_network_owned_table_has_the_policies names it; remove the cursor hook in
app/core/tenancy.py, and the raw query in A's context returns nothing and the walk's own pages fail.
"""
from __future__ import annotations

import os

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError

from app import create_app
from app.core.db import NetworkScopedMixin
from app.core.db_roles import grant_statements
from app.core.tenancy import all_networks, network_context
from app.extensions import db
from tests.conftest import IS_POSTGRES, IsolatedClient, login_as, make_config
from tests.test_tenancy import (  # noqa: F401 - the walk and its world, served as the application role below
    test_a_gp_sees_only_their_own_referrals,
    test_a_relative_sees_the_record_page_only_and_only_while_granted,
    test_nobody_but_the_patient_reaches_the_patients_portal,
    test_own_objects_are_reachable_so_the_walk_is_meaningful,
    test_the_gp_reaches_their_own_referral_in_another_network,
    test_the_patient_reaches_every_page_of_their_own_portal,
    test_users_of_a_get_404_for_ids_of_b_under_their_own_slug,
    test_users_of_b_get_404_for_everything_of_a,
    test_users_without_membership_get_404_on_every_network_route,
    two_networks,
)

APP_URL = os.environ.get("TEST_APP_PG_URL", "")
ROLE = "netwerkzorg_app"

pytestmark = [pytest.mark.postgres_only,
              pytest.mark.skipif(not IS_POSTGRES, reason="row-level security is PostgreSQL's")]


@pytest.fixture(scope="module")
def rls_app(app):
    if not APP_URL:
        pytest.fail("TEST_APP_PG_URL is not set: scripts/run-tests.sh creates the application role and sets it")
    with app.app_context():
        with db.engine.begin() as connection:  # as the owner, after the session's migrations
            for statement in grant_statements(ROLE):
                connection.execute(text(statement))
    served = create_app(make_config(SQLALCHEMY_DATABASE_URI=APP_URL))
    served.test_client_class = IsolatedClient
    yield served
    with served.app_context():
        db.engine.dispose()


@pytest.fixture
def client(rls_app):
    """Every request of the walk is served by the application connected as its own role."""
    return rls_app.test_client()


@pytest.fixture
def as_app_role(rls_app):
    """A session of the application role (the served app's), for raw SQL."""
    with rls_app.app_context():
        yield db.session
        db.session.rollback()


def test_the_application_role_is_not_the_owner_and_has_no_bypass():
    engine = create_engine(APP_URL)
    try:
        with engine.connect() as connection:
            row = connection.execute(text(
                "SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")).one()
            assert tuple(row) == (False, False)
            owners = set(connection.execute(text(
                "SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'")).scalars())
            assert ROLE not in owners
    finally:
        engine.dispose()


def test_every_network_owned_table_has_the_policies(app):
    scoped = sorted({m.class_.__tablename__ for m in db.Model.registry.mappers
                     if issubclass(m.class_, NetworkScopedMixin)})
    enabled = set(db.session.execute(text(
        "SELECT relname FROM pg_class WHERE relrowsecurity AND relkind = 'r'")).scalars())
    policies = {}
    for table, name in db.session.execute(text("SELECT tablename, policyname FROM pg_policies")).all():
        policies.setdefault(table, set()).add(name)
    missing = [t for t in scoped if t not in enabled
               or policies.get(t) != {"tenant_read", "tenant_insert", "tenant_update", "tenant_delete"}]
    assert missing == []


def test_an_unscoped_raw_query_inside_network_a_sees_only_a(two_networks, as_app_role):  # noqa: F811 - the imported fixture
    a, b = two_networks["A"]["network"].id, two_networks["B"]["network"].id
    raw = "SELECT DISTINCT network_id FROM {table} ORDER BY 1"
    for table in ("referrals", "patients", "notes", "record_sections", "portal_accounts", "memberships"):
        with network_context(a):
            assert list(as_app_role.execute(text(raw.format(table=table))).scalars()) == [a], table
        with network_context(b):
            assert list(as_app_role.execute(text(raw.format(table=table))).scalars()) == [b], table
        # No network: nothing (fail closed); the named bypass: both.
        assert list(as_app_role.execute(text(raw.format(table=table))).scalars()) == [], table
        bypass = as_app_role.execute(all_networks(text(raw.format(table=table)))).scalars()
        assert list(bypass) == sorted([a, b]), table


def test_a_write_of_another_networks_row_is_refused(two_networks, as_app_role):  # noqa: F811 - the imported fixture
    a, b = two_networks["A"]["network"].id, two_networks["B"]["network"].id
    with network_context(a):
        # B's rows cannot be changed from A (they are not there for A) ...
        changed = as_app_role.execute(text("UPDATE patients SET family_name = 'x' WHERE network_id = :b"), {"b": b})
        assert changed.rowcount == 0
        assert as_app_role.execute(text("DELETE FROM service_area_ranges WHERE network_id = :b"),
                                   {"b": b}).rowcount == 0
        # ... nor written into B.
        with pytest.raises(DBAPIError, match="row-level security"):
            as_app_role.execute(text('INSERT INTO service_area_ranges (network_id, "first", "last") '
                                     "VALUES (:b, 1000, 1001)"), {"b": b})
    as_app_role.rollback()


@pytest.mark.parametrize("sql", ["UPDATE audit_events SET reason = 'x'", "DELETE FROM audit_events",
                                 "TRUNCATE audit_events", "INSERT INTO audit_purge_permits (created_at) VALUES (now())"])
def test_the_application_role_cannot_cut_the_audit_log(two_networks, as_app_role, sql):  # noqa: F811 - the imported fixture
    with pytest.raises(DBAPIError, match="permission denied"):
        as_app_role.execute(text(sql))
    as_app_role.rollback()


def test_pages_in_steady_state_send_no_network_settings(two_networks, rls_app, monkeypatch):  # noqa: F811
    """The settings go to PostgreSQL only when they change. A network page keeps its network's; the GP's list reads
    across networks (the named bypass) while the session lookup and the audit row, tables without row-level
    security, are marked global_tables_only: the second view of either page sends none. How it fails: drop the
    mark from the audit insert (app/core/audit.py _linked_insert), and the GP's page flips the settings twice."""
    from app.core import tenancy

    sent: list[tuple[str, str]] = []
    real = tenancy.send_tenant_settings
    monkeypatch.setattr(tenancy, "send_tenant_settings", lambda conn, wanted: (sent.append(wanted), real(conn, wanted)))
    a = two_networks["A"]
    with rls_app.app_context():
        db.engine.dispose()  # one pooled connection from here on (requests run one after another): no rotation
    for user, path in ((a["gp"], "/verwijzer/verwijzingen/"), (a["coordinator"].user, "/n/net-a/cases/")):
        client = rls_app.test_client()
        login_as(client, user)
        assert client.get(path).status_code == 200, path  # the first view may set them (and the login's network)
        sent.clear()
        assert client.get(path).status_code == 200, path
        assert sent == [], (path, sent)


def test_the_global_tables_mark_is_refused_on_network_data(two_networks, as_app_role):  # noqa: F811
    from sqlalchemy import select

    from app.cases.models import Case
    from app.core.tenancy import NoNetworkContext, global_tables_only

    with network_context(two_networks["A"]["network"].id), pytest.raises(NoNetworkContext):
        as_app_role.scalars(global_tables_only(select(Case))).all()


def test_a_list_across_networks_is_counted_across_networks(two_networks, rls_app):  # noqa: F811
    """The page count of a list read through the named bypass (the GP's referrals in every network) counts under
    the bypass too; Flask-SQLAlchemy's paginate made its count without it, so under the policies it counted 0 and
    a GP never reached page 2."""
    from sqlalchemy import func, select

    from app.core.pagination import paginate, paginate_capped
    from app.referrals.models import Referral

    owner_total = db.session.scalar(select(func.count()).select_from(Referral))  # the owner: no policies
    assert owner_total >= 2
    with rls_app.test_request_context("/?page=1"):
        statement = all_networks(select(Referral).order_by(Referral.id))
        assert paginate(statement, per_page=1).total == owner_total
        assert paginate(statement, per_page=1).pages == owner_total
        assert paginate_capped(statement, per_page=1).total == owner_total
        db.session.rollback()
