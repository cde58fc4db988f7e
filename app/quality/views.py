"""The NVPO self-check page, evidence, snapshots and their PDF report (/n/<slug>/quality/...)."""
from __future__ import annotations

import re

from flask import Response, abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required
from markupsafe import Markup
from sqlalchemy import select

from app.auth.models import User
from app.core.i18n import current_locale
from app.core.pagination import paginate
from app.core.security import require_membership
from app.core.storage import send_stored
from app.extensions import db
from app.networks.models import Role
from app.quality import bp, services
from app.quality.checks import Status
from app.quality.evidence import (
    EvidenceError,
    add_evidence,
    evidence_for_page,
    get_evidence,
    record_download,
    remove_evidence,
)
from app.quality.forms import ConfirmForm, FreezeForm, evidence_form
from app.quality.models import CriteriaSet, SelfCheckSnapshot, SnapshotPdfStatus

coordinator_only = require_membership(Role.COORDINATOR)


def _is_coordinator() -> bool:
    return g.membership.role is Role.COORDINATOR


def _chosen_set() -> CriteriaSet:
    """The current criteria set, or (coordinators only) the one named by ?version=."""
    version = (request.args.get("version") or "").strip()[:20]
    if version and _is_coordinator():
        criteria_set = services.criteria_set_by_version(version)
    else:
        criteria_set = services.current_criteria_set()
    if criteria_set is None:
        abort(404)
    return criteria_set


def fix_url(endpoint: str | None, code: str) -> str:
    """Where to fix a criterion; an endpoint that does not exist (yet) falls back to the network home."""
    if endpoint == "quality.index":
        return f"#evidence-{code}"
    if endpoint and endpoint in current_app.view_functions:
        return url_for(endpoint)
    return url_for("networks.home")


class BlankEvidenceForm:
    """The empty evidence form of each criterion, rendered once per page: the forms differ only in the criterion's
    code (field ids, the action's path), which goes in for a stand-in. Twenty forms of WTForms fields were two
    fifths of the self-check's time. A form with errors (after a refused upload) is rendered itself."""

    STAND_IN = "zzcriterionzz"

    def __init__(self):
        self._html: str | None = None

    def __call__(self, code: str) -> Markup:
        if not CODE_SHAPE.fullmatch(code):  # a code the stand-in cannot stand for as written: the form itself
            return Markup(_evidence_form_html(code))  # noqa: S704 - rendered by the autoescaped template
        if self._html is None:
            self._html = _evidence_form_html(self.STAND_IN)
        return Markup(self._html.replace(self.STAND_IN, code))  # noqa: S704 - the code is [0-9A-Za-z], as checked


def _evidence_form_html(code: str) -> str:
    return render_template("quality/_evidence_form.html", code=code, form=evidence_form(code, formdata=None))


# Criterion codes ("1a", "2b"): the same in a URL path, an HTML id and text, so the stand-in's swap needs no escaping.
CODE_SHAPE = re.compile(r"[0-9A-Za-z]{1,10}")


def _render_index(criteria_set: CriteriaSet, forms=None):
    rows = services.run_checks(g.network, criteria_set)
    version = (request.args.get("version") or "").strip()
    current = criteria_set if not version else services.current_criteria_set()  # _chosen_set's, unless named
    counts = {s: sum(1 for row in rows if row.result.status is s) for s in Status}
    html = render_template(
        "quality/index.html", rows=rows, criteria_set=criteria_set, current_set=current,
        sets=services.all_criteria_sets() if _is_coordinator() else [], counts=counts, Status=Status,
        evidence=evidence_for_page(), forms=forms or {}, blank_evidence_form=BlankEvidenceForm(),
        freeze_form=FreezeForm(version=criteria_set.version), locale=current_locale(),
        can_edit=_is_coordinator(), fix_url=fix_url)
    return html


@bp.route("/")
@login_required
@require_membership()
def index():
    return _render_index(_chosen_set())


@bp.route("/evidence", methods=["POST"], endpoint="add_evidence")
@login_required
@coordinator_only
def add_evidence_view():
    criteria_set = _chosen_set()
    code = request.args.get("criterion", "")
    if code not in {criterion.code for criterion in criteria_set.criteria}:
        abort(404)
    form = evidence_form(code)
    if form.validate_on_submit():
        try:
            add_evidence(network=g.network, user=g.membership.user, criterion_code=code,
                         text=form.text.data or "", upload=form.file.data)
        except EvidenceError as exc:
            (form.file.errors if form.file.data else form.text.errors).append(str(exc))
        else:
            db.session.commit()
            flash(_("The evidence for criterion %(code)s is added.", code=code), "success")
            return redirect(_index_url(criteria_set, anchor=f"criterion-{code}"))
    return _render_index(criteria_set, forms={code: form})


def _index_url(criteria_set: CriteriaSet, anchor: str | None = None) -> str:
    current = services.current_criteria_set()
    version = None if current is not None and current.id == criteria_set.id else criteria_set.version
    return url_for("quality.index", version=version, _anchor=anchor)


@bp.route("/evidence/<int:evidence_id>/download")
@login_required
@require_membership()
def evidence_download(evidence_id: int):
    evidence = get_evidence(evidence_id) or abort(404)
    path = evidence.stored_file_path()
    if path is not None and not path.is_file():
        abort(404)
    record_download(evidence)
    db.session.commit()
    if path is None:  # text-only evidence downloads as a text file
        response = Response(evidence.text, mimetype="text/plain")
        response.headers["Content-Disposition"] = f"attachment; filename=evidence-{evidence_id}.txt"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response
    return send_stored(path, mimetype=evidence.content_type,
                       download_name=evidence.file_name or f"evidence-{evidence_id}")


@bp.route("/evidence/<int:evidence_id>/remove", methods=["GET", "POST"])
@login_required
@coordinator_only
def evidence_remove(evidence_id: int):
    """GET asks for confirmation; POST removes (softly)."""
    evidence = get_evidence(evidence_id) or abort(404)
    form = ConfirmForm()
    if form.validate_on_submit():
        remove_evidence(evidence)
        db.session.commit()
        flash(_("The evidence is removed."), "success")
        return redirect(url_for("quality.index", _anchor=f"criterion-{evidence.criterion_code}"))
    return render_template("quality/evidence_remove.html", evidence=evidence, form=form)


@bp.route("/snapshots")
@login_required
@require_membership()
def snapshots():
    page = paginate(select(SelfCheckSnapshot).order_by(SelfCheckSnapshot.taken_at.desc(),
                                                       SelfCheckSnapshot.id.desc()))
    return render_template("quality/snapshots.html", page=page, users=_names({s.taken_by_id for s in page.items}),
                           freeze_form=FreezeForm())


@bp.route("/snapshots/freeze", methods=["POST"])
@login_required
@coordinator_only
def freeze():
    form = FreezeForm()
    criteria_set = services.criteria_set_by_version(form.version.data or "") if form.validate_on_submit() else None
    if criteria_set is None:
        abort(400)
    snapshot = services.freeze_snapshot(network=g.network, user=g.membership.user, criteria_set=criteria_set,
                                        locale=current_locale())
    db.session.commit()
    flash(_("The self-check is frozen as a snapshot."), "success")
    return redirect(url_for("quality.snapshot_detail", snapshot_id=snapshot.id))


def _get_snapshot_or_404(snapshot_id: int) -> SelfCheckSnapshot:
    return db.first_or_404(select(SelfCheckSnapshot).where(SelfCheckSnapshot.id == snapshot_id))


def _names(user_ids: set[int]) -> dict[int, str]:
    if not user_ids:
        return {}
    return dict(db.session.execute(select(User.id, User.full_name).where(User.id.in_(user_ids))).all())


@bp.route("/snapshots/<int:snapshot_id>")
@login_required
@require_membership()
def snapshot_detail(snapshot_id: int):
    snapshot = _get_snapshot_or_404(snapshot_id)
    busy = snapshot.pdf_status in (SnapshotPdfStatus.QUEUED, SnapshotPdfStatus.RUNNING)
    return render_template("quality/snapshot_detail.html", snapshot=snapshot, busy=busy, form=ConfirmForm(),
                           taken_by=_names({snapshot.taken_by_id}).get(snapshot.taken_by_id, ""),
                           can_edit=_is_coordinator(), locale=current_locale(), Status=Status)


@bp.route("/snapshots/<int:snapshot_id>/pdf", methods=["POST"])
@login_required
@coordinator_only
def snapshot_pdf(snapshot_id: int):
    snapshot = _get_snapshot_or_404(snapshot_id)
    if ConfirmForm().validate_on_submit() and services.request_snapshot_pdf(snapshot):
        db.session.commit()
        flash(_("The PDF report is being made."), "info")
    return redirect(url_for("quality.snapshot_detail", snapshot_id=snapshot_id))


@bp.route("/snapshots/<int:snapshot_id>/pdf/download")
@login_required
@require_membership()
def snapshot_pdf_download(snapshot_id: int):
    snapshot = _get_snapshot_or_404(snapshot_id)
    if snapshot.pdf_status is not SnapshotPdfStatus.DONE or not snapshot.storage_key:
        abort(404)
    path = snapshot.stored_file_path()
    if not path.is_file():
        abort(404)
    services.record_pdf_download(snapshot)
    db.session.commit()
    name = f"self-check-{g.network.slug}-{snapshot.taken_at:%Y-%m-%d}-{snapshot.id}.pdf"
    return send_stored(path, mimetype="application/pdf", download_name=name)
