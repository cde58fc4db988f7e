"""Care between the lines: the hospital's roles on a case, the central care provider (a member, the GP or an
outside professional) with its history, and the network's "who for what" directory.

Services flush, the caller commits. Access is the caller's: views load the case through the one door
(app.cases.views._common.load_case) before calling these.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, NamedTuple

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.auth.models import User
from app.cases import services as case_services
from app.cases.access import register_case_header_column
from app.cases.export import register_case_export
from app.cases.models import Case, CaseEventKind, CaseStatus, CentralProviderChange
from app.core import audit
from app.core.audit import AuditAction
from app.core.dates import local_today
from app.core.db import utcnow
from app.core.mail import absolute_url, queue_mail
from app.core.tenancy import all_networks
from app.extensions import db
from app.networks.models import Membership, Network, Role
from app.palliative.models import (
    INFORMED,
    PLACES_OF_DEATH,
    SIGNAL_INDICATORS,
    CareContact,
    ContactRole,
    HospitalRole,
    HospitalRoleKind,
    MdoDiscussion,
    OutsideCentralProvider,
    OutsideProviderKind,
    PalliativeEvent,
    PalliativeEventKind,
)
from app.records import services as record_services
from app.records.models import RecordSource, SectionKey
from app.referrals import services as referral_services
from app.referrals.models import Referral, ReferralStatus


class PalliativeRuleBroken(Exception):
    """A rule of this package refused the change; str() is a message for the user."""


def _audit(event: str, action: AuditAction, case: Case, *, actor: User, object_type: str, object_id: int | None,
           reason: str = "") -> None:
    audit.record(event, action, patient_id=case.patient_id, object_type=object_type, object_id=object_id,
                 user_id=actor.id, reason=reason)


def _require_open(case: Case) -> None:
    if case.status is not CaseStatus.ACTIVE:
        raise PalliativeRuleBroken(str(_l("The case is closed.")))


# --- the hospital's roles ------------------------------------------------------------------------------------

def hospital_role_history(case: Case) -> list[HospitalRole]:
    """Every setting of a hospital role on *case*, newest first."""
    return list(db.session.scalars(select(HospitalRole).where(HospitalRole.case_id == case.id)
                                   .order_by(HospitalRole.set_at.desc(), HospitalRole.id.desc())))


def current_hospital_roles(case: Case,
                           history: list[HospitalRole] | None = None) -> dict[HospitalRoleKind, HospitalRole]:
    """The newest row of each kind (the current main treating specialist and case manager)."""
    current: dict[HospitalRoleKind, HospitalRole] = {}
    for row in history if history is not None else hospital_role_history(case):
        current.setdefault(row.kind, row)
    return current


def referral_prefill(case: Case, kind: HospitalRoleKind) -> dict[str, str]:
    """What the referral says about a role (the referral form names the hospital and the specialist)."""
    referral: Referral | None = db.session.scalar(select(Referral).where(Referral.id == case.referral_id))
    if referral is None:
        return {}
    if kind is HospitalRoleKind.SPECIALIST:
        return {"name": referral.specialist or "", "hospital": referral.hospital or ""}
    return {"hospital": referral.hospital or ""}


def set_hospital_role(case: Case, actor: User, kind: HospitalRoleKind, *, name: str, function: str = "",
                      hospital: str = "", reach: str = "", from_referral: bool = False) -> HospitalRole:
    """Record who holds a hospital role now; the earlier rows stay as history. Same values again: no new row."""
    _require_open(case)
    values = {"name": (name or "").strip(), "function": (function or "").strip(),
              "hospital": (hospital or "").strip(), "reach": (reach or "").strip()}
    if not values["name"]:
        raise PalliativeRuleBroken(str(_l("Fill in the name.")))
    current = current_hospital_roles(case).get(kind)
    if current is not None and all(getattr(current, k) == v for k, v in values.items()):
        return current
    row = HospitalRole(network_id=case.network_id, case_id=case.id, kind=kind, set_at=utcnow(), set_by_id=actor.id,
                       from_referral=from_referral, **values)
    db.session.add(row)
    db.session.flush()
    _audit("case.hospital_role_set", AuditAction.UPDATE, case, actor=actor, object_type="hospital_role",
           object_id=row.id, reason=kind.value)
    return row


def fill_from_referral(case: Case, actor: User) -> list[HospitalRole]:
    """Prefill the main treating specialist from the referral when the case has none yet."""
    made = []
    if HospitalRoleKind.SPECIALIST not in current_hospital_roles(case):
        data = referral_prefill(case, HospitalRoleKind.SPECIALIST)
        if data.get("name"):
            made.append(set_hospital_role(case, actor, HospitalRoleKind.SPECIALIST, from_referral=True, **data))
    return made


# --- the central care provider -------------------------------------------------------------------------------

@dataclass(frozen=True)
class CentralEntry:
    """One setting of the central care provider, member or not, for the history and the current view."""

    at: datetime
    kind: str  # "member", "gp", "outside"
    name: str
    function: str
    organisation: str
    reach: str
    reason: str
    set_by_id: int
    membership_id: int | None = None

    @property
    def kind_label(self) -> str:
        if self.kind == "member":
            return str(_l("Network member"))
        return OutsideProviderKind(self.kind).label


def central_history(case: Case) -> list[CentralEntry]:
    """Member changes (cases' CentralProviderChange) and outside providers merged, newest first."""
    changes = case_services.central_history(case)
    memberships = {m.id: m for m in db.session.scalars(select(Membership).where(
        Membership.id.in_({c.membership_id for c in changes})))} if changes else {}
    entries = [CentralEntry(at=c.changed_at, kind="member", name=memberships[c.membership_id].user.full_name,
                            function=case_services.discipline_names(memberships[c.membership_id]),
                            organisation="", reach="", reason=c.reason, set_by_id=c.changed_by_id,
                            membership_id=c.membership_id)
               for c in changes if c.membership_id in memberships]
    outside = db.session.scalars(select(OutsideCentralProvider).where(OutsideCentralProvider.case_id == case.id))
    entries += [CentralEntry(at=o.set_at, kind=o.kind.value, name=o.name, function=o.function,
                             organisation=o.organisation, reach=o.reach, reason=o.reason, set_by_id=o.set_by_id)
                for o in outside]
    return sorted(entries, key=lambda e: (e.at, e.kind != "member"), reverse=True)


def current_central(case: Case, history: list[CentralEntry] | None = None) -> CentralEntry | None:
    history = central_history(case) if history is None else history
    return history[0] if history else None


def set_outside_central(case: Case, actor: User, kind: OutsideProviderKind, *, name: str, function: str = "",
                        organisation: str = "", reach: str = "", reason: str = "") -> OutsideCentralProvider:
    """The GP or an outside professional becomes the central care provider. The network's own central
    member (Case.central_membership_id) stays the network's contact for the case."""
    _require_open(case)
    name = (name or "").strip()
    if not name:
        raise PalliativeRuleBroken(str(_l("Fill in the name.")))
    row = OutsideCentralProvider(network_id=case.network_id, case_id=case.id, kind=kind, name=name,
                                 function=(function or "").strip(), organisation=(organisation or "").strip(),
                                 reach=(reach or "").strip(), reason=(reason or "").strip(), set_at=utcnow(),
                                 set_by_id=actor.id)
    db.session.add(row)
    db.session.flush()
    case_services.add_event(case, actor, CaseEventKind.CENTRAL_OUTSIDE, name)
    _audit("case.central_changed", AuditAction.UPDATE, case, actor=actor, object_type="central_provider",
           object_id=row.id, reason=kind.value)
    return row


def hand_back_to_member(case: Case, actor: User, reason: str = "") -> CentralProviderChange:
    """The network's central member takes the role back from an outside provider (a new history row)."""
    _require_open(case)
    current = current_central(case)
    if case.central_membership_id is None or current is None or current.kind == "member":
        raise PalliativeRuleBroken(str(_l("The central care provider is already a network member.")))
    row = CentralProviderChange(network_id=case.network_id, case_id=case.id,
                                membership_id=case.central_membership_id, changed_at=utcnow(),
                                changed_by_id=actor.id, reason=(reason or "").strip())
    db.session.add(row)
    db.session.flush()
    case_services.add_event(case, actor, CaseEventKind.CENTRAL_CHANGED, case.central.user.full_name)
    _audit("case.central_changed", AuditAction.UPDATE, case, actor=actor, object_type="case", object_id=case.id,
           reason=f"membership {case.central_membership_id}")
    return row


def gp_view(case: Case) -> dict[str, Any]:
    """What the referring GP sees of the roles: the current hospital roles and central care provider
    (names and how to reach them; no patient data beyond what the GP's own referral holds)."""
    roles = current_hospital_roles(case)
    central = current_central(case)
    return {
        "hospital_roles": [{"label": kind.label, "name": row.name, "function": row.function,
                            "hospital": row.hospital, "reach": row.reach}
                           for kind in HospitalRoleKind if (row := roles.get(kind)) is not None],
        "outside_central": None if central is None or central.kind == "member" else {
            "kind_label": central.kind_label, "name": central.name, "function": central.function,
            "organisation": central.organisation, "reach": central.reach},
    }


# --- the "who for what" directory ----------------------------------------------------------------------------

CONTACT_FIELDS = ("organisation", "role", "tumour_type", "for_what", "name", "phone", "email", "hours")


def contacts_query(*, organisation: str = "", role: ContactRole | None = None):
    """The directory's lines (not removed), by organisation; for pagination in SQL."""
    statement = select(CareContact).where(CareContact.removed_at.is_(None))
    if organisation:
        escaped = organisation.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        statement = statement.where(CareContact.organisation.ilike(f"%{escaped}%", escape="\\"))
    if role is not None:
        statement = statement.where(CareContact.role == role)
    return statement.order_by(CareContact.organisation, CareContact.role, CareContact.id)


def get_contact(contact_id: int) -> CareContact | None:
    return db.session.scalar(select(CareContact).where(CareContact.id == contact_id,
                                                       CareContact.removed_at.is_(None)))


def save_contact(network: Network, contact: CareContact | None, actor: User, values: dict[str, Any]) -> CareContact:
    if contact is None:
        contact = CareContact(network_id=network.id)
        db.session.add(contact)
    for key in CONTACT_FIELDS:
        value = values.get(key)
        setattr(contact, key, value.strip() if isinstance(value, str) else value)
    db.session.flush()
    audit.record("network.care_contact_saved", AuditAction.UPDATE, object_type="care_contact",
                 object_id=contact.id, user_id=actor.id)
    return contact


def remove_contact(contact: CareContact, actor: User) -> None:
    """Take a line out of the directory; the row is kept."""
    contact.removed_at = utcnow()
    audit.record("network.care_contact_removed", AuditAction.DELETE, object_type="care_contact",
                 object_id=contact.id, user_id=actor.id)


def referrer_network(user: User, slug: str) -> Network | None:
    """The network *slug* when *user* refers to it (a sent referral of theirs is there); None otherwise.
    Reads across networks only through referral_services.referrals_of_referrer, the named bypass."""
    network = db.session.scalar(select(Network).where(Network.slug == slug))
    if network is None or user.gp_profile is None:
        return None
    found = db.session.scalar(referral_services.referrals_of_referrer(user)
                              .where(Referral.network_id == network.id, Referral.status != ReferralStatus.DRAFT)
                              .with_only_columns(Referral.id).limit(1))
    return network if found is not None else None


# --- the palliative path ----------------------------------------------------------------------------------------

WISHES_CONVERSATION_FIELDS = ("values_and_goals", "advance_directive_text", "resuscitation", "euthanasia",
                              "euthanasia_text", "preferred_place_of_care", "preferred_place_of_death",
                              "representative")


def path_of(case: Case) -> list[PalliativeEvent]:
    """The case's palliative path, newest first (a case has few steps: no paging needed, capped)."""
    return list(db.session.scalars(select(PalliativeEvent).where(PalliativeEvent.case_id == case.id)
                                   .order_by(PalliativeEvent.id.desc()).limit(200)))


class Marking(NamedTuple):
    """What the case header shows of the marking (app.palliative.palliative_marking)."""

    occurred_on: date


def palliative_since_column():
    """The date the case's palliative phase was marked, as a column of the case's own load (app.cases.access
    CASE_HEADER_COLUMNS): the header's marking costs no query of its own on a case page."""
    return (select(PalliativeEvent.occurred_on)
            .where(PalliativeEvent.network_id == Case.network_id, PalliativeEvent.case_id == Case.id,
                   PalliativeEvent.kind == PalliativeEventKind.MARKED)
            .order_by(PalliativeEvent.id).limit(1).correlate(Case).scalar_subquery().label("palliative_since"))


register_case_header_column("palliative_since", palliative_since_column)


def marking_of(case_id: int) -> PalliativeEvent | None:
    """The marking of the palliative phase, if the case has one (one query, on the case index)."""
    return db.session.scalar(select(PalliativeEvent).where(
        PalliativeEvent.case_id == case_id, PalliativeEvent.kind == PalliativeEventKind.MARKED)
        .order_by(PalliativeEvent.id).limit(1))


def _tell(case: Case, actor: User, headline) -> None:
    """The central care provider (unless they acted) and the referring GP hear there is something to read; the
    mail holds a link and the referral number only."""
    network = db.session.get(Network, case.network_id)
    central = case.central
    if central is not None and central.user_id != actor.id and central.user.active:
        user = central.user
        queue_mail(to=user.email, template="palliative_news", subject=_l("A case of yours has news"),
                   locale=user.locale or network.default_locale or "nl", network_id=network.id, user=user,
                   link=absolute_url("palliative.path", network_slug=network.slug, case_id=case.id),
                   recheck=("membership", {"membership_id": central.id}))
    referral = db.session.scalar(select(Referral).where(Referral.id == case.referral_id))
    gp = referral.gp_profile.user if referral is not None and referral.gp_profile is not None else None
    if gp is not None and gp.active:
        subject = headline(referral.number)
        queue_mail(to=gp.email, template="referral_update", subject=subject, headline=subject,
                   locale=gp.locale or "nl", network_id=network.id, user=gp, number=referral.number,
                   network=network, link=absolute_url("gp_portal.detail", referral_id=referral.id))


def record_signal(case: Case, actor: User, *, indicators: list[str], remark: str = "") -> PalliativeEvent:
    """The surprise question answered "I would not be surprised": the signal, with what prompted it."""
    _require_open(case)
    codes = sorted({code for code in indicators if code in SIGNAL_INDICATORS})
    row = PalliativeEvent(network_id=case.network_id, case_id=case.id, kind=PalliativeEventKind.SIGNAL,
                          occurred_on=local_today(), recorded_at=utcnow(), recorded_by_id=actor.id, indicators=codes,
                          remark=(remark or "").strip()[:2000])
    db.session.add(row)
    db.session.flush()
    _audit("palliative.signal_recorded", AuditAction.CREATE, case, actor=actor, object_type="palliative_event",
           object_id=row.id, reason=",".join(codes))
    if "treatment_stopped" in codes:  # a significant change: the GP gets a letter within the norm (app.norms)
        case_services.add_event(case, actor, CaseEventKind.TREATMENT_STOPPED)
    _tell(case, actor, lambda number: _l("There is an update on referral %(number)s", number=number))
    return row


def mark_palliative(case: Case, actor: User, *, marked_on: date, informed: list[str],
                    remark: str = "") -> PalliativeEvent:
    """Mark the palliative phase (once): the date, by whom, who was told. The GP is told the same day."""
    _require_open(case)
    if marking_of(case.id) is not None:
        raise PalliativeRuleBroken(str(_l("The palliative phase of this case is marked already.")))
    if marked_on > local_today():
        raise PalliativeRuleBroken(str(_l("This date cannot be in the future.")))
    row = PalliativeEvent(network_id=case.network_id, case_id=case.id, kind=PalliativeEventKind.MARKED,
                          occurred_on=marked_on, recorded_at=utcnow(), recorded_by_id=actor.id,
                          informed=sorted({code for code in informed if code in INFORMED}),
                          remark=(remark or "").strip()[:2000])
    db.session.add(row)
    db.session.flush()
    case_services.add_event(case, actor, CaseEventKind.PALLIATIVE_MARKED, marked_on.isoformat())
    _audit("palliative.marked", AuditAction.UPDATE, case, actor=actor, object_type="palliative_event",
           object_id=row.id, reason="informed " + ",".join(row.informed))
    _tell(case, actor, lambda number: _l("There is an update on referral %(number)s", number=number))
    return row


def record_wishes_conversation(case: Case, actor: User, *, held_on: date, participants: str,
                               wishes: dict[str, Any]) -> PalliativeEvent:
    """A proactive care planning conversation: a new version of the wishes section of the shared record (its
    other fields kept), and the conversation on the path."""
    _require_open(case)
    if held_on > local_today():
        raise PalliativeRuleBroken(str(_l("This date cannot be in the future.")))
    current = record_services.sections_of(case.patient_id, [SectionKey.WISHES]).get(SectionKey.WISHES)
    content = {**(current.content if current is not None else {}),
               **{name: wishes.get(name) for name in WISHES_CONVERSATION_FIELDS if name in wishes}}
    section = record_services.write_section(
        case.patient_id, SectionKey.WISHES, content, actor=actor, source=RecordSource.MEMBER, case_id=case.id,
        reason=f"wishes conversation of {held_on.isoformat()}")
    version = section.version if section is not None else (current.version if current is not None else None)
    row = PalliativeEvent(network_id=case.network_id, case_id=case.id, kind=PalliativeEventKind.WISHES,
                          occurred_on=held_on, recorded_at=utcnow(), recorded_by_id=actor.id,
                          participants=(participants or "").strip()[:500], section_version=version)
    db.session.add(row)
    db.session.flush()
    _audit("palliative.wishes_recorded", AuditAction.CREATE, case, actor=actor, object_type="palliative_event",
           object_id=row.id, reason=f"wishes section version {version}")
    return row


@register_case_export
def export_rows(case: Case, row, names) -> dict[str, Any]:
    """The patient's right of access (app.cases.export): this package's rows of the case."""
    def rows(model):
        return [{**row(r), "by_name": names.user(getattr(r, "set_by_id", None) or getattr(r, "recorded_by_id", None))}
                for r in db.session.scalars(select(model).where(model.case_id == case.id).order_by(model.id))]

    return {"hospital_roles": rows(HospitalRole), "outside_central_providers": rows(OutsideCentralProvider),
            "palliative_path": rows(PalliativeEvent), "multidisciplinary_meetings": rows(MdoDiscussion)}


# --- the end of life -----------------------------------------------------------------------------------------------

def record_death(case: Case, actor: User, *, died_on: date, place: str, preferred_place: str,
                 follow_up_user: User, follow_up_due_on: date, remark: str = "") -> PalliativeEvent:
    """The patient died: the case closes (every part at once, nothing deleted), the team is told and the GP hears it
    from the referral's closing (no patient data in either mail), and a coordinator of the network is assigned the
    bereavement follow-up (contacting the relatives by *follow_up_due_on*): on their start page until done."""
    _require_open(case)
    if died_on > local_today():
        raise PalliativeRuleBroken(str(_l("This date cannot be in the future.")))
    if place not in PLACES_OF_DEATH or preferred_place not in ("yes", "no", "unknown"):
        raise PalliativeRuleBroken(str(_l("Choose one of the options.")))
    if follow_up_due_on < died_on:
        raise PalliativeRuleBroken(str(_l("The follow-up cannot be due before the date of death.")))
    coordinator = db.session.scalar(select(Membership).where(
        Membership.user_id == follow_up_user.id, Membership.role == Role.COORDINATOR, Membership.is_active.is_(True)))
    if coordinator is None:
        raise PalliativeRuleBroken(str(_l("The bereavement follow-up goes to a coordinator of the network.")))
    members = case_services.close_after_death(case, actor, str(_l("The patient died")))
    row = PalliativeEvent(network_id=case.network_id, case_id=case.id, kind=PalliativeEventKind.DECEASED,
                          occurred_on=died_on, recorded_at=utcnow(), recorded_by_id=actor.id, place=place,
                          preferred_place=preferred_place, follow_up_user_id=follow_up_user.id,
                          follow_up_due_on=follow_up_due_on, remark=(remark or "").strip()[:2000])
    db.session.add(row)
    db.session.flush()
    _audit("palliative.deceased", AuditAction.UPDATE, case, actor=actor, object_type="palliative_event",
           object_id=row.id, reason=f"place {place}, preferred {preferred_place}; follow-up user {follow_up_user.id}")
    network = db.session.get(Network, case.network_id)
    for membership in members:  # their access ended with the case: the mail has no link and no patient data
        user = membership.user
        if user.id != actor.id and user.active:
            queue_mail(to=user.email, template="case_closed_death", subject=_l("A care team you were on has ended"),
                       locale=user.locale or network.default_locale or "nl", network_id=network.id, user=user,
                       network=network, recheck=("membership", {"membership_id": membership.id}))
    # The GP hears it from the referral's closing (close_after_death), like every closing: one mail, no data.
    return row


def complete_follow_up(case: Case, actor: User, row: PalliativeEvent) -> None:
    if row.case_id != case.id or row.kind is not PalliativeEventKind.DECEASED or row.follow_up_done_at is not None:
        raise PalliativeRuleBroken(str(_l("This follow-up is done already.")))
    row.follow_up_done_at, row.follow_up_done_by_id = utcnow(), actor.id
    _audit("palliative.follow_up_done", AuditAction.UPDATE, case, actor=actor, object_type="palliative_event",
           object_id=row.id)


@dataclass(frozen=True)
class FollowUp:
    network_slug: str
    network_name: str
    case_id: int
    due_on: date
    overdue: bool


def follow_ups_for_user(user_id: int, *, limit: int = 50) -> list[FollowUp]:
    """The open bereavement follow-ups assigned to *user_id*, in every network where they are still an active
    coordinator (ids and dates only: the start page names no patient). One query."""
    today = local_today()
    rows = db.session.execute(all_networks(
        select(PalliativeEvent.case_id, PalliativeEvent.follow_up_due_on, Network.slug, Network.name)
        .join(Network, Network.id == PalliativeEvent.network_id)
        .join(Membership, (Membership.network_id == PalliativeEvent.network_id) & (Membership.user_id == user_id))
        .where(PalliativeEvent.follow_up_user_id == user_id, PalliativeEvent.follow_up_done_at.is_(None),
               Membership.role == Role.COORDINATOR, Membership.is_active.is_(True))
        .order_by(PalliativeEvent.follow_up_due_on, PalliativeEvent.id).limit(limit))).all()
    return [FollowUp(network_slug=slug, network_name=name, case_id=case_id, due_on=due_on, overdue=due_on < today)
            for case_id, due_on, slug, name in rows]
