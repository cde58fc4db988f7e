"""Template globals and filters: locale, membership, the demo banner, date formatting."""
from __future__ import annotations

from flask import Flask, g

from app.core.dates import show_date, show_datetime
from app.core.i18n import current_locale
from app.core.security import mfa_bypassed


def register_templating(app: Flask) -> None:
    app.jinja_env.filters["datetime"] = show_datetime
    app.jinja_env.filters["date"] = show_date

    @app.context_processor
    def _globals():
        return {
            "current_locale": current_locale(),
            "membership": g.get("membership"),
            "network": g.get("network"),
            "demo_mfa_bypass": mfa_bypassed(),
            "app_env": app.config["APP_ENV"],
        }
