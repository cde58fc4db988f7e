"""Translations: complete catalogues, Dutch by default, and the locale choice order
(saved preference, then the switch, then Accept-Language, then Dutch)."""
from __future__ import annotations

import re
from datetime import UTC
from pathlib import Path

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from sqlalchemy import select

from app.auth.models import User
from app.extensions import db
from tests.conftest import login_as, make_user

TRANSLATIONS = Path(__file__).resolve().parent.parent / "translations"
LOCALES = ("nl", "en")


def _catalog(locale: str):
    with open(TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po", "rb") as handle:
        return read_po(handle, locale=locale)


@pytest.mark.parametrize("locale", LOCALES)
def test_catalogue_is_complete_and_not_fuzzy(locale):
    catalog = _catalog(locale)
    problems = []
    for message in catalog:
        if not message.id:  # the header
            continue
        if message.fuzzy:
            problems.append(f"fuzzy: {message.id!r}")
        if message.pluralizable:
            forms = message.string if isinstance(message.string, tuple | list) else (message.string,)
            if len(forms) != catalog.num_plurals or not all(forms):
                problems.append(f"plural forms missing: {message.id!r}")
        elif not message.string:
            problems.append(f"untranslated: {message.id!r}")
    assert len(catalog) > 1, "the catalogue is empty"
    assert problems == [], f"{len(problems)} problem(s) in the {locale} catalogue:\n" + "\n".join(problems)


# --- rendering ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def compiled_translations(tmp_path_factory):
    """Compile the .po files as they are now: the rendering tests do not depend on a stale .mo."""
    directory = tmp_path_factory.mktemp("translations")
    for locale in LOCALES:
        target = directory / locale / "LC_MESSAGES"
        target.mkdir(parents=True)
        with open(target / "messages.mo", "wb") as handle:
            write_mo(handle, _catalog(locale))
    return str(directory)


@pytest.fixture
def i18n_client(app_with, compiled_translations):
    return app_with(BABEL_TRANSLATION_DIRECTORIES=compiled_translations).test_client()


def _text(locale: str, msgid: str) -> str:
    return _catalog(locale)[msgid].string


def _language(response) -> str:
    match = re.search(r'<html lang="([^"]*)"', response.get_data(as_text=True))
    assert match, "no <html lang=...> on the page"
    return match.group(1)


def _assert_renders(response, locale: str) -> None:
    assert response.status_code == 200
    assert _language(response) == locale
    html = response.get_data(as_text=True)
    assert _text(locale, "Skip to content") in html
    other = "en" if locale == "nl" else "nl"
    assert _text(other, "Skip to content") not in html


def test_catalogues_translate_the_checked_strings():
    # The rendering tests tell the languages apart by this string; it must differ.
    assert _text("nl", "Skip to content") != _text("en", "Skip to content")


def test_dutch_is_the_default(i18n_client):
    _assert_renders(i18n_client.get("/"), "nl")
    _assert_renders(i18n_client.get("/login"), "nl")


def test_unsupported_accept_language_falls_back_to_dutch(i18n_client):
    _assert_renders(i18n_client.get("/", headers={"Accept-Language": "de-DE,fr;q=0.8"}), "nl")


def test_accept_language_english(i18n_client):
    response = i18n_client.get("/", headers={"Accept-Language": "en-GB,en;q=0.9"})
    _assert_renders(response, "en")
    assert _text("en", "Sign in") in response.get_data(as_text=True)


@pytest.mark.parametrize(("saved", "browser"), [("en", "nl"), ("nl", "en")])
def test_saved_locale_wins_over_accept_language(i18n_client, saved, browser):
    user = make_user(f"{saved}@example.nl", locale=saved)
    login_as(i18n_client, user)
    _assert_renders(i18n_client.get("/", headers={"Accept-Language": browser}), saved)


def test_locale_switch_anonymous(i18n_client):
    response = i18n_client.post("/locale", data={"locale": "en", "next": "/login"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/login")
    _assert_renders(i18n_client.get("/login", headers={"Accept-Language": "nl"}), "en")
    i18n_client.post("/locale", data={"locale": "nl"})
    _assert_renders(i18n_client.get("/", headers={"Accept-Language": "en"}), "nl")


def test_locale_switch_is_saved_for_a_signed_in_user(i18n_client):
    user = make_user("switch@example.nl", locale="nl")
    login_as(i18n_client, user)
    assert i18n_client.post("/locale", data={"locale": "en"}).status_code == 302
    _assert_renders(i18n_client.get("/", headers={"Accept-Language": "nl"}), "en")
    db.session.rollback()
    assert db.session.scalar(select(User.locale).where(User.id == user.id)) == "en"


def test_locale_switch_ignores_unknown_locales(i18n_client):
    i18n_client.post("/locale", data={"locale": "xx"})
    _assert_renders(i18n_client.get("/"), "nl")


def test_every_string_in_the_code_is_in_both_catalogues(tmp_path):
    """A new _() string that nobody extracted and translated fails here, not in front of a user."""
    import subprocess
    import sys

    from babel.messages.pofile import read_po

    root = Path(__file__).resolve().parents[1]
    pot = tmp_path / "messages.pot"
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg", "-k", "_l",
                    "--no-location", "-o", str(pot), "."], cwd=root, check=True, capture_output=True)
    with pot.open("rb") as handle:
        wanted = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(handle) if m.id}
    for locale in ("nl", "en"):
        with (root / "translations" / locale / "LC_MESSAGES" / "messages.po").open("rb") as handle:
            present = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(handle) if m.id}
        missing = sorted(wanted - present)
        assert not missing, f"{locale}: run `flask translate update` and translate: {missing[:10]}"


@pytest.mark.parametrize("locale, moment, day", [("nl", "4 dec 2026, 15:02", "4 dec 2026"),
                                                 ("en", "4 Dec 2026, 15:02", "4 Dec 2026")])
def test_one_date_and_time_format_per_language_in_the_network_time_zone(app, locale, moment, day):
    from datetime import date, datetime

    from flask_babel import force_locale

    from app.core.dates import show_date, show_datetime

    with app.test_request_context(), force_locale(locale):
        assert show_datetime(datetime(2026, 12, 4, 14, 2, tzinfo=UTC)) == moment  # CET is UTC+1
        assert show_date(date(2026, 12, 4)) == day
        assert show_date(None) == show_datetime(None) == ""


@pytest.mark.parametrize("locale", ["nl", "en"])
def test_the_hand_written_formats_equal_babels_pattern(app, locale):
    """show_date and show_datetime write DATE_PATTERN and DATETIME_PATTERN by hand (for speed): every month,
    both sides of both daylight-saving changes, midnight, a naive value (read as UTC) and a one-digit day
    come out as Babel writes them."""
    from datetime import date, datetime, timedelta

    from flask_babel import force_locale, format_date, format_datetime

    from app.core.dates import DATE_PATTERN, DATETIME_PATTERN, show_date, show_datetime

    moments = [datetime(2026, month, day, hour, 7, tzinfo=UTC) for month in range(1, 13) for day in (1, 28)
               for hour in (0, 23)]
    moments += [datetime(2026, 3, 29, 0, 59, tzinfo=UTC) + timedelta(minutes=m) for m in (0, 1, 2)]
    moments += [datetime(2026, 10, 25, 0, 59, tzinfo=UTC) + timedelta(minutes=m) for m in (0, 1, 2)]
    moments.append(datetime(2026, 12, 31, 23, 30))  # naive: UTC, so already 1 January in Amsterdam
    with app.test_request_context(), force_locale(locale):
        for moment in moments:
            assert show_datetime(moment) == format_datetime(moment, DATETIME_PATTERN), moment
            assert show_date(moment.date()) == format_date(moment.date(), DATE_PATTERN), moment
        assert show_date(date(9, 5, 3)) == format_date(date(9, 5, 3), DATE_PATTERN)


def test_the_catalogue_follows_force_locale_in_templates_and_code(app):
    """The catalogue is kept per locale for speed (app.core.i18n): a mail rendered with force_locale in another
    language than the request's still gets that language, in a template and in Python, and the request's
    language returns after it."""
    from flask import render_template_string
    from flask_babel import force_locale, gettext

    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert gettext("Cases") == "Cases"
        assert render_template_string("{{ _('Cases') }}") == "Cases"
        with force_locale("nl"):
            assert gettext("Cases") == "Casussen"
            assert render_template_string("{{ _('Cases') }}") == "Casussen"
        assert render_template_string("{{ _('Cases') }}") == "Cases"


def test_dutch_says_je_throughout_never_u():
    formal = re.compile(r"\b(u|uw|U|Uw)\b")
    offenders = []
    for message in _catalog("nl"):
        strings = message.string if isinstance(message.string, (tuple, list)) else (message.string,)
        offenders += [text for text in strings if message.id and text and formal.search(text)]
    assert offenders == []


def test_kept_labels_follow_the_language_of_the_moment(app):
    """A fixed vocabulary's label is kept per request and language (app.core.i18n.kept_text): a mail in another
    language with force_locale gets its own words, and the language before it returns after it."""
    from flask_babel import force_locale

    from app.referrals.display import label
    from app.referrals.models import ReferralStatus

    def words():
        return label("urgency", "urgent"), ReferralStatus.SUBMITTED.label

    with app.test_request_context(), force_locale("en"):
        english = words()
        with force_locale("nl"):
            dutch = words()
            assert words() == dutch
        assert words() == english
    assert english == ("Urgent (please also phone the network)", "Submitted")
    assert dutch == ("Spoed (bel ook het netwerk)", "Ingediend")
