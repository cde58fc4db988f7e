"""One commit per request: views and services change the session, the request boundary commits.

A response below 400 commits; any other answer (a refused form, a 404, a 500) rolls back, so a half-done
change never lands. Two kinds of rows must land anyway:
- a refused access: `audit.deny` writes it in its own transaction before the 404;
- a read of patient data that was audit-logged before the request failed (NEN 7513: the data was read,
  even if the page never rendered): `audit.record` remembers each read of the request, and when the
  request rolls back they are written again in a transaction of their own.

After the commit the outbox rows of the request go to the queue (app/core/jobs.py, `after_commit`).
"""
from __future__ import annotations

from flask import Flask, g

from app.core import audit
from app.extensions import db


def finish_request(status_code: int) -> None:
    """Commit the request's work, or roll it back and keep only the reads it audit-logged."""
    if status_code < 400:
        db.session.commit()
        return
    reads = g.pop("uncommitted_audit_reads", [])
    db.session.rollback()
    if reads:
        for fields in reads:
            audit.write_row(fields)
        db.session.commit()


def register_transaction(app: Flask) -> None:
    """Register last, so that it runs first among the after_request functions (Flask runs them in reverse):
    the commit happens before the inline jobs and before the response headers are set."""

    @app.after_request
    def _commit_or_roll_back(response):
        finish_request(response.status_code)
        return response
