"""Mail: rendered in the request (no patient data by design), sent by a job over SMTP.

Two hooks keep what the outbox holds harmless and what is sent still allowed:

- A one-time link (invitation, password reset, email verification) is not in the queued body: the body
  holds a placeholder and the outbox row only a reference (user id, purpose, endpoint). The token is minted
  by the registered link minter right before SMTP, inside the job's transaction, so only the delivered mail
  ever holds it (the database keeps its hash only). A retry mints a fresh one (minting lapses the older
  open tokens of the purpose); if SMTP fails the job's rollback discards the minted row too.
- A re-check (kind + ids, e.g. "may this membership still be told about these cases?") is stored with the
  row; the registered checker runs right before SMTP. A mail that fails it is dropped (outbox status
  "dropped") with a log line that names the kind and ids only.

Core imports no feature: features register their minter and checkers (see app/auth/services.py,
app/cases/jobs.py, app/networks/services/memberships.py).

Importing this module registers the "mail" job handler (create_app imports it in register_request_hooks).
"""
from __future__ import annotations

import logging
import smtplib
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlparse

from flask import current_app, has_request_context, render_template, url_for
from flask_babel import force_locale

from app.core.jobs import DROPPED, enqueue, job_handler

log = logging.getLogger(__name__)

# Stands in for the one-time link in the queued body; replaced by the real link right before SMTP.
LINK_PLACEHOLDER = "[[one-time-link]]"

_link_minter: Callable[[int, str], str | None] | None = None
_rechecks: dict[str, Callable[..., bool]] = {}
# MAIL_URL "memory://": delivered messages are kept here (tests); never in the database.
memory_outbox: list[dict[str, str]] = []


@dataclass(frozen=True)
class OneTimeLink:
    """A link whose token is minted at send time: url_for(endpoint, token=<new token of purpose for user>)."""

    user_id: int
    purpose: str
    endpoint: str


def link_minter(func: Callable[[int, str], str | None]) -> Callable[[int, str], str | None]:
    """Register the function that mints a token for (user id, purpose); it returns None when the user may
    no longer get such a link (deactivated, already set up), and the mail is then dropped."""
    global _link_minter
    _link_minter = func
    return func


def mail_recheck(kind: str):
    """Register a checker: called with the ids given to queue_mail(recheck=(kind, ids)) right before SMTP,
    inside the mail's network; it returns whether the recipient may still be told."""
    def register(func):
        _rechecks[kind] = func
        return func
    return register


def absolute_url(endpoint: str, **values: Any) -> str:
    """A link for a mail (BASE_URL + path), also from a job or the CLI where there is no request."""
    if has_request_context():
        return current_app.config["BASE_URL"] + url_for(endpoint, **values)
    with current_app.test_request_context():
        return current_app.config["BASE_URL"] + url_for(endpoint, **values)


def queue_mail(*, to: str, template: str, subject: Any, locale: str = "nl",
               network_id: int | None = None, one_time_link: OneTimeLink | None = None,
               recheck: tuple[str, dict[str, Any]] | None = None, **context: Any) -> None:
    """Render email/<template>.txt and the (lazy) subject in the recipient's *locale*; sent after commit.

    *one_time_link*: the template's {{ link }} gets a token minted at send time (none is stored).
    *recheck*: (kind, ids) for a registered checker that decides right before SMTP whether to send."""
    if recheck is not None and recheck[0] not in _rechecks:
        raise KeyError(f"no mail re-check for {recheck[0]!r}")
    if one_time_link is not None:
        context["link"] = LINK_PLACEHOLDER
    with force_locale(locale):
        body = render_template(f"email/{template}.txt", **context)
        subject = str(subject)
    payload: dict[str, Any] = {"to": to, "subject": subject, "body": body, "template": template}
    if one_time_link is not None:
        payload["one_time_link"] = {"user_id": one_time_link.user_id, "purpose": one_time_link.purpose,
                                    "endpoint": one_time_link.endpoint}
    if recheck is not None:
        payload["recheck"] = {"kind": recheck[0], "ids": recheck[1]}
    enqueue("mail", payload, network_id=network_id)


def _still_allowed(payload: dict[str, Any]) -> bool:
    recheck = payload.get("recheck")
    if not recheck:
        return True
    return bool(_rechecks[recheck["kind"]](**recheck["ids"]))


def _mint_link(spec: dict[str, Any]) -> str | None:
    if _link_minter is None:
        raise RuntimeError("no link minter registered (app.auth.services registers it)")
    token = _link_minter(int(spec["user_id"]), spec["purpose"])
    return None if token is None else absolute_url(spec["endpoint"], token=token)


@job_handler("mail")
def send_mail(payload: dict[str, Any]) -> str | None:
    """Send one queued mail; returns DROPPED when the re-check or the link minter says no."""
    url = current_app.config.get("MAIL_URL") or ""
    development_outbox = not url and current_app.config.get("APP_ENV") == "development"
    if not url and not development_outbox:
        return None  # no SMTP configured: nothing is sent (and no link is minted)
    if not _still_allowed(payload):
        log.info("mail %s dropped: re-check %s %s refused", payload.get("template"),
                 payload["recheck"]["kind"], payload["recheck"]["ids"])
        return DROPPED
    body = payload["body"]
    if spec := payload.get("one_time_link"):
        link = _mint_link(spec)
        if link is None:
            log.info("mail %s dropped: user %s may no longer get a %s link", payload.get("template"),
                     spec["user_id"], spec["purpose"])
            return DROPPED
        body = body.replace(LINK_PLACEHOLDER, link)
    if development_outbox:
        # Development only (no real people): the local outbox page (/dev/mail) shows the mail as sent.
        payload["body"] = body
        return None
    message = EmailMessage()
    message["From"] = current_app.config["MAIL_SENDER"]
    message["To"] = payload["to"]
    message["Subject"] = payload["subject"]
    message.set_content(body)
    parsed = urlparse(url)
    if parsed.scheme == "memory":
        memory_outbox.append({"to": payload["to"], "subject": payload["subject"], "body": body,
                              "template": payload.get("template", "")})
        return None
    smtp_class = smtplib.SMTP_SSL if parsed.scheme == "smtps" else smtplib.SMTP
    with smtp_class(parsed.hostname or "localhost", parsed.port or 25, timeout=10) as smtp:
        if parsed.scheme == "smtp+starttls":
            smtp.starttls()
        if parsed.username:
            smtp.login(parsed.username, parsed.password or "")
        smtp.send_message(message)
    return None
