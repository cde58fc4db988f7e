"""The self-check: criteria versions, facts gathered once per run, results, snapshots. Callers commit."""
from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date
from typing import Any, NamedTuple

from sqlalchemy import and_, event, func, select
from sqlalchemy.orm import Session, attributes, joinedload

from app.auth.models import User
from app.core import audit
from app.core.audit import AuditAction
from app.core.dates import local_today
from app.core.db import utcnow
from app.core.jobs import enqueue
from app.extensions import db
from app.meetings.models import Meeting
from app.meetings.services import participation_counts, participation_window
from app.networks.models import (
    Discipline,
    Membership,
    MembershipDiscipline,
    Network,
    NetworkContact,
    ServiceAreaRange,
)
from app.quality.checks import (
    CheckResult,
    MemberFacts,
    NetworkFacts,
    NetworkProfile,
    Status,
    result_as_dict,
    run_check,
)
from app.quality.models import CriteriaSet, Criterion, Evidence, SelfCheckSnapshot, SnapshotPdfStatus

PROFILE_FIELDS = tuple(NetworkProfile.__dataclass_fields__)


@dataclass(frozen=True)
class CheckRow:
    criterion: Criterion
    result: CheckResult


@dataclass(frozen=True)
class Breakage:
    """A criterion that is met now and would not be after a change."""

    criterion: Criterion
    before: CheckResult
    after: CheckResult


# --- criteria versions ---------------------------------------------------------------------------

def current_criteria_set(today: date | None = None) -> CriteriaSet | None:
    """The set with the latest effective date on or before *today*, with its criteria (one statement)."""
    today = today or local_today()
    chosen = next((row for row in _criteria_set_index() if row.effective_from <= today), None)
    return _criteria_set(chosen.id) if chosen is not None else None


def criteria_set_by_version(version: str) -> CriteriaSet | None:
    chosen = next((row for row in _criteria_set_index() if row.version == version), None)
    return _criteria_set(chosen.id) if chosen is not None else None


def all_criteria_sets():
    """Every version, newest first, as rows of (id, version, effective_from): the version picker shows no criteria
    (the sets load their criteria with them otherwise)."""
    return list(_criteria_set_index())


def _criteria_set(set_id: int) -> CriteriaSet | None:
    return db.session.get(CriteriaSet, set_id, options=[joinedload(CriteriaSet.criteria)])


class CriteriaSetRow(NamedTuple):
    id: int
    version: str
    effective_from: date


def _criteria_set_index() -> tuple[CriteriaSetRow, ...]:
    """The versions, newest first, read once per process and database: the migrations seed them, and a write of a
    set (in a test, say) clears the index (_forget_criteria_sets)."""
    return _criteria_set_index_of(db.engine.url.render_as_string(hide_password=True))


@functools.lru_cache(maxsize=8)
def _criteria_set_index_of(_database: str) -> tuple[CriteriaSetRow, ...]:
    return tuple(CriteriaSetRow(*row) for row in db.session.execute(
        select(CriteriaSet.id, CriteriaSet.version, CriteriaSet.effective_from)
        .order_by(CriteriaSet.effective_from.desc())))


@event.listens_for(CriteriaSet, "after_insert")
@event.listens_for(CriteriaSet, "after_update")
@event.listens_for(CriteriaSet, "after_delete")
def _forget_criteria_sets(mapper, connection, target) -> None:
    _criteria_set_index_of.cache_clear()


# --- facts -----------------------------------------------------------------------------------------

def gather_facts(network: Network, *, today: date | None = None) -> NetworkFacts:
    """Everything the checks read, in a fixed number of queries (not one per member)."""
    today = today or local_today()
    profile = NetworkProfile(**{name: getattr(network, name) for name in PROFILE_FIELDS})
    attended, meetings = ({}, 0)
    if profile.participation_min_meetings:
        attended, meetings = _participation(network, today)
    return NetworkFacts(
        profile=profile, members=_active_members(), contacts_by_kind=_contacts_by_kind(),
        evidence_by_code=_evidence_by_code(), postcode_areas=_postcode_areas(),
        attended_last_year=attended, meetings_last_year=meetings, today=today)


def _active_members() -> tuple[MemberFacts, ...]:
    rows = db.session.execute(
        select(Membership.id, Membership.is_listed_in_verwijsgids, Discipline.code, Discipline.in_verwijsgids_scope)
        .outerjoin(MembershipDiscipline, and_(MembershipDiscipline.network_id == Membership.network_id,
                                              MembershipDiscipline.membership_id == Membership.id))
        .outerjoin(Discipline, Discipline.id == MembershipDiscipline.discipline_id)
        .where(Membership.is_active.is_(True)).order_by(Membership.id))
    members: dict[int, dict[str, Any]] = {}
    for membership_id, listed, code, in_scope in rows:
        member = members.setdefault(membership_id, {"listed": listed, "codes": set(), "in_scope": False})
        if code is not None:
            member["codes"].add(code)
            member["in_scope"] = member["in_scope"] or bool(in_scope)
    return tuple(MemberFacts(id=key, discipline_codes=frozenset(m["codes"]), is_listed=bool(m["listed"]),
                             in_verwijsgids_scope=m["in_scope"]) for key, m in members.items())


def _contacts_by_kind() -> dict[str, int]:
    rows = db.session.execute(select(NetworkContact.kind, func.count()).group_by(NetworkContact.kind))
    return {str(kind): count for kind, count in rows}


def _evidence_by_code() -> dict[str, int]:
    rows = db.session.execute(select(Evidence.criterion_code, func.count()).where(Evidence.removed_at.is_(None))
                              .group_by(Evidence.criterion_code))
    return dict(rows.all())


def _postcode_areas() -> int:
    """Distinct 4-digit postcode areas covered by the ranges (overlaps counted once)."""
    total, covered_to = 0, -1
    for first, last in db.session.execute(select(ServiceAreaRange.first, ServiceAreaRange.last)
                                          .order_by(ServiceAreaRange.first)):
        start = max(first, covered_to + 1)
        if last >= start:
            total += last - start + 1
        covered_to = max(covered_to, last)
    return total


def _participation(network: Network, today: date) -> tuple[dict[int, int], int]:
    """Meetings attended per active membership in the meetings feature's 12-month window, and
    the number of meetings held in it."""
    first, last = participation_window(today)
    held = db.session.scalar(select(func.count()).select_from(Meeting).where(
        Meeting.held_on.between(first, last))) or 0
    return participation_counts(network, today=today), held


# --- running the checks ------------------------------------------------------------------------------

def run_checks(network: Network, criteria_set: CriteriaSet, *, facts: NetworkFacts | None = None) -> list[CheckRow]:
    """Check every criterion of *criteria_set* against the network's current data."""
    facts = facts or gather_facts(network)
    return [CheckRow(criterion, run_check(facts, criterion)) for criterion in criteria_set.criteria]


def results_without_member(network: Network, membership_id: int, *,
                           criteria_set: CriteriaSet | None = None) -> list[Breakage]:
    """The criteria that are met now and would no longer be met without *membership_id* (read-only)."""
    criteria_set = criteria_set or current_criteria_set()
    if criteria_set is None:
        return []
    facts = gather_facts(network)
    reduced = facts.without_member(membership_id)
    if reduced == facts:
        return []
    breakages = []
    for criterion in criteria_set.criteria:
        before, after = run_check(facts, criterion), run_check(reduced, criterion)
        if before.status is Status.MET and after.status is not Status.MET:
            breakages.append(Breakage(criterion, before, after))
    return breakages


# --- snapshots -------------------------------------------------------------------------------------

class SnapshotIsFrozen(RuntimeError):
    """A frozen self-check snapshot's results or evidence list may not change, nor may it be deleted."""


@event.listens_for(Session, "before_flush")
def _refuse_snapshot_changes(session: Session, flush_context, instances) -> None:
    for obj in session.deleted:
        if isinstance(obj, SelfCheckSnapshot):
            raise SnapshotIsFrozen("self-check snapshots cannot be deleted")
    for obj in session.dirty:
        if isinstance(obj, SelfCheckSnapshot) and any(
                attributes.get_history(obj, name).has_changes() for name in SelfCheckSnapshot.FROZEN):
            raise SnapshotIsFrozen("a self-check snapshot's frozen fields cannot change")


@event.listens_for(Session, "do_orm_execute")
def _refuse_bulk_snapshot_changes(state) -> None:
    # update()/delete() statements skip the flush guard; the PDF fields change through the ORM only.
    if (state.is_update or state.is_delete) and any(m.class_ is SelfCheckSnapshot for m in state.all_mappers):
        raise SnapshotIsFrozen("self-check snapshots cannot be changed in bulk")


def freeze_snapshot(*, network: Network, user: User, criteria_set: CriteriaSet, locale: str) -> SelfCheckSnapshot:
    """Store the current results (with reasons, in *locale*) and evidence list as a snapshot."""
    results = [{**result_as_dict(row.criterion, row.result, locale), "locale": locale}
               for row in run_checks(network, criteria_set)]
    snapshot = SelfCheckSnapshot(network_id=network.id, criteria_set_id=criteria_set.id, taken_at=utcnow(),
                                 taken_by_id=user.id, results=results, evidence=evidence_listing(),
                                 pdf_status=SnapshotPdfStatus.NONE, pdf_progress=0)
    db.session.add(snapshot)
    db.session.flush()
    audit.record("self_check.frozen", AuditAction.CREATE, object_type="self_check_snapshot",
                 object_id=snapshot.id, reason=f"criteria version {criteria_set.version}")
    return snapshot


def evidence_listing() -> list[dict[str, Any]]:
    """The evidence in force now, as JSON for a snapshot."""
    rows = db.session.execute(select(Evidence, User.full_name).join(User, User.id == Evidence.uploaded_by_id)
                              .where(Evidence.removed_at.is_(None)).order_by(Evidence.criterion_code, Evidence.id))
    return [{"id": e.id, "code": e.criterion_code, "text": e.text, "file_name": e.file_name,
             "content_type": e.content_type, "size_bytes": e.size_bytes, "uploaded_by": name,
             "created_at": e.created_at.isoformat()} for e, name in rows]


def request_snapshot_pdf(snapshot: SelfCheckSnapshot) -> bool:
    """Queue the PDF report unless it is queued, running or done. Returns whether a job was queued."""
    if snapshot.pdf_status in (SnapshotPdfStatus.QUEUED, SnapshotPdfStatus.RUNNING, SnapshotPdfStatus.DONE):
        return False
    snapshot.pdf_status, snapshot.pdf_progress = SnapshotPdfStatus.QUEUED, 0
    enqueue("snapshot_pdf", {"snapshot_id": snapshot.id}, network_id=snapshot.network_id)
    audit.record("self_check.pdf_requested", AuditAction.EXPORT, object_type="self_check_snapshot",
                 object_id=snapshot.id)
    return True


def record_pdf_download(snapshot: SelfCheckSnapshot) -> None:
    audit.record("self_check.pdf_downloaded", AuditAction.EXPORT, object_type="self_check_snapshot",
                 object_id=snapshot.id)
