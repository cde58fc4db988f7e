"""Mail: rendered in the request (no patient data by design), sent by a job over SMTP.

Importing this module registers the "mail" job handler (create_app imports it in register_request_hooks).
"""
from __future__ import annotations

import smtplib
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlparse

from flask import current_app, has_request_context, render_template, url_for
from flask_babel import force_locale

from app.core.jobs import enqueue, job_handler


def absolute_url(endpoint: str, **values: Any) -> str:
    """A link for a mail (BASE_URL + path), also from a job or the CLI where there is no request."""
    if has_request_context():
        return current_app.config["BASE_URL"] + url_for(endpoint, **values)
    with current_app.test_request_context():
        return current_app.config["BASE_URL"] + url_for(endpoint, **values)


def queue_mail(*, to: str, template: str, subject: Any, locale: str = "nl",
               network_id: int | None = None, **context: Any) -> None:
    """Render email/<template>.txt and the (lazy) subject in the recipient's *locale*; sent after commit."""
    with force_locale(locale):
        body = render_template(f"email/{template}.txt", **context)
        subject = str(subject)
    enqueue("mail", {"to": to, "subject": subject, "body": body, "template": template},
            network_id=network_id)


@job_handler("mail")
def send_mail(payload: dict[str, Any]) -> None:
    url = current_app.config.get("MAIL_URL") or ""
    if not url:
        return  # development without SMTP: the local outbox page shows it
    parsed = urlparse(url)
    message = EmailMessage()
    message["From"] = current_app.config["MAIL_SENDER"]
    message["To"] = payload["to"]
    message["Subject"] = payload["subject"]
    message.set_content(payload["body"])
    smtp_class = smtplib.SMTP_SSL if parsed.scheme == "smtps" else smtplib.SMTP
    with smtp_class(parsed.hostname or "localhost", parsed.port or 25, timeout=10) as smtp:
        if parsed.scheme == "smtp+starttls":
            smtp.starttls()
        if parsed.username:
            smtp.login(parsed.username, parsed.password or "")
        smtp.send_message(message)
