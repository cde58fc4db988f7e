"""The norms between the care lines, tracked (issue 13 section 3): every norm's due date across weekends and Dutch
holidays (computed by hand in the table), the clocks following a real case from acceptance to closing, the overdue
list (paginated in SQL, the coordinator's only), the reminder job (once per clock, no patient data), the settings
form (bad input kept with a message) and the dashboard's share within the norm against a hand-computed fixture.

Holidays used (the `holidays` NL calendar): Good Friday 3 April and Easter Monday 6 April 2026, King's Day Monday
27 April 2026, Ascension Thursday 14 May 2026, Whit Sunday 24 May 2026, Christmas 25-26 December 2026, New Year
1 January 2027.
"""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlalchemy import func, select

from app.cases import services as case_services
from app.cases.models import Case, Letter, LetterKind
from app.cases.services import letters as letter_services
from app.core.jobs import run_inline_pending
from app.core.tenancy import network_context
from app.core.workdays import END_OF_DAY
from app.extensions import db
from app.meetings.models import Meeting, MeetingKind
from app.networks.models import Network, Role
from app.norms import jobs as norm_jobs
from app.norms import services
from app.norms.models import NormClock, NormKind, NormState, NormTrigger
from app.palliative import mdo
from app.palliative import services as palliative_services
from app.palliative.models import OutsideProviderKind
from app.referrals.models import Referral
from tests.case_factories import make_case
from tests.conftest import (
    _truncate_all,
    counted_statements,
    delivered_mails,
    login_as,
    make_gp,
    make_member,
    make_network,
)

AMS = ZoneInfo("Europe/Amsterdam")
K = NormKind
SECRETS = ("Wim", "Jansen", "111222333", "Kerkstraat")


def local(year, month, day, hour=10, minute=0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=AMS)


def end_of(day: date) -> datetime:
    return datetime.combine(day, END_OF_DAY, tzinfo=AMS).astimezone(UTC)


# (norm, started (Amsterdam), norm in working days, the due day counted by hand)
DUE_DATES = [
    # Accepted Friday 18 Dec: Mon 21, Tue 22, Wed 23, Thu 24 (1-4), Christmas Fri 25 / Sat 26, Sun 27 skipped,
    # Mon 28 - Thu 31 (5-8), New Year Fri 1 Jan skipped, Mon 4 (9), Tue 5 January (10).
    (K.INTAKE, local(2026, 12, 18), 10, date(2027, 1, 5)),
    # The intake on Thursday 2 April: Good Friday and Easter Monday skipped: Tue 7 (1), Wed 8 April (2).
    (K.INTAKE_LETTER, local(2026, 4, 2, 16), 2, date(2026, 4, 8)),
    # A change on Saturday 25 April counts from the next working day, Tue 28 (King's Day Mon 27 is off):
    # Wed 29 (1), Thu 30 April (2).
    (K.CHANGE_LETTER, local(2026, 4, 25, 11), 2, date(2026, 4, 30)),
    # The meeting on Wednesday 13 May: Ascension Thu 14 skipped: Fri 15 (1), Mon 18 May (2).
    (K.MDO_LETTER, local(2026, 5, 13, 0), 2, date(2026, 5, 18)),
    # Late on Friday: Mon 21 (1), Tue 22 (2) — 23:30 local is still Friday, though 22:30 UTC.
    (K.CHANGE_LETTER, local(2026, 12, 18, 23, 30), 2, date(2026, 12, 22)),
    # The same day, also on a holiday (Whit Sunday): the end of that Sunday.
    (K.GP_PALLIATIVE, local(2026, 5, 24, 9), 0, date(2026, 5, 24)),
    # The same day, just before midnight in winter: still that day.
    (K.GP_PALLIATIVE, local(2026, 12, 24, 23, 59), 0, date(2026, 12, 24)),
]


@pytest.mark.parametrize(("kind", "started", "days", "due_day"), DUE_DATES)
def test_each_norm_is_due_at_the_end_of_the_day_counted_by_hand(kind, started, days, due_day):
    assert services.due_at(kind, started.astimezone(UTC), days) == end_of(due_day)


def _world(slug="zk"):
    network = make_network(slug)
    coordinator = make_member(network, f"coordinator@{slug}.nl", role=Role.COORDINATOR, disciplines=("casemanager",),
                              name="Carla Coordinator")
    member = make_member(network, f"dietist@{slug}.nl", disciplines=("dietist",), name="Dirk Dietist")
    gp = make_gp(f"huisarts@{slug}.nl", "01234567" if slug == "zk" else "76543210", name="Hans Huisarts")
    return {"network": network, "coordinator": coordinator, "member": member, "gp": gp}


def _clocks(network_id: int) -> list[NormClock]:
    db.session.rollback()
    with network_context(network_id):
        return list(db.session.scalars(select(NormClock).order_by(NormClock.id)))


def _by(clocks, kind, trigger=None):
    return [c for c in clocks if c.kind is kind and (trigger is None or c.started_by is trigger)]


def _send(case_id: int, network_id: int, actor, kind: LetterKind) -> None:
    with network_context(network_id):
        letter = db.session.scalar(select(Letter).where(Letter.case_id == case_id, Letter.kind == kind,
                                                        Letter.sent_at.is_(None)))
        letter_services.send_letter(letter, actor)
        db.session.commit()


def test_the_clocks_follow_a_case_from_acceptance_to_closing():
    world = _world()
    network, coordinator, gp = world["network"], world["coordinator"], world["gp"]
    with time_machine.travel(local(2026, 4, 2, 10), tick=False) as clock:
        case = make_case(network, gp, coordinator)  # accepted and the intake completed on Thursday 2 April
        clocks = _clocks(network.id)
        assert [(c.kind, c.state) for c in clocks] == [(K.INTAKE, NormState.MET), (K.INTAKE_LETTER, NormState.OPEN)]
        assert clocks[0].met_within and clocks[0].case_id == case.id  # the intake clock started before the case
        assert clocks[1].due_at == end_of(date(2026, 4, 8)) and clocks[1].norm_days == 2

        clock.move_to(local(2026, 4, 7, 15))
        _send(case.id, network.id, coordinator.user, LetterKind.INTAKE)
        letter_clock = _by(_clocks(network.id), K.INTAKE_LETTER)[0]
        assert letter_clock.state is NormState.MET and letter_clock.met_within

        # Saturday 25 April: a home-care nurse becomes the central care provider: a change letter is due Thu 30.
        clock.move_to(local(2026, 4, 25, 11))
        with network_context(network.id):
            palliative_services.set_outside_central(db.session.get(Case, case.id), coordinator.user,
                                                    OutsideProviderKind.OUTSIDE, name="Wijkverpleegkundige Ans")
            db.session.commit()
        change = _by(_clocks(network.id), K.CHANGE_LETTER, NormTrigger.CENTRAL_CHANGED)[0]
        assert change.due_at == end_of(date(2026, 4, 30)) and change.state is NormState.OPEN

        # Monday 4 May: overdue. The palliative phase is marked as of Friday 1 May: the GP is told today, which
        # is after the same-day norm of 1 May; a second change letter is due Wed 6 May.
        clock.move_to(local(2026, 5, 4, 9))
        assert change.id in [c.id for c in _overdue(network.id)]
        with network_context(network.id):
            palliative_services.mark_palliative(db.session.get(Case, case.id), coordinator.user,
                                                marked_on=date(2026, 5, 1), informed=["gp"])
            db.session.commit()
        clocks = _clocks(network.id)
        told = _by(clocks, K.GP_PALLIATIVE)[0]
        assert told.state is NormState.MET and told.met_within is False
        assert told.due_at == end_of(date(2026, 5, 1))
        marked = _by(clocks, K.CHANGE_LETTER, NormTrigger.MARKED)[0]
        assert marked.due_at == end_of(date(2026, 5, 6))

        # Tuesday 5 May: one letter on both changes meets both clocks (the first one late).
        clock.move_to(local(2026, 5, 5, 14))
        with network_context(network.id):
            letter = letter_services.draft_update_letter(db.session.get(Case, case.id), coordinator.user)
            assert "Wijkverpleegkundige Ans" in letter.body and "palliatieve fase" in letter.body
            with pytest.raises(letter_services.LetterRuleBroken):  # one draft at a time
                letter_services.draft_update_letter(db.session.get(Case, case.id), coordinator.user)
            db.session.commit()
        _send(case.id, network.id, coordinator.user, LetterKind.UPDATE)
        clocks = _clocks(network.id)
        assert [c.met_within for c in _by(clocks, K.CHANGE_LETTER)] == [False, True]

        # The MDO on Wednesday 13 May: planned on Monday 11, concluded that Wednesday; the report is due Mon 18
        # (Ascension Thursday 14 May) and sent on Friday 15 May: within the norm.
        clock.move_to(local(2026, 5, 11, 9))
        meeting = _meeting(network, date(2026, 5, 13))
        with network_context(network.id):
            discussion = mdo.plan_discussion(db.session.get(Case, case.id), coordinator.user,
                                             db.session.get(Meeting, meeting.id), question="Thuis of hospice?",
                                             ask_gp=True)
            db.session.commit()
            discussion_id = discussion.id
        assert not _by(_clocks(network.id), K.MDO_LETTER)  # nothing to report before the meeting
        clock.move_to(local(2026, 5, 13, 16))
        with network_context(network.id):
            found = mdo.get_discussion(db.session.get(Case, case.id), discussion_id)
            mdo.conclude(db.session.get(Case, case.id), coordinator.user, *found, conclusion="Thuis, met de PaTz")
            db.session.commit()
        report = _by(_clocks(network.id), K.MDO_LETTER)[0]
        assert report.started_at == local(2026, 5, 13, 0).astimezone(UTC)
        assert report.due_at == end_of(date(2026, 5, 18))
        clock.move_to(local(2026, 5, 15, 11))
        _send(case.id, network.id, coordinator.user, LetterKind.MDO)
        assert _by(_clocks(network.id), K.MDO_LETTER)[0].met_within is True

        # A last change that is never reported: the case closes first, so the clock stops and does not count.
        clock.move_to(local(2026, 5, 20, 9))
        with network_context(network.id):
            live = db.session.get(Case, case.id)
            palliative_services.hand_back_to_member(live, coordinator.user, "Terug naar de casemanager")
            case_services.close_case(live, coordinator.user, db.session.get(type(coordinator), coordinator.id),
                                     "Zorg afgerond")
            db.session.commit()
        last = _clocks(network.id)[-1]
        assert last.kind is K.CHANGE_LETTER and last.state is NormState.STOPPED

        with network_context(network.id):
            figures = {f.kind: (f.within, f.outside, f.pending)
                       for f in services.norm_figures(since=local(2026, 1, 1).astimezone(UTC))}
        assert figures == {K.INTAKE: (1, 0, 0), K.INTAKE_LETTER: (1, 0, 0), K.CHANGE_LETTER: (1, 1, 0),
                           K.MDO_LETTER: (1, 0, 0), K.GP_PALLIATIVE: (0, 1, 0)}


def _meeting(network: Network, held_on: date, kind: MeetingKind = MeetingKind.MDO) -> Meeting:
    with network_context(network.id):
        meeting = Meeting(network_id=network.id, held_on=held_on, kind=kind, title="MDO oncologie")
        db.session.add(meeting)
        db.session.commit()
        return meeting


def _overdue(network_id: int) -> list[NormClock]:
    with network_context(network_id):
        return list(db.session.scalars(services.overdue_query()))


def test_care_without_intake_stops_the_intake_norm_and_starts_no_intake_letter():
    world = _world()
    network, coordinator, gp = world["network"], world["coordinator"], world["gp"]
    from app.referrals import services as referral_services
    from app.referrals.models import ReferralStatus
    from tests.referral_factories import make_referral

    referral = make_referral(network, gp, status=ReferralStatus.ACCEPTED, coordinator=coordinator.user)
    assert [(c.kind, c.state) for c in _clocks(network.id)] == [(K.INTAKE, NormState.OPEN)]
    with network_context(network.id):
        referral_services.transition(db.session.get(Referral, referral.id),
                                     referral_services.Action.CARE_WITHOUT_INTAKE, actor=coordinator.user,
                                     side=referral_services.Side.NETWORK, text="Alleen advies nodig")
        db.session.commit()
    # The intake norm does not apply to care without intake; no intake letter either.
    assert [(c.kind, c.state) for c in _clocks(network.id)] == [(K.INTAKE, NormState.STOPPED)]


# --- the dashboard figures against a hand-computed fixture ---------------------------------------------------------

NOW = local(2026, 12, 7, 12).astimezone(UTC)


def _clock(network, referral_id, kind, *, started_days_ago, due_in_days, met_after_days=None, stopped=False):
    started = NOW - timedelta(days=started_days_ago)
    row = NormClock(network_id=network.id, referral_id=referral_id, kind=kind, started_by=NormTrigger.INTAKE,
                    norm_days=2, started_at=started, due_at=NOW + timedelta(days=due_in_days),
                    state=NormState.OPEN)
    if met_after_days is not None:
        row.state, row.met_at = NormState.MET, started + timedelta(days=met_after_days)
    if stopped:
        row.state, row.stopped_at = NormState.STOPPED, NOW
    db.session.add(row)


def test_the_dashboard_shows_the_share_within_each_norm_as_computed_by_hand(client):
    world = _world()
    network = world["network"]
    from app.referrals.models import ReferralStatus
    from tests.referral_factories import make_referral

    referral = make_referral(network, world["gp"], status=ReferralStatus.ACCEPTED, coordinator=world["coordinator"].user)
    with network_context(network.id):
        db.session.execute(db.delete(NormClock))  # only the fixture below
        r = referral.id
        # Intake letters: 3 met by the due moment (due 10 days ago, met 1 day after starting 12 days ago),
        # 1 met late (due 10 days ago, met 11 days after starting 12 days ago = 1 day late),
        # 1 open past its due moment, 1 open not yet due, 1 stopped: within 3, outside 2, pending 1 -> 60 %.
        for _ in range(3):
            _clock(network, r, K.INTAKE_LETTER, started_days_ago=12, due_in_days=-10, met_after_days=1)
        _clock(network, r, K.INTAKE_LETTER, started_days_ago=12, due_in_days=-10, met_after_days=11)
        _clock(network, r, K.INTAKE_LETTER, started_days_ago=5, due_in_days=-1)
        _clock(network, r, K.INTAKE_LETTER, started_days_ago=1, due_in_days=1)
        _clock(network, r, K.INTAKE_LETTER, started_days_ago=3, due_in_days=-1, stopped=True)
        # MDO reports: 1 within; one more within that started 13 months ago does not count -> 100 % (1 of 1).
        _clock(network, r, K.MDO_LETTER, started_days_ago=2, due_in_days=1, met_after_days=1)
        _clock(network, r, K.MDO_LETTER, started_days_ago=400, due_in_days=-398, met_after_days=1)
        db.session.commit()
    with time_machine.travel(NOW, tick=False):
        login_as(client, world["coordinator"].user)
        page = client.get("/n/zk/referrals/dashboard").get_data(as_text=True)
    section = page[page.index('id="norm-figures"'):]
    intake_row = section[section.index('data-kind="intake_letter"'):section.index('data-kind="change_letter"')]
    assert "60" in intake_row and "3 van 5" in intake_row
    assert '<td class="outside">2</td>' in intake_row and '<td class="pending">1</td>' in intake_row
    mdo_row = section[section.index('data-kind="mdo_letter"'):section.index('data-kind="gp_palliative"')]
    assert "100" in mdo_row and "1 van 1" in mdo_row
    change_row = section[section.index('data-kind="change_letter"'):section.index('data-kind="mdo_letter"')]
    assert "\u2013" in change_row  # the en dash: nothing judged yet


# --- the overdue list, the case's panel, the reminder ---------------------------------------------------------------

def _overdue_world(n_cases: int):
    world = _world()
    network, coordinator, gp = world["network"], world["coordinator"], world["gp"]
    with time_machine.travel(local(2026, 12, 1, 10), tick=False):
        cases = [make_case(network, gp, coordinator, given_name=f"Wim{i}") for i in range(n_cases)]
    return world, cases


def test_the_overdue_list_shows_a_page_from_the_database_for_3_and_30_overdue_norms(client):
    counts = {}
    for n in (3, 30):
        _truncate_all()
        world, _cases = _overdue_world(n)
        with time_machine.travel(local(2026, 12, 7, 10), tick=False):  # the intake letters were due Thu 3 Dec
            login_as(client, world["coordinator"].user)
            with counted_statements() as statements:
                page = client.get("/n/zk/normen/")
            assert page.status_code == 200
            html = page.get_data(as_text=True)
            assert html.count('data-kind="intake_letter"') == min(n, 25)
            assert f'id="overdue-count">{n}<' in html
            counts[n] = len(statements)
            assert client.get("/n/zk/normen/?tab=soon").status_code == 200
            assert client.get("/n/zk/normen/?page=99").status_code == 200
            client.get("/logout")
    assert counts[3] == counts[30], counts


def test_only_the_coordinator_reaches_the_norm_pages_and_the_case_panel_shows_for_letter_senders(client):
    world, (case,) = _overdue_world(1)
    login_as(client, world["member"].user)
    assert client.get("/n/zk/normen/").status_code == 404
    assert client.get("/n/zk/normen/instellingen").status_code == 404
    client.get("/logout")
    login_as(client, world["coordinator"].user)
    letters = client.get(f"/n/zk/cases/{case.id}/brieven").get_data(as_text=True)
    assert 'id="case-norms"' in letters and 'data-kind="intake_letter"' in letters
    home = client.get("/n/zk/").get_data(as_text=True)
    assert 'id="norms-overdue"' in home


def test_the_reminder_mails_the_central_care_provider_once_without_patient_data(app_with):
    inline = app_with(MAIL_URL="memory://", REDIS_URL=None)
    world, _cases = _overdue_world(1)
    with inline.app_context(), time_machine.travel(local(2026, 12, 7, 10), tick=False):
        assert norm_jobs.enqueue_overdue_reminders() == [world["network"].id]
        db.session.commit()
        run_inline_pending()
        mails = delivered_mails(template="norm_overdue_reminder")
        assert [m["to"] for m in mails] == ["coordinator@zk.nl"]  # the central care provider of the case
        assert "/n/zk/normen/" in mails[0]["body"]
        assert not [s for s in SECRETS if s in mails[0]["body"] + mails[0]["subject"]]
        assert norm_jobs.enqueue_overdue_reminders() == []  # once per clock
        db.session.commit()
        run_inline_pending()
        assert len(delivered_mails(template="norm_overdue_reminder")) == 1


def test_the_settings_refuse_bad_input_with_a_message_and_apply_to_new_norms(client):
    world = _world()
    login_as(client, world["coordinator"].user)
    page = client.get("/n/zk/normen/instellingen")
    assert page.status_code == 200 and 'value="10"' in page.get_data(as_text=True)
    token = page.get_data(as_text=True).split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    for bad in ({"intake_norm_days": "0"}, {"intake_norm_days": "31"}, {"gp_letter_norm_days": "abc"},
                {"mdo_report_norm_days": "11"}, {"gp_letter_norm_days": ""}):
        data = {"csrf_token": token, "intake_norm_days": "12", "gp_letter_norm_days": "3", "mdo_report_norm_days": "2",
                **bad}
        response = client.post("/n/zk/normen/instellingen", data=data)
        assert response.status_code == 400, bad
        html = response.get_data(as_text=True)
        assert "werkdagen" in html
        kept = next(v for k, v in data.items() if k not in bad and k != "csrf_token")
        assert f'value="{kept}"' in html
    response = client.post("/n/zk/normen/instellingen", data={"csrf_token": token, "intake_norm_days": "12",
                                                              "gp_letter_norm_days": "3", "mdo_report_norm_days": "2"})
    assert response.status_code == 302
    db.session.rollback()
    network = db.session.get(Network, world["network"].id)
    assert (network.intake_norm_days, network.gp_letter_norm_days, network.mdo_report_norm_days) == (12, 3, 2)
    with time_machine.travel(local(2026, 4, 2, 10), tick=False):
        make_case(world["network"], world["gp"], world["coordinator"])
    letter_clock = _by(_clocks(world["network"].id), K.INTAKE_LETTER)[0]
    # Thursday 2 April + 3 working days: Tue 7, Wed 8, Thu 9 April.
    assert letter_clock.norm_days == 3 and letter_clock.due_at == end_of(date(2026, 4, 9))


def test_the_clocks_are_counted_in_sql(client):
    """The figures are one GROUP BY, whatever the number of clocks."""
    world, _cases = _overdue_world(2)
    with network_context(world["network"].id), counted_statements() as statements:
        services.norm_figures(since=local(2026, 1, 1).astimezone(UTC))
    assert len([s for s in statements if "norm_clocks" in s]) == 1
    with network_context(world["network"].id):
        assert db.session.scalar(select(func.count()).select_from(NormClock)) == 4
