"""Locale choice: the user's preference, then the browser's Accept-Language, then Dutch."""
from __future__ import annotations

from flask import current_app, has_request_context, request, session
from flask.globals import _cv_app
from flask_babel import Domain, get_locale, get_translations
from flask_login import current_user


def select_locale() -> str | None:
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():  # a job or CLI command: callers choose with force_locale
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    if current_user and current_user.is_authenticated and current_user.locale in languages:
        return current_user.locale
    if session.get("locale") in languages:
        return session["locale"]
    return request.accept_languages.best_match(languages) or current_app.config["BABEL_DEFAULT_LOCALE"]


def current_locale() -> str:
    return str(get_locale() or "nl")


def babel_context():
    """Flask-Babel's per-request namespace (where it keeps the chosen locale and time zone, and force_locale sets
    its own), read straight from the app context: Flask-Babel's own lookup goes through half a dozen context
    proxies on every call. None outside an app context or before Flask-Babel first made it."""
    app_context = _cv_app.get(None)
    return app_context.g.__dict__.get("_flask_babel") if app_context is not None else None


def current_translations(load=get_translations):
    """The catalogue of the current locale. Flask-Babel finds it through half a dozen context proxies on every
    string (a page shows a hundred or more); this reads the locale Flask-Babel chose for the request (or that
    force_locale set) from babel_context() and keeps its catalogue there. Flask-Babel's own lookup (*load*,
    cached per process by its domain) runs once per request and locale."""
    context = babel_context()
    locale = getattr(context, "babel_locale", None)
    if locale is not None:
        # Kept on the request's own Babel context with the locale object it belongs to: force_locale sets a new
        # object, so a forced language finds its own catalogue (comparing Locale objects is slow).
        kept = context.__dict__.get("netwerkzorg_catalogue")
        if kept is not None and kept[0] is locale:
            return kept[1]
        catalogue = load()
        context.netwerkzorg_catalogue = (locale, catalogue)
        return catalogue
    return load()  # no locale chosen yet: Flask-Babel chooses it (and we find it next time)


def kept_text(key, lazy) -> str:
    """str(*lazy)*, kept under *key* for the rest of the request in its language (as current_translations keeps the
    catalogue: on the request's Babel context, with the locale object it belongs to). For the labels of fixed
    vocabularies (a referral status, a form's choices) that a list page shows in every row. *key* names the label
    for good (a constant's name and code), never an object that may be gone."""
    context = babel_context()
    locale = getattr(context, "babel_locale", None)
    if locale is None:
        return str(lazy)
    kept = context.__dict__.get("netwerkzorg_texts")
    if kept is None or kept[0] is not locale:
        kept = context.netwerkzorg_texts = (locale, {})
    text = kept[1].get(key)
    if text is None:
        text = kept[1][key] = str(lazy)
    return text


class _FastDomain(Domain):
    """Flask-Babel's message domain, finding its catalogue through current_translations() (gettext() and the
    lazy labels in Python code)."""

    def get_translations(self):
        return current_translations(super().get_translations)


def install_fast_gettext(app, babel) -> None:
    """The templates' _(), ngettext() and pgettext(), and Python's gettext(), through current_translations()."""
    # Replaces Flask-Babel's cached property (the Babel object is shared by every app of the process).
    babel.domain_instance = _FastDomain(domain=app.extensions["babel"].default_domain)
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: current_translations().ugettext(s),
        ngettext=lambda s, p, n: current_translations().ungettext(s, p, n),
        pgettext=lambda c, s: current_translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: current_translations().unpgettext(c, s, p, n),
        newstyle=True)
