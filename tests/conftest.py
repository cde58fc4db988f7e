"""Test fixtures: the schema comes from the migrations; each test gets a clean database.

TEST_DATABASE_URL selects the engine (scripts/run-tests.sh runs the suite on SQLite and on
PostgreSQL). Requests run in their own app context, as in production, so `g` and the session
of a request never leak into the test or into the next request.
"""
from __future__ import annotations

import contextvars
import functools
import os
import re
import secrets
import tempfile
from contextlib import contextmanager
from datetime import date

import pyotp
import pytest
from flask.globals import _cv_app
from flask.testing import FlaskClient
from sqlalchemy import event, select, text

from app import create_app
from app.auth.models import GPProfile, ReferrerKind, User
from app.core.db import utcnow
from app.core.mail import memory_outbox
from app.core.security import UserSession, hash_password, hash_token
from app.core.tenancy import network_context
from app.extensions import db, limiter
from app.meetings.models import Attendance, Meeting, MeetingKind
from app.networks.models import (
    ContactKind,
    Discipline,
    Membership,
    MembershipDiscipline,
    Network,
    NetworkContact,
    NetworkStatus,
    Role,
    TrainingRecord,
)
from app.patients.models import Patient
from app.referrals.models import PracticeNurseLink
from config import TestingConfig

PASSWORD = "correct horse battery staple"


def _own_resources_per_worker() -> None:
    """Under pytest-xdist (scripts/run-tests.sh runs `-n 2`) each worker gets its own database (a SQLite file or a
    PostgreSQL database next to the given one, created here) and its own Redis database number, so workers never
    see each other's rows, jobs or advisory locks. Runs at import, before anything reads the settings; subprocesses
    (the RQ worker, `flask scheduler`) inherit the rewritten environment."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not worker.startswith("gw") or os.environ.get("NETWERKZORG_WORKER_DB") == worker:
        return
    number = int(worker[2:])
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    url = os.environ.get("TEST_DATABASE_URL", "")
    if url.startswith("sqlite:///"):
        os.environ["TEST_DATABASE_URL"] = f"{url.removesuffix('.db')}-{worker}.db"
    elif url.startswith("postgresql"):
        base = make_url(url)
        name = f"{base.database}_{worker}"
        server = create_engine(base, isolation_level="AUTOCOMMIT")
        with server.connect() as connection:
            if connection.execute(text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}).first() is None:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
        server.dispose()
        os.environ["TEST_DATABASE_URL"] = base.set(database=name).render_as_string(hide_password=False)
        for key in ("TEST_PG_URL", "TEST_APP_PG_URL"):
            if os.environ.get(key):
                os.environ[key] = make_url(os.environ[key]).set(database=name).render_as_string(hide_password=False)
    redis_url = os.environ.get("TEST_REDIS_URL", "")
    if redis_url:
        os.environ["TEST_REDIS_URL"] = re.sub(r"(/[0-9]+)?$", f"/{number + 1}", redis_url, count=1)
    os.environ["NETWERKZORG_WORKER_DB"] = worker


_own_resources_per_worker()
_DEFAULT_DB = "sqlite:///" + os.path.join(tempfile.gettempdir(), f"netwerkzorg-test-{os.getpid()}.db")
DATABASE_URL = os.environ.get("TEST_DATABASE_URL") or _DEFAULT_DB
IS_POSTGRES = DATABASE_URL.startswith("postgresql")
# Evidence and PDF reports written by tests go to a temp dir, never to instance/uploads.
UPLOAD_DIR = os.path.join(tempfile.gettempdir(), f"netwerkzorg-test-uploads-{os.getpid()}")
KEEP_TABLES = {"disciplines", "alembic_version", "criteria_sets", "criteria"}  # seeded by the migrations


class IsolatedClient(FlaskClient):
    """Each request runs with no app context of the test's, like a real request.

    POSTs carry a valid CSRF token unless `csrf=False` is given: CSRF stays on in tests.
    """

    def csrf_token(self) -> str:
        from itsdangerous import URLSafeTimedSerializer

        with self.session_transaction() as session:
            raw = session.setdefault("csrf_token", secrets.token_hex(20))
        return URLSafeTimedSerializer(self.application.secret_key, salt="wtf-csrf-token").dumps(raw)

    def open(self, *args, **kwargs):
        add_csrf = kwargs.pop("csrf", True)
        if add_csrf and kwargs.get("method") == "POST" and isinstance(kwargs.get("data"), dict):
            kwargs["data"] = {"csrf_token": self.csrf_token(), **kwargs["data"]}
        parent_open = super().open

        def run():
            _cv_app.set(None)
            return parent_open(*args, **kwargs)

        return contextvars.copy_context().run(run)


def make_config(**overrides):
    # "memory://": sent mail is kept in app.core.mail.memory_outbox (see delivered_mails), never in a table.
    attrs = {"SQLALCHEMY_DATABASE_URI": DATABASE_URL, "REDIS_URL": None, "MAIL_URL": "memory://",
             "BASE_URL": "http://localhost", "UPLOAD_DIR": UPLOAD_DIR, **overrides}
    return type("TestConfig", (TestingConfig,), attrs)


def reset_database(engine) -> None:
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        else:
            conn.execute(text("PRAGMA foreign_keys=OFF"))
            for (name,) in conn.execute(text("SELECT name FROM sqlite_master WHERE type='table'")).all():
                conn.execute(text(f'DROP TABLE IF EXISTS "{name}"'))


@pytest.fixture(scope="session")
def app():
    import flask_migrate

    app = create_app(make_config())
    app.test_client_class = IsolatedClient
    with app.app_context():
        reset_database(db.engine)
        flask_migrate.upgrade()
    yield app
    with app.app_context():
        db.engine.dispose()


def _truncate_all() -> None:
    tables = [t.name for t in reversed(db.metadata.sorted_tables) if t.name not in KEEP_TABLES]
    if IS_POSTGRES:
        # The audit log's triggers refuse TRUNCATE; the test database's superuser switches triggers off here.
        db.session.execute(text("SET LOCAL session_replication_role = replica"))
        db.session.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
    else:
        # The audit log's DELETE trigger lets rows go only under a purge permit: the permits table goes last.
        db.session.execute(text("INSERT INTO audit_purge_permits (created_at) VALUES (CURRENT_TIMESTAMP)"))
        for name in [t for t in tables if t != "audit_purge_permits"] + ["audit_purge_permits"]:
            db.session.execute(text(f'DELETE FROM "{name}"'))
        db.session.execute(text("DELETE FROM sqlite_sequence")) if db.session.execute(text(
            "SELECT 1 FROM sqlite_master WHERE name='sqlite_sequence'")).first() else None
    db.session.commit()


@pytest.fixture(autouse=True)
def _app_context(app):
    """Push a fresh app context per test; afterwards empty every table (disciplines stay)."""
    with app.app_context():
        limiter.reset()
        memory_outbox.clear()
        yield
        db.session.rollback()
        db.session.remove()
        _truncate_all()
        db.session.remove()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def new_client(app):
    """Another browser: a separate cookie jar."""
    return lambda: app.test_client()


# --- factories --------------------------------------------------------------------------------

def make_network(slug: str = "noord", name: str | None = None, **fields) -> Network:
    network = Network(slug=slug, name=name or f"Netwerk {slug.title()}", region=fields.pop("region", "Regio"),
                      status=fields.pop("status", NetworkStatus.ACTIVE), **fields)
    db.session.add(network)
    db.session.commit()
    return network


@functools.cache
def _password_hash(password: str) -> str:
    """argon2 is slow on purpose; tests make hundreds of users with the same password."""
    return hash_password(password)


def make_user(email: str, *, name: str | None = None, password: str = PASSWORD, mfa: bool = True,
              **fields) -> User:
    user = User(email=email, full_name=name or email.split("@")[0].replace(".", " ").title(),
                password_hash=_password_hash(password) if password else None,
                totp_secret=pyotp.random_base32() if mfa else None,
                mfa_enabled_at=utcnow() if mfa else None, **fields)
    db.session.add(user)
    db.session.commit()
    return user


def make_member(network: Network, email: str, *, role: Role = Role.MEMBER, disciplines: tuple[str, ...] = (),
                **user_fields) -> Membership:
    user = db.session.scalar(select(User).where(User.email == email)) or make_user(email, **user_fields)
    with network_context(network.id):
        membership = Membership(network_id=network.id, user_id=user.id, role=role, practice_name="Praktijk",
                                city="Haarlem")
        db.session.add(membership)
        db.session.flush()
        for code in disciplines:
            discipline = db.session.scalar(select(Discipline).where(Discipline.code == code))
            db.session.add(MembershipDiscipline(network_id=network.id, membership_id=membership.id,
                                                discipline_id=discipline.id))
        db.session.commit()
    return membership


def make_patient(network: Network, *, given_name: str = "Wim", family_name: str = "Jansen",
                 bsn: str | None = "111222333", created_by: User | None = None) -> Patient:
    with network_context(network.id):
        creator = created_by or db.session.scalar(select(User).limit(1))
        patient = Patient(network_id=network.id, given_name=given_name, family_name=family_name,
                          date_of_birth=date(1971, 3, 14), bsn=bsn, postcode="2012 AB", created_by_id=creator.id)
        db.session.add(patient)
        db.session.commit()
    return patient


def make_gp(email: str = "gp@example.nl", agb: str = "01234567", *, kind: str = "gp",
            practice_name: str = "Praktijk De Linde", city: str = "Haarlem", practice_agb: str | None = None,
            **user_fields) -> User:
    """A GP (or with kind="poh" a practice nurse) with a referrer profile."""
    user = make_user(email, **user_fields)
    db.session.add(GPProfile(user_id=user.id, agb_code=agb, practice_name=practice_name, city=city,
                             kind=ReferrerKind(kind), practice_agb=practice_agb))
    db.session.commit()
    return user


def make_practice_link(gp: User, poh: User, *, confirmed: bool = False) -> PracticeNurseLink:
    link = PracticeNurseLink(gp_profile_id=gp.gp_profile.id, poh_profile_id=poh.gp_profile.id,
                             confirmed_at=utcnow() if confirmed else None)
    db.session.add(link)
    db.session.commit()
    return link


def make_contact(network: Network, organisation: str = "Spaarne Gasthuis", *, kind: str = "hospital",
                 **fields) -> NetworkContact:
    """A hospital or GP contact of *network* (criteria 8 and 9)."""
    with network_context(network.id):
        contact = NetworkContact(network_id=network.id, kind=ContactKind(kind), organisation=organisation, **fields)
        db.session.add(contact)
        db.session.commit()
    return contact


def make_meeting(network: Network, *, title: str = "Netwerkoverleg", held_on: date | None = None,
                 kind: str = "network", attendees: tuple[Membership, ...] = (), notes: str = "") -> Meeting:
    with network_context(network.id):
        meeting = Meeting(network_id=network.id, held_on=held_on or date.today(), kind=MeetingKind(kind),
                          title=title, notes=notes)
        meeting.attendances.extend(Attendance(network_id=network.id, membership_id=m.id) for m in attendees)
        db.session.add(meeting)
        db.session.commit()
    return meeting


def make_training(membership: Membership, *, course: str = "Oncologie basiscursus", hours: int = 67,
                  completed_on: date = date(2024, 1, 15), valid_until: date | None = None) -> TrainingRecord:
    with network_context(membership.network_id):
        record = TrainingRecord(network_id=membership.network_id, membership_id=membership.id, course=course,
                                hours=hours, completed_on=completed_on, valid_until=valid_until)
        db.session.add(record)
        db.session.commit()
    return record


# --- signing in ---------------------------------------------------------------------------------

def current_totp(user: User) -> str:
    """A valid code the user has not used yet (tests sign in repeatedly within one time step)."""
    db.session.refresh(user)
    user.totp_last_counter = None
    db.session.commit()
    return pyotp.TOTP(user.totp_secret).now()


def csrf_token(client, path: str = "/login") -> str:
    html = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', html)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def login(client, user: User, password: str = PASSWORD, *, mfa: bool = True):
    """Sign in through the real forms (password, then TOTP). Returns the last response."""
    response = client.post("/login", data={"email": user.email, "password": password})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    if mfa:
        response = client.post("/login/mfa", data={"code": current_totp(user)})
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return response


def login_as(client, user: User, *, mfa_verified: bool = True):
    """Fast sign-in for route walks: a server-side session row plus its cookie."""
    token = f"test-{user.id}-{os.urandom(8).hex()}"
    now = utcnow()
    db.session.add(UserSession(token_hash=hash_token(token), user_id=user.id, created_at=now, last_seen_at=now,
                               mfa_verified_at=now if mfa_verified else None))
    db.session.commit()
    with client.session_transaction() as session:
        session["sid"] = token
        session.permanent = True
    return client


@pytest.fixture
def app_with(app):
    """Build a second app with config overrides (its own engine on the same database)."""
    made = []

    def build(**overrides):
        other = create_app(make_config(**overrides))
        other.test_client_class = IsolatedClient
        made.append(other)
        return other

    yield build
    for other in made:
        with other.app_context():
            db.engine.dispose()


@pytest.fixture
def mail_sink():
    """Make mail servers (started when the test wants: a closed port is an SMTP outage); all are stopped after."""
    from tests.test_jobs import MailSink

    sinks: list = []

    def make(port: int | None = None):
        sinks.append(MailSink(port))
        return sinks[-1]

    yield make
    for sink in sinks:
        sink.stop()


@pytest.fixture
def smtp():
    """A real SMTP server (aiosmtpd) on a free local port that keeps what it receives."""
    from tests.test_jobs import MailSink  # test_jobs owns the server class (and imports this module)

    sink = MailSink().start()
    yield sink
    sink.stop()


@pytest.fixture
def inline_app(app_with, smtp):
    """The embedded default: no Redis, jobs run in the process, and mail goes to `smtp`."""
    return app_with(MAIL_URL=smtp.url, REDIS_URL=None)


def delivered_mails(to: str | None = None, template: str | None = None) -> list[dict[str, str]]:
    """The mail sent in this test (MAIL_URL memory://), oldest first: to, subject, body, template."""
    return [mail for mail in memory_outbox
            if (to is None or mail["to"] == to) and (template is None or mail["template"] == template)]


@contextmanager
def counted_statements():
    """Collect the SQL statements sent inside the block (list pages must not grow with the data)."""
    statements: list[str] = []

    def before_cursor_execute(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    engine = db.engine
    event.listen(engine, "before_cursor_execute", before_cursor_execute)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", before_cursor_execute)
