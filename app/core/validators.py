"""Validators for Dutch identifiers at the form boundary: BSN (11-test), AGB, BIG, postcode, dates."""
from __future__ import annotations

import re
from datetime import date

from flask_babel import lazy_gettext as _l
from stdnum.nl import bsn as stdnum_bsn
from wtforms.validators import ValidationError

from app.core.dates import local_today

POSTCODE_RE = re.compile(r"^\s*([1-9][0-9]{3})\s*([A-Za-z]{2})\s*$")


def normalise_postcode(value: str) -> str | None:
    """'1234ab' -> '1234 AB'; None when it is not a Dutch postcode."""
    match = POSTCODE_RE.match(value or "")
    if not match or match.group(2).upper() in ("SA", "SD", "SS"):
        return None
    return f"{match.group(1)} {match.group(2).upper()}"


def is_valid_bsn(value: str) -> bool:
    return bool(re.fullmatch(r"[0-9]{9}", value or "")) and stdnum_bsn.is_valid(value)


class Postcode:
    def __call__(self, form, field):
        if field.data:
            normalised = normalise_postcode(field.data)
            if normalised is None:
                raise ValidationError(_l("Enter a Dutch postcode like 1234 AB."))
            field.data = normalised


class BSN:
    def __call__(self, form, field):
        if field.data:
            field.data = re.sub(r"[\s.]", "", field.data)
            if not is_valid_bsn(field.data):
                raise ValidationError(_l("This is not a valid BSN: it must be 9 digits and pass the 11-test."))


class AGBCode:
    def __call__(self, form, field):
        if field.data:
            field.data = field.data.strip()
            if not re.fullmatch(r"[0-9]{8}", field.data):
                raise ValidationError(_l("An AGB code has exactly 8 digits."))


class NotInFuture:
    """Not after today (in the networks' zone)."""

    def __init__(self, message=None):
        self.message = message or _l("This date cannot be in the future.")

    def __call__(self, form, field):
        if field.data and field.data > local_today():
            raise ValidationError(self.message)


class NotInPast:
    """Not before today (in the networks' zone)."""

    def __init__(self, message=None):
        self.message = message or _l("This date cannot be in the past.")

    def __call__(self, form, field):
        if field.data and field.data < local_today():
            raise ValidationError(self.message)


EARLIEST_BIRTH_DATE = date(1900, 1, 1)


def birth_date_problem(value: date | None):
    """Why *value* is not a plausible date of birth (not after today, not before 1900-01-01), or None."""
    if value is None:
        return None
    if value > local_today():
        return _l("A date of birth cannot be in the future.")
    if value < EARLIEST_BIRTH_DATE:
        return _l("A date of birth cannot be before 1 January 1900. Check the year.")
    return None


class DateOfBirth:
    """The one bound on every date of birth that is entered (referral form, patient form, ...)."""

    field_flags = {"min": EARLIEST_BIRTH_DATE.isoformat()}  # also the browser's own date picker bound

    def __call__(self, form, field):
        if problem := birth_date_problem(field.data):
            raise ValidationError(problem)


def is_valid_agb(value: str) -> bool:
    return bool(re.fullmatch(r"[0-9]{8}", value or ""))


def is_valid_big(value: str) -> bool:
    return bool(re.fullmatch(r"[0-9]{11}", value or ""))


class BIGNumber:
    """A BIG-register number: exactly 11 digits (spaces and dots a user types are dropped)."""

    def __call__(self, form, field):
        if field.data:
            field.data = re.sub(r"[\s.]", "", field.data)
            if not is_valid_big(field.data):
                raise ValidationError(_l("A BIG number has exactly 11 digits."))
