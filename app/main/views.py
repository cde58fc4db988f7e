"""Start page, language switch, /healthz and the development-only mail outbox."""
from __future__ import annotations

from flask import abort, current_app, g, jsonify, redirect, render_template, request, session, url_for
from flask_login import current_user
from sqlalchemy import func, select, text

from app.auth.models import ReferrerKind
from app.cases.attention import admin_figures, coordinator_figures, member_figures, referrer_figures
from app.cases.start_page import open_proposals_for_user, overdue_actions_for_user
from app.core.audit_integrity import chain_alarm
from app.core.jobs import Outbox
from app.core.pagination import paginate
from app.core.tenancy import network_context
from app.extensions import db
from app.gp_portal.services import practice as practice_links
from app.main import bp
from app.networks.models import Role
from app.networks.services import memberships as network_services
from app.palliative import services as palliative_services
from app.patient_portal import services as portal_services
from app.referrals import services as referral_services


@bp.route("/")
def index():
    if not current_user.is_authenticated:
        return render_template("main/landing.html")
    memberships = network_services.own_memberships(current_user.id)
    if not memberships and current_user.gp_profile is None and portal_services.has_portal_account(current_user):
        return redirect(url_for("patient_portal.index"))  # a patient (or relative): their own record
    referrer = _referrer_context(current_user.gp_profile)
    return render_template("main/index.html", memberships=memberships, referrer=referrer,
                           waiting=_waiting_per_network(memberships),
                           overdue_actions=overdue_actions_for_user(current_user),
                           open_proposals=open_proposals_for_user(current_user),
                           follow_ups=palliative_services.follow_ups_for_user(current_user.id),
                           admin=admin_figures() if current_user.is_platform_admin else None)


MAX_NETWORKS_WITH_FIGURES = 5  # one query per network: a person in many networks sees the first five's figures


def _waiting_per_network(memberships) -> dict[int, list]:
    """Per membership, what needs the user now in that network (the network home's figures, the non-zero ones),
    read inside that network's scope so the start page answers without opening each network."""
    waiting = {}
    for membership in memberships[:MAX_NETWORKS_WITH_FIGURES]:
        previous = g.get("network")
        g.network = membership.network  # the figures' links are built for this network (url_defaults)
        try:
            with network_context(membership.network_id):
                figures = (coordinator_figures() if membership.role is Role.COORDINATOR
                           else member_figures(membership))
        finally:
            g.network = previous
        waiting[membership.id] = [figure for figure in figures if figure.count]
    return waiting


def _referrer_context(profile) -> dict | None:
    """What the start page shows a GP or practice nurse: practice links (pending and confirmed)."""
    if profile is None:
        return None
    questions, questions_total = referral_services.questions_waiting_for(current_user)
    waiting = {"questions": questions, "questions_total": questions_total, **referrer_figures(current_user)}
    if profile.kind is ReferrerKind.POH:
        return {"gps": referral_services.gps_for_referrer(current_user), "pending": [], "nurses": [], **waiting}
    return {"gps": [], "pending": practice_links.links_of_gp(profile, confirmed=False),
            "nurses": practice_links.links_of_gp(profile, confirmed=True), **waiting}


@bp.route("/locale", methods=["POST"])
def set_locale():
    locale = request.form.get("locale")
    if locale in current_app.config["LANGUAGES"]:
        session["locale"] = locale
        if current_user.is_authenticated:
            current_user.locale = locale
            db.session.commit()
    target = request.form.get("next") or "/"
    if not target.startswith("/") or target.startswith("//"):
        target = "/"
    return redirect(target)


@bp.route("/healthz")
def healthz():
    checks = {"database": "ok", "redis": "not configured"}
    healthy = True
    try:
        db.session.execute(text("SELECT 1"))
        checks["outbox_pending"] = db.session.scalar(
            select(func.count()).select_from(Outbox).where(Outbox.status == "pending"))
        checks["outbox_failed"] = db.session.scalar(
            select(func.count()).select_from(Outbox).where(Outbox.status == "failed"))
        alarm = chain_alarm()
        checks["audit_chain"] = "ok" if alarm is None else f"broken at row {alarm.broken_at_id}"
        healthy = alarm is None
    except Exception:
        checks["database"] = "unavailable"
        healthy = False
    if current_app.config.get("REDIS_URL"):
        try:
            from app.core.jobs import get_queue
            queue = get_queue()
            queue.connection.ping()
            checks["redis"] = "ok"
            checks["failed_jobs"] = queue.failed_job_registry.count
        except Exception:
            checks["redis"] = "unavailable"
            healthy = False
    return jsonify(status="ok" if healthy else "unavailable", checks=checks), 200 if healthy else 503


@bp.route("/dev/mail")
def dev_mail():
    """Development only: the mail the app would have sent, so a demo needs no mail server."""
    if current_app.config["APP_ENV"] != "development":
        abort(404)
    page = paginate(select(Outbox).where(Outbox.kind == "mail").order_by(Outbox.id.desc()))
    return render_template("main/dev_mail.html", page=page)


@bp.route("/favicon.ico")
def favicon():
    return redirect(url_for("static", filename="favicon.svg"))
