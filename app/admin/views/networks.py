"""Platform administration pages."""
from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required
from sqlalchemy import func, or_, select

from app.admin import bp
from app.admin.forms import EraseForm, NetworkForm
from app.admin.services import erase
from app.admin.services import networks as services
from app.auth.models import User
from app.auth.services import deactivate_user, reset_mfa
from app.core import audit
from app.core.audit import AuditAction
from app.core.jobs import DROPPED, Outbox
from app.core.mail import MERGED
from app.core.pagination import paginate
from app.core.security import require_platform_admin
from app.directory.services import pending_applications
from app.extensions import db
from app.networks.models import Network


@bp.route("/")
@login_required
@require_platform_admin
def networks():
    page = paginate(select(Network).order_by(Network.name))
    return render_template("admin/networks.html", page=page, pending=pending_applications())


@bp.route("/networks/new", methods=["GET", "POST"])
@login_required
@require_platform_admin
def create_network():
    form = NetworkForm()
    if form.validate_on_submit():
        try:
            network = services.create_network(
                name=form.name.data, slug=form.slug.data, region=form.region.data or "",
                coordinator_name=form.coordinator_name.data, coordinator_email=form.coordinator_email.data,
                base_url=current_app.config["BASE_URL"])
        except services.NetworkError as exc:
            form.slug.errors.append(str(exc))
        else:
            db.session.commit()
            flash(_("Network %(name)s is created; the coordinator is invited.", name=network.name), "success")
            return redirect(url_for("admin.networks"))
    return render_template("admin/network_form.html", form=form)


@bp.route("/users")
@login_required
@require_platform_admin
def users():
    q = (request.args.get("q") or "").strip()[:100]
    statement = select(User).order_by(User.email)
    if q:
        statement = statement.where(or_(func.lower(User.email).like(f"%{q.lower()}%"),
                                        func.lower(User.full_name).like(f"%{q.lower()}%")))
    return render_template("admin/users.html", page=paginate(statement), q=q)


@bp.route("/users/<int:user_id>/<any(deactivate, 'reset-mfa'):operation>", methods=["GET", "POST"])
@login_required
@require_platform_admin
def user_operation(user_id: int, operation: str):
    """GET asks for confirmation; POST deactivates the account or resets its second factor."""
    user = db.get_or_404(User, user_id)
    if request.method == "POST":
        if operation == "deactivate":
            deactivate_user(user)
            message = _("%(email)s is deactivated and signed out everywhere.", email=user.email)
        else:
            reset_mfa(user)
            message = _("Two-step verification of %(email)s is reset.", email=user.email)
        audit.record(f"user.{operation.replace('-', '_')}", AuditAction.UPDATE, object_type="user",
                     object_id=user.id)
        db.session.commit()
        flash(message, "success")
        return redirect(url_for("admin.users"))
    return render_template("admin/user_confirm.html", user=user, operation=operation)


@bp.route("/jobs")
@login_required
@require_platform_admin
def jobs():
    """Failed and waiting work: outbox rows and, with Redis, RQ's failed-job registry."""
    failed_rows = paginate(select(Outbox).where(Outbox.status.not_in(("done", DROPPED, MERGED)))
                           .order_by(Outbox.id.desc()))
    rq_failed, redis_error = [], False
    if current_app.config.get("REDIS_URL"):
        try:
            from app.core.jobs import get_queue
            registry = get_queue().failed_job_registry
            for job in registry.get_job_ids(0, 49):
                fetched = registry.get_queue().fetch_job(job)
                if fetched is not None:
                    rq_failed.append(fetched)
        except Exception:
            redis_error = True
    return render_template("admin/jobs.html", page=failed_rows, rq_failed=rq_failed, redis_error=redis_error)


@bp.route("/patients/wissen", methods=["GET", "POST"])
@login_required
@require_platform_admin
def erase_patient():
    """Erase one patient of one network for a legal request. The admin types ids and the legal reference
    and confirms by typing the patient number again; the result shows counts only, never patient data."""
    form = EraseForm()
    if form.validate_on_submit():
        try:
            result = erase.erase_patient(network_id=form.network_id.data, patient_id=form.patient_id.data,
                                         legal_reference=form.legal_reference.data)
        except erase.EraseError as exc:
            db.session.rollback()
            form.patient_id.errors.append(str(exc))
        else:
            db.session.commit()
            erase.remove_files(result)
            network = db.session.get(Network, result.network_id)
            return render_template("admin/erase_done.html", result=result, network=None, network_name=network.name)
    return render_template("admin/erase.html", form=form,
                           retention_years=current_app.config["CASE_RETENTION_YEARS"]), 400 if form.errors else 200
