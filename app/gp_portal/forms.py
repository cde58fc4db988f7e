"""The GP portal's forms: self-registration and practice links; the referral form (patient, medical
context, request, consent, PDF letters) with its conversions form <-> service; the small action forms
on a referral and the question to the case's central care provider. The controlled lists (codes and
labels) are the referral domain's: app/referrals/models.py."""
from __future__ import annotations

import re
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import (
    BooleanField,
    EmailField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    PasswordField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    Email,
    EqualTo,
    InputRequired,
    Length,
    Optional,
    Regexp,
    ValidationError,
)

from app.auth.models import GPProfile, ReferrerKind
from app.core.form_fields import BIRTH_DATE_MESSAGES, DatePartsField, MultiCheckboxField, ScoreField
from app.core.validators import BSN, AGBCode, DateOfBirth, Postcode
from app.networks.models import Discipline
from app.referrals import attachments
from app.referrals.models import (
    COMPLAINT_ITEMS,
    GOAL_CHOICES,
    LANGUAGE_CHOICES,
    PHASE_CHOICES,
    SEX_CHOICES,
    TUMOUR_TYPES,
    URGENCY_CHOICES,
    YES_NO_UNKNOWN,
    Referral,
    Urgency,
)

PHONE_RE = r"^\+?[0-9 ()\-.]{6,30}$"
KEY_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
MEDICATION_ROWS = 5
MAX_MEDICATION_ROWS = 40
_TEXT = 5000
_CHOOSE = ("", _l("Choose..."))
_PHONE = Regexp(PHONE_RE, message=_l("Enter a phone number, for example 023 123 4567."))


# --- registration and practice links ------------------------------------------------------------

class RegistrationForm(FlaskForm):
    full_name = StringField(_l("Your full name"), validators=[DataRequired(), Length(max=200)])
    email = EmailField(_l("Work email address"), validators=[DataRequired(), Email(), Length(max=254)],
                       description=_l("We send a link to this address to confirm it."))
    kind = RadioField(_l("Your role"), default=ReferrerKind.GP.value, validators=[DataRequired()],
                      choices=[(ReferrerKind.GP.value, _l("GP")),
                               (ReferrerKind.POH.value, _l("Practice nurse (POH), referring on behalf of a GP"))])
    agb_code = StringField(_l("Your AGB code"), validators=[DataRequired(), AGBCode()],
                           description=_l("Your personal AGB code: 8 digits."),
                           render_kw={"inputmode": "numeric", "autocomplete": "off", "class": "input-width-10"})
    practice_name = StringField(_l("Practice name"), validators=[DataRequired(), Length(max=200)])
    city = StringField(_l("Practice town"), validators=[DataRequired(), Length(max=100)])
    practice_agb = StringField(_l("AGB code of the practice (optional)"), validators=[Optional(), AGBCode()],
                               render_kw={"inputmode": "numeric", "autocomplete": "off", "class": "input-width-10"})
    phone = StringField(_l("Phone number (optional)"), validators=[Optional(), Length(max=30)],
                        render_kw={"autocomplete": "tel"})
    password = PasswordField(_l("Password"), validators=[DataRequired()],
                             description=_l("At least 12 characters. A sentence of a few words works well."))
    confirm = PasswordField(_l("Repeat the password"),
                            validators=[DataRequired(), EqualTo("password", message=_l("The passwords differ."))])


class LinkRequestForm(FlaskForm):
    agb_code = StringField(_l("AGB code of the GP"), validators=[DataRequired(), AGBCode()],
                           render_kw={"inputmode": "numeric", "autocomplete": "off", "class": "input-width-10"})


# --- the referral form ---------------------------------------------------------------------------

class MedicationForm(Form):
    """One row of the medication overview (a plain Form: the outer form carries the CSRF token)."""

    name = StringField(_l("Medicine"), validators=[Length(max=200)])
    dose = StringField(_l("Dose"), validators=[Length(max=100)])
    since = StringField(_l("Since"), validators=[Length(max=100)])

    def validate_name(self, field):
        if not (field.data or "").strip() and ((self.dose.data or "").strip() or (self.since.data or "").strip()):
            raise ValidationError(_l("Enter the name of the medicine, or clear this row."))


def _yes_no_unknown(label):
    return RadioField(label, choices=YES_NO_UNKNOWN,
                      validators=[InputRequired(message=_l("Choose yes, no or unknown."))])


def _complaints(label):
    return MultiCheckboxField(label, validators=[Optional()])


def _complaints_text(label):
    return TextAreaField(label, validators=[Optional(), Length(max=2000)])


def _required(message):
    return DataRequired(message=message)


class ReferralForm(FlaskForm):
    """The whole referral. Built per request with the GPs the user may refer for and the disciplines."""

    submission_key = HiddenField(validators=[Optional(), Regexp(KEY_RE)])
    van = HiddenField(validators=[Optional(), Regexp(r"^[0-9]{1,12}$")])  # the forwarded referral this copies
    on_behalf_of = SelectField(_l("On behalf of GP"), coerce=int, validators=[InputRequired(
        message=_l("Choose the GP on whose behalf you refer."))])

    # Patient
    given_name = StringField(_l("Given name"), validators=[_required(_l("Enter the given name.")), Length(max=100)])
    family_name = StringField(_l("Family name"), validators=[_required(_l("Enter the family name.")), Length(max=100)])
    date_of_birth = DatePartsField(_l("Date of birth"), validators=[_required(_l("Enter the date of birth.")),
                                                                    DateOfBirth()],
                                   messages=BIRTH_DATE_MESSAGES, description=_l("For example 12 3 1958."))
    sex = SelectField(_l("Sex"), choices=(_CHOOSE, *SEX_CHOICES),
                      validators=[_required(_l("Choose the sex (or unknown)."))])
    bsn = StringField(_l("BSN (optional)"), validators=[Optional(), Length(max=11), BSN()],
                      description=_l("9 digits; checked with the 11-test."),
                      render_kw={"inputmode": "numeric", "autocomplete": "off", "class": "input-width-10"})
    address = StringField(_l("Address"), validators=[_required(_l("Enter the street and house number.")),
                                                     Length(max=200)])
    postcode = StringField(_l("Postcode"), validators=[_required(_l("Enter the postcode.")), Postcode()],
                           description=_l("For example 1234 AB."), render_kw={"class": "input-width-10"})
    city = StringField(_l("Town"), validators=[_required(_l("Enter the town.")), Length(max=100)])
    phone = StringField(_l("Phone"), validators=[_required(_l("Enter the patient's phone number.")),
                                                 Length(max=30), _PHONE],
                        render_kw={"type": "tel", "class": "input-width-20"})
    email = StringField(_l("Email (optional)"), validators=[Optional(), Length(max=254), Email(
        message=_l("Enter an email address like name@example.nl."))], render_kw={"type": "email"})
    preferred_language = SelectField(_l("Preferred language"), choices=LANGUAGE_CHOICES, default="nl")
    relative_name = StringField(_l("Name (optional)"), validators=[Optional(), Length(max=200)])
    relative_relation = StringField(_l("Relation to the patient (optional)"),
                                    validators=[Optional(), Length(max=100)],
                                    description=_l("For example partner, daughter, neighbour."))
    relative_phone = StringField(_l("Phone (optional)"), validators=[Optional(), Length(max=30), _PHONE],
                                 render_kw={"type": "tel", "class": "input-width-20"})

    # Medical context
    tumour_type = SelectField(_l("Kind of cancer"), choices=(_CHOOSE, *TUMOUR_TYPES),
                              validators=[_required(_l("Choose the kind of cancer."))])
    hospital = StringField(_l("Hospital"), validators=[_required(_l("Enter the treating hospital.")),
                                                       Length(max=200)])
    specialist = StringField(_l("Main treating specialist"), validators=[_required(_l(
        "Enter the main treating specialist (hoofdbehandelaar).")), Length(max=200)])
    treatment_phase = SelectField(_l("Treatment phase"), choices=(_CHOOSE, *PHASE_CHOICES),
                                  validators=[_required(_l("Choose the treatment phase."))])
    treatment_goal = SelectField(_l("Main treatment goal"), choices=(_CHOOSE, *GOAL_CHOICES),
                                 validators=[_required(_l("Choose curative or palliative."))])
    history = TextAreaField(_l("Relevant history (optional)"), validators=[Optional(), Length(max=_TEXT)])
    medications = FieldList(FormField(MedicationForm), min_entries=MEDICATION_ROWS, max_entries=MAX_MEDICATION_ROWS)
    medication_list_attached = BooleanField(_l("The current medication overview is attached as a PDF"))
    resuscitation = _yes_no_unknown(_l("Has the patient chosen not to be resuscitated?"))
    resuscitation_text = TextAreaField(_l("Explanation about resuscitation (optional)"),
                                       validators=[Optional(), Length(max=2000)])
    euthanasia = _yes_no_unknown(_l("Has the patient asked for euthanasia?"))
    euthanasia_text = TextAreaField(_l("Explanation about euthanasia (optional)"),
                                    validators=[Optional(), Length(max=2000)])
    advance_directive = _yes_no_unknown(_l("Does the patient have an advance directive?"))
    advance_directive_text = TextAreaField(_l("Explanation about the advance directive, treatment wishes and limits "
                                              "(optional)"),
                                           validators=[Optional(), Length(max=2000)])

    # The request
    question = TextAreaField(_l("Referral question"), validators=[_required(_l(
        "Write the referral question: what should the network help with?")), Length(max=_TEXT)])
    complaints_physical = _complaints(_l("Physical"))
    complaints_physical_text = _complaints_text(_l("Physical: other complaints or explanation (optional)"))
    complaints_psychological = _complaints(_l("Psychological"))
    complaints_psychological_text = _complaints_text(_l("Psychological: other complaints or explanation "
                                                        "(optional)"))
    complaints_social = _complaints(_l("Social"))
    complaints_social_text = _complaints_text(_l("Social: other complaints or explanation (optional)"))
    complaints_spiritual = _complaints(_l("Spiritual (meaning)"))
    complaints_spiritual_text = _complaints_text(_l("Spiritual: other complaints or explanation (optional)"))
    distress_score = ScoreField(
        _l("Distress thermometer score (optional)"), validators=[Optional()],
        invalid_message=_l("The distress thermometer score is a whole number from 0 to 10."),
        render_kw={"inputmode": "numeric", "autocomplete": "off", "class": "input-width-3"},
        description=_l("From 0 (no distress) to 10 (extreme distress)."))
    disciplines = MultiCheckboxField(_l("Disciplines you think of (optional)"), coerce=int, validators=[Optional()])
    urgency = SelectField(_l("Urgency"), choices=URGENCY_CHOICES, default=Urgency.ROUTINE.value)
    social_situation = TextAreaField(_l("Social situation and care problems (optional)"),
                                     validators=[Optional(), Length(max=_TEXT)])

    # Consent and letters
    consent = BooleanField(_l("I confirm that the patient agreed to this referral and to sharing this information "
                              "with the network's contact person"))
    attachments = MultipleFileField(_l("Letters as PDF (optional)"), render_kw={"accept": "application/pdf,.pdf"},
                                    description=_l(
        "For example the specialist's letter or the medication overview. PDF only, at most 10 MB each and "
        "10 files in all."))

    def __init__(self, *args, gps: list[GPProfile], disciplines: list[Discipline], locale: str, choose_gp: bool,
                 **kwargs):
        super().__init__(*args, **kwargs)
        # Set by the view before validate(): PDFs already stored with the draft.
        self.existing_attachments = 0
        self._checked: list[tuple[Any, str | None]] | None = None
        for dimension, items in COMPLAINT_ITEMS.items():
            self[f"complaints_{dimension}"].choices = list(items)
        self.disciplines.choices = [(d.id, d.name(locale)) for d in disciplines]
        if not choose_gp:
            del self.on_behalf_of  # a GP refers for their own profile
        else:
            self.on_behalf_of.choices = [(gp.id, f"{gp.user.full_name} · {gp.practice_name}") for gp in gps]

    def filled(self, *names: str) -> bool:
        """Whether any of the fields *names* holds input or an error (its folded part is shown open)."""
        for name in names:
            if name not in self:
                continue
            field = self[name]
            if field.errors:
                return True
            data = field.data
            if isinstance(data, str):
                if data.strip() and data != (field.default or ""):
                    return True
            elif data not in (None, [], (), False) and data != field.default:
                return True
        return False

    # --- uploads ---------------------------------------------------------------------------------

    def checked_uploads(self) -> list[tuple[Any, str | None]]:
        """The files chosen in this request, each with its refusal message or None (checked once)."""
        if self._checked is None:
            self._checked = []
            for upload in [f for f in (self.attachments.data or []) if getattr(f, "filename", None)]:
                try:
                    attachments.read_pdf(upload)
                except attachments.AttachmentError as exc:
                    self._checked.append((upload, str(exc)))
                else:
                    self._checked.append((upload, None))
        return self._checked

    def valid_uploads(self) -> list:
        return [upload for upload, problem in self.checked_uploads() if problem is None]

    def validate_attachments(self, field):
        problems = [problem for _upload, problem in self.checked_uploads() if problem]
        if self.existing_attachments + len(self.checked_uploads()) > attachments.MAX_ATTACHMENTS:
            problems.append(str(_l("A referral can have at most %(max)d attachments.",
                                   max=attachments.MAX_ATTACHMENTS)))
        if problems:
            field.errors.extend(problems[:-1])
            raise ValidationError(problems[-1])

    # --- cross-field rules -------------------------------------------------------------------------

    def validate_medication_list_attached(self, field):
        if any((row["name"] or "").strip() for row in self.medications.data):
            return
        if field.data and self.existing_attachments + len(self.valid_uploads()) > 0:
            return
        if field.data:
            raise ValidationError(_l("Attach the medication overview as a PDF below, or enter the medicines."))
        raise ValidationError(_l("Enter at least one medicine (write \"none\" if the patient uses none), or tick "
                                 "that the medication overview is attached and attach it as a PDF."))

    def validate_distress_score(self, field):
        if field.data is not None and not 0 <= field.data <= 10:
            raise ValidationError(_l("The distress thermometer score is a whole number from 0 to 10."))

    def validate_consent(self, field):
        if not field.data:
            raise ValidationError(_l("Confirm that the patient agreed to the referral; without this consent the "
                                     "referral cannot be sent."))


class AnswerForm(FlaskForm):
    text = TextAreaField(_l("Your answer"), validators=[DataRequired(message=_l("Write your answer.")),
                                                        Length(max=_TEXT)])


class WithdrawForm(FlaskForm):
    reason = TextAreaField(_l("Reason (optional)"), validators=[Optional(), Length(max=2000)],
                           description=_l("The network's coordinator reads this."))


class QuestionForm(FlaskForm):
    """The GP's question to the central care provider of the case behind their referral."""

    body = TextAreaField(_l("Your question"), validators=[DataRequired(), Length(max=5000)])


class MdoInputForm(FlaskForm):
    """The GP's input before a multidisciplinary meeting about their patient."""

    home_situation = TextAreaField(_l("How is the patient doing at home?"), validators=[Length(max=4000)])
    patient_wishes = TextAreaField(_l("What does the patient want?"), validators=[Length(max=4000)])


class ConfirmForm(FlaskForm):
    """A POST with only the CSRF token (discard a draft, remove an attachment)."""


# --- conversions --------------------------------------------------------------------------------

def _text(value: str | None) -> str:
    return (value or "").strip()


def submission_from_form(form: ReferralForm) -> tuple[dict[str, Any], list[dict[str, str]], list[int]]:
    """The validated form as services.submit's fields (keys exactly services.REFERRAL_FIELDS),
    medication rows (blank rows dropped) and discipline ids."""
    plain = ("given_name", "family_name", "sex", "address", "postcode", "city", "phone", "preferred_language",
             "relative_name", "relative_relation", "relative_phone", "tumour_type", "hospital", "specialist",
             "treatment_phase", "treatment_goal", "history", "resuscitation", "resuscitation_text", "euthanasia",
             "euthanasia_text", "advance_directive", "advance_directive_text", "question", "urgency",
             "social_situation")
    fields: dict[str, Any] = {name: _text(form[name].data) for name in plain}
    fields.update(
        date_of_birth=form.date_of_birth.data, bsn=form.bsn.data or None, email=_text(form.email.data).lower(),
        medication_list_attached=bool(form.medication_list_attached.data), distress_score=form.distress_score.data,
        complaints={dimension: {"items": list(form[f"complaints_{dimension}"].data or []),
                                "text": _text(form[f"complaints_{dimension}_text"].data)}
                    for dimension in COMPLAINT_ITEMS})
    medications = [{"name": _text(row["name"]), "dose": _text(row["dose"]), "since": _text(row["since"])}
                   for row in form.medications.data if _text(row["name"])]
    return fields, medications, list(form.disciplines.data or [])


def form_data_from_referral(referral: Referral) -> dict[str, list[str]]:
    """A submitted referral as form input (for a new referral copied from it: the forwarded case).
    Consent and the letters are not copied: the GP confirms and attaches them again."""
    data: dict[str, list[str]] = {}
    for name in ("given_name", "family_name", "sex", "bsn", "address", "postcode", "city", "phone", "email",
                 "preferred_language", "relative_name", "relative_relation", "relative_phone", "tumour_type",
                 "hospital", "specialist", "treatment_phase", "treatment_goal", "history", "resuscitation",
                 "resuscitation_text", "euthanasia", "euthanasia_text", "advance_directive",
                 "advance_directive_text", "question", "urgency", "social_situation"):
        value = getattr(referral, name)
        if value:
            data[name] = [str(value)]
    data.update(DatePartsField.formdata("date_of_birth", referral.date_of_birth))
    if referral.distress_score is not None:
        data["distress_score"] = [str(referral.distress_score)]
    if referral.medication_list_attached:
        data["medication_list_attached"] = ["y"]
    for dimension in COMPLAINT_ITEMS:
        part = (referral.complaints or {}).get(dimension) or {}
        data[f"complaints_{dimension}"] = [str(item) for item in part.get("items") or []]
        data[f"complaints_{dimension}_text"] = [str(part.get("text") or "")]
    for position, row in enumerate(referral.medications):
        data.update({f"medications-{position}-name": [row.name], f"medications-{position}-dose": [row.dose],
                     f"medications-{position}-since": [row.since]})
    data["disciplines"] = [str(discipline.id) for discipline in referral.disciplines]
    data["on_behalf_of"] = [str(referral.gp_profile_id)]
    return data


_MEDICATION_KEY = re.compile(r"^medications-([0-9]{1,2})-(name|dose|since)$")


def draft_data_from_request(form: ReferralForm, posted) -> dict[str, list[str]]:
    """What a draft keeps: the posted values of the form's own fields, as typed (even when invalid).
    Unknown keys (and the CSRF token) are dropped, so a draft cannot be stuffed with anything else."""
    names = {name for name in form._fields if name not in ("csrf_token", "attachments", "medications")}
    names |= {part for field in form for part in getattr(field, "part_names", ())}  # a date's day, month, year
    kept = {}
    for key, values in posted.lists():
        match = _MEDICATION_KEY.match(key)
        if key in names or (match and int(match.group(1)) < MAX_MEDICATION_ROWS):
            kept[key] = [value[:_TEXT] for value in values[:50]]
    return kept
