"""Case routes: the case list and the case page. The care team's routes (proposal, proposing a colleague,
the central care provider) are in team.py.

Every route loads its case through _common.load_case (the one access door; refusals are logged, then 404),
renders before the commit (a commit expires the loaded rows: the template would reload them one by one)
and commits once.

Helpers other case views may import: users_by_id, memberships_by_id, team_of, event_kind_label.
"""
from __future__ import annotations

import functools
from collections.abc import Iterable

from flask import g, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_required
from sqlalchemy import case as sql_case
from sqlalchemy import select
from sqlalchemy.orm import aliased, joinedload, selectinload

from app.auth.models import User
from app.cases import bp, services
from app.cases.access import covered_now, ended_access_for, member_cases_query, sees_every_case, team_access
from app.cases.forms import CentralForm, CorrectionForm, intake_labels
from app.cases.models import (
    CareTeamMember,
    Case,
    CaseEventKind,
    CaseStatus,
    ConsentPart,
    Intake,
    IntakeStatus,
    TeamStatus,
)
from app.cases.views._common import load_case, log_read
from app.core import audit
from app.core.audit import AuditAction, patient_data
from app.core.i18n import current_locale
from app.core.pagination import paginate, paginate_keys
from app.core.security import require_membership
from app.extensions import db
from app.networks.models import Membership, Role
from app.patients.models import Patient
from app.records import services as record_services
from app.records.display import filled_fields
from app.records.models import SectionKey, section_spec
from app.referrals import services as referral_services
from app.referrals.models import Referral
from app.referrals.services import Place

READY_LIMIT = 10  # the head of the queue, by intake date; the referral inbox lists them all
PROPOSAL_LIMIT = 50
STATUS_FILTERS = ("all", "active", "closed")

EVENT_KIND_LABELS = {
    CaseEventKind.OPENED: _l("Case opened"),  # the detail says how: after the intake or care without intake
    CaseEventKind.INTAKE_CORRECTED: _l("Intake corrected"),
    CaseEventKind.MEMBER_PROPOSED: _l("Care provider proposed"),
    CaseEventKind.MEMBER_JOINED: _l("Care provider joined the team"),
    CaseEventKind.MEMBER_DECLINED: _l("Care provider declined"),
    CaseEventKind.MEMBER_LEFT: _l("Care provider closed their part"),
    CaseEventKind.CENTRAL_CHANGED: _l("Central care provider set"),
    CaseEventKind.CONSENT_RECORDED: _l("Consent recorded"),
    CaseEventKind.CONSENT_WITHDRAWN: _l("Consent withdrawn"),
    CaseEventKind.PROM_RECORDED: _l("Distress thermometer recorded"),
    CaseEventKind.LETTER_SENT: _l("Letter sent to the GP"),
    CaseEventKind.CLOSED: _l("Case closed"),
    CaseEventKind.PALLIATIVE_MARKED: _l("Palliative phase marked"),
    CaseEventKind.CENTRAL_OUTSIDE: _l("Central care provider outside the network set"),
    CaseEventKind.TREATMENT_STOPPED: _l("Treatment stopped (signal)"),
    CaseEventKind.MDO_PLANNED: _l("On the agenda of a multidisciplinary meeting"),
    CaseEventKind.MDO_CONCLUDED: _l("Multidisciplinary meeting concluded"),
}


def event_kind_label(kind: CaseEventKind) -> str:
    """The timeline wording of a case event kind (also for the GP's view of the timeline)."""
    label = EVENT_KIND_LABELS.get(kind)
    return str(label) if label is not None else str(kind).replace("_", " ")


# --- shared helpers ------------------------------------------------------------------------------------

def users_by_id(ids: Iterable[int | None]) -> dict[int, User]:
    """Users by id in one query (names for 'proposed by', 'changed by', ...)."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return {user.id: user for user in db.session.scalars(select(User).where(User.id.in_(wanted)))}


def memberships_by_id(ids: Iterable[int | None]) -> dict[int, Membership]:
    """Memberships of the current network by id, with user and disciplines, in two queries."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return {m.id: m for m in db.session.scalars(select(Membership).where(Membership.id.in_(wanted))
                                                .options(selectinload(Membership.disciplines)))}


def team_of(case: Case) -> list[CareTeamMember]:
    """The care team (every status) with each member's user and disciplines: two queries whatever its size."""
    return list(db.session.scalars(
        select(CareTeamMember).where(CareTeamMember.case_id == case.id)
        .options(joinedload(CareTeamMember.membership).selectinload(Membership.disciplines))
        .order_by(CareTeamMember.proposed_at, CareTeamMember.id)))


def _active_first(statement):
    return statement.order_by(sql_case((Case.status == CaseStatus.ACTIVE, 0), else_=1), Case.opened_at.desc(),
                              Case.id.desc())


# --- the list ------------------------------------------------------------------------------------------

@bp.route("/", methods=["GET"])
@login_required
@require_membership()
@patient_data
def index():
    if sees_every_case(g.membership):
        return _coordinator_index()
    return _member_index()


@functools.cache
def _central_aliases():
    """The central care provider's membership and user as aliases, made once: a new alias on every request cost
    more than the list's own queries."""
    return aliased(Membership, name="central"), aliased(User, name="central_user")


def _coordinator_index():
    status = request.args.get("status", "all")
    if status not in STATUS_FILTERS:
        status = "all"
    # Rows of the shown columns, not objects: the coordinator sees every case of the network by role
    # (sees_every_case), and the list names the patient, the status, the dates and the central care provider.
    central, central_user = _central_aliases()
    # The page's 25 cases first (from the cases alone, in the list's order), then the patient and the central care
    # provider joined to those 25 only.
    keys = select(Case.id)
    if status != "all":
        keys = keys.where(Case.status == CaseStatus(status))

    def rows_of(page_keys):
        return _active_first(
            select(Case.id, Case.patient_id, Case.status, Case.opened_at, Patient.family_name, Patient.given_name,
                   Patient.date_of_birth, central_user.full_name.label("central_name"))
            .join(page_keys, page_keys.c.id == Case.id)
            .join(Patient, (Patient.id == Case.patient_id) & (Patient.network_id == Case.network_id))
            .outerjoin(central, (central.id == Case.central_membership_id) & (central.network_id == Case.network_id))
            .outerjoin(central_user, central_user.id == central.user_id))

    page = paginate_keys(_active_first(keys), rows_of)
    has_case = select(Case.id).where(Case.referral_id == Referral.id, Case.network_id == Referral.network_id).exists()
    # Whether each has a draft intake comes in the same statement (a correlated EXISTS on the intake's index).
    has_draft = (select(Intake.id).where(Intake.referral_id == Referral.id, Intake.network_id == Referral.network_id,
                                         Intake.status == IntakeStatus.DRAFT).exists().label("has_draft"))
    ready = list(db.session.execute(
        select(Referral.id, Referral.number, Referral.given_name, Referral.family_name, Referral.status,
               Referral.intake_on, has_draft)
        .where(Referral.status.in_(referral_services.statuses_in(Place.INTAKES)), ~has_case)
        .order_by(Referral.intake_on.is_(None), Referral.intake_on, Referral.id).limit(READY_LIMIT + 1)))
    drafts = {r.id for r in ready if r.has_draft}
    audit.record("case.listed", AuditAction.READ, object_type="case",
                 reason=f"{len(page.items)} cases, filter {status}; {len(ready[:READY_LIMIT])} referrals ready",
                 patient_id=page.items[0].patient_id if len(page.items) == 1 else None)
    html = render_template("cases/index.html", coordinator=True, page=page, status=status,
                           ready=ready[:READY_LIMIT], more_ready=len(ready) > READY_LIMIT, drafts=drafts,
                           status_filters=_status_filter_choices())
    db.session.commit()
    return html


def _status_filter_choices() -> list[tuple[str, str]]:
    return [("all", _("All cases")), ("active", str(CaseStatus.ACTIVE.label)), ("closed", str(CaseStatus.CLOSED.label))]


def _member_index():
    me = g.membership
    # The access rule in its set-based form (app.cases.access): one query per list, whatever its length.
    page = paginate(_active_first(member_cases_query(me).options(joinedload(Case.central))))
    cases = page.items
    proposals = list(db.session.scalars(
        select(CareTeamMember).where(CareTeamMember.membership_id == me.id,
                                     CareTeamMember.status == TeamStatus.PROPOSED,
                                     covered_now(me.id, CareTeamMember.case_id))
        .order_by(CareTeamMember.proposed_at.desc()).limit(PROPOSAL_LIMIT)))
    proposal_cases = {c.id: c for c in db.session.scalars(select(Case).where(
        Case.id.in_([p.case_id for p in proposals])))} if proposals else {}
    proposers = users_by_id(p.proposed_by_id for p in proposals)
    ended = ended_access_for(me)  # no patient data: the case number, the day and the reason
    audit.record("case.listed", AuditAction.READ, object_type="case",
                 reason=f"{len(cases)} cases, {len(proposals)} proposals", basis="care team",
                 patient_id=cases[0].patient_id if len(cases) == 1 and not proposals else None)
    html = render_template("cases/index.html", coordinator=False, page=page, cases=cases, proposals=proposals,
                           proposal_cases=proposal_cases, proposers=proposers, ended=ended)
    db.session.commit()
    return html


# --- the case page ---------------------------------------------------------------------------------------

@bp.route("/<int:case_id>", methods=["GET"])
@login_required
@require_membership()
@patient_data
def detail(case_id: int):
    case, access = load_case(case_id, with_central=True)
    html = render_detail(case, access)
    db.session.commit()
    return html


def record_for(case: Case, access, last_visit) -> dict:
    """The shared record as this viewer may see it now: the visible sections (through the door), which of them
    changed since the viewer's last visit (*last_visit*, from the page's own log row), and the titles of the
    sections their consent does not cover. Two queries whatever the number of sections and versions."""
    visible = access.visible_sections
    sections = record_services.sections_for_viewer(case.patient_id, visible)
    changed = {spec.key for spec, section in sections if section is not None and last_visit is not None
               and section.updated_at > last_visit}
    hidden = [section_spec(key) for key in SectionKey if key not in visible]
    return {"record": sections, "changed": changed, "hidden_sections": hidden, "last_visit": last_visit,
            "filled_fields": filled_fields}


def render_detail(case: Case, access, *, central_form: CentralForm | None = None, correction_form=None) -> str:
    team = team_of(case)
    # Logged first: the log row's insert also says when this user last opened the page (changed-since marks).
    record = record_for(case, access, log_read(case, access, "detail", previous=True))
    member_access_by_row = team_access(case, team)  # one query for the whole team
    history = services.central_history(case)
    sees_intake = access.may_see(ConsentPart.INTAKE)
    versions = services.intakes_of(case.referral_id) if sees_intake else []
    completed = [v for v in versions if v.status is IntakeStatus.COMPLETED]
    intake = completed[-1] if completed else None
    draft = next((v for v in versions if v.status is IntakeStatus.DRAFT), None) if access.may_correct_intake else None
    events = services.timeline(case)
    team_by_membership = {row.membership_id: row for row in team}
    names = memberships_by_id({c.membership_id for c in history} - set(team_by_membership))
    names.update({row.membership_id: row.membership for row in team})
    users = users_by_id([*(row.proposed_by_id for row in team), *(c.changed_by_id for c in history),
                         *((intake.completed_by_id, intake.created_by_id) if intake else ()),
                         *(section.updated_by_id for _spec, section in record["record"] if section is not None)])
    # The central care provider is on the team (or in its history) as a rule, loaded above; else the case page's
    # load_case joined them (with_central), and other callers' relationship reads them.
    central = names.get(case.central_membership_id) if case.central_membership_id else None
    if central is None and case.central_membership_id:
        central = case.central
    if access.may_set_central_care_provider and central_form is None:
        central_form = CentralForm(formdata=None, membership_id=case.central_membership_id)
    if central_form is not None:
        central_form.membership_id.choices = central_choices(case, team)
    if access.may_correct_intake and correction_form is None:
        correction_form = CorrectionForm(formdata=None)
    return render_template(
        "cases/detail.html", case=case, access=access, patient=case.patient, team=team, history=history,
        central=central,
        names=names, users=users, intake=intake, versions=completed, draft=draft, events=events,
        sees_intake=sees_intake, member_access_by_row=member_access_by_row,
        central_form=central_form, correction_form=correction_form, locale=current_locale(),
        discipline_names=member_discipline_names, event_kind_label=event_kind_label, **record, **intake_labels())


def member_discipline_names(membership: Membership) -> str:
    return services.discipline_names(membership, current_locale())


def central_choices(case: Case, team: list[CareTeamMember]) -> list[tuple[int | str, str]]:
    """The coordinators of the network and the ACTIVE members of the care team."""
    coordinators = db.session.execute(select(Membership.id, User.full_name).join(User, User.id == Membership.user_id)
                                      .where(Membership.role == Role.COORDINATOR, Membership.is_active.is_(True)))
    role = Role.COORDINATOR.label
    choices: dict[int, str] = {membership_id: f"{name} ({role})" for membership_id, name in coordinators}
    for row in team:
        if row.status is TeamStatus.ACTIVE and row.membership.is_active:
            choices.setdefault(row.membership_id, f"{row.membership.user.full_name} ({row.role_in_case})")
    return [("", _("Choose...")), *sorted(choices.items(), key=lambda item: item[1].lower())]
