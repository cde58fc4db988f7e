"""Follow-ups to the account security tests: reset-mail flooding, the TOTP claim, mail language."""
from __future__ import annotations

from datetime import UTC, datetime

import pyotp
from sqlalchemy import select, update

from app.auth.models import User
from app.auth.services import verify_totp
from app.core.jobs import Outbox
from app.extensions import db
from tests.conftest import make_user


def test_reset_mails_to_one_account_are_limited_per_account(client):
    user = make_user("vera@example.nl")
    answers = [client.post("/password/forgot", data={"email": user.email}).status_code for _ in range(4)]
    assert answers == [302, 302, 302, 429]
    mails = db.session.scalars(select(Outbox).where(Outbox.kind == "mail")).all()
    assert len(mails) == 3
    # Another person is not affected by the flood against Vera.
    other = make_user("piet@example.nl")
    assert client.post("/password/forgot", data={"email": other.email}).status_code == 302


def test_totp_code_is_claimed_in_the_database_not_in_memory(app):
    """A second request holding a stale copy of the user cannot reuse the code the first one used."""
    user = make_user("ria@example.nl")
    code = pyotp.TOTP(user.totp_secret).now()
    counter = pyotp.TOTP(user.totp_secret).timecode(datetime.now(UTC))
    # Another request claimed this time step a moment ago; this session's copy does not know yet.
    db.session.execute(update(User).where(User.id == user.id).values(totp_last_counter=counter + 1)
                       .execution_options(synchronize_session=False))
    assert user.totp_last_counter is None
    assert verify_totp(user, code) is False


def test_mail_subject_is_in_the_recipients_language(client):
    user = make_user("john@example.nl", locale="en")
    client.post("/password/forgot", data={"email": user.email}, headers={"Accept-Language": "nl"})
    mail = db.session.scalars(select(Outbox).where(Outbox.kind == "mail")).one()
    assert mail.payload["subject"] == "Reset your Netwerkzorg password"
    dutch = make_user("jan@example.nl", locale="nl")
    client.post("/password/forgot", data={"email": dutch.email}, headers={"Accept-Language": "en"})
    subjects = {m.payload["to"]: m.payload["subject"] for m in db.session.scalars(select(Outbox))}
    assert subjects[dutch.email] != "Reset your Netwerkzorg password"
