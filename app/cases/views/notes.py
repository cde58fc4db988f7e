"""Case routes: notes and next actions.

Which notes a viewer reads is decided only by app.cases.access (visible_notes / note_visible); a
note the viewer may not read answers 404 like a note that does not exist (logged). Only the
coordinator and active care-team members write; the services check the rules and raise CaseRuleBroken.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from app.auth.models import User
from app.cases import bp, services
from app.cases.access import CaseAccess, note_visible, visible_notes_query
from app.cases.forms import ActionForm, NoteEditForm, NoteForm
from app.cases.models import CareTeamMember, Case, CaseAction, ConsentPart, Note, NoteVisibility, TeamStatus
from app.cases.services import CaseRuleBroken
from app.cases.views._common import load_case, log_read
from app.core import audit
from app.core.audit import AuditAction, AuditOutcome, patient_data
from app.core.bounded import db_int
from app.core.dates import local_today
from app.core.i18n import current_locale
from app.core.pagination import paginate_rows
from app.core.security import require_membership
from app.extensions import db
from app.networks.models import Membership, Role
from app.networks.services.memberships import discipline_names

NOTES_PER_PAGE = 25


@dataclass(frozen=True)
class ListPage:
    """One page of an already loaded list (the pager of the notes page)."""

    items: list[Any]
    page: int
    pages: int
    total: int

    @classmethod
    def of(cls, rows: list[Any], per_page: int) -> ListPage:
        pages = max(1, -(-len(rows) // per_page))
        page = min(max(request.args.get("page", 1, type=db_int) or 1, 1), pages)
        return cls(rows[(page - 1) * per_page: page * per_page], page, pages, len(rows))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def _discipline_text(notes: list[Note]):
    """A function note -> its author's disciplines at the time of writing, in the reader's language;
    one query for all of *notes*."""
    names = discipline_names(current_locale()) if any(note.discipline_ids for note in notes) else {}
    return lambda note: ", ".join(names[i] for i in (note.discipline_ids or ()) if i in names)


# --- notes -----------------------------------------------------------------------------------------------

@bp.route("/<int:case_id>/notities", methods=["GET", "POST"])
@login_required
@require_membership()
@patient_data
def notes(case_id: int):
    case, access = load_case(case_id, part=ConsentPart.NOTES)
    form = NoteForm()
    if request.method == "POST":
        refusal = access.write_refusal()
        if refusal is not None:
            flash(refusal, "error")
            return _notes_page(case, access, form, status=400)
        if not form.validate_on_submit():
            return _notes_page(case, access, form, status=400)
        try:
            services.add_note(case, current_user, g.membership, form.body.data,
                              NoteVisibility(form.visibility.data))
        except CaseRuleBroken as exc:
            db.session.rollback()
            flash(str(exc), "error")
            return _notes_page(case, access, form, status=400)
        db.session.commit()
        flash(_("The note is saved."), "success")
        return redirect(url_for("cases.notes", case_id=case.id), code=303)
    return _notes_page(case, access, form)


def _notes_page(case: Case, access: CaseAccess, form: NoteForm, *, status: int = 200):
    """The notes this viewer may read (newest first, a page at a time), rendered before the commit so
    the rows are not reloaded one by one. Filtered, counted and paged in SQL: the page reads 25 notes and a
count whatever the number of notes."""
    statement = visible_notes_query(case, access)
    if statement is None:
        page = ListPage.of([], NOTES_PER_PAGE)
    else:
        # The shown columns as rows, with the author's name joined: no Note, Membership or User objects.
        shown = (statement.with_only_columns(Note.id, Note.created_at, Note.visibility, Note.version, Note.body,
                                             Note.discipline_ids, Note.author_membership_id,
                                             User.full_name.label("author_name"))
                 .join(Membership, (Membership.id == Note.author_membership_id)
                       & (Membership.network_id == Note.network_id))
                 .join(User, User.id == Membership.user_id))
        page = paginate_rows(shown, per_page=NOTES_PER_PAGE, count_of=statement)
    log_read(case, access, "notes")
    html = render_template("cases/notes.html", case=case, access=access, form=form, page=page,
                           discipline_text=_discipline_text(page.items))
    db.session.commit()
    return html, status


@bp.route("/<int:case_id>/notities/<int:note_id>", methods=["GET", "POST"])
@login_required
@require_membership()
@patient_data
def note_edit(case_id: int, note_id: int):
    case, access = load_case(case_id, part=ConsentPart.NOTES)
    note = db.session.scalar(select(Note).where(Note.id == note_id, Note.case_id == case.id))
    if note is None or not note_visible(note, access):
        # Not confirmed to exist: a note the viewer may not read looks like a missing one.
        audit.deny("case.note_access_denied", patient_id=case.patient_id, object_type="note", object_id=note_id,
                   reason="no such note" if note is None else f"not visible ({note.visibility.value})")
    if request.method == "POST":
        form = NoteEditForm()
        if not form.validate_on_submit():
            return _note_page(case, access, note, form, status=400)
        try:
            if not access.may_edit_own_notes:
                raise CaseRuleBroken(_("Only the coordinator and members of the care team write in a case."))
            services.edit_note(note, current_user, g.membership, form.note_body.data)
        except CaseRuleBroken as exc:
            db.session.rollback()
            flash(str(exc), "error")
            return _note_page(case, access, note, form, status=400)
        db.session.commit()
        flash(_("The note is changed; the earlier text is kept."), "success")
        return redirect(url_for("cases.note_edit", case_id=case.id, note_id=note_id), code=303)
    return _note_page(case, access, note, NoteEditForm(note_body=note.body))


def _note_page(case: Case, access: CaseAccess, note: Note, form: NoteEditForm, *, status: int = 200):
    versions = services.note_versions(note)
    log_read(case, access, "note", object_type="note", object_id=note.id)
    html = render_template("cases/notes_edit.html", case=case, access=access, note=note, versions=versions,
                           form=form,
                           discipline_text=_discipline_text([note]))
    db.session.commit()
    return html, status


# --- next actions ---------------------------------------------------------------------------------------

def _owners(case: Case) -> list[tuple[Membership, str]]:
    """Who can own a next step: the network's active coordinators and the active care-team members."""
    owners: dict[int, tuple[Membership, str]] = {}
    for membership in db.session.scalars(select(Membership).where(
            Membership.role == Role.COORDINATOR, Membership.is_active.is_(True)).order_by(Membership.id)):
        owners[membership.id] = (membership, _("%(name)s (coordinator)", name=membership.user.full_name))
    for row in db.session.scalars(select(CareTeamMember).where(
            CareTeamMember.case_id == case.id, CareTeamMember.status == TeamStatus.ACTIVE).order_by(CareTeamMember.id)):
        if row.membership.is_active and row.membership_id not in owners:
            name = row.membership.user.full_name
            owners[row.membership_id] = (row.membership, f"{name} ({row.role_in_case})" if row.role_in_case else name)
    return list(owners.values())


@bp.route("/<int:case_id>/acties", methods=["GET", "POST"])
@login_required
@require_membership()
@patient_data
def actions(case_id: int):
    case, access = load_case(case_id)
    owners = _owners(case)
    form = ActionForm(owners=owners)
    if request.method == "GET" and g.membership.id in {m.id for m, _label in owners}:
        form.owner.data = g.membership.id
    if request.method == "POST":
        refusal = access.write_refusal()
        if refusal is not None:
            flash(refusal, "error")
            return _actions_page(case, access, form, status=400)
        if not form.validate_on_submit():
            return _actions_page(case, access, form, status=400)
        owner = next(m for m, _label in owners if m.id == form.owner.data)
        try:
            services.add_action(case, current_user, description=form.description.data, owner=owner,
                                due_on=form.due_on.data)
        except CaseRuleBroken as exc:
            db.session.rollback()
            flash(str(exc), "error")
            return _actions_page(case, access, form, status=400)
        db.session.commit()
        flash(_("The next step is added."), "success")
        return redirect(url_for("cases.actions", case_id=case.id), code=303)
    return _actions_page(case, access, form)


def _actions_page(case: Case, access: CaseAccess, form: ActionForm, *, status: int = 200):
    rows = services.actions_of(case)
    log_read(case, access, "actions")
    html = render_template("cases/actions.html", case=case, access=access, form=form, rows=rows,
                           today=local_today())
    db.session.commit()
    return html, status


@bp.route("/<int:case_id>/acties/<int:action_id>/klaar", methods=["POST"])
@login_required
@require_membership()
@patient_data
def action_done(case_id: int, action_id: int):
    case, access = load_case(case_id)
    row = db.session.scalar(select(CaseAction).where(CaseAction.id == action_id, CaseAction.case_id == case.id))
    if row is None:
        audit.deny("case.action_access_denied", patient_id=case.patient_id, object_type="case_action",
                   object_id=action_id, reason="no such action")
    back = redirect(url_for("cases.actions", case_id=case.id), code=303)
    if row.done_at is not None:
        flash(_("This step was done already."), "info")
        return back
    if not access.may_complete_action(row):
        audit.record("case_action.done_refused", AuditAction.UPDATE, outcome=AuditOutcome.DENIED,
                     patient_id=case.patient_id, object_type="case_action", object_id=row.id,
                     reason="not the owner or the coordinator")
        db.session.commit()
        flash(_("Only the owner of this step or the coordinator marks it done."), "error")
        return back
    services.complete_action(row, current_user)
    db.session.commit()
    flash(_("The step is marked done."), "success")
    return back
