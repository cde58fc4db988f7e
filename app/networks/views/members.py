"""Member self-service and administration: profile, training records, CSV import and export."""
from __future__ import annotations

from flask import Response, abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import login_required
from sqlalchemy import select

from app.core.db import utcnow
from app.core.i18n import current_locale
from app.core.security import require_membership
from app.extensions import db
from app.networks import bp
from app.networks.forms.members import MemberImportForm, MemberProfileForm, TrainingRecordForm
from app.networks.models import Membership, Role, TrainingRecord
from app.networks.services import member_import
from app.networks.services import members as member_services
from app.networks.services import memberships as services


def _manageable_membership_or_404(membership_id: int) -> Membership:
    """The membership, when the viewer is a coordinator or that member; 404 for everyone else."""
    member = db.first_or_404(select(Membership).where(Membership.id == membership_id))
    if g.membership.role is not Role.COORDINATOR and member.id != g.membership.id:
        abort(404)
    return member


def _discipline_choices() -> list[tuple[int, str]]:
    return [(d.id, d.name(current_locale())) for d in db.session.scalars(services.disciplines_query())]


@bp.route("/members/<int:membership_id>/edit", methods=["GET", "POST"])
@login_required
@require_membership()
def member_edit(membership_id: int):
    member = _manageable_membership_or_404(membership_id)
    is_coordinator = g.membership.role is Role.COORDINATOR
    form = MemberProfileForm(data=member_services.profile_values(member))
    form.disciplines.choices = _discipline_choices()
    if not is_coordinator:
        del form.role  # a member cannot promote themself, whatever the POST says
    if form.validate_on_submit():
        values = {name: form[name].data for name in member_services.PROFILE_FIELDS}
        values.update(agb_code=values["agb_code"] or None, big_number=values["big_number"] or None)
        try:
            changed = member_services.update_member_profile(
                membership=member, values=values, discipline_ids=form.disciplines.data,
                role=Role(form.role.data) if is_coordinator else None)
        except member_services.MemberProfileError as exc:
            form.role.errors.append(str(exc))
        else:
            db.session.commit()
            flash(_("The profile is saved.") if changed else _("Nothing changed."), "success")
            return redirect(url_for("networks.member_detail", membership_id=member.id))
    return render_template("networks/member_edit.html", form=form, member=member)


@bp.route("/members/<int:membership_id>/training/new", methods=["GET", "POST"])
@login_required
@require_membership()
def training_add(membership_id: int):
    member = _manageable_membership_or_404(membership_id)
    form = TrainingRecordForm()
    if form.validate_on_submit():
        member_services.add_training_record(
            membership=member, course=form.course.data, hours=form.hours.data,
            completed_on=form.completed_on.data, valid_until=form.valid_until.data)
        db.session.commit()
        flash(_("The training is added."), "success")
        return redirect(url_for("networks.member_detail", membership_id=member.id, _anchor="training"))
    return render_template("networks/training_form.html", form=form, member=member)


@bp.route("/members/<int:membership_id>/training/<int:training_id>/delete", methods=["GET", "POST"])
@login_required
@require_membership()
def training_delete(membership_id: int, training_id: int):
    """GET asks for confirmation; POST removes the record."""
    member = _manageable_membership_or_404(membership_id)
    record = db.first_or_404(select(TrainingRecord).where(
        TrainingRecord.id == training_id, TrainingRecord.membership_id == member.id))
    if request.method == "POST":
        member_services.delete_training_record(record)
        db.session.commit()
        flash(_("The training is removed."), "success")
        return redirect(url_for("networks.member_detail", membership_id=member.id, _anchor="training"))
    return render_template("networks/training_delete.html", member=member, record=record)


@bp.route("/members/import", methods=["GET", "POST"])
@login_required
@require_membership(Role.COORDINATOR)
def members_import():
    """Upload a CSV and see every row checked; nothing is written here."""
    form = MemberImportForm()
    if form.validate_on_submit():
        raw = form.file.data.stream.read(member_import.MAX_BYTES + 1)
        try:
            if len(raw) > member_import.MAX_BYTES:
                raise member_import.ImportFileError(_("The file is larger than 2 MB. Split it into smaller files."))
            preview = member_import.build_preview(raw, locale=current_locale())
        except member_import.ImportFileError as exc:
            form.file.errors.append(str(exc))
        else:
            token = member_import.store_upload(g.network.id, raw)
            return render_template("networks/members_import_preview.html", preview=preview, token=token)
    return render_template("networks/members_import.html", form=form)


@bp.route("/members/import/confirm", methods=["POST"])
@login_required
@require_membership(Role.COORDINATOR)
def members_import_confirm():
    """Import the stored file: all rows when every row is valid, or only the valid rows when asked."""
    token = request.form.get("token", "")
    path = member_import.upload_path(g.network.id, token)
    if path is None:
        flash(_("The uploaded file is no longer available. Please upload it again."), "error")
        return redirect(url_for("networks.members_import"))
    only_valid = request.form.get("mode") == "valid"
    try:
        preview = member_import.build_preview(path.read_bytes(), locale=current_locale())
    except member_import.ImportFileError as exc:
        flash(str(exc), "error")
        return redirect(url_for("networks.members_import"))
    # Checked again: the network may have changed since the preview.
    if (preview.invalid_count and not only_valid) or not preview.valid_rows:
        flash(_("Nothing was imported: correct the rows with errors, or choose to import only the valid rows."),
              "error")
        return render_template("networks/members_import_preview.html", preview=preview, token=token)
    try:
        created = member_import.import_members(network=g.network, rows=preview.valid_rows,
                                               skipped=preview.invalid_count, base_url=current_app.config["BASE_URL"])
    except services.MembershipError as exc:
        db.session.rollback()
        flash(_("Nothing was imported: %(reason)s", reason=str(exc)), "error")
        return redirect(url_for("networks.members_import"))
    db.session.commit()
    member_import.discard_upload(path)
    flash(ngettext("%(num)d member is invited.", "%(num)d members are invited.", len(created)) + " "
          + ngettext("%(num)d row was skipped.", "%(num)d rows were skipped.", preview.invalid_count), "success")
    return redirect(url_for("networks.members"))


@bp.route("/members/export.csv")
@login_required
@require_membership(Role.COORDINATOR)
def members_export():
    body = member_services.export_members_csv()
    db.session.commit()  # the audit row of the export
    filename = f"members-{g.network.slug}-{utcnow():%Y-%m-%d}.csv"
    return Response(body.encode("utf-8"), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{filename}"'})
