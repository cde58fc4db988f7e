"""FHIR R4 Subscriptions (rest-hook, empty payload): a connected system hears that a Task it may read changed,
instead of polling. The notification is a POST without body to the system's endpoint, with the headers
`X-Subscription: Subscription/<id>` and `X-Task: Task/<id>` (ids only, no patient data); the system then reads the
Task with its token. Sent by the job queue after the change commits, retried like every job; a revoked client or
an ended Subscription gets nothing more.
"""
from __future__ import annotations

import logging
import re
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit

from fhir.resources.R4B.subscription import Subscription
from flask import current_app
from pydantic import ValidationError
from sqlalchemy import or_, select

from app.core.db import utcnow
from app.core.jobs import DROPPED, enqueue, job_handler
from app.extensions import db
from app.fhir.models import ApiClient, ApiSubscription
from app.fhir.outcome import FhirError
from app.referrals import services as referral_services
from app.referrals.models import Referral

log = logging.getLogger(__name__)

JOB_KIND = "fhir_subscription_notify"
CRITERIA = re.compile(r"Task(\?_id=([1-9][0-9]{0,9}))?")
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}
TIMEOUT_SECONDS = 10
MAX_PER_CLIENT = 100


def _endpoint_allowed(url: str) -> bool:
    parts = urlsplit(url)
    if not parts.netloc or parts.username or parts.password:
        return False
    if parts.scheme == "https":
        return True
    return (parts.scheme == "http" and parts.hostname in LOCAL_HOSTS
            and bool(current_app.config.get("FHIR_HOOKS_ALLOW_LOCAL_HTTP")))


def parse(data: Any) -> tuple[str, int | None, str, str, str]:
    """(criteria, task id, endpoint, header, reason) of a posted Subscription; FhirError 400/422 otherwise."""
    if not isinstance(data, dict) or data.get("resourceType") != "Subscription":
        raise FhirError(400, [("structure", "This endpoint takes a Subscription.", "resourceType")])
    try:
        resource = Subscription.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = "Subscription." + ".".join(str(p) for p in first.get("loc", ()) if not str(p).startswith("__"))
        raise FhirError(400, [("structure", f"Not a valid Subscription: {first.get('msg', '')}", where)]) from None
    match = CRITERIA.fullmatch(resource.criteria or "")
    if match is None:
        raise FhirError(422, [("not-supported", "Subscribe to Task (every Task you read) or Task?_id=<id>.",
                               "Subscription.criteria")])
    channel = resource.channel
    if channel.type != "rest-hook":
        raise FhirError(422, [("not-supported", "Only the rest-hook channel is supported.",
                               "Subscription.channel.type")])
    if channel.payload:
        raise FhirError(422, [("not-supported", "Leave the payload empty: the notification carries no resource (no "
                               "patient data); read the Task after it.", "Subscription.channel.payload")])
    endpoint = (channel.endpoint or "").strip()
    if len(endpoint) > 500 or not _endpoint_allowed(endpoint):
        raise FhirError(422, [("value", "The endpoint must be an https:// address.", "Subscription.channel.endpoint")])
    headers = list(channel.header or [])
    if len(headers) > 1 or any(len(h) > 500 or ":" not in h or "\n" in h or "\r" in h for h in headers):
        raise FhirError(422, [("value", "At most one header, as \"Name: value\".", "Subscription.channel.header")])
    return (resource.criteria, int(match.group(2)) if match.group(2) else None, endpoint,
            headers[0] if headers else "", (resource.reason or "")[:500])


def create(client: ApiClient, *, criteria: str, task_id: int | None, endpoint: str, header: str,
           reason: str) -> ApiSubscription:
    active = db.session.scalar(select(db.func.count()).select_from(ApiSubscription).where(
        ApiSubscription.api_client_id == client.id, ApiSubscription.status == "active"))
    if active >= MAX_PER_CLIENT:
        raise FhirError(422, [("too-costly", f"A system has at most {MAX_PER_CLIENT} active Subscriptions.", None)])
    row = ApiSubscription(api_client_id=client.id, criteria=criteria, task_id=task_id, endpoint=endpoint,
                          header=header, reason=reason, status="active")
    db.session.add(row)
    db.session.flush()
    return row


def own(client: ApiClient, subscription_id: int) -> ApiSubscription:
    row = db.session.scalar(select(ApiSubscription).where(ApiSubscription.id == subscription_id,
                                                          ApiSubscription.api_client_id == client.id))
    if row is None:
        raise FhirError(404, [("not-found", "No such Subscription.", None)])
    return row


def end(row: ApiSubscription) -> None:
    if row.status != "off":
        row.status, row.ended_at = "off", utcnow()
        db.session.flush()


def resource(row: ApiSubscription) -> Subscription:
    channel = {"type": "rest-hook", "endpoint": row.endpoint}
    if row.header:
        channel["header"] = [row.header.split(":", 1)[0] + ": (stored)"]  # never echo the receiver's secret
    data = {"resourceType": "Subscription", "id": str(row.id), "status": "active" if row.status == "active" else "off",
            "criteria": row.criteria, "reason": row.reason or "Task changes", "channel": channel}
    if row.failures and row.status == "active":
        data["error"] = row.last_error or "delivery failed"
    if row.ended_at is not None:
        data["end"] = row.ended_at.isoformat()
    return Subscription.model_validate(data)


# --- notifying ---------------------------------------------------------------------------------------------------

@referral_services.referral_transitioned.connect
def _on_transition(referral: Referral, *, actor, action, from_status) -> None:
    """Queue a notification for every active Subscription whose client may read this Task (the network's own
    systems, and the systems of the GP who referred or typed it)."""
    owners = {referral.gp_profile.user_id if referral.gp_profile is not None else None, referral.submitted_by_id}
    owners.discard(None)
    rows = db.session.execute(
        select(ApiSubscription.id).join(ApiClient, ApiClient.id == ApiSubscription.api_client_id)
        .where(ApiSubscription.status == "active", ApiClient.revoked_at.is_(None),
               or_(ApiSubscription.task_id.is_(None), ApiSubscription.task_id == referral.id),
               or_(ApiClient.network_id == referral.network_id, ApiClient.owner_user_id.in_(owners)))
        .order_by(ApiSubscription.id).limit(MAX_PER_CLIENT * 10)).scalars().all()
    for subscription_id in rows:
        enqueue(JOB_KIND, {"subscription_id": subscription_id, "task_id": referral.id}, network_id=referral.network_id)


@job_handler(JOB_KIND)
def notify(payload: dict[str, Any]):
    """POST the empty notification; a failure raises (the queue retries) and is kept on the Subscription."""
    row = db.session.get(ApiSubscription, int(payload["subscription_id"]))
    if row is None or row.status != "active" or not row.client.is_active:
        return DROPPED
    if not row.endpoint.startswith(("https://", "http://")):  # checked when it was stored; never file: or others
        return DROPPED
    request = urllib.request.Request(row.endpoint, data=b"", method="POST", headers={  # noqa: S310
        "X-Subscription": f"Subscription/{row.id}", "X-Task": f"Task/{int(payload['task_id'])}",
        "Content-Length": "0", "User-Agent": "Netwerkzorg FHIR notifications"})
    if row.header:
        name, _sep, value = row.header.partition(":")
        request.add_header(name.strip(), value.strip())
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310 - https or local
            response.read(1024)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        error = f"{type(exc).__name__}: {getattr(exc, 'code', '') or getattr(exc, 'reason', '')}"[:300]
        db.session.rollback()
        failed = db.session.get(ApiSubscription, row.id)
        failed.failures += 1
        failed.last_error = error
        db.session.commit()
        log.warning("subscription %s: notification failed (%s)", row.id, error)  # no URL, no header: no secrets
        raise RuntimeError(f"subscription {row.id}: {error}") from None
    row.last_sent_at, row.failures, row.last_error = utcnow(), 0, ""
    return None
