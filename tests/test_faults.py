"""Faults without loss, on real services that the test starts and kills itself.

- Redis killed in the middle of 50 concurrent referral submissions: every referral is stored once and,
  after Redis is back, every mail is sent once.
- PostgreSQL stopped under load: requests get a clear 503 page (never a 500), and the same app serves
  again once the database is back (pool pre-ping), without a restart.
- A worker killed in the middle of a job (SIGKILL while the mail is being handed to SMTP): the job runs
  again and its effect happens once.
- SMTP down: the job is retried, shows on /admin/jobs with its attempts and error, and is sent once
  when the mail server returns.

The servers killed here are the test's own (a redis-server and a PostgreSQL cluster on free ports),
never the suite's. Waits are conditions with a generous ceiling, never a speed assumption.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.core.db import utcnow
from app.core.jobs import Outbox, relay_pending
from app.core.tenancy import network_context
from app.extensions import db
from app.networks.models import Role
from app.referrals import services
from app.referrals.models import Referral
from tests.conftest import IS_POSTGRES, PASSWORD, login, make_gp, make_member, make_network, make_user
from tests.referral_factories import MEDICATIONS, VALID_FIELDS
from tests.test_jobs import DATABASE_URL, ROOT, free_port

CEILING = 90  # seconds: a condition that is not met by then is a failure, however slow the machine


def wait_for(condition, what: str, ceiling: float = CEILING, seen=lambda: "") -> None:
    deadline = time.monotonic() + ceiling
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {ceiling} s: {what} {seen()}")
        time.sleep(0.05)


# --- servers of the test's own ------------------------------------------------------------------

class OwnRedis:
    """A redis-server on a free port, without persistence: killing it loses what it held, as a crash does."""

    def __init__(self):
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> OwnRedis:
        from redis import Redis

        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        def answers() -> bool:
            try:
                return Redis.from_url(self.url, socket_connect_timeout=1).ping()
            except Exception:
                return False
        wait_for(answers, "redis-server answers")
        return self

    def connection(self):
        from redis import Redis
        return Redis.from_url(self.url)

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=CEILING)
            self.process = None


def _pg_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"), key=lambda p: p.parent.parent.name)
    return found[-1].parent if found else None


class OwnPostgres:
    """A throwaway PostgreSQL cluster (initdb) on a free port; the postgres account runs it when we are root."""

    def __init__(self):
        self.bin = _pg_bin()
        self.dir = Path(tempfile.mkdtemp(prefix="netwerkzorg-faults-pg-"))
        self.data = self.dir / "data"
        self.port = free_port()

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/faults"

    def _run(self, *args: str) -> None:
        command = [str(self.bin / args[0]), *args[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=CEILING)

    def init(self) -> OwnPostgres:
        self.dir.chmod(0o777)
        self.data.mkdir()
        if os.geteuid() == 0:
            shutil.chown(self.data, "postgres")
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8")
        self.start()
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "faults")
        return self

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-w", "-l", str(self.dir / "log"), "-o",
                  f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off", "start")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-w", "-m", "fast", "stop")

    def destroy(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "stop")
        shutil.rmtree(self.dir, ignore_errors=True)


needs_redis_server = pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server is not installed")
on_postgres = [pytest.mark.postgres_only, pytest.mark.skipif(not IS_POSTGRES, reason="faults are shown on PostgreSQL")]


@pytest.fixture
def own_redis():
    server = OwnRedis()
    yield server
    server.kill()


# --- Redis killed during 50 concurrent submissions ------------------------------------------------

@pytest.mark.redis
@needs_redis_server
@pytest.mark.postgres_only
@pytest.mark.skipif(not IS_POSTGRES, reason="concurrent submissions are shown on PostgreSQL")
def test_redis_killed_during_50_concurrent_submissions_stores_each_once_and_mails_each_once(
        app_with, smtp, own_redis):
    from rq import Queue, SimpleWorker

    own_redis.start()
    queue_app = app_with(REDIS_URL=own_redis.url, MAIL_URL=smtp.url)
    network = make_network("zk", approved_at=utcnow())
    make_member(network, "coordinator@example.nl", role=Role.COORDINATOR)
    gp = make_gp(email_verified_at=utcnow())
    gp_id, network_id = gp.id, network.id
    first_batch, total = 25, 50
    done: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    barrier = threading.Barrier(first_batch, timeout=CEILING)

    def submit(index: int, wait_at_barrier: bool) -> None:
        try:
            with queue_app.app_context():
                user = db.session.get(type(gp), gp_id)
                profile = user.gp_profile
                db.session.commit()
                if wait_at_barrier:
                    barrier.wait()
                with network_context(network_id):
                    _, created = services.submit(
                        user=user, gp_profile=profile, submission_key=f"fault-{index:02d}",
                        fields={**VALID_FIELDS, "given_name": f"Patient{index}"},
                        medications=MEDICATIONS, discipline_ids=[])
                    assert created
                    db.session.commit()  # after_commit hands the mail to Redis, or leaves it pending
                with lock:
                    done.append(index)
                db.session.remove()
        except BaseException as exc:  # reported below
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=submit, args=(i, True)) for i in range(first_batch)]
    for thread in threads:
        thread.start()
    wait_for(lambda: len(done) >= 10 or errors, "ten submissions stored")
    own_redis.kill()  # in the middle: some threads are still submitting
    # The second half is submitted while Redis is certainly down.
    later = [threading.Thread(target=submit, args=(i, False)) for i in range(first_batch, total)]
    for thread in later:
        thread.start()
    for thread in threads + later:
        thread.join(timeout=CEILING)
    assert not errors, errors
    assert sorted(done) == list(range(total))

    # Stored once each, and every mail waits in the outbox: none was sent while no worker ran.
    db.session.rollback()
    with network_context(network_id):
        assert db.session.scalar(select(func.count(Referral.id))) == total
        numbers = list(db.session.scalars(select(Referral.number)))
    assert len(set(numbers)) == total
    mail_rows = list(db.session.scalars(select(Outbox).where(Outbox.kind == "mail")))
    assert len(mail_rows) == total  # one coordinator, one mail per referral
    assert {row.status for row in mail_rows} == {"pending"}
    assert smtp.messages == []

    # Redis comes back empty (what it held is gone); the relay offers every pending row again.
    own_redis.start()
    with queue_app.app_context():
        assert relay_pending(older_than=timedelta(0)) == total
        relay_pending(older_than=timedelta(0))  # a second relay (two schedulers): still one mail each
        connection = own_redis.connection()
        queue = Queue(queue_app.config["JOB_QUEUE_NAME"], connection=connection)
        SimpleWorker([queue], connection=connection).work(burst=True)

    db.session.rollback()
    assert {row.status for row in db.session.scalars(select(Outbox).where(Outbox.kind == "mail"))} == {"done"}
    assert len(smtp.messages) == total, len(smtp.messages)
    mails_per_number = Counter(number for mail in smtp.messages for number in numbers if number in mail.subject)
    assert mails_per_number == Counter(numbers)  # each referral's mail exactly once
    print(f"\nRedis killed mid-run: submitted {total}, stored {len(numbers)}, mailed {len(smtp.messages)}")


# --- PostgreSQL stopped under load -------------------------------------------------------------

@pytest.fixture
def own_postgres():
    if _pg_bin() is None:
        pytest.skip("PostgreSQL binaries are not installed")
    server = OwnPostgres().init()
    yield server
    server.destroy()


@pytest.mark.postgres_only
def test_postgres_stopped_under_load_gives_a_503_page_and_the_app_recovers_by_itself(own_postgres):
    import flask_migrate

    from app import create_app
    from tests.conftest import IsolatedClient, make_config

    app = create_app(make_config(SQLALCHEMY_DATABASE_URI=own_postgres.url))
    app.test_client_class = IsolatedClient
    with app.app_context():
        flask_migrate.upgrade()
        network = make_network("zk", approved_at=utcnow())
        coordinator = make_member(network, "coordinator@example.nl", role=Role.COORDINATOR).user
        clients = []
        for _ in range(6):
            client = app.test_client()
            login(client, coordinator, PASSWORD)
            clients.append(client)
        db.session.remove()

    statuses: list[tuple[str, int]] = []  # (phase, status)
    bodies_503: list[str] = []
    phase = ["before"]
    stop = threading.Event()
    lock = threading.Lock()

    def load(client) -> None:
        while not stop.is_set():
            started_in = phase[0]  # the phase when the request began: one in flight may end in the next
            response = client.get("/n/zk/")
            with lock:
                statuses.append((started_in, response.status_code))
                if response.status_code == 503 and len(bodies_503) < 5:
                    bodies_503.append(response.get_data(as_text=True))

    def count(which: str, status: int) -> int:
        with lock:
            return sum(1 for p, s in statuses if p == which and s == status)

    threads = [threading.Thread(target=load, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    try:
        wait_for(lambda: count("before", 200) >= 12, "pages served before the stop")
        phase[0] = "stopping"
        own_postgres.stop()
        phase[0] = "down"
        wait_for(lambda: count("down", 503) >= 12, "503 answers while the database is down",
                 seen=lambda: Counter(statuses))
        phase[0] = "restarting"
        own_postgres.start()
        phase[0] = "after"
        wait_for(lambda: count("after", 200) >= 12, "pages served again after the restart")
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=CEILING)

    seen = Counter(statuses)
    assert {status for _, status in statuses} <= {200, 503}, seen  # never a 500, never a login redirect
    assert count("down", 200) == 0  # begun after the stop: none can be served
    assert {status for p, status in statuses if p == "after"} == {200}  # recovered, no restart of the app
    page = bodies_503[0]
    assert "Netwerkzorg is even niet beschikbaar" in page
    for leak in ("Traceback", "OperationalError", "psycopg", str(own_postgres.port), "127.0.0.1"):
        assert leak not in page
    with app.app_context():
        assert app.test_client().get("/healthz").get_json()["checks"]["database"] == "ok"
        db.engine.dispose()
    print(f"\nPostgreSQL stop/start under load: {dict(seen)}")


# --- a worker killed in the middle of a job -------------------------------------------------------

def _descendants(pid: int) -> list[int]:
    """The process ids below *pid* (Linux /proc), children first."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            after_name = stat.read_text().rsplit(")", 1)[1].split()  # state, ppid, ...
        except (OSError, IndexError):
            continue
        if int(after_name[1]) == pid:
            children.append(int(stat.parent.name))
    return children + [grandchild for child in children for grandchild in _descendants(child)]


class BlockingSink:
    """An SMTP server whose first DATA never completes (the worker is killed while it waits)."""

    def __init__(self, sink):
        self.sink = sink
        self.first_arrived = threading.Event()
        self.blocked_once = False
        original = sink.handle_DATA

        async def handle_data(server, session, envelope):
            import asyncio
            if not self.blocked_once:
                self.blocked_once = True
                self.first_arrived.set()
                await asyncio.sleep(3600)  # never answers: the sender dies first
            return await original(server, session, envelope)

        sink.handle_DATA = handle_data


@pytest.mark.redis
@needs_redis_server
@pytest.mark.postgres_only
@pytest.mark.skipif(not IS_POSTGRES, reason="the worker process needs PostgreSQL")
def test_a_worker_killed_in_the_middle_of_a_job_runs_it_again_and_mails_once(app_with, mail_sink, own_redis):
    from rq import Queue, SimpleWorker

    own_redis.start()
    sink = mail_sink()
    blocking = BlockingSink(sink)
    sink.start()
    queue_app = app_with(REDIS_URL=own_redis.url, MAIL_URL="")
    user = make_user("eva@example.nl")
    assert queue_app.test_client().post("/password/forgot", data={"email": user.email}).status_code == 302
    row_id = db.session.scalar(select(Outbox.id))

    env = {**os.environ, "APP_ENV": "testing", "FLASK_APP": "wsgi.py", "TEST_DATABASE_URL": DATABASE_URL,
           "TEST_REDIS_URL": own_redis.url, "TEST_MAIL_URL": sink.url}
    worker = subprocess.Popen([str(Path(sys.executable).parent / "flask"), "worker"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        assert blocking.first_arrived.wait(CEILING), "the worker did not start sending"
    finally:
        # The work horse, mid-send, and the worker: RQ puts the horse in a process group of its own
        # (os.setpgrp), so killing the worker's group alone leaves it sending and holding the claim.
        for pid in _descendants(worker.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=CEILING)

    db.session.rollback()
    row = db.session.get(Outbox, row_id)
    assert (row.status, row.delivered_at) == ("pending", None)  # the claim died with the worker
    assert sink.messages == []

    with queue_app.app_context():
        assert relay_pending(older_than=timedelta(0)) == 1
        queue = Queue(queue_app.config["JOB_QUEUE_NAME"], connection=own_redis.connection())
        queue_app.config["MAIL_URL"] = sink.url
        SimpleWorker([queue], connection=queue.connection).work(burst=True)
        relay_pending(older_than=timedelta(0))  # nothing is pending any more: nothing is offered
        SimpleWorker([queue], connection=queue.connection).work(burst=True)

    db.session.rollback()
    row = db.session.get(Outbox, row_id)
    assert row.status == "done"
    assert [mail.rcpt_tos for mail in sink.messages] == [[user.email]]


# --- SMTP down: retried, visible, sent when it returns --------------------------------------------

def test_smtp_down_is_retried_shown_on_the_jobs_page_and_sent_once_when_it_returns(app_with, mail_sink):
    sink = mail_sink()  # not started: its port refuses connections
    down_app = app_with(MAIL_URL=sink.url, REDIS_URL=None)
    user = make_user("cees@example.nl")
    assert down_app.test_client().post("/password/forgot", data={"email": user.email}).status_code == 302
    with down_app.app_context():
        relay_pending(older_than=timedelta(0))  # a second attempt while it is still down

    row = db.session.scalar(select(Outbox))
    assert (row.status, row.attempts) == ("pending", 2)
    admin = make_user("admin@example.nl", is_platform_admin=True)
    client = down_app.test_client()
    login(client, admin)
    page = client.get("/admin/jobs").get_data(as_text=True)
    assert f"<td>{row.id}</td><td>mail</td><td>pending</td><td>2</td>" in page
    assert "ConnectionRefusedError" in page

    sink.start()
    with down_app.app_context():
        assert relay_pending(older_than=timedelta(0)) == 1
        assert relay_pending(older_than=timedelta(0)) == 0
    db.session.rollback()
    assert db.session.get(Outbox, row.id).status == "done"
    assert [mail.rcpt_tos for mail in sink.messages] == [[user.email]]
    assert "<td>mail</td><td>pending</td>" not in client.get("/admin/jobs").get_data(as_text=True)
