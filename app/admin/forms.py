"""Platform-admin forms."""
import re

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import EmailField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Email, InputRequired, Length, NumberRange, ValidationError

from app.core.bounded import DB_INT_MAX
from app.extensions import db
from app.networks.models import Network


class NetworkForm(FlaskForm):
    name = StringField(_l("Network name"), validators=[DataRequired(), Length(max=200)])
    slug = StringField(_l("Web address name"), validators=[DataRequired(), Length(min=3, max=60)],
                       description=_l("Lower-case letters, digits and hyphens; used in /n/<name>/."))
    region = StringField(_l("Region"), validators=[Length(max=200)])
    coordinator_name = StringField(_l("Coordinator's full name"), validators=[DataRequired(), Length(max=200)])
    coordinator_email = EmailField(_l("Coordinator's email address"),
                                   validators=[DataRequired(), Email(), Length(max=254)])

    def validate_slug(self, field):
        field.data = (field.data or "").strip().lower()
        if not re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", field.data):
            raise ValidationError(_l("Use lower-case letters, digits and single hyphens only."))


class EraseForm(FlaskForm):
    network_id = SelectField(_l("Network"), coerce=int, validators=[InputRequired()])
    patient_id = IntegerField(_l("Patient number"), validators=[InputRequired(), NumberRange(min=1, max=DB_INT_MAX)],
                              description=_l("The number the network's coordinator gives you (in the address "
                                             "of the patient's page)."))
    legal_reference = TextAreaField(_l("Legal reference"), validators=[DataRequired(), Length(max=500)],
                                    description=_l("The court order or decision on the erasure request: "
                                                   "case number, date, authority. Recorded in the audit log."))
    confirm_patient_id = StringField(_l("Type the patient number again to confirm"),
                                     validators=[DataRequired(), Length(max=20)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.network_id.choices = [(n.id, n.name) for n in db.session.scalars(select(Network)
                                                                              .order_by(Network.name))]

    def validate_confirm_patient_id(self, field):
        if (field.data or "").strip() != str(self.patient_id.data or ""):
            raise ValidationError(_l("The numbers differ. Type the patient number exactly as above."))
