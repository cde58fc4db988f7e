"""The leak walk: no section of the shared record passes the consent door unasked.

Every section of one patient's record carries its own canary string, and so do the team's notes and the
distress thermometer's problem list. Every viewer (the coordinator; a team member for every subset of the
consent parts; a member after withdrawal; a member of the network not on the team; the referring GP;
another GP; a user of another network) requests every GET route of the application, every PDF and export
among them, and the mails of the walk are read from the outbox. The table below (ALLOWED) says who may
see which part; the test asserts each canary appears exactly there:
  - nowhere for a viewer the table does not allow;
  - on the case page and on the section's history page for every viewer it allows.

New routes join by themselves: a GET route whose URL needs an argument this walk cannot fill fails the test
(add a value, or list it in NO_PATIENT_DATA_ARGUMENTS with the reason). New sections join by themselves:
every SectionKey gets a canary in its first text field.

How it fails: let CaseAccess.visible_sections return every section (or drop the access check in
_intake_view.html's distress block), and a member without the questionnaires part sees the distress canary.
"""
from __future__ import annotations

import io
from itertools import combinations

import pytest
from pypdf import PdfReader
from pypdf.errors import PdfReadError
from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from app.cases import services
from app.cases.models import Case, Consent, ConsentPart, Letter, NoteVisibility
from app.cases.services import letters
from app.core.dates import local_today
from app.core.db import utcnow
from app.core.jobs import Outbox
from app.core.tenancy import network_context
from app.directory.hsds import organization_uuid
from app.extensions import db
from app.networks.models import Membership, Role
from app.patient_portal import services as portal_services
from app.records import services as record_services
from app.records.models import SECTION_PARTS, RecordSource, SectionKey, section_spec
from app.referrals import attachments
from app.referrals.models import Referral, ReferralStatus
from tests.case_factories import add_to_team, give_consent, write_note
from tests.conftest import login_as, make_gp, make_member, make_network, make_user
from tests.quality_factories import FAKE_PDF
from tests.referral_factories import make_referral

PART_SETS = [frozenset(c) for size in (1, 2, 3) for c in combinations(ConsentPart, size)]
NOTES_CANARY = "CANARY-NOTES-7c1e"
# The distress thermometer's problem list shows labels, not free text: a code no other page prints, in Dutch.
DISTRESS_PROBLEM = "tingling"
DISTRESS_PROBLEM_LABEL = "Tintelingen in handen of voeten"
# URL arguments of routes that show no patient data at all (member profiles, meetings, quality evidence,
# administration, sign-in tokens, static files). A route with any other unknown argument fails the walk.
NO_PATIENT_DATA_ARGUMENTS = {"token", "filename", "operation", "meeting_id", "training_id", "evidence_id",
                             "snapshot_id", "contact_id", "link_id", "user_id", "membership_id", "network_id",
                             "name"}  # help.image: the guides' screenshots of the made-up demo data


def section_canary(key: SectionKey) -> str:
    return f"CANARY-{key.value.upper()}-7c1e"


def _canary_field(key: SectionKey) -> str:
    spec = section_spec(key)
    field = next((f for f in spec.fields if f.kind in ("text", "textarea")), None)
    assert field is not None, f"section {key} has no text field to carry a canary: give the walk another way"
    return field.name


def canaries() -> dict[str, ConsentPart]:
    """Every canary and the consent part that decides who may see it."""
    table = {section_canary(key): SECTION_PARTS[key] for key in SectionKey}
    table[NOTES_CANARY] = ConsentPart.NOTES
    table[DISTRESS_PROBLEM_LABEL] = ConsentPart.PROMS
    return table


def allowed_parts(viewer: str) -> frozenset[ConsentPart]:
    """THE TABLE: which parts each viewer may see of the patient."""
    if viewer == "coordinator":
        return frozenset(ConsentPart)
    if viewer.startswith("member:"):
        return frozenset(ConsentPart(part) for part in viewer.removeprefix("member:").split("+"))
    return frozenset()  # withdrawn, outsider, the referring GP, another GP, another network


@pytest.fixture
def leak_world():
    network = make_network("leak", approved_at=utcnow())
    coordinator = make_member(network, "coordinator@leak.example", role=Role.COORDINATOR)
    gp = make_gp("gp@leak.example", "11223344", email_verified_at=utcnow())
    other_gp = make_gp("othergp@leak.example", "55667788", email_verified_at=utcnow())
    other_network = make_network("elsewhere", approved_at=utcnow())
    stranger = make_member(other_network, "coordinator@elsewhere.example", role=Role.COORDINATOR)
    outsider = make_member(network, "outsider@leak.example", disciplines=("dietist",))
    someone_else = make_referral(network, other_gp, coordinator=coordinator.user)  # the other GP refers someone else

    referral = make_referral(network, gp, status=ReferralStatus.ACCEPTED, coordinator=coordinator.user)
    with network_context(network.id):
        live = db.session.get(Referral, referral.id)
        attachment = attachments.add(live, FileStorage(io.BytesIO(FAKE_PDF), filename="brief.pdf",
                                                       content_type="application/pdf"), gp)
        intake = services.start_intake(live, coordinator.user)
        services.save_intake(intake, coordinator.user, {
            "story": section_canary(SectionKey.STORY), "distress_score": 7, "distress_problems": [DISTRESS_PROBLEM]})
        case = services.complete_intake(intake, coordinator.user, coordinator)
        db.session.commit()
        case_id, patient_id, attachment_id = case.id, case.patient_id, attachment.id
        for key in SectionKey:
            content = {_canary_field(key): section_canary(key)}
            if key is SectionKey.DISTRESS:
                content.update(score=7, problems=[DISTRESS_PROBLEM])
            record_services.write_section(patient_id, key, content, actor=coordinator.user, reason="the walk",
                                          source=RecordSource.COORDINATOR, case_id=case_id)
        db.session.commit()
        case = db.session.get(Case, case_id)

    viewers = {"coordinator": coordinator}
    team_rows = []
    for number, parts in enumerate(PART_SETS):
        member = make_member(network, f"member{number}@leak.example", disciplines=("dietist",))
        team_rows.append(add_to_team(case, coordinator.user, member, parts=parts))
        viewers["member:" + "+".join(sorted(part.value for part in parts))] = member
    withdrawn = make_member(network, "withdrawn@leak.example", disciplines=("dietist",))
    consent = give_consent(case, coordinator.user, withdrawn)
    add_to_team(case, coordinator.user, withdrawn, consent=False)
    note = write_note(case, coordinator, NOTES_CANARY, NoteVisibility.TEAM)
    with network_context(network.id):
        live_case = db.session.get(Case, case_id)
        services.withdraw_consent(db.session.get(Consent, consent.id), coordinator.user, "Op verzoek")
        action = services.add_action(live_case, coordinator.user, description="Bellen",
                                     owner=db.session.get(Membership, coordinator.id), due_on=local_today())
        letter = db.session.scalar(select(Letter).where(Letter.case_id == case_id))
        letters.send_letter(letter, coordinator.user)
        db.session.commit()
        values = {"network_slug": network.slug, "slug": network.slug, "case_id": case_id,
                  "referral_id": referral.id, "patient_id": patient_id, "version": 1, "letter_id": letter.id,
                  "note_id": note.id, "consent_id": consent.id, "member_id": team_rows[0].id,
                  "action_id": action.id, "attachment_id": attachment_id,
                  "duplicate_id": someone_else.patient_id,  # the merge page, with a second patient
                  # The open directory feed (public data only): the network as organization and as service.
                  "organization_id": organization_uuid(network.id), "service_id": organization_uuid(network.id),
                  "subscription_id": 1,  # FHIR: bearer-token routes, refused here (no token)
                  "api_client_id": 1,  # connected systems: no patient data
                  "role": "coordinator", "section": "consent"}  # the role guides (/hulp): public
        # The patient's own portal account, a relative granted the care plan only, and one whose access ended.
        patient_user = make_user("patient@leak.example", name="Patiënt")
        relative_user = make_user("naaste@leak.example", name="Naaste")
        revoked_user = make_user("oud@leak.example", name="Oud-naaste")
        own = portal_services.invite_patient(db.session.get(Referral, referral.id), coordinator.user,
                                             email=patient_user.email, full_name="Patiënt", locale="nl")
        relative = portal_services.invite_relative(own, email=relative_user.email, full_name="Naaste",
                                                   relation="partner", sections=[SectionKey.CARE_PLAN], locale="nl")
        revoked = portal_services.invite_relative(own, email=revoked_user.email, full_name="Oud-naaste",
                                                  relation="zoon", sections=list(SectionKey), locale="nl")
        portal_services.revoke(revoked, patient_user)
        db.session.commit()
        values.update(account_id=own.id, relative_id=relative.id)
        portal = {"patient": (patient_user, own.id), "relative:care_plan": (relative_user, relative.id),
                  "relative revoked": (revoked_user, revoked.id)}
    viewers.update({"withdrawn": withdrawn, "outsider": outsider, "stranger": stranger})
    users = {name: membership.user for name, membership in viewers.items()}
    users.update({"referring_gp": gp, "other_gp": other_gp})
    return {"users": users, "values": values, "case_id": case_id, "portal": portal}


def _urls(app, values) -> list[tuple[str, str]]:
    adapter = app.url_map.bind("localhost")
    urls = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods:
            continue
        unknown = rule.arguments - values.keys() - {"key"}
        if unknown & NO_PATIENT_DATA_ARGUMENTS:
            continue
        if unknown:
            pytest.fail(f"{rule.endpoint}: the leak walk has no value for {sorted(unknown)}; add one")
        keys = list(SectionKey) if "key" in rule.arguments else [None]
        for key in keys:
            given = {name: values[name] for name in rule.arguments if name != "key"}
            if key is not None:
                given["key"] = key.value
            urls.append((rule.endpoint, adapter.build(rule.endpoint, given)))
    return urls


def _text(response) -> str:
    data = response.get_data()
    response.close()
    if data.startswith(b"%PDF"):
        try:
            return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages)
        except PdfReadError:  # the test's stand-in upload (FAKE_PDF) is no full PDF: read its bytes
            pass
    return data.decode("utf-8", "replace")


def test_every_canary_appears_exactly_where_the_consent_allows(app, new_client, leak_world):
    table = canaries()
    urls = _urls(app, leak_world["values"])
    assert {"cases.detail", "cases.record_section", "cases.intake_version", "cases.notes", "cases.proms",
            "cases.letter_pdf", "patients.export_pdf", "gp_portal.detail"} <= {endpoint for endpoint, _ in urls}
    seen: dict[str, set[tuple[str, str]]] = {canary: set() for canary in table}
    for viewer, user in leak_world["users"].items():
        client = login_as(new_client(), user)
        for _endpoint, url in urls:
            text = _text(client.get(url))
            for canary in table:
                if canary in text:
                    seen[canary].add((viewer, url))

    case_url = f"/n/leak/cases/{leak_world['case_id']}"
    problems = []
    for canary, part in table.items():
        for viewer in leak_world["users"]:
            where = sorted(url for who, url in seen[canary] if who == viewer)
            if part not in allowed_parts(viewer) and where:
                problems.append(f"{viewer} saw {canary} ({part}) on {where}")
            if part in allowed_parts(viewer) and canary != NOTES_CANARY and case_url not in where:
                problems.append(f"{viewer} may see {canary} ({part}) but the case page does not show it")
    for key in SectionKey:
        history = f"{case_url}/dossier/{key.value}"
        for viewer in leak_world["users"]:
            shown = (viewer, history) in seen[section_canary(key)]
            if shown != (SECTION_PARTS[key] in allowed_parts(viewer)):
                problems.append(f"{viewer}: history of {key} shown={shown}")
    for viewer in leak_world["users"]:
        notes_shown = (viewer, f"{case_url}/notities") in seen[NOTES_CANARY]
        if notes_shown != (ConsentPart.NOTES in allowed_parts(viewer)):
            problems.append(f"{viewer}: notes shown={notes_shown}")
    assert problems == []


def test_the_portal_shows_the_patient_everything_and_a_relative_only_what_was_granted(app, new_client, leak_world):
    """The patient and the relatives walk every GET route twice: with the patient's account in the URL and with
    their own. The patient sees every canary (their own record; the notes in their download); the relative only
    the care plan's, and on their own record page; the relative whose access ended sees none, anywhere.

    How it fails: let portal_access() give a relative every section, and the story canary shows for them."""
    table = canaries()
    problems = []
    for viewer, (user, own_account) in leak_world["portal"].items():
        client = login_as(new_client(), user)
        seen: dict[str, set[str]] = {canary: set() for canary in table}
        for account_id in {leak_world["values"]["account_id"], own_account}:
            for _endpoint, url in _urls(app, {**leak_world["values"], "account_id": account_id}):
                text = _text(client.get(url))
                for canary in seen:
                    if canary in text:
                        seen[canary].add(url)
        if viewer == "patient":
            allowed = set(table)
        elif viewer == "relative:care_plan":
            allowed = {section_canary(SectionKey.CARE_PLAN)}
        else:
            allowed = set()
        for canary, where in seen.items():
            if where and canary not in allowed:
                problems.append(f"{viewer} saw {canary} on {sorted(where)}")
            if canary in allowed and not where:
                problems.append(f"{viewer} may see {canary} but no page shows it")
        own_page = f"/mijn/{own_account}"
        for key in SectionKey:
            if section_canary(key) in allowed and own_page not in seen[section_canary(key)]:
                problems.append(f"{viewer}: their record page does not show {key}")
    assert problems == []


def test_no_mail_of_the_walk_carries_patient_data(leak_world):
    db.session.rollback()
    mails = list(db.session.scalars(select(Outbox).where(Outbox.kind == "mail")))
    assert mails, "the walk sent a letter: the GP got a mail"
    for mail in mails:
        text = f"{mail.payload.get('subject', '')}\n{mail.payload.get('body', '')}"
        assert not [canary for canary in canaries() if canary in text], mail.payload.get("template")
