"""Member profiles, training records, the member directory query and its CSV export. Callers commit."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import Select, String, case, cast, func, or_, select
from sqlalchemy.orm import selectinload
from werkzeug.datastructures import MultiDict

from app.auth.models import User
from app.core import audit
from app.core.audit import AuditAction
from app.core.bounded import db_int
from app.extensions import db
from app.networks.models import Discipline, Membership, MembershipDiscipline, Role, TrainingRecord
from app.networks.services.memberships import active_coordinator_count

# The profile columns a member (or their coordinator) may edit; role is handled separately.
PROFILE_FIELDS = ("agb_code", "big_number", "practice_name", "address", "postcode", "city", "phone",
                  "phone_is_public", "is_listed_in_verwijsgids", "verwijsgids_url", "is_accepting_patients",
                  "is_oncology_specialised")
SORT_KEYS = ("name", "town", "discipline")
YES_NO = ("yes", "no")


class MemberProfileError(Exception):
    pass


def profile_values(membership: Membership) -> dict:
    """The current profile as form data (for pre-filling the edit form)."""
    values = {name: getattr(membership, name) for name in PROFILE_FIELDS}
    values.update(role=membership.role.value, disciplines=[d.id for d in membership.disciplines])
    return values


def update_member_profile(*, membership: Membership, values: dict, discipline_ids: list[int],
                          role: Role | None = None) -> list[str]:
    """Apply *values* (keys from PROFILE_FIELDS), the disciplines and, when given, the role.

    Returns the names of what changed and writes one audit row per kind of change.
    Raises MemberProfileError when the role change would leave the network without an
    active coordinator. Flushes, does not commit.
    """
    changed = []
    if role is not None and role is not membership.role:
        if membership.role is Role.COORDINATOR and membership.is_active and active_coordinator_count() <= 1:
            raise MemberProfileError(_("A network needs at least one active coordinator."))
        old_role, membership.role = membership.role, role
        audit.record("membership.role_changed", AuditAction.UPDATE, object_type="membership",
                     object_id=membership.id, reason=f"{old_role.value} -> {role.value}")
        changed.append("role")
    fields = [name for name in PROFILE_FIELDS if name in values and getattr(membership, name) != values[name]]
    for name in fields:
        setattr(membership, name, values[name])
    if set_disciplines(membership, discipline_ids):
        fields.append("disciplines")
    if fields:
        db.session.flush()
        # Names of the changed fields only: the values stay in the database, not in the trail.
        audit.record("membership.updated", AuditAction.UPDATE, object_type="membership",
                     object_id=membership.id, reason="changed: " + ", ".join(fields))
    return changed + fields


def set_disciplines(membership: Membership, discipline_ids: list[int]) -> bool:
    """Make the membership's disciplines exactly *discipline_ids*; True when that changed something."""
    wanted = set(discipline_ids)
    rows = db.session.scalars(select(MembershipDiscipline).where(
        MembershipDiscipline.membership_id == membership.id)).all()
    current = {row.discipline_id for row in rows}
    if wanted == current:
        return False
    for row in rows:
        if row.discipline_id not in wanted:
            db.session.delete(row)
    for discipline_id in sorted(wanted - current):
        db.session.add(MembershipDiscipline(network_id=membership.network_id, membership_id=membership.id,
                                            discipline_id=discipline_id))
    db.session.flush()
    db.session.expire(membership, ["disciplines"])  # a viewonly relationship does not follow the rows
    return True


# --- training records ---------------------------------------------------------------------------

def training_records_for(membership: Membership) -> list[TrainingRecord]:
    return list(db.session.scalars(select(TrainingRecord).where(
        TrainingRecord.membership_id == membership.id).order_by(
        TrainingRecord.completed_on.desc(), TrainingRecord.id.desc())))


def add_training_record(*, membership: Membership, course: str, hours: int, completed_on: date,
                        valid_until: date | None) -> TrainingRecord:
    """Add a completed course to *membership*; audit-logged. Flushes, does not commit."""
    record = TrainingRecord(network_id=membership.network_id, membership_id=membership.id,
                            course=course.strip(), hours=hours, completed_on=completed_on,
                            valid_until=valid_until)
    db.session.add(record)
    db.session.flush()
    audit.record("training_record.created", AuditAction.CREATE, object_type="training_record",
                 object_id=record.id, reason=f"membership {membership.id}")
    return record


def delete_training_record(record: TrainingRecord) -> None:
    """Remove a training record; the audit row keeps that it existed. Flushes, does not commit."""
    audit.record("training_record.deleted", AuditAction.DELETE, object_type="training_record",
                 object_id=record.id, reason=f"membership {record.membership_id}")
    db.session.delete(record)
    db.session.flush()


# --- the member directory -----------------------------------------------------------------------

@dataclass(frozen=True)
class DirectoryFilters:
    q: str = ""
    discipline_id: int | None = None
    active: str = "yes"       # yes | no | all; only coordinators get anything but "yes"
    listed: str = ""          # "" | yes | no
    accepting: str = ""       # "" | yes | no
    sort: str = "name"

    @classmethod
    def from_args(cls, args: MultiDict, *, is_coordinator: bool) -> DirectoryFilters:
        """Read the query string; unknown values fall back to the default (never an error)."""
        active = "yes"
        if is_coordinator:
            active = args.get("active") if args.get("active") in ("yes", "no", "all") else (
                "all" if args.get("inactive") == "1" else "yes")
        return cls(q=(args.get("q") or "").strip()[:100],
                   discipline_id=args.get("discipline", type=db_int),
                   active=active,
                   listed=args.get("listed") if args.get("listed") in YES_NO else "",
                   accepting=args.get("accepting") if args.get("accepting") in YES_NO else "",
                   sort=args.get("sort") if args.get("sort") in SORT_KEYS else "name")


DIRECTORY_COLUMNS = (Membership.id, Membership.is_active, Membership.practice_name, Membership.city,
                     Membership.role, Membership.is_listed_in_verwijsgids, Membership.is_accepting_patients,
                     User.full_name)


def directory_query(filters: DirectoryFilters) -> Select:
    """The directory's columns (DIRECTORY_COLUMNS, rows) of the memberships matching *filters*, in a total order
    (so pages never overlap or skip)."""
    # The user's name comes from the join the filter and the sort need.
    statement = select(*DIRECTORY_COLUMNS).join(Membership.user)
    if filters.active != "all":
        statement = statement.where(Membership.is_active.is_(filters.active == "yes"))
    if filters.q:
        like = f"%{filters.q.lower()}%"
        statement = statement.where(or_(func.lower(User.full_name).like(like),
                                        func.lower(Membership.practice_name).like(like),
                                        func.lower(Membership.city).like(like)))
    if filters.discipline_id:
        statement = statement.where(Membership.id.in_(select(MembershipDiscipline.membership_id).where(
            MembershipDiscipline.discipline_id == filters.discipline_id)))
    if filters.listed:
        statement = statement.where(Membership.is_listed_in_verwijsgids.is_(filters.listed == "yes"))
    if filters.accepting:
        statement = statement.where(Membership.is_accepting_patients.is_(filters.accepting == "yes"))
    return statement.order_by(*_sort_columns(filters.sort), func.lower(User.full_name), Membership.id)


def discipline_ids_column():
    """The membership's discipline ids as one comma-separated text (string_agg / group_concat), a column of
    each directory row: its disciplines come with the page's rows, not in a query of their own."""
    return (select(func.aggregate_strings(cast(MembershipDiscipline.discipline_id, String), ","))
            .where(MembershipDiscipline.network_id == Membership.network_id,
                   MembershipDiscipline.membership_id == Membership.id)
            .correlate(Membership).scalar_subquery().label("discipline_ids"))


def _sort_columns(sort: str) -> list:
    if sort == "town":
        return [case((Membership.city == "", 1), else_=0), func.lower(Membership.city)]  # no town: last
    if sort == "discipline":
        # A member with several disciplines sorts under the first one in the controlled list.
        first = (select(func.min(Discipline.sort_order))
                 .join(MembershipDiscipline, MembershipDiscipline.discipline_id == Discipline.id)
                 .where(MembershipDiscipline.membership_id == Membership.id)
                 .correlate(Membership).scalar_subquery())
        return [func.coalesce(first, 10_000)]
    return []


# --- CSV export of the member list ----------------------------------------------------------

EXPORT_HEADINGS = ("name", "email", "role", "active", "disciplines", "agb", "big", "practice", "address",
                   "postcode", "town", "phone", "phone_public", "listed", "verwijsgids_url", "accepting_patients",
                   "oncology_specialised")


def safe_cell(value: object) -> str:
    """Text a spreadsheet will not run as a formula (CSV injection): a leading quote disarms it."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def export_members_csv() -> str:
    """Every member of the current network (also deactivated ones) as semicolon-separated text
    that starts with a BOM, so Excel reads it as UTF-8. Audit-logged; flushes, does not commit."""
    memberships = db.session.scalars(select(Membership).join(Membership.user).options(
        selectinload(Membership.disciplines)).order_by(func.lower(User.full_name), Membership.id)).all()
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(EXPORT_HEADINGS)
    yes_no = {True: "yes", False: "no"}
    for m in memberships:
        writer.writerow([safe_cell(v) for v in (
            m.user.full_name, m.user.email, m.role.value, yes_no[m.is_active],
            "|".join(d.code for d in m.disciplines), m.agb_code, m.big_number, m.practice_name, m.address,
            m.postcode, m.city, m.phone, yes_no[m.phone_is_public], yes_no[m.is_listed_in_verwijsgids],
            m.verwijsgids_url, yes_no[m.is_accepting_patients], yes_no[m.is_oncology_specialised])])
    audit.record("membership.exported", AuditAction.EXPORT, object_type="membership",
                 reason=f"CSV export of {len(memberships)} members")
    return buffer.getvalue()
