"""Configuration classes per environment; values come from the environment, checked in create_app."""
from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent


def _flag(name: str, default: bool) -> bool:
    """An on/off environment variable (1/true/yes/on), *default* when unset."""
    value = os.environ.get(name)
    return default if value is None else value.strip().lower() in ("1", "true", "yes", "on")


class Config:
    APP_ENV = "production"
    # FHIR Subscriptions notify https:// endpoints only; development and the tests also allow http://localhost.
    FHIR_HOOKS_ALLOW_LOCAL_HTTP = False
    SECRET_KEY = os.environ.get("SECRET_KEY")
    SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL")
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    DB_PING_AFTER_IDLE_SECONDS = 10  # app.core.db.ping_after_idle: no ping round trip on a busy connection
    REDIS_URL = os.environ.get("REDIS_URL") or None
    MAIL_URL = os.environ.get("MAIL_URL", "smtp://localhost:25")
    MAIL_SENDER = os.environ.get("MAIL_SENDER", "Netwerkzorg <no-reply@netwerkzorg.nl>")
    BASE_URL = os.environ.get("BASE_URL", "http://localhost:5000")
    LANGUAGES = ("nl", "en")
    BABEL_DEFAULT_LOCALE = "nl"
    BABEL_DEFAULT_TIMEZONE = "Europe/Amsterdam"
    BABEL_TRANSLATION_DIRECTORIES = str(BASE_DIR / "translations")

    SESSION_COOKIE_NAME = "nz_session"
    SESSION_COOKIE_SECURE = True
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_IDLE_TIMEOUT = timedelta(minutes=30)
    SESSION_ABSOLUTE_TIMEOUT = timedelta(hours=12)
    PERMANENT_SESSION_LIFETIME = timedelta(hours=12)
    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the (server-side bounded) session
    MAX_CONTENT_LENGTH = 12 * 1024 * 1024

    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI") or REDIS_URL or "memory://"
    RATELIMIT_HEADERS_ENABLED = False
    LOGIN_LIMIT_PER_IP = "30 per 15 minutes"
    LOGIN_LIMIT_PER_ACCOUNT = "10 per 15 minutes"
    MFA_LIMIT = "10 per 15 minutes"

    INVITE_TOKEN_TTL = timedelta(days=7)
    RESET_TOKEN_TTL = timedelta(hours=1)
    VERIFY_TOKEN_TTL = timedelta(hours=48)  # email verification after GP self-registration
    REGISTRATION_LIMIT_PER_IP = "10 per hour"
    VERIFY_RESEND_LIMIT = "3 per hour"
    # NEN 7513: the audit log is kept at least 5 years; older rows are purged daily behind a sealed checkpoint
    # (app.core.audit_integrity). A value under 5 refuses to start.
    AUDIT_RETENTION_YEARS = int(os.environ.get("AUDIT_RETENTION_YEARS", "5"))
    # How long a closed case (and everything of its patient) is kept: the WGBO's medical-records term
    # (art. 7:454 BW, 20 years). Nothing in the UI deletes a case; before this term, a patient's data is
    # only removed by the platform admin's erase procedure (/admin/patients/wissen) for a legal request.
    CASE_RETENTION_YEARS = int(os.environ.get("CASE_RETENTION_YEARS", "20"))
    DEMO_MFA_BYPASS = False  # only ever True in development, see DevelopmentConfig
    HSTS = True
    JOB_QUEUE_NAME = "netwerkzorg"
    # Number of reverse proxies in front of the app whose X-Forwarded-* headers are trusted (0: none).
    PROXY_FIX_HOPS = int(os.environ.get("PROXY_FIX_HOPS", "0"))
    UPLOAD_DIR = os.environ.get("UPLOAD_DIR") or str(BASE_DIR / "instance" / "uploads")
    JOB_RETRY_INTERVALS = (10, 60, 300)  # seconds between RQ retries of a failed job
    # A mail about a change waits this long for the recipient's next changes, then they go out as one mail.
    MAIL_DIGEST_SECONDS = int(os.environ.get("MAIL_DIGEST_SECONDS", "180"))
    # Run the periodic jobs (app/schedule.py) in a thread of `flask run` instead of `flask scheduler`.
    IN_PROCESS_SCHEDULER = _flag("IN_PROCESS_SCHEDULER", False)

    @classmethod
    def check(cls) -> None:
        missing = [key for key in ("SECRET_KEY", "SQLALCHEMY_DATABASE_URI") if not getattr(cls, key)]
        if missing:
            raise RuntimeError(f"missing configuration: {', '.join(missing)}")
        if cls.AUDIT_RETENTION_YEARS < 5:
            raise RuntimeError("AUDIT_RETENTION_YEARS must be at least 5 (NEN 7513)")


class ProductionConfig(Config):
    @classmethod
    def check(cls) -> None:
        super().check()
        if str(cls.SQLALCHEMY_DATABASE_URI).startswith("sqlite"):
            raise RuntimeError("production refuses to run on SQLite: set DATABASE_URL to PostgreSQL")
        if os.environ.get("FLASK_DEBUG") in ("1", "true"):
            raise RuntimeError("production refuses to run with DEBUG on")


class DevelopmentConfig(Config):
    APP_ENV = "development"
    FHIR_HOOKS_ALLOW_LOCAL_HTTP = True  # a Subscription may notify http://localhost (a local test receiver)
    SECRET_KEY = os.environ.get("SECRET_KEY") or "dev-only-not-secret"
    SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'instance' / 'netwerkzorg.db'}"
    SESSION_COOKIE_SECURE = False
    MAIL_URL = os.environ.get("MAIL_URL", "")  # empty: mail is kept in the local outbox page only
    DEMO_MFA_BYPASS = True
    HSTS = False
    # Without Redis there is no `flask scheduler`: `flask run` runs the schedule itself, so a demo sends
    # its reminders too.
    IN_PROCESS_SCHEDULER = _flag("IN_PROCESS_SCHEDULER", Config.REDIS_URL is None)


class TestingConfig(Config):
    APP_ENV = "testing"
    TESTING = True
    FHIR_HOOKS_ALLOW_LOCAL_HTTP = True
    SECRET_KEY = "test-secret"  # noqa: S105 - tests only
    SQLALCHEMY_DATABASE_URI = os.environ.get("TEST_DATABASE_URL") or "sqlite:///:memory:"
    SESSION_COOKIE_SECURE = False
    REDIS_URL = os.environ.get("TEST_REDIS_URL") or None
    RATELIMIT_STORAGE_URI = "memory://"
    MAIL_URL = os.environ.get("TEST_MAIL_URL", "")
    HSTS = False
    JOB_QUEUE_NAME = "netwerkzorg-test"
    MAIL_DIGEST_SECONDS = 0  # mail at once; tests of the digest switch it on (tests/test_mail_digest.py)
    IN_PROCESS_SCHEDULER = False  # a test starts one itself when it needs it


CONFIGS: dict[str, type[Config]] = {
    "production": ProductionConfig,
    "development": DevelopmentConfig,
    "testing": TestingConfig,
}


def config_for(name: str) -> type[Config]:
    try:
        return CONFIGS[name]
    except KeyError:
        raise RuntimeError(f"unknown APP_ENV {name!r}; use one of {', '.join(CONFIGS)}") from None
