"""Case routes: the distress thermometer (Lastmeter): the measurements, the trend chart (inline SVG
drawn on the server) and recording a new measurement. Needs the questionnaires part of the consent."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.cases import bp, services
from app.cases import proms as lastmeter
from app.cases.access import CaseAccess
from app.cases.forms import PromForm
from app.cases.models import Case, ConsentPart
from app.cases.services import CaseRuleBroken
from app.cases.views._common import load_case, log_read
from app.core.audit import patient_data
from app.core.dates import local_today
from app.core.security import require_membership
from app.extensions import db


@bp.route("/<int:case_id>/lastmeter", methods=["GET", "POST"])
@login_required
@require_membership()
@patient_data
def proms(case_id: int):
    case, access = load_case(case_id, part=ConsentPart.PROMS)
    form = PromForm()
    if request.method == "POST":
        refusal = access.write_refusal()
        if refusal is not None:
            flash(refusal, "error")
            return _page(case, access, form, status=400)
        if not form.validate_on_submit():
            return _page(case, access, form, status=400)
        try:
            services.record_prom(case, current_user, score=form.score.data, problems=list(form.problems.data or []),
                                 measured_on=form.measured_on.data)
        except CaseRuleBroken as exc:
            db.session.rollback()
            flash(str(exc), "error")
            return _page(case, access, form, status=400)
        db.session.commit()
        flash(_("The measurement is saved."), "success")
        return redirect(url_for("cases.proms", case_id=case.id), code=303)
    form.measured_on.data = local_today()
    return _page(case, access, form)


def _page(case: Case, access: CaseAccess, form: PromForm, *, status: int = 200):
    measurements = services.proms_of(case)  # oldest first
    log_read(case, access, "proms")
    html = render_template("cases/proms.html", case=case, access=access, form=form,
                           measurements=list(reversed(measurements)), latest=measurements[-1] if measurements else None,
                           chart=lastmeter.trend_chart_svg(measurements) if measurements else None,
                           categories=lastmeter.PROBLEM_CATEGORIES, problem_label=lastmeter.problem_label,
                           threshold=lastmeter.THRESHOLD)
    db.session.commit()
    return html, status
