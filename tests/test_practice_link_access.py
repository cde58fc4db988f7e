"""A practice nurse reaches the referrals she typed for a GP exactly as long as the GP's confirmed link
exists. Ending the link ends every derived access on the next request: the referral page and timeline,
the list, the case's letters and questions, answering, withdrawing, drafts and attachments. The referrals
stay with the GP, who sees who typed each.

The walk enumerates the referrer blueprint from app.url_map, so a new route joins it automatically."""
from __future__ import annotations

import io
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage

from app.cases.models import Case, CaseMessage, Letter
from app.cases.services import letters as letter_service
from app.core.dates import local_today
from app.core.db import utcnow
from app.core.jobs import Outbox, run_inline_pending
from app.core.tenancy import network_context
from app.extensions import db
from app.meetings.models import Meeting, MeetingKind
from app.networks.models import Role
from app.palliative import mdo
from app.referrals import attachments, services
from app.referrals.models import PracticeNurseLink, Referral, ReferralAttachment, ReferralEvent, ReferralStatus
from tests.case_factories import make_case
from tests.conftest import login_as, make_gp, make_member, make_network, make_practice_link
from tests.referral_factories import make_referral

S = ReferralStatus
CANARY = "Kanariepietje"  # the patient's given name on every referral the nurse typed
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
REFERRER_BLUEPRINTS = ("gp_portal.",)
POST_DATA = {"home_situation": "Gaat redelijk", "text": "Antwoord", "reason": "Niet meer nodig", "body": "Hoe gaat het?", "confirm": "y",
             "action": "draft", "given_name": "Iemand", "agb_code": "01234567"}


@pytest.fixture
def world():
    network = make_network("noord", approved_at=utcnow())
    coordinator = make_member(network, "coo@example.nl", role=Role.COORDINATOR, disciplines=("casemanager",))
    gp = make_gp("gp@example.nl", "01234567", email_verified_at=utcnow(), locale="en", name="Dokter Gerrit")
    poh = make_gp("poh@example.nl", "22223333", kind="poh", email_verified_at=utcnow(), locale="en",
                  name="Petra Praktijkondersteuner")
    link = make_practice_link(gp, poh, confirmed=True)
    case = make_case(network, gp, coordinator, typed_by=poh, given_name=CANARY)
    submitted = make_referral(network, gp, typed_by=poh, given_name=CANARY)
    asked = make_referral(network, gp, typed_by=poh, status=S.INFO_REQUESTED, coordinator=coordinator.user,
                          given_name=CANARY)
    draft = make_referral(network, gp, typed_by=poh, status=S.DRAFT, given_name=CANARY)
    with network_context(network.id):
        attachment = attachments.add(db.session.get(Referral, submitted.id),
                                     FileStorage(io.BytesIO(PDF), "brief.pdf"), poh)
        letter = db.session.scalar(select(Letter).where(Letter.case_id == case.id))
        letter_service.send_letter(letter, coordinator.user)
        meeting = Meeting(network_id=network.id, held_on=local_today() + timedelta(days=3), kind=MeetingKind.MDO,
                          title="MDO")
        db.session.add(meeting)
        db.session.flush()
        discussion = mdo.plan_discussion(db.session.get(Case, case.id), coordinator.user, meeting, question="",
                                         ask_gp=True)
        db.session.commit()
        ids = {"attachment_id": attachment.id, "letter_id": letter.id, "discussion_id": discussion.id,
               "api_client_id": 1}
    run_inline_pending()
    return {"network": network, "coordinator": coordinator, "gp": gp, "poh": poh, "link_id": link.id, "ids": ids,
            "referral_ids": [case.referral_id, submitted.id, asked.id, draft.id], "draft_key": draft.submission_key}


def referrer_rules(app):
    return sorted((rule for rule in app.url_map.iter_rules() if rule.endpoint.startswith(REFERRER_BLUEPRINTS)),
                  key=lambda rule: rule.rule)


def urls_for(app, rule, world, method: str) -> list[str]:
    """Every URL of *rule* the walk requests: one per referral the nurse typed when the rule takes one."""
    values = {"slug": world["network"].slug, "link_id": world["link_id"], "token": "x" * 32, **world["ids"]}
    adapter = app.url_map.bind("localhost")
    if "referral_id" not in rule.arguments:
        extra = {"van": world["referral_ids"][0]} if rule.endpoint == "gp_portal.new" and method == "GET" else {}
        return [adapter.build(rule.endpoint, {k: values[k] for k in rule.arguments} | extra, method=method)]
    return [adapter.build(rule.endpoint, {**{k: values[k] for k in rule.arguments if k != "referral_id"},
                                          "referral_id": referral_id}, method=method)
            for referral_id in world["referral_ids"]]


def request(client, method: str, url: str, world):
    if method == "GET":
        return client.get(url)
    return client.post(url, data={**POST_DATA, "submission_key": world["draft_key"]})


def state(world) -> tuple:
    """What a refused request must not change: statuses, events, messages, attachments, the draft."""
    db.session.rollback()
    with network_context(world["network"].id):
        rows = db.session.execute(select(Referral.id, Referral.status, Referral.gp_profile_id, Referral.draft_data)
                                  .order_by(Referral.id)).all()
        counts = [db.session.scalar(select(func.count()).select_from(model))
                  for model in (ReferralEvent, CaseMessage, ReferralAttachment)]
        removed = db.session.scalar(select(func.count()).where(ReferralAttachment.removed_at.is_not(None)))
    return [tuple(row) for row in rows], counts, removed


def end_link(new_client, world):
    gp = login_as(new_client(), world["gp"])
    response = gp.post(f"/verwijzer/praktijk/{world['link_id']}/weigeren", data={})
    assert response.status_code == 302
    db.session.rollback()
    assert db.session.get(PracticeNurseLink, world["link_id"]) is None


def test_the_walk_covers_the_referrer_routes(app):
    endpoints = {rule.endpoint for rule in referrer_rules(app) if "referral_id" in rule.arguments}
    assert {"gp_portal.detail", "gp_portal.answer", "gp_portal.withdraw", "gp_portal.download",
            "gp_portal.case_letter", "gp_portal.case_question", "gp_portal.edit_draft",
            "gp_portal.discard_draft", "gp_portal.confirmation"} <= endpoints


def test_while_linked_the_nurse_opens_every_referral_page(app, client, world):
    login_as(client, world["poh"])
    assert CANARY in client.get("/verwijzer/verwijzingen/").get_data(as_text=True)
    for rule in referrer_rules(app):
        if "referral_id" not in rule.arguments or "GET" not in rule.methods:
            continue
        statuses = [client.get(url).status_code for url in urls_for(app, rule, world, "GET")]
        assert 200 in statuses, (rule.rule, statuses)
    detail = client.get(f"/verwijzer/verwijzingen/{world['referral_ids'][0]}").get_data(as_text=True)
    assert CANARY in detail


def test_ending_the_link_ends_every_access_on_the_next_request(app, client, new_client, world):
    login_as(client, world["poh"])
    assert client.get(f"/verwijzer/verwijzingen/{world['referral_ids'][0]}").status_code == 200
    end_link(new_client, world)
    before = state(world)

    for rule in referrer_rules(app):
        for method in sorted({"GET", "POST"} & rule.methods):
            for url in urls_for(app, rule, world, method):
                response = request(client, method, url, world)
                body = response.get_data(as_text=True)
                where = f"{method} {url}: {response.status_code}"
                assert CANARY not in body, where
                assert response.status_code < 500, where
                if "referral_id" in rule.arguments:
                    location = response.headers.get("Location", "")
                    assert response.status_code == 404 or (
                        response.status_code == 302 and "/verwijzingen/" not in location), where
    assert state(world) == before

    # The referrals stay with the GP, who sees who typed each.
    gp = login_as(new_client(), world["gp"])
    listing = gp.get("/verwijzer/verwijzingen/").get_data(as_text=True)
    assert CANARY in listing and "Petra Praktijkondersteuner" in listing
    for referral_id in world["referral_ids"][:3]:
        page = gp.get(f"/verwijzer/verwijzingen/{referral_id}")
        assert page.status_code == 200
        assert "Sent by Petra Praktijkondersteuner on behalf of Dokter Gerrit" in page.get_data(as_text=True)


def test_a_link_asked_again_but_not_yet_confirmed_gives_no_access(app, client, new_client, world):
    end_link(new_client, world)
    make_practice_link(world["gp"], world["poh"], confirmed=False)
    login_as(client, world["poh"])
    assert client.get(f"/verwijzer/verwijzingen/{world['referral_ids'][0]}").status_code == 404
    assert CANARY not in client.get("/verwijzer/verwijzingen/").get_data(as_text=True)


def test_the_nurse_keeps_access_to_what_she_typed_for_another_gp_still_linked(client, new_client, world):
    other_gp = make_gp("gp2@example.nl", "07654321", email_verified_at=utcnow(), name="Dokter Anna")
    make_practice_link(other_gp, world["poh"], confirmed=True)
    kept = make_referral(world["network"], other_gp, typed_by=world["poh"], given_name="Blijftzichtbaar")
    end_link(new_client, world)
    login_as(client, world["poh"])
    assert client.get(f"/verwijzer/verwijzingen/{kept.id}").status_code == 200
    listing = client.get("/verwijzer/verwijzingen/").get_data(as_text=True)
    assert "Blijftzichtbaar" in listing and CANARY not in listing
    # The old draft's key cannot be reused to move it to the GP who is still linked.
    response = client.post(f"/verwijzer/verwijzingen/nieuw/{world['network'].slug}",
                           data={**POST_DATA, "submission_key": world["draft_key"],
                                 "on_behalf_of": str(other_gp.gp_profile.id)})
    assert response.status_code == 404
    db.session.rollback()
    with network_context(world["network"].id):
        draft = db.session.get(Referral, world["referral_ids"][3])
        assert draft.gp_profile_id == world["gp"].gp_profile.id


def test_after_the_link_ends_only_the_gp_is_told_of_updates(new_client, world):
    coordinator = world["coordinator"]

    def acknowledge_and_mail_to() -> set[str]:
        db.session.rollback()
        first = db.session.scalar(select(func.max(Outbox.id))) or 0
        with network_context(world["network"].id):
            referral = services.get_for_network(world["referral_ids"][1])
            services.transition(referral, services.Action.ACKNOWLEDGE if referral.status is S.SUBMITTED
                                else services.Action.REQUEST_INFO, actor=coordinator.user,
                                side=services.Side.NETWORK, text="Graag de uitslag")
            db.session.commit()
        return {row.payload["to"] for row in db.session.scalars(select(Outbox).where(Outbox.id > first,
                                                                                      Outbox.kind == "mail"))}

    assert acknowledge_and_mail_to() == {"gp@example.nl", "poh@example.nl"}
    end_link(new_client, world)
    assert acknowledge_and_mail_to() == {"gp@example.nl"}
