"""Case routes: the patient's consents (record, withdraw, the signed document), and the printable overview and
CSV export for the patient: the consents and who looked at their data (the NEN 7513 access log).
Coordinators only: load_case(..., need="may_record_consent")."""
from __future__ import annotations

import csv
import io
from datetime import date, datetime, time, timedelta

from flask import Response, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.cases import bp, services
from app.cases.forms import ConsentForm, WithdrawForm
from app.cases.models import Case, Consent
from app.cases.services import CaseRuleBroken
from app.cases.views._common import load_case, log_read
from app.cases.views.case import users_by_id
from app.cases.views.team import record_consent_from_form
from app.core import audit
from app.core.audit import ACTION_LABELS, OUTCOME_LABELS, ROLE_LABELS, AuditAction, AuditEvent, patient_data
from app.core.audit_words import event_label
from app.core.dates import local_today
from app.core.db import utcnow
from app.core.security import require_membership
from app.core.storage import PDF, send_stored
from app.extensions import db
from app.networks.models import Membership, Role
from app.networks.services.members import safe_cell

OVERVIEW_LIMIT = 200  # access-log rows on the printable page; the CSV export has them all
EXPORT_LIMIT = 100_000

def _consents(case: Case) -> list[Consent]:
    """The consents of the case with their members and who obtained / withdrew them (a few queries in all)."""
    return list(db.session.scalars(
        select(Consent).where(Consent.case_id == case.id)
        .options(selectinload(Consent.members), selectinload(Consent.obtained_by),
                 selectinload(Consent.withdrawn_by))
        .order_by(Consent.obtained_at, Consent.id)))


def _member_choices() -> list[tuple[int, str]]:
    members = db.session.scalars(select(Membership).where(Membership.role == Role.MEMBER,
                                                          Membership.is_active.is_(True))
                                 .options(selectinload(Membership.disciplines)))
    rows = [(m.id, f"{m.user.full_name}, {services.discipline_names(m)}") for m in members]
    return sorted(rows, key=lambda row: row[1].lower())


@bp.route("/<int:case_id>/toestemming", methods=["GET", "POST"])
@login_required
@require_membership()
@patient_data
def consents(case_id: int):
    case, access = load_case(case_id, need="may_record_consent")
    form = ConsentForm()
    form.members.choices = _member_choices()
    status = 200
    if form.is_submitted():
        status = 400
        fields_ok = form.validate()
        if form.require_consent() and fields_ok:
            try:
                consent = record_consent_from_form(case, form, list(form.members.data))
            except CaseRuleBroken as exc:
                db.session.rollback()
                flash(str(exc), "error")
            else:
                if consent is not None:
                    db.session.commit()
                    flash(_("The consent is recorded. It takes effect now."), "success")
                    return redirect(url_for("cases.consents", case_id=case.id))
                db.session.rollback()
    listed = _consents(case)
    log_read(case, access, "consents")
    html = render_template("cases/consents.html", case=case, access=access, patient=case.patient,
                           consents=listed, form=form, today=local_today())
    db.session.commit()
    return html, status


def _consent_of(case: Case, consent_id: int) -> Consent:
    consent = db.session.scalar(select(Consent).where(Consent.id == consent_id, Consent.case_id == case.id)
                                .options(selectinload(Consent.members)))
    if consent is None:
        audit.deny("case.access_denied", patient_id=case.patient_id, object_type="consent", object_id=consent_id,
                   reason="no such consent in this case")
    return consent


@bp.route("/<int:case_id>/toestemming/<int:consent_id>/intrekken", methods=["GET", "POST"])
@login_required
@require_membership()
@patient_data
def consent_withdraw(case_id: int, consent_id: int):
    """GET asks for confirmation and a reason; POST withdraws. Access ends at the covered members' next request."""
    case, access = load_case(case_id, need="may_record_consent")
    consent = _consent_of(case, consent_id)
    if consent.withdrawn_at is not None:
        flash(_("This consent was withdrawn already."), "info")
        return redirect(url_for("cases.consents", case_id=case.id))
    form = WithdrawForm()
    status = 200
    if form.is_submitted():
        status = 400
        if form.validate():
            try:
                services.withdraw_consent(consent, current_user, form.reason.data or "")
            except CaseRuleBroken as exc:
                db.session.rollback()
                flash(str(exc), "error")
            else:
                db.session.commit()
                flash(_("The consent is withdrawn. The people it covered no longer see what it shared."), "success")
                return redirect(url_for("cases.consents", case_id=case.id))
        consent = _consent_of(case, consent_id)
    log_read(case, access, "consent", object_type="consent", object_id=consent.id)
    html = render_template("cases/consent_withdraw.html", case=case, access=access, patient=case.patient,
                           consent=consent, form=form)
    db.session.commit()
    return html, status


@bp.route("/<int:case_id>/toestemming/<int:consent_id>/document", methods=["GET"])
@login_required
@require_membership()
@patient_data
def consent_document(case_id: int, consent_id: int):
    case, access = load_case(case_id, need="may_record_consent")
    consent = _consent_of(case, consent_id)
    path = consent.stored_file()  # None without a document, for a bad stored name or a missing file
    if path is None:
        db.session.commit()
        abort(404)
    audit.record("consent.document_downloaded", AuditAction.EXPORT, patient_id=case.patient_id,
                 object_type="consent", object_id=consent.id, basis=access.basis[:60])
    db.session.commit()
    return send_stored(path, mimetype=PDF, download_name=consent.document_name or f"toestemming-{consent.id}.pdf")


# --- the overview for the patient: consents and who looked ----------------------------------------------------

def _period() -> tuple[date | None, date | None]:
    """?van=YYYY-MM-DD&tot=YYYY-MM-DD; anything unreadable is ignored."""
    def read(name: str) -> date | None:
        try:
            return date.fromisoformat(request.args.get(name, ""))
        except ValueError:
            return None
    return read("van"), read("tot")


def _access_log(case: Case, *, limit: int, since: date | None = None, until: date | None = None):
    """The NEN 7513 rows about this patient in this network, newest first: (rows, users by id, more?)."""
    statement = select(AuditEvent).where(AuditEvent.network_id == case.network_id,
                                         AuditEvent.patient_id == case.patient_id)
    if since is not None:
        statement = statement.where(AuditEvent.occurred_at >= datetime.combine(since, time.min))
    if until is not None:
        statement = statement.where(AuditEvent.occurred_at < datetime.combine(until + timedelta(days=1), time.min))
    rows = list(db.session.scalars(statement.order_by(AuditEvent.id.desc()).limit(limit + 1)))
    users = users_by_id({row.user_id for row in rows[:limit]} | {row.on_behalf_of_user_id for row in rows[:limit]})
    return rows[:limit], users, len(rows) > limit


def _labels() -> dict:
    return {"event_label": event_label, "action_labels": ACTION_LABELS, "outcome_labels": OUTCOME_LABELS,
            "role_label": lambda role: str(ROLE_LABELS.get(role, role or "\u2013"))}


@bp.route("/<int:case_id>/toestemming/overzicht", methods=["GET"])
@login_required
@require_membership()
@patient_data
def consent_overview(case_id: int):
    """A printable page for the patient: their consents and who looked at their data."""
    case, access = load_case(case_id, need="may_record_consent")
    since, until = _period()
    log_read(case, access, "consent_overview")
    listed = _consents(case)
    rows, users, more = _access_log(case, limit=OVERVIEW_LIMIT, since=since, until=until)
    html = render_template("cases/consent_overview.html", case=case, access=access, patient=case.patient,
                           consents=listed, rows=rows, users=users, more=more, limit=OVERVIEW_LIMIT, since=since,
                           until=until, printed_at=utcnow(), network=g.network, **_labels())
    db.session.commit()
    return html


@bp.route("/<int:case_id>/toestemming/export.csv", methods=["GET"])
@login_required
@require_membership()
@patient_data
def consent_export(case_id: int):
    """The overview as CSV: UTF-8 with BOM, semicolons, no cell a spreadsheet would run as a formula."""
    case, access = load_case(case_id, need="may_record_consent")
    since, until = _period()
    audit.record("case.consent_exported", AuditAction.EXPORT, patient_id=case.patient_id, object_type="case",
                 object_id=case.id, basis=access.basis[:60])
    listed = _consents(case)
    rows, users, more = _access_log(case, limit=EXPORT_LIMIT, since=since, until=until)
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")

    def write(values) -> None:
        writer.writerow([safe_cell(v) for v in values])

    patient = case.patient
    write([_("Patient"), patient.full_name, _("Date of birth"), patient.date_of_birth.isoformat()])
    write([])
    write([_("Consents")])
    write([_("Obtained at"), _("Obtained by"), _("How"), _("Purpose"), _("Who"), _("Parts"), _("Valid until"),
           _("Withdrawn at"), _("Withdrawn by"), _("Reason for withdrawal")])
    for consent in listed:
        write([_iso(consent.obtained_at), consent.obtained_by.full_name, consent.method.label, consent.purpose,
               ", ".join(m.membership.user.full_name for m in consent.members),
               ", ".join(part.label for part in consent.parts),
               consent.valid_until.isoformat() if consent.valid_until else "", _iso(consent.withdrawn_at),
               consent.withdrawn_by.full_name if consent.withdrawn_by else "", consent.withdrawal_reason])
    write([])
    write([_("Who looked at or changed the data")])
    write([_("When (UTC)"), _("Who"), _("Role"), _("What"), _("Action"), _("Outcome")])
    labels = _labels()
    for row in rows:
        user = users.get(row.user_id)
        write([_iso(row.occurred_at), user.full_name if user else "", labels["role_label"](row.user_role),
               event_label(row.event), str(ACTION_LABELS.get(row.action, row.action)),
               str(OUTCOME_LABELS.get(row.outcome, row.outcome))])
    if more:
        write([_("Only the latest %(n)d rows are included.", n=EXPORT_LIMIT)])
    db.session.commit()
    filename = f"toestemming-en-inzage-{case.id}-{utcnow():%Y-%m-%d}.csv"
    return Response(buffer.getvalue().encode("utf-8"), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def _iso(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else ""
