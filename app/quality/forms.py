"""Forms of the self-check: one evidence form per criterion of a criteria set, and small action forms."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import HiddenField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional


class EvidenceForm(FlaskForm):
    text = TextAreaField(_l("Text or web address"), validators=[Optional(), Length(max=5000)])
    file = FileField(_l("File (PDF, PNG or JPEG, at most 10 MB)"))


def evidence_form(code: str, **kwargs) -> EvidenceForm:
    """The evidence form of one criterion; the prefix keeps field ids unique on the page."""
    return EvidenceForm(prefix=f"ev{code}", **kwargs)


class FreezeForm(FlaskForm):
    version = HiddenField(validators=[DataRequired(), Length(max=20)])


class ConfirmForm(FlaskForm):
    """A POST with only the CSRF token: remove evidence, request a PDF."""
