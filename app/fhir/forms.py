"""Registering a connected system in the app (a coordinator for the network, a GP for their own referrals)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, StringField
from wtforms.validators import DataRequired, Length

from app.core.form_fields import MultiCheckboxField
from app.fhir import clients

SCOPE_LABELS = {
    clients.SCOPE_REFERRAL_WRITE: _l("Send referrals"),
    clients.SCOPE_TASK_READ: _l("Read where referrals stand (Task), and hear of changes (Subscription)"),
    clients.SCOPE_CARETEAM_READ: _l("Read the care team"),
    clients.SCOPE_CONSENT_READ: _l("Read the consents"),
    clients.SCOPE_LETTER_READ: _l("Read the letters to the GP"),
    clients.SCOPE_RECORD_READ: _l("Read the shared record, as far as the patient's consent shares it"),
}


class SystemForm(FlaskForm):
    name = StringField(_l("Name of the system"), validators=[
        DataRequired(message=_l("Give the system a name.")), Length(max=200)],
        description=_l("For example the name of the information system and the practice."))
    scopes = MultiCheckboxField(_l("What the system may do"), validators=[
        DataRequired(message=_l("Choose at least one permission."))])

    def __init__(self, *args, allowed: frozenset[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.scopes.choices = [(scope, SCOPE_LABELS[scope]) for scope in clients.SCOPES if scope in allowed]


class RevokeSystemForm(FlaskForm):
    confirm = BooleanField(_l("Yes, disconnect this system: its access ends at once"),
                           validators=[DataRequired(message=_l("Tick the box to confirm."))])
