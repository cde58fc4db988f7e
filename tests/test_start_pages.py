"""The start page answers "what needs me now": a GP sees the referrals on which a network waits for their
answer (number and network, no patient data), and a GP or administrator is not told they lack a network."""
from __future__ import annotations

from app.core.db import utcnow
from app.networks.models import Role
from app.referrals.models import ReferralStatus as S
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
