"""Case routes: closing. A care-team member closes their own part with a short summary; the central care
provider closes the whole case once every other part is closed (the service names who is still open).
Closing the case closes the referral and drafts the closing letter (done by the service). Nothing here
deletes a case."""
from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.cases import bp, services
from app.cases.access import CaseAccess, case_access
from app.cases.forms import CloseCaseForm, ClosePartForm
from app.cases.models import Case, ConsentPart, TeamStatus
from app.cases.services import CaseRuleBroken
from app.cases.views._common import load_case, log_read
from app.core.audit import patient_data
from app.core.security import require_membership
from app.extensions import db


@bp.route("/<int:case_id>/afsluiten", methods=["GET", "POST"])
@login_required
@require_membership()
@patient_data
def close(case_id: int):
    case, access = load_case(case_id)
    part_form, case_form = ClosePartForm(), CloseCaseForm()
    if request.method == "POST":
        what = request.form.get("what")
        try:
            if what == "case":
                if not case_form.validate_on_submit():
                    return _page(case, access, part_form, case_form, status=400)
                services.close_case(case, current_user, g.membership, case_form.case_summary.data)
            elif what == "part":
                if not part_form.validate_on_submit():
                    return _page(case, access, part_form, case_form, status=400)
                refusal = access.close_part_refusal()
                if refusal is not None:
                    raise CaseRuleBroken(refusal)
                services.close_part(access.team_member, current_user, part_form.part_summary.data)
            else:
                flash(_("Choose what you want to close."), "error")
                return _page(case, access, part_form, case_form, status=400)
        except CaseRuleBroken as exc:
            db.session.rollback()
            flash(str(exc), "error")
            return _page(case, access, part_form, case_form, status=400)
        db.session.commit()
        if what == "case":
            flash(_("The case is closed. The referral is closed too, and the closing letter to the GP is ready "
                    "as a draft."), "success")
            if case_access(case, g.membership).may_send_letters:  # asked again: a member who closed it has left
                return redirect(url_for("cases.letters", case_id=case.id), code=303)
        else:
            flash(_("Your part is closed. You no longer see this case."), "success")
        return redirect(url_for("cases.index"), code=303)
    return _page(case, access, part_form, case_form)


def _page(case: Case, access: CaseAccess, part_form: ClosePartForm, case_form: CloseCaseForm, *,
          status: int = 200):
    """Who still has an open part, and the form this viewer may use (rendered before the commit)."""
    team = services.team(case)
    open_parts = [row for row in team if row.status in (TeamStatus.ACTIVE, TeamStatus.PROPOSED)
                  and row.membership_id != case.central_membership_id]
    log_read(case, access, "closing")
    html = render_template("cases/close.html", case=case, access=access, team=team, open_parts=open_parts,
                           part_form=part_form, case_form=case_form,
                           shows_summaries=access.may_see(ConsentPart.NOTES), central=case.central)
    db.session.commit()
    return html, status
