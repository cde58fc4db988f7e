"""Form fields shared by features: checkbox lists, 0-10 scores (the distress thermometer) and a date as
three inputs (day, month, year: a date of birth)."""
from __future__ import annotations

import re
from datetime import date

from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from wtforms import Field, IntegerField, SelectMultipleField
from wtforms.utils import unset_value
from wtforms.validators import StopValidation
from wtforms.widgets import CheckboxInput, ListWidget, TextInput, html_params


class MultiCheckboxField(SelectMultipleField):
    """A multiple choice shown as checkboxes (works without JavaScript)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class ScoreField(IntegerField):
    """A whole number in a text input (numeric keyboard), so a wrong entry stays visible next to the field's
    own clear message instead of WTForms' generic one."""

    widget = TextInput()

    def __init__(self, *args, invalid_message=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.invalid_message = invalid_message or _l("Enter a whole number from 0 to 10.")

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(str(self.invalid_message)) from None


# --- a date as three inputs (day, month, year) --------------------------------------------------------

DATE_PARTS = ("day", "month", "year")
_PART_RE = {"day": re.compile(r"[0-9]{1,2}"), "month": re.compile(r"[0-9]{1,2}"), "year": re.compile(r"[0-9]{4}")}
_PART_RANGE = {"day": (1, 31), "month": (1, 12), "year": (1, 9999)}
_ISO_RE = re.compile(r"^\s*([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})\s*$")
_DMY_RE = re.compile(r"^\s*([0-9]{1,2})[-/. ]([0-9]{1,2})[-/. ]([0-9]{4})\s*$")

DATE_MESSAGES = {
    "incomplete": _l("The date must include a day, a month and a year."),
    "day": _l("The day must be a number from 1 to 31."),
    "month": _l("The month must be a number from 1 to 12."),
    "year": _l("The year must have 4 digits, for example 1958."),
    "invalid": _l("Enter a real date."),
}
BIRTH_DATE_MESSAGES = {
    **DATE_MESSAGES,
    "incomplete": _l("The date of birth must include a day, a month and a year."),
    "invalid": _l("Enter a real date of birth."),
}


class DatePartsWidget:
    """The three inputs of a DatePartsField, each with its own label (Day, Month, Year), a numeric keyboard
    and a width that fits its digits. The fieldset and legend around them are the form macro's
    (_macros.html field()), like the hint and the error; `aria-invalid` marks the wrong parts only."""

    LABELS = {"day": _l("Day"), "month": _l("Month"), "year": _l("Year")}
    WIDTHS = {"day": 2, "month": 2, "year": 4}

    def __call__(self, field, **kwargs):
        invalid = str(kwargs.pop("aria-invalid", kwargs.pop("aria_invalid", "false"))) == "true"
        items = []
        for part in DATE_PARTS:
            wrong = invalid and (not field.wrong_parts or part in field.wrong_parts)
            attrs = {"type": "text", "id": f"{field.id}-{part}", "name": f"{field.name}-{part}",
                     "value": field.part_values()[part], "inputmode": "numeric", "autocomplete": "off",
                     "class": f"input-width-{self.WIDTHS[part]}"
                     + (" input-error" if wrong else ""), "aria-invalid": "true" if wrong else "false"}
            items.append(Markup('<div class="date-input-item"><label for="{id}">{label}</label>'
                                '<input {attrs}></div>').format(id=attrs["id"], label=self.LABELS[part],
                                                                attrs=Markup(html_params(**attrs))))  # noqa: S704 (html_params escapes)
        return Markup('<div class="date-input">') + Markup("").join(items) + Markup("</div>")


class DatePartsField(Field):
    """A date typed as day, month and year in three inputs (GOV.UK's date input), never the browser's own
    date input (which shows mm/dd/yyyy in some browsers, so 12031958 became 3 December 1958). Posted as
    `<name>-day`, `<name>-month`, `<name>-year`; a single `<name>` (an ISO date or day-month-year, as older
    drafts and copies hold it) is read too. A wrong part gets its own clear message and the parts stay as
    typed after a failed submit. Bounds (e.g. DateOfBirth) are the validators'; required is DataRequired."""

    widget = DatePartsWidget()

    def __init__(self, label=None, validators=None, messages=None, **kwargs):
        super().__init__(label, validators, **kwargs)
        self.messages = {**DATE_MESSAGES, **(messages or {})}
        self.raw_parts: dict[str, str] | None = None
        self.wrong_parts: set[str] = set()
        self.parse_error = None

    @property
    def part_names(self) -> tuple[str, ...]:
        return tuple(f"{self.name}-{part}" for part in DATE_PARTS)

    @property
    def anchor_id(self) -> str:
        """Where the error summary's link goes: the first wrong part, else the day."""
        first = next((part for part in DATE_PARTS if part in self.wrong_parts), "day")
        return f"{self.id}-{first}"

    @staticmethod
    def formdata(name: str, value: date | None) -> dict[str, list[str]]:
        """*value* as the posted parts of the field *name* (to prefill a form)."""
        if value is None:
            return {}
        return {f"{name}-day": [str(value.day)], f"{name}-month": [str(value.month)],
                f"{name}-year": [str(value.year)]}

    def part_values(self) -> dict[str, str]:
        if self.raw_parts is not None:
            return self.raw_parts
        if isinstance(self.data, date):
            return {"day": str(self.data.day), "month": str(self.data.month), "year": str(self.data.year)}
        return dict.fromkeys(DATE_PARTS, "")

    def process(self, formdata, data=unset_value, extra_filters=None):
        self._formdata = formdata
        super().process(formdata, data, extra_filters)

    def process_formdata(self, valuelist):
        formdata = self._formdata
        if any(name in formdata for name in self.part_names):
            parts = {part: (formdata.get(f"{self.name}-{part}") or "").strip()[:10] for part in DATE_PARTS}
        elif valuelist and (valuelist[0] or "").strip():
            match = _ISO_RE.match(valuelist[0])
            if match:
                parts = dict(zip(("year", "month", "day"), match.groups(), strict=True))
            elif match := _DMY_RE.match(valuelist[0]):
                parts = dict(zip(DATE_PARTS, match.groups(), strict=True))
            else:
                self.raw_parts, self.data, self.parse_error = dict.fromkeys(DATE_PARTS, ""), None, \
                    self.messages["invalid"]
                return
            parts = {part: str(int(value)) for part, value in parts.items()}  # digits only (the patterns)
        else:
            return  # nothing posted for this field: keep the object's or default value
        self.raw_parts = parts
        self.data = None
        if not any(parts.values()):
            return  # empty: DataRequired (or Optional) decides
        missing = {part for part in DATE_PARTS if not parts[part]}
        if missing:
            self.wrong_parts, self.parse_error = missing, self.messages["incomplete"]
            return
        wrong = {part for part in DATE_PARTS if not _PART_RE[part].fullmatch(parts[part])
                 or not _PART_RANGE[part][0] <= int(parts[part]) <= _PART_RANGE[part][1]}
        if wrong:
            self.wrong_parts = wrong
            self.parse_error = self.messages[next(iter(wrong))] if len(wrong) == 1 else self.messages["invalid"]
            return
        try:
            self.data = date(int(parts["year"]), int(parts["month"]), int(parts["day"]))
        except ValueError:  # 31-02
            self.parse_error = self.messages["invalid"]

    def pre_validate(self, form):
        if self.parse_error:
            raise StopValidation(str(self.parse_error))
