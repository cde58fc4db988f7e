"""The one case-access door, as a table: every kind of user, with and without consent, and every
note visibility. The route-level walk over the same table is in tests/test_case_views.py."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from app.cases import services
from app.cases.access import case_access, note_visible, visible_notes
from app.cases.models import Case, ConsentPart, Note, NoteVisibility
from app.core.db import utcnow
from app.core.tenancy import network_context
from app.extensions import db
from app.networks.models import Membership, Role
from tests.case_factories import add_to_team, give_consent, make_case, write_note
from tests.conftest import make_gp, make_member, make_network


@pytest.fixture
def casus():
    """Network ZK with the casus of Wim Jansen; network TW with a dietician of its own."""
    zk = make_network("zk", approved_at=utcnow())
    tw = make_network("tw", approved_at=utcnow())
    coordinator = make_member(zk, "coordinator@zk.nl", role=Role.COORDINATOR, disciplines=("casemanager",))
    dietician = make_member(zk, "dietist@zk.nl", disciplines=("dietist",))
    dietician2 = make_member(zk, "dietist2@zk.nl", disciplines=("dietist",))  # same discipline, on the team
    sexologist = make_member(zk, "seksuoloog@zk.nl", disciplines=("seksuoloog",))
    physio = make_member(zk, "fysio@zk.nl", disciplines=("fysiotherapeut",))  # not on the team
    other_network = make_member(tw, "dietist@tw.nl", disciplines=("dietist",))
    gp = make_gp("gp@example.nl", "01234567", email_verified_at=utcnow())
    other_gp = make_gp("gp2@example.nl", "07654321", email_verified_at=utcnow())
    case = make_case(zk, gp, coordinator)
    add_to_team(case, coordinator.user, dietician)
    add_to_team(case, coordinator.user, dietician2)
    sexologist_consent = give_consent(case, dietician.user, sexologist)
    with network_context(zk.id):
        row = services.propose_member(db.session.get(Case, case.id), dietician.user,
                                      db.session.get(Membership, sexologist.id), reason="Seksuele klachten")
        services.respond_to_proposal(row, sexologist.user, accept=True)
        db.session.commit()
    notes = {visibility: write_note(case, dietician, f"NOTE-{visibility.value}", visibility)
             for visibility in NoteVisibility}
    return {"zk": zk, "case": case, "coordinator": coordinator, "dietician": dietician, "dietician2": dietician2,
            "sexologist": sexologist, "physio": physio, "other_network": other_network, "gp": gp,
            "other_gp": other_gp, "notes": notes, "sexologist_consent": sexologist_consent}


def _access(casus, who: str, *, today: date | None = None):
    with network_context(casus["zk"].id):
        case = db.session.get(Case, casus["case"].id)
        membership = db.session.get(Membership, casus[who].id) if who in casus else None
        access = case_access(case, membership, today=today)
        notes = {v: note_visible(db.session.get(Note, n.id), access) for v, n in casus["notes"].items()}
        listed = {n.body for n in visible_notes(case, access)}
    assert listed == {f"NOTE-{v.value}" for v, seen in notes.items() if seen}  # the list agrees with the rule
    return access, notes


T, D, P = NoteVisibility.TEAM, NoteVisibility.DISCIPLINE, NoteVisibility.PRIVATE
# who -> (sees the case, {visibility: sees that note}); the notes are the dietician's.
TABLE = {
    "dietician": (True, {T: True, D: True, P: True}),  # the author
    "dietician2": (True, {T: True, D: True, P: False}),  # same discipline, on the team
    "sexologist": (True, {T: True, D: False, P: False}),  # on the team with consent
    "coordinator": (True, {T: True, D: False, P: False}),  # the referral consent; others' private notes stay private
    "physio": (False, {T: False, D: False, P: False}),  # same network, not on the team
    "other_network": (False, {T: False, D: False, P: False}),
    "gp": (False, {T: False, D: False, P: False}),  # the GP has no membership: the case door is closed
    "other_gp": (False, {T: False, D: False, P: False}),
}


@pytest.mark.parametrize("who", list(TABLE))
def test_access_table(casus, who):
    access, notes = _access(casus, who)
    sees_case, sees_notes = TABLE[who]
    assert access.allowed is sees_case
    assert notes == sees_notes


def test_withdrawal_takes_effect_at_once(casus):
    assert _access(casus, "sexologist")[0].allowed
    with network_context(casus["zk"].id):
        consent = db.session.get(type(casus["sexologist_consent"]), casus["sexologist_consent"].id)
        services.withdraw_consent(consent, casus["coordinator"].user, "Patiënt wil dit niet meer")
        db.session.commit()
    access, notes = _access(casus, "sexologist")
    assert not access.allowed
    assert notes == {T: False, D: False, P: False}
    # The others are untouched by that withdrawal.
    assert _access(casus, "dietician")[0].allowed


def test_an_expired_consent_covers_nobody(casus):
    physio = casus["physio"]
    give_consent(casus["case"], casus["coordinator"].user, physio, valid_until=date.today())
    with network_context(casus["zk"].id):
        row = services.propose_member(db.session.get(Case, casus["case"].id), casus["coordinator"].user,
                                      db.session.get(Membership, physio.id), reason="Conditie")
        services.respond_to_proposal(row, physio.user, accept=True)
        db.session.commit()
    assert _access(casus, "physio")[0].allowed
    assert not _access(casus, "physio", today=date.today() + timedelta(days=1))[0].allowed


def test_consent_parts_limit_what_a_member_sees(casus):
    physio = casus["physio"]
    add_to_team(casus["case"], casus["coordinator"].user, physio, parts={ConsentPart.INTAKE})
    access, notes = _access(casus, "physio")
    assert access.allowed and access.sees(ConsentPart.INTAKE)
    assert not access.sees(ConsentPart.NOTES) and not access.sees(ConsentPart.PROMS)
    assert notes == {T: False, D: False, P: False}


def test_a_hand_off_needs_consent_first(casus):
    with network_context(casus["zk"].id), pytest.raises(services.CaseRuleBroken):
        services.propose_member(db.session.get(Case, casus["case"].id), casus["dietician"].user,
                                db.session.get(Membership, casus["physio"].id), reason="Conditie")


def test_a_proposed_member_does_not_see_the_case_before_accepting(casus):
    physio = casus["physio"]
    add_to_team(casus["case"], casus["coordinator"].user, physio, accept=False)
    access, _ = _access(casus, "physio")
    assert not access.allowed and access.may_respond_to_proposal


def test_a_member_who_left_no_longer_sees_the_case(casus):
    with network_context(casus["zk"].id):
        row = services.active_team_member(db.session.get(Case, casus["case"].id), casus["dietician2"].id)
        services.close_part(row, casus["dietician2"].user, "Adviezen gegeven")
        db.session.commit()
    assert not _access(casus, "dietician2")[0].allowed


def test_a_deactivated_member_sees_nothing(casus):
    with network_context(casus["zk"].id):
        membership = db.session.get(Membership, casus["sexologist"].id)
        membership.deactivate()
        db.session.commit()
    assert not _access(casus, "sexologist")[0].allowed


def test_completed_intake_is_never_changed_in_place(casus):
    with network_context(casus["zk"].id):
        intake = services.current_intake(casus["case"].referral_id)
        intake.story = "overwritten"
        with pytest.raises(services.CompletedIntakeIsFinal):
            db.session.flush()
        db.session.rollback()


def test_a_correction_is_a_new_version_and_the_old_one_stays(casus):
    coordinator = casus["coordinator"]
    with network_context(casus["zk"].id):
        case = db.session.get(Case, casus["case"].id)
        correction = services.correct_intake(case, coordinator.user, "Verkeerde datum")
        assert correction.version == 2 and correction.story == services.current_intake(case.referral_id).story
        services.save_intake(correction, coordinator.user, {"story": "Gecorrigeerd verhaal"})
        services.complete_intake(correction, coordinator.user, db.session.get(Membership, coordinator.id))
        db.session.commit()
        versions = services.intakes_of(case.referral_id)
        assert [(v.version, v.story) for v in versions] == [
            (1, "Ik heb sinds de operatie diarree."), (2, "Gecorrigeerd verhaal")]
        assert services.current_intake(case.referral_id).version == 2


def test_the_case_opens_with_the_coordinator_central_and_the_referral_in_care(casus):
    from app.referrals.models import Referral, ReferralStatus

    with network_context(casus["zk"].id):
        case = db.session.get(Case, casus["case"].id)
        assert case.central_membership_id == casus["coordinator"].id
        referral = db.session.scalar(select(Referral).where(Referral.id == case.referral_id))
        assert referral.status is ReferralStatus.IN_CARE
        intake = services.current_intake(case.referral_id)
        # Prefilled from the referral: the complaints the GP sent are there without re-entering them.
        assert intake.problems["physical"]["items"] == ["fatigue", "bowel"]


def test_the_list_query_and_the_door_agree(casus):
    """member_cases_query is case_access in SQL (for lists): for every member, before and after a
    withdrawal and after leaving, both name the same cases."""
    from app.cases.access import member_cases_query

    other_case = make_case(casus["zk"], casus["gp"], casus["coordinator"], story="Tweede casus")
    add_to_team(other_case, casus["coordinator"].user, casus["physio"])

    def compare():
        with network_context(casus["zk"].id):
            cases = db.session.scalars(select(Case)).all()
            for who in ("dietician", "dietician2", "sexologist", "physio"):
                membership = db.session.get(Membership, casus[who].id)
                listed = set(db.session.scalars(member_cases_query(membership).with_only_columns(Case.id)))
                allowed = {case.id for case in cases if case_access(case, membership).allowed}
                assert listed == allowed, who

    compare()
    with network_context(casus["zk"].id):
        consent = db.session.get(type(casus["sexologist_consent"]), casus["sexologist_consent"].id)
        services.withdraw_consent(consent, casus["coordinator"].user, "Ingetrokken")
        row = services.active_team_member(db.session.get(Case, casus["case"].id), casus["dietician2"].id)
        services.close_part(row, casus["dietician2"].user, "Klaar")
        db.session.commit()
    compare()


# --- what each viewer may do: every ability of the door, as a table --------------------------------------

def _make_central(casus, who: str) -> None:
    with network_context(casus["zk"].id):
        services.set_central(db.session.get(Case, casus["case"].id), casus["coordinator"].user,
                             db.session.get(Membership, casus[who].id), "Vast aanspreekpunt")
        db.session.commit()


def _withdraw_sexologist(casus) -> None:
    with network_context(casus["zk"].id):
        consent = db.session.get(type(casus["sexologist_consent"]), casus["sexologist_consent"].id)
        services.withdraw_consent(consent, casus["coordinator"].user, "Patiënt wil dit niet meer")
        db.session.commit()


def _close_part(casus, who: str) -> None:
    with network_context(casus["zk"].id):
        row = services.active_team_member(db.session.get(Case, casus["case"].id), casus[who].id)
        services.close_part(row, casus[who].user, "Klaar")
        db.session.commit()


def _close_case(casus) -> None:
    for who in ("dietician", "dietician2", "sexologist"):
        _close_part(casus, who)
    with network_context(casus["zk"].id):
        services.close_case(db.session.get(Case, casus["case"].id), casus["coordinator"].user,
                            db.session.get(Membership, casus["coordinator"].id), "Zorg afgerond")
        db.session.commit()


def _deactivate(casus, who: str) -> None:
    with network_context(casus["zk"].id):
        db.session.get(Membership, casus[who].id).deactivate()
        db.session.commit()


# viewer kind -> (who looks, what happened first). The coordinator is the central care provider unless a
# kind says otherwise; every member on the team has consent for every part unless a kind says otherwise.
VIEWERS = {
    "coordinator, central": ("coordinator", None),
    "coordinator, not central": ("coordinator", lambda c: _make_central(c, "dietician")),
    "member on the team, all parts": ("dietician", None),
    "member on the team, central": ("dietician", lambda c: _make_central(c, "dietician")),
    "member on the team, intake only": (
        "physio", lambda c: add_to_team(c["case"], c["coordinator"].user, c["physio"], parts={ConsentPart.INTAKE})),
    "member after withdrawal": ("sexologist", _withdraw_sexologist),
    "proposed member": ("physio", lambda c: add_to_team(c["case"], c["coordinator"].user, c["physio"], accept=False)),
    "member who closed their part": ("dietician2", lambda c: _close_part(c, "dietician2")),
    "deactivated member": ("sexologist", lambda c: _deactivate(c, "sexologist")),
    "member not on the team": ("physio", None),
    "member of another network": ("other_network", None),
    "GP (no membership)": ("gp", None),
    "closed case, coordinator": ("coordinator", _close_case),
    "closed case, member who was on it": ("dietician", _close_case),
}

ALL, INTAKE_ONLY, NONE = frozenset(ConsentPart), frozenset({ConsentPart.INTAKE}), frozenset()
COLUMNS = ("may_see_case", "visible_parts", "may_write_notes", "may_edit_own_notes", "may_add_actions",
           "may_record_measurements", "may_propose", "may_respond_to_proposal", "may_set_central_care_provider",
           "may_send_letters", "may_see_closing", "may_close_case", "may_close_part", "may_record_consent",
           "may_correct_intake", "may_open_patient_portal")
o, X = False, True  # o: may not, X: may
# Written by hand, one row per viewer kind, one column per ability (in the order of COLUMNS):
#                                      see  parts                 note edit act  prom prop resp cent lett shcl clca clpa cons corr port
ABILITY_TABLE = {
    "coordinator, central":             (X, ALL,                  X,   X,   X,   X,   X,   o,   X,   X,   X,   X,   o,   X,   X,   X),
    "coordinator, not central":         (X, ALL,                  X,   X,   X,   X,   X,   o,   X,   X,   X,   o,   o,   X,   X,   X),
    "member on the team, all parts":    (X, ALL,                  X,   X,   X,   X,   X,   o,   o,   o,   X,   o,   X,   o,   o,   o),
    "member on the team, central":      (X, ALL,                  X,   X,   X,   X,   X,   o,   X,   X,   X,   X,   o,   o,   o,   X),
    "member on the team, intake only":  (X, INTAKE_ONLY,          o,   o,   X,   o,   X,   o,   o,   o,   X,   o,   X,   o,   o,   o),
    "member after withdrawal":          (o, NONE,                 o,   o,   o,   o,   o,   o,   o,   o,   o,   o,   o,   o,   o,   o),
    "proposed member":                  (o, NONE,                 o,   o,   o,   o,   o,   X,   o,   o,   o,   o,   o,   o,   o,   o),
    "member who closed their part":     (o, NONE,                 o,   o,   o,   o,   o,   o,   o,   o,   o,   o,   o,   o,   o,   o),
    "deactivated member":               (o, NONE,                 o,   o,   o,   o,   o,   o,   o,   o,   o,   o,   o,   o,   o,   o),
    "member not on the team":           (o, NONE,                 o,   o,   o,   o,   o,   o,   o,   o,   o,   o,   o,   o,   o,   o),
    "member of another network":        (o, NONE,                 o,   o,   o,   o,   o,   o,   o,   o,   o,   o,   o,   o,   o,   o),
    "GP (no membership)":               (o, NONE,                 o,   o,   o,   o,   o,   o,   o,   o,   o,   o,   o,   o,   o,   o),
    "closed case, coordinator":         (X, ALL,                  o,   X,   o,   o,   o,   o,   o,   X,   o,   o,   o,   X,   X,   X),
    "closed case, member who was on it": (o, NONE,                o,   o,   o,   o,   o,   o,   o,   o,   o,   o,   o,   o,   o,   o),
}


def test_the_ability_table_has_every_ability_and_every_viewer():
    from app.cases.access import ABILITIES

    assert set(COLUMNS) == set(ABILITIES)
    assert set(ABILITY_TABLE) == set(VIEWERS)
    assert all(len(row) == len(COLUMNS) for row in ABILITY_TABLE.values())


@pytest.mark.parametrize("kind", list(ABILITY_TABLE))
def test_ability_table(casus, kind):
    who, before = VIEWERS[kind]
    if before is not None:
        before(casus)
    access, _notes = _access(casus, who)
    got = {column: getattr(access, column) for column in COLUMNS}
    assert got == dict(zip(COLUMNS, ABILITY_TABLE[kind], strict=True))
    # The per-part question agrees with the set of visible parts.
    assert {part for part in ConsentPart if access.may_see(part)} == access.visible_parts


def test_per_object_abilities(casus):
    """Editing a note is the author's; marking a next step done is its owner's or the coordinator's."""
    with network_context(casus["zk"].id):
        case = db.session.get(Case, casus["case"].id)
        services.add_action(case, casus["coordinator"].user, description="Bellen", owner=db.session.get(
            Membership, casus["dietician"].id), due_on=date.today())
        db.session.commit()
        [action] = services.actions_of(case)
    note = casus["notes"][NoteVisibility.TEAM]  # written by the dietician
    expected = {"dietician": (True, True), "dietician2": (False, False), "coordinator": (False, True),
                "physio": (False, False)}
    for who, (edits, completes) in expected.items():
        access, _notes = _access(casus, who)
        with network_context(casus["zk"].id):
            assert access.may_edit_note(db.session.get(Note, note.id)) is edits, who
            assert access.may_complete_action(action) is completes, who


# --- team_access: the care team's real access, set-based, agrees with the door ----------------------------

def _second_consent_notes_only(casus):
    """Physio on the team with an intake-only consent, then a second consent for the notes only."""
    add_to_team(casus["case"], casus["coordinator"].user, casus["physio"], parts={ConsentPart.INTAKE})
    give_consent(casus["case"], casus["coordinator"].user, casus["physio"], parts={ConsentPart.NOTES},
                 valid_until=date.today() + timedelta(days=30))


def _expiring_physio(casus):
    give_consent(casus["case"], casus["coordinator"].user, casus["physio"], valid_until=date.today())
    with network_context(casus["zk"].id):
        row = services.propose_member(db.session.get(Case, casus["case"].id), casus["coordinator"].user,
                                      db.session.get(Membership, casus["physio"].id), reason="Conditie")
        services.respond_to_proposal(row, casus["physio"].user, accept=True)
        db.session.commit()


TOMORROW = 1
# situation -> (what happened first, days after today to look)
SITUATIONS = {
    "live consents": (None, 0),
    "withdrawn": (_withdraw_sexologist, 0),
    "expired": (_expiring_physio, TOMORROW),
    "expires today, still live": (_expiring_physio, 0),
    "two consents with different parts": (_second_consent_notes_only, 0),
    "proposed": (lambda c: add_to_team(c["case"], c["coordinator"].user, c["physio"], accept=False), 0),
    "left the team": (lambda c: _close_part(c, "dietician2"), 0),
    "deactivated": (lambda c: _deactivate(c, "sexologist"), 0),
}


@pytest.mark.parametrize("situation", list(SITUATIONS))
def test_team_access_agrees_with_the_door_for_every_member(casus, situation):
    from app.cases.access import team_access

    before, days = SITUATIONS[situation]
    if before is not None:
        before(casus)
    today = date.today() + timedelta(days=days)
    with network_context(casus["zk"].id):
        case = db.session.get(Case, casus["case"].id)
        by_row = team_access(case, today=today)
        assert by_row, situation
        for membership_id in {a.membership_id for a in by_row.values()}:
            membership = db.session.get(Membership, membership_id)
            door = case_access(case, membership, today=today)
            rows = [a for a in by_row.values() if a.membership_id == membership_id]
            assert any(a.sees_case for a in rows) is door.allowed, (situation, membership_id)
            assert any(a.may_respond_to_proposal for a in rows) is door.may_respond_to_proposal
            if door.team_member is not None:
                mine = by_row[door.team_member.id]
                assert mine.covered  # the door found a live consent
                assert mine.parts == frozenset(p for c in services.consents_of(case) if c.id in mine.consent_ids
                                               for p in c.parts)
                if door.allowed:
                    assert mine.parts == door.parts


def test_team_access_says_since_until_and_why_it_ended(casus):
    from app.cases.access import ENDED_EXPIRED, ENDED_LEFT, ENDED_WITHDRAWN, team_access

    _second_consent_notes_only(casus)
    _withdraw_sexologist(casus)
    _close_part(casus, "dietician2")
    today = date.today()
    with network_context(casus["zk"].id):
        case = db.session.get(Case, casus["case"].id)
        by_member = {a.membership_id: a for a in team_access(case).values()}
        physio = by_member[casus["physio"].id]
        assert physio.parts == {ConsentPart.INTAKE, ConsentPart.NOTES} and len(physio.consent_ids) == 2
        assert physio.since == today and physio.until is None  # the intake-only consent has no end
        sexologist = by_member[casus["sexologist"].id]
        assert (sexologist.sees_case, sexologist.ended_on, sexologist.ended_reason) == (False, today, ENDED_WITHDRAWN)
        assert by_member[casus["dietician2"].id].ended_reason == ENDED_LEFT
        later = today + timedelta(days=31)
        physio_later = {a.membership_id: a for a in team_access(case, today=later).values()}[casus["physio"].id]
        assert physio_later.parts == {ConsentPart.INTAKE}  # the notes consent ran out; the intake one did not
        _withdraw_open_ended(casus, "physio")
        physio_after = {a.membership_id: a for a in team_access(case, today=later).values()}[casus["physio"].id]
        # The notes consent expired after day 30; the intake one was withdrawn today: access ended with the later.
        assert (physio_after.ended_on, physio_after.ended_reason) == (today + timedelta(days=31), ENDED_EXPIRED)


def _withdraw_open_ended(casus, who: str) -> None:
    """Withdraw the consents naming *who* that run until withdrawn."""
    with network_context(casus["zk"].id):
        case = db.session.get(Case, casus["case"].id)
        for consent in services.consents_of(case):
            if (consent.withdrawn_at is None and consent.valid_until is None
                    and any(m.membership_id == casus[who].id for m in consent.members)):
                services.withdraw_consent(consent, casus["coordinator"].user, "Ingetrokken")
        db.session.commit()


def test_ended_access_lists_the_cases_whose_consent_ended_and_agrees_with_the_door(casus):
    from app.cases.access import ENDED_WITHDRAWN, ended_access_for

    _withdraw_sexologist(casus)
    with network_context(casus["zk"].id):
        case = db.session.get(Case, casus["case"].id)
        for who, expected in (("sexologist", [ENDED_WITHDRAWN]), ("dietician", []), ("physio", [])):
            membership = db.session.get(Membership, casus[who].id)
            ended = ended_access_for(membership)
            assert [e.reason for e in ended] == expected, who
            assert all(not case_access(case, membership).allowed for e in ended if e.case_id == case.id)
