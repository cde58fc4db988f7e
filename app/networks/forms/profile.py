"""Forms for the network profile (kept by the coordinator) and its hospital and GP contacts."""
from __future__ import annotations

import re
from urllib.parse import urlsplit

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, EmailField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Email, Length, NumberRange, Optional, ValidationError

from app.core.validators import NotInFuture
from app.networks.models import ContactKind
from app.networks.services.profile import (
    REFERRAL_NORM_MAX_DAYS,
    REFERRAL_NORM_MIN_DAYS,
    ServiceAreaError,
    parse_service_area,
)

PHONE_RE = re.compile(r"\+?[0-9 ()\-]{6,30}")
NORM_MESSAGE = _l("Enter a number of working days from %(min)d to %(max)d.", min=REFERRAL_NORM_MIN_DAYS,
                  max=REFERRAL_NORM_MAX_DAYS)


class Phone:
    def __call__(self, form, field):
        if field.data:
            field.data = field.data.strip()
            if not PHONE_RE.fullmatch(field.data) or sum(c.isdigit() for c in field.data) < 6:
                raise ValidationError(_l("Enter a phone number of digits, for example 023 123 45 67."))


class NetworkProfileForm(FlaskForm):
    name = StringField(_l("Network name"), validators=[DataRequired(), Length(max=200)])
    region = StringField(_l("Region"), validators=[Optional(), Length(max=200)])
    service_area = TextAreaField(
        _l("Service area (postcodes)"), validators=[Optional(), Length(max=5000)],
        description=_l("4-digit postcodes and ranges, separated by commas, e.g. 2011-2036, 2100, 2101-2106."))
    contact_name = StringField(_l("Contact point: name"), validators=[Optional(), Length(max=200)],
                               description=_l("For patients and care providers (criterion 10)."))
    contact_phone = StringField(_l("Contact point: phone"), validators=[Optional(), Length(max=30), Phone()])
    contact_email = EmailField(_l("Contact point: email address"),
                               validators=[Optional(), Email(), Length(max=254)])
    website_url = StringField(_l("Website"), validators=[Optional(), Length(max=300)],
                              description=_l("The full address, starting with https://"))
    website_updated_on = DateField(_l("Website last updated on"), validators=[Optional(), NotInFuture()])
    legal_form = StringField(_l("Legal form"), validators=[Optional(), Length(max=100)],
                             description=_l("For example foundation (stichting) or association (vereniging)."))
    kvk_number = StringField(_l("Chamber of Commerce (KvK) number"), validators=[Optional(), Length(max=20)])
    is_not_for_profit = BooleanField(_l("The network is not-for-profit"))
    vision_text = TextAreaField(_l("Vision and objectives"), validators=[Optional(), Length(max=10000)])
    participation_text = TextAreaField(_l("Participation agreement"), validators=[Optional(), Length(max=10000)],
                                       description=_l("What members agree to take part in."))
    participation_min_meetings = IntegerField(
        _l("Minimum number of meetings a member attends per year"),
        validators=[Optional(), NumberRange(min=0, max=52)],
        description=_l("Optional; leave empty when the agreement sets no number (0 to 52)."))
    is_public = BooleanField(_l("Show this network in the public directory"))
    # Blank or out of range is refused; a post without the field keeps the current norm.
    referral_ack_norm_days = IntegerField(
        _l("Referrals: acknowledge within (working days)"),
        validators=[DataRequired(message=NORM_MESSAGE),
                    NumberRange(min=REFERRAL_NORM_MIN_DAYS, max=REFERRAL_NORM_MAX_DAYS, message=NORM_MESSAGE)],
        description=_l("A new referral is acknowledged to the GP within this many working days (1 to 10; weekends "
                       "and Dutch public holidays do not count). A change applies to referrals submitted after it."))
    local_attested = BooleanField(
        _l("I confirm that the network is local and neighbourhood-oriented (not provincial or national)"))

    def validate_service_area(self, field):
        try:
            parse_service_area(field.data or "")
        except ServiceAreaError as exc:
            raise ValidationError(str(exc)) from None

    def validate_kvk_number(self, field):
        field.data = re.sub(r"\s", "", field.data or "")
        if field.data and not re.fullmatch(r"[0-9]{8}", field.data):
            raise ValidationError(_l("A KvK number has exactly 8 digits."))

    def validate_website_url(self, field):
        field.data = (field.data or "").strip()
        if field.data:
            parts = urlsplit(field.data)
            if parts.scheme not in ("http", "https") or "." not in parts.netloc or " " in field.data:
                raise ValidationError(_l("Enter a web address starting with https://, e.g. https://www.example.nl"))


class ContactForm(FlaskForm):
    # Lazy labels here: ContactKind.label is a str, which would freeze the locale at import.
    kind = SelectField(_l("Kind"), choices=[(ContactKind.HOSPITAL.value, _l("Hospital")),
                                            (ContactKind.GP_PRACTICE.value, _l("GP practice or cooperative"))],
                       validators=[DataRequired()])
    organisation = StringField(_l("Organisation"), validators=[DataRequired(), Length(max=200)])
    contact_person = StringField(_l("Contact person"), validators=[Optional(), Length(max=200)])
    email = EmailField(_l("Email address"), validators=[Optional(), Email(), Length(max=254)])
    phone = StringField(_l("Phone"), validators=[Optional(), Length(max=30), Phone()])
    agreement = TextAreaField(_l("Agreements"), validators=[Optional(), Length(max=10000)],
                              description=_l("What was agreed, and when you last met."))
