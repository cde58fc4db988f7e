"""/hulp: a role's guide, or one section of it, in the user's language; the guides' images; the help link.

The guides hold no patient data, so the pages are public; only known roles, sections and images answer."""
from __future__ import annotations

import os

from flask import Flask, Response, abort, g, render_template, request, url_for
from flask_login import current_user
from markupsafe import Markup
from werkzeug.security import safe_join

from app.core.i18n import current_locale
from app.help import bp
from app.help.guides import IMAGE_DIR, IMAGE_NAME, LOCALES, ROLES, Section, app_markdown, section_for, sections


def _render(text: str, role: str) -> Markup:
    import markdown  # imported here: only the help pages need it

    text = app_markdown(text, image_url=lambda name: url_for("help.image", name=name),
                        section_url=lambda anchor: url_for("help.section", role=role, section=anchor))
    html = markdown.markdown(text, extensions=["tables", "attr_list"])
    return Markup(html)  # noqa: S704 - the guides are files of this repository, not user input


def _guide(role: str) -> list[Section]:
    if role not in ROLES:
        abort(404)
    locale = current_locale()
    return sections(role, locale if locale in LOCALES else LOCALES[0])


@bp.route("/hulp/<role>/")
def guide(role: str):
    """The whole guide of *role*."""
    parts = _guide(role)
    return render_template("help/guide.html", role=role, title=parts[0].title, parts=parts, section=None,
                           html=_render("\n\n".join(part.markdown for part in parts), role))


@bp.route("/hulp/<role>/<section>")
def section(role: str, section: str):
    """One section of *role*'s guide (the part a page's help link opens), with the guide's contents."""
    parts = _guide(role)
    found = next((part for part in parts if part.anchor and part.anchor == section), None)
    if found is None:
        abort(404)
    return render_template("help/guide.html", role=role, title=parts[0].title, parts=parts, section=found,
                           html=_render(found.markdown.replace("\n## ", "\n# ", 1), role))  # the page's h1


@bp.route("/hulp/img/<name>")
def image(name: str):
    """A screenshot of the guides: a plain file name (no directories), one that exists."""
    path = safe_join(str(IMAGE_DIR), name) if IMAGE_NAME.fullmatch(name) else None
    if path is None or not os.path.isfile(path):
        abort(404)
    with open(path, "rb") as image:  # read whole (a screenshot is ~100 kB): no file stays open after the response
        response = Response(image.read(), mimetype="image/png")
    response.cache_control.max_age = 3600
    return response


def help_role() -> str | None:
    """The guide for the signed-in user on this page: the role they act in here (None: no guide)."""
    if not current_user.is_authenticated:
        return None
    blueprint = request.blueprint or ""
    if blueprint == "admin" and current_user.is_platform_admin:
        return "admin"
    membership = g.get("membership")
    if membership is not None:
        return "coordinator" if membership.role.value == "coordinator" else "member"
    if blueprint == "gp_portal" and current_user.gp_profile is not None:
        return "gp"
    if blueprint == "patient_portal":
        return "patient"
    if current_user.gp_profile is not None:
        return "gp"
    if current_user.is_platform_admin:
        return "admin"
    from app.networks.services.memberships import own_memberships

    roles = {m.role.value for m in own_memberships(current_user.id)}
    if roles:
        return "coordinator" if "coordinator" in roles else "member"
    from app.patient_portal.services import has_portal_account

    return "patient" if has_portal_account(current_user) else None


def help_link() -> str | None:
    """The help link of the page header: the section of the user's guide for this page, or the guide's top."""
    role = help_role()
    if role is None:
        return None
    if request.blueprint == "help":
        return None  # the help page itself
    anchor = section_for(role, request.endpoint or "")
    if anchor:
        return url_for("help.section", role=role, section=anchor)
    return url_for("help.guide", role=role)


def register_help(app: Flask) -> None:
    app.jinja_env.globals["help_link"] = help_link
