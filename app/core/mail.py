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

A digest: a mail queued with digest=DigestLine(...) (what changed, in one line, and its link) is held for
MAIL_DIGEST_SECONDS (outbox status "held", not handed to the queue). The periodic "mail-digest" job
(flush_digests) sends a recipient's held mails once the oldest of them waited that long: one held mail as it
is, several as one mail listing every line (email/digest.txt). Held mails are grouped per recipient and
network, so a digest never mixes networks. With MAIL_DIGEST_SECONDS 0 the mail is sent at once.

Importing this module registers the "mail" job handler (create_app imports it in register_request_hooks).
"""
from __future__ import annotations

import logging
import smtplib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlparse

from flask import current_app, has_request_context, render_template, url_for
from flask_babel import force_locale, ngettext
from sqlalchemy import select

from app.core.db import utcnow
from app.core.jobs import DROPPED, Outbox, enqueue, job_handler, run_inline_pending
from app.core.tenancy import network_context
from app.extensions import db

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


@dataclass(frozen=True)
class DigestLine:
    """What changed, as one line of a digest (no patient data: a number at most), and where to read it."""

    line: Any  # a lazy string, rendered in the recipient's locale
    link: str


HELD = "held"  # an outbox status: a mail waiting to be combined with the recipient's next ones
MERGED = "merged"  # an outbox status: a held mail that went out as part of a digest


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
               recheck: tuple[str, dict[str, Any]] | None = None, digest: DigestLine | None = None,
               **context: Any) -> None:
    """Render email/<template>.txt and the (lazy) subject in the recipient's *locale*; sent after commit.

    *one_time_link*: the template's {{ link }} gets a token minted at send time (none is stored).
    *recheck*: (kind, ids) for a registered checker that decides right before SMTP whether to send.
    *digest*: hold the mail so that the recipient's changes of the next minutes go out as one mail."""
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
    delay = int(current_app.config.get("MAIL_DIGEST_SECONDS") or 0)
    if digest is not None and one_time_link is None and delay > 0:
        with force_locale(locale):
            payload["digest"] = {"line": str(digest.line), "link": digest.link, "locale": locale,
                                 "name": str(context["user"].full_name) if context.get("user") else ""}
        # Held: not handed to the queue now (enqueue would); flush_digests sends it.
        db.session.add(Outbox(kind="mail", payload=payload, network_id=network_id, status=HELD))
        db.session.flush()
        return
    enqueue("mail", payload, network_id=network_id)


def flush_digests(now: datetime | None = None) -> int:
    """Send the held mails of every recipient whose oldest held mail waited MAIL_DIGEST_SECONDS by *now*.

    One held mail goes out as it was queued; several for the same recipient and network as one digest.
    Returns how many mails were sent (queued). The periodic job "mail-digest" runs this every minute."""
    now = now or utcnow()
    delay = timedelta(seconds=int(current_app.config.get("MAIL_DIGEST_SECONDS") or 0))
    held = db.session.scalars(select(Outbox).where(Outbox.kind == "mail", Outbox.status == HELD)
                              .order_by(Outbox.id).with_for_update()).all()
    groups: dict[tuple[str, int | None], list[Outbox]] = {}
    for row in held:
        groups.setdefault((row.payload["to"].lower(), row.network_id), []).append(row)
    sent = 0
    for (_to, network_id), rows in groups.items():
        if min(_naive(row.created_at) for row in rows) > _naive(now) - delay:
            continue  # the first change is too recent: wait for more
        sent += _send_group(rows, network_id)
    db.session.commit()
    run_inline_pending()
    return sent


def _naive(moment: datetime) -> datetime:
    return moment.replace(tzinfo=None) if moment.tzinfo else moment


def _send_group(rows: list[Outbox], network_id: int | None) -> int:
    if len(rows) == 1:
        rows[0].status = "pending"
        db.session.info.setdefault("outbox_new", []).append(rows[0].id)
        return 1
    # Each line keeps its own re-check: a line whose recipient may no longer be told is left out.
    kept = []
    for row in rows:
        if network_id is not None:
            with network_context(network_id):
                allowed = _still_allowed(row.payload)
        else:
            allowed = _still_allowed(row.payload)
        row.status = MERGED if allowed else DROPPED
        row.delivered_at = utcnow()
        if allowed:
            kept.append(row)
    if not kept:
        return 0
    if len(kept) == 1:
        kept[0].status = "pending"
        kept[0].delivered_at = None
        db.session.info.setdefault("outbox_new", []).append(kept[0].id)
        return 1
    first = kept[0].payload
    locale = first["digest"]["locale"]
    lines = [row.payload["digest"] for row in kept]
    with force_locale(locale):
        subject = ngettext("%(num)d update in Netwerkzorg", "%(num)d updates in Netwerkzorg", len(lines))
        body = render_template("email/digest.txt", name=first["digest"]["name"], lines=lines)
    enqueue("mail", {"to": first["to"], "subject": subject, "body": body, "template": "digest"},
            network_id=network_id)
    return 1


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
