"""Forms for a case's notes, next actions, distress thermometer and closing.

Field names are unique across the forms of one page. Dates are judged in the networks' zone; the
services judge the rules again and have the last word.
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange

from app.cases import proms
from app.cases.models import NoteVisibility
from app.core.form_fields import MultiCheckboxField, ScoreField
from app.core.validators import NotInFuture, NotInPast
from app.networks.models import Membership

MAX_NOTE = 20000
MAX_SUMMARY = 5000












# --- notes -----------------------------------------------------------------------------------------

class NoteForm(FlaskForm):
    body = TextAreaField(_l("New note"), validators=[DataRequired(message=_l("Write the note.")),
                                                     Length(max=MAX_NOTE)])
    visibility = RadioField(_l("Who may read it"), default=NoteVisibility.TEAM.value,
                            validators=[InputRequired(message=_l("Choose who may read the note."))])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Built per request: the labels are translated in the reader's language.
        self.visibility.choices = [
            (NoteVisibility.TEAM.value, _l("The care team (everyone on it who may read notes)")),
            (NoteVisibility.DISCIPLINE.value, _l("Only my discipline")),
            (NoteVisibility.PRIVATE.value, _l("Only me")),
        ]


class NoteEditForm(FlaskForm):
    note_body = TextAreaField(_l("Text"), validators=[DataRequired(message=_l("Write the note.")),
                                                      Length(max=MAX_NOTE)],
                              description=_l("The earlier text is kept as a version."))


# --- next actions ----------------------------------------------------------------------------------

class ActionForm(FlaskForm):
    description = StringField(_l("Next step"), validators=[DataRequired(message=_l("Describe the next step.")),
                                                           Length(max=500)])
    owner = SelectField(_l("Who does it"), coerce=int, validate_choice=True,
                        validators=[InputRequired(message=_l("Choose who does it."))])
    due_on = DateField(_l("Due date"), validators=[
        InputRequired(message=_l("Choose the due date.")),
        NotInPast(_l("The due date cannot be in the past."))])

    def __init__(self, *args, owners: list[tuple[Membership, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.owner.choices = [(membership.id, label) for membership, label in owners]


# --- distress thermometer --------------------------------------------------------------------------

class PromForm(FlaskForm):
    score = ScoreField(_l("Score (0 to 10)"), render_kw={"inputmode": "numeric", "autocomplete": "off"},
                       validators=[InputRequired(message=_l("Enter the score from 0 to 10.")),
                                   NumberRange(min=0, max=proms.MAX_SCORE,
                                               message=_l("Enter a whole number from 0 to 10."))],
                       description=_l("0 means no distress, 10 extreme distress; 4 or more suggests discussing a "
                                      "referral."))
    measured_on = DateField(_l("Date of the measurement"), validators=[
        InputRequired(message=_l("Choose the date of the measurement.")),
        NotInFuture(_l("This date cannot be in the future."))])
    problems = MultiCheckboxField(_l("Problems the patient marked"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.problems.choices = proms.problem_choices()


# --- closing ---------------------------------------------------------------------------------------

class ClosePartForm(FlaskForm):
    part_summary = TextAreaField(_l("Summary of your part"),
                                 validators=[DataRequired(message=_l("Write a short summary of your part.")),
                                             Length(max=MAX_SUMMARY)],
                                 description=_l("What you did and what you advise; it goes into the closing "
                                                "letter to the GP."))
    part_confirm = BooleanField(
        _l("I confirm that my part is finished; afterwards I no longer see this case"),
        validators=[DataRequired(message=_l("Tick the box to confirm that you close your part."))])


class CloseCaseForm(FlaskForm):
    case_summary = TextAreaField(_l("Closing summary"),
                                 validators=[DataRequired(message=_l("Write a closing summary.")),
                                             Length(max=MAX_SUMMARY)],
                                 description=_l("It goes into the closing letter to the GP, which you can still "
                                                "edit before it is sent."))
    case_confirm = BooleanField(
        _l("I confirm that the care of this patient in the network has ended"),
        validators=[DataRequired(message=_l("Tick the box to confirm that you close the case."))])
