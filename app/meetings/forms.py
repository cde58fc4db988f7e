"""The meeting form: date, kind, title, notes and attendance checkboxes for the active members."""

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from app.core.dates import local_today, show_date
from app.meetings.models import MeetingKind
from app.meetings.services import latest_meeting_date
from app.networks.models import Membership


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class MeetingForm(FlaskForm):
    held_on = DateField(_l("Date"), validators=[DataRequired(message=_l("Enter the date of the meeting."))])
    kind = SelectField(_l("Kind of meeting"), validators=[DataRequired()])
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=10000)],
                          description=_l("Members of the network can read these notes: no patient data."))
    attendees = MultiCheckboxField(_l("Attendance"), coerce=int, validators=[Optional()])

    def __init__(self, *args, members: list[Membership], **kwargs):
        super().__init__(*args, **kwargs)
        # Built per request: the labels are translated in the reader's language.
        self.kind.choices = [(kind.value, kind.label) for kind in MeetingKind]
        self.attendees.choices = [(m.id, m.user.full_name) for m in members]

    def validate_held_on(self, field) -> None:
        latest = latest_meeting_date(local_today())
        if field.data and field.data > latest:
            raise ValidationError(_("The date can be at most a year ahead (until %(date)s).",
                                    date=show_date(latest)))
