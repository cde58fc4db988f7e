"""Working days and response-norm deadlines (app/core/workdays.py)."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import holidays
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.core import workdays
from app.core.workdays import (
    add_working_days,
    is_working_day,
    public_holiday,
    time_left,
    working_days_between,
)

AMS = ZoneInfo("Europe/Amsterdam")
END = (23, 59, 59, 999999)


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=AMS)


def end_of_day_utc(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, *END, tzinfo=AMS).astimezone(UTC)


# --- is_working_day ----------------------------------------------------------------------------

def test_ordinary_week_monday_to_friday_are_working_days():
    week = [date(2025, 3, 3) + timedelta(days=i) for i in range(7)]  # Mon 3 .. Sun 9 March 2025
    assert [is_working_day(d) for d in week] == [True, True, True, True, True, False, False]


@pytest.mark.parametrize("day", [date(2026, 4, 27), date(2021, 4, 27), date(2027, 4, 27)])
def test_kings_day_on_a_weekday_is_not_a_working_day(day):
    assert day.weekday() < 5
    assert public_holiday(day) == "King's Day"
    assert not is_working_day(day)
    assert is_working_day(day - timedelta(days=1)) or day.weekday() == 0
    assert is_working_day(day + timedelta(days=1)) or day.weekday() == 4


@pytest.mark.parametrize("year", [2014, 2025, 2031])
def test_kings_day_moves_to_26_april_when_27_april_is_a_sunday(year):
    assert date(year, 4, 27).weekday() == 6
    assert public_holiday(date(year, 4, 26)) == "King's Day"
    assert public_holiday(date(year, 4, 27)) is None
    assert is_working_day(date(year, 4, 28))  # not moved to the Monday


def test_christmas_and_new_year():
    assert not is_working_day(date(2024, 12, 25))  # Wednesday
    assert not is_working_day(date(2024, 12, 26))  # Thursday
    assert not is_working_day(date(2025, 1, 1))  # Wednesday
    for day in (date(2024, 12, 24), date(2024, 12, 27), date(2024, 12, 31), date(2025, 1, 2)):
        assert is_working_day(day), day


def test_easter_monday_ascension_and_whit_monday_2025():
    assert not is_working_day(date(2025, 4, 21))  # Easter Monday
    assert not is_working_day(date(2025, 5, 29))  # Ascension Day (Thursday)
    assert not is_working_day(date(2025, 6, 9))  # Whit Monday
    assert is_working_day(date(2025, 4, 22))
    assert is_working_day(date(2025, 5, 30))  # the Friday after Ascension is not a holiday
    assert is_working_day(date(2025, 6, 10))


def test_documented_library_choices_good_friday_and_lustrum_liberation_day():
    # The library's NL calendar is the source of truth; these are the contested days.
    assert not is_working_day(date(2025, 4, 18))  # Good Friday
    assert not is_working_day(date(2025, 5, 5))  # Liberation Day, lustrum year
    assert is_working_day(date(2026, 5, 5))  # Liberation Day, not a lustrum year (Tuesday)


def test_is_working_day_rejects_a_datetime():
    with pytest.raises(TypeError):
        is_working_day(datetime(2025, 3, 3, 12, tzinfo=UTC))


def test_holiday_calendar_is_built_once_per_year(monkeypatch):
    calls = []
    real = holidays.country_holidays

    def spy(*args, **kwargs):
        calls.append(kwargs.get("years"))
        return real(*args, **kwargs)

    monkeypatch.setattr(holidays, "country_holidays", spy)
    workdays._holidays_for_year.cache_clear()
    try:
        for day in range(1, 29):
            is_working_day(date(2033, 2, day))
        is_working_day(date(2034, 1, 2))
        assert calls == [2033, 2034]
    finally:
        workdays._holidays_for_year.cache_clear()


# --- add_working_days --------------------------------------------------------------------------

def test_friday_afternoon_plus_two_is_end_of_tuesday_in_utc():
    deadline = add_working_days(local(2025, 3, 7, 15), 2)
    assert deadline == datetime(2025, 3, 11, 22, 59, 59, 999999, tzinfo=UTC)
    assert deadline.utcoffset() == timedelta(0)
    assert deadline.astimezone(AMS).replace(tzinfo=None) == datetime(2025, 3, 11, *END)


def test_zero_days_is_end_of_the_day_of_receipt():
    assert add_working_days(local(2025, 3, 5, 9), 0) == end_of_day_utc(date(2025, 3, 5))


def test_submission_on_a_weekend_counts_from_the_next_working_day():
    # Saturday counts as received on Monday: Tuesday 1, Wednesday 2.
    assert add_working_days(local(2025, 3, 8, 11), 2) == end_of_day_utc(date(2025, 3, 12))
    assert add_working_days(local(2025, 3, 9, 23), 0) == end_of_day_utc(date(2025, 3, 10))


def test_submission_on_a_holiday_counts_from_the_next_working_day():
    # King's Day Monday 27 April 2026 counts as received on Tuesday 28: Wednesday 29 is day 1.
    assert add_working_days(local(2026, 4, 27, 10), 1) == end_of_day_utc(date(2026, 4, 29))


def test_norm_across_kings_day():
    # Friday 24 April 2026 + 2: Monday 27 is King's Day, so Tuesday 28 and Wednesday 29.
    assert add_working_days(local(2026, 4, 24, 15), 2) == datetime(2026, 4, 29, 21, 59, 59, 999999, tzinfo=UTC)


def test_norm_across_christmas():
    # Tuesday 24 December 2024 + 2: 25 and 26 are holidays, so Friday 27 and Monday 30.
    assert add_working_days(local(2024, 12, 24, 10), 2) == datetime(2024, 12, 30, 22, 59, 59, 999999, tzinfo=UTC)


def test_norm_across_new_year():
    # Wednesday 31 December 2025 + 1: Thursday 1 January is New Year's Day.
    assert add_working_days(local(2025, 12, 31, 16), 1) == end_of_day_utc(date(2026, 1, 2))


def test_local_date_not_utc_date_decides_the_day_of_receipt():
    # 23:30 UTC on Thursday 6 March 2025 is already Friday 00:30 in Amsterdam.
    start = datetime(2025, 3, 6, 23, 30, tzinfo=UTC)
    assert add_working_days(start, 2) == end_of_day_utc(date(2025, 3, 11))  # Tuesday, not Monday
    # ... unless the network's zone is UTC.
    assert add_working_days(start, 2, tz="UTC") == datetime(2025, 3, 10, 23, 59, 59, 999999, tzinfo=UTC)


def test_offset_of_the_input_does_not_matter():
    start = local(2025, 3, 7, 15)
    other = start.astimezone(timezone(timedelta(hours=-5)))  # still Friday 7 March, 09:00
    late = start.replace(hour=23, minute=30).astimezone(timezone(timedelta(hours=-5)))  # 17:30 local
    assert add_working_days(other, 2) == add_working_days(start, 2) == add_working_days(late, 2)


def test_deadline_across_dst_start():
    # Clocks go forward on Sunday 30 March 2025: Friday 28 (CET) + 2 -> Tuesday 1 April (CEST).
    deadline = add_working_days(local(2025, 3, 28, 15), 2)
    assert deadline == datetime(2025, 4, 1, 21, 59, 59, 999999, tzinfo=UTC)
    assert deadline.astimezone(AMS).replace(tzinfo=None) == datetime(2025, 4, 1, *END)


def test_deadline_across_dst_end():
    # Clocks go back on Sunday 26 October 2025: Friday 24 (CEST) + 2 -> Tuesday 28 (CET).
    deadline = add_working_days(local(2025, 10, 24, 15), 2)
    assert deadline == datetime(2025, 10, 28, 22, 59, 59, 999999, tzinfo=UTC)
    assert deadline.astimezone(AMS).replace(tzinfo=None) == datetime(2025, 10, 28, *END)


def test_submission_in_the_repeated_dst_hour_uses_the_local_date():
    # 01:30 UTC on 26 October 2025 is 02:30 CET (second pass), Sunday -> counts from Monday 27.
    start = datetime(2025, 10, 26, 1, 30, tzinfo=UTC)
    assert add_working_days(start, 1) == end_of_day_utc(date(2025, 10, 28))


def test_negative_or_non_int_days_rejected():
    with pytest.raises(ValueError):
        add_working_days(local(2025, 3, 7, 15), -1)
    with pytest.raises(TypeError):
        add_working_days(local(2025, 3, 7, 15), 1.5)
    with pytest.raises(TypeError):
        add_working_days(local(2025, 3, 7, 15), True)


# --- naive datetimes ---------------------------------------------------------------------------

NAIVE = datetime(2025, 3, 7, 15)
AWARE = local(2025, 3, 7, 15)


@pytest.mark.parametrize(
    "call",
    [
        lambda: add_working_days(NAIVE, 2),
        lambda: working_days_between(NAIVE, AWARE),
        lambda: working_days_between(AWARE, NAIVE),
        lambda: time_left(NAIVE, AWARE),
        lambda: time_left(AWARE, NAIVE),
    ],
    ids=["add", "between-start", "between-end", "time_left-deadline", "time_left-now"],
)
def test_naive_datetimes_rejected(call):
    with pytest.raises(ValueError, match="timezone-aware"):
        call()


# --- working_days_between and time_left ---------------------------------------------------------

def test_working_days_between():
    friday = local(2025, 3, 7, 15)
    assert working_days_between(friday, local(2025, 3, 7, 23)) == 0
    assert working_days_between(friday, local(2025, 3, 9, 12)) == 0  # Sunday
    assert working_days_between(friday, local(2025, 3, 10, 0, 1)) == 1
    assert working_days_between(friday, local(2025, 3, 11, 9)) == 2
    assert working_days_between(friday, local(2025, 3, 17, 9)) == 6
    assert working_days_between(local(2025, 3, 11, 9), friday) == -2


def test_working_days_between_across_christmas_and_new_year():
    assert working_days_between(local(2024, 12, 24, 10), local(2025, 1, 3, 10)) == 5  # 27, 30, 31 Dec, 2, 3 Jan


def test_time_left_positive_then_negative_when_overdue():
    deadline = add_working_days(local(2025, 3, 7, 15), 2)
    assert time_left(deadline, local(2025, 3, 11, 23, 59, 58)) == timedelta(seconds=1, microseconds=999999)
    assert time_left(deadline, deadline) == timedelta(0)
    overdue = time_left(deadline, local(2025, 3, 12, 1, 0))
    assert overdue < timedelta(0)
    assert overdue == -timedelta(hours=1, microseconds=1)


def test_time_left_compares_instants_across_zones():
    deadline = datetime(2025, 3, 11, 22, 0, tzinfo=UTC)
    now = datetime(2025, 3, 11, 22, 0, tzinfo=timezone(timedelta(hours=2)))  # 20:00 UTC
    assert time_left(deadline, now) == timedelta(hours=2)


# --- properties --------------------------------------------------------------------------------

ZONES = [UTC, AMS, ZoneInfo("America/New_York"), ZoneInfo("Pacific/Kiritimati"), timezone(timedelta(hours=-11))]


@settings(max_examples=300, deadline=None, database=None)
@given(
    start=st.datetimes(
        min_value=datetime(2000, 1, 1),
        max_value=datetime(2099, 12, 31),
        timezones=st.sampled_from(ZONES),
        allow_imaginary=False,
    ),
    days=st.integers(min_value=0, max_value=40),
)
def test_deadline_is_end_of_a_working_day_never_before_start(start, days):
    deadline = add_working_days(start, days)
    local_deadline = deadline.astimezone(AMS)
    assert deadline.tzinfo is UTC
    assert is_working_day(local_deadline.date())
    assert (local_deadline.hour, local_deadline.minute, local_deadline.second, local_deadline.microsecond) == END
    assert deadline >= start
    assert deadline.astimezone(AMS).date() >= start.astimezone(AMS).date()
    assert working_days_between(start, deadline) == days
    # Minimal: one working day fewer gives an earlier deadline.
    if days:
        assert add_working_days(start, days - 1) < deadline
