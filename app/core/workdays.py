"""Working days for response norms: Monday to Friday, minus Dutch public holidays.

The holiday calendar is the `holidays` package's NL calendar (default "public" category); we do
not maintain our own list. With holidays 0.109 it contains:

- New Year's Day (1 January)
- Good Friday, Easter Sunday, Easter Monday
- King's Day: 27 April, or Saturday 26 April when the 27th is a Sunday (Queen's Day, 30 April
  or 29 April, before 2014)
- Liberation Day (5 May), only in lustrum years (2000, 2005, ... 2025, 2030)
- Ascension Day, Whit Sunday and Whit Monday (Pentecost)
- Christmas Day and the Second Day of Christmas (25 and 26 December)

Note that Good Friday and lustrum-year Liberation Day are not a day off for everyone in the
Netherlands (it depends on the collective labour agreement), but the library lists them, so
they do not count as working days here. Holidays falling on a weekend change nothing.

All datetimes must be timezone-aware; a naive datetime raises ValueError, because guessing its
zone would silently move deadlines by an hour or two. Calendar days are taken in the network's
local zone (Europe/Amsterdam by default); deadlines are returned in UTC.
"""
from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import cache
from zoneinfo import ZoneInfo

import holidays

DEFAULT_TZ = "Europe/Amsterdam"
COUNTRY = "NL"
END_OF_DAY = time.max  # 23:59:59.999999: a deadline is met up to and including this instant


@cache
def _holidays_for_year(year: int) -> dict[date, str]:
    """The NL public holidays of one year, built once per year (a plain dict, never expanded)."""
    return dict(holidays.country_holidays(COUNTRY, years=year))


def public_holiday(day: date) -> str | None:
    """The (English) name of the Dutch public holiday on `day`, or None."""
    _require_date(day)
    return _holidays_for_year(day.year).get(day)


def is_working_day(day: date) -> bool:
    """Monday to Friday and not a Dutch public holiday."""
    _require_date(day)
    return day.weekday() < 5 and day not in _holidays_for_year(day.year)


def add_working_days(start: datetime, days: int, tz: str | tzinfo = DEFAULT_TZ) -> datetime:
    """The deadline `days` working days after `start`: the end of that day in `tz`, in UTC.

    The start counts on its local calendar date. Something received on a weekend or holiday is
    treated as received on the next working day, so Friday 15:00 + 2 gives Tuesday 23:59:59.999999
    (local), and Saturday + 2 gives Wednesday. With days=0 the deadline is the end of the
    (effective) day of receipt.
    """
    _require_aware(start, "start")
    if isinstance(days, bool) or not isinstance(days, int):
        raise TypeError("days must be an int")
    if days < 0:
        raise ValueError("days must not be negative")
    zone = _zone(tz)
    day = _receipt_day(start, zone)
    for _ in range(days):
        day = _next_working_day(day + timedelta(days=1))
    return datetime.combine(day, END_OF_DAY, tzinfo=zone).astimezone(UTC)


def working_days_between(start: datetime, end: datetime, tz: str | tzinfo = DEFAULT_TZ) -> int:
    """The number of working days after `start`'s (effective) day of receipt, up to and including
    `end`'s local date; the inverse of add_working_days, so
    working_days_between(start, add_working_days(start, n)) == n. Same local day gives 0;
    `end` before `start` gives the negated count of the reverse.
    """
    _require_aware(start, "start")
    _require_aware(end, "end")
    if end < start:
        return -working_days_between(end, start, tz)
    zone = _zone(tz)
    day = _receipt_day(start, zone)
    last = end.astimezone(zone).date()
    count = 0
    while day < last:
        day += timedelta(days=1)
        if is_working_day(day):
            count += 1
    return count


def time_left(deadline: datetime, now: datetime) -> timedelta:
    """Time until the deadline; negative once it has passed (overdue)."""
    _require_aware(deadline, "deadline")
    _require_aware(now, "now")
    return deadline - now


def _receipt_day(moment: datetime, zone: tzinfo) -> date:
    return _next_working_day(moment.astimezone(zone).date())


def _next_working_day(day: date) -> date:
    """`day` itself when it is a working day, else the first working day after it."""
    while not is_working_day(day):
        day += timedelta(days=1)
    return day


def _zone(tz: str | tzinfo) -> tzinfo:
    return ZoneInfo(tz) if isinstance(tz, str) else tz


def _require_aware(value: datetime, name: str) -> None:
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")


def _require_date(day: date) -> None:
    # A datetime is a date too, but its calendar day depends on a timezone: make callers choose.
    if isinstance(day, datetime) or not isinstance(day, date):
        raise TypeError("day must be a date, not a datetime")
