"""The form of one shared-record section, built from its spec (app.records.models.SECTIONS): every field
kind has one field type with its bounds, so a section added to the spec gets its form without code here.
The medication list is a list of row subforms (the current rows and a few empty ones)."""
from __future__ import annotations

from datetime import date
from functools import cache
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, FieldList, Form, FormField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from app.core.form_fields import MultiCheckboxField, ScoreField
from app.records.models import MAX_ROWS, FieldSpec, SectionKey, SectionSpec, section_spec

EMPTY_ROWS = 3
REASON_MAX = 500


def _field(spec: FieldSpec):
    bounded = [Optional(), Length(max=spec.limit)]
    if spec.kind == "text":
        return StringField(spec.label, validators=bounded)
    if spec.kind == "textarea":
        return TextAreaField(spec.label, validators=bounded)
    if spec.kind == "choice":
        return SelectField(spec.label, choices=[("", _l("Not filled in")), *spec.choices], validators=[Optional()])
    if spec.kind == "items":
        return MultiCheckboxField(spec.label, choices=list(spec.choices or ()), validators=[Optional()])
    if spec.kind == "date":
        return DateField(spec.label, validators=[Optional()])
    if spec.kind == "score":
        return ScoreField(spec.label, validators=[Optional(), NumberRange(0, 10, _l("Enter a whole number from 0 "
                                                                                     "to 10."))])
    if spec.kind == "rows":
        row_form = type(f"{spec.name.title()}RowForm", (Form,), {part.name: _field(part) for part in spec.row_fields})
        return FieldList(FormField(row_form), label=spec.label, max_entries=MAX_ROWS + EMPTY_ROWS)
    raise ValueError(f"no form field for kind {spec.kind}")


@cache
def section_form_class(key: SectionKey) -> type[FlaskForm]:
    spec = section_spec(key)
    attrs: dict[str, Any] = {field.name: _field(field) for field in spec.fields}
    attrs["reason"] = StringField(_l("What changed, and why (shown in the history)"),
                                  validators=[DataRequired(_l("Say briefly what changed and why.")),
                                              Length(max=REASON_MAX)])
    attrs["based_on_version"] = HiddenField()
    return type(f"{spec.key.value.title().replace('_', '')}SectionForm", (FlaskForm,), attrs)


def section_form(spec: SectionSpec, content: dict[str, Any] | None, version: int, *, formdata: Any = None):
    """The form for *spec*: from the request (a POST), else filled with *content* (the current version)."""
    cls = section_form_class(spec.key)
    if formdata is not None:
        return cls(formdata=formdata)
    data = dict(content or {})
    for field in spec.fields:
        if field.kind == "date" and data.get(field.name):
            data[field.name] = date.fromisoformat(data[field.name])
        if field.kind == "rows":
            data[field.name] = [*(data.get(field.name) or []), *({} for _ in range(EMPTY_ROWS))]
    form = cls(formdata=None, data=data)
    form.based_on_version.data = str(version)
    return form


def content_of(spec: SectionSpec, form) -> dict[str, Any]:
    """The section content a valid form says (app.records.services normalises it again)."""
    content: dict[str, Any] = {}
    for field in spec.fields:
        value = form[field.name].data
        if field.kind == "date":
            value = value.isoformat() if value else None
        elif field.kind == "rows":
            value = [dict(row) for row in value or []]
        content[field.name] = value
    return content
