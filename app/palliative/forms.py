"""Forms of care between the lines: a hospital role, an outside central care provider, a directory line."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Email, Length, Optional

from app.networks.forms.profile import Phone
from app.palliative.models import ContactRole, HospitalRoleKind, OutsideProviderKind

# Lazy labels here (an enum's .label is a str that would freeze the locale at import).
ROLE_KIND_CHOICES = [(HospitalRoleKind.SPECIALIST.value, _l("Main treating specialist (oncology)")),
                     (HospitalRoleKind.CASE_MANAGER.value, _l("Hospital case manager"))]
OUTSIDE_CHOICES = [(OutsideProviderKind.GP.value, _l("The GP")),
                   (OutsideProviderKind.OUTSIDE.value, _l("A professional outside the network"))]
CONTACT_ROLE_CHOICES = [
    (ContactRole.CASE_MANAGER.value, _l("Case manager")), (ContactRole.ONCOLOGY_NURSE.value, _l("Oncology nurse")),
    (ContactRole.PALLIATIVE_TEAM.value, _l("Palliative care team")),
    (ContactRole.ON_DUTY_SPECIALIST.value, _l("Specialist on duty")),
    (ContactRole.REHABILITATION.value, _l("Rehabilitation centre")), (ContactRole.HOME_CARE.value, _l("Home care")),
    (ContactRole.OTHER.value, _l("Other"))]


class HospitalRoleForm(FlaskForm):
    kind = SelectField(_l("Role"), choices=ROLE_KIND_CHOICES, validators=[DataRequired()])
    name = StringField(_l("Name"), validators=[DataRequired(message=_l("Fill in the name.")), Length(max=200)])
    function = StringField(_l("Function"), validators=[Optional(), Length(max=200)],
                           description=_l("For example: internist-oncologist, nurse specialist."))
    hospital = StringField(_l("Hospital"), validators=[Optional(), Length(max=200)])
    reach = StringField(_l("How to reach them"), validators=[Optional(), Length(max=500)],
                        description=_l("Phone, email, days and hours."))


class OutsideCentralForm(FlaskForm):
    kind = SelectField(_l("Who"), choices=OUTSIDE_CHOICES, validators=[DataRequired()])
    name = StringField(_l("Name"), validators=[DataRequired(message=_l("Fill in the name.")), Length(max=200)])
    function = StringField(_l("Function"), validators=[Optional(), Length(max=200)])
    organisation = StringField(_l("Organisation or practice"), validators=[Optional(), Length(max=200)])
    reach = StringField(_l("How to reach them"), validators=[Optional(), Length(max=500)])
    reason = TextAreaField(_l("Reason"), validators=[Optional(), Length(max=2000)])


class HandBackForm(FlaskForm):
    reason = TextAreaField(_l("Reason"), validators=[Optional(), Length(max=2000)])


class CareContactForm(FlaskForm):
    organisation = StringField(_l("Organisation"), validators=[DataRequired(), Length(max=200)],
                               description=_l("Hospital, rehabilitation centre or home-care organisation."))
    role = SelectField(_l("Role"), choices=CONTACT_ROLE_CHOICES, validators=[DataRequired()])
    tumour_type = StringField(_l("Tumour type"), validators=[Optional(), Length(max=100)],
                              description=_l("Leave empty when it applies to every tumour type."))
    for_what = StringField(_l("For what"), validators=[Optional(), Length(max=500)])
    name = StringField(_l("Name"), validators=[Optional(), Length(max=200)])
    phone = StringField(_l("Phone"), validators=[Optional(), Length(max=30), Phone()])
    email = EmailField(_l("Email address"), validators=[Optional(), Email(), Length(max=254)])
    hours = StringField(_l("When to reach them"), validators=[Optional(), Length(max=200)])


class RemoveForm(FlaskForm):
    """Only the CSRF token: removing a directory line."""
