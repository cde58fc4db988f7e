"""Factories for cases: a completed intake (which opens the case), care team members with consent."""
from __future__ import annotations

from sqlalchemy import select

from app.auth.models import User
from app.cases import services
from app.cases.models import CareTeamMember, Case, Consent, ConsentMethod, ConsentPart, Note, NoteVisibility
from app.core.tenancy import network_context
from app.extensions import db
from app.networks.models import Membership
from app.referrals.models import ReferralStatus
from tests.referral_factories import make_referral

ALL_PARTS = {ConsentPart.INTAKE, ConsentPart.NOTES, ConsentPart.PROMS}


def make_case(network, gp: User, coordinator: Membership, *, story: str = "Ik heb sinds de operatie diarree.",
              **referral_fields) -> Case:
    """A referral accepted, the intake held and completed: the case is open, the coordinator central."""
    referral = make_referral(network, gp, status=ReferralStatus.ACCEPTED, coordinator=coordinator.user,
                             **referral_fields)
    with network_context(network.id):
        intake = services.start_intake(referral, coordinator.user)
        services.save_intake(intake, coordinator.user, {"story": story, "goals": "Weer kunnen fietsen"})
        case = services.complete_intake(intake, coordinator.user, coordinator)
        db.session.commit()
        case_id = case.id
    return _reload(Case, case_id, network.id)


def _reload(model, object_id: int, network_id: int):
    with network_context(network_id):
        return db.session.scalar(select(model).where(model.id == object_id))


def give_consent(case: Case, by: User, *members: Membership, parts=ALL_PARTS, valid_until=None) -> Consent:
    with network_context(case.network_id):
        case = db.session.get(Case, case.id)
        consent = services.record_consent(case, by, method=ConsentMethod.VERBAL, purpose="Behandeling en overleg",
                                          membership_ids=[m.id for m in members], parts=set(parts),
                                          valid_until=valid_until)
        db.session.commit()
        consent_id = consent.id
    return _reload(Consent, consent_id, case.network_id)


def add_to_team(case: Case, by: User, member: Membership, *, accept: bool = True, consent: bool = True,
                parts=ALL_PARTS) -> CareTeamMember:
    """Consent for *member* (unless told not to), the proposal, and the member's acceptance."""
    if consent:
        give_consent(case, by, member, parts=parts)
    with network_context(case.network_id):
        case = db.session.get(Case, case.id)
        row = services.propose_member(case, by, db.session.get(Membership, member.id), reason="Hulp nodig")
        if accept:
            services.respond_to_proposal(row, member.user, accept=True)
        db.session.commit()
        row_id = row.id
    return _reload(CareTeamMember, row_id, case.network_id)


def write_note(case: Case, author: Membership, body: str, visibility: NoteVisibility) -> Note:
    with network_context(case.network_id):
        case = db.session.get(Case, case.id)
        note = services.add_note(case, author.user, db.session.get(Membership, author.id), body, visibility)
        db.session.commit()
        note_id = note.id
    return _reload(Note, note_id, case.network_id)
