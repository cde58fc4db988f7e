"""Routes of care between the lines (/n/<network_slug>/...).

A case page loads its case through the one door (app.cases.views._common.load_case) and needs the consent
part the "people involved" section belongs to (the intake part): who treats the patient in hospital is
hand-over data. The directory holds no patient data: every member reads it, the coordinator keeps it.
"""
from __future__ import annotations

from datetime import timedelta

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import format_date
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.auth.models import User
from app.cases.models import ConsentPart
from app.cases.views._common import load_case, log_read
from app.core import audit
from app.core.audit import patient_data
from app.core.dates import local_today
from app.core.pagination import paginate
from app.core.security import require_membership
from app.extensions import db
from app.networks.models import Membership, Role
from app.palliative import bp, mdo, services
from app.palliative.forms import (
    CareContactForm,
    DeathForm,
    HandBackForm,
    HospitalRoleForm,
    MarkForm,
    MdoConclusionForm,
    MdoPlanForm,
    OutsideCentralForm,
    RemoveForm,
    SignalForm,
    WishesConversationForm,
)
from app.palliative.models import (
    INFORMED,
    PLACES_OF_DEATH,
    SIGNAL_INDICATORS,
    ContactRole,
    HospitalRoleKind,
    OutsideProviderKind,
    PalliativeEventKind,
)
from app.palliative.services import PalliativeRuleBroken
from app.records import services as record_services
from app.records.models import SectionKey

PEOPLE_PART = ConsentPart.INTAKE  # SECTION_PARTS[SectionKey.PEOPLE]


def _users(ids) -> dict[int, User]:
    ids = {i for i in ids if i is not None}
    return {u.id: u for u in db.session.scalars(db.select(User).where(User.id.in_(ids)))} if ids else {}


def _render_roles(case, access, *, role_form=None, central_form=None, hand_back_form=None):
    history = services.hospital_role_history(case)
    central_history = services.central_history(case)
    if role_form is None:
        role_form = HospitalRoleForm(formdata=None)
        current = services.current_hospital_roles(case, history)
        if HospitalRoleKind.SPECIALIST not in current:  # prefilled from the referral where it has it
            for key, value in services.referral_prefill(case, HospitalRoleKind.SPECIALIST).items():
                getattr(role_form, key).data = value
    log_read(case, access, "roles")
    return render_template(
        "palliative/roles.html", case=case, access=access, history=history,
        current=services.current_hospital_roles(case, history), central_history=central_history,
        central=services.current_central(case, central_history),
        users=_users([r.set_by_id for r in history] + [e.set_by_id for e in central_history]),
        role_form=role_form, central_form=central_form or OutsideCentralForm(formdata=None),
        hand_back_form=hand_back_form or HandBackForm(formdata=None), kinds=list(HospitalRoleKind))


@bp.route("/cases/<int:case_id>/rollen", methods=["GET", "POST"])
@login_required
@require_membership()
@patient_data
def roles(case_id: int):
    """The hospital's roles and the central care provider of a case, with their history."""
    case, access = load_case(case_id, part=PEOPLE_PART)
    if request.method == "GET":
        html = _render_roles(case, access)
        db.session.commit()
        return html
    which = request.form.get("form", "")
    forms = {}
    try:
        if which == "hospital":
            if not access.may_add_actions:
                audit.deny("case.access_denied", patient_id=case.patient_id, object_type="case", object_id=case.id,
                           reason="hospital role: not on the team")
            form = forms["role_form"] = HospitalRoleForm()
            if form.validate_on_submit():
                services.set_hospital_role(case, current_user, HospitalRoleKind(form.kind.data), name=form.name.data,
                                           function=form.function.data, hospital=form.hospital.data,
                                           reach=form.reach.data)
                db.session.commit()
                flash(_("The hospital role is saved."), "success")
                return redirect(url_for("palliative.roles", case_id=case.id))
        elif which in ("central", "hand_back"):
            if not access.may_set_central_care_provider:
                audit.deny("case.access_denied", patient_id=case.patient_id, object_type="case", object_id=case.id,
                           reason="central: not coordinator or central care provider")
            if which == "central":
                form = forms["central_form"] = OutsideCentralForm()
                if form.validate_on_submit():
                    services.set_outside_central(case, current_user, OutsideProviderKind(form.kind.data),
                                                 name=form.name.data, function=form.function.data,
                                                 organisation=form.organisation.data, reach=form.reach.data,
                                                 reason=form.reason.data)
                    db.session.commit()
                    flash(_("The central care provider is saved."), "success")
                    return redirect(url_for("palliative.roles", case_id=case.id, _anchor="central"))
            else:
                form = forms["hand_back_form"] = HandBackForm()
                if form.validate_on_submit():
                    services.hand_back_to_member(case, current_user, form.reason.data)
                    db.session.commit()
                    flash(_("The network's central care provider has the role again."), "success")
                    return redirect(url_for("palliative.roles", case_id=case.id, _anchor="central"))
        else:
            flash(_("Choose what to save."), "error")
    except PalliativeRuleBroken as exc:
        db.session.rollback()
        flash(str(exc), "error")
    html = _render_roles(case, access, **forms)
    db.session.commit()
    return html, 400


# --- the "who for what" directory ----------------------------------------------------------------------------

def _contact_values(form: CareContactForm) -> dict:
    values = {key: getattr(form, key).data or "" for key in services.CONTACT_FIELDS}
    values["role"] = ContactRole(form.role.data)
    return values


@bp.route("/wie-waarvoor", methods=["GET"])
@login_required
@require_membership()
def contacts():
    """Every member reads the directory; only the coordinator changes it."""
    organisation = (request.args.get("q") or "").strip()[:200]
    role = request.args.get("role") or ""
    chosen = ContactRole(role) if role in ContactRole._value2member_map_ else None
    page = paginate(services.contacts_query(organisation=organisation, role=chosen))
    return render_template("palliative/contacts.html", page=page, q=organisation, role=chosen,
                           roles=list(ContactRole), may_edit=g.membership.role is Role.COORDINATOR,
                           remove_form=RemoveForm())


@bp.route("/wie-waarvoor/nieuw", methods=["GET", "POST"])
@login_required
@require_membership(Role.COORDINATOR)
def contact_new():
    return _contact_page(None)


@bp.route("/wie-waarvoor/<int:contact_id>/bewerken", methods=["GET", "POST"])
@login_required
@require_membership(Role.COORDINATOR)
def contact_edit(contact_id: int):
    return _contact_page(services.get_contact(contact_id) or abort(404))


def _contact_page(contact):
    """The form for a new (*contact* None) or an existing line of the directory; saved, back to the list."""
    editing_shown = contact is not None and request.method == "GET"
    form = CareContactForm(obj=contact if editing_shown else None)
    if editing_shown:
        form.role.data = contact.role.value
    if form.validate_on_submit():
        services.save_contact(g.network, contact, current_user, _contact_values(form))
        db.session.commit()
        flash(_("The contact is saved.") if contact is not None else _("The contact is added."), "success")
        return redirect(url_for("palliative.contacts"))
    return render_template("palliative/contact_form.html", form=form, contact=contact), 400 if form.errors else 200


@bp.route("/wie-waarvoor/<int:contact_id>/verwijderen", methods=["POST"])
@login_required
@require_membership(Role.COORDINATOR)
def contact_remove(contact_id: int):
    contact = services.get_contact(contact_id) or abort(404)
    if RemoveForm().validate_on_submit():
        services.remove_contact(contact, current_user)
        db.session.commit()
        flash(_("The contact is removed from the list."), "success")
    return redirect(url_for("palliative.contacts"))


# --- the palliative path -----------------------------------------------------------------------------------------

def _wishes_form(case) -> WishesConversationForm:
    """The conversation's form, starting from what the wishes section says now."""
    current = record_services.sections_of(case.patient_id, [SectionKey.WISHES]).get(SectionKey.WISHES)
    content = current.content if current is not None else {}
    form = WishesConversationForm(formdata=None)
    for name in services.WISHES_CONVERSATION_FIELDS:
        value = content.get(name)
        if value:
            getattr(form, name).data = value
    return form


def _coordinators() -> list[tuple[int, str]]:
    return [(m.user_id, m.user.full_name) for m in db.session.scalars(
        db.select(Membership).where(Membership.role == Role.COORDINATOR, Membership.is_active.is_(True))
        .order_by(Membership.id).limit(100))]


def _death_form(formdata=None) -> DeathForm:
    form = DeathForm(formdata=formdata) if formdata is not None else DeathForm(formdata=None)
    coordinators = _coordinators()
    form.follow_up_user_id.choices = [("", _("Choose...")), *coordinators]
    if formdata is None:  # the coordinator recording it, and two weeks, unless changed
        form.follow_up_user_id.data = current_user.id if current_user.id in dict(coordinators) else None
        form.follow_up_due_on.data = local_today() + timedelta(days=14)
    return form


def _plan_form(formdata=None) -> MdoPlanForm:
    form = MdoPlanForm(formdata=formdata) if formdata is not None else MdoPlanForm(formdata=None)
    form.meeting_id.choices = [("", _("Choose...")), *[(m.id, f"{m.held_on.isoformat()} · {m.kind.label} · {m.title}")
                                                        for m in mdo.upcoming_meetings()]]
    return form


def _render_path(case, access, *, signal_form=None, mark_form=None, wishes_form=None, death_form=None,
                 plan_form=None, conclusion_form=None, status: int = 200):
    events = services.path_of(case)
    log_read(case, access, "palliative_path")
    users = _users([e.recorded_by_id for e in events] + [e.follow_up_user_id for e in events]
                   + [e.follow_up_done_by_id for e in events])
    html = render_template(
        "palliative/path.html", case=case, access=access, events=events,
        marking=next((e for e in events if e.kind is PalliativeEventKind.MARKED), None),
        death=next((e for e in events if e.kind is PalliativeEventKind.DECEASED), None),
        users=users, indicators=SIGNAL_INDICATORS, informed=INFORMED, places=PLACES_OF_DEATH,
        signal_form=signal_form or SignalForm(formdata=None), mark_form=mark_form or MarkForm(formdata=None),
        wishes_form=wishes_form or _wishes_form(case), death_form=death_form or _death_form(),
        may_edit_wishes=access.may_edit_section(SectionKey.WISHES), done_form=RemoveForm(formdata=None),
        discussions=mdo.discussions_of(case), today=local_today(),
        plan_form=plan_form or _plan_form(), conclusion_form=conclusion_form or MdoConclusionForm(formdata=None))
    db.session.commit()
    return html, status


@bp.route("/cases/<int:case_id>/palliatief", methods=["GET", "POST"])
@login_required
@require_membership()
@patient_data
def path(case_id: int):
    """The palliative path of a case: the signal (the surprise question), the marking of the palliative phase and
    the wishes conversation, with their history. Its wishes live in the shared record's wishes section."""
    case, access = load_case(case_id, part=PEOPLE_PART)
    if request.method == "GET":
        return _render_path(case, access)
    which = request.form.get("form", "")
    forms = {}
    if which == "follow_up_done" and not access.as_coordinator:
        audit.deny("case.access_denied", patient_id=case.patient_id, object_type="case", object_id=case.id,
                   reason="bereavement follow-up: not a coordinator")
    rules = {"signal": access.may_propose, "mark": access.may_set_central_care_provider,
             "wishes": access.may_edit_section(SectionKey.WISHES), "death": access.may_set_central_care_provider,
             "mdo_plan": access.may_set_central_care_provider, "mdo_conclude": access.may_set_central_care_provider}
    if which in rules and not rules[which] and access.case_open:
        audit.deny("case.access_denied", patient_id=case.patient_id, object_type="case", object_id=case.id,
                   reason=f"palliative path: may not record a {which}")
    try:
        if which == "signal":
            form = forms["signal_form"] = SignalForm()
            if form.validate_on_submit():
                services.record_signal(case, current_user, indicators=form.indicators.data or [],
                                       remark=form.remark.data or "")
                db.session.commit()
                flash(_("The signal is recorded; the central care provider and the GP are told."), "success")
                return redirect(url_for("palliative.path", case_id=case.id))
        elif which == "mark":
            form = forms["mark_form"] = MarkForm()
            if form.validate_on_submit():
                services.mark_palliative(case, current_user, marked_on=form.marked_on.data,
                                         informed=form.informed.data or [], remark=form.remark.data or "")
                db.session.commit()
                flash(_("The palliative phase is marked; the GP and the central care provider are told."), "success")
                return redirect(url_for("palliative.path", case_id=case.id))
        elif which == "wishes":
            form = forms["wishes_form"] = WishesConversationForm()
            if form.validate_on_submit():
                services.record_wishes_conversation(case, current_user, held_on=form.held_on.data,
                                                    participants=form.participants.data or "", wishes=form.wishes())
                db.session.commit()
                flash(_("The wishes conversation is recorded; the wishes section of the record is updated."),
                      "success")
                return redirect(url_for("palliative.path", case_id=case.id))
        elif which == "death":
            form = forms["death_form"] = _death_form(request.form)
            if form.validate_on_submit():
                assignee = db.session.get(User, form.follow_up_user_id.data)
                services.record_death(case, current_user, died_on=form.died_on.data, place=form.place.data,
                                      preferred_place=form.preferred_place.data, follow_up_user=assignee,
                                      follow_up_due_on=form.follow_up_due_on.data, remark=form.remark.data or "")
                db.session.commit()
                flash(_("The case is closed. The team and the GP are told; the bereavement follow-up is on %(name)s's "
                        "start page.", name=assignee.full_name), "success")
                return redirect(url_for("palliative.path", case_id=case.id))
        elif which == "mdo_plan":
            form = forms["plan_form"] = _plan_form(request.form)
            if form.validate_on_submit():
                meeting = next((m for m in mdo.upcoming_meetings() if m.id == form.meeting_id.data), None)
                if meeting is None:
                    raise PalliativeRuleBroken(_("Choose a multidisciplinary or PaTz meeting that is still to come."))
                row = mdo.plan_discussion(case, current_user, meeting, question=form.question.data or "",
                                          ask_gp=bool(form.ask_gp.data))
                db.session.commit()
                flash(_("The case is on the agenda of %(date)s.", date=format_date(meeting.held_on))
                      + (" " + _("The GP is asked for input.") if row.gp_asked else ""), "success")
                return redirect(url_for("palliative.path", case_id=case.id, _anchor="mdo"))
        elif which == "mdo_conclude":
            form = forms["conclusion_form"] = MdoConclusionForm()
            if form.validate_on_submit():
                found = mdo.get_discussion(case, int(form.discussion_id.data)) if form.discussion_id.data.isdigit() \
                    else None
                if found is None:
                    audit.deny("case.access_denied", patient_id=case.patient_id, object_type="mdo_discussion",
                               reason=f"no such discussion in case {case.id}")
                letter = mdo.conclude(case, current_user, *found, conclusion=form.conclusion.data)
                db.session.commit()
                flash(_("The conclusion is recorded and the report to the GP is drafted: check it and send it."),
                      "success")
                if access.may_send_letters:
                    return redirect(url_for("cases.letter_edit", case_id=case.id, letter_id=letter.id))
                return redirect(url_for("palliative.path", case_id=case.id, _anchor="mdo"))
        elif which == "follow_up_done":
            death = next((e for e in services.path_of(case) if e.kind is PalliativeEventKind.DECEASED), None)
            if death is None or death.follow_up_user_id != current_user.id:
                audit.deny("case.access_denied", patient_id=case.patient_id, object_type="case", object_id=case.id,
                           reason="bereavement follow-up: not assigned to this user")
            if RemoveForm().validate_on_submit():
                services.complete_follow_up(case, current_user, death)
                db.session.commit()
                flash(_("The bereavement follow-up is done."), "success")
                return redirect(url_for("palliative.path", case_id=case.id))
        else:
            flash(_("Choose what to save."), "error")
    except (PalliativeRuleBroken, ValueError) as exc:
        db.session.rollback()
        flash(str(exc), "error")
    return _render_path(case, access, status=400, **forms)
