"""The one door for case access: may this membership see this case, and which parts, now?

Every case route, every case job and the note list call these functions; tests/test_case_access.py
checks them as a table. The rules (docs/architecture.md, "Roles and what each may see"):

- a coordinator of the case's network sees the case: the referral consent covers the contact person;
- a member sees it only while on the care team (accepted, not left) AND at least one consent that is
  not withdrawn and not expired names them; the parts they see are the union of those consents' parts;
- a member who is proposed (not yet accepted) sees only the proposal, and only while a consent covers them;
- notes: "team" for everyone who sees the notes part; "only my discipline" for viewers who share a
  discipline with the author at the time of writing; "only me" for the author alone. A coordinator
  reads team notes; discipline and private notes of others stay private to them as well;
- anyone else, including every user of another network: no access (the route answers 404).

Withdrawal needs no cache to expire: every request asks again.

What a viewer may DO is asked here too: CaseAccess carries named abilities (may_propose, may_send_letters,
may_close_part, ...; ABILITIES lists them), computed from the viewer, the case, their care-team row and the
live consents. Views and templates only ask them. An ability that acts on the case "now" includes the case
being open; a view that answers a closed case with a message rather than a 404 checks `case_open` for that.
The services still check the state rules and have the last word.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from flask import g, has_request_context, request
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import joinedload

from app.cases.models import (
    CareTeamMember,
    Case,
    CaseAction,
    CaseStatus,
    Consent,
    ConsentMember,
    ConsentPart,
    Note,
    NoteDiscipline,
    NoteVisibility,
    TeamStatus,
)
from app.core.dates import local_today
from app.extensions import db
from app.networks.models import DisciplineGroup, MembershipDiscipline, Role
from app.networks.services.memberships import discipline_catalogue
from app.records.models import SECTION_PARTS, SectionKey, keys_for_parts, section_spec

ALL_PARTS = frozenset(ConsentPart)


# The named abilities of CaseAccess (tests/test_case_access.py has a column for each).
ABILITIES = (
    "may_see_case", "visible_parts", "may_write_notes", "may_edit_own_notes", "may_add_actions",
    "may_record_measurements", "may_propose", "may_respond_to_proposal", "may_set_central_care_provider",
    "may_send_letters", "may_see_closing", "may_close_case", "may_close_part", "may_record_consent",
    "may_correct_intake", "may_open_patient_portal",
)


@dataclass(frozen=True)
class CaseAccess:
    """What one membership may see of one case, and do in it, now. Build it with case_access()."""

    allowed: bool
    as_coordinator: bool = False
    team_member: CareTeamMember | None = None
    parts: frozenset[ConsentPart] = frozenset()
    may_respond_to_proposal: bool = False
    basis: str = ""
    discipline_ids: frozenset[int] = field(default_factory=frozenset)
    discipline_groups: frozenset[DisciplineGroup] = field(default_factory=frozenset)
    membership_id: int | None = None
    case_open: bool = False
    is_central: bool = False

    # --- seeing -------------------------------------------------------------------------------------------

    @property
    def may_see_case(self) -> bool:
        return self.allowed

    @property
    def visible_parts(self) -> frozenset[ConsentPart]:
        return self.parts if self.allowed else frozenset()

    def may_see(self, part: ConsentPart | str) -> bool:
        return self.allowed and part in self.parts

    sees = may_see

    # The shared record: each section belongs to one consent part (app.records.models.SECTION_PARTS), so
    # the sections a viewer may see follow from the parts. Every page, export and job that shows a section
    # asks these; nothing reads a section without them.
    @property
    def visible_sections(self) -> frozenset[SectionKey]:
        return keys_for_parts(self.visible_parts)

    def may_see_section(self, key: SectionKey | str) -> bool:
        try:
            return self.may_see(SECTION_PARTS[SectionKey(key)])
        except ValueError:
            return False

    def may_edit_section(self, key: SectionKey | str) -> bool:
        """The coordinator keeps every section current; a member on the team a section their discipline
        owns (a section without owners: every member), while the case is open and they may see it."""
        if not (self._writer and self.case_open and self.may_see_section(key)):
            return False
        owners = section_spec(key).owner_groups
        return self.as_coordinator or owners is None or bool(owners & self.discipline_groups)

    # --- writing ------------------------------------------------------------------------------------------

    @property
    def _on_team(self) -> bool:
        """On the care team now: accepted and not left."""
        return self.team_member is not None and self.team_member.status is TeamStatus.ACTIVE

    @property
    def _writer(self) -> bool:
        """The coordinator and active members of the care team write in a case."""
        return self.allowed and (self.as_coordinator or self._on_team)

    @property
    def may_write_notes(self) -> bool:
        return self._writer and self.case_open and self.may_see(ConsentPart.NOTES)

    @property
    def may_edit_own_notes(self) -> bool:
        """A writer changes their own notes (the service refuses anyone else's)."""
        return self._writer and self.may_see(ConsentPart.NOTES)

    def may_edit_note(self, note: Note) -> bool:
        return self.may_edit_own_notes and note.author_membership_id == self.membership_id

    @property
    def may_add_actions(self) -> bool:
        return self._writer and self.case_open

    def may_complete_action(self, action: CaseAction) -> bool:
        """The owner of an open next step or the coordinator marks it done."""
        return (self.allowed and action.done_at is None
                and (self.as_coordinator or action.owner_membership_id == self.membership_id))

    @property
    def may_record_measurements(self) -> bool:
        return self._writer and self.case_open and self.may_see(ConsentPart.PROMS)

    def write_refusal(self) -> str | None:
        """Why this viewer may not write (notes, next steps, measurements) in the case now, or None."""
        if not self._writer:
            return str(_l("Only the coordinator and members of the care team write in a case."))
        if not self.case_open:
            return str(_l("The case is closed."))
        return None

    # --- the care team ------------------------------------------------------------------------------------

    @property
    def may_propose(self) -> bool:
        """The coordinator or an active member of the care team involves a colleague while the case is open."""
        return self._writer and self.case_open

    @property
    def may_set_central_care_provider(self) -> bool:
        return self.allowed and self.case_open and (self.as_coordinator or self.is_central)

    @property
    def may_send_letters(self) -> bool:
        """Letters to the GP and the GP's question thread: the coordinator and the central care provider."""
        return self.allowed and (self.as_coordinator or self.is_central)

    @property
    def may_open_patient_portal(self) -> bool:
        """The network's side of the patient portal (invitations, the patient's messages): as the letters."""
        return self.may_send_letters

    # --- closing ------------------------------------------------------------------------------------------

    @property
    def may_see_closing(self) -> bool:
        return self.allowed and self.case_open

    @property
    def may_close_case(self) -> bool:
        """The central care provider closes the case (once every other part is closed: the service checks)."""
        return self.allowed and self.case_open and self.is_central

    @property
    def may_close_part(self) -> bool:
        """An active member closes their own part; the central care provider closes the whole case instead."""
        return self.allowed and self.case_open and self._on_team and not self.is_central

    def close_part_refusal(self) -> str | None:
        if not (self.allowed and self.case_open and self._on_team):
            return str(_l("Only a member on the team can close their part."))
        if self.is_central:
            return str(_l("You are the central care provider: close the whole case, or hand the central role to a "
                          "colleague first."))
        return None

    # --- the coordinator's work ---------------------------------------------------------------------------

    @property
    def may_record_consent(self) -> bool:
        """Recording and withdrawing consent, its documents, the patient's overview and export."""
        return self.allowed and self.as_coordinator

    @property
    def may_correct_intake(self) -> bool:
        """Starting and continuing a correction of the intake (and seeing its draft)."""
        return self.allowed and self.as_coordinator


DENIED = CaseAccess(allowed=False)


def consent_is_live(today: date):
    """SQL condition: the consent is neither withdrawn nor expired on *today* (valid_until is its last day)."""
    return Consent.withdrawn_at.is_(None) & ((Consent.valid_until.is_(None)) | (Consent.valid_until >= today))


def _live_consents_naming(membership_id: int, case_id, today: date):
    """SQL: the consents of case *case_id* (a value or a column) that name the membership and are live."""
    return (select(Consent).join(ConsentMember, (ConsentMember.consent_id == Consent.id)
                                 & (ConsentMember.network_id == Consent.network_id))
            .where(Consent.case_id == case_id, ConsentMember.membership_id == membership_id,
                   consent_is_live(today)))


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


def sees_every_case(membership) -> bool:
    """The coordinator sees every case of the network (the list and the door); a member only their own."""
    return membership is not None and membership.role is Role.COORDINATOR


def may_do_intake(membership) -> bool:
    """The intake (before there is a case) is the coordinator's."""
    return sees_every_case(membership)


# Packages above cases add a column of what their part of the case header shows (app.palliative: the date the
# palliative phase was marked), read with the case: name -> column factory (the Case entity's correlated scalar).
# The value is only kept (case_header_values, on a GET); the package's own header function asks the door before
# showing it.
CASE_HEADER_COLUMNS: dict[str, Callable[[], Any]] = {}


def register_case_header_column(name: str, column_of: Callable[[], Any]) -> None:
    CASE_HEADER_COLUMNS[name] = column_of


def case_header_values(case_id: int) -> dict[str, Any] | None:
    """The header columns read with case *case_id* in this request (None: not read with it)."""
    return g.get("case_header_values", {}).get(case_id)


def case_with_viewer_disciplines(case_id: int, membership, *, with_central: bool = False,
                                 ) -> tuple[Case | None, frozenset[int] | None]:
    """The case of the current network and the discipline ids of *membership* (its viewer), in one statement (a
    row per discipline): what load_case hands to case_access. *with_central*: the central care provider (and its
    user) joined too, for the case page that shows them (a statement fewer when they are not on the team)."""
    if membership is None:
        return db.session.scalar(select(Case).where(Case.id == case_id)), None
    # Read ahead on a GET only: a POST may change what the header shows (marking the palliative phase) after the
    # case is loaded; there each package reads its part when the header asks.
    header = list(CASE_HEADER_COLUMNS.items()) if has_request_context() and request.method in ("GET", "HEAD") else []
    statement = (select(Case, MembershipDiscipline.discipline_id, *(column_of() for _name, column_of in header))
                 .outerjoin(MembershipDiscipline, and_(MembershipDiscipline.network_id == Case.network_id,
                                                       MembershipDiscipline.membership_id == membership.id))
                 .where(Case.id == case_id))
    if with_central:
        statement = statement.options(joinedload(Case.central))
    rows = db.session.execute(statement).all()
    if not rows:
        return None, None
    case = rows[0][0]
    if header:
        g.setdefault("case_header_values", {})[case.id] = {
            name: rows[0][2 + index] for index, (name, _column_of) in enumerate(header)}
    return case, frozenset(row[1] for row in rows if row[1] is not None)


def case_access(case: Case | None, membership, *, today: date | None = None,
                discipline_ids: frozenset[int] | None = None) -> CaseAccess:
    """What *membership* (g.membership) may see of *case* right now. *discipline_ids*: the membership's, when the
    caller read them already (case_with_viewer_disciplines)."""
    if case is None or membership is None or not membership.is_active or membership.network_id != case.network_id:
        return DENIED
    if discipline_ids is None:
        discipline_ids = frozenset(db.session.scalars(select(MembershipDiscipline.discipline_id).where(
            MembershipDiscipline.membership_id == membership.id)))
    disciplines = frozenset(discipline_ids)
    groups = frozenset(entry.group for entry in discipline_catalogue() if entry.id in disciplines)
    state = {"case_open": case.status is CaseStatus.ACTIVE, "is_central": case.central_membership_id == membership.id}
    if sees_every_case(membership):
        return CaseAccess(allowed=True, as_coordinator=True, parts=ALL_PARTS, discipline_ids=disciplines,
                          discipline_groups=groups, membership_id=membership.id,
                          basis="coordinator: referral consent", **state)
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
                          membership_id=membership.id, discipline_ids=disciplines, discipline_groups=groups,
                          basis=f"proposed; consent {consents[0].id}", **state)
    return CaseAccess(allowed=True, team_member=team_member, parts=parts, discipline_ids=disciplines,
                      discipline_groups=groups, membership_id=membership.id,
                      basis="care team; consent " + ",".join(str(c.id) for c in consents), **state)


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


def visible_notes_query(case: Case, access: CaseAccess):
    """The notes of *case* that *access* may read, newest first, as one select (the same rule as
    note_visible, in SQL: the page filters, counts and pages in the database); None: no notes at all."""
    if not access.may_see(ConsentPart.NOTES):
        return None
    readable = or_(Note.author_membership_id == access.membership_id, Note.visibility == NoteVisibility.TEAM)
    if access.discipline_ids:
        # The case's network as a constant too: PostgreSQL may run the EXISTS as one hashed scan, and then only
        # over this network's rows of the index (network_id, discipline_id, note_id), not every network's.
        readable = or_(readable, (Note.visibility == NoteVisibility.DISCIPLINE) & exists().where(
            NoteDiscipline.network_id == case.network_id,
            NoteDiscipline.network_id == Note.network_id, NoteDiscipline.note_id == Note.id,
            NoteDiscipline.discipline_id.in_(sorted(access.discipline_ids))))
    return select(Note).where(Note.case_id == case.id, readable).order_by(Note.created_at.desc(), Note.id.desc())


def visible_notes(case: Case, access: CaseAccess) -> list[Note]:
    """All notes of *case* that *access* may read, newest first (one query)."""
    statement = visible_notes_query(case, access)
    return [] if statement is None else list(db.session.scalars(statement))


# --- access you can see: the care team's access now, and the member's ended access -----------------------
# The same rule as case_access (a live consent naming the member, and for seeing the case: on the team,
# accepted, membership active), in set form: a fixed number of queries whatever the team's size.
# tests/test_case_access.py checks that team_access agrees with case_access for every member.

ENDED_WITHDRAWN, ENDED_EXPIRED, ENDED_LEFT = "withdrawn", "expired", "left"


@dataclass(frozen=True)
class MemberAccess:
    """The real access of one care-team row now: the live consents' parts and period, or when and why it ended.

    since: the day the earliest live consent was obtained; until: the last day of the latest live consent
    (None: until withdrawn). ended_on: the first day without access (consent withdrawn or expired, or the
    member closed their part); ended_reason is one of ENDED_WITHDRAWN, ENDED_EXPIRED, ENDED_LEFT, or ""."""

    team_member_id: int
    membership_id: int
    status: TeamStatus
    consent_ids: tuple[int, ...] = ()
    parts: frozenset[ConsentPart] = frozenset()
    since: date | None = None
    until: date | None = None
    ended_on: date | None = None
    ended_reason: str = ""
    membership_active: bool = True

    @property
    def covered(self) -> bool:
        """A live consent names the member."""
        return bool(self.consent_ids)

    @property
    def sees_case(self) -> bool:
        """Agrees with case_access(...).allowed for this row's member (when it is their current row)."""
        return self.membership_active and self.status is TeamStatus.ACTIVE and self.covered

    @property
    def may_respond_to_proposal(self) -> bool:
        return self.membership_active and self.status is TeamStatus.PROPOSED and self.covered

    @property
    def sorted_parts(self) -> list[ConsentPart]:
        return [part for part in ConsentPart if part in self.parts]


def _consent_end(valid_until: date | None, withdrawn_at, today: date) -> tuple[date, str] | None:
    """The first day a (not live) consent gave no access, and why; None while it is live."""
    ends = []
    if withdrawn_at is not None:
        ends.append((local_today(withdrawn_at), ENDED_WITHDRAWN))
    if valid_until is not None and valid_until < today:
        ends.append((valid_until + timedelta(days=1), ENDED_EXPIRED))
    return min(ends) if ends else None


def _consents_naming_rows(case_ids, membership_ids, today: date):
    """(case_id, membership_id, consent id, its parts, obtained_at, valid_until, withdrawn_at, live) for every
    consent of *case_ids* that names one of *membership_ids* (None: anyone): one query."""
    statement = (select(Consent.case_id, ConsentMember.membership_id, Consent.id, Consent.covers_intake,
                        Consent.covers_notes, Consent.covers_proms, Consent.obtained_at, Consent.valid_until,
                        Consent.withdrawn_at, consent_is_live(today).label("live"))
                 .join(ConsentMember, (ConsentMember.consent_id == Consent.id)
                       & (ConsentMember.network_id == Consent.network_id))
                 .where(Consent.case_id.in_(case_ids)).order_by(Consent.id))
    if membership_ids is not None:
        statement = statement.where(ConsentMember.membership_id.in_(membership_ids))
    return db.session.execute(statement).all()


def _parts_of(row) -> frozenset[ConsentPart]:
    flags = {ConsentPart.INTAKE: row.covers_intake, ConsentPart.NOTES: row.covers_notes,
             ConsentPart.PROMS: row.covers_proms}
    return frozenset(part for part, covered in flags.items() if covered)


def _member_access(team_member_id: int, membership_id: int, status: TeamStatus, left_at, membership_active: bool,
                   consents: list, today: date) -> MemberAccess:
    """One row's MemberAccess from the consents naming its member (rows of _consents_naming_rows)."""
    live = [c for c in consents if c.live]
    common = {"team_member_id": team_member_id, "membership_id": membership_id, "status": status,
              "membership_active": membership_active}
    left = (local_today(left_at), ENDED_LEFT) if status is TeamStatus.LEFT and left_at is not None else None
    if live:
        until = None if any(c.valid_until is None for c in live) else max(c.valid_until for c in live)
        return MemberAccess(consent_ids=tuple(c.id for c in live),
                            parts=frozenset(p for c in live for p in _parts_of(c)),
                            since=min(local_today(c.obtained_at) for c in live), until=until,
                            ended_on=left[0] if left else None, ended_reason=left[1] if left else "", **common)
    ends = [end for c in consents if (end := _consent_end(c.valid_until, c.withdrawn_at, today)) is not None]
    ended = max(ends) if ends else None  # the consent that ran longest ended their access
    if left is not None and (ended is None or left[0] <= ended[0]):
        ended = left
    return MemberAccess(ended_on=ended[0] if ended else None, ended_reason=ended[1] if ended else "", **common)


def team_access(case: Case, team: list[CareTeamMember] | None = None, *,
                today: date | None = None) -> dict[int, MemberAccess]:
    """The real access of every row of the care team now, by CareTeamMember.id.

    *team*: the rows, already loaded with their membership (cases.views.case.team_of); without it they are
    read here. One query for the consents (two without *team*), whatever the team's size."""
    today = today or local_today()
    if team is None:
        team = list(db.session.scalars(select(CareTeamMember).where(CareTeamMember.case_id == case.id)))
    if not team:
        return {}
    by_member: dict[int, list] = {}
    for row in _consents_naming_rows([case.id], {r.membership_id for r in team}, today):
        by_member.setdefault(row.membership_id, []).append(row)
    return {r.id: _member_access(r.id, r.membership_id, r.status, r.left_at, r.membership.is_active,
                                 by_member.get(r.membership_id, []), today) for r in team}


@dataclass(frozen=True)
class EndedAccess:
    """A case whose access ended for a member: its id, the day and the reason; no patient data."""

    case_id: int
    ended_on: date
    reason: str


ENDED_LIMIT = 50


def ended_access_for(membership, *, today: date | None = None, limit: int = ENDED_LIMIT) -> list[EndedAccess]:
    """The cases where *membership* is (or was, until closing their part) on the care team, a consent named
    them and none is live any more: newest end first. Two queries whatever their number."""
    today = today or local_today()
    ever_named = (select(ConsentMember.membership_id).join(Consent, (Consent.id == ConsentMember.consent_id)
                                                            & (Consent.network_id == ConsentMember.network_id))
                  .where(Consent.case_id == CareTeamMember.case_id, ConsentMember.membership_id == membership.id)
                  .exists())
    rows = list(db.session.execute(
        select(CareTeamMember.id, CareTeamMember.case_id, CareTeamMember.status, CareTeamMember.left_at)
        .where(CareTeamMember.membership_id == membership.id,
               CareTeamMember.status.in_((TeamStatus.ACTIVE, TeamStatus.LEFT)), ever_named,
               ~covered_now(membership.id, CareTeamMember.case_id, today=today))
        .order_by(CareTeamMember.id.desc()).limit(limit)))
    if not rows:
        return []
    consents: dict[int, list] = {}
    for row in _consents_naming_rows({r.case_id for r in rows}, [membership.id], today):
        consents.setdefault(row.case_id, []).append(row)
    found: dict[int, EndedAccess] = {}
    for row in rows:  # newest row first: a later row of the same case wins
        if row.case_id in found:
            continue
        access = _member_access(row.id, membership.id, row.status, row.left_at, True,
                                consents.get(row.case_id, []), today)
        if access.ended_on is not None:
            found[row.case_id] = EndedAccess(row.case_id, access.ended_on, access.ended_reason)
    return sorted(found.values(), key=lambda e: (e.ended_on, e.case_id), reverse=True)


# --- the patient and the relatives they let in (the patient portal, app.patient_portal) -------------------

@dataclass(frozen=True)
class PortalView:
    """What one portal account (the patient, or a relative the patient granted) may see of the record now.

    The patient sees every section of their own record, their care team, the letters to their GP, their
    questionnaires, their consents and who looked; a relative only the sections the patient granted and
    nothing else. Build it with portal_access()."""

    allowed: bool
    is_patient: bool = False
    sections: frozenset[SectionKey] = frozenset()

    def may_see_section(self, key: SectionKey | str) -> bool:
        try:
            return self.allowed and SectionKey(key) in self.sections
        except ValueError:
            return False

    @property
    def visible_sections(self) -> frozenset[SectionKey]:
        return self.sections if self.allowed else frozenset()

    # Only the patient: their team, letters, questionnaires, consents, relatives, access log, messages, data.
    @property
    def is_own_record(self) -> bool:
        return self.allowed and self.is_patient

    may_see_team = may_see_letters = may_fill_questionnaires = may_manage_consents = is_own_record
    may_invite_relatives = may_see_access_log = may_message = may_download = is_own_record


PORTAL_DENIED = PortalView(allowed=False)
_SECTION_VALUES = frozenset(key.value for key in SectionKey)


def portal_access(account) -> PortalView:
    """What the portal account (app.patients.models.PortalAccount) may see now: nothing once it is revoked,
    the account is deactivated, or (a relative) the patient's own grant ended."""
    if account is None or account.revoked_at is not None or not account.user.active:
        return PORTAL_DENIED
    if account.is_patient:
        return PortalView(allowed=True, is_patient=True, sections=frozenset(SectionKey))
    granted = frozenset(SectionKey(key) for key in account.sections or () if key in _SECTION_VALUES)
    return PortalView(allowed=bool(granted), sections=granted)


@dataclass(frozen=True)
class SystemView:
    """What a network's own connected system (the FHIR API) may read of a case's shared record: the sections of the
    parts that at least one live consent of the case lets the network share. A system is not a care-team member, so
    it never sees more than the patient agreed to share with the network's providers; a withdrawal (or the last
    consent expiring) takes a part away on the next request."""

    parts: frozenset[ConsentPart]

    @property
    def sections(self) -> frozenset[SectionKey]:
        return keys_for_parts(self.parts)

    def may_see_section(self, key: SectionKey | str) -> bool:
        try:
            return SectionKey(key) in self.sections
        except ValueError:
            return False


def system_access(case: Case, *, today: date | None = None) -> SystemView:
    """The one door for a network's connected system (one query)."""
    rows = db.session.execute(select(Consent.covers_intake, Consent.covers_notes, Consent.covers_proms).where(
        Consent.case_id == case.id, consent_is_live(today or local_today()))).all()
    parts = set()
    for intake, notes, proms in rows:
        parts |= {part for part, on in ((ConsentPart.INTAKE, intake), (ConsentPart.NOTES, notes),
                                        (ConsentPart.PROMS, proms)) if on}
    return SystemView(frozenset(parts))
