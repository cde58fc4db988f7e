"""Loading a case for a request: the tenant scope, then the one access door; refusals are logged, then 404."""
from __future__ import annotations

from flask import g

from app.cases.access import CaseAccess, case_access, case_with_viewer_disciplines
from app.cases.models import Case, ConsentPart
from app.core import audit
from app.core.audit import AuditAction


def load_case(case_id: int, *, part: ConsentPart | None = None, allow_proposed: bool = False,
              need: str | None = None, with_central: bool = False) -> tuple[Case, CaseAccess]:
    """The case of the current network that g.membership may see now (and *part* of it), or a logged 404.

    allow_proposed: a proposed member may open the proposal (accept / decline) while consent covers them.
    need: the name of an ability of CaseAccess (e.g. "may_record_consent") the route requires.
    with_central: the case's central care provider loaded with it (the case page).
    """
    case, discipline_ids = case_with_viewer_disciplines(case_id, g.membership, with_central=with_central)
    if case is None:
        audit.deny("case.access_denied", object_type="case", object_id=case_id, reason="no such case")
    access = case_access(case, g.membership, discipline_ids=discipline_ids)
    permitted = access.allowed or (allow_proposed and access.may_respond_to_proposal)
    if need is not None and not getattr(access, need):
        permitted = False
    if permitted and part is not None and not access.sees(part):
        permitted = False
    if not permitted:
        audit.deny("case.access_denied", patient_id=case.patient_id, object_type="case", object_id=case.id,
                   reason=f"part {part.value}" if part is not None else "")
    return case, access


def log_read(case: Case, access: CaseAccess, what: str, *, object_type: str = "case",
             object_id: int | None = None, previous: bool = False):
    """NEN 7513: who read which part of whose case, on what basis. *previous*: also return when this user last
    read the same (from the same log, audit.record_with_previous; None for a first read)."""
    fields = {"patient_id": case.patient_id, "object_type": object_type,
              "object_id": object_id if object_id is not None else case.id, "basis": access.basis[:60]}
    if previous:
        return audit.record_with_previous(f"case.{what}_viewed", AuditAction.READ, **fields)[1]
    audit.record(f"case.{what}_viewed", AuditAction.READ, **fields)
    return None
