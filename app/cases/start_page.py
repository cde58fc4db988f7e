"""The start page's list of the user's overdue next steps, across their networks.

The start page has no network of its own: the user's active memberships are read across networks
(the named all_networks bypass, as app/main/views.py index does), then each network's steps are read
inside network_context(membership.network_id). A step is listed only while the one access door still
lets the owner see its case (withdrawn consent or a closed part hides it, like the case itself).
Render with app/templates/main/_overdue_actions.html.
"""
from __future__ import annotations

from sqlalchemy import select

from app.auth.models import User
from app.cases import services
from app.cases.access import case_access
from app.cases.models import Case, CaseAction
from app.core.tenancy import all_networks, network_context
from app.extensions import db
from app.networks.models import Membership, Network


def overdue_actions_for_user(user: User) -> list[tuple[Network, CaseAction]]:
    """(network, step) for every open, past-due step the user owns in a case they may still see,
    oldest due date first within each network, networks by name."""
    memberships = db.session.scalars(all_networks(
        select(Membership).where(Membership.user_id == user.id, Membership.is_active.is_(True))
        .order_by(Membership.network_id))).all()
    found: list[tuple[Network, CaseAction]] = []
    for membership in sorted(memberships, key=lambda m: (m.network.name, m.network_id)):
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
