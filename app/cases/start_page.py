"""The start page's lists of the user's overdue next steps and open care-team proposals, across their networks.

The start page has no network of its own: the user's active memberships are read across networks
(the named all_networks bypass, as app/main/views.py index does), then each network's steps are read
inside network_context(membership.network_id). A step is listed only while the one access door still
lets the owner see its case (withdrawn consent or a closed part hides it, like the case itself).
Render with app/templates/main/_overdue_actions.html.

A proposal is listed while the door would let the member answer it (proposed, and a live consent names
them: covered_now, the door's rule in SQL); it links to the proposal page, which has the accept/decline form.
Render with app/templates/main/_open_proposals.html. Neither list names the patient.
"""
from __future__ import annotations

from sqlalchemy import select

from app.auth.models import User
from app.cases import services
from app.cases.access import case_access, covered_now
from app.cases.models import CareTeamMember, Case, CaseAction, TeamStatus
from app.core.tenancy import all_networks, network_context
from app.extensions import db
from app.networks.models import Membership, Network


def _own_memberships(user: User) -> list[Membership]:
    """The user's active memberships in every network, networks by name."""
    memberships = db.session.scalars(all_networks(
        select(Membership).where(Membership.user_id == user.id, Membership.is_active.is_(True))
        .order_by(Membership.network_id))).all()
    return sorted(memberships, key=lambda m: (m.network.name, m.network_id))


def overdue_actions_for_user(user: User) -> list[tuple[Network, CaseAction]]:
    """(network, step) for every open, past-due step the user owns in a case they may still see,
    oldest due date first within each network, networks by name."""
    found: list[tuple[Network, CaseAction]] = []
    for membership in _own_memberships(user):
        network = membership.network
        with network_context(membership.network_id):
            steps = services.overdue_actions_for(membership)
            if not steps:
                continue
            cases = {case.id: case for case in db.session.scalars(
                select(Case).where(Case.id.in_({step.case_id for step in steps})))}
            allowed = {case_id: case_access(case, membership).allowed for case_id, case in cases.items()}
            found.extend((network, step) for step in steps if allowed.get(step.case_id))
    return found


PROPOSAL_LIMIT = 20


def open_proposals_for_user(user: User) -> list[tuple[Network, CareTeamMember, str]]:
    """(network, proposal, name of who asks) for every open proposal to the user that they may answer now,
    newest first within each network, networks by name. One query per network."""
    found: list[tuple[Network, CareTeamMember, str]] = []
    for membership in _own_memberships(user):
        with network_context(membership.network_id):
            rows = db.session.execute(
                select(CareTeamMember, User.full_name).join(User, User.id == CareTeamMember.proposed_by_id)
                .where(CareTeamMember.membership_id == membership.id, CareTeamMember.status == TeamStatus.PROPOSED,
                       covered_now(membership.id, CareTeamMember.case_id))
                .order_by(CareTeamMember.proposed_at.desc(), CareTeamMember.id.desc()).limit(PROPOSAL_LIMIT)).all()
            found.extend((membership.network, row, name) for row, name in rows)
    return found
