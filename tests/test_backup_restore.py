"""The backup-and-restore drill of docs/operations.md, run with the exact scripts the handbook shows:
a populated database and upload folder are backed up, restored into a fresh database and folder, and
the restored app serves the same records, its audit chain verifies, and its evidence file opens."""
from __future__ import annotations

import io
import os
import re
import secrets
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from werkzeug.datastructures import FileStorage

from app.auth.models import User
from app.cases import services as case_services
from app.core.audit import AuditEvent, verify_chain
from app.core.db import utcnow
from app.core.tenancy import network_context
from app.extensions import db
from app.networks.models import Role
from app.referrals import attachments
from app.referrals.models import Referral, ReferralStatus
from tests.conftest import (
    DATABASE_URL,
    IS_POSTGRES,
    UPLOAD_DIR,
    login,
    login_as,
    make_config,
    make_gp,
    make_member,
    make_network,
    make_patient,
)
from tests.quality_factories import make_evidence
from tests.referral_factories import make_referral

ROOT = Path(__file__).resolve().parent.parent
HANDBOOK = ROOT / "docs" / "operations.md"
EVIDENCE_BYTES = b"%PDF-1.4\n% evidence kept through a restore " + secrets.token_hex(8).encode() + b"\n%%EOF\n"
LETTER_BYTES = b"%PDF-1.4\n% the GP's letter with the referral " + secrets.token_hex(8).encode() + b"\n%%EOF\n"


def handbook_commands() -> dict[str, list[str]]:
    """The commands of the sh blocks in the handbook's "Backup and restore" section, by what they do: the drill
    runs the scripts the handbook shows (a renamed script or a changed step fails here), with its own folder."""
    handbook = HANDBOOK.read_text(encoding="utf-8")
    section = handbook.split("## Backup and restore", 1)[1].split("\n## ", 1)[0]
    lines = [line.split("#")[0].strip() for block in re.findall(r"```sh\n(.*?)```", section, flags=re.S)
             for line in block.splitlines()]
    lines = [line for line in lines if line]
    backup = [line.split()[0] for line in lines if "backup.sh" in line.split()[0]]
    restore = [line.split()[0] for line in lines if "restore.sh" in line.split()[0]]
    after = [line.split()[1:] for line in lines if line.startswith("flask ")]
    return {"backup": backup, "restore": restore, "after restore": [" ".join(words) for words in after]}


def _run(script: str, *args: str, database_url: str, upload_dir: str) -> str:
    env = {**os.environ, "DATABASE_URL": database_url, "UPLOAD_DIR": upload_dir}
    done = subprocess.run([str(ROOT / script), *args], env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_handbook_shows_the_commands_the_drill_runs():
    commands = handbook_commands()
    assert commands["backup"] == ["scripts/ops/backup.sh"] and commands["restore"] == ["scripts/ops/restore.sh"]
    assert commands["after restore"] == ["db upgrade", "audit-verify"]
    for script in (*commands["backup"], *commands["restore"]):
        assert os.access(ROOT / script, os.X_OK), script


@pytest.mark.postgres_only
@pytest.mark.skipif(not IS_POSTGRES, reason="the drill backs up PostgreSQL")
@pytest.mark.skipif(shutil.which("pg_dump") is None and not list(Path("/usr/lib/postgresql").glob("*/bin/pg_dump")),
                    reason="pg_dump is not installed")
def test_backup_then_restore_into_a_fresh_database_serves_the_same_records(app, client):
    from app import create_app
    from tests.conftest import IsolatedClient

    network = make_network("zk")
    coordinator = make_member(network, "coordinator@example.nl", role=Role.COORDINATOR)
    patient = make_patient(network, given_name="Restoria", family_name="Terugzet")
    evidence = make_evidence(coordinator, data=EVIDENCE_BYTES)
    # A referral with a letter attached, taken in: the intake opens a case.
    gp = make_gp("gp@example.nl", "11223344", email_verified_at=utcnow())
    referral = make_referral(network, gp, status=ReferralStatus.ACCEPTED, coordinator=coordinator.user,
                             given_name="Bewaard", family_name="Hersteld")
    with network_context(network.id):
        live = db.session.get(Referral, referral.id)
        attachment = attachments.add(live, FileStorage(io.BytesIO(LETTER_BYTES), filename="brief.pdf",
                                                       content_type="application/pdf"), gp)
        intake = case_services.start_intake(live, coordinator.user)
        case_services.save_intake(intake, coordinator.user, {"story": "Sinds de operatie moe", "goals": "Fietsen"})
        case = case_services.complete_intake(intake, coordinator.user, coordinator)
        db.session.commit()
        referral_id, attachment_id, case_id = referral.id, attachment.id, case.id
    login_as(client, coordinator.user)  # no TOTP code used: the restored sign-in below uses the real forms
    assert client.get(f"/n/zk/patients/{patient.id}").status_code == 200  # audited reads
    assert client.get(f"/n/zk/cases/{case_id}").status_code == 200
    # Plain ids from here on: an expired object of this session would reload inside the restored app's
    # context and bind this session to the restored database.
    user_id, patient_id, evidence_id = coordinator.user_id, patient.id, evidence.id
    stored_files = sorted(p.relative_to(UPLOAD_DIR) for p in Path(UPLOAD_DIR).rglob("*") if p.is_file())
    assert len(stored_files) >= 2  # the evidence and the letter
    audit_rows = db.session.scalar(select(func.count(AuditEvent.id)))
    assert audit_rows >= 1 and verify_chain() is None

    backup_dir = tempfile.mkdtemp(prefix="netwerkzorg-backup-")
    restored_uploads = tempfile.mkdtemp(prefix="netwerkzorg-restored-uploads-")
    fresh_name = f"restore_{secrets.token_hex(4)}"
    fresh_url = make_url(DATABASE_URL).set(database=fresh_name).render_as_string(hide_password=False)
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'CREATE DATABASE "{fresh_name}"'))
    restored = None
    try:
        commands = handbook_commands()
        _run(commands["backup"][0], backup_dir, database_url=DATABASE_URL, upload_dir=UPLOAD_DIR)
        assert {p.name for p in Path(backup_dir).iterdir()} == {"database.dump", "uploads.tar.gz", "SHA256SUMS"}
        out = _run(commands["restore"][0], backup_dir, database_url=fresh_url, upload_dir=restored_uploads)
        assert "flask audit-verify" in out
        assert sorted(p.relative_to(restored_uploads) for p in Path(restored_uploads).rglob("*")
                      if p.is_file()) == stored_files

        restored = create_app(make_config(SQLALCHEMY_DATABASE_URI=fresh_url, UPLOAD_DIR=restored_uploads))
        restored.test_client_class = IsolatedClient
        with restored.app_context():
            for command in commands["after restore"]:  # flask db upgrade, flask audit-verify
                result = restored.test_cli_runner().invoke(args=command.split())
                assert result.exit_code == 0, (command, result.output)
            assert result.output.strip() == "audit chain intact"
            assert verify_chain() is None
            assert db.session.scalar(select(func.count(AuditEvent.id))) == audit_rows
            names = db.session.execute(text("SELECT given_name, family_name FROM patients")).all()
            assert sorted(tuple(row) for row in names) == [("Bewaard", "Hersteld"), ("Restoria", "Terugzet")]
            db.session.remove()
        restored_client = restored.test_client()
        with restored.app_context():
            restored_user = db.session.get(User, user_id)
            login(restored_client, restored_user)  # the password hash and TOTP secret came through
            db.session.remove()
        page = restored_client.get(f"/n/zk/patients/{patient_id}")
        assert page.status_code == 200 and "Terugzet" in page.get_data(as_text=True)
        download = restored_client.get(f"/n/zk/quality/evidence/{evidence_id}/download")
        assert download.status_code == 200 and download.data == EVIDENCE_BYTES
        page = restored_client.get(f"/n/zk/referrals/{referral_id}")
        assert page.status_code == 200 and "Hersteld" in page.get_data(as_text=True)
        assert restored_client.get(f"/n/zk/cases/{case_id}").status_code == 200
        letter = restored_client.get(f"/n/zk/referrals/{referral_id}/bijlagen/{attachment_id}")
        assert letter.status_code == 200 and letter.data == LETTER_BYTES
        with restored.app_context():  # the reads on the restored copy are chained onto the restored log
            assert db.session.scalar(select(func.count(AuditEvent.id))) > audit_rows and verify_chain() is None
            db.session.remove()

        # A tampered backup is refused before anything is restored.
        with open(Path(backup_dir) / "uploads.tar.gz", "ab") as handle:
            handle.write(b"x")
        env = {**os.environ, "DATABASE_URL": fresh_url, "UPLOAD_DIR": restored_uploads}
        refused = subprocess.run([str(ROOT / "scripts/ops/restore.sh"), backup_dir], env=env,
                                 capture_output=True, text=True, check=False)
        assert refused.returncode != 0
    finally:
        if restored is not None:
            with restored.app_context():
                db.session.remove()
                db.engine.dispose()
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{fresh_name}" WITH (FORCE)'))
        shutil.rmtree(backup_dir, ignore_errors=True)
        shutil.rmtree(restored_uploads, ignore_errors=True)
    assert db.session.execute(text("SELECT count(*) FROM patients")).scalar() == 2  # the original is untouched
