"""Patient identity form; every field validated at the boundary."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, StringField
from wtforms.validators import DataRequired, Length, Optional

from app.core.form_fields import BIRTH_DATE_MESSAGES, DatePartsField
from app.core.validators import BSN, DateOfBirth, Postcode


class PatientForm(FlaskForm):
    given_name = StringField(_l("Given name"), validators=[DataRequired(), Length(max=100)])
    family_name = StringField(_l("Family name"), validators=[DataRequired(), Length(max=100)])
    date_of_birth = DatePartsField(_l("Date of birth"), validators=[DataRequired(message=_l(
        "Enter the date of birth.")), DateOfBirth()], messages=BIRTH_DATE_MESSAGES,
        description=_l("For example 12 3 1958."))
    bsn = StringField(_l("BSN (optional)"), validators=[Optional(), Length(max=11), BSN()],
                      render_kw={"inputmode": "numeric", "autocomplete": "off", "class": "input-width-10"})
    postcode = StringField(_l("Postcode"), validators=[DataRequired(), Postcode()],
                           render_kw={"class": "input-width-10"})
    phone = StringField(_l("Phone (optional)"), validators=[Optional(), Length(max=30)],
                        render_kw={"type": "tel", "class": "input-width-20"})


class PatientSearchForm(FlaskForm):
    q = StringField(_l("Search by name or BSN"), validators=[Optional(), Length(max=100)])


class PatientMergeForm(FlaskForm):
    confirm = BooleanField(
        _l("These are two records of one person: move everything to the kept record; this cannot be undone"),
        validators=[DataRequired(message=_l("Tick the box to confirm that you merge the two records."))])
