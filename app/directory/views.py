"""Public directory pages (no sign-in) and the application to start a network (signed in)."""
from __future__ import annotations

import hashlib
import json

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.core.i18n import current_locale
from app.core.pagination import paginate
from app.directory import bp, hsds, services
from app.directory.forms import NetworkApplicationForm
from app.extensions import db
from app.networks.models import Network
from app.networks.services.memberships import discipline_catalogue


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
        discipline=discipline, disciplines=discipline_catalogue(),
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



# --- the open directory feed (Open Referral HSDS 3.0) ----------------------------------------------------------

FEED_MAX_AGE = 300  # seconds: the directory changes rarely; a consumer revalidates with If-None-Match


def _feed(body: dict | None, status: int = 200):
    """JSON with a strong ETag and public caching (no cookie is read or set: the feed is the same for everyone)."""
    if body is None:
        body, status = {"error": "not found", "detail": _("There is no such organization or service.")}, 404
    text = json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    response = current_app.response_class(text, status, mimetype="application/json")
    response.headers["Access-Control-Allow-Origin"] = "*"
    if status == 200:
        response.set_etag(hashlib.sha256(text.encode()).hexdigest()[:32])
        response.headers["Cache-Control"] = f"public, max-age={FEED_MAX_AGE}"
        response.make_conditional(request)
    return response


def _paging() -> tuple[int, int] | str:
    """page and per_page from the query string, or the message for a bad value."""
    values = {}
    for name, default, high in (("page", 1, 100_000), ("per_page", 50, hsds.MAX_PER_PAGE)):
        raw = request.args.get(name, "")
        if raw == "":
            values[name] = default
            continue
        if not raw.isdigit() or not 1 <= int(raw) <= high:
            return _("%(name)s must be a whole number from 1 to %(high)d.", name=name, high=high)
        values[name] = int(raw)
    return values["page"], values["per_page"]


def _bad_request(message: str):
    return _feed({"error": "bad request", "detail": message}, 400)


@bp.route("/open/hsds/")
def hsds_root():
    """What the feed is (the HSDS API's root)."""
    return _feed({"version": hsds.HSDS_VERSION, "profile": "https://openreferral.org/",
                  "organizations": url_for("directory.hsds_organizations", _external=True),
                  "services": url_for("directory.hsds_services", _external=True)})


@bp.route("/open/hsds/organizations")
def hsds_organizations():
    paging = _paging()
    if isinstance(paging, str):
        return _bad_request(paging)
    return _feed(hsds.organizations_page(*paging))


@bp.route("/open/hsds/organizations/<organization_id>")
def hsds_organization(organization_id: str):
    found = hsds.public_network_by_uuid(organization_id[:64])
    return _feed(hsds.organization_detail(found) if found is not None else None)


@bp.route("/open/hsds/services")
def hsds_services():
    paging = _paging()
    if isinstance(paging, str):
        return _bad_request(paging)
    return _feed(hsds.services_page(*paging, locale=current_locale()))


@bp.route("/open/hsds/services/<service_id>")
def hsds_service(service_id: str):
    return _feed(hsds.service_detail(service_id[:64], current_locale()))
