"""Calendar arithmetic shared by features (meetings, reminders, the self-check)."""
from __future__ import annotations

import calendar
from datetime import date
from typing import TypeVar

_D = TypeVar("_D", bound=date)  # a date or a datetime; the type is kept


def shift_months(value: _D, months: int) -> _D:
    """*value* moved by whole calendar months; the day is clamped (31 March - 1 month = 28/29 Feb)."""
    index = value.year * 12 + value.month - 1 + months
    year, month = divmod(index, 12)
    day = min(value.day, calendar.monthrange(year, month + 1)[1])
    return value.replace(year=year, month=month + 1, day=day)
