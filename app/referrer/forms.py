"""Forms for GP / practice-nurse self-registration and practice links."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, RadioField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional

from app.auth.models import ReferrerKind
from app.core.validators import AGBCode


class RegistrationForm(FlaskForm):
    full_name = StringField(_l("Your full name"), validators=[DataRequired(), Length(max=200)])
    email = EmailField(_l("Work email address"), validators=[DataRequired(), Email(), Length(max=254)],
                       description=_l("We send a link to this address to confirm it."))
    kind = RadioField(_l("Your role"), default=ReferrerKind.GP.value, validators=[DataRequired()],
                      choices=[(ReferrerKind.GP.value, _l("GP")),
                               (ReferrerKind.POH.value, _l("Practice nurse (POH), referring on behalf of a GP"))])
    agb_code = StringField(_l("Your AGB code"), validators=[DataRequired(), AGBCode()],
                           description=_l("Your personal AGB code: 8 digits."),
                           render_kw={"inputmode": "numeric", "autocomplete": "off"})
    practice_name = StringField(_l("Practice name"), validators=[DataRequired(), Length(max=200)])
    city = StringField(_l("Practice town"), validators=[DataRequired(), Length(max=100)])
    practice_agb = StringField(_l("AGB code of the practice (optional)"), validators=[Optional(), AGBCode()],
                               render_kw={"inputmode": "numeric", "autocomplete": "off"})
    phone = StringField(_l("Phone number (optional)"), validators=[Optional(), Length(max=30)],
                        render_kw={"autocomplete": "tel"})
    password = PasswordField(_l("Password"), validators=[DataRequired()],
                             description=_l("At least 12 characters. A sentence of a few words works well."))
    confirm = PasswordField(_l("Repeat the password"),
                            validators=[DataRequired(), EqualTo("password", message=_l("The passwords differ."))])


class LinkRequestForm(FlaskForm):
    agb_code = StringField(_l("AGB code of the GP"), validators=[DataRequired(), AGBCode()],
                           render_kw={"inputmode": "numeric", "autocomplete": "off"})
