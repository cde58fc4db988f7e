"""The network's norms between the care lines (coordinator)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField
from wtforms.validators import InputRequired, NumberRange

from app.norms.services import INTAKE_NORM_RANGE, LETTER_NORM_RANGE


def _days(label, low_high, description):
    low, high = low_high
    message = _l("Enter a whole number of working days from %(low)d to %(high)d.", low=low, high=high)
    return IntegerField(label, validators=[InputRequired(message=message), NumberRange(min=low, max=high,
                                                                                        message=message)],
                        description=description)


class NormSettingsForm(FlaskForm):
    intake_norm_days = _days(_l("Intake held within (working days after acceptance)"), INTAKE_NORM_RANGE,
                             _l("1 to 30 working days; weekends and Dutch public holidays do not count."))
    gp_letter_norm_days = _days(_l("Letter to the GP within (working days after the intake or a significant "
                                   "change)"), LETTER_NORM_RANGE, _l("1 to 10 working days."))
    mdo_report_norm_days = _days(_l("MDO report to the GP within (working days after the meeting)"),
                                 LETTER_NORM_RANGE, _l("1 to 10 working days (the SONCOS norm is 2)."))
