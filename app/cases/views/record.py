"""Case routes: the shared record's sections. One section's history (every version, who, when, why) and
updating a section. Both go through the door twice: load_case (may this viewer see the case, and the
section's consent part) and the section abilities of CaseAccess (may_see_section, may_edit_section)."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from app.cases import bp
from app.cases.access import CaseAccess
from app.cases.models import Case
from app.cases.views._common import load_case, log_read
from app.cases.views.case import users_by_id
from app.core import audit
from app.core.audit import patient_data
from app.core.pagination import paginate
from app.core.security import require_membership
from app.extensions import db
from app.records import services as record_services
from app.records.display import shown_fields
from app.records.forms import content_of, section_form
from app.records.models import SECTION_PARTS, RecordSectionVersion, RecordSource, SectionKey, section_spec

HISTORY_PER_PAGE = 10


def source_label(source: RecordSource) -> str:
    return {RecordSource.REFERRAL: _("From the referral"), RecordSource.INTAKE: _("From the intake"),
            RecordSource.MEMBER: _("Updated by the care team"),
            RecordSource.COORDINATOR: _("Updated by the coordinator"),
            RecordSource.MIGRATION: _("Carried over from earlier records")}.get(source, str(source))


def _section_key(key: str) -> SectionKey:
    try:
        return SectionKey(key)
    except ValueError:
        abort(404)


def _load(case_id: int, key: str) -> tuple[Case, CaseAccess, SectionKey]:
    section_key = _section_key(key)
    case, access = load_case(case_id, part=SECTION_PARTS[section_key])
    if not access.may_see_section(section_key):  # load_case asked the part; the section rule is the same door
        audit.deny("case.access_denied", patient_id=case.patient_id, object_type="record_section",
                   object_id=case.id, reason=f"section {section_key}")
    return case, access, section_key


@bp.route("/<int:case_id>/dossier/<key>", methods=["GET"])
@login_required
@require_membership()
@patient_data
def record_section(case_id: int, key: str):
    """Every version of one section, newest first, paginated."""
    case, access, section_key = _load(case_id, key)
    spec = section_spec(section_key)
    page = paginate(select(RecordSectionVersion).where(RecordSectionVersion.patient_id == case.patient_id,
                                                       RecordSectionVersion.key == section_key)
                    .order_by(RecordSectionVersion.version.desc()), per_page=HISTORY_PER_PAGE)
    users = users_by_id(v.written_by_id for v in page.items)
    log_read(case, access, "record_history", object_type="record_section")
    html = render_template("cases/record_history.html", case=case, access=access, spec=spec, page=page,
                           users=users, shown_fields=shown_fields, source_label=source_label)
    db.session.commit()
    return html


@bp.route("/<int:case_id>/dossier/<key>/bijwerken", methods=["GET", "POST"])
@login_required
@require_membership()
@patient_data
def record_section_edit(case_id: int, key: str):
    """Update a section: a new version with a reason; a section changed meanwhile is not overwritten."""
    case, access, section_key = _load(case_id, key)
    if not access.may_edit_section(section_key):
        audit.deny("case.access_denied", patient_id=case.patient_id, object_type="record_section",
                   object_id=case.id, reason=f"edit section {section_key}")
    spec = section_spec(section_key)
    current = record_services.sections_of(case.patient_id, [section_key]).get(section_key)
    current_version = current.version if current is not None else 0
    status = 200
    if request.method == "POST":
        form = section_form(spec, None, current_version, formdata=request.form)
        if form.validate_on_submit():
            try:
                based_on = int(form.based_on_version.data or 0)
            except ValueError:
                based_on = -1
            try:
                written = record_services.write_section(
                    case.patient_id, section_key, content_of(spec, form), actor=current_user,
                    reason=form.reason.data, case_id=case.id, expected_version=based_on,
                    source=RecordSource.COORDINATOR if access.as_coordinator else RecordSource.MEMBER)
            except record_services.StaleSection as stale:
                db.session.rollback()
                flash(_("Someone else changed this section meanwhile (now version %(version)d). Your text is "
                        "kept below; compare it with the current version and save again.",
                        version=stale.current_version), "error")
                current = record_services.sections_of(case.patient_id, [section_key]).get(section_key)
                form.based_on_version.data = str(current.version if current is not None else 0)
                status = 409
            except ValueError:
                db.session.rollback()
                flash(_("Please correct the fields marked below; everything else you entered is kept."), "error")
                status = 400
            else:
                db.session.commit()
                if written is None:
                    flash(_("Nothing changed: the section already says this."), "info")
                else:
                    flash(_("Saved as version %(version)d. The team sees that it changed.",
                            version=written.version), "success")
                return redirect(url_for("cases.detail", case_id=case.id, _anchor=f"section-{section_key.value}"),
                                code=303)
        else:
            status = 400
    else:
        form = section_form(spec, current.content if current is not None else None, current_version)
    log_read(case, access, "record_edit", object_type="record_section",
             object_id=current.id if current is not None else None)
    html = render_template("cases/record_edit.html", case=case, access=access, spec=spec, form=form,
                           current=current, current_fields=shown_fields(spec, current.content) if current else [])
    db.session.commit()
    return html, status
