"""GP and practice-nurse self-registration and email verification (/verwijzer/registreren, /verwijzer/email/...)."""
from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.auth import services as auth_services
from app.auth.models import ReferrerKind, TokenPurpose
from app.core.security import hash_token, password_problem
from app.extensions import db, limiter
from app.gp_portal import bp
from app.gp_portal.forms import RegistrationForm
from app.gp_portal.services import registration
from app.gp_portal.views._common import user_key

# The verification link's token moves into the session (as its hash) on the first GET; see auth.views.
VERIFY_SESSION_KEY = "link_token_hash:verify_email"


def _email_key() -> str:
    return "register:" + (request.form.get("email") or "").strip().lower()


def _agb_key() -> str:
    return "register-agb:" + (request.form.get("agb_code") or "").strip()[:20]


@bp.route("/registreren", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["REGISTRATION_LIMIT_PER_IP"], methods=["POST"])
# At most a few mails an hour to one address, whether or not it has an account (same limit for both).
@limiter.limit("5 per hour", methods=["POST"], key_func=_email_key)
# The same for the owner of an AGB code (told by mail when someone registers with it); only answered
# registrations count, so typing mistakes in the code do not lock it.
@limiter.limit("5 per hour", methods=["POST"], key_func=_agb_key,
               deduct_when=lambda response: response.status_code == 200)
def register():
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = RegistrationForm()
    if form.validate_on_submit():
        email = form.email.data.strip().lower()
        forbidden = (email.split("@")[0], *form.full_name.data.split())
        if problem := password_problem(form.password.data, forbidden_words=forbidden):
            form.password.errors.append(problem)
        else:
            data = registration.Registration(
                full_name=form.full_name.data, email=email, kind=ReferrerKind(form.kind.data),
                agb_code=form.agb_code.data, practice_name=form.practice_name.data, city=form.city.data,
                password=form.password.data, practice_agb=form.practice_agb.data or None,
                phone=form.phone.data or "")
            registration.register(data)
            db.session.commit()
            # The same page whether the address or AGB code was new or known (no account enumeration).
            return render_template("gp_portal/check_mail.html")
    return render_template("gp_portal/register.html", form=form), 400 if form.errors else 200


@bp.route("/email/<token>")
def verify_email_link(token: str):
    """The mailed link: its token moves into the session (as a hash) and the browser goes to /email."""
    try:
        row = auth_services.peek_token(token, TokenPurpose.VERIFY_EMAIL)
        if not row.user.active:
            raise auth_services.TokenInvalid
    except auth_services.TokenInvalid:
        return render_template("gp_portal/verify_invalid.html"), 404
    session[VERIFY_SESSION_KEY] = hash_token(token)
    return redirect(url_for("gp_portal.verify_email"))


@bp.route("/email", methods=["GET", "POST"])
def verify_email():
    """GET shows a button, POST uses the link: a mail scanner opening links confirms nothing."""
    token_hash = session.get(VERIFY_SESSION_KEY)
    try:
        if not isinstance(token_hash, str) or not token_hash:
            raise auth_services.TokenInvalid
        row = auth_services.peek_token(token_hash, TokenPurpose.VERIFY_EMAIL, hashed=True)
        if not row.user.active:
            raise auth_services.TokenInvalid
    except auth_services.TokenInvalid:
        return render_template("gp_portal/verify_invalid.html"), 404
    if request.method == "POST":
        session.pop(VERIFY_SESSION_KEY, None)
        try:
            registration.verify_email(token_hash, hashed=True)
        except auth_services.TokenInvalid:  # used by a concurrent request in the meantime
            db.session.rollback()
            return render_template("gp_portal/verify_invalid.html"), 404
        db.session.commit()
        flash(_("Your email address is confirmed."), "success")
        if current_user.is_authenticated:
            return redirect(url_for("main.index"))
        flash(_("Sign in and set up two-step verification to continue."), "info")
        return redirect(url_for("auth.login"))
    return render_template("gp_portal/verify_email.html", user=row.user)


@bp.route("/email/opnieuw", methods=["POST"])
@login_required
@limiter.limit(lambda: current_app.config["VERIFY_RESEND_LIMIT"], methods=["POST"], key_func=user_key)
def resend_verification():
    user = current_user._get_current_object()
    if user.gp_profile is None:
        abort(404)
    if user.email_verified_at is None:
        registration.send_verification(user)
        db.session.commit()
        flash(_("We sent a new link to %(email)s. It works once, for 48 hours.", email=user.email), "info")
    else:
        flash(_("Your email address is already confirmed."), "info")
    return redirect(url_for("main.index"))
