"""Netwerkzorg: create_app() and the register_* steps; nothing runs at import."""
from __future__ import annotations

import os

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine

from config import Config, config_for


def create_app(config_class: type[Config] | None = None) -> Flask:
    config_class = config_class or config_for(os.environ.get("APP_ENV", "production"))
    config_class.check()
    app = Flask(__name__, instance_relative_config=False)
    app.config.from_object(config_class)
    from app.core.bounded import BoundedIntConverter
    app.url_map.converters["int"] = BoundedIntConverter  # before any route: an id too large is a 404
    if app.config["PROXY_FIX_HOPS"]:
        # Behind a proxy the client address (audit log, per-IP throttling) comes from X-Forwarded-For.
        from werkzeug.middleware.proxy_fix import ProxyFix
        hops = app.config["PROXY_FIX_HOPS"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    register_extensions(app)
    register_request_hooks(app)
    register_blueprints(app)
    from app.core.errors import register_error_handlers, replace_session_teardown
    register_error_handlers(app)
    replace_session_teardown(app)  # after db.init_app (register_extensions)
    from app.cli import register_cli
    register_cli(app)
    from app.schedule import register_scheduler
    register_scheduler(app)  # only in `flask run`, when IN_PROCESS_SCHEDULER is on
    from app.core.transaction import register_transaction
    register_transaction(app)  # last: its after_request runs first
    return app


def register_extensions(app: Flask) -> None:
    from app import models  # noqa: F401 - every mapper known before first use
    from app.core.i18n import install_fast_gettext, select_locale
    from app.extensions import babel, csrf, db, limiter, login_manager, migrate

    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        os.makedirs(os.path.join(app.root_path, "..", "instance"), exist_ok=True)
    db.init_app(app)
    from app.core.db import ping_after_idle
    with app.app_context():
        ping_after_idle(db.engine, app.config["DB_PING_AFTER_IDLE_SECONDS"])
    migrate.init_app(app, db, directory=os.path.join(app.root_path, "..", "migrations"),
                     render_as_batch=True, compare_type=True)
    login_manager.init_app(app)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    install_fast_gettext(app, babel)
    limiter.init_app(app)


def register_request_hooks(app: Flask) -> None:
    # Core imports no feature: the lookups it needs and the worker's app factory are handed in here.
    from app.core import mail  # noqa: F401 - registers the mail job handler
    from app.core.jobs import register_jobs
    from app.core.security import register_security
    from app.core.templating import register_templating
    from app.core.tenancy import register_tenancy

    register_tenancy(app, load_network=_network_and_session)
    register_security(app, load_membership=_membership_and_badge)
    register_jobs(app, app_factory=create_app)
    register_templating(app)


def _network_and_session(slug: str):
    """The URL's network for the tenancy processor; the signed-in session comes in the same statement and is
    handed to the session loader (which checks it as always). An unknown slug reads the session on its own later."""
    from app.core.security import preload_session
    from app.networks.services.memberships import network_and_session_by_slug

    network, user_session = network_and_session_by_slug(slug)
    if network is not None:
        preload_session(user_session)
    return network


def _membership_and_badge(network_id: int, user_id: int):
    """The gate's membership lookup; on a GET it reads the coordinator's badge count (new referrals) in the same
    statement. A POST may change that count before its page renders: there the badge counts on first use."""
    from flask import g, request

    from app.networks.services.memberships import active_membership, active_membership_with
    from app.referrals.services import new_referral_count_for_coordinator

    if request.method not in ("GET", "HEAD"):
        return active_membership(network_id, user_id)
    membership, count = active_membership_with(network_id, user_id, new_referral_count_for_coordinator)
    if membership is not None and count is not None:
        g.new_referral_count = int(count)
    return membership


def register_blueprints(app: Flask) -> None:
    from app.admin import bp as admin_bp
    from app.auth import bp as auth_bp
    from app.cases import bp as cases_bp
    from app.directory import bp as directory_bp
    from app.fhir import bp as fhir_bp
    from app.fhir.oauth import register_oauth
    from app.fhir.systems_views import bp as systems_bp
    from app.gp_portal import bp as gp_portal_bp
    from app.help import bp as help_bp
    from app.help.views import register_help
    from app.main import bp as main_bp
    from app.meetings import bp as meetings_bp
    from app.networks import bp as networks_bp
    from app.norms import bp as norms_bp
    from app.palliative import bp as palliative_bp
    from app.patient_portal import bp as patient_portal_bp
    from app.patient_portal import network_bp as portal_network_bp
    from app.patients import bp as patients_bp
    from app.quality import bp as quality_bp
    from app.referrals import bp as referrals_bp

    app.register_blueprint(main_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(directory_bp)
    app.register_blueprint(help_bp)
    register_help(app)  # the help link of the page header
    app.register_blueprint(fhir_bp, url_prefix="/fhir/R4")
    register_oauth(app)
    app.register_blueprint(admin_bp, url_prefix="/admin")
    app.register_blueprint(gp_portal_bp, url_prefix="/verwijzer")
    app.register_blueprint(networks_bp, url_prefix="/n/<network_slug>")
    app.register_blueprint(patients_bp, url_prefix="/n/<network_slug>/patients")
    app.register_blueprint(quality_bp, url_prefix="/n/<network_slug>/quality")
    app.register_blueprint(meetings_bp, url_prefix="/n/<network_slug>/meetings")
    app.register_blueprint(referrals_bp, url_prefix="/n/<network_slug>/referrals")
    app.register_blueprint(cases_bp, url_prefix="/n/<network_slug>/cases")
    app.register_blueprint(palliative_bp, url_prefix="/n/<network_slug>")
    app.register_blueprint(norms_bp, url_prefix="/n/<network_slug>/normen")
    app.register_blueprint(systems_bp, url_prefix="/n/<network_slug>/koppelingen")
    app.register_blueprint(patient_portal_bp, url_prefix="/mijn")
    app.register_blueprint(portal_network_bp, url_prefix="/n/<network_slug>/portaal")


@event.listens_for(Engine, "connect")
def _sqlite_foreign_keys(dbapi_connection, connection_record):
    # SQLite ignores foreign keys unless told so on every connection.
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        # The embedded default serves several users at once: readers never block the one writer (WAL), and a
        # writer waits for the lock instead of failing with "database is locked" (busy timeout, 30 s).
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()
