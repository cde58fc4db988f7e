"""CLI: flask worker, audit-verify, audit-purge, db-grant-app-role, scheduler, outbox-relay, seed-demo,
demo-accounts, create-admin, api-client-register, api-client-revoke, translate; and each feature's periodic job
by hand (remind-self-checks, remind-referral-norms, remind-proms, from its jobs.py)."""
from __future__ import annotations

import os
import subprocess
import sys
import time

import click
from flask import Flask, current_app

from app.extensions import db


def register_cli(app: Flask) -> None:
    @app.cli.command("worker")
    @click.option("--burst", is_flag=True, help="Stop when the queue is empty.")
    def worker(burst: bool) -> None:
        """Run an RQ worker (with scheduler, for retries) on the app's queue."""
        from rq import Worker

        from app.core.jobs import get_queue, relay_pending

        relay_pending()  # offer what waited while no worker ran
        db.session.remove()
        db.engine.dispose()  # the work horses fork: no inherited connections
        queue = get_queue()
        Worker([queue], connection=queue.connection).work(with_scheduler=True, burst=burst)

    @app.cli.command("audit-verify")
    def audit_verify() -> None:
        """Check the audit log's hash chain: exit 0 when intact, 1 with the first broken row's id. The result is
        kept (the alarm on /admin and /healthz follows the newest check)."""
        from app.core.audit_integrity import verify_and_record

        result = verify_and_record()
        db.session.commit()
        if result.broken_at_id is None:
            click.echo("audit chain intact")
            return
        click.echo(f"audit chain BROKEN at row {result.broken_at_id}", err=True)
        sys.exit(1)

    @app.cli.command("db-grant-app-role")
    @click.argument("role")
    def db_grant_app_role(role: str) -> None:
        """Give the application's database ROLE (not the owner) what it needs: run with the owner's DATABASE_URL
        after `flask db upgrade` (PostgreSQL; docs/operations.md, "Two database roles")."""
        from sqlalchemy import text

        from app.core.db_roles import grant_statements

        if db.engine.dialect.name != "postgresql":
            click.echo("only PostgreSQL has roles; the embedded SQLite needs none", err=True)
            sys.exit(1)
        try:
            statements = grant_statements(role)
        except ValueError as exc:
            click.echo(str(exc), err=True)
            sys.exit(1)
        with db.engine.begin() as connection:
            for statement in statements:
                connection.execute(text(statement))
        click.echo(f"granted the application's rights to {role}")

    @app.cli.command("audit-purge")
    def audit_purge() -> None:
        """Remove the audit rows older than AUDIT_RETENTION_YEARS behind a sealed checkpoint (the scheduler runs
        it daily); refused while the chain is broken."""
        from app.core.audit_integrity import AuditPurgeRefused, purge_expired

        try:
            purged = purge_expired()
        except AuditPurgeRefused as exc:
            db.session.rollback()
            click.echo(f"refused: {exc}", err=True)
            sys.exit(1)
        db.session.commit()
        click.echo(f"purged {purged} audit row(s) older than {current_app.config['AUDIT_RETENTION_YEARS']} years")

    @app.cli.command("scheduler")
    def scheduler() -> None:
        """Run the periodic jobs of app/schedule.py: with REDIS_URL, RQ's cron scheduler enqueues them for
        `flask worker`; without it, they run in this process."""
        from app.schedule import SCHEDULE, InProcessScheduler

        for job in SCHEDULE:
            click.echo(f"{job.name}: every {job.every} ({job.func})")
        db.session.remove()
        if not current_app.config.get("REDIS_URL"):
            click.echo("no REDIS_URL: the jobs run in this process")
            InProcessScheduler(current_app._get_current_object()).loop()
            return
        _run_cron_scheduler()

    @app.cli.command("outbox-relay")
    @click.option("--loop", is_flag=True, help="Keep relaying every 30 seconds.")
    def outbox_relay(loop: bool) -> None:
        """Hand undelivered outbox rows to the queue again now (`flask scheduler` does it every minute)."""
        from app.core.jobs import relay_pending

        while True:
            click.echo(f"relayed {relay_pending()} outbox row(s)")
            db.session.remove()
            if not loop:
                break
            time.sleep(30)

    @app.cli.command("seed-demo")
    def seed_demo() -> None:
        """Load the demo networks and accounts (idempotent: a second run changes nothing)."""
        from app.demo import load_demo

        for line in load_demo():
            click.echo(line)

    @app.cli.command("demo-accounts")
    def demo_accounts() -> None:
        """Print every demo account (email, role, network) and the demo password."""
        from app.demo import accounts_table

        for line in accounts_table():
            click.echo(line)

    @app.cli.command("create-admin")
    @click.argument("email")
    @click.option("--name", default="Platform admin")
    def create_admin(email: str, name: str) -> None:
        """Create a platform admin and print a one-time invitation link."""
        from flask import url_for

        from app.auth.models import TokenPurpose, User
        from app.auth.services import find_user_by_email, issue_token

        user = find_user_by_email(email) or User(email=email.lower(), full_name=name)
        user.is_platform_admin = True
        db.session.add(user)
        db.session.flush()
        token = issue_token(user, TokenPurpose.INVITE)
        db.session.commit()
        with current_app.test_request_context(base_url=current_app.config["BASE_URL"]):
            click.echo(url_for("auth.accept_invitation_link", token=token, _external=True))

    @app.cli.command("api-client-register")
    @click.argument("email")
    @click.option("--name", required=True, help="The system's name, shown in the audit log.")
    @click.option("--scope", "scopes", multiple=True, required=True, help="A SMART system scope; repeat for more.")
    @click.option("--network", "network_slug", default=None, help="A network's slug: a system of that network, "
                  "registered by EMAIL as its coordinator. Without it: the GP EMAIL's own system.")
    def api_client_register(email: str, name: str, scopes: tuple[str, ...], network_slug: str | None) -> None:
        """Register a FHIR API client on behalf of EMAIL and print its client id and secret (shown once)."""
        from sqlalchemy import select

        from app.auth.services import find_user_by_email
        from app.fhir.clients import RegistrationRefused, register_client
        from app.networks.models import Network

        user = find_user_by_email(email)
        network = None
        if network_slug:
            network = db.session.scalar(select(Network).where(Network.slug == network_slug))
            if network is None:
                raise click.ClickException(f"no network with slug {network_slug!r}")
        if user is None:
            raise click.ClickException(f"no user {email!r}")
        try:
            client, secret = register_client(registered_by=user, name=name, scopes=list(scopes), network=network)
        except RegistrationRefused as refused:
            raise click.ClickException(str(refused)) from None
        db.session.commit()
        click.echo(f"client_id={client.client_id}")
        click.echo(f"client_secret={secret}")

    @app.cli.command("api-client-revoke")
    @click.argument("client_id")
    @click.argument("email")
    def api_client_revoke(client_id: str, email: str) -> None:
        """Revoke the API client CLIENT_ID (EMAIL is recorded as who revoked it); its tokens stop at once."""
        from app.auth.services import find_user_by_email
        from app.fhir.clients import client_by_client_id, revoke_client

        client, user = client_by_client_id(client_id), find_user_by_email(email)
        if client is None or user is None:
            raise click.ClickException("unknown client id or user")
        revoke_client(client, by=user)
        db.session.commit()
        click.echo("revoked")

    @app.cli.group()
    def translate() -> None:
        """Extract, update and compile the nl/en catalogues."""

    def _pybabel(*args: str) -> None:
        subprocess.run([sys.executable, "-m", "babel.messages.frontend", *args], check=True)  # noqa: S603

    @translate.command("update")
    def translate_update() -> None:
        pot = "translations/messages.pot"
        _pybabel("extract", "-F", "babel.cfg", "-k", "_l", "--no-location", "--sort-output", "-o", pot, ".")
        _pybabel("update", "-i", pot, "-d", "translations", "--no-fuzzy-matching", "--ignore-obsolete")
        os.remove(pot)

    @translate.command("compile")
    def translate_compile() -> None:
        _pybabel("compile", "-d", "translations", "--use-fuzzy")

    # Each feature's periodic job by hand: flask remind-self-checks, remind-referral-norms, remind-proms,
    # remind-overdue-norms.
    from app.cases import jobs as case_jobs
    from app.meetings import jobs as meeting_jobs
    from app.norms import jobs as norm_jobs
    from app.referrals import jobs as referral_jobs

    for feature_jobs in (meeting_jobs, referral_jobs, case_jobs, norm_jobs):
        feature_jobs.register_cli(app)


def _run_cron_scheduler() -> None:
    """RQ's cron scheduler until SIGINT/SIGTERM; when Redis goes away it starts again after a pause
    (rather than exiting, which would stop every process under honcho)."""
    from redis.exceptions import RedisError

    from app.schedule import build_cron_scheduler

    while True:
        try:
            build_cron_scheduler().start()  # returns on SIGINT/SIGTERM
            return
        except RedisError as exc:
            click.echo(f"scheduler: Redis unavailable ({type(exc).__name__}); retrying in 10 seconds", err=True)
            time.sleep(10)
