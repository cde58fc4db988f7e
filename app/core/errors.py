"""Error pages: generic, translated, with an error id for 500s and no traces."""
from __future__ import annotations

import logging
import secrets

from flask import Flask, abort, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from app.extensions import db

log = logging.getLogger(__name__)


def register_error_handlers(app: Flask) -> None:
    @app.before_request
    def _refuse_nul_bytes():
        # PostgreSQL text cannot hold a NUL byte: refuse such input here (400), not in the database (500).
        for source in (request.args, request.form):
            for key, value in source.items(multi=True):
                if "\x00" in key or "\x00" in value:
                    abort(400)

    @app.errorhandler(CSRFError)
    def _csrf(error):
        return render_template("errors/error.html", code=400, kind="csrf"), 400

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException):
        if error.code in (301, 302, 303, 307, 308):
            return error
        return render_template("errors/error.html", code=error.code, kind="http"), error.code

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        db.session.rollback()
        error_id = secrets.token_hex(6)
        log.exception("unhandled error %s", error_id)
        return render_template("errors/error.html", code=500, kind="server", error_id=error_id), 500

    @app.teardown_request
    def _rollback_on_error(exc):
        if exc is not None:
            db.session.rollback()
