"""The portal's forms (the patient's and the network's side). Every input is checked here; the services check
the rules."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, EmailField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Email, InputRequired, Length, NumberRange, Optional

from app.cases import proms
from app.cases.models import ConsentPart
from app.core.form_fields import MultiCheckboxField, ScoreField
from app.core.validators import NotInPast
from app.records.models import SectionKey, section_spec

LOCALES = (("nl", "Nederlands"), ("en", "English"))

# What a patient may open to a relative, in plain words (the record's sections).
PLAIN_SECTION_TITLES = {
    SectionKey.STORY: _l("Your story and what you want shared"),
    SectionKey.DIAGNOSIS: _l("Your illness and treatment"),
    SectionKey.MEDICATION: _l("Your medicines"),
    SectionKey.WISHES: _l("Your wishes about treatment and care"),
    SectionKey.PROBLEMS: _l("What troubles you and what you need"),
    SectionKey.DISTRESS: _l("The distress thermometer"),
    SectionKey.PEOPLE: _l("The people involved"),
    SectionKey.CONTACT: _l("How we keep in touch"),
    SectionKey.CARE_PLAN: _l("Your care plan"),
}
PLAIN_PART_LABELS = {
    ConsentPart.INTAKE: _l("Your story, your illness, your wishes and your care plan"),
    ConsentPart.NOTES: _l("The notes of the care providers"),
    ConsentPart.PROMS: _l("Your distress thermometer"),
}


def section_title(key, own: bool = True) -> str:
    """The section's title for the patient ("Your care plan"); for anyone else (a relative, the network) the
    record's own title ("Care plan")."""
    key = SectionKey(key)
    return str((PLAIN_SECTION_TITLES.get(key) if own else None) or section_spec(key).title)


class InvitePatientForm(FlaskForm):
    full_name = StringField(_l("The patient's name"), validators=[DataRequired(message=_l("Enter the name.")),
                                                                  Length(max=200)])
    email = EmailField(_l("The patient's email address"), validators=[
        DataRequired(message=_l("Enter the email address.")),
        Email(message=_l("Enter an email address like name@example.nl.")), Length(max=254)],
        description=_l("The invitation says only that there is something to read in Netwerkzorg."))
    locale = SelectField(_l("Language of the invitation"), choices=LOCALES, default="nl")


class RevokeForm(FlaskForm):
    confirm = BooleanField(_l("Yes, end this access now"),
                           validators=[DataRequired(message=_l("Tick the box to confirm."))])


class InviteRelativeForm(FlaskForm):
    full_name = StringField(_l("Name"), validators=[DataRequired(message=_l("Enter the name.")), Length(max=200)])
    email = EmailField(_l("Email address"), validators=[
        DataRequired(message=_l("Enter the email address.")),
        Email(message=_l("Enter an email address like name@example.nl.")), Length(max=254)])
    relation = StringField(_l("Who is this for you?"), validators=[Optional(), Length(max=100)],
                           description=_l("For example: my wife, my son, my representative."))
    sections = MultiCheckboxField(_l("What may this person see?"), validators=[
        DataRequired(message=_l("Choose what this person may see."))])
    locale = SelectField(_l("Language of the invitation"), choices=LOCALES, default="nl")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.sections.choices = [(key.value, section_title(key)) for key in SectionKey]


class QuestionnaireForm(FlaskForm):
    score = ScoreField(_l("How much distress did you feel in the past week, today included?"),
                       render_kw={"inputmode": "numeric", "autocomplete": "off"},
                       validators=[InputRequired(message=_l("Choose a number from 0 to 10.")),
                                   NumberRange(min=0, max=proms.MAX_SCORE,
                                               message=_l("Choose a whole number from 0 to 10."))],
                       description=_l("0 means no distress at all, 10 extreme distress."))
    problems = MultiCheckboxField(_l("Which of these were a problem for you in the past week?"))
    remark = TextAreaField(_l("Anything else you want to tell us (optional)"),
                           validators=[Optional(), Length(max=2000)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.problems.choices = proms.problem_choices()


class ConsentForProposalForm(FlaskForm):
    parts = MultiCheckboxField(_l("What may this care provider see?"), validators=[
        DataRequired(message=_l("Choose what this care provider may see."))])
    valid_until = DateField(_l("Until (optional)"), validators=[
        Optional(), NotInPast(_l("This date cannot be in the past."))],
        description=_l("Leave empty: until you withdraw it."))
    agreed = BooleanField(_l("Yes, I agree that this care provider sees this and joins my care team"),
                          validators=[DataRequired(message=_l("Tick the box to give your consent."))])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.parts.choices = [(part.value, str(PLAIN_PART_LABELS[part])) for part in ConsentPart]


class WithdrawOwnForm(FlaskForm):
    reason = TextAreaField(_l("Why (optional)"), validators=[Optional(), Length(max=2000)])
    confirm = BooleanField(_l("Yes, withdraw this consent now"),
                           validators=[DataRequired(message=_l("Tick the box to confirm."))])


class MessageForm(FlaskForm):
    body = TextAreaField(_l("Your message"), validators=[DataRequired(message=_l("Write a message first.")),
                                                         Length(max=5000)])


class CorrectionForm(FlaskForm):
    correction = TextAreaField(_l("What is not correct, and what should it say?"), validators=[
        DataRequired(message=_l("Describe what should be corrected.")), Length(max=5000)])
