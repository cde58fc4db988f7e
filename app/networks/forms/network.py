"""Forms for inviting members and filtering the audit log."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, EmailField, SelectField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Email, Length, Optional

from app.core.validators import AGBCode
from app.networks.models import Role


class InviteMemberForm(FlaskForm):
    email = EmailField(_l("Email address"), validators=[DataRequired(), Email(), Length(max=254)])
    full_name = StringField(_l("Full name"), validators=[DataRequired(), Length(max=200)])
    role = SelectField(_l("Role"), choices=[(Role.MEMBER.value, _l("Member")),
                                            (Role.COORDINATOR.value, _l("Coordinator"))])
    disciplines = SelectMultipleField(_l("Disciplines"), coerce=int, validators=[Optional()])
    practice_name = StringField(_l("Practice"), validators=[Optional(), Length(max=200)])
    city = StringField(_l("Town"), validators=[Optional(), Length(max=100)])
    agb_code = StringField(_l("AGB code"), validators=[Optional(), AGBCode()],
                           render_kw={"inputmode": "numeric", "class": "input-width-10"})


class AuditFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET filter form changes nothing

    user = StringField(_l("User (email)"), validators=[Optional(), Length(max=254)])
    patient = StringField(_l("Patient number"), validators=[Optional(), Length(max=12)])
    action = SelectField(_l("Action"), validators=[Optional()])
    outcome = SelectField(_l("Outcome"), validators=[Optional()])
    date_from = DateField(_l("From"), validators=[Optional()])
    date_to = DateField(_l("Until"), validators=[Optional()])
