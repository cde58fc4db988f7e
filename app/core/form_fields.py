"""Form fields shared by features: checkbox lists and 0-10 scores (the distress thermometer)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import IntegerField, SelectMultipleField
from wtforms.widgets import CheckboxInput, ListWidget, TextInput


class MultiCheckboxField(SelectMultipleField):
    """A multiple choice shown as checkboxes (works without JavaScript)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class ScoreField(IntegerField):
    """A whole number in a text input (numeric keyboard), so a wrong entry stays visible next to the field's
    own clear message instead of WTForms' generic one."""

    widget = TextInput()

    def __init__(self, *args, invalid_message=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.invalid_message = invalid_message or _l("Enter a whole number from 0 to 10.")

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(str(self.invalid_message)) from None
