"""Calendar arithmetic shared by features (meetings, reminders, the self-check)."""
from __future__ import annotations

import calendar
from datetime import UTC, date, datetime
from typing import TypeVar
from zoneinfo import ZoneInfo

from babel.dates import format_date as babel_format_date
from flask_babel import format_date, format_datetime, get_locale, get_timezone

from app.core.db import utcnow
from app.core.i18n import babel_context

NETWORK_TZ = ZoneInfo("Europe/Amsterdam")

# One date and one date-time format per language, the same pattern in both ("4 dec 2026, 14:02" /
# "4 Dec 2026, 14:02"): Babel's "short" and "medium" give US forms for "en" and mix two forms in Dutch.
DATE_PATTERN = "d MMM y"
DATETIME_PATTERN = "d MMM y, HH:mm"


_MONTHS: dict = {}


def _month_names(locale) -> list[str]:
    """The twelve abbreviated month names of *locale* as Babel writes them in DATE_PATTERN (once per locale)."""
    names = _MONTHS.get(locale)
    if names is None:
        names = _MONTHS[locale] = [babel_format_date(date(2000, month, 1), "MMM", locale=locale)
                                   for month in range(1, 13)]
    return names


def _reader_locale():
    """get_locale(), read from the request's Babel context once Flask-Babel has chosen it (force_locale sets the
    same attribute): a list page formats fifty dates."""
    locale = getattr(babel_context(), "babel_locale", None)
    return locale if locale is not None else get_locale()


def _reader_timezone():
    """get_timezone(), the same way."""
    zone = getattr(babel_context(), "babel_tzinfo", None)
    return zone if zone is not None else get_timezone()


def show_date(value: date | None) -> str:
    """*value* as the reader's language writes a date; "" for none. DATE_PATTERN written out by hand: Babel's
    pattern machinery costs 10-20 µs a date, and a list page shows fifty (tests/test_dates.py holds the two equal)."""
    if not value:
        return ""
    locale = _reader_locale()
    if locale is None:
        return format_date(value, DATE_PATTERN)
    return f"{value.day} {_month_names(locale)[value.month - 1]} {value.year}"


def show_datetime(value: datetime | None) -> str:
    """*value* in the reader's time zone and language, to the minute; "" for none (DATETIME_PATTERN, as
    show_date)."""
    if not value:
        return ""
    locale = _reader_locale()
    if locale is None:
        return format_datetime(value, DATETIME_PATTERN)
    local = (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(_reader_timezone())
    return (f"{local.day} {_month_names(locale)[local.month - 1]} {local.year}, "
            f"{local.hour:02d}:{local.minute:02d}")

_D = TypeVar("_D", bound=date)  # a date or a datetime; the type is kept


def shift_months(value: _D, months: int) -> _D:
    """*value* moved by whole calendar months; the day is clamped (31 March - 1 month = 28/29 Feb)."""
    index = value.year * 12 + value.month - 1 + months
    year, month = divmod(index, 12)
    day = min(value.day, calendar.monthrange(year, month + 1)[1])
    return value.replace(year=year, month=month + 1, day=day)


def local_today(now: datetime | None = None) -> date:
    """Today in the networks' zone: a server in UTC would otherwise be a day off around midnight."""
    return (now or utcnow()).astimezone(NETWORK_TZ).date()
