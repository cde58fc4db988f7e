"""Public directory pages (no sign-in) and the application to start a network (signed in)."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.core.i18n import current_locale
from app.core.pagination import paginate
from app.directory import bp, services
from app.directory.forms import NetworkApplicationForm
from app.extensions import db
from app.networks.models import Network
from app.networks.services.memberships import disciplines_query


@bp.route("/netwerken")
def index():
    """Approved public networks; search by a patient's postcode and by discipline."""
    postcode = (request.args.get("postcode") or "").strip()[:20]
    discipline = services.find_discipline((request.args.get("discipline") or "").strip()[:40])
    statement = services.public_networks_query().order_by(Network.name, Network.id)
    postcode_error = None
    if postcode:
        number = services.parse_patient_postcode(postcode)
        if number is None:
            postcode_error = _("Enter a Dutch postcode: 4 digits, with or without the letters, e.g. 7511 JK.")
        else:
            statement = statement.where(Network.id.in_(services.networks_serving(number)))
    if discipline is not None:
        statement = statement.where(Network.id.in_(services.networks_with_discipline(discipline.id)))
    page = None if postcode_error else paginate(statement, per_page=20)
    present = services.disciplines_by_network([n.id for n in page.items]) if page else {}
    return render_template(
        "directory/index.html", page=page, present=present, postcode=postcode, postcode_error=postcode_error,
        discipline=discipline, disciplines=db.session.scalars(disciplines_query()).all(),
        searched=bool(postcode or discipline), locale=current_locale())


@bp.route("/netwerken/<slug>")
def network(slug: str):
    """One network's public page; 404 unless it is approved and public."""
    found = db.first_or_404(services.public_networks_query().where(Network.slug == slug[:60]))
    sections = services.public_members(found, locale=current_locale())
    return render_template("directory/network.html", public_network=found, sections=sections)


@bp.route("/netwerken/aanmelden", methods=["GET", "POST"])
@login_required
def apply():
    """Any signed-in user (after MFA, see the gate) may apply; the platform admin approves."""
    form = NetworkApplicationForm()
    if form.validate_on_submit():
        try:
            created = services.apply_for_network(applicant=current_user, name=form.name.data,
                                                 slug=form.slug.data, region=form.region.data or "")
        except services.ApplicationError as exc:
            form.slug.errors.append(str(exc))
        else:
            db.session.commit()
            flash(_("Your application for %(name)s is sent. You can set the network up while the platform "
                    "administrator reviews it.", name=created.name), "success")
            return redirect(url_for("networks.home", network_slug=created.slug))
    return render_template("directory/apply.html", form=form)

