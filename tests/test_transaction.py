"""One commit per request (app/core/transaction.py): a good answer commits, an error answer rolls back,
and the audit rows that must outlive a failed request (reads of patient data, refusals) still land."""
from __future__ import annotations

from flask import abort
from sqlalchemy import func, select

from app.auth.models import User
from app.core import audit
from app.core.audit import AuditAction, AuditEvent, AuditOutcome
from app.extensions import db
from tests.conftest import make_user

PATIENT_ID = 4242


def _app_with_probe_routes(app_with):
    other = app_with()

    def change(tag: str) -> None:
        db.session.add(User(email=f"{tag}@transaction.example", full_name=tag))
        db.session.flush()

    @other.route("/__tx/ok")  # GET: the probe app has no CSRF form
    def ok():
        change("ok")
        return "done"

    @other.route("/__tx/refused")
    def refused():
        audit.record("patient.viewed", AuditAction.READ, patient_id=PATIENT_ID)
        change("refused")
        return "not valid", 400

    @other.route("/__tx/explodes")
    def explodes():
        audit.record("patient.viewed", AuditAction.READ, patient_id=PATIENT_ID)
        change("explodes")
        raise RuntimeError("rendering failed after the read")

    @other.route("/__tx/denied")
    def denied():
        change("denied")
        audit.deny("patient.access_denied", patient_id=PATIENT_ID)

    @other.route("/__tx/missing")
    def missing():
        change("missing")
        abort(404)

    return other


def _users(tag: str) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(User).where(User.email == f"{tag}@transaction.example"))


def _audit(outcome: AuditOutcome) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.patient_id == PATIENT_ID, AuditEvent.outcome == outcome))


def test_a_good_answer_commits_without_the_view_committing(app_with):
    client = _app_with_probe_routes(app_with).test_client()
    assert client.get("/__tx/ok").status_code == 200
    assert _users("ok") == 1


def test_an_error_answer_rolls_back_the_change_and_keeps_the_read(app_with):
    client = _app_with_probe_routes(app_with).test_client()
    assert client.get("/__tx/refused").status_code == 400
    assert _users("refused") == 0
    assert _audit(AuditOutcome.SUCCESS) == 1


def test_a_read_is_logged_also_when_rendering_fails_after_it(app_with):
    client = _app_with_probe_routes(app_with).test_client()
    assert client.get("/__tx/explodes").status_code == 500
    assert _users("explodes") == 0
    assert _audit(AuditOutcome.SUCCESS) == 1
    assert audit.verify_chain() is None  # the rewritten row is chained like any other


def test_a_refusal_lands_in_its_own_transaction_and_nothing_else_does(app_with):
    client = _app_with_probe_routes(app_with).test_client()
    assert client.get("/__tx/denied").status_code == 404
    assert _users("denied") == 0
    assert _audit(AuditOutcome.DENIED) == 1
    assert client.get("/__tx/missing").status_code == 404
    assert _users("missing") == 0


def test_reads_committed_with_the_request_are_not_written_twice(app_with):
    other = app_with()
    make_user("reader@transaction.example")

    @other.route("/__tx/read")
    def read():
        audit.record("patient.viewed", AuditAction.READ, patient_id=PATIENT_ID)
        return "shown"

    assert other.test_client().get("/__tx/read").status_code == 200
    assert _audit(AuditOutcome.SUCCESS) == 1
