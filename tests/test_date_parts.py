"""The date as three inputs (app.core.form_fields.DatePartsField): day, month and year validated at the
boundary with a clear message each, the parts kept as typed, an older single value still read. The
forms that use it (the referral and patient forms) are tested in tests/test_referral_form.py and
tests/test_patients.py; the walk over every date-of-birth field in tests/test_birth_dates.py."""
from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from flask_babel import force_locale
from werkzeug.datastructures import MultiDict
from wtforms import Form
from wtforms.validators import DataRequired, Optional

from app.core.dates import local_today
from app.core.form_fields import BIRTH_DATE_MESSAGES, DatePartsField
from app.core.validators import DateOfBirth


class BirthForm(Form):
    born = DatePartsField("Date of birth", validators=[DataRequired(message="Enter the date of birth."),
                                                       DateOfBirth()], messages=BIRTH_DATE_MESSAGES)


class OptionalDateForm(Form):
    on = DatePartsField("Date", validators=[Optional()])


def posted(day, month, year, name="born"):
    return MultiDict({f"{name}-day": day, f"{name}-month": month, f"{name}-year": year})


def tag(html: str, input_id: str) -> str:
    """The <input> with *input_id* (attributes in any order)."""
    return re.search(rf'<input[^>]*\bid="{input_id}"[^>]*>', html).group(0)


def check(formdata, form_class=BirthForm):
    form = form_class(formdata=formdata)
    ok = form.validate()
    field = next(iter(form))
    return ok, field, [str(error) for error in field.errors]


@pytest.mark.parametrize(("parts", "expected"), [
    (("12", "3", "1958"), date(1958, 3, 12)),
    (("12", "03", "1958"), date(1958, 3, 12)),
    ((" 1 ", "1", "1900"), date(1900, 1, 1)),
    (("29", "2", "2024"), date(2024, 2, 29)),
    (("31", "12", "1999"), date(1999, 12, 31)),
])
def test_good_dates(app, parts, expected):
    with app.test_request_context(), force_locale("en"):
        ok, field, errors = check(posted(*parts))
    assert ok and errors == [] and field.data == expected


def test_today_is_a_good_date_of_birth(app):
    today = local_today()
    with app.test_request_context(), force_locale("en"):
        ok, field, _errors = check(posted(str(today.day), str(today.month), str(today.year)))
    assert ok and field.data == today


@pytest.mark.parametrize(("parts", "message", "wrong"), [
    (("31", "2", "1958"), "Enter a real date of birth.", set()),
    (("29", "2", "2023"), "Enter a real date of birth.", set()),
    (("31", "4", "1958"), "Enter a real date of birth.", set()),
    (("aa", "3", "1958"), "The day must be a number from 1 to 31.", {"day"}),
    (("0", "3", "1958"), "The day must be a number from 1 to 31.", {"day"}),
    (("32", "3", "1958"), "The day must be a number from 1 to 31.", {"day"}),
    (("12", "maart", "1958"), "The month must be a number from 1 to 12.", {"month"}),
    (("12", "13", "1958"), "The month must be a number from 1 to 12.", {"month"}),
    (("12", "3", "58"), "The year must have 4 digits, for example 1958.", {"year"}),
    (("12", "3", "19588"), "The year must have 4 digits, for example 1958.", {"year"}),
    (("12", "3", "19x8"), "The year must have 4 digits, for example 1958.", {"year"}),
    (("x", "y", "z"), "Enter a real date of birth.", {"day", "month", "year"}),
    (("12", "", "1958"), "The date of birth must include a day, a month and a year.", {"month"}),
    (("", "", "1958"), "The date of birth must include a day, a month and a year.", {"day", "month"}),
    (("1", "1", "1899"), "A date of birth cannot be before 1 January 1900. Check the year.", set()),
    (("12", "3", "0001"), "A date of birth cannot be before 1 January 1900. Check the year.", set()),
])
def test_wrong_dates_get_one_clear_message_and_keep_the_parts(app, parts, message, wrong):
    with app.test_request_context(), force_locale("en"):
        ok, field, errors = check(posted(*parts))
        html = field(aria_invalid="true")
    assert not ok
    assert (field.data is None) == (not message.startswith("A date of birth cannot"))  # a real date, out of bounds
    assert errors == [message]  # one message, not also "required"
    assert field.wrong_parts == wrong
    assert field.part_values() == dict(zip(("day", "month", "year"), (p.strip() for p in parts), strict=True))
    for part, value in zip(("day", "month", "year"), parts, strict=True):
        input_tag = tag(html, f"born-{part}")
        assert f'value="{value.strip()}"' in input_tag  # kept as typed, to correct
        # Only the wrong parts are marked; a date that is wrong as a whole marks all three.
        assert ('aria-invalid="true"' in input_tag) == (not wrong or part in wrong), part
        assert ("input-error" in input_tag) == (not wrong or part in wrong), part
    assert field.anchor_id == f"born-{next(p for p in ('day', 'month', 'year') if p in wrong)}" if wrong \
        else field.anchor_id == "born-day"


def test_a_future_date_of_birth_is_refused(app):
    tomorrow = local_today() + timedelta(days=1)
    with app.test_request_context(), force_locale("en"):
        ok, _field, errors = check(posted(str(tomorrow.day), str(tomorrow.month), str(tomorrow.year)))
    assert not ok and errors == ["A date of birth cannot be in the future."]


def test_empty_is_required_or_optional(app):
    with app.test_request_context(), force_locale("en"):
        ok, field, errors = check(posted("", " ", ""))
        assert not ok and errors == ["Enter the date of birth."] and field.data is None
        ok, field, errors = check(posted("", "", "", name="on"), OptionalDateForm)
        assert ok and errors == [] and field.data is None


def test_an_older_single_value_is_read(app):
    """Drafts and copies saved before the three inputs hold one ISO (or day-month-year) value."""
    with app.test_request_context(), force_locale("en"):
        for value in ("1958-03-12", "12-03-1958", "12/3/1958"):
            ok, field, _errors = check(MultiDict({"born": value}))
            assert ok and field.data == date(1958, 3, 12), value
            assert field.part_values() == {"day": "12", "month": "3", "year": "1958"}
        ok, field, errors = check(MultiDict({"born": "14-03-19xx"}))
        assert not ok and errors == ["Enter a real date of birth."]


def test_the_parts_are_labelled_numeric_inputs_and_a_stored_date_is_shown_in_them(app):
    with app.test_request_context(), force_locale("en"):
        form = BirthForm(data={"born": date(1958, 3, 12)})
        html = str(form.born())
        assert DatePartsField.formdata("born", date(1958, 3, 12)) == {
            "born-day": ["12"], "born-month": ["3"], "born-year": ["1958"]}
        assert DatePartsField.formdata("born", None) == {}
    for part, label, value in (("day", "Day", "12"), ("month", "Month", "3"), ("year", "Year", "1958")):
        assert f'<label for="born-{part}">{label}</label>' in html
        input_tag = tag(html, f"born-{part}")
        for attribute in (f'name="born-{part}"', f'value="{value}"', 'inputmode="numeric"', 'type="text"'):
            assert attribute in input_tag, attribute
    assert 'type="date"' not in html and 'aria-invalid="true"' not in html
