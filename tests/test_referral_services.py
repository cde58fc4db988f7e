"""The referral core: the status machine (every legal and illegal transition), idempotent submission,
reference numbers, the working-day response norm across holidays, and mails without patient data."""
from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlalchemy import func, select

from app.core.audit import AuditEvent
from app.core.db import utcnow
from app.core.jobs import run_inline_pending
from app.core.tenancy import network_context
from app.extensions import db
from app.networks.models import Role
from app.patients.models import Patient
from app.referrals import services
from app.referrals.models import Referral, ReferralEvent, ReferralStatus
from app.referrals.services import RULES, Action, IllegalTransition, Side
from tests.conftest import make_gp, make_member, make_network
from tests.referral_factories import MEDICATIONS, VALID_FIELDS, make_referral
from tests.test_jobs import MailSink

S = ReferralStatus
AMSTERDAM = ZoneInfo("Europe/Amsterdam")

# The whole machine, written out once more by hand: (status, action) -> status after. Anything not
# listed must be refused. A change to RULES that is not mirrored here fails the table test.
LEGAL = {
    (S.SUBMITTED, Action.ACKNOWLEDGE): S.ACKNOWLEDGED,
    (S.SUBMITTED, Action.DECLINE): S.DECLINED,
    (S.SUBMITTED, Action.FORWARD): S.FORWARDED,
    (S.SUBMITTED, Action.WITHDRAW): S.WITHDRAWN,
    (S.ACKNOWLEDGED, Action.REQUEST_INFO): S.INFO_REQUESTED,
    (S.ACKNOWLEDGED, Action.ACCEPT): S.ACCEPTED,
    (S.ACKNOWLEDGED, Action.DECLINE): S.DECLINED,
    (S.ACKNOWLEDGED, Action.FORWARD): S.FORWARDED,
    (S.ACKNOWLEDGED, Action.WITHDRAW): S.WITHDRAWN,
    (S.INFO_REQUESTED, Action.ANSWER): S.ACKNOWLEDGED,
    (S.INFO_REQUESTED, Action.DECLINE): S.DECLINED,
    (S.INFO_REQUESTED, Action.FORWARD): S.FORWARDED,
    (S.INFO_REQUESTED, Action.WITHDRAW): S.WITHDRAWN,
    (S.ACCEPTED, Action.PLAN_INTAKE): S.INTAKE_PLANNED,
    (S.ACCEPTED, Action.CARE_WITHOUT_INTAKE): S.IN_CARE,
    (S.INTAKE_PLANNED, Action.PLAN_INTAKE): S.INTAKE_PLANNED,
    (S.INTAKE_PLANNED, Action.START_CARE): S.IN_CARE,  # only with a completed intake: see below
    (S.INTAKE_PLANNED, Action.CARE_WITHOUT_INTAKE): S.IN_CARE,
    (S.IN_CARE, Action.CLOSE): S.CLOSED,
}
STATUSES = [s for s in ReferralStatus if s is not S.DRAFT]
# Legal by the table, but only for the service that completes the intake: without a completed intake it is refused
# (tests/test_referral_places.py takes it with one).
NEEDS_A_COMPLETED_INTAKE = {Action.START_CARE}


@pytest.fixture
def world():
    network = make_network("zk", name="Netwerk Zuid-Kennemerland", approved_at=utcnow())
    other = make_network("tw", name="Netwerk Twente", approved_at=utcnow())
    coordinator = make_member(network, "coordinator@example.nl", role=Role.COORDINATOR, name="Carla Coordinator")
    gp = make_gp("gp@example.nl", "01234567", email_verified_at=utcnow())
    return {"network": network, "other": other, "coordinator": coordinator.user, "gp": gp}


def _take(world, referral: Referral, action: Action):
    side = RULES[action].side
    actor = world["gp"] if side is Side.REFERRER else world["coordinator"]
    with network_context(referral.network_id):
        referral = db.session.get(Referral, referral.id)
        services.transition(referral, action, actor=actor, side=side, text="Omdat het moet",
                            intake_on=date(2026, 12, 7), forward_to=world["other"])
        db.session.commit()
        return referral


def test_the_hand_written_table_matches_the_rules():
    derived = {(source, action): rule.target for action, rule in RULES.items() for source in rule.sources}
    assert derived == LEGAL


@pytest.mark.parametrize("status", STATUSES)
@pytest.mark.parametrize("action", list(Action))
def test_every_transition_is_allowed_or_refused_as_the_table_says(world, status, action):
    referral = make_referral(world["network"], world["gp"], status=status, coordinator=world["coordinator"],
                             forward_to=world["other"])
    with network_context(referral.network_id):
        events_before = db.session.scalar(select(func.count(ReferralEvent.id)))
    expected = LEGAL.get((status, action)) if action not in NEEDS_A_COMPLETED_INTAKE else None
    if expected is None:
        with pytest.raises(IllegalTransition) as refused:
            _take(world, referral, action)
        assert str(refused.value)  # a message for the user, not an empty refusal
        db.session.rollback()
        with network_context(referral.network_id):
            assert db.session.get(Referral, referral.id).status is status
            assert db.session.scalar(select(func.count(ReferralEvent.id))) == events_before
        return
    referral = _take(world, referral, action)
    with network_context(referral.network_id):
        assert referral.status is expected
        event = db.session.scalar(select(ReferralEvent).order_by(ReferralEvent.id.desc()).limit(1))
        assert (event.from_status, event.to_status) == (status, expected)
        actor = world["gp"] if RULES[action].side is Side.REFERRER else world["coordinator"]
        assert event.actor_id == actor.id and event.occurred_at is not None


@pytest.mark.parametrize("action", list(Action))
def test_the_wrong_side_cannot_take_an_action(world, action):
    source = next(iter(RULES[action].sources))
    referral = make_referral(world["network"], world["gp"], status=source, coordinator=world["coordinator"])
    wrong = Side.NETWORK if RULES[action].side is Side.REFERRER else Side.REFERRER
    with network_context(referral.network_id), pytest.raises(IllegalTransition):
        services.transition(referral, action, actor=world["gp"], side=wrong, text="x", intake_on=date(2026, 12, 7),
                            forward_to=world["other"])


@pytest.mark.parametrize(("action", "status", "kwargs"), [
    (Action.DECLINE, S.SUBMITTED, {"text": "  "}),
    (Action.REQUEST_INFO, S.ACKNOWLEDGED, {"text": ""}),
    (Action.ANSWER, S.INFO_REQUESTED, {"text": ""}),
    (Action.PLAN_INTAKE, S.ACCEPTED, {"intake_on": None}),
    (Action.CARE_WITHOUT_INTAKE, S.ACCEPTED, {"text": "  "}),
    (Action.FORWARD, S.SUBMITTED, {"forward_to": None}),
    (Action.FORWARD, S.SUBMITTED, {"forward_to": "own"}),
])
def test_required_details_of_a_transition(world, action, status, kwargs):
    referral = make_referral(world["network"], world["gp"], status=status, coordinator=world["coordinator"])
    if kwargs.get("forward_to") == "own":
        kwargs["forward_to"] = world["network"]
    side = RULES[action].side
    actor = world["gp"] if side is Side.REFERRER else world["coordinator"]
    with network_context(referral.network_id), pytest.raises(IllegalTransition):
        services.transition(referral, action, actor=actor, side=side, **kwargs)


def test_acknowledged_at_is_the_first_acknowledgement(world):
    referral = make_referral(world["network"], world["gp"], status=S.INFO_REQUESTED,
                             coordinator=world["coordinator"])
    first = referral.acknowledged_at
    assert first is not None
    referral = _take(world, referral, Action.ANSWER)
    assert referral.status is S.ACKNOWLEDGED and referral.acknowledged_at == first


def test_question_and_answer_stay_with_the_referral_as_a_thread(world):
    referral = make_referral(world["network"], world["gp"], status=S.ACKNOWLEDGED, coordinator=world["coordinator"])
    with network_context(referral.network_id):
        referral = db.session.get(Referral, referral.id)
        services.transition(referral, Action.REQUEST_INFO, actor=world["coordinator"], side=Side.NETWORK,
                            text="Welke chemo kreeg hij?")
        services.transition(referral, Action.ANSWER, actor=world["gp"], side=Side.REFERRER, text="CAPOX, 4 kuren")
        db.session.commit()
        db.session.expire_all()
        referral = db.session.get(Referral, referral.id)
        assert [(m.from_network, m.body) for m in referral.messages] == [
            (True, "Welke chemo kreeg hij?"), (False, "CAPOX, 4 kuren")]


# --- submission -------------------------------------------------------------------------------------

def _submit(world, key: str, **fields):
    with network_context(world["network"].id):
        referral, created = services.submit(user=world["gp"], gp_profile=world["gp"].gp_profile,
                                            submission_key=key, fields={**VALID_FIELDS, **fields},
                                            medications=MEDICATIONS, discipline_ids=[])
        db.session.commit()
        return referral.id, referral.number, created


def test_submitting_twice_with_one_key_makes_one_referral(world):
    first = _submit(world, "key-1")
    second = _submit(world, "key-1", question="Een andere vraag")
    assert first[0] == second[0] and first[1] == second[1]
    assert (first[2], second[2]) == (True, False)
    with network_context(world["network"].id):
        assert db.session.scalar(select(func.count(Referral.id))) == 1
        assert db.session.scalar(select(func.count(Patient.id))) == 1
        referral = db.session.get(Referral, first[0])
        assert referral.question == VALID_FIELDS["question"]  # the retry changed nothing


def test_a_saved_draft_becomes_the_submitted_referral(world):
    with network_context(world["network"].id):
        draft = services.save_draft(user=world["gp"], gp_profile=world["gp"].gp_profile, submission_key="k",
                                    form_data={"bsn": ["123"]})
        db.session.commit()
        assert draft.number is None and draft.status is S.DRAFT
        assert services.new_referral_count() == 0  # drafts are not in the inbox
    referral_id, number, created = _submit(world, "k")
    assert referral_id == draft.id and created and number
    with network_context(world["network"].id):
        referral = db.session.get(Referral, referral_id)
        assert referral.draft_data is None and referral.status is S.SUBMITTED
        assert referral.consent_confirmed_by_id == world["gp"].id and referral.consent_confirmed_at is not None
        assert services.new_referral_count() == 1


def test_another_users_key_is_refused(world):
    _submit(world, "k")
    intruder = make_gp("other@example.nl", "07654321", email_verified_at=utcnow())
    with network_context(world["network"].id), pytest.raises(services.KeyConflict):
        services.submit(user=intruder, gp_profile=intruder.gp_profile, submission_key="k", fields=VALID_FIELDS,
                        medications=MEDICATIONS, discipline_ids=[])


def test_unknown_fields_are_refused(world):
    with network_context(world["network"].id), pytest.raises(ValueError):
        services.submit(user=world["gp"], gp_profile=world["gp"].gp_profile, submission_key="k",
                        fields={**VALID_FIELDS, "status": "accepted"}, medications=[], discipline_ids=[])


def test_reference_numbers_count_per_network_and_restart_each_year(world):
    with time_machine.travel(datetime(2026, 12, 30, 10, tzinfo=UTC), tick=False):
        numbers = [_submit(world, f"k{i}")[1] for i in range(3)]
    with time_machine.travel(datetime(2027, 1, 4, 10, tzinfo=UTC), tick=False):
        numbers.append(_submit(world, "k-next-year")[1])
    assert numbers == ["R-2026-0001", "R-2026-0002", "R-2026-0003", "R-2027-0001"]
    gp = world["gp"]
    with time_machine.travel(datetime(2027, 1, 4, 11, tzinfo=UTC), tick=False):
        elsewhere = make_referral(world["other"], gp)
    assert elsewhere.number == "R-2027-0001"  # each network counts its own


def test_submission_is_audit_logged_with_the_patient(world):
    referral_id, _, _ = _submit(world, "k")
    with network_context(world["network"].id):
        referral = db.session.get(Referral, referral_id)
    row = db.session.scalar(select(AuditEvent).where(AuditEvent.event == "referral.submitted"))
    assert row.patient_id == referral.patient_id and row.user_id == world["gp"].id
    assert row.network_id == world["network"].id


# --- the response norm in working days ------------------------------------------------------------------

@pytest.mark.parametrize(("submitted", "norm", "due_local"), [
    # Thursday before Christmas: 25 and 26 December and the weekend do not count.
    (datetime(2026, 12, 24, 9, 30, tzinfo=AMSTERDAM), 2, date(2026, 12, 29)),
    # Friday before King's Day (Monday 27 April 2026).
    (datetime(2026, 4, 24, 16, 0, tzinfo=AMSTERDAM), 2, date(2026, 4, 29)),
    # An ordinary Monday.
    (datetime(2026, 11, 30, 8, 0, tzinfo=AMSTERDAM), 2, date(2026, 12, 2)),
    # Received on a Saturday: counts from Monday.
    (datetime(2026, 11, 28, 12, 0, tzinfo=AMSTERDAM), 1, date(2026, 12, 1)),
])
def test_acknowledgement_is_due_after_working_days(world, submitted, norm, due_local):
    world["network"].referral_ack_norm_days = norm
    db.session.commit()
    with time_machine.travel(submitted, tick=False):
        referral_id, _, _ = _submit(world, "k")
    with network_context(world["network"].id):
        due = db.session.get(Referral, referral_id).ack_due_at.astimezone(AMSTERDAM)
    assert due.date() == due_local
    assert (due.hour, due.minute) == (23, 59)


# --- mail: the coordinator is told, the GP is told, neither mail holds patient data --------------------

PATIENT_SECRETS = ("Gerarda", "Pietersma", "111222333", "Kerkstraat", "Loperamide", "diarree")


def test_mails_on_submission_and_every_transition_hold_no_patient_data(app, world, monkeypatch):
    sink = MailSink().start()
    monkeypatch.setitem(app.config, "MAIL_URL", sink.url)  # no Redis here: the jobs run inline
    try:
        referral = make_referral(world["network"], world["gp"], status=S.IN_CARE, coordinator=world["coordinator"],
                                 given_name="Gerarda", family_name="Pietersma", history="diarree")
        number, referral_id = referral.number, referral.id
        run_inline_pending()
    finally:
        sink.stop()
    to_coordinator = [m for m in sink.messages if m.rcpt_tos == ["coordinator@example.nl"]]
    to_gp = [m for m in sink.messages if m.rcpt_tos == ["gp@example.nl"]]
    assert len(to_coordinator) == 1 and number in to_coordinator[0].subject
    # acknowledge, accept, plan intake, care without intake: four updates for the GP, each naming only the number.
    assert len(to_gp) == 4
    for mail in sink.messages:
        text = "\n".join([mail.raw.decode("utf-8", "replace"), mail.subject, mail.body])
        assert number in text
        for secret in PATIENT_SECRETS:
            assert secret not in text, (secret, mail.subject)
    assert f"/verwijzer/verwijzingen/{referral_id}" in to_gp[0].body
