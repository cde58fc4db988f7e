"""The one door for case access: may this membership see this case, and which parts, now?

Every case route, every case job and the note list call these functions; tests/test_case_access.py
checks them as a table. The rules (shared/DESIGN.md "Access"):

- a coordinator of the case's network sees the case: the referral consent covers the contact person;
- a member sees it only while on the care team (accepted, not left) AND at least one consent that is
  not withdrawn and not expired names them; the parts they see are the union of those consents' parts;
- a member who is proposed (not yet accepted) sees only the proposal, and only while a consent covers them;
- notes: "team" for everyone who sees the notes part; "only my discipline" for viewers who share a
  discipline with the author at the time of writing; "only me" for the author alone. A coordinator
  reads team notes; discipline and private notes of others stay private to them as well;
- anyone else, including every user of another network: no access (the route answers 404).

Withdrawal needs no cache to expire: every request asks again.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select

from app.cases.models import (
    CareTeamMember,
    Case,
    Consent,
    ConsentMember,
    ConsentPart,
    Note,
    NoteVisibility,
    TeamStatus,
)
from app.core.dates import local_today
from app.extensions import db
from app.networks.models import MembershipDiscipline, Role

ALL_PARTS = frozenset(ConsentPart)


@dataclass(frozen=True)
class CaseAccess:
    allowed: bool
    as_coordinator: bool = False
    team_member: CareTeamMember | None = None
    parts: frozenset[ConsentPart] = frozenset()
    may_respond_to_proposal: bool = False
    basis: str = ""
    discipline_ids: frozenset[int] = field(default_factory=frozenset)
    membership_id: int | None = None

    def sees(self, part: ConsentPart) -> bool:
        return self.allowed and part in self.parts


DENIED = CaseAccess(allowed=False)


def _live_consents_naming(membership_id: int, case_id, today: date):
    """SQL: the consents of case *case_id* (a value or a column) that name the membership and are live."""
    return (select(Consent).join(ConsentMember, (ConsentMember.consent_id == Consent.id)
                                 & (ConsentMember.network_id == Consent.network_id))
            .where(Consent.case_id == case_id, ConsentMember.membership_id == membership_id,
                   Consent.withdrawn_at.is_(None), (Consent.valid_until.is_(None)) | (Consent.valid_until >= today)))


def covering_consents(case: Case, membership_id: int, *, today: date | None = None) -> list[Consent]:
    """Consents of this case that name *membership_id* and are neither withdrawn nor expired."""
    return list(db.session.scalars(_live_consents_naming(membership_id, case.id, today or local_today())
                                   .order_by(Consent.id)))


def covered_now(membership_id: int, case_id_column, *, today: date | None = None):
    """SQL condition for lists: a live consent of that row's case names the membership (the rule above,
    set-based, so a list needs one query instead of one door call per row)."""
    return _live_consents_naming(membership_id, case_id_column, today or local_today()).exists()


def member_cases_query(membership):
    """The cases a (non-coordinator) member may see now: on the team, accepted, and covered by a live
    consent. The set-based form of case_access for members; tests/test_case_access.py checks they agree."""
    return (select(Case).join(CareTeamMember, (CareTeamMember.case_id == Case.id)
                              & (CareTeamMember.network_id == Case.network_id))
            .where(CareTeamMember.membership_id == membership.id, CareTeamMember.status == TeamStatus.ACTIVE,
                   covered_now(membership.id, Case.id)))


def case_access(case: Case | None, membership, *, today: date | None = None) -> CaseAccess:
    """What *membership* (g.membership) may see of *case* right now."""
    if case is None or membership is None or not membership.is_active or membership.network_id != case.network_id:
        return DENIED
    disciplines = frozenset(db.session.scalars(select(MembershipDiscipline.discipline_id).where(
        MembershipDiscipline.membership_id == membership.id)))
    if membership.role is Role.COORDINATOR:
        return CaseAccess(allowed=True, as_coordinator=True, parts=ALL_PARTS, discipline_ids=disciplines,
                          membership_id=membership.id, basis="coordinator: referral consent")
    team_member = db.session.scalar(select(CareTeamMember).where(
        CareTeamMember.case_id == case.id, CareTeamMember.membership_id == membership.id,
        CareTeamMember.status.in_((TeamStatus.ACTIVE, TeamStatus.PROPOSED))).order_by(CareTeamMember.id.desc()))
    if team_member is None:
        return DENIED
    consents = covering_consents(case, membership.id, today=today)
    parts = frozenset(part for consent in consents for part in consent.parts)
    if not consents:
        return DENIED
    if team_member.status is TeamStatus.PROPOSED:
        return CaseAccess(allowed=False, team_member=team_member, may_respond_to_proposal=True,
                          membership_id=membership.id, discipline_ids=disciplines,
                          basis=f"proposed; consent {consents[0].id}")
    return CaseAccess(allowed=True, team_member=team_member, parts=parts, discipline_ids=disciplines,
                      membership_id=membership.id,
                      basis="care team; consent " + ",".join(str(c.id) for c in consents))


def note_visible(note: Note, access: CaseAccess) -> bool:
    """May the holder of *access* read *note*?"""
    if not access.allowed or ConsentPart.NOTES not in access.parts:
        return False
    if note.author_membership_id == access.membership_id:
        return True
    if note.visibility is NoteVisibility.TEAM:
        return True
    if note.visibility is NoteVisibility.DISCIPLINE:
        return bool(access.discipline_ids & set(note.discipline_ids or ()))
    return False


def visible_notes(case: Case, access: CaseAccess) -> list[Note]:
    """The notes of *case* that *access* may read, newest first (one query whatever their number)."""
    if not access.sees(ConsentPart.NOTES):
        return []
    notes = db.session.scalars(select(Note).where(Note.case_id == case.id).order_by(Note.created_at.desc(),
                                                                                  Note.id.desc()))
    return [note for note in notes if note_visible(note, access)]
