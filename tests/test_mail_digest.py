"""Mail that says what changed (the number at most, never patient data or a token), and the digest: the
changes of a few minutes for one recipient go out as one mail (app.core.mail.flush_digests, run every minute
by the "mail-digest" periodic job)."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.core.db import utcnow
from app.core.jobs import Outbox, run_inline_pending
from app.core.mail import HELD, MERGED, flush_digests
from app.core.tenancy import network_context
from app.extensions import db
from app.networks.models import Role
from app.referrals import services
from app.referrals.models import ReferralStatus as S
from app.referrals.services import Action, Side
from tests.case_factories import add_to_team, make_case
from tests.conftest import delivered_mails, make_gp, make_member, make_network
from tests.referral_factories import make_referral

# The patient of tests/referral_factories.py: name, BSN, birth date, address, the story.
PATIENT_SECRETS = ("Wim", "Jansen", "111222333", "1971", "14-03", "Kerkstraat", "diarree")
GP = "huisarts@example.nl"


@pytest.fixture
def world():
    noord = make_network("noord", name="Netwerk Noord", approved_at=utcnow())
    zuid = make_network("zuid", name="Netwerk Zuid", approved_at=utcnow())
    boss = make_member(noord, "boss@noord.example", role=Role.COORDINATOR, locale="en")
    zuid_boss = make_member(zuid, "boss@zuid.example", role=Role.COORDINATOR, locale="en")
    gp = make_gp(GP, locale="en", email_verified_at=utcnow())
    return {"noord": noord, "zuid": zuid, "boss": boss, "zuid_boss": zuid_boss, "gp": gp}


@pytest.fixture
def digest(app, monkeypatch):
    monkeypatch.setitem(app.config, "MAIL_DIGEST_SECONDS", 180)


def _take(referral, action, actor, side, **kwargs):
    with network_context(referral.network_id):
        services.transition(services.get_for_network(referral.id), action, actor=actor, side=side, **kwargs)
        db.session.commit()
    run_inline_pending()


def _assert_harmless(mail: dict[str, str]) -> None:
    text = mail["subject"] + "\n" + mail["body"]
    for secret in PATIENT_SECRETS:
        assert secret not in text, (secret, mail["subject"])
    for url in re.findall(r"https?://\S+", text):
        assert "token" not in url and "?" not in url, url


def test_every_change_for_the_gp_says_what_changed(world):
    referral = make_referral(world["noord"], world["gp"], status=S.ACKNOWLEDGED, coordinator=world["boss"].user)
    _take(referral, Action.REQUEST_INFO, world["boss"].user, Side.NETWORK, text="Welke chemo?")
    _take(referral, Action.ANSWER, world["gp"], Side.REFERRER, text="FOLFOX")
    _take(referral, Action.ACCEPT, world["boss"].user, Side.NETWORK)
    run_inline_pending()
    number = referral.number
    subjects = [mail["subject"] for mail in delivered_mails(to=GP)]
    assert subjects == [f"The network has received referral {number}",
                        f"The network asks you a question about referral {number}",
                        f"Referral {number} is accepted"]
    for mail in delivered_mails():
        _assert_harmless(mail)
        assert "Welke chemo" not in mail["body"] and "FOLFOX" not in mail["body"]
    to_boss = delivered_mails(to="boss@noord.example", template="referral_update_for_network")
    assert [m["subject"] for m in to_boss] == [f"The GP answered your question about referral {number}"]
    assert f"The GP answered your question about referral {number} (Netwerk Noord)." in to_boss[0]["body"]
    assert f"/n/noord/referrals/{referral.id}" in to_boss[0]["body"]


def test_a_withdrawal_tells_the_coordinator_it_was_withdrawn(world):
    referral = make_referral(world["noord"], world["gp"], status=S.SUBMITTED)
    _take(referral, Action.WITHDRAW, world["gp"], Side.REFERRER, text="Patiënt wil niet")
    to_boss = delivered_mails(to="boss@noord.example", template="referral_update_for_network")
    assert [m["subject"] for m in to_boss] == [f"The GP withdrew referral {referral.number}"]
    _assert_harmless(to_boss[0])


def test_a_letter_and_a_proposal_say_what_they_are(world):
    case = make_case(world["noord"], world["gp"], world["boss"])
    nurse = make_member(world["noord"], "verpleegkundige@noord.example", locale="en")
    add_to_team(case, world["boss"].user, nurse, accept=False)
    run_inline_pending()
    proposal = delivered_mails(to="verpleegkundige@noord.example", template="case_proposal")
    assert [m["subject"] for m in proposal] == ["You are asked to join a care team"]
    assert f"/n/noord/cases/{case.id}" in proposal[0]["body"]
    _assert_harmless(proposal[0])


def test_several_changes_within_minutes_reach_the_gp_as_one_mail(world, digest):
    start = utcnow()
    referral = make_referral(world["noord"], world["gp"], status=S.INTAKE_PLANNED, coordinator=world["boss"].user)
    run_inline_pending()
    number = referral.number
    assert delivered_mails(to=GP) == []  # acknowledged, accepted, intake planned: all three held
    assert len(delivered_mails(to="boss@noord.example", template="referral_submitted")) == 1  # not a digest mail

    assert flush_digests(now=start + timedelta(seconds=60)) == 0  # the first change is too recent
    assert delivered_mails(to=GP) == []

    assert flush_digests(now=utcnow() + timedelta(minutes=4)) == 1
    [mail] = delivered_mails(to=GP)
    assert mail["template"] == "digest" and mail["subject"] == "3 updates in Netwerkzorg"
    body = mail["body"]
    for line in (f"The network has received referral {number}", f"Referral {number} is accepted",
                 f"The intake for referral {number} is planned"):
        assert f"- {line}" in body
    assert body.count(f"http://localhost/verwijzer/verwijzingen/{referral.id}") == 3
    assert body.startswith("Hello ")
    _assert_harmless(mail)
    db.session.expire_all()
    statuses = [row.status for row in db.session.scalars(select(Outbox).where(Outbox.kind == "mail"))
                if row.payload["to"] == GP]
    assert statuses.count(MERGED) == 3 and HELD not in statuses

    assert flush_digests(now=utcnow() + timedelta(minutes=10)) == 0  # nothing is sent twice
    assert len(delivered_mails(to=GP)) == 1


def test_one_held_change_goes_out_as_it_was_written(world, digest):
    referral = make_referral(world["noord"], world["gp"], status=S.ACKNOWLEDGED, coordinator=world["boss"].user)
    run_inline_pending()
    assert delivered_mails(to=GP) == []
    assert flush_digests(now=utcnow() + timedelta(minutes=4)) == 1
    [mail] = delivered_mails(to=GP)
    assert mail["template"] == "referral_update"
    assert mail["subject"] == f"The network has received referral {referral.number}"
    _assert_harmless(mail)


def test_a_digest_is_per_recipient_and_per_network(world, digest):
    other_gp = make_gp("ander@example.nl", "07654321", locale="en", email_verified_at=utcnow())
    in_noord = make_referral(world["noord"], world["gp"], status=S.ACCEPTED, coordinator=world["boss"].user)
    in_zuid = make_referral(world["zuid"], world["gp"], status=S.ACKNOWLEDGED, coordinator=world["zuid_boss"].user)
    theirs = make_referral(world["noord"], other_gp, status=S.ACKNOWLEDGED, coordinator=world["boss"].user)
    assert flush_digests(now=utcnow() + timedelta(minutes=4)) == 3
    mine = delivered_mails(to=GP)
    assert sorted(m["subject"] for m in mine) == sorted(
        ["2 updates in Netwerkzorg", f"The network has received referral {in_zuid.number}"])
    digest_mail = next(m for m in mine if m["template"] == "digest")
    # Numbers count per network: the links tell the referrals apart.
    assert digest_mail["body"].count(f"/verwijzer/verwijzingen/{in_noord.id}\n") == 2
    assert f"/verwijzingen/{in_zuid.id}\n" not in digest_mail["body"]
    assert f"/verwijzingen/{theirs.id}\n" not in digest_mail["body"]
    [their_mail] = delivered_mails(to="ander@example.nl")
    assert their_mail["subject"] == f"The network has received referral {theirs.number}"


def test_proposals_to_one_member_within_minutes_come_as_one_mail(world, digest):
    nurse = make_member(world["noord"], "verpleegkundige@noord.example", locale="en")
    first = make_case(world["noord"], world["gp"], world["boss"])
    second = make_case(world["noord"], world["gp"], world["boss"])
    add_to_team(first, world["boss"].user, nurse, accept=False)
    add_to_team(second, world["boss"].user, nurse, accept=False)
    run_inline_pending()
    assert delivered_mails(to="verpleegkundige@noord.example") == []
    flush_digests(now=utcnow() + timedelta(minutes=4))
    [mail] = delivered_mails(to="verpleegkundige@noord.example")
    assert mail["subject"] == "2 updates in Netwerkzorg"
    assert mail["body"].count("You are asked to join a care team") == 2
    assert f"/n/noord/cases/{first.id}" in mail["body"] and f"/n/noord/cases/{second.id}" in mail["body"]
    _assert_harmless(mail)
