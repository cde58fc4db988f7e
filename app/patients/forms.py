"""Patient identity form; every field validated at the boundary."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, StringField
from wtforms.validators import DataRequired, Length, Optional

from app.core.validators import BSN, DateOfBirth, Postcode


class PatientForm(FlaskForm):
    given_name = StringField(_l("Given name"), validators=[DataRequired(), Length(max=100)])
    family_name = StringField(_l("Family name"), validators=[DataRequired(), Length(max=100)])
    date_of_birth = DateField(_l("Date of birth"), validators=[DataRequired(message=_l(
        "Enter the date of birth as day-month-year.")), DateOfBirth()])
    bsn = StringField(_l("BSN (optional)"), validators=[Optional(), Length(max=11), BSN()])
    postcode = StringField(_l("Postcode"), validators=[DataRequired(), Postcode()])
    phone = StringField(_l("Phone"), validators=[Optional(), Length(max=30)])


class PatientSearchForm(FlaskForm):
    q = StringField(_l("Search by name or BSN"), validators=[Optional(), Length(max=100)])


class PatientMergeForm(FlaskForm):
    confirm = BooleanField(
        _l("These are two records of one person: move everything to the kept record; this cannot be undone"),
        validators=[DataRequired(message=_l("Tick the box to confirm that you merge the two records."))])
