"""Login, second factor, logout, password reset, invitation acceptance, account settings."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, flash, g, make_response, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from app.auth import bp, services, throttle
from app.auth.forms import (
    AcceptInvitationForm,
    AccountForm,
    ChangePasswordForm,
    ForgotPasswordForm,
    LoginForm,
    MfaForm,
    MfaSetupForm,
    NewPasswordForm,
)
from app.auth.models import TokenPurpose
from app.core import audit
from app.core.audit import AuditAction, AuditOutcome
from app.core.db import utcnow
from app.core.mail import OneTimeLink, queue_mail
from app.core.security import (
    end_current_session,
    fresh_login_within,
    hash_token,
    password_problem,
    start_session,
    verify_password,
)
from app.extensions import db, limiter
from app.networks.services import memberships as network_services


def _safe_next(target: str | None) -> str:
    """Only same-site relative paths; anything else goes to the start page."""
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return url_for("main.index")


def _failed(response) -> bool:
    return response.status_code != 302


def _forbidden_words(user) -> tuple[str, ...]:
    """What a password must not contain: the email's local part and the names of the user's networks."""
    return (user.email.split("@")[0], *network_services.own_network_names(user.id))


@bp.route("/login", methods=["GET", "POST"])
# Per address (password spraying across accounts); a browser with the typed account's device cookie is exempt,
# so a neighbour behind the same address cannot lock the holder out. Per account: app.auth.throttle.
@limiter.limit(lambda: current_app.config["LOGIN_LIMIT_PER_IP"], methods=["POST"], deduct_when=_failed,
               exempt_when=throttle.known_device_for_submitted_account)
def login():
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = LoginForm()
    if form.validate_on_submit():
        user = services.find_user_by_email(form.email.data)
        attempt = throttle.attempt_for(form.email.data, user.id if user else None)
        if wait := throttle.retry_after(attempt):
            # Refused before the password is checked; the same answer for known and unknown accounts.
            form.password.errors.append(_("Too many failed attempts. Try again in %(seconds)s seconds.",
                                          seconds=wait))
            return render_template("auth/login.html", form=form), 429, {"Retry-After": str(wait)}
        if verify_password(user, form.password.data) and user.active:
            throttle.record_success(attempt)
            start_session(user, mfa_verified=False)
            session["next"] = _safe_next(request.args.get("next"))
            audit.record("user.password_verified", AuditAction.LOGIN, user_id=user.id)
            db.session.commit()
            if current_app.config.get("DEMO_MFA_BYPASS") and user.is_demo:
                return redirect(session["next"])  # development demo only; the banner says so
            return redirect(url_for("auth.mfa_verify" if user.has_mfa else "auth.mfa_setup"))
        audit.record("user.login_failed", AuditAction.LOGIN, outcome=AuditOutcome.FAILURE,
                     user_id=user.id if user else None)
        if throttle.record_failure(attempt) and user is not None and user.active:
            # No addresses, times or counts: only that it happened and what to do.
            queue_mail(to=user.email, template="login_failures",
                       subject=_l("Many failed sign-in attempts on your Netwerkzorg account"),
                       locale=user.locale or "nl", user=user)
        db.session.commit()
        form.password.errors.append(_("The email address or password is not correct."))
    return render_template("auth/login.html", form=form)


def _mfa_user_key() -> str:
    return f"mfa:{current_user.get_id() if current_user.is_authenticated else request.remote_addr}"


@bp.route("/login/mfa", methods=["GET", "POST"])
@login_required
@limiter.limit(lambda: current_app.config["MFA_LIMIT"], methods=["POST"], key_func=_mfa_user_key,
               deduct_when=_failed)
def mfa_verify():
    if not current_user.has_mfa:
        return redirect(url_for("auth.mfa_setup"))
    if g.user_session.mfa_verified_at is not None:
        return redirect(url_for("main.index"))
    form = MfaForm()
    if form.validate_on_submit():
        user = current_user._get_current_object()
        used_recovery = False
        ok = services.verify_totp(user, form.code.data)
        if not ok:
            ok = used_recovery = services.use_recovery_code(user, form.code.data)
        if ok:
            target = session.get("next") or url_for("main.index")
            start_session(user, mfa_verified=True)  # a new session id once fully signed in
            audit.record("user.login", AuditAction.LOGIN, reason="recovery code" if used_recovery else "totp")
            db.session.commit()
            if used_recovery:
                flash(_("You used a recovery code. Each code works once."), "warning")
            response = redirect(_safe_next(target))
            throttle.remember_device(response, user.id)
            return response
        audit.record("user.mfa_failed", AuditAction.LOGIN, outcome=AuditOutcome.FAILURE)
        db.session.commit()
        form.code.errors.append(_("This code is not valid (or was used already). Try the next code."))
    return render_template("auth/mfa_verify.html", form=form)


@bp.route("/account/mfa/setup", methods=["GET", "POST"])
@login_required
def mfa_setup():
    user = current_user._get_current_object()
    if user.has_mfa:
        return redirect(url_for("auth.mfa_verify") if g.user_session.mfa_verified_at is None
                        else url_for("auth.account"))
    form = MfaSetupForm()
    if not user.totp_secret:
        services.new_totp_secret(user)
        db.session.commit()
    if form.validate_on_submit():
        if services.verify_totp(user, form.code.data):
            next_url = _safe_next(session.get("next"))
            codes = services.enable_mfa(user)
            start_session(user, mfa_verified=True)
            audit.record("user.mfa_enabled", AuditAction.UPDATE, object_type="user", object_id=user.id)
            db.session.commit()
            response = make_response(render_template("auth/recovery_codes.html", codes=codes, next_url=next_url))
            throttle.remember_device(response, user.id)
            return response
        form.code.errors.append(_("This code does not match. Check the time on your phone and try again."))
    return render_template("auth/mfa_setup.html", form=form, qr_svg=services.provisioning_svg(user),
                           secret=user.totp_secret)


@bp.route("/logout", methods=["POST"])
def logout():
    if current_user.is_authenticated:
        audit.record("user.logout", AuditAction.LOGIN)
    end_current_session()
    db.session.commit()
    flash(_("You are signed out."), "info")
    return redirect(url_for("auth.login"))


def _reset_account_key() -> str:
    return "reset:" + (request.form.get("email") or "").strip().lower()


@bp.route("/password/forgot", methods=["GET", "POST"])
@limiter.limit("5 per 15 minutes", methods=["POST"])
@limiter.limit("3 per hour", methods=["POST"], key_func=_reset_account_key)  # no mail flood for one person
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        user = services.find_user_by_email(form.email.data)
        if user is not None and user.active and user.password_hash:
            services.lapse_tokens(user, TokenPurpose.RESET)  # an older link stops working now
            # The token is minted when the mail is sent: the outbox row holds no usable link.
            queue_mail(to=user.email, template="password_reset", subject=_l("Reset your Netwerkzorg password"),
                       locale=user.locale or "nl", user=user,
                       one_time_link=OneTimeLink(user.id, TokenPurpose.RESET.value, "auth.reset_password_link"))
            db.session.commit()
        # The same answer for known and unknown addresses.
        flash(_("If this address has an account, we sent a link to reset the password. "
                "The link works once, for one hour."), "info")
        return redirect(url_for("auth.login"))
    return render_template("auth/forgot_password.html", form=form)


# A mailed link's token leaves the URL on first use: GET /password/reset/<token> keeps only the token's hash
# in the (signed, HttpOnly) session cookie and redirects to /password/reset, so the token is not in the
# address bar, the history, a Referer header or the access log of any later request. The one request
# that carries it is the first GET. The app writes no access log; a front proxy's access log would see
# that one path, whose token is then only good until used (and expires), so configure it not to log it.
_LINK_SESSION_KEY = "link_token_hash:{}"


def _stash_link_token(token: str, purpose: TokenPurpose, endpoint: str):
    """Check the link, move its hash into the session and redirect to *endpoint* (no token in the URL)."""
    try:
        services.peek_token(token, purpose)
    except services.TokenInvalid:
        session.pop(_LINK_SESSION_KEY.format(purpose.value), None)
        return render_template("auth/token_invalid.html"), 404
    session[_LINK_SESSION_KEY.format(purpose.value)] = hash_token(token)
    return redirect(url_for(endpoint))


def stashed_link_token(purpose: TokenPurpose):
    """The open token row whose hash the session holds for *purpose*; raises services.TokenInvalid."""
    token_hash = session.get(_LINK_SESSION_KEY.format(purpose.value))
    if not isinstance(token_hash, str) or not token_hash:
        raise services.TokenInvalid
    return services.peek_token(token_hash, purpose, hashed=True)


def _consume_stashed(purpose: TokenPurpose) -> bool:
    """Use the session's link once (the conditional update decides between concurrent uses)."""
    token_hash = session.pop(_LINK_SESSION_KEY.format(purpose.value), None)
    try:
        services.consume_token(token_hash or "", purpose, hashed=True)
    except services.TokenInvalid:  # used by a concurrent request in the meantime: one use only
        return False
    return True


@bp.route("/password/reset/<token>")
def reset_password_link(token: str):
    return _stash_link_token(token, TokenPurpose.RESET, "auth.reset_password")


@bp.route("/password/reset", methods=["GET", "POST"])
def reset_password():
    try:
        user = stashed_link_token(TokenPurpose.RESET).user
    except services.TokenInvalid:
        return render_template("auth/token_invalid.html"), 404
    form = NewPasswordForm()
    if form.validate_on_submit():
        problem = password_problem(form.password.data, forbidden_words=_forbidden_words(user))
        if problem:
            form.password.errors.append(problem)
        else:
            if not _consume_stashed(TokenPurpose.RESET):
                db.session.rollback()
                return render_template("auth/token_invalid.html"), 404
            services.set_password(user, form.password.data)
            audit.record("user.password_reset", AuditAction.UPDATE, user_id=user.id, object_type="user",
                         object_id=user.id)
            queue_mail(to=user.email, template="password_changed", subject=_l("Your password was changed"),
                       locale=user.locale or "nl", user=user)
            end_current_session()
            db.session.commit()
            flash(_("Your password is set. Sign in with it."), "success")
            return redirect(url_for("auth.login"))
    return render_template("auth/reset_password.html", form=form)


@bp.route("/invitation/<token>")
def accept_invitation_link(token: str):
    return _stash_link_token(token, TokenPurpose.INVITE, "auth.accept_invitation")


@bp.route("/invitation", methods=["GET", "POST"])
def accept_invitation():
    try:
        user = stashed_link_token(TokenPurpose.INVITE).user
    except services.TokenInvalid:
        return render_template("auth/token_invalid.html"), 404
    form = AcceptInvitationForm(full_name=user.full_name)
    if form.validate_on_submit():
        problem = password_problem(form.password.data, forbidden_words=_forbidden_words(user))
        if problem:
            form.password.errors.append(problem)
        else:
            if not _consume_stashed(TokenPurpose.INVITE):
                db.session.rollback()
                return render_template("auth/token_invalid.html"), 404
            user.full_name = form.full_name.data.strip()
            user.active = True
            if user.email_verified_at is None:
                user.email_verified_at = utcnow()  # opening the mailed link proved the address
            services.set_password(user, form.password.data)
            audit.record("user.invitation_accepted", AuditAction.UPDATE, user_id=user.id,
                         object_type="user", object_id=user.id)
            end_current_session()
            db.session.commit()
            flash(_("Your account is ready. Sign in and set up two-step verification."), "success")
            return redirect(url_for("auth.login"))
    return render_template("auth/accept_invitation.html", form=form, user=user)


@bp.route("/account", methods=["GET", "POST"])
@login_required
def account():
    user = current_user._get_current_object()
    form = AccountForm(obj=user, locale=user.locale or "nl")
    if form.validate_on_submit():
        user.full_name = form.full_name.data.strip()
        user.locale = form.locale.data
        db.session.commit()
        flash(_("Your settings are saved."), "success")
        return redirect(url_for("auth.account"))
    return render_template("auth/account.html", form=form, password_form=ChangePasswordForm())


def _current_user_key() -> str:
    return f"user:{current_user.get_id()}"


@bp.route("/account/password", methods=["POST"])
@login_required
# The current-password check must not be an unthrottled password oracle.
@limiter.limit(lambda: current_app.config["LOGIN_LIMIT_PER_ACCOUNT"], methods=["POST"],
               key_func=_current_user_key, deduct_when=_failed)
def change_password():
    user = current_user._get_current_object()
    form = ChangePasswordForm()
    if form.validate_on_submit():
        if not verify_password(user, form.current_password.data):
            form.current_password.errors.append(_("The current password is not correct."))
        elif problem := password_problem(form.password.data, forbidden_words=_forbidden_words(user)):
            form.password.errors.append(problem)
        else:
            services.set_password(user, form.password.data)
            audit.record("user.password_changed", AuditAction.UPDATE, object_type="user", object_id=user.id)
            queue_mail(to=user.email, template="password_changed", subject=_l("Your password was changed"),
                       locale=user.locale or "nl", user=user)
            end_current_session()
            db.session.commit()
            flash(_("Your password is changed. Sign in again with the new password."), "success")
            return redirect(url_for("auth.login"))
    return render_template("auth/account.html", form=AccountForm(obj=user, locale=user.locale or "nl"),
                           password_form=form), 400 if form.errors else 200


@bp.route("/account/mfa/reset", methods=["POST"])
@login_required
def reset_own_mfa():
    """Set up a new authenticator (lost phone, new phone): needs a login of the last 10 minutes."""
    if not fresh_login_within(600):
        flash(_("For your safety, sign in again before changing two-step verification."), "warning")
        end_current_session()
        db.session.commit()
        return redirect(url_for("auth.login"))
    user = current_user._get_current_object()
    services.reset_mfa(user)
    audit.record("user.mfa_reset", AuditAction.UPDATE, object_type="user", object_id=user.id)
    queue_mail(to=user.email, template="mfa_reset", subject=_l("Two-step verification was reset"),
               locale=user.locale or "nl", user=user)
    end_current_session()
    db.session.commit()
    flash(_("Two-step verification is reset. Sign in to set it up again."), "info")
    return redirect(url_for("auth.login"))
