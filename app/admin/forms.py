"""Platform-admin forms."""
import re

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, StringField
from wtforms.validators import DataRequired, Email, Length, ValidationError


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
