"""The backup-and-restore drill of docs/operations.md, run with the exact scripts the handbook shows:
a populated database and upload folder are backed up, restored into a fresh database and folder, and
the restored app serves the same records, its audit chain verifies, and its evidence file opens."""
from __future__ import annotations

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

from app.auth.models import User
from app.core.audit import AuditEvent, verify_chain
from app.extensions import db
from app.networks.models import Role
from tests.conftest import (
    DATABASE_URL,
    IS_POSTGRES,
    UPLOAD_DIR,
    login,
    login_as,
    make_config,
    make_member,
    make_network,
    make_patient,
)
from tests.quality_factories import make_evidence

ROOT = Path(__file__).resolve().parent.parent
HANDBOOK = ROOT / "docs" / "operations.md"
EVIDENCE_BYTES = b"%PDF-1.4\n% evidence kept through a restore " + secrets.token_hex(8).encode() + b"\n%%EOF\n"



def _run(script: str, *args: str, database_url: str, upload_dir: str) -> str:
    env = {**os.environ, "DATABASE_URL": database_url, "UPLOAD_DIR": upload_dir}
    done = subprocess.run([str(ROOT / script), *args], env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_handbook_shows_the_commands_the_drill_runs():
    handbook = HANDBOOK.read_text(encoding="utf-8")
    blocks = "\n".join(re.findall(r"```sh\n(.*?)```", handbook, flags=re.S))
    assert "scripts/ops/backup.sh" in blocks and "scripts/ops/restore.sh" in blocks
    assert "flask db upgrade" in blocks and "flask audit-verify" in blocks


@pytest.mark.postgres_only
@pytest.mark.skipif(not IS_POSTGRES, reason="the drill backs up PostgreSQL")
@pytest.mark.skipif(shutil.which("pg_dump") is None, reason="pg_dump is not installed")
def test_backup_then_restore_into_a_fresh_database_serves_the_same_records(app, client):
    from app import create_app
    from tests.conftest import IsolatedClient

    network = make_network("zk")
    coordinator = make_member(network, "coordinator@example.nl", role=Role.COORDINATOR)
    patient = make_patient(network, given_name="Restoria", family_name="Terugzet")
    evidence = make_evidence(coordinator, data=EVIDENCE_BYTES)
    login_as(client, coordinator.user)  # no TOTP code used: the restored sign-in below uses the real forms
    assert client.get(f"/n/zk/patients/{patient.id}").status_code == 200  # an audited read
    # Plain ids from here on: an expired object of this session would reload inside the restored app's
    # context and bind this session to the restored database.
    user_id, patient_id, evidence_id = coordinator.user_id, patient.id, evidence.id
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
        _run("scripts/ops/backup.sh", backup_dir, database_url=DATABASE_URL, upload_dir=UPLOAD_DIR)
        assert {p.name for p in Path(backup_dir).iterdir()} == {"database.dump", "uploads.tar.gz", "SHA256SUMS"}
        out = _run("scripts/ops/restore.sh", backup_dir, database_url=fresh_url, upload_dir=restored_uploads)
        assert "flask audit-verify" in out

        restored = create_app(make_config(SQLALCHEMY_DATABASE_URI=fresh_url, UPLOAD_DIR=restored_uploads))
        restored.test_client_class = IsolatedClient
        with restored.app_context():
            assert restored.test_cli_runner().invoke(args=["db", "upgrade"]).exit_code == 0
            result = restored.test_cli_runner().invoke(args=["audit-verify"])
            assert (result.exit_code, result.output.strip()) == (0, "audit chain intact")
            assert db.session.scalar(select(func.count(AuditEvent.id))) == audit_rows
            names = db.session.execute(text("SELECT given_name, family_name FROM patients")).all()
            assert [tuple(row) for row in names] == [("Restoria", "Terugzet")]
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
    assert db.session.execute(text("SELECT count(*) FROM patients")).scalar() == 1  # the original is untouched
