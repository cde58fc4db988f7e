"""Forms of care between the lines: a hospital role, an outside central care provider, a directory line."""
from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, EmailField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Email, InputRequired, Length, Optional, ValidationError

from app.cases.forms import optional_int
from app.core.dates import local_today
from app.core.form_fields import MultiCheckboxField
from app.core.validators import NotInFuture
from app.networks.forms.profile import Phone
from app.palliative.models import (
    INFORMED,
    PLACES_OF_DEATH,
    SIGNAL_INDICATORS,
    ContactRole,
    HospitalRoleKind,
    OutsideProviderKind,
)
from app.palliative.services import WISHES_CONVERSATION_FIELDS
from app.referrals.models import YES_NO_UNKNOWN

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


# --- the palliative path -----------------------------------------------------------------------------------------

def _not_long_ago(form, field) -> None:
    if field.data is not None and field.data < date(1990, 1, 1):
        raise ValidationError(_l("Check the date: it lies too far back."))


def _bounded_date(label):
    return DateField(label, default=local_today, validators=[
        InputRequired(message=_l("Fill in the date.")), NotInFuture(), _not_long_ago])


class SignalForm(FlaskForm):
    not_surprised = BooleanField(
        _l("I would not be surprised if this patient died within the coming year"),
        validators=[DataRequired(message=_l("A signal is the surprise question answered this way: tick it to "
                                            "record one."))])
    indicators = MultiCheckboxField(_l("What prompted it"), choices=[
        (code, label) for code, label in SIGNAL_INDICATORS.items()])
    remark = TextAreaField(_l("Explanation (optional)"), validators=[Optional(), Length(max=2000)])


class MarkForm(FlaskForm):
    marked_on = _bounded_date(_l("Palliative phase since"))
    informed = MultiCheckboxField(_l("Who has been told"), choices=list(INFORMED.items()))
    remark = TextAreaField(_l("Explanation (optional)"), validators=[Optional(), Length(max=2000)])
    confirm = BooleanField(_l("Yes, mark the palliative phase; the GP and the central care provider are told"),
                           validators=[DataRequired(message=_l("Tick the box to confirm."))])


class WishesConversationForm(FlaskForm):
    held_on = _bounded_date(_l("Date of the conversation"))
    participants = StringField(_l("Who took part"), validators=[Optional(), Length(max=500)],
                               description=_l("For example: the patient, his wife, the GP and the coordinator."))
    values_and_goals = TextAreaField(_l("What matters most to the patient: values and goals"),
                                     validators=[Optional(), Length(max=2000)])
    advance_directive_text = TextAreaField(_l("Treatment limits and wishes"), validators=[Optional(), Length(max=2000)])
    resuscitation = SelectField(_l("Has the patient chosen not to be resuscitated?"), choices=YES_NO_UNKNOWN)
    euthanasia = SelectField(_l("Has the patient asked for euthanasia?"), choices=YES_NO_UNKNOWN)
    euthanasia_text = TextAreaField(_l("Explanation (euthanasia)"), validators=[Optional(), Length(max=2000)])
    preferred_place_of_care = StringField(_l("Preferred place of care"), validators=[Optional(), Length(max=200)])
    preferred_place_of_death = StringField(_l("Preferred place of death"), validators=[Optional(), Length(max=200)])
    representative = StringField(_l("Representative"), validators=[Optional(), Length(max=200)])

    def wishes(self) -> dict:
        return {name: getattr(self, name).data or "" for name in WISHES_CONVERSATION_FIELDS}


class DeathForm(FlaskForm):
    died_on = _bounded_date(_l("Date of death"))
    place = SelectField(_l("Place of death"), choices=list(PLACES_OF_DEATH.items()))
    preferred_place = SelectField(_l("Was this the place the patient preferred?"), choices=YES_NO_UNKNOWN)
    follow_up_user_id = SelectField(_l("Bereavement follow-up: who contacts the relatives"), coerce=optional_int,
                                    validators=[InputRequired(message=_l("Choose who contacts the relatives."))])
    follow_up_due_on = DateField(_l("Contact the relatives by"), validators=[
        InputRequired(message=_l("Fill in the date.")), _not_long_ago])
    remark = TextAreaField(_l("Explanation (optional)"), validators=[Optional(), Length(max=2000)])
    confirm = BooleanField(_l("Yes, close the case: the team's access ends, the team and the GP are told"),
                           validators=[DataRequired(message=_l("Tick the box to confirm."))])


class MdoPlanForm(FlaskForm):
    """Put the case on a meeting's agenda (the choices: the network's coming MDO and PaTz meetings)."""

    meeting_id = SelectField(_l("Meeting"), coerce=optional_int,
                             validators=[InputRequired(message=_l("Choose the meeting."))])
    question = TextAreaField(_l("The question for the meeting"), validators=[Optional(), Length(max=2000)],
                             description=_l("What the team wants to decide or advise."))
    ask_gp = BooleanField(_l("Ask the GP for input beforehand (how the patient is doing at home, what the patient "
                             "wants)"), default=True)

    def validate_meeting_id(self, field):
        if field.data is None:
            raise ValidationError(_l("Choose the meeting."))


class MdoConclusionForm(FlaskForm):
    discussion_id = StringField(validators=[DataRequired()])
    conclusion = TextAreaField(_l("Conclusion of the meeting"),
                               validators=[DataRequired(message=_l("Write the conclusion.")), Length(max=4000)])
