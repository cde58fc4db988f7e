"""One network's referrals and case with every kind of object, for the route walks (isolation, audit,
headers, CSRF, MFA): a submitted referral with a PDF letter, a draft, an accepted referral waiting for
its intake, and an open case with a care-team member, consent, a note, a next action, a distress
measurement and a sent letter. Text columns carry *canary* so a walk can prove nothing leaks."""
from __future__ import annotations

import io
from datetime import date

from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from app.auth.models import User
from app.cases import services
from app.cases.models import Case, Letter, Note, NoteVisibility
from app.cases.services import letters
from app.core.db import utcnow
from app.core.tenancy import network_context
from app.extensions import db
from app.networks.models import Membership
from app.referrals import attachments
from app.referrals.models import Referral, ReferralMessage, ReferralStatus
from tests.case_factories import add_to_team, make_case, write_note
from tests.quality_factories import FAKE_PDF
from tests.referral_factories import make_referral


def make_case_world(network, coordinator: Membership, member: Membership, gp: User, *, canary: str = "") -> dict:
    """Everything a walk needs in *network*; returns the objects by kind (ids via .id)."""
    referral = make_referral(network, gp, question=f"Vraag {canary}", coordinator=coordinator.user)
    draft = make_referral(network, gp, status=ReferralStatus.DRAFT, given_name=f"Concept {canary}")
    # Another patient (no possible match), so the walks reach the intake form itself.
    waiting = make_referral(network, gp, status=ReferralStatus.ACCEPTED, coordinator=coordinator.user,
                            given_name=f"Wacht {canary}", bsn="999888777")
    case = make_case(network, gp, coordinator, story=f"Verhaal {canary}")
    team_member = add_to_team(case, coordinator.user, member)
    note = write_note(case, member, f"Notitie {canary}", NoteVisibility.TEAM)
    with network_context(network.id):
        stored = db.session.get(Referral, referral.id)
        attachment = attachments.add(stored, FileStorage(io.BytesIO(FAKE_PDF), filename="brief.pdf",
                                                         content_type="application/pdf"), gp)
        live_case = db.session.get(Case, case.id)
        owner = db.session.get(Membership, member.id)
        action = services.add_action(live_case, coordinator.user, description=f"Bellen {canary}", owner=owner,
                                     due_on=date.today())
        prom = services.record_prom(live_case, coordinator.user, score=6, problems=[], measured_on=date.today())
        letter = db.session.scalar(select(Letter).where(Letter.case_id == case.id))
        letters.send_letter(letter, coordinator.user)
        services.edit_note(db.session.get(Note, note.id), member.user, owner, f"Notitie {canary} (aangepast)")
        services.add_case_message(live_case, gp, f"Vraag van de huisarts {canary}", from_gp=True)
        asked = db.session.get(Referral, waiting.id)
        db.session.add(ReferralMessage(network_id=network.id, referral_id=asked.id, occurred_at=utcnow(),
                                       author_id=coordinator.user_id, from_network=True, body=f"Vraag {canary}"))
        consent = services.consents_of(live_case)[0]
        db.session.commit()
        ids = {"attachment": attachment.id, "action": action.id, "prom": prom.id, "letter": letter.id,
               "consent": consent.id}
    objects = {"referral": referral, "draft": draft, "intake_referral": waiting, "case": case,
               "team_member": team_member, "note": note, "case_referral": _referral_of(case)}
    objects.update({kind: _Id(value) for kind, value in ids.items()})
    from tests.palliative_factories import make_palliative_world  # issue 13's rows
    objects.update({kind: _Id(value) for kind, value in
                    make_palliative_world(network, coordinator, case, canary=canary).items()})
    objects["version"] = _Id(1)
    objects["duplicate"] = _Id(case.patient_id)  # another patient record (to merge into the walk's patient)
    return objects


class _Id:
    """A stand-in with an .id, for objects a walk needs only by id."""

    def __init__(self, value: int):
        self.id = value


def _referral_of(case: Case) -> _Id:
    return _Id(case.referral_id)
