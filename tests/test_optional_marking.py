"""Optional fields are marked the same way everywhere: the field macro adds "(optional)" to the label of a field
with an Optional validator, once (a label that already says so is left as it is), and never to a required one.

How it fails: drop the flags.optional branch in _macros.html's field(), and "BIG number" loses its mark."""
from __future__ import annotations

import re

from flask import render_template_string
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Optional

from app.networks.models import Role
from tests.conftest import login_as, make_member, make_network


class _Form(FlaskForm):
    name = StringField("Name", validators=[DataRequired()])
    town = StringField("Town", validators=[Optional()])
    bsn = StringField("BSN (optional)", validators=[Optional()])


def _labels(html: str) -> list[str]:
    return [re.sub(r"\s+", " ", text).strip() for text in re.findall(r"<label[^>]*>(.*?)</label>", html, re.S)]


def test_the_field_macro_marks_optional_fields_once_and_required_ones_never(app):
    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        html = render_template_string('{% from "_macros.html" import field %}{% for f in form %}'
                                      '{% if f.type != "CSRFTokenField" %}{{ field(f) }}{% endif %}{% endfor %}',
                                      form=_Form(meta={"csrf": False}))
    assert _labels(html) == ["Name", "Town (optional)", "BSN (optional)"]


def test_the_member_form_marks_its_optional_fields_in_dutch_too(client):
    network = make_network("zk")
    boss = make_member(network, "boss@example.nl", role=Role.COORDINATOR)
    member = make_member(network, "lid@example.nl")
    login_as(client, boss.user)
    html = client.get(f"/n/zk/members/{member.id}/edit").get_data(as_text=True)
    labels = _labels(html)
    assert "BIG-nummer (optioneel)" in labels and "Postcode (optioneel)" in labels
    assert not any(label.count("(optioneel)") > 1 for label in labels)
