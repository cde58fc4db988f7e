"""The start page answers "what needs me now": a GP sees the referrals on which a network waits for their
answer (number and network, no patient data), and a GP or administrator is not told they lack a network."""
from __future__ import annotations

import re
from datetime import timedelta

from app.cases import services as case_services
from app.cases.models import Case, CaseEventKind
from app.cases.services import letters as letter_services
from app.core.dates import local_today
from app.core.db import utcnow
from app.core.tenancy import network_context
from app.extensions import db
from app.networks.models import Membership, Role
from app.referrals.models import Referral
from app.referrals.models import ReferralStatus as S
from tests.case_factories import add_to_team, make_case
from tests.conftest import counted_statements, login_as, make_gp, make_member, make_network, make_user
from tests.referral_factories import make_referral


def _world():
    noord = make_network("noord", name="Netwerk Noord", approved_at=utcnow())
    zuid = make_network("zuid", name="Netwerk Zuid", approved_at=utcnow())
    bosses = {n.slug: make_member(n, f"boss@{n.slug}.example", role=Role.COORDINATOR).user for n in (noord, zuid)}
    gp = make_gp("huisarts@example.nl", locale="en", email_verified_at=utcnow())
    other_gp = make_gp("ander@example.nl", "07654321", locale="en", email_verified_at=utcnow())
    return noord, zuid, bosses, gp, other_gp


def test_a_gp_sees_the_questions_waiting_for_their_answer_and_nothing_of_another_gp(client):
    noord, zuid, bosses, gp, other_gp = _world()
    asked_noord = make_referral(noord, gp, status=S.INFO_REQUESTED, coordinator=bosses["noord"])
    asked_zuid = make_referral(zuid, gp, status=S.INFO_REQUESTED, coordinator=bosses["zuid"])
    acknowledged = make_referral(noord, gp, status=S.ACKNOWLEDGED, coordinator=bosses["noord"])
    not_mine = make_referral(noord, other_gp, status=S.INFO_REQUESTED, coordinator=bosses["noord"])

    login_as(client, gp)
    html = client.get("/").get_data(as_text=True)
    waiting = html.split('id="questions-waiting"')[1].split("</div>")[0]
    assert "The network waits for your answer on 2 referrals." in waiting
    assert asked_noord.number in waiting and asked_zuid.number in waiting and "Netwerk Zuid" in waiting
    assert acknowledged.number not in waiting and not_mine.number not in html
    assert "Wim" not in waiting  # number and network only
    assert "not a member of a network" not in html


def test_the_start_page_query_count_does_not_grow_with_the_questions(client):
    noord, _zuid, bosses, gp, _other = _world()
    make_referral(noord, gp, status=S.INFO_REQUESTED, coordinator=bosses["noord"])
    login_as(client, gp)
    client.get("/")
    with counted_statements() as few:
        client.get("/")
    for _ in range(12):
        make_referral(noord, gp, status=S.INFO_REQUESTED, coordinator=bosses["noord"])
    with counted_statements() as many:
        html = client.get("/").get_data(as_text=True)
    assert len(many) == len(few)
    assert "on 13 referrals" in html and html.count("/verwijzingen/") >= 10


def test_a_gp_without_questions_and_an_admin_see_no_empty_network_card(client):
    _world()
    quiet_gp = make_gp("stil@example.nl", "09999999", locale="en", email_verified_at=utcnow())
    login_as(client, quiet_gp)
    html = client.get("/").get_data(as_text=True)
    assert 'id="questions-waiting"' not in html and "not a member of a network" not in html
    admin = make_user("admin@example.nl", is_platform_admin=True, locale="en")
    login_as(client, admin)
    assert "not a member of a network" not in client.get("/").get_data(as_text=True)
    member_less = make_user("nieuw@example.nl", locale="en")
    login_as(client, member_less)
    assert "not a member of a network" in client.get("/").get_data(as_text=True)


# --- what needs me now, per role (app/cases/attention.py) ------------------------------------------------

def _figures(html: str) -> dict[str, str]:
    """The figures on a network's start page: key -> text."""
    card = html.split('id="needs-you"')[1].split("</section>")[0]
    return {key: re.sub(r"<[^>]+>", "", text).strip()
            for key, text in re.findall(r'<li id="figure-([a-z_]+)">(.*?)</li>', card, re.S)}


def _busy_network(network, boss, gp, *, nurse=None):
    """In *network*: one overdue and one fresh new referral, one accepted (an intake to hold), a case without a
    central care provider, a proposal to *nurse* (or a new member) and an overdue next step of the coordinator."""
    overdue = make_referral(network, gp)
    make_referral(network, gp)
    make_referral(network, gp, status=S.ACCEPTED, coordinator=boss.user)
    case = make_case(network, gp, boss)
    nurse = nurse or make_member(network, f"nurse@{network.slug}.example", locale="en")
    add_to_team(case, boss.user, nurse, accept=False)
    with network_context(network.id):
        db.session.get(Referral, overdue.id).ack_due_at = utcnow() - timedelta(days=1)
        row = db.session.get(Case, case.id)
        row.central_membership_id = None
        case_services.add_action(row, boss.user, description="Bellen", owner=db.session.get(Membership, boss.id),
                                 due_on=local_today() - timedelta(days=2))
        db.session.commit()
    return case, nurse


def test_the_coordinators_start_page_counts_what_needs_them_in_their_network_only(client):
    noord, zuid, _bosses, gp, _other = _world()
    noord_boss = make_member(noord, "chef@noord.example", role=Role.COORDINATOR, locale="en")
    zuid_boss = make_member(zuid, "chef@zuid.example", role=Role.COORDINATOR, locale="en")
    _busy_network(noord, noord_boss, gp)
    for n in range(2):  # more of everything in the other network: none of it may show in noord
        _busy_network(zuid, zuid_boss, gp, nurse=make_member(zuid, f"n{n}@zuid.example", locale="en"))
    login_as(client, noord_boss.user)
    figures = _figures(client.get("/n/noord/").get_data(as_text=True))
    assert figures == {
        "new_referrals": "2 new referrals to acknowledge",
        "overdue_referrals": "1 referral past the acknowledgement norm",
        "intakes": "1 intake to hold",
        "proposals": "1 care-team proposal waiting for an answer",
        "no_central": "1 case without a central care provider",
        "overdue_actions": "1 next step past its due date",
    }
    html = client.get("/n/noord/").get_data(as_text=True)
    assert 'href="/n/noord/referrals/?status=submitted"' in html and 'href="/n/noord/cases/?status=active"' in html
    assert "Wim" not in html.split('id="needs-you"')[1].split("</section>")[0]


def test_the_coordinators_start_page_query_count_does_not_grow_with_the_rows(client):
    noord, _zuid, _bosses, gp, _other = _world()
    boss = make_member(noord, "chef@noord.example", role=Role.COORDINATOR, locale="en")
    nurse = make_member(noord, "nurse@noord.example", locale="en")
    _busy_network(noord, boss, gp, nurse=nurse)
    login_as(client, boss.user)
    client.get("/n/noord/")
    with counted_statements() as few:
        client.get("/n/noord/")
    for n in range(3):
        _busy_network(noord, boss, gp, nurse=make_member(noord, f"n{n}@noord.example", locale="en"))
    with counted_statements() as many:
        html = client.get("/n/noord/").get_data(as_text=True)
    assert len(many) == len(few)
    assert _figures(html)["new_referrals"] == "8 new referrals to acknowledge"


def test_the_members_start_page_counts_their_proposals_steps_and_measurements_due(client):
    noord, zuid, _bosses, gp, _other = _world()
    boss = make_member(noord, "chef@noord.example", role=Role.COORDINATOR, locale="en")
    nurse = make_member(noord, "nurse@noord.example", locale="en")
    colleague = make_member(noord, "collega@noord.example", locale="en")
    asked = make_case(noord, gp, boss)
    add_to_team(asked, boss.user, nurse, accept=False)
    mine = make_case(noord, gp, boss)
    add_to_team(mine, boss.user, nurse)
    theirs = make_case(noord, gp, boss)
    add_to_team(theirs, boss.user, colleague, accept=False)
    with network_context(noord.id):
        row = db.session.get(Case, mine.id)
        case_services.add_action(row, boss.user, description="Bellen", owner=db.session.get(Membership, nurse.id),
                                 due_on=local_today() - timedelta(days=1))
        case_services.add_action(row, boss.user, description="Later", owner=db.session.get(Membership, nurse.id),
                                 due_on=local_today() + timedelta(days=3))
        row.central_membership_id, row.next_prom_due_on = nurse.id, local_today() - timedelta(days=1)
        db.session.commit()
    zuid_boss = make_member(zuid, "chef@zuid.example", role=Role.COORDINATOR, locale="en")
    nurse_in_zuid = make_member(zuid, "nurse@noord.example")  # the same person, another network
    add_to_team(make_case(zuid, gp, zuid_boss), zuid_boss.user, nurse_in_zuid, accept=False)
    login_as(client, nurse.user)
    assert _figures(client.get("/n/noord/").get_data(as_text=True)) == {
        "proposals": "1 care-team proposal to answer",
        "overdue_actions": "1 of your next steps is past its due date",
        "proms_due": "1 distress thermometer due",
        "news": "1 of your cases has news since your last visit",  # "mine": the coordinator's step, never opened
    }
    assert client.get(f"/n/noord/cases/{mine.id}").status_code == 200  # the visit
    assert "news" not in _figures(client.get("/n/noord/").get_data(as_text=True))
    with network_context(noord.id):  # someone else adds to the timeline after the visit: news again
        case_services.add_event(db.session.get(Case, mine.id), boss.user, CaseEventKind.CENTRAL_CHANGED)
        db.session.commit()
    assert _figures(client.get("/n/noord/").get_data(as_text=True))["news"] == (
        "1 of your cases has news since your last visit")
    login_as(client, colleague.user)
    assert _figures(client.get("/n/noord/").get_data(as_text=True)) == {"proposals": "1 care-team proposal to answer"}
    quiet = make_member(noord, "stil@noord.example", locale="en")
    login_as(client, quiet.user)
    html = client.get("/n/noord/").get_data(as_text=True)
    assert _figures(html) == {} and "Nothing is waiting for you." in html


def test_a_gp_sees_their_referrals_by_status_and_new_letters_not_another_gps(client):
    noord, zuid, bosses, gp, other_gp = _world()
    boss = make_member(noord, "chef@noord.example", role=Role.COORDINATOR, locale="en")
    case = make_case(noord, gp, boss)
    make_referral(noord, gp)
    make_referral(zuid, gp)
    make_referral(noord, gp, status=S.INFO_REQUESTED, coordinator=bosses["noord"])
    make_referral(noord, other_gp)
    make_case(noord, other_gp, boss)
    with network_context(noord.id):
        letter = letter_services.draft_letter(db.session.get(Case, case.id), boss.user, kind="intake")
        letter_services.send_letter(letter, boss.user)
        db.session.commit()
    login_as(client, gp)
    html = client.get("/").get_data(as_text=True)
    by_status = html.split('id="referrals-by-status"')[1].split("</div>")[0]
    items = dict(re.findall(r'<a href="/verwijzer/verwijzingen/?">([^<]+)</a>: (\d+)', by_status))
    assert items == {"Submitted": "2", "Information requested": "1", "In care": "1"}
    assert "1 letter from a network in the last two weeks" in html
    login_as(client, other_gp)
    html = client.get("/").get_data(as_text=True)
    assert 'id="new-letters"' not in html
    by_status = html.split('id="referrals-by-status"')[1].split("</div>")[0]
    assert dict(re.findall(r'">([^<]+)</a>: (\d+)', by_status)) == {"Submitted": "1", "In care": "1"}


def test_the_platform_admin_sees_the_networks_and_those_awaiting_approval(client):
    _world()
    make_network("west", name="Netwerk West")  # not approved yet
    admin = make_user("admin@example.nl", is_platform_admin=True, locale="en")
    login_as(client, admin)
    html = client.get("/").get_data(as_text=True)
    card = html.split('id="platform-admin"')[1].split("</section>")[0]
    assert "3 networks" in card and "1 network awaits your approval" in card and 'href="/admin/' in card


def _waiting_on_home(html: str) -> dict[str, list[str]]:
    """The figures under each network on "/": network slug -> texts."""
    return {slug: [re.sub(r"<[^>]+>", "", text).strip() for text in re.findall(r"<li>(.*?)</li>", block, re.S)]
            for slug, block in re.findall(r'<ul class="waiting" data-network="([a-z]+)">(.*?)</ul>', html, re.S)}


def test_the_start_page_shows_what_needs_you_in_each_of_your_networks_and_only_there(client):
    noord, zuid, _bosses, gp, _other = _world()
    boss = make_member(noord, "chef@noord.example", role=Role.COORDINATOR, locale="en")
    _busy_network(noord, boss, gp)
    zuid_boss = make_member(zuid, "chef@zuid.example", role=Role.COORDINATOR, locale="en")
    _busy_network(zuid, zuid_boss, gp)
    _busy_network(zuid, zuid_boss, gp, nurse=make_member(zuid, "n2@zuid.example", locale="en"))
    same_person_in_zuid = make_member(zuid, "chef@noord.example")  # a plain member there: nothing waits for them
    login_as(client, boss.user)
    with counted_statements() as statements:
        html = client.get("/").get_data(as_text=True)
    waiting = _waiting_on_home(html)
    assert waiting == {"noord": ["2 new referrals to acknowledge", "1 referral past the acknowledgement norm",
                                 "1 intake to hold", "1 care-team proposal waiting for an answer",
                                 "1 case without a central care provider", "1 next step past its due date"]}
    assert 'href="/n/noord/referrals/?status=submitted"' in html and "/n/zuid/referrals" not in html
    assert same_person_in_zuid.network_id == zuid.id and "Netwerk Zuid" in html  # listed, with nothing waiting
    # one query per network for its figures, whatever the rows: the other network's six extra rows add none
    assert sum("count(" in s.lower() and "referrals" in s for s in statements) == 1
