"""The coordinator's referral page offers, per status, the one main next step first and the others as
secondary steps (folded away): after acceptance it is "plan the intake", once planned "start the intake",
never three equal buttons side by side."""
from __future__ import annotations

import re

import pytest

from app.referrals.models import ReferralStatus as S
from tests.conftest import login_as
from tests.test_referral_places import noord, refer, text_of  # noqa: F401 (noord is a fixture)

# status -> (the main step's marker, the secondary steps' markers, what must not be offered at all)
EXPECTED = {
    S.SUBMITTED: ('id="action-acknowledge"', ['id="action-decline"', 'id="action-forward"'],
                  ['id="action-accept"', 'id="action-request_info"']),
    S.ACKNOWLEDGED: ('id="action-accept"', ['id="action-request_info"', 'id="action-decline"',
                                            'id="action-forward"'], ['id="action-acknowledge"']),
    S.INFO_REQUESTED: (None, ['id="action-decline"', 'id="action-forward"'], ['id="action-accept"']),
    S.ACCEPTED: ('id="action-plan_intake"', ['id="action-care_without_intake"', "/cases/intake/"],
                 ['id="action-close"']),
    S.INTAKE_PLANNED: ("/cases/intake/", ['id="action-plan_intake"', 'id="action-care_without_intake"'],
                       ['id="action-close"', 'id="action-accept"']),
    S.IN_CARE: (None, ['id="action-close"'], ['id="action-plan_intake"', "/cases/intake/"]),
}


def _section(html: str, element_id: str) -> str:
    match = re.search(rf'<div class="[^"]*" id="{element_id}">(.*?)</div><!-- /{element_id} -->', html, re.S)
    return match.group(1) if match else ""


@pytest.mark.parametrize("status", list(EXPECTED))
def test_each_status_puts_its_main_step_first_and_keeps_the_others_secondary(client, noord, status):  # noqa: F811
    main, secondary, absent = EXPECTED[status]
    referral = refer(noord, status)
    login_as(client, noord.boss)
    html = text_of(client.get(f"/n/noord/referrals/{referral.id}"))
    actions = html.split('id="actions-heading"')[1].split("</section>")[0]
    first, others = _section(actions, "main-action"), _section(actions, "other-actions")
    if main is None:
        assert 'id="main-action"' not in actions
    else:
        assert main in first and actions.index('id="main-action"') < actions.index('id="other-actions"')
        assert first.count('class="button primary"') + first.count('class="primary"') == 1  # one main button
        assert main not in others
    for marker in secondary:
        assert marker in others and marker not in first, marker
    for marker in absent:
        assert marker not in actions, marker
    assert "start_care" not in actions and "Mark as in care" not in actions


def test_after_acceptance_the_intake_date_form_is_the_one_main_step(client, noord):  # noqa: F811
    referral = refer(noord, S.ACCEPTED)
    login_as(client, noord.boss)
    html = text_of(client.get(f"/n/noord/referrals/{referral.id}"))
    first = _section(html, "main-action")
    assert "Plan the intake" in first and 'name="intake_on"' in first
    assert "Start the intake now, without planning it" in _section(html, "other-actions")
    assert "<summary>Care without intake</summary>" in _section(html, "other-actions")


def test_once_planned_the_intake_date_can_still_be_changed_but_is_not_the_main_step(client, noord):  # noqa: F811
    referral = refer(noord, S.INTAKE_PLANNED)
    login_as(client, noord.boss)
    html = text_of(client.get(f"/n/noord/referrals/{referral.id}"))
    assert f'href="/n/noord/cases/intake/{referral.id}">Start the intake</a>' in _section(html, "main-action")
    others = _section(html, "other-actions")
    assert "<summary>Change the intake date</summary>" in others and 'id="action-plan_intake"' in others
