"""Template globals and filters: locale, membership, the demo banner, date formatting."""
from __future__ import annotations

from flask import Flask, current_app, g, request
from flask_login import current_user
from jinja2 import pass_context
from markupsafe import Markup, escape

from app.core.dates import show_date, show_datetime
from app.core.i18n import current_locale
from app.core.security import mfa_bypassed

# Stand-ins rendered into the kept menu, replaced on every page (private-use characters: never escaped, never
# in a translation or a URL).
_BADGE = "\ue000badge\ue000"
_CSRF = "\ue000csrf\ue000"
NAV_CACHE_SIZE = 4096


def _nav_key(context) -> tuple:
    """Everything _nav_items.html reads: the language, the page (its endpoint and blueprint: aria-current), who is
    signed in as what, in which network (the slug is in its links), and whether the patient portal is shown."""
    signed_in = current_user.is_authenticated
    network, membership = g.get("network"), g.get("membership")
    gp = signed_in and current_user.gp_profile is not None
    portal = request.blueprint == "patient_portal" or bool(
        signed_in and membership is None and not gp and context.get("has_portal_account", lambda: False)())
    in_network = network is not None and membership is not None
    return (current_locale(), request.endpoint, request.blueprint, signed_in,
            (network.slug, network.name) if in_network else None, membership.role.value if in_network else None,
            gp, signed_in and current_user.is_platform_admin, portal)


@pass_context
def nav_items(context) -> Markup:
    """The main menu's items. Rendered once per key and kept per process (some fifty links, labels and macro calls:
    a tenth of a list page's time), except in development, where templates change; the page's own badge count
    and CSRF token go in afterwards."""
    environment = context.environment
    keep = not (current_app.debug or environment.auto_reload)
    cache = current_app.extensions.setdefault("nav_items_cache", {})
    key = _nav_key(context) if keep else None
    html = cache.get(key) if keep else None
    if html is None:
        html = environment.get_template("_nav_items.html").render(
            {**context.get_all(), "nav_badge": _BADGE, "nav_csrf": _CSRF})
        if keep:
            if len(cache) >= NAV_CACHE_SIZE:
                cache.clear()
            cache[key] = html
    if _BADGE in html:
        html = html.replace(_BADGE, environment.get_template("referrals/_badge.html").render(context.get_all()))
    if _CSRF in html:
        html = html.replace(_CSRF, str(escape(context["csrf_token"]())))
    return Markup(html)  # noqa: S704 - rendered by the autoescaped templates; the token is escaped above


def register_templating(app: Flask) -> None:
    app.jinja_env.filters["datetime"] = show_datetime
    app.jinja_env.filters["date"] = show_date
    app.jinja_env.globals["nav_items"] = nav_items

    @app.context_processor
    def _globals():
        return {
            "current_locale": current_locale(),
            "membership": g.get("membership"),
            "network": g.get("network"),
            "demo_mfa_bypass": mfa_bypassed(),
            "app_env": app.config["APP_ENV"],
        }
