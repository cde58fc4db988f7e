"""Forms for the coordinator's actions on a referral, one small form per action.

Field names are unique across the forms, so all of them can sit on the detail page at once
without clashing ids. Decline, forward and care without intake cannot be undone: each has a confirm box.
START_CARE has no form: only completing the intake takes it.
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, IntegerField, SelectField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError
from wtforms.widgets import HiddenInput

from app.core.bounded import DB_INT_MAX
from app.core.validators import NotInPast
from app.networks.models import Network
from app.referrals.services import Action

MAX_TEXT = 5000
_not_in_past = NotInPast(_l("The intake date cannot be in the past."))






class AcknowledgeForm(FlaskForm):
    pass


class RequestInfoForm(FlaskForm):
    question = TextAreaField(_l("Your question for the GP"),
                             validators=[DataRequired(message=_l("Write the question for the GP.")),
                                         Length(max=MAX_TEXT)],
                             description=_l("The GP gets a mail that there is a question (without patient data) "
                                            "and answers on the referral."))


class AcceptForm(FlaskForm):
    accept_intake_on = DateField(_l("Intake date (optional)"), validators=[Optional(), _not_in_past],
                                 description=_l("With a date, the intake is planned at once."))


class PlanIntakeForm(FlaskForm):
    intake_on = DateField(_l("Intake date"),
                          validators=[InputRequired(message=_l("Choose the date of the intake.")), _not_in_past])


class CareWithoutIntakeForm(FlaskForm):
    care_reason = TextAreaField(_l("Reason for care without intake"),
                                validators=[DataRequired(message=_l("Give the reason for care without intake.")),
                                            Length(max=MAX_TEXT)],
                                description=_l("Why the patient is taken into care without an intake conversation. "
                                               "The GP reads this reason."))
    care_confirm = BooleanField(
        _l("I decide that the patient is in care without intake; the case opens with me as first contact"),
        validators=[DataRequired(message=_l("Tick the box to confirm care without intake."))])


class CloseForm(FlaskForm):
    close_note = TextAreaField(_l("Note for the GP (optional)"), validators=[Optional(), Length(max=MAX_TEXT)])


class DeclineForm(FlaskForm):
    decline_reason = TextAreaField(_l("Reason for declining"),
                                   validators=[DataRequired(message=_l("Give the reason for declining.")),
                                               Length(max=MAX_TEXT)],
                                   description=_l("The GP reads this reason."))
    decline_alternative = TextAreaField(
        _l("Suggested alternative (optional)"), validators=[Optional(), Length(max=1000)],
        description=_l("For example another network or care provider the GP could refer to."))
    decline_confirm = BooleanField(
        _l("I want to decline this referral; this cannot be undone"),
        validators=[DataRequired(message=_l("Tick the box to confirm that you decline the referral."))])


class ForwardForm(FlaskForm):
    forward_network = SelectField(_l("Forward to network"), coerce=int, validate_choice=False,
                                  validators=[DataRequired(message=_l("Choose the network to forward to."))])
    forward_note = TextAreaField(_l("Note (optional)"), validators=[Optional(), Length(max=MAX_TEXT)],
                                 description=_l("Why this network; the GP reads this note."))
    forward_confirm = BooleanField(
        _l("I want to forward this referral; it is then closed here and cannot be undone"),
        validators=[DataRequired(message=_l("Tick the box to confirm that you forward the referral."))])

    def __init__(self, *args, targets: list[Network], own_network_id: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.targets = {network.id: network for network in targets}
        self.own_network_id = own_network_id
        self.forward_network.choices = [(0, _l("Choose a network"))] + [
            (network.id, network.name) for network in targets]

    def validate_forward_network(self, field):
        if field.data == self.own_network_id:
            raise ValidationError(_l("A referral cannot be forwarded to this network itself."))
        if field.data not in self.targets:
            raise ValidationError(_l("Choose one of the networks in the list."))

    @property
    def target(self) -> Network | None:
        return self.targets.get(self.forward_network.data)


class MatchLinkForm(FlaskForm):
    """"The same person": the referral is linked to the known patient named by id (checked by the service
    against the matches shown, so a forged id changes nothing)."""

    patient_id = IntegerField(widget=HiddenInput(), validators=[InputRequired(), NumberRange(min=1, max=DB_INT_MAX)])


class MatchDismissForm(FlaskForm):
    """"Someone else": the matches are dismissed for this referral."""


ACTION_FORMS: dict[Action, type[FlaskForm]] = {
    Action.ACKNOWLEDGE: AcknowledgeForm,
    Action.REQUEST_INFO: RequestInfoForm,
    Action.ACCEPT: AcceptForm,
    Action.PLAN_INTAKE: PlanIntakeForm,
    Action.CARE_WITHOUT_INTAKE: CareWithoutIntakeForm,
    Action.CLOSE: CloseForm,
    Action.DECLINE: DeclineForm,
    Action.FORWARD: ForwardForm,
}


def build_action_form(action: Action, *, targets: list[Network] | None = None, own_network_id: int = 0,
                      formdata=None) -> FlaskForm:
    """The form for *action*: empty (formdata=None, for the page) or filled from the posted data."""
    form_class = ACTION_FORMS[action]
    extra = {"targets": targets or [], "own_network_id": own_network_id} if form_class is ForwardForm else {}
    return form_class(formdata=formdata, **extra)
