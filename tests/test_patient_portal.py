"""The patient in their own record, over HTTP, as the casus plays it: the coordinator invites Wim Jansen, Wim sets
a password and two-step verification, fills in the distress thermometer before the intake (the intake starts with
his answers), reads his record and team, says yes to the sexologist the team proposes, withdraws that consent again
(the sexologist's next request is a 404), reads who looked at his record, and lets his wife read the care plan only.
"""
from __future__ import annotations

import re

import pyotp
from sqlalchemy import select

from app.auth.models import User
from app.cases import services as case_services
from app.cases.models import CareTeamMember, Case, PromMeasurement, TeamStatus
from app.core.db import utcnow
from app.core.tenancy import network_context
from app.extensions import db
from app.networks.models import Role
from app.patients.models import PortalAccount, PortalRole
from app.records.models import SectionKey
from app.referrals.models import Referral, ReferralStatus
from tests.case_factories import add_to_team
from tests.conftest import delivered_mails, login_as, make_gp, make_member, make_network, make_user
from tests.referral_factories import make_referral

PASSWORD = "wim zijn eigen wachtwoord 2026"
BASE = "http://localhost"


def text_of(response) -> str:
    return response.get_data(as_text=True)


def token_in(body: str, path: str) -> str:
    match = re.search(re.escape(path) + r"([A-Za-z0-9_\-]+)", body)
    assert match, body
    return match.group(1)


def sign_up_from_invitation(client, email: str) -> User:
    """Open the invitation link from the mail, choose a password, sign in, set up the second factor."""
    mail = delivered_mails(to=email, template="portal_invitation")[-1]
    # Addressed by name, and nothing else: no patient data, no network (its name says what care this is).
    assert not any(word in mail["body"] for word in ("111222333", "Diarree", "kennemerland", "oncolog"))
    token = token_in(mail["body"], "/invitation/")
    assert client.get(f"/invitation/{token}").status_code == 302
    response = client.post("/invitation", data={"full_name": "Wim Jansen", "password": PASSWORD,
                                                "confirm": PASSWORD})
    assert response.status_code == 302, text_of(response)
    response = client.post("/login", data={"email": email, "password": PASSWORD})
    assert response.headers["Location"].endswith("/account/mfa/setup")
    secret = re.search(r'<code class="secret">([A-Z2-7]+)</code>', text_of(client.get("/account/mfa/setup"))).group(1)
    assert client.post("/account/mfa/setup", data={"code": pyotp.TOTP(secret).now()}).status_code == 200
    return db.session.scalar(select(User).where(User.email == email))


def _world():
    network = make_network("kennemerland", approved_at=utcnow())
    coordinator = make_member(network, "coordinator@example.nl", role=Role.COORDINATOR, disciplines=("casemanager",),
                              name="Marieke de Vries")
    dietician = make_member(network, "dietist@example.nl", disciplines=("dietist",), name="Dirk Diëtist")
    sexologist = make_member(network, "seksuoloog@example.nl", disciplines=("seksuoloog",), name="Sanne Seksuoloog")
    gp = make_gp("huisarts@example.nl", "01234567", email_verified_at=utcnow())
    referral = make_referral(network, gp, status=ReferralStatus.ACCEPTED, coordinator=coordinator.user)
    return network, coordinator, dietician, sexologist, referral


def test_the_casus_of_wim_jansen_in_his_own_record(app, new_client):
    network, coordinator, dietician, sexologist, referral = _world()
    slug = network.slug
    desk = login_as(new_client(), coordinator.user)
    portal_page = f"/n/{slug}/portaal/verwijzing/{referral.id}"

    # The coordinator invites Wim; a wrong address gets a message and keeps the name.
    response = desk.post(portal_page, data={"invite-full_name": "Wim Jansen", "invite-email": "wim@", "invite-locale": "nl"})
    assert response.status_code == 400 and 'value="Wim Jansen"' in text_of(response)
    response = desk.post(portal_page, data={"invite-full_name": "Wim Jansen", "invite-email": "wim@example.nl",
                                            "invite-locale": "nl"})
    assert response.status_code == 302
    assert desk.post(portal_page, data={"invite-full_name": "Wim Jansen", "invite-email": "wim@example.nl",
                                        "invite-locale": "nl"}).status_code == 400  # once

    wim_client = new_client()
    wim = sign_up_from_invitation(wim_client, "wim@example.nl")
    with network_context(network.id):
        account = db.session.scalar(select(PortalAccount).where(PortalAccount.user_id == wim.id))
    assert account.role is PortalRole.PATIENT
    opened = wim_client.get("/mijn/")
    assert opened.status_code == 302 and opened.headers["Location"].endswith(f"/mijn/{account.id}")
    record_page = text_of(wim_client.get(f"/mijn/{account.id}"))
    assert "Diarree sinds de operatie" in record_page or "diarree" in record_page.lower()

    # Before the intake: the distress thermometer, filled in at home. A score of 11 is refused, the rest kept.
    questionnaire = f"/mijn/{account.id}/vragenlijst"
    response = wim_client.post(questionnaire, data={"score": "11", "problems": ["fatigue"], "remark": "Moe"})
    assert response.status_code == 400 and "Moe" in text_of(response)
    assert wim_client.post(questionnaire, data={"score": "7", "problems": ["fatigue", "sexuality"],
                                                "remark": "Moe"}).status_code == 302

    # The coordinator's intake starts with Wim's own answers; the case's first measurement is his.
    intake_page = text_of(desk.get(f"/n/{slug}/cases/intake/{referral.id}"))
    assert 'id="own-questionnaire"' in intake_page
    with network_context(network.id):
        live = db.session.get(Referral, referral.id)
        prefilled, _ = case_services.prefill(live)
        assert prefilled["distress_score"] == 7
        intake = case_services.start_intake(live, coordinator.user)
        case_services.save_intake(intake, coordinator.user, {**prefilled, "story": "Ik heb sinds de operatie diarree."})
        case = case_services.complete_intake(intake, coordinator.user, coordinator)
        db.session.commit()
        first = db.session.scalar(select(PromMeasurement).where(PromMeasurement.case_id == case.id))
        assert (first.score, first.patient_reported, first.recorded_by_id) == (7, True, wim.id)
        case_id = case.id
    assert text_of(desk.get(f"/n/{slug}/cases/{case_id}/lastmeter")).count('class="tag patient-reported"') == 1
    with network_context(network.id):
        case = db.session.get(Case, case_id)
    add_to_team(case, coordinator.user, dietician)

    # Wim reads his team and his story.
    record_page = text_of(wim_client.get(f"/mijn/{account.id}"))
    assert "Dirk Diëtist" in record_page and "Marieke de Vries" in record_page
    assert "Ik heb sinds de operatie diarree." in record_page

    # The team proposes the sexologist and leaves the consent to Wim: no mail to the sexologist yet.
    assert "wait_for_patient" in text_of(desk.get(f"/n/{slug}/cases/{case_id}/team/voorstellen"))
    response = desk.post(f"/n/{slug}/cases/{case_id}/team/voorstellen", data={
        "membership_id": str(sexologist.id), "reason": "Seksuele klachten na de operatie", "wait_for_patient": "y"})
    assert response.status_code == 302, text_of(response)
    assert delivered_mails(to="seksuoloog@example.nl", template="case_proposal") == []
    with network_context(network.id):
        proposed = db.session.scalar(select(CareTeamMember).where(CareTeamMember.case_id == case_id,
                                                                  CareTeamMember.membership_id == sexologist.id))
    consents_page = text_of(wim_client.get(f"/mijn/{account.id}/toestemming"))
    assert "Sanne Seksuoloog" in consents_page and f"/voorstel/{proposed.id}" in consents_page

    # Wim says yes for the intake only; the sexologist is asked, accepts, and sees the case.
    proposal_page = f"/mijn/{account.id}/voorstel/{proposed.id}"
    response = wim_client.post(proposal_page, data={"parts": ["intake"]})
    assert response.status_code == 400  # the yes box is required
    assert wim_client.post(proposal_page, data={"parts": ["intake"], "agreed": "y"}).status_code == 302
    assert len(delivered_mails(to="seksuoloog@example.nl", template="case_proposal")) == 1
    with network_context(network.id):
        row = db.session.get(CareTeamMember, proposed.id)
        case_services.respond_to_proposal(row, sexologist.user, accept=True)
        db.session.commit()
        assert row.status is TeamStatus.ACTIVE
    sexologist_client = login_as(new_client(), sexologist.user)
    assert sexologist_client.get(f"/n/{slug}/cases/{case_id}").status_code == 200
    assert sexologist_client.get(f"/n/{slug}/cases/{case_id}/notities").status_code == 404  # not shared

    # Wim withdraws it: the sexologist's next request is refused, the coordinator is told.
    with network_context(network.id):
        consent = next(c for c in case_services.consents_of(db.session.get(Case, case_id))
                       if c.obtained_by_id == wim.id)
    withdraw_page = f"/mijn/{account.id}/toestemming/{consent.id}/intrekken"
    assert wim_client.post(withdraw_page, data={}).status_code == 400  # the confirmation box
    assert wim_client.post(withdraw_page, data={"confirm": "y"}).status_code == 302
    assert sexologist_client.get(f"/n/{slug}/cases/{case_id}").status_code == 404
    told = delivered_mails(to="coordinator@example.nl", template="portal_consent_withdrawn")
    assert len(told) == 1 and "Jansen" not in told[0]["body"]

    # Who looked: the sexologist's read and the refused attempt after the withdrawal, in words.
    log_page = text_of(wim_client.get(f"/mijn/{account.id}/inzage"))
    assert "Sanne Seksuoloog" in log_page and "Marieke de Vries" in log_page

    # His wife reads the care plan only; never the story, the consents, the log or someone else's record.
    els = make_user("els@example.nl", name="Els Jansen")
    response = wim_client.post(f"/mijn/{account.id}/naasten", data={
        "full_name": "Els Jansen", "email": "els@example.nl", "relation": "partner", "sections": ["care_plan"],
        "locale": "nl"})
    assert response.status_code == 302, text_of(response)
    with network_context(network.id):
        els_account = db.session.scalar(select(PortalAccount).where(PortalAccount.user_id == els.id))
        assert els_account.sections == [SectionKey.CARE_PLAN.value]
    assert delivered_mails(to="els@example.nl", template="portal_added")
    els_client = login_as(new_client(), els)
    els_page = text_of(els_client.get(f"/mijn/{els_account.id}"))
    assert "Ik heb sinds de operatie diarree." not in els_page and "Dirk Diëtist" not in els_page
    for path in (f"/mijn/{account.id}", f"/mijn/{els_account.id}/toestemming", f"/mijn/{els_account.id}/inzage",
                 f"/mijn/{els_account.id}/berichten", f"/mijn/{els_account.id}/gegevens/export.json"):
        assert els_client.get(path).status_code == 404, path

    # Wim ends her access: her next request is a 404.
    revoke = f"/mijn/{account.id}/naasten/{els_account.id}/intrekken"
    assert wim_client.post(revoke, data={"confirm": "y"}).status_code == 302
    assert els_client.get(f"/mijn/{els_account.id}").status_code == 404


def test_a_proposal_without_consent_needs_the_patients_portal(app, new_client):
    """Without a portal account the 'let the patient decide' box is not offered, and a proposal without a
    recorded consent is refused with the form kept."""
    network, coordinator, _dietician, sexologist, referral = _world()
    with network_context(network.id):
        live = db.session.get(Referral, referral.id)
        intake = case_services.start_intake(live, coordinator.user)
        case_services.save_intake(intake, coordinator.user, {"story": "Ik heb sinds de operatie diarree."})
        case = case_services.complete_intake(intake, coordinator.user, coordinator)
        db.session.commit()
        case_id = case.id
    desk = login_as(new_client(), coordinator.user)
    page = f"/n/{network.slug}/cases/{case_id}/team/voorstellen"
    assert "wait_for_patient" not in text_of(desk.get(page))
    response = desk.post(page, data={"membership_id": str(sexologist.id), "reason": "Intimiteit",
                                     "wait_for_patient": "y"})
    assert response.status_code == 400 and "Intimiteit" in text_of(response)
    with network_context(network.id):
        assert db.session.scalar(select(CareTeamMember).where(CareTeamMember.membership_id == sexologist.id)) is None


def test_a_revoked_patient_account_ends_the_relatives_too(app, new_client):
    network, coordinator, _dietician, _sexologist, referral = _world()
    wim = make_user("wim@example.nl", name="Wim Jansen")
    els = make_user("els@example.nl", name="Els Jansen")
    from app.patient_portal import services

    with network_context(network.id):
        live = db.session.get(Referral, referral.id)
        account = services.invite_patient(live, coordinator.user, email=wim.email, full_name=wim.full_name, locale="nl")
        relative = services.invite_relative(account, email=els.email, full_name=els.full_name, relation="partner",
                                            sections=[SectionKey.CARE_PLAN], locale="nl")
        db.session.commit()
    wim_client, els_client = login_as(new_client(), wim), login_as(new_client(), els)
    assert wim_client.get(f"/mijn/{account.id}").status_code == 200
    assert els_client.get(f"/mijn/{relative.id}").status_code == 200
    desk = login_as(new_client(), coordinator.user)
    revoke = f"/n/{network.slug}/portaal/verwijzing/{referral.id}/toegang/{account.id}/intrekken"
    assert desk.get(revoke).status_code == 200
    assert desk.post(revoke, data={}).status_code == 400
    assert desk.post(revoke, data={"confirm": "y"}).status_code == 302
    assert wim_client.get(f"/mijn/{account.id}").status_code == 404
    assert els_client.get(f"/mijn/{relative.id}").status_code == 404


def test_the_own_download_holds_the_portal_part(app, new_client):
    """Right of access: the patient's own download (and the coordinator's export, the same builder) holds the
    portal accounts with what each relative may see, the questionnaires and the messages."""
    network, coordinator, _dietician, _sexologist, referral = _world()
    wim = make_user("wim@example.nl", name="Wim Jansen")
    els = make_user("els@example.nl", name="Els Jansen")
    from app.patient_portal import services

    with network_context(network.id):
        live = db.session.get(Referral, referral.id)
        account = services.invite_patient(live, coordinator.user, email=wim.email, full_name=wim.full_name, locale="nl")
        services.invite_relative(account, email=els.email, full_name=els.full_name, relation="partner",
                                 sections=[SectionKey.CARE_PLAN], locale="nl")
        services.submit_questionnaire(account, score=4, problems=["fatigue"], remark="Slecht geslapen")
        services.add_message(live, db.session.get(User, wim.id), "Wanneer is mijn intake?", from_patient=True)
        db.session.commit()
    wim_client = login_as(new_client(), wim)
    response = wim_client.get(f"/mijn/{account.id}/gegevens/export.json")
    assert response.status_code == 200
    portal = response.get_json()["portal"]
    assert [(a["role"], a["user_name"], a["sections"]) for a in portal["accounts"]] == [
        ("patient", "Wim Jansen", []), ("relative", "Els Jansen", ["care_plan"])]
    assert [(q["score"], q["remark"]) for q in portal["questionnaires"]] == [(4, "Slecht geslapen")]
    assert [m["body"] for m in portal["messages"]] == ["Wanneer is mijn intake?"]
    assert wim_client.get(f"/mijn/{account.id}/gegevens/export.pdf").status_code == 200


def _due_case_with_portal(network, coordinator, referral, *, revoked: bool = False):
    """A case whose measurement is due, its patient in the portal (or no longer: *revoked*)."""
    from datetime import date, timedelta

    from sqlalchemy import update

    from app.patient_portal import services

    wim = make_user("wim@example.nl", name="Wim Jansen")
    with network_context(network.id):
        live = db.session.get(Referral, referral.id)
        account = services.invite_patient(live, coordinator.user, email=wim.email, full_name=wim.full_name,
                                          locale="en")
        intake = case_services.start_intake(live, coordinator.user)
        case_services.save_intake(intake, coordinator.user, {"story": "Ik heb sinds de operatie diarree."})
        case = case_services.complete_intake(intake, coordinator.user, coordinator)
        if revoked:
            services.revoke(account, coordinator.user)
        db.session.flush()
        db.session.execute(update(Case).where(Case.id == case.id)
                           .values(next_prom_due_on=date.today() - timedelta(days=1)))
        db.session.commit()
        return case.id, account.id


def test_the_three_monthly_reminder_asks_the_patient_to_fill_it_in_themselves(inline_app, smtp):
    """The job that reminds the central care provider also mails a patient who uses the portal: a link to the
    questionnaire, nothing else (no network, no illness); an account that has ended gets nothing."""
    network, coordinator, _dietician, _sexologist, referral = _world()
    _case_id, account_id = _due_case_with_portal(network, coordinator, referral)
    with inline_app.app_context():
        result = inline_app.test_cli_runner().invoke(args=["remind-proms"])
    assert result.exit_code == 0, result.output
    to_patient = [m for m in smtp.messages if m.rcpt_tos == ["wim@example.nl"]]
    assert len(to_patient) == 1
    mail = to_patient[0]
    assert f"http://localhost/mijn/{account_id}/vragenlijst" in mail.body.split()
    for secret in ("Kennemerland", "kennemerland", "111222333", "diarree", "colorectal"):
        assert secret not in mail.raw.decode("utf-8", "replace"), secret
    assert [m.rcpt_tos for m in smtp.messages if m.rcpt_tos != ["wim@example.nl"]] == [["coordinator@example.nl"]]


def test_no_reminder_for_a_patient_whose_portal_access_ended(inline_app, smtp):
    network, coordinator, _dietician, _sexologist, referral = _world()
    _due_case_with_portal(network, coordinator, referral, revoked=True)
    with inline_app.app_context():
        result = inline_app.test_cli_runner().invoke(args=["remind-proms"])
    assert result.exit_code == 0, result.output
    assert [m.rcpt_tos for m in smtp.messages] == [["coordinator@example.nl"]]  # the central care provider only
