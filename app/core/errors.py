"""Error pages: generic, translated, with an error id for 500s and no traces."""
from __future__ import annotations

import logging
import secrets

from flask import Flask, abort, current_app, render_template, request
from flask_babel import force_locale
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError, OperationalError, PendingRollbackError
from werkzeug.exceptions import HTTPException

from app.core.security import set_security_headers
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

    # The database can fail anywhere, also in the after_request functions (the commit, the session
    # lookup for the headers), which Flask's error handlers do not see: answer those 503 here too.
    handle_exception = app.handle_exception

    def _handle_exception(error: Exception):
        if _database_unavailable(error):
            return _unavailable_page(error)
        return handle_exception(error)

    app.handle_exception = _handle_exception

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        if _database_unavailable(error):
            raise error  # to _handle_exception: the after_request functions would read the database again
        db.session.rollback()
        error_id = secrets.token_hex(6)
        log.exception("unhandled error %s", error_id)
        return render_template("errors/error.html", code=500, kind="server", error_id=error_id), 500

    @app.teardown_request
    def _rollback_on_error(exc):
        if exc is not None:
            try:
                db.session.rollback()
            except DBAPIError as error:  # the connection is gone: _remove_session below drops the session
                log.warning("rollback without a database (%s)", type(error).__name__)


def replace_session_teardown(app: Flask) -> None:
    """Flask-SQLAlchemy's teardown closes the session, which rolls back on its connection. When the
    server ended that connection (a restart, a shutdown) the rollback raises after the response is
    made, and the WSGI server answers 500. Here the session is dropped all the same, and the pool
    (invalidated by the failed statement, or by ping_after_idle) replaces the dead connection on the next checkout."""
    def _remove_session(exc: BaseException | None) -> None:
        try:
            db.session.remove()
        except DBAPIError as error:
            log.warning("session closed without a database (%s)", type(error).__name__)
            db.session.registry.clear()

    funcs = app.teardown_appcontext_funcs
    funcs[:] = [_remove_session if func == db._teardown_session else func for func in funcs]
    if _remove_session not in funcs:
        raise RuntimeError("Flask-SQLAlchemy's session teardown was not found: call this after db.init_app")


def _database_unavailable(error: Exception) -> bool:
    """The database is down, restarting or (SQLite) locked: the request may succeed if tried again.

    PendingRollbackError is what the session raises next when a part of the page (the badge count)
    caught the failed statement and went on."""
    return (isinstance(error, OperationalError | PendingRollbackError)
            or (isinstance(error, DBAPIError) and error.connection_invalidated))


def _unavailable_page(error: Exception):
    """A 503 that needs no database: no session user, no network, the language from the browser only.

    The pool (invalidation on a disconnect, ping_after_idle) replaces dead connections, so the app recovers by
    itself once the database is back; the page says to try again in a moment.
    """
    try:
        db.session.rollback()
        db.session.remove()
    except Exception as cleanup_error:  # the connection is gone: the pool invalidates it
        log.debug("session cleanup without a database: %s", type(cleanup_error).__name__)
    # The class only: a driver's message names the host and port of the database.
    log.warning("database unavailable (%s): answered 503", type(error).__name__)
    locale = request.accept_languages.best_match(["nl", "en"]) or "nl"
    with force_locale(locale):
        # Straight from the Jinja environment: render_template would run the context processors,
        # which read the signed-in user from the database.
        body = current_app.jinja_env.get_template("errors/unavailable.html").render(locale=locale, request=request)
    response = current_app.response_class(body, 503, {"Retry-After": "10", "Cache-Control": "no-store"})
    set_security_headers(response.headers, hsts=bool(current_app.config.get("HSTS")))
    return response
