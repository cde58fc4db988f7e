"""Creating networks (the tenant) with their first coordinator. Callers commit."""
from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select

from app.core import audit
from app.core.audit import AuditAction
from app.core.db import utcnow
from app.core.tenancy import network_context
from app.extensions import db
from app.networks.models import Network, NetworkStatus, Role
from app.networks.services.memberships import invite_member


class NetworkError(Exception):
    pass


def create_network(*, name: str, slug: str, region: str, coordinator_name: str, coordinator_email: str,
                   base_url: str) -> Network:
    """Create a network being set up and invite its first coordinator. Raises NetworkError."""
    if db.session.scalar(select(Network.id).where(Network.slug == slug)) is not None:
        raise NetworkError(_("This web address name is taken; choose another one."))
    # Created by the platform admin, so approved at once (applications by users wait: directory.apply).
    network = Network(name=name.strip(), slug=slug, region=region.strip(), status=NetworkStatus.SETTING_UP,
                      approved_at=utcnow())
    db.session.add(network)
    db.session.flush()
    with network_context(network.id):
        invite_member(network=network, email=coordinator_email, full_name=coordinator_name,
                      role=Role.COORDINATOR, base_url=base_url)
        audit.record("network.created", AuditAction.CREATE, object_type="network", object_id=network.id)
        db.session.flush()
    return network
