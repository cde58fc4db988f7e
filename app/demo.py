"""Demo data: two networks (Zuid-Kennemerland, Twente) with coordinators, members of many
disciplines, GPs with practices and one patient each. Idempotent: a second run adds nothing."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select

from app.auth.models import GPProfile, User
from app.core.db import utcnow
from app.core.security import hash_password
from app.core.tenancy import network_context
from app.extensions import db
from app.networks.models import Discipline, Membership, MembershipDiscipline, Network, NetworkStatus, Role
from app.patients.models import Patient

DEMO_PASSWORD = "demo-wachtwoord-2026"  # noqa: S105 - demo accounts only; printed by make run
DOMAIN = "demo.netwerkzorg.nl"

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
GPS = [
    ("hans.willems", "Hans Willems", "01234567", "Huisartsenpraktijk Heemstede", "Heemstede"),
    ("annemiek.brinkhuis", "Annemiek Brinkhuis", "01765432", "Huisartsenpraktijk Enschede-Zuid", "Enschede"),
]


def _user(login: str, name: str) -> tuple[User, bool]:
    email = f"{login}@{DOMAIN}"
    user = db.session.scalar(select(User).where(User.email == email))
    if user is not None:
        return user, False
    user = User(email=email, full_name=name, password_hash=hash_password(DEMO_PASSWORD), is_demo=True,
                password_changed_at=utcnow())
    db.session.add(user)
    db.session.flush()
    return user, True


def load_demo() -> list[str]:
    """Create what is missing and return the demo log-ins to print."""
    disciplines = {d.code: d for d in db.session.scalars(select(Discipline))}
    admin, _created = _user("admin", "Platform Beheer")
    admin.is_platform_admin = True
    lines = [f"platform admin: {admin.email}"]
    for spec in NETWORKS:
        network = db.session.scalar(select(Network).where(Network.slug == spec["slug"]))
        if network is None:
            network = Network(slug=spec["slug"], name=spec["name"], region=spec["region"], status=spec["status"])
            db.session.add(network)
            db.session.flush()
        with network_context(network.id):
            for login, name, role, codes, practice, city in spec["people"]:
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
                if role is Role.COORDINATOR:
                    lines.append(f"coordinator of {network.name}: {user.email}  (/n/{network.slug}/)")
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
            db.session.add(GPProfile(user_id=user.id, agb_code=agb, practice_name=practice, city=city))
        lines.append(f"GP ({practice}): {user.email}")
    db.session.commit()
    lines.append(f"password for every demo account: {DEMO_PASSWORD}")
    return lines
