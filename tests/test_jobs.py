"""Jobs and mail with real parts: an aiosmtpd SMTP server, Redis and an RQ worker process.

Nothing is mocked. Inline mode (no REDIS_URL) runs on SQLite and PostgreSQL; the tests marked
`redis` need TEST_REDIS_URL, and those that start `flask worker --burst` as a separate process
also need PostgreSQL (the worker cannot see the test's SQLite file in a useful way).
"""
from __future__ import annotations

import email
import email.policy
import os
import socket
import subprocess
import sys
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from flask_babel import force_locale, gettext
from sqlalchemy import select

from app.core import jobs
from app.core.jobs import (
    Outbox,
    deliver_outbox,
    enqueue,
    get_queue,
    job_handler,
    push_to_queue,
    relay_pending,
)
from app.core.tenancy import NoNetworkContext
from app.extensions import db
from app.networks.models import Role
from app.patients.models import Patient
from tests.conftest import (
    DATABASE_URL,
    IS_POSTGRES,
    login,
    login_as,
    make_member,
    make_network,
    make_patient,
    make_user,
)

ROOT = Path(__file__).resolve().parent.parent
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL")
REDIS_DOWN = "redis://127.0.0.1:1/0"  # port 1: nothing listens, the connection is refused at once

needs_redis = pytest.mark.skipif(not TEST_REDIS_URL, reason="TEST_REDIS_URL is not set")
needs_worker = pytest.mark.skipif(not (TEST_REDIS_URL and IS_POSTGRES),
                                  reason="the RQ worker process needs TEST_REDIS_URL and PostgreSQL")


# --- a real SMTP server ------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    message: email.message.EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def body(self) -> str:
        return self.message.get_content()


class MailSink:
    """An aiosmtpd server on 127.0.0.1:<port> that keeps every message it accepts."""

    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.messages: list[Received] = []
        self._controller: Controller | None = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.content, message))
        return "250 Message accepted for delivery"

    def start(self) -> MailSink:
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


@pytest.fixture
def smtp(mail_sink) -> MailSink:
    return mail_sink().start()


@pytest.fixture
def inline_app(app_with, smtp):
    """The embedded default: no Redis, jobs run at the end of the request, mail to `smtp`."""
    return app_with(MAIL_URL=smtp.url, REDIS_URL=None)


@pytest.fixture
def redis_db():
    """The Redis database of TEST_REDIS_URL, emptied before and after (job ids repeat per test)."""
    from redis import Redis

    connection = Redis.from_url(TEST_REDIS_URL)
    connection.flushdb()
    yield connection
    connection.flushdb()
    connection.close()


# --- helpers -----------------------------------------------------------------------------------

def outbox_rows() -> list[Outbox]:
    db.session.rollback()  # a fresh read: other apps and processes wrote these rows
    return list(db.session.scalars(select(Outbox).order_by(Outbox.id)))


def only_row() -> Outbox:
    rows = outbox_rows()
    assert len(rows) == 1, rows
    return rows[0]


def forgot_password(client, address: str) -> None:
    response = client.post("/password/forgot", data={"email": address})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]


def nl(app, message: str) -> str:
    """*message* as the app translates it for a request without preferences (Dutch)."""
    with app.test_request_context(), force_locale("nl"):
        return gettext(message)


def run_worker(mail_url: str) -> subprocess.CompletedProcess:
    """`flask worker --burst` in its own process, on the tests' database and Redis."""
    env = {**os.environ, "APP_ENV": "testing", "FLASK_APP": "wsgi.py", "TEST_DATABASE_URL": DATABASE_URL,
           "TEST_REDIS_URL": TEST_REDIS_URL, "TEST_MAIL_URL": mail_url}
    result = subprocess.run([str(Path(sys.executable).parent / "flask"), "worker", "--burst"], cwd=ROOT,
                            env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


# --- inline mode: delivered by the end of the request ------------------------------------------

def test_forgot_password_sends_exactly_one_mail(inline_app, smtp):
    user = make_user("anna.devries@example.nl", name="Anna de Vries")
    client = inline_app.test_client()

    forgot_password(client, "Anna.deVries@example.nl")

    assert len(smtp.messages) == 1
    mail = smtp.messages[0]
    assert mail.rcpt_tos == [user.email]
    assert mail.message["To"] == user.email
    assert mail.message["From"] == inline_app.config["MAIL_SENDER"]
    assert mail.subject == nl(inline_app, "Reset your Netwerkzorg password")
    assert "Anna de Vries" in mail.body
    link = next(word for word in mail.body.split() if "/password/reset/" in word)
    assert link.startswith(inline_app.config["BASE_URL"] + "/password/reset/")
    assert client.get(link.removeprefix(inline_app.config["BASE_URL"])).status_code == 302

    # An unknown address gets the same answer, and no mail and no outbox row.
    forgot_password(client, "nobody@example.nl")
    assert len(smtp.messages) == 1
    assert len(outbox_rows()) == 1


def test_outbox_row_is_delivered_by_the_end_of_the_request_and_only_once(inline_app, smtp):
    user = make_user("bram@example.nl")

    forgot_password(inline_app.test_client(), user.email)

    row = only_row()
    assert (row.kind, row.network_id, row.payload["to"], row.payload["template"]) == (
        "mail", None, user.email, "password_reset")
    assert row.status == "done"
    assert row.delivered_at is not None
    assert (row.attempts, row.last_error) == (1, "")
    assert len(smtp.messages) == 1

    # Delivering a done row again (a duplicate queue entry, a relay race) sends nothing.
    with inline_app.app_context():
        deliver_outbox(row.id)
        assert relay_pending(older_than=timedelta(0)) == 0
    assert len(smtp.messages) == 1
    assert only_row().attempts == 1


def test_invitation_is_queued_in_the_network_and_delivered(inline_app, smtp):
    network = make_network("noord")
    coordinator = make_member(network, "coo@example.nl", role=Role.COORDINATOR)
    client = login_as(inline_app.test_client(), coordinator.user)

    response = client.post("/n/noord/members/invite", data={
        "email": "Nieuw.Lid@example.nl", "full_name": "Nieuw Lid", "role": "member"})

    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    row = only_row()
    assert (row.kind, row.network_id, row.status, row.attempts) == ("mail", network.id, "done", 1)
    assert row.delivered_at is not None
    assert [mail.rcpt_tos for mail in smtp.messages] == [["nieuw.lid@example.nl"]]
    mail = smtp.messages[0]
    assert mail.subject == nl(inline_app, "Invitation to Netwerkzorg")
    assert network.name in mail.body
    assert "/invitation/" in mail.body


def test_outbox_row_lives_and_dies_with_the_callers_transaction(app):
    enqueue("mail", {"to": "x@example.nl", "subject": "s", "body": "b", "template": "t"})
    db.session.rollback()
    assert outbox_rows() == []
    assert "outbox_new" not in db.session.info

    row = enqueue("mail", {"to": "x@example.nl", "subject": "s", "body": "b", "template": "t"})
    db.session.commit()
    assert [r.id for r in outbox_rows()] == [row.id]
    with pytest.raises(KeyError):
        enqueue("no-such-kind", {})


def test_mail_never_contains_patient_data(inline_app, smtp):
    """Canary: mail leaves the care setting, so no BSN and no patient name may ever be in it."""
    network = make_network("zuid")
    coordinator = make_member(network, "carla@example.nl", name="Carla Coordinator", role=Role.COORDINATOR)
    patient = make_patient(network, given_name="Gerarda", family_name="Pietersma-Kwakernaak",
                           bsn="123456782", created_by=coordinator.user)
    client = login_as(inline_app.test_client(), coordinator.user)
    assert "Pietersma-Kwakernaak" in client.get(f"/n/zuid/patients/{patient.id}").get_data(as_text=True)

    response = client.post("/n/zuid/members/invite", data={
        "email": "dirk@example.nl", "full_name": "Dirk Verpleegkundige", "role": "member"})
    assert response.status_code == 302
    forgot_password(inline_app.test_client(), coordinator.user.email)

    assert len(smtp.messages) == 2
    for mail in smtp.messages:
        text = "\n".join([mail.raw.decode("utf-8", "replace"), mail.subject, mail.body])
        for secret in ("123456782", "Gerarda", "Pietersma", "Kwakernaak"):
            assert secret not in text, (secret, mail.subject)
    for row in outbox_rows():
        assert "123456782" not in repr(row.payload)
        assert "Pietersma" not in repr(row.payload)


# --- failures: SMTP down, Redis down -----------------------------------------------------------

def test_smtp_down_keeps_the_row_pending_until_the_relay_delivers_it(app_with, mail_sink, client):
    sink = mail_sink()  # its port stays closed for now
    down_app = app_with(MAIL_URL=sink.url, REDIS_URL=None)
    user = make_user("cees@example.nl")

    forgot_password(down_app.test_client(), user.email)  # the request still succeeds

    row = only_row()
    assert (row.status, row.attempts, row.delivered_at) == ("pending", 1, None)
    assert row.last_error.startswith("ConnectionRefusedError")
    assert client.get("/healthz").get_json()["checks"]["outbox_pending"] == 1

    sink.start()
    with down_app.app_context():
        assert relay_pending(older_than=timedelta(0)) == 1

    row = only_row()
    assert (row.status, row.attempts) == ("done", 2)
    assert row.delivered_at is not None
    assert [mail.rcpt_tos for mail in sink.messages] == [[user.email]]
    with down_app.app_context():
        assert relay_pending(older_than=timedelta(0)) == 0
    assert len(sink.messages) == 1


def _request_with_redis_down(app_with, smtp) -> tuple[Outbox, str]:
    down_app = app_with(REDIS_URL=REDIS_DOWN, MAIL_URL=smtp.url)
    user = make_user("daan@example.nl")
    forgot_password(down_app.test_client(), user.email)  # the request still succeeds
    row = only_row()
    assert (row.status, row.attempts, row.last_error, row.delivered_at) == ("pending", 0, "", None)
    with down_app.app_context():  # the relay, too, leaves it waiting while Redis is down
        assert relay_pending(older_than=timedelta(0)) == 1
    assert only_row().status == "pending"
    assert smtp.messages == []
    return row, user.email


def test_redis_down_keeps_the_row_pending(app_with, smtp):
    _request_with_redis_down(app_with, smtp)


@pytest.mark.redis
@needs_redis
def test_relay_queues_pending_rows_once_redis_is_back(app_with, smtp, redis_db):
    row, address = _request_with_redis_down(app_with, smtp)
    up_app = app_with(REDIS_URL=TEST_REDIS_URL, MAIL_URL=smtp.url)

    with up_app.app_context():
        assert relay_pending(older_than=timedelta(0)) == 1
        queue = get_queue()
        assert queue.job_ids == [f"outbox-{row.id}"]
        job = queue.fetch_job(f"outbox-{row.id}")
        assert (job.func_name, job.args) == ("app.core.jobs.deliver_outbox", (row.id,))
        assert only_row().status == "pending"  # queued, not run: the worker runs it

        from rq import SimpleWorker  # a real RQ worker, in this process and app
        SimpleWorker([queue], connection=queue.connection).work(burst=True)

    assert only_row().status == "done"
    assert [mail.rcpt_tos for mail in smtp.messages] == [[address]]


# --- a real RQ worker process ------------------------------------------------------------------

@pytest.mark.redis
@needs_worker
def test_worker_process_delivers_committed_mail_once(app_with, smtp, redis_db):
    queue_app = app_with(REDIS_URL=TEST_REDIS_URL, MAIL_URL="")  # the request itself sends nothing
    user = make_user("eva@example.nl")

    forgot_password(queue_app.test_client(), user.email)

    row = only_row()
    assert row.status == "pending"
    with queue_app.app_context():
        assert get_queue().job_ids == [f"outbox-{row.id}"]
    assert smtp.messages == []

    run_worker(smtp.url)

    row = only_row()
    assert (row.status, row.attempts) == ("done", 1)
    assert row.delivered_at is not None
    assert len(smtp.messages) == 1
    assert smtp.messages[0].rcpt_tos == [user.email]
    assert smtp.messages[0].subject == nl(queue_app, "Reset your Netwerkzorg password")

    # The same outbox id offered again (a relay after a crash): the consumer sends nothing.
    with queue_app.app_context():
        assert push_to_queue(row.id)
    run_worker(smtp.url)
    assert len(smtp.messages) == 1
    assert only_row().attempts == 1


@pytest.mark.redis
@needs_worker
def test_failing_job_ends_in_the_failed_registry_and_on_the_admin_page(app_with, redis_db):
    queue_app = app_with(REDIS_URL=TEST_REDIS_URL, JOB_RETRY_INTERVALS=[0, 0, 0])
    user = make_user("frank@example.nl")
    forgot_password(queue_app.test_client(), user.email)
    row_id = only_row().id

    run_worker(f"smtp://127.0.0.1:{free_port()}")  # the worker's mail server is down

    with queue_app.app_context():
        registry = get_queue().failed_job_registry
        assert registry.get_job_ids() == [f"outbox-{row_id}"]
        assert get_queue().fetch_job(f"outbox-{row_id}").retries_left == 0
    row = only_row()
    assert (row.status, row.attempts, row.delivered_at) == ("pending", 4, None)  # 1 try + 3 retries
    assert row.last_error.startswith("ConnectionRefusedError")

    admin = make_user("admin@example.nl", is_platform_admin=True)
    client = queue_app.test_client()
    login(client, admin)
    response = client.get("/admin/jobs")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert f"outbox-{row_id}" in page
    assert "ConnectionRefusedError" in page
    assert nl(queue_app, "No failed jobs.") not in page

    health = client.get("/healthz").get_json()
    assert health["checks"]["failed_jobs"] == 1
    assert health["checks"]["outbox_pending"] == 1


# --- /healthz ----------------------------------------------------------------------------------

def test_healthz_reports_the_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "checks": {
        "database": "ok", "redis": "not configured", "outbox_pending": 0, "outbox_failed": 0, "audit_chain": "ok"}}


def test_healthz_is_503_when_redis_is_down_and_leaks_nothing(app_with):
    redis_password = "redis-Pa55word-never-shown"
    down_app = app_with(REDIS_URL=f"redis://:{redis_password}@127.0.0.1:1/0")

    response = down_app.test_client().get("/healthz")

    assert response.status_code == 503
    data = response.get_json()
    assert data["status"] == "unavailable"
    assert data["checks"]["redis"] == "unavailable"
    assert data["checks"]["database"] == "ok"
    body = response.get_data(as_text=True)
    for secret in (redis_password, down_app.config["SECRET_KEY"], DATABASE_URL, "127.0.0.1",
                   "Traceback", "Error"):
        assert secret not in body


@pytest.mark.redis
@needs_redis
def test_healthz_reports_redis_when_it_is_up(app_with, redis_db):
    response = app_with(REDIS_URL=TEST_REDIS_URL).test_client().get("/healthz")
    assert response.status_code == 200
    assert response.get_json()["checks"] | {"outbox_pending": 0} == {
        "database": "ok", "redis": "ok", "failed_jobs": 0, "outbox_pending": 0, "outbox_failed": 0,
        "audit_chain": "ok"}
    assert TEST_REDIS_URL not in response.get_data(as_text=True)


# --- jobs and tenancy ----------------------------------------------------------------------------

@pytest.fixture
def patients_job():
    """A test-only job that lists patients: it must run inside the row's network or not at all."""
    seen: list[list[int]] = []

    @job_handler("test.list-patients")
    def list_patients(payload):
        seen.append(sorted(db.session.scalars(select(Patient.id))))

    yield seen
    jobs._handlers.pop("test.list-patients", None)


def test_job_without_network_context_fails_closed(app, patients_job):
    network, other = make_network("oost"), make_network("west")
    make_user("gijs@example.nl")
    patient = make_patient(network)
    make_patient(other, given_name="Else", bsn=None)

    row = enqueue("test.list-patients", {})  # no network_id
    db.session.commit()
    with pytest.raises(NoNetworkContext):
        deliver_outbox(row.id)
    assert patients_job == []
    row = only_row()
    assert (row.status, row.attempts, row.delivered_at) == ("pending", 1, None)
    assert row.last_error.startswith("NoNetworkContext")

    scoped = enqueue("test.list-patients", {}, network_id=network.id)
    db.session.commit()
    deliver_outbox(scoped.id)
    assert patients_job == [[patient.id]]  # only its own network's patient
    assert outbox_rows()[1].status == "done"
