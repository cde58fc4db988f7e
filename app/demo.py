"""Demo data: two networks (Zuid-Kennemerland, Twente) with coordinators, members of many
disciplines, GPs with practices and one patient each. Idempotent: a second run adds nothing."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select

from app.auth.models import GPProfile, User
from app.core.dates import local_today
from app.core.db import utcnow
from app.core.security import hash_password
from app.core.tenancy import network_context
from app.extensions import db
from app.meetings.models import Attendance, Meeting, MeetingKind
from app.networks.models import (
    ContactKind,
    Discipline,
    Membership,
    MembershipDiscipline,
    Network,
    NetworkContact,
    NetworkStatus,
    Role,
    ServiceAreaRange,
)
from app.networks.services.profile import parse_service_area
from app.patients.models import Patient

DEMO_PASSWORD = "demo-wachtwoord-2026"  # noqa: S105 - demo accounts only; printed by make run
DOMAIN = "demo.netwerkzorg.nl"
ADMIN = ("admin", "Platform Beheer")

NETWORKS = [
    {
        "slug": "zuid-kennemerland", "name": "Oncologienetwerk Zuid-Kennemerland",
        "region": "Haarlem, Heemstede, Bloemendaal, Zandvoort", "status": NetworkStatus.QUALIFIED,
        "people": [
            ("marieke.devries", "Marieke de Vries", Role.COORDINATOR, ["casemanager"], "Netwerkbureau", "Haarlem"),
            ("sanne.bakker", "Sanne Bakker", Role.MEMBER, ["dietist"], "Diëtistenpraktijk Spaarne", "Haarlem"),
            ("joost.visser", "Joost Visser", Role.MEMBER, ["fysiotherapeut"], "Fysio Heemstede", "Heemstede"),
            ("fatima.elamrani", "Fatima El Amrani", Role.MEMBER, ["psycholoog"], "Psychologenpraktijk Kennemer",
             "Haarlem"),
            ("eva.mulder", "Eva Mulder", Role.MEMBER, ["seksuoloog"], "Seksuologie Haarlem", "Haarlem"),
            ("pieter.deboer", "Pieter de Boer", Role.MEMBER, ["ergotherapeut"], "Ergotherapie Kennemerland",
             "Bloemendaal"),
            ("linda.smit", "Linda Smit", Role.MEMBER, ["maatschappelijk_werker"], "Welzijn Zandvoort", "Zandvoort"),
            ("karin.meijer", "Karin Meijer", Role.MEMBER, ["oefentherapeut"], "Oefentherapie Cesar Haarlem",
             "Haarlem"),
            ("tom.hendriks", "Tom Hendriks", Role.MEMBER, ["logopedist"], "Logopedie Schalkwijk", "Haarlem"),
            ("ruud.vandijk", "Ruud van Dijk", Role.MEMBER, ["geestelijk_verzorger"], "Zingeving Kennemerland",
             "Heemstede"),
            ("anouk.kok", "Anouk Kok", Role.MEMBER, ["verpleegkundige"], "Thuiszorg Kennemerland", "Haarlem"),
        ],
        "patients": [("Wim", "Jansen", date(1971, 3, 14), "111222333", "2012 AB")],
    },
    {
        "slug": "twente", "name": "Oncologiezorgnetwerk Twente", "region": "Enschede, Hengelo, Oldenzaal",
        "status": NetworkStatus.SETTING_UP,
        "people": [
            ("gerrit.nijhuis", "Gerrit Nijhuis", Role.COORDINATOR, ["casemanager"], "Netwerk Twente", "Hengelo"),
            ("ilse.oude.vrielink", "Ilse Oude Vrielink", Role.MEMBER, ["dietist"], "Diëtisten Twente", "Enschede"),
            ("bart.kamphuis", "Bart Kamphuis", Role.MEMBER, ["fysiotherapeut"], "Fysio Oldenzaal", "Oldenzaal"),
            ("noor.hassink", "Noor Hassink", Role.MEMBER, ["poh_ggz"], "Huisartsen Hengelo-Noord", "Hengelo"),
            ("mark.ten.hove", "Mark ten Hove", Role.MEMBER, ["ergotherapeut"], "Ergo Twente", "Enschede"),
            ("femke.wolters", "Femke Wolters", Role.MEMBER, ["oedeemtherapeut"], "Oedeemcentrum Enschede",
             "Enschede"),
            ("jeroen.slot", "Jeroen Slot", Role.MEMBER, ["leefstijlcoach"], "Beweegcoach Hengelo", "Hengelo"),
            ("esther.bosch", "Esther Bosch", Role.MEMBER, ["psycholoog"], "Psychologie Oost", "Enschede"),
        ],
        "patients": [("Gerda", "Lansink", date(1958, 9, 2), None, "7511 JK")],
    },
]
# Profiles that make the NVPO self-check and the public directory meaningful in the demo:
# Zuid-Kennemerland is complete and qualified, Twente is being set up and still has gaps.
PROFILES = {
    "zuid-kennemerland": {
        "is_public": True, "qualified_on": date(2024, 5, 13), "qualified_criteria_version": "2024-02-06",
        "service_area": "2011-2037, 2040-2042, 2100-2106, 2111-2114",
        "contact_name": "Marieke de Vries", "contact_phone": "023 555 0101",
        "contact_email": "info@oncologienetwerk-zk.example", "website_url": "https://oncologienetwerk-zk.example",
        "website_updated_on": date(2026, 9, 1), "legal_form": "Stichting", "kvk_number": "41223344",
        "is_not_for_profit": True, "local_attested": True, "participation_min_meetings": 2,
        "vision_text": "Mensen met kanker en hun naasten krijgen dichtbij huis de juiste zorg, "
                       "van zorgverleners die elkaar kennen.",
        "participation_text": "Ieder lid bezoekt minimaal twee netwerkbijeenkomsten per jaar.",
    },
    "twente": {
        "is_public": True, "service_area": "7511-7547, 7550-7559, 7570-7577",
        "contact_name": "Gerrit Nijhuis", "contact_email": "contact@ozn-twente.example",
        "legal_form": "Vereniging", "local_attested": True,
    },
}
CONTACTS = {
    "zuid-kennemerland": [("hospital", "Spaarne Gasthuis", "Oncologieverpleegkundige spreekuur"),
                          ("gp_practice", "Huisartsen Coöperatie Zuid-Kennemerland", "Kwartaaloverleg")],
    "twente": [("hospital", "Medisch Spectrum Twente", "Eerste kennismaking gepland")],
}
# The casus patient and his wife in the patient portal (accounts of the demo, like the others).
PATIENT_LOGIN = ("johan.verbeek", "Johan Verbeek")
RELATIVE_LOGIN = ("ellen.verbeek", "Ellen Verbeek")
UNLISTED = {"ruud.vandijk", "anouk.kok", "mark.ten.hove", "femke.wolters", "esther.bosch", "jeroen.slot"}
GPS = [
    ("hans.willems", "Hans Willems", "01234567", "Huisartsenpraktijk Heemstede", "Heemstede"),
    ("annemiek.brinkhuis", "Annemiek Brinkhuis", "01765432", "Huisartsenpraktijk Enschede-Zuid", "Enschede"),
]


@dataclass(frozen=True)
class DemoAccount:
    email: str
    role: str
    network: str


def demo_accounts() -> list[DemoAccount]:
    """Every demo account that load_demo() creates, read from the same data (ADMIN, NETWORKS, GPS)."""
    accounts = [DemoAccount(f"{ADMIN[0]}@{DOMAIN}", "platform admin", "(platform: /admin/)")]
    for spec in NETWORKS:
        for login, _name, role, codes, _practice, _city in spec["people"]:
            accounts.append(DemoAccount(f"{login}@{DOMAIN}", f"{role.value} ({', '.join(codes)})",
                                        f"{spec['name']} (/n/{spec['slug']}/)"))
    for login, _name, _agb, practice, city in GPS:
        accounts.append(DemoAccount(f"{login}@{DOMAIN}", "GP", f"(refers to any network; {practice}, {city})"))
    accounts.append(DemoAccount(f"{PATIENT_LOGIN[0]}@{DOMAIN}", "patient (the casus)", "(own record: /mijn/)"))
    accounts.append(DemoAccount(f"{RELATIVE_LOGIN[0]}@{DOMAIN}", "relative (sees the care plan)",
                                "(/mijn/)"))
    return accounts


def accounts_table() -> list[str]:
    """demo_accounts() as a plain-text table, and the one password."""
    rows = [("email", "role", "network")] + [(a.email, a.role, a.network) for a in demo_accounts()]
    widths = [max(len(row[column]) for row in rows) for column in range(2)]
    lines = [f"{email:<{widths[0]}}  {role:<{widths[1]}}  {network}".rstrip() for email, role, network in rows]
    lines.insert(1, "-" * max(len(line) for line in lines))
    return [*lines, "", f"password for every demo account: {DEMO_PASSWORD}"]


def _user(login: str, name: str) -> tuple[User, bool]:
    email = f"{login}@{DOMAIN}"
    user = db.session.scalar(select(User).where(User.email == email))
    if user is not None:
        return user, False
    user = User(email=email, full_name=name, password_hash=hash_password(DEMO_PASSWORD), is_demo=True,
                password_changed_at=utcnow(), email_verified_at=utcnow())
    db.session.add(user)
    db.session.flush()
    return user, True


def _profile_network(network: Network) -> None:
    for field, value in PROFILES.get(network.slug, {}).items():
        setattr(network, field, value)
    network.approved_at = network.approved_at or utcnow()
    if not db.session.scalar(select(ServiceAreaRange.id).limit(1)):
        for first, last in parse_service_area(network.service_area):
            db.session.add(ServiceAreaRange(network_id=network.id, first=first, last=last))
    known = set(db.session.scalars(select(NetworkContact.organisation)))
    for kind, organisation, agreement in CONTACTS.get(network.slug, []):
        if organisation not in known:
            db.session.add(NetworkContact(network_id=network.id, kind=ContactKind(kind), organisation=organisation,
                                          contact_person="", agreement=agreement))


def _profile_member(membership: Membership, login: str, index: int) -> None:
    membership.is_listed_in_verwijsgids = login not in UNLISTED
    membership.verwijsgids_url = "https://www.verwijsgidskanker.nl/" if membership.is_listed_in_verwijsgids else ""
    membership.phone = membership.phone or f"06 1234 {5600 + index:04d}"
    membership.phone_is_public = index % 2 == 0
    membership.agb_code = membership.agb_code or f"{12345600 + index:08d}"


def _meetings(network: Network, memberships: list[Membership]) -> None:
    if db.session.scalar(select(Meeting.id).limit(1)):
        return
    for held_on, kind, title in ((date(2026, 3, 12), MeetingKind.NETWORK, "Voorjaarsbijeenkomst"),
                                 (date(2026, 10, 8), MeetingKind.TRAINING, "Scholing vermoeidheid bij kanker")):
        meeting = Meeting(network_id=network.id, held_on=held_on, kind=kind, title=title)
        db.session.add(meeting)
        db.session.flush()
        for membership in memberships[: max(3, len(memberships) - 2)]:
            db.session.add(Attendance(network_id=network.id, meeting_id=meeting.id, membership_id=membership.id))
    # A coming PaTz meeting, so a case can be put on its agenda (the palliative path, app.palliative.mdo).
    db.session.add(Meeting(network_id=network.id, held_on=local_today() + timedelta(days=14), kind=MeetingKind.PATZ,
                           title="PaTz Haarlem-Noord"))


# Referrals per network: (GP login, patient given and family name, born, postcode, question, status path).
REFERRALS = {
    "zuid-kennemerland": [
        ("hans.willems", "Anna", "de Wit", date(1964, 6, 2), "2101 AB",
         "Vermoeidheid en angst voor terugkeer na borstkanker; graag begeleiding dichtbij huis.", []),
        ("hans.willems", "Kees", "Brouwer", date(1949, 11, 20), "2011 CD",
         "Gewichtsverlies tijdens chemotherapie; dieetadvies gewenst.", ["acknowledge", "request_info"]),
        ("hans.willems", "Ria", "Koster", date(1957, 1, 9), "2035 EF",
         "Conditieverlies na longoperatie; oncologische fysiotherapie.", ["acknowledge", "accept", "plan_intake"]),
        # The casus: after the intake, a case with the dietician on the care team (see _casus).
        ("hans.willems", "Johan", "Verbeek", date(1971, 3, 14), "2012 AB",
         "Na darmoperatie aanhoudende diarree, vermoeidheid en seksuele klachten.", ["acknowledge", "accept"]),
    ],
    "twente": [
        ("annemiek.brinkhuis", "Henk", "Oude Luttikhuis", date(1961, 8, 30), "7512 GH",
         "Psychosociale ondersteuning voor patiënt en partner.", []),
    ],
}


def _referrals() -> None:
    """A few referrals in different states, submitted through the real service (so with events and numbers)."""
    from app.referrals import services as referral_services
    from app.referrals.models import Referral

    for slug, specs in REFERRALS.items():
        network = db.session.scalar(select(Network).where(Network.slug == slug))
        with network_context(network.id):
            if db.session.scalar(select(Referral.id).limit(1)) is not None:
                continue
            coordinator = db.session.scalar(select(Membership).where(Membership.role == Role.COORDINATOR)).user
            for index, (login, given, family, born, postcode, question, path) in enumerate(specs):
                gp = db.session.scalar(select(User).where(User.email == f"{login}@{DOMAIN}"))
                referral, _created = referral_services.submit(
                    user=gp, gp_profile=gp.gp_profile, submission_key=f"demo-{slug}-{index}", medications=[
                        {"name": "Paracetamol", "dose": "1 g zo nodig", "since": "2026"}], discipline_ids=[],
                    fields={"given_name": given, "family_name": family, "date_of_birth": born, "sex": "unknown",
                            "postcode": postcode, "address": "Dorpsstraat 1", "city": network.region.split(",")[0],
                            "phone": "06 0000 0000", "preferred_language": "nl", "tumour_type": "other",
                            "hospital": "Ziekenhuis in de regio", "specialist": "dr. Demo",
                            "treatment_phase": "after_treatment", "treatment_goal": "curative",
                            "resuscitation": "unknown", "euthanasia": "unknown", "advance_directive": "unknown",
                            "question": question, "urgency": "routine",
                            "complaints": {"physical": {"items": ["fatigue"], "text": ""}}})
                for action in path:
                    referral_services.transition(
                        referral, referral_services.Action(action), actor=coordinator,
                        side=referral_services.Side.NETWORK,
                        text="Kunt u de medicatielijst meesturen?" if action == "request_info" else "",
                        intake_on=local_today() + timedelta(days=7))
                if given == "Johan":
                    _casus(referral, coordinator)


def _casus(referral, coordinator_user: User) -> None:
    """The intake held and completed (the case opens), and the dietician on the team with consent."""
    from app.cases import services as case_services
    from app.cases.models import ConsentMethod, ConsentPart

    coordinator = db.session.scalar(select(Membership).where(Membership.user_id == coordinator_user.id))
    dietician = db.session.scalar(select(Membership).join(User, User.id == Membership.user_id)
                                  .where(User.email == f"sanne.bakker@{DOMAIN}"))
    intake = case_services.start_intake(referral, coordinator_user)
    case_services.save_intake(intake, coordinator_user, {
        "story": "Sinds de operatie heb ik elke dag diarree en ben ik snel moe. Ook in bed gaat het niet meer "
                 "zoals vroeger; dat vinden mijn vrouw en ik moeilijk.",
        "goals": "Weer een dagje kunnen fietsen met mijn vrouw.", "distress_score": 6,
        "partner_situation": "Getrouwd; zijn vrouw gaat mee naar de gesprekken.",
        "sharing_wishes": "Alles mag gedeeld worden met het zorgteam, niet met zijn werkgever."})
    case = case_services.complete_intake(intake, coordinator_user, coordinator)
    case_services.record_consent(case, coordinator_user, method=ConsentMethod.VERBAL,
                                 purpose="Voedingsadvies bij diarree", membership_ids=[dietician.id],
                                 parts={ConsentPart.INTAKE, ConsentPart.NOTES, ConsentPart.PROMS})
    row = case_services.propose_member(case, coordinator_user, dietician, reason="Diarree en gewichtsverlies")
    case_services.respond_to_proposal(row, dietician.user, accept=True)
    _portal(referral, case, coordinator_user)


def _portal(referral, case, coordinator_user: User) -> None:
    """The patient in his own record (PATIENT_LOGIN), his wife reading the care plan (RELATIVE_LOGIN), and the
    sexologist proposed for the team, waiting for the patient's own yes in the portal."""
    from app.cases import services as case_services
    from app.patient_portal import services as portal_services
    from app.records.models import SectionKey

    patient_user, _created = _user(*PATIENT_LOGIN)
    relative_user, _created = _user(*RELATIVE_LOGIN)
    account = portal_services.invite_patient(referral, coordinator_user, email=patient_user.email,
                                             full_name=patient_user.full_name, locale="nl")
    portal_services.invite_relative(account, email=relative_user.email, full_name=relative_user.full_name,
                                    relation="echtgenote", sections=[SectionKey.CARE_PLAN], locale="nl")
    sexologist = db.session.scalar(select(Membership).join(User, User.id == Membership.user_id)
                                   .where(User.email == f"eva.mulder@{DOMAIN}"))
    case_services.propose_member(case, coordinator_user, sexologist, reason="Seksuele klachten na de operatie",
                                 wait_for_patient=True)


def load_demo() -> list[str]:
    """Create what is missing and return the demo log-ins to print (accounts_table())."""
    disciplines = {d.code: d for d in db.session.scalars(select(Discipline))}
    admin, _created = _user(*ADMIN)
    admin.is_platform_admin = True
    for spec in NETWORKS:
        network = db.session.scalar(select(Network).where(Network.slug == spec["slug"]))
        if network is None:
            network = Network(slug=spec["slug"], name=spec["name"], region=spec["region"], status=spec["status"])
            db.session.add(network)
            db.session.flush()
        with network_context(network.id):
            _profile_network(network)
            memberships = []
            for index, (login, name, role, codes, practice, city) in enumerate(spec["people"]):
                user, _created = _user(login, name)
                membership = db.session.scalar(select(Membership).where(Membership.user_id == user.id))
                if membership is None:
                    membership = Membership(network_id=network.id, user_id=user.id, role=role,
                                            practice_name=practice, city=city)
                    db.session.add(membership)
                    db.session.flush()
                    for code in codes:
                        db.session.add(MembershipDiscipline(network_id=network.id, membership_id=membership.id,
                                                            discipline_id=disciplines[code].id))
                _profile_member(membership, login, index)
                memberships.append(membership)
            _meetings(network, memberships)
            coordinator = db.session.scalar(select(Membership).where(Membership.role == Role.COORDINATOR))
            for given, family, born, bsn, postcode in spec["patients"]:
                exists = db.session.scalar(select(Patient.id).where(
                    Patient.given_name == given, Patient.family_name == family, Patient.date_of_birth == born))
                if exists is None:
                    db.session.add(Patient(network_id=network.id, given_name=given, family_name=family,
                                           date_of_birth=born, bsn=bsn, postcode=postcode,
                                           created_by_id=coordinator.user_id))
            db.session.flush()
    for login, name, agb, practice, city in GPS:
        user, _created = _user(login, name)
        if user.gp_profile is None:
            user.gp_profile = GPProfile(user_id=user.id, agb_code=agb, practice_name=practice, city=city)
            db.session.flush()
    _referrals()
    db.session.commit()
    return accounts_table()
