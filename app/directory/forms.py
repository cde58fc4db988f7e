"""Forms of the public directory: applying to start a network."""
from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

# Path segments of the directory itself: a network with such a slug would be unreachable there.
RESERVED_SLUGS = frozenset({"aanmelden", "new", "admin", "static"})


class NetworkApplicationForm(FlaskForm):
    name = StringField(_l("Network name"), validators=[DataRequired(), Length(max=200)])
    slug = StringField(_l("Web address name"), validators=[DataRequired(), Length(min=3, max=60)],
                       description=_l("Lower-case letters, digits and hyphens; used in /n/<name>/."))
    region = StringField(_l("Region"), validators=[Optional(), Length(max=200)])

    def validate_slug(self, field):
        field.data = (field.data or "").strip().lower()
        if not re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", field.data):
            raise ValidationError(_l("Use lower-case letters, digits and single hyphens only."))
        if field.data in RESERVED_SLUGS:
            raise ValidationError(_l("This web address name is taken; choose another one."))
