"""No referral falls through: every open status is listed in exactly one of the coordinator's lists
(services.ACTIONABLE_PLACE), walked over every ReferralStatus through the real pages; and the one way into care
without an intake, "care without intake" (a reason, a confirmation, a case, the GP informed, an audit row),
while START_CARE stays the intake's own step.

Users are made with locale "en", so the assertions read the English messages.
"""
from __future__ import annotations

import html as html_module
import re
from types import SimpleNamespace

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from app.cases import services as case_services
from app.cases.models import Case, CaseEvent, CaseEventKind, CaseStatus, PromMeasurement
from app.cases.services import CaseRuleBroken
from app.core.audit import AuditEvent
from app.core.db import utcnow
from app.core.jobs import run_inline_pending
from app.core.tenancy import all_networks, network_context
from app.extensions import db
from app.networks.models import Membership, Role
from app.referrals import services
from app.referrals.models import Referral, ReferralEvent, ReferralStatus
from app.referrals.services import ACTIONABLE_PLACE, RULES, Action, IllegalTransition, Place, Side
from tests.case_factories import make_case
from tests.conftest import login_as, make_gp, make_member, make_network
from tests.referral_factories import make_referral
from tests.test_jobs import MailSink

S = ReferralStatus
TERMINAL = {S.CLOSED, S.DECLINED, S.FORWARDED, S.WITHDRAWN}


@pytest.fixture
def noord():
    network = make_network("noord", name="Netwerk Noord", approved_at=utcnow())
    other = make_network("zuid", name="Netwerk Zuid", approved_at=utcnow())
    boss = make_member(network, "carla@example.nl", role=Role.COORDINATOR, name="Carla Coordinator", locale="en",
                       password=None, mfa=False)
    gp = make_gp("huisarts@example.nl", name="Hanna Huisarts", locale="en", email_verified_at=utcnow())
    return SimpleNamespace(network=network, other=other, boss=boss.user, membership=boss, gp=gp)


def refer(ctx, status: S) -> Referral:
    """A referral in *status* through the real services; "closed" the usual way: the case is closed."""
    if status is S.CLOSED:
        case = make_case(ctx.network, ctx.gp, ctx.membership)
        with network_context(ctx.network.id):
            case = db.session.get(Case, case.id)
            case_services.close_case(case, ctx.boss, db.session.get(Membership, ctx.membership.id), "Afgerond")
            db.session.commit()
        return fresh(case.referral_id)
    return make_referral(ctx.network, ctx.gp, status=status, coordinator=ctx.boss, forward_to=ctx.other)


def fresh(referral_id: int) -> Referral:
    db.session.rollback()
    return db.session.scalar(all_networks(select(Referral).where(Referral.id == referral_id)))


def case_of(referral: Referral) -> Case | None:
    db.session.rollback()
    return db.session.scalar(all_networks(select(Case).where(Case.referral_id == referral.id)))


def text_of(response) -> str:
    return html_module.unescape(response.get_data(as_text=True))


def listed_in(client, referral: Referral) -> set[Place]:
    """The coordinator lists that show *referral* now, read from the pages themselves."""
    slug = "noord"
    found = set()
    inbox = client.get(f"/n/{slug}/referrals/?status=open")
    assert inbox.status_code == 200
    if f'href="/n/{slug}/referrals/{referral.id}"' in text_of(inbox):
        found.add(Place.INBOX)
    cases_page = client.get(f"/n/{slug}/cases/?status=active")
    assert cases_page.status_code == 200
    ready, _, case_list = text_of(cases_page).partition('id="cases-heading"')
    assert 'id="ready-heading"' in ready
    if f'href="/n/{slug}/cases/intake/{referral.id}"' in ready:
        found.add(Place.INTAKES)
    case = case_of(referral)
    if case is not None and f'href="/n/{slug}/cases/{case.id}"' in case_list:
        found.add(Place.CASES)
    return found


def test_every_status_has_its_place():
    assert set(ACTIONABLE_PLACE) == set(ReferralStatus)
    assert [status for status, place in ACTIONABLE_PLACE.items() if place is None] == [S.DRAFT, *sorted(
        TERMINAL, key=list(S).index)]


@pytest.mark.parametrize("status", list(ReferralStatus))
def test_every_referral_is_listed_where_the_coordinator_acts_on_it(client, noord, status):
    referral = refer(noord, status)
    assert referral.status is status
    login_as(client, noord.boss)

    found = listed_in(client, referral)

    place = ACTIONABLE_PLACE[status]
    if status is S.DRAFT or status in TERMINAL:
        assert place is None and found == set(), status
    else:
        assert place is not None and found == {place}, status
    if status is S.IN_CARE:
        assert case_of(referral).status is CaseStatus.ACTIVE  # never in care without a case


def test_in_care_after_the_intake_is_on_the_case_list(client, noord):
    case = make_case(noord.network, noord.gp, noord.membership)
    referral = fresh(case.referral_id)
    login_as(client, noord.boss)

    assert referral.status is S.IN_CARE and listed_in(client, referral) == {Place.CASES}


# --- START_CARE is the intake's step -------------------------------------------------------------------

def test_start_care_is_never_offered_and_refused_without_a_completed_intake(noord):
    referral = refer(noord, S.INTAKE_PLANNED)
    assert RULES[Action.START_CARE].internal
    with network_context(noord.network.id), force_locale("en"):
        referral = db.session.get(Referral, referral.id)
        assert Action.START_CARE not in services.actions_for(referral, Side.NETWORK)
        with pytest.raises(IllegalTransition, match="once the intake is completed"):
            services.transition(referral, Action.START_CARE, actor=noord.boss, side=Side.NETWORK)
        db.session.rollback()
        referral = db.session.get(Referral, referral.id)
        intake = case_services.start_intake(referral, noord.boss)  # a draft is not a completed intake
        case_services.save_intake(intake, noord.boss, {"story": "Het gaat niet goed."})
        with pytest.raises(IllegalTransition, match="once the intake is completed"):
            services.transition(referral, Action.START_CARE, actor=noord.boss, side=Side.NETWORK)
    db.session.rollback()
    assert fresh(referral.id).status is S.INTAKE_PLANNED and case_of(referral) is None


def test_completing_the_intake_still_takes_start_care(noord):
    case = make_case(noord.network, noord.gp, noord.membership)
    with network_context(noord.network.id):
        steps = [(e.from_status, e.to_status) for e in db.session.scalars(
            select(ReferralEvent).where(ReferralEvent.referral_id == case.referral_id).order_by(ReferralEvent.id))]
    assert steps[-1] == (S.INTAKE_PLANNED, S.IN_CARE)


# --- care without intake ------------------------------------------------------------------------------

def act(client, referral: Referral, **data):
    return client.post(f"/n/noord/referrals/{referral.id}/actie", data={"action": "care_without_intake", **data})


def field_error(html: str, name: str) -> str:
    match = re.search(rf'<p class="error" id="{name}-err">(.*?)</p>', html, re.S)
    return match.group(1) if match else ""


@pytest.mark.parametrize("status", [S.ACCEPTED, S.INTAKE_PLANNED])
def test_the_detail_page_offers_the_intake_and_care_without_intake_not_mark_in_care(client, noord, status):
    referral = refer(noord, status)
    login_as(client, noord.boss)

    html = text_of(client.get(f"/n/noord/referrals/{referral.id}"))

    assert f'href="/n/noord/cases/intake/{referral.id}"' in html and "Start the intake" in html
    assert 'id="action-plan_intake"' in html and 'id="action-care_without_intake"' in html
    assert 'name="care_reason"' in html and 'name="care_confirm"' in html
    assert "start_care" not in html and "Mark as in care" not in html


@pytest.mark.parametrize("status", [s for s in ReferralStatus if s not in (S.ACCEPTED, S.INTAKE_PLANNED)])
def test_care_without_intake_is_refused_from_other_statuses(noord, status):
    referral = refer(noord, status)
    with network_context(noord.network.id):
        referral = db.session.get(Referral, referral.id)
        if status is not S.DRAFT:
            assert Action.CARE_WITHOUT_INTAKE not in services.actions_for(referral, Side.NETWORK)
        with pytest.raises(IllegalTransition) as refused:
            services.transition(referral, Action.CARE_WITHOUT_INTAKE, actor=noord.boss, side=Side.NETWORK,
                                text="Palliatief")
        assert str(refused.value)
    db.session.rollback()
    assert fresh(referral.id).status is status


def test_care_without_intake_needs_a_reason_and_a_confirmation(client, noord):
    referral = refer(noord, S.ACCEPTED)
    login_as(client, noord.boss)

    no_reason = act(client, referral, care_reason="  ", care_confirm="y")
    assert no_reason.status_code == 400  # the page again, as for every refused form here; never a 500
    assert field_error(text_of(no_reason), "care_reason") == "Give the reason for care without intake."
    unconfirmed = act(client, referral, care_reason="Wil geen gesprek, wel zorg")
    assert unconfirmed.status_code == 400
    assert "Tick the box to confirm care without intake." in field_error(text_of(unconfirmed), "care_confirm")
    assert "Wil geen gesprek, wel zorg" in text_of(unconfirmed)  # the input is kept

    assert fresh(referral.id).status is S.ACCEPTED and case_of(referral) is None
    with network_context(noord.network.id), force_locale("en"):
        # The service is the door: without a reason it refuses too, whatever the form.
        with pytest.raises(IllegalTransition, match="Give the reason for care without intake"):
            services.transition(db.session.get(Referral, referral.id), Action.CARE_WITHOUT_INTAKE, actor=noord.boss,
                                side=Side.NETWORK, text=" ")


def test_care_without_intake_opens_the_case_informs_the_gp_and_is_logged(app, client, noord, monkeypatch):
    sink = MailSink().start()
    monkeypatch.setitem(app.config, "MAIL_URL", sink.url)  # no Redis here: the jobs run inline
    try:
        referral = refer(noord, S.INTAKE_PLANNED)
        run_inline_pending()
        before = len(sink.messages)
        login_as(client, noord.boss)
        response = act(client, referral, care_reason="Palliatief, wil thuis geen gesprek meer", care_confirm="y")
        run_inline_pending()
    finally:
        sink.stop()

    assert response.status_code == 303
    page = text_of(client.get(response.headers["Location"]))
    assert f"The patient of referral {referral.number} is in care without intake" in page
    assert fresh(referral.id).status is S.IN_CARE
    case = case_of(referral)
    assert case is not None and case.status is CaseStatus.ACTIVE
    with network_context(noord.network.id):
        assert case.central_membership_id == noord.membership.id
        event = db.session.scalar(select(ReferralEvent).where(ReferralEvent.referral_id == referral.id)
                                  .order_by(ReferralEvent.id.desc()).limit(1))
        assert (event.from_status, event.to_status, event.actor_id) == (S.INTAKE_PLANNED, S.IN_CARE, noord.boss.id)
        assert event.text == "Palliatief, wil thuis geen gesprek meer"
        opened = db.session.scalar(select(CaseEvent).where(CaseEvent.case_id == case.id,
                                                           CaseEvent.kind == CaseEventKind.OPENED))
        assert opened.detail == "care without intake"
        assert db.session.scalar(select(func.count(PromMeasurement.id))) == 0  # no intake, no first measurement
        audit_rows = {row.event: row for row in db.session.scalars(select(AuditEvent).where(
            AuditEvent.event.in_(("referral.care_without_intake", "case.opened"))))}
    row = audit_rows["referral.care_without_intake"]
    assert (row.user_id, row.patient_id, row.object_id, row.reason) == (
        noord.boss.id, referral.patient_id, referral.id, "intake_planned -> in_care")
    assert audit_rows["case.opened"].object_id == case.id

    [mail] = sink.messages[before:]  # one mail, to the GP, naming only the number
    assert mail.rcpt_tos == ["huisarts@example.nl"]
    text = "\n".join([mail.raw.decode("utf-8", "replace"), mail.subject, mail.body])
    assert referral.number in text and f"/verwijzer/verwijzingen/{referral.id}" in mail.body
    for secret in ("Wim", "Jansen", "111222333", "Palliatief", "Kerkstraat"):
        assert secret not in text, secret

    # In care now: nothing more to decide on the referral but closing it, and the case page works without intake.
    html = text_of(client.get(f"/n/noord/referrals/{referral.id}"))
    assert 'id="action-care_without_intake"' not in html and 'id="action-close"' in html
    case_page = client.get(f"/n/noord/cases/{case.id}")
    assert case_page.status_code == 200 and "No completed intake." in text_of(case_page)


def test_a_case_without_intake_has_no_intake_to_correct(noord):
    referral = refer(noord, S.IN_CARE)
    with network_context(noord.network.id), force_locale("en"):
        case = db.session.scalar(select(Case).where(Case.referral_id == referral.id))
        with pytest.raises(CaseRuleBroken, match="without an intake"):
            case_services.correct_intake(case, noord.boss, "Tikfout")
