"""Forms of the case pages: the intake, its correction, proposing a colleague (with the consent when none
covers them yet), recording and withdrawing consent, setting the central care provider; notes, next
actions, the distress thermometer and closing.

The controlled lists (Lastmeter problems, practical domains, note visibilities, ...) are domain data in
app.cases.models; choices that depend on the network (members, the care team) are filled in by the view.
Field names are unique across the forms of one page. Dates are judged in the networks' zone; the services
judge the rules again and have the last word."""
from __future__ import annotations

import secrets
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError

from app.cases import proms
from app.cases.models import (
    INTAKE_FIELDS,
    LASTMETER_GROUPS,
    LASTMETER_LABELS,
    NOTE_VISIBILITY_CHOICES,
    PRACTICAL_DOMAINS,
    ConsentMethod,
    ConsentPart,
    Intake,
    NoteVisibility,
    lastmeter_label,
)
from app.core.dates import local_today
from app.core.form_fields import MultiCheckboxField, ScoreField
from app.core.validators import NotInFuture, NotInPast
from app.networks.models import Membership
from app.referrals.models import COMPLAINT_ITEMS, DIMENSIONS, YES_NO_UNKNOWN

_TEXT = 10_000
MAX_NOTE = 20000
MAX_SUMMARY = 5000

# --- choices and labels ------------------------------------------------------------------------------

# The referral form owns the complaint lists; the intake shows its codes with the same words.
COMPLAINT_LABELS = {dimension: dict(items) for dimension, items in COMPLAINT_ITEMS.items()}
DIMENSION_LABELS = dict(DIMENSIONS)


def method_choices() -> list[tuple[str, str]]:
    return [(m.value, m.label) for m in ConsentMethod]  # built per form: the labels follow the request's language


def part_choices() -> list[tuple[str, str]]:
    return [(p.value, p.label) for p in ConsentPart]


def complaint_label(dimension: str, code: str) -> str:
    label = COMPLAINT_LABELS.get(dimension, {}).get(code)
    return str(label) if label is not None else code.replace("_", " ")


def _text(label, max_length: int = _TEXT, **kwargs):
    return TextAreaField(label, validators=[Optional(), Length(max=max_length)], **kwargs)


def optional_int(value) -> int | None:
    """Coerce a select's value: "" (the "Choose..." option) is None; anything else must be a number."""
    if value is None or value == "":
        return None
    return int(value)


def _with_unknown(choices: list[tuple[str, Any]], stored: list[str]) -> list[tuple[str, Any]]:
    """Keep codes that are stored but not (or no longer) in the list, so saving never drops them."""
    known = {code for code, _ in choices}
    return [*choices, *[(code, code.replace("_", " ")) for code in stored if code not in known]]


# --- the intake --------------------------------------------------------------------------------------

class IntakeForm(FlaskForm):
    """The whole intake as one form. Two buttons post it: name="action" value "save" or "complete"."""

    held_on = DateField(_l("Date of the intake conversation"), validators=[
        DataRequired(message=_l("Enter the date of the conversation as day-month-year.")), NotInFuture()])
    story = _text(_l("The patient's story, in their own words"), 50_000, description=_l(
        "What the patient tells, as they tell it. The care team reads this, so the patient need not repeat it."))
    problems_physical = MultiCheckboxField(_l("Physical"), validators=[Optional()])
    problems_physical_text = _text(_l("Physical: in the patient's words"), 5000)
    problems_psychological = MultiCheckboxField(_l("Psychological"), validators=[Optional()])
    problems_psychological_text = _text(_l("Psychological: in the patient's words"), 5000)
    problems_social = MultiCheckboxField(_l("Social"), validators=[Optional()])
    problems_social_text = _text(_l("Social: in the patient's words"), 5000)
    problems_spiritual = MultiCheckboxField(_l("Spiritual (meaning)"), validators=[Optional()])
    problems_spiritual_text = _text(_l("Spiritual: in the patient's words"), 5000)
    practical_work = _text(_l("Work"), 2000)
    practical_finances = _text(_l("Finances"), 2000)
    practical_housing = _text(_l("Housing"), 2000)
    practical_transport = _text(_l("Transport"), 2000)
    practical_household = _text(_l("Household"), 2000)
    distress_score = ScoreField(
        _l("Distress thermometer score"), validators=[Optional()],
        invalid_message=_l("The distress thermometer score is a whole number from 0 to 10."),
        render_kw={"inputmode": "numeric", "autocomplete": "off"},
        description=_l("From 0 (no distress) to 10 (extreme distress); leave empty if not asked."))
    distress_practical = MultiCheckboxField(_l("Practical problems"), validators=[Optional()])
    distress_family = MultiCheckboxField(_l("Family and social problems"), validators=[Optional()])
    distress_emotional = MultiCheckboxField(_l("Emotional problems"), validators=[Optional()])
    distress_spiritual = MultiCheckboxField(_l("Spiritual or religious problems"), validators=[Optional()])
    distress_physical = MultiCheckboxField(_l("Physical problems"), validators=[Optional()])
    goals = _text(_l("Goals and wishes"))
    partner_situation = _text(_l("The partner's situation"), description=_l(
        "How the partner or another close relative is doing, and what they need."))
    sharing_wishes = _text(_l("What the patient does and does not want shared"), description=_l(
        "The care team sees this before anything else."))

    def __init__(self, *args, stored: Intake | dict[str, Any] | None = None, completing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.completing = completing
        values = stored if isinstance(stored, dict) else (_intake_values(stored) if stored is not None else {})
        problems = values.get("problems") or {}
        for dimension, items in COMPLAINT_ITEMS.items():
            self[f"problems_{dimension}"].choices = _with_unknown(
                list(items), list((problems.get(dimension) or {}).get("items") or []))
        stored_distress = list(values.get("distress_problems") or [])
        known = set(LASTMETER_LABELS)
        for group, _label, items in LASTMETER_GROUPS:
            extra = [code for code in stored_distress if code not in known] if group == "physical" else []
            self[f"distress_{group}"].choices = _with_unknown(list(items), extra)
        if stored is not None and not self.is_submitted():
            self._fill(values)

    def _fill(self, values: dict[str, Any]) -> None:
        self.held_on.data = values.get("held_on")
        self.story.data = values.get("story") or ""
        problems = values.get("problems") or {}
        for dimension in COMPLAINT_ITEMS:
            entry = problems.get(dimension) or {}
            self[f"problems_{dimension}"].data = list(entry.get("items") or [])
            self[f"problems_{dimension}_text"].data = entry.get("text") or ""
        practical = values.get("practical") or {}
        for domain, _label in PRACTICAL_DOMAINS:
            self[f"practical_{domain}"].data = practical.get(domain) or ""
        self.distress_score.data = values.get("distress_score")
        stored_distress = list(values.get("distress_problems") or [])
        for group, _label, _items in LASTMETER_GROUPS:
            field = self[f"distress_{group}"]
            codes = {code for code, _ in field.choices}
            field.data = [code for code in stored_distress if code in codes]
        for name in ("goals", "partner_situation", "sharing_wishes"):
            self[name].data = values.get(name) or ""

    def validate_distress_score(self, field):
        if field.data is not None and not 0 <= field.data <= 10:
            raise ValidationError(_l("The distress thermometer score is a whole number from 0 to 10."))

    def validate_story(self, field):
        if self.completing and not (field.data or "").strip():
            raise ValidationError(_l("Write down the patient's story before completing the intake."))

    def values(self) -> dict[str, Any]:
        """The intake fields for services.save_intake."""
        problems = {dimension: {"items": list(self[f"problems_{dimension}"].data or []),
                                "text": (self[f"problems_{dimension}_text"].data or "").strip()}
                    for dimension in COMPLAINT_ITEMS}
        distress: list[str] = []
        for group, _label, _items in LASTMETER_GROUPS:
            distress.extend(code for code in self[f"distress_{group}"].data or [] if code not in distress)
        return {
            "held_on": self.held_on.data,
            "story": (self.story.data or "").strip(),
            "problems": problems,
            "practical": {domain: (self[f"practical_{domain}"].data or "").strip()
                          for domain, _label in PRACTICAL_DOMAINS},
            "distress_score": self.distress_score.data,
            "distress_problems": distress,
            "goals": (self.goals.data or "").strip(),
            "partner_situation": (self.partner_situation.data or "").strip(),
            "sharing_wishes": (self.sharing_wishes.data or "").strip(),
        }

    def problem_fields(self):
        """(dimension label, checkbox field, text field) in the fixed order."""
        return [(DIMENSION_LABELS[d], self[f"problems_{d}"], self[f"problems_{d}_text"]) for d in COMPLAINT_ITEMS]

    def practical_fields(self):
        return [self[f"practical_{domain}"] for domain, _label in PRACTICAL_DOMAINS]

    def distress_fields(self):
        return [self[f"distress_{group}"] for group, _label, _items in LASTMETER_GROUPS]


def _intake_values(intake: Intake) -> dict[str, Any]:
    return {name: getattr(intake, name) for name in INTAKE_FIELDS}


class CorrectionForm(FlaskForm):
    reason = TextAreaField(_l("Why is the intake corrected?"), validators=[
        DataRequired(message=_l("Say why the intake is corrected.")), Length(max=2000)])


# --- consent -----------------------------------------------------------------------------------------

class ConsentFieldsForm(FlaskForm):
    """The fields of one consent. Whether they are required is decided by require_consent(): always when
    recording a consent, and when proposing a colleague only if no consent covers them yet."""

    consent_method = RadioField(_l("How did the patient give consent?"), choices=[],
                                validators=[Optional()])
    consent_purpose = TextAreaField(_l("Purpose of sharing"), validators=[Optional(), Length(max=2000)],
                                    description=_l("For example: nutrition advice and consultation of a sexologist."))
    consent_parts = MultiCheckboxField(_l("What may be shared"), choices=[], validators=[Optional()])
    consent_valid_until = DateField(_l("Valid until (optional)"), validators=[Optional()])
    consent_document = FileField(_l("Signed consent form (PDF, optional, at most 10 MB)"),
                                 render_kw={"accept": "application/pdf,.pdf"})
    consent_agreed = BooleanField(_l("The patient agreed to this, for these people, these parts and this purpose"))
    consent_key = HiddenField()  # one consent per form, whatever the number of submissions

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.consent_method.choices = method_choices()
        self.consent_parts.choices = part_choices()
        if not self.consent_key.data:
            self.consent_key.data = secrets.token_urlsafe(24)

    def require_consent(self) -> bool:
        """Add 'required' errors to the consent fields that are empty; True when all are filled in."""
        ok = True
        checks = (
            (self.consent_method, not self.consent_method.data, _l("Choose how the patient gave consent.")),
            (self.consent_purpose, not (self.consent_purpose.data or "").strip(),
             _l("Describe the purpose of sharing.")),
            (self.consent_parts, not self.consent_parts.data, _l("Choose which parts may be shared.")),
            (self.consent_agreed, not self.consent_agreed.data,
             _l("Confirm that the patient agreed; without that, nothing is shared.")),
        )
        for field, missing, message in checks:
            if missing:
                field.errors = [*field.errors, message]
                ok = False
        if self.consent_valid_until.data is not None and self.consent_valid_until.data < local_today():
            self.consent_valid_until.errors = [*self.consent_valid_until.errors,
                                               _l("The end date of a consent cannot be in the past.")]
            ok = False
        return ok

    def consent_parts_set(self) -> set[ConsentPart]:
        return {ConsentPart(value) for value in self.consent_parts.data or []}

    def consent_method_value(self) -> ConsentMethod:
        return ConsentMethod(self.consent_method.data)


class ConsentForm(ConsentFieldsForm):
    """Record a new consent for chosen members (the consent page)."""

    members = MultiCheckboxField(_l("Who may see the case"), coerce=int, validators=[
        DataRequired(message=_l("Choose who the consent covers."))])


class ProposeForm(ConsentFieldsForm):
    """Propose a colleague for the care team; records the consent first when none covers them."""

    membership_id = SelectField(_l("Colleague"), coerce=optional_int, validators=[
        InputRequired(message=_l("Choose the colleague to involve."))])
    role_in_case = StringField(_l("Role in this case (optional)"), validators=[Optional(), Length(max=200)],
                               description=_l("For example: nutrition advice. Empty: their discipline."))
    reason = TextAreaField(_l("Why involve this colleague?"), validators=[
        DataRequired(message=_l("Give the reason for involving this colleague.")), Length(max=2000)])
    wait_for_patient = BooleanField(
        _l("Let the patient decide in their portal"),
        description=_l("The patient sees the proposal in their record and chooses what this colleague may see; "
                       "the colleague is asked only after the patient's yes. Leave the consent below empty."))


class WithdrawForm(FlaskForm):
    reason = TextAreaField(_l("Why, or at whose request, is the consent withdrawn?"), validators=[
        DataRequired(message=_l("Record why (or at whose request) the consent is withdrawn.")),
        Length(max=2000)])


class CentralForm(FlaskForm):
    membership_id = SelectField(_l("Central care provider"), coerce=optional_int, validators=[
        InputRequired(message=_l("Choose the central care provider."))])
    reason = StringField(_l("Reason (optional)"), validators=[Optional(), Length(max=500)])


class RespondForm(FlaskForm):
    """Accept or decline a proposal: the button posts name="answer" value "accept" or "decline"."""


def intake_labels() -> dict[str, Any]:
    """What the intake templates need to show stored codes as words (pass as **intake_labels())."""
    choices = dict(YES_NO_UNKNOWN)

    def choice_label(code: str | None) -> str:
        if not code:
            return "\u2013"
        label = choices.get(code)
        return str(label) if label is not None else code.replace("_", " ")

    return {"dimensions": DIMENSIONS, "practical_domains": PRACTICAL_DOMAINS, "lastmeter_groups": LASTMETER_GROUPS,
            "complaint_label": complaint_label, "lastmeter_label": lastmeter_label, "choice_label": choice_label}


# --- notes -----------------------------------------------------------------------------------------

class NoteForm(FlaskForm):
    body = TextAreaField(_l("New note"), validators=[DataRequired(message=_l("Write the note.")),
                                                     Length(max=MAX_NOTE)])
    visibility = RadioField(_l("Who may read it"), default=NoteVisibility.TEAM.value,
                            validators=[InputRequired(message=_l("Choose who may read the note."))])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.visibility.choices = [(visibility.value, label) for visibility, label in NOTE_VISIBILITY_CHOICES]


class NoteEditForm(FlaskForm):
    note_body = TextAreaField(_l("Text"), validators=[DataRequired(message=_l("Write the note.")),
                                                      Length(max=MAX_NOTE)],
                              description=_l("The earlier text is kept as a version."))


# --- next actions ----------------------------------------------------------------------------------

class ActionForm(FlaskForm):
    description = StringField(_l("Next step"), validators=[DataRequired(message=_l("Describe the next step.")),
                                                           Length(max=500)])
    owner = SelectField(_l("Who does it"), coerce=int, validate_choice=True,
                        validators=[InputRequired(message=_l("Choose who does it."))])
    due_on = DateField(_l("Due date"), validators=[
        InputRequired(message=_l("Choose the due date.")),
        NotInPast(_l("The due date cannot be in the past."))])

    def __init__(self, *args, owners: list[tuple[Membership, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.owner.choices = [(membership.id, label) for membership, label in owners]


# --- distress thermometer --------------------------------------------------------------------------

class PromForm(FlaskForm):
    score = ScoreField(_l("Score (0 to 10)"), render_kw={"inputmode": "numeric", "autocomplete": "off"},
                       validators=[InputRequired(message=_l("Enter the score from 0 to 10.")),
                                   NumberRange(min=0, max=proms.MAX_SCORE,
                                               message=_l("Enter a whole number from 0 to 10."))],
                       description=_l("0 means no distress, 10 extreme distress; 4 or more suggests discussing a "
                                      "referral."))
    measured_on = DateField(_l("Date of the measurement"), validators=[
        InputRequired(message=_l("Choose the date of the measurement.")),
        NotInFuture(_l("This date cannot be in the future."))])
    problems = MultiCheckboxField(_l("Problems the patient marked"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.problems.choices = proms.problem_choices()


# --- closing ---------------------------------------------------------------------------------------

class ClosePartForm(FlaskForm):
    part_summary = TextAreaField(_l("Summary of your part"),
                                 validators=[DataRequired(message=_l("Write a short summary of your part.")),
                                             Length(max=MAX_SUMMARY)],
                                 description=_l("What you did and what you advise; it goes into the closing "
                                                "letter to the GP."))
    part_confirm = BooleanField(
        _l("I confirm that my part is finished; afterwards I no longer see this case"),
        validators=[DataRequired(message=_l("Tick the box to confirm that you close your part."))])


class CloseCaseForm(FlaskForm):
    case_summary = TextAreaField(_l("Closing summary"),
                                 validators=[DataRequired(message=_l("Write a closing summary.")),
                                             Length(max=MAX_SUMMARY)],
                                 description=_l("It goes into the closing letter to the GP, which you can still "
                                                "edit before it is sent."))
    case_confirm = BooleanField(
        _l("I confirm that the care of this patient in the network has ended"),
        validators=[DataRequired(message=_l("Tick the box to confirm that you close the case."))])
