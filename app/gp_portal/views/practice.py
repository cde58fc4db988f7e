"""Practice-nurse links (/verwijzer/praktijk...): a POH asks to refer on behalf of a GP of the same practice;
the GP confirms or refuses (on their start page)."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.auth.models import ReferrerKind
from app.extensions import db, limiter
from app.gp_portal import bp
from app.gp_portal.forms import LinkRequestForm
from app.gp_portal.services import practice as links
from app.gp_portal.views._common import user_key


def _own_profile(kind: ReferrerKind):
    profile = current_user.gp_profile
    if profile is None or profile.kind is not kind:
        abort(404)
    return profile


@bp.route("/praktijk", methods=["GET", "POST"])
@login_required
@limiter.limit("20 per hour", methods=["POST"], key_func=user_key)
def practice():
    """A practice nurse asks to refer on behalf of a GP of the same practice."""
    poh = _own_profile(ReferrerKind.POH)
    form = LinkRequestForm()
    if form.validate_on_submit():
        try:
            link = links.request_link(poh, form.agb_code.data)
        except links.LinkRefused:
            form.agb_code.errors.append(_(
                "We found no GP of your practice with this AGB code. Check the code, or ask the GP to "
                "register first."))
        else:
            db.session.commit()
            if link.confirmed_at is None:
                flash(_("Your request was sent. It counts once %(name)s confirms it.", name=link.gp.user.full_name),
                      "success")
            else:
                flash(_("You already refer on behalf of %(name)s.", name=link.gp.user.full_name), "info")
            return redirect(url_for("gp_portal.practice"))
    return render_template("gp_portal/practice.html", form=form, links=links.links_of_poh(poh)), \
        400 if form.errors else 200


def _gp_link(link_id: int):
    link = links.link_for_gp(_own_profile(ReferrerKind.GP), link_id)
    if link is None:
        abort(404)
    return link


@bp.route("/praktijk/<int:link_id>/bevestigen", methods=["POST"])
@login_required
def confirm_link(link_id: int):
    link = _gp_link(link_id)
    links.confirm_link(link)
    db.session.commit()
    flash(_("%(name)s may now refer on your behalf.", name=link.poh.user.full_name), "success")
    return redirect(url_for("main.index"))


@bp.route("/praktijk/<int:link_id>/weigeren", methods=["POST"])
@login_required
def refuse_link(link_id: int):
    link = _gp_link(link_id)
    name = link.poh.user.full_name
    links.refuse_link(link)
    db.session.commit()
    flash(_("%(name)s does not refer on your behalf.", name=name), "info")
    return redirect(url_for("main.index"))
