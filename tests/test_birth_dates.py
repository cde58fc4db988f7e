"""A date of birth is plausible everywhere it is entered: not in the future, not before 1900-01-01. One
validator (app.core.validators.DateOfBirth) holds the bound; a walk over every form class proves that
each date-of-birth field uses it, and is typed as day, month and year (DatePartsField), so a new form
joins automatically. The forms themselves are tested in
tests/test_referral_form.py and tests/test_patients.py (1800-01-01 and a future date)."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from flask_babel import force_locale
from wtforms import Form
from wtforms.fields.core import UnboundField

from app.core.dates import local_today
from app.core.form_fields import DatePartsField
from app.core.validators import DateOfBirth, birth_date_problem


def all_form_classes(app) -> list[type]:
    seen, todo = [], [Form]
    while todo:
        cls = todo.pop()
        for sub in cls.__subclasses__():
            if sub not in seen and sub.__module__.startswith("app."):
                seen.append(sub)
            todo.append(sub)
    return seen


def birth_fields(app) -> list[tuple[str, str, UnboundField]]:
    return [(cls.__qualname__, name, value) for cls in all_form_classes(app) for name, value in vars(cls).items()
            if isinstance(value, UnboundField) and "birth" in name]


def test_every_date_of_birth_field_is_bounded_by_the_one_validator(app):
    fields = birth_fields(app)
    assert {form for form, _name, _field in fields} >= {"ReferralForm", "PatientForm"}
    for form, name, field in fields:
        validators = field.kwargs.get("validators") or (field.args[1] if len(field.args) > 1 else [])
        assert any(isinstance(v, DateOfBirth) for v in validators), f"{form}.{name} lacks DateOfBirth"
        # Typed as day, month and year: never the browser's date input (mm/dd/yyyy in some browsers).
        assert issubclass(field.field_class, DatePartsField), f"{form}.{name} is not a DatePartsField"


@pytest.mark.parametrize(("born", "plausible"), [
    (date(1800, 1, 1), False), (date(1899, 12, 31), False), (date(1900, 1, 1), True), (date(1971, 3, 14), True),
    (None, True),
])
def test_the_bound(app, born, plausible):
    with app.test_request_context():
        assert (birth_date_problem(born) is None) is plausible


def test_today_is_the_latest_date_of_birth(app):
    with app.test_request_context(), force_locale("en"):
        assert birth_date_problem(local_today()) is None
        assert "future" in str(birth_date_problem(local_today() + timedelta(days=1)))
