"""Forms for a member's profile, their training records and the member CSV import."""
from __future__ import annotations

import re
from datetime import date

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, DateField, IntegerField, SelectField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from app.core.validators import AGBCode, BIGNumber, NotInFuture, Postcode
from app.networks.models import Role

PHONE_RE = r"^\+?[0-9 ()\-.]{6,30}$"
# Only web links: a "javascript:" or "data:" URL would run when someone follows the link.
WEB_URL_RE = re.compile(r"^https?://[^\s/?#.]+\.[^\s/?#]+(?:[/?#]\S*)?$", re.IGNORECASE)


def is_web_url(value: str) -> bool:
    return bool(WEB_URL_RE.match(value or ""))


class MemberProfileForm(FlaskForm):
    """The profile of one membership. The view deletes `role` unless a coordinator edits."""

    role = SelectField(_l("Role"), choices=[(Role.MEMBER.value, _l("Member")),
                                            (Role.COORDINATOR.value, _l("Coordinator"))])
    disciplines = SelectMultipleField(
        _l("Disciplines"), coerce=int, widget=ListWidget(prefix_label=False), option_widget=CheckboxInput())
    is_oncology_specialised = BooleanField(
        _l("Specialised in oncology (for example oncologiefysiotherapeut)"))
    agb_code = StringField(_l("AGB code"), validators=[Optional(), AGBCode()],
                           description=_l("8 digits."), render_kw={"inputmode": "numeric", "class": "input-width-10"})
    big_number = StringField(_l("BIG number"), validators=[Optional(), BIGNumber()],
                             description=_l("11 digits."),
                             render_kw={"inputmode": "numeric", "class": "input-width-20"})
    practice_name = StringField(_l("Practice"), validators=[Optional(), Length(max=200)])
    address = StringField(_l("Address"), validators=[Optional(), Length(max=200)])
    postcode = StringField(_l("Postcode"), validators=[Optional(), Postcode()],
                           description=_l("For example 1234 AB."), render_kw={"class": "input-width-10"})
    city = StringField(_l("Town"), validators=[Optional(), Length(max=100)])
    phone = StringField(_l("Phone"), validators=[
        Optional(), Length(max=30), Regexp(PHONE_RE, message=_l("Enter a phone number, for example 023 123 4567."))])
    phone_is_public = BooleanField(_l("Other members may see my phone number"))
    is_listed_in_verwijsgids = BooleanField(_l("Listed in the Verwijsgids Kanker"))
    verwijsgids_url = StringField(_l("Link to the listing in the Verwijsgids Kanker"),
                                  validators=[Length(max=300)],  # not Optional(): it would skip the check below
                                  description=_l("Required when listed; starts with https://"))
    is_accepting_patients = BooleanField(_l("Accepting new patients"))

    def validate_disciplines(self, field):
        # Not DataRequired: its "required" flag would mark every single checkbox as required.
        if not field.data:
            raise ValidationError(_l("Choose at least one discipline."))

    def validate_verwijsgids_url(self, field):
        field.data = (field.data or "").strip()
        if self.is_listed_in_verwijsgids.data and not field.data:
            raise ValidationError(_l("Add the link to your listing in the Verwijsgids Kanker."))
        if field.data and not is_web_url(field.data):
            raise ValidationError(_l("Enter a web address that starts with http:// or https://."))


class TrainingRecordForm(FlaskForm):
    course = StringField(_l("Course"), validators=[DataRequired(), Length(max=200)])
    hours = IntegerField(_l("Hours of study"), validators=[
        DataRequired(message=_l("Enter the number of hours (1 to 1000).")),
        NumberRange(min=1, max=1000, message=_l("Enter the number of hours (1 to 1000)."))])
    completed_on = DateField(_l("Completed on"), validators=[DataRequired(), NotInFuture()])
    valid_until = DateField(_l("Valid until"), validators=[Optional()],
                            description=_l("For a registration that must be renewed."))

    def validate_valid_until(self, field):
        completed: date | None = self.completed_on.data
        if field.data and completed and field.data <= completed:
            raise ValidationError(_l("The end of validity must be after the completion date."))


class MemberImportForm(FlaskForm):
    file = FileField(_l("CSV file"), validators=[FileRequired(_l("Choose a CSV file."))],
                     description=_l("Saved from a spreadsheet as CSV (separated by semicolons or commas), "
                                    "at most 2 MB."))
