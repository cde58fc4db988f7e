"""No usable one-time token at rest, none in URLs after the first GET, and queued mail re-checked before SMTP.

A reset or invitation mail's outbox row keeps only a reference (user id, purpose); the token is minted right
before SMTP, so after delivery the token exists only in the mail (the database keeps its hash). Every
string and JSON column of every table is searched for it. A link's token moves into the session on the
first GET and the browser continues at a URL without it. A reminder queued before a consent withdrawal or
before a membership ended is dropped when it would be sent (a real SMTP server, aiosmtpd).
"""
from __future__ import annotations

import re

from sqlalchemy import JSON, String, Text, select, update

from app.auth.models import AccountToken, TokenPurpose
from app.cases import services as case_services
from app.cases.models import Case
from app.core.jobs import DROPPED, Outbox, deliver_outbox
from app.core.mail import LINK_PLACEHOLDER
from app.core.tenancy import network_context
from app.extensions import db
from app.networks.models import Membership, Role
from tests.conftest import login_as, make_member, make_network
from tests.test_auth import (  # noqa: F401 - client: the English-speaking client fixture
    LINK_INVALID,
    NEW_PASSWORD,
    body,
    client,
    fresh,
    member,
    path_of,
    post_login,
    user,
)
from tests.test_case_proms import casus, make_dietician_central, queue_reminder  # noqa: F401 - fixture
from tests.test_jobs import REDIS_DOWN

BASE = "http://localhost"


def token_in(mail_body: str, path: str) -> str:
    match = re.search(re.escape(BASE + path) + r"([A-Za-z0-9_\-]+)", mail_body)
    assert match, mail_body
    return match.group(1)


def tables_holding(needle: str) -> list[str]:
    """table.column of every string/JSON column of every table in which *needle* occurs in some row."""
    db.session.rollback()
    found = []
    for table in db.metadata.sorted_tables:
        columns = [c for c in table.columns if isinstance(c.type, String | Text | JSON)]
        if not columns:
            continue
        for row in db.session.execute(select(*columns)).all():
            for column, value in zip(columns, row, strict=True):
                if value is not None and needle in str(value):
                    found.append(f"{table.name}.{column.name}")
    return found


def mail_rows(template: str) -> list[Outbox]:
    db.session.rollback()
    return [row for row in db.session.scalars(select(Outbox).where(Outbox.kind == "mail").order_by(Outbox.id))
            if row.payload["template"] == template]


def open_tokens(user_id: int) -> int:
    db.session.rollback()
    return len(db.session.scalars(select(AccountToken).where(AccountToken.user_id == user_id,
                                                             AccountToken.used_at.is_(None))).all())


# --- no usable token at rest ---------------------------------------------------------------------------------

def test_reset_and_invitation_tokens_are_in_no_table_after_delivery_and_the_links_work_once(inline_app, smtp):
    someone = user("reset-me@example.nl")
    network = make_network("noord")
    coordinator = make_member(network, "coo@example.nl", role=Role.COORDINATOR)
    assert inline_app.test_client().post("/password/forgot", data={"email": someone.email}).status_code == 302
    coo_client = login_as(inline_app.test_client(), coordinator.user)
    assert coo_client.post("/n/noord/members/invite", data={
        "email": "nieuw@example.nl", "full_name": "Nieuw Lid", "role": "member"}).status_code == 302

    [reset_mail] = [m for m in smtp.messages if m.rcpt_tos == [someone.email]]
    [invite_mail] = [m for m in smtp.messages if m.rcpt_tos == ["nieuw@example.nl"]]
    reset_token = token_in(reset_mail.body, "/password/reset/")
    invite_token = token_in(invite_mail.body, "/invitation/")
    assert len(reset_token) >= 40 and len(invite_token) >= 40
    assert [r.status for r in mail_rows("password_reset") + mail_rows("invitation")] == ["done", "done"]
    assert tables_holding(reset_token) == []
    assert tables_holding(invite_token) == []
    # The queued body held only the placeholder; that is all the outbox keeps.
    assert LINK_PLACEHOLDER in mail_rows("password_reset")[0].payload["body"]

    # The links work, once.
    reset_browser = inline_app.test_client()
    assert reset_browser.get(f"/password/reset/{reset_token}").status_code == 302
    done = reset_browser.post("/password/reset", data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert done.status_code == 302 and path_of(done) == "/login"
    assert inline_app.test_client().get(f"/password/reset/{reset_token}").status_code == 404
    invite_browser = inline_app.test_client()
    assert invite_browser.get(f"/invitation/{invite_token}").status_code == 302
    done = invite_browser.post("/invitation", data={"full_name": "Nieuw Lid", "password": NEW_PASSWORD,
                                                    "confirm": NEW_PASSWORD})
    assert done.status_code == 302 and path_of(done) == "/login"
    assert inline_app.test_client().get(f"/invitation/{invite_token}").status_code == 404
    # Nothing of either token entered a table by being used either (the session keeps only a hash).
    assert tables_holding(reset_token) == [] and tables_holding(invite_token) == []


def test_while_queued_no_token_exists_and_a_retry_mints_a_fresh_one(app_with, mail_sink):
    """Redis is down: the reset mail waits in the outbox. No open token exists meanwhile; the first
    attempt fails at SMTP (nothing listens yet) and its minted token is rolled back with it; delivery then
    mints one that works."""
    someone = user("queued@example.nl")
    sink = mail_sink()  # not started yet: the first attempt cannot connect
    down = app_with(REDIS_URL=REDIS_DOWN, MAIL_URL=sink.url)
    assert down.test_client().post("/password/forgot", data={"email": someone.email}).status_code == 302
    [row] = mail_rows("password_reset")
    assert row.status == "pending" and "one_time_link" in row.payload
    assert open_tokens(someone.id) == 0

    inline = app_with(REDIS_URL=None, MAIL_URL=sink.url)
    with inline.app_context():
        try:
            deliver_outbox(row.id)
        except OSError:
            pass
        else:
            raise AssertionError("SMTP should have been refused")
    assert open_tokens(someone.id) == 0 and mail_rows("password_reset")[0].attempts == 1

    sink.start()
    with inline.app_context():
        deliver_outbox(row.id)
    [mail] = sink.messages
    token = token_in(mail.body, "/password/reset/")
    assert open_tokens(someone.id) == 1 and tables_holding(token) == []
    browser = inline.test_client()
    assert browser.get(f"/password/reset/{token}").status_code == 302
    assert browser.post("/password/reset", data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}).status_code == 302


def test_an_invitation_queued_before_deactivation_mints_nothing_and_is_dropped(app_with, smtp):
    network = make_network("noord")
    coordinator = make_member(network, "coo@example.nl", role=Role.COORDINATOR)
    down = app_with(REDIS_URL=REDIS_DOWN, MAIL_URL=smtp.url)
    coo_client = login_as(down.test_client(), coordinator.user)
    assert coo_client.post("/n/noord/members/invite", data={
        "email": "weg@example.nl", "full_name": "Weg", "role": "member"}).status_code == 302
    [row] = mail_rows("invitation")
    with network_context(network.id):
        db.session.execute(update(Membership).where(Membership.network_id == network.id,
                                                    Membership.role == Role.MEMBER).values(is_active=False))
        db.session.commit()
    with app_with(REDIS_URL=None, MAIL_URL=smtp.url).app_context():
        deliver_outbox(row.id)
    assert smtp.messages == []
    assert mail_rows("invitation")[0].status == DROPPED
    assert open_tokens(row.payload["one_time_link"]["user_id"]) == 0


# --- the token leaves the URL -------------------------------------------------------------------------------

def test_a_reset_link_moves_its_token_into_the_session_and_redirects_to_a_url_without_it(client):  # noqa: F811
    someone = user("url@example.nl")
    assert client.post("/password/forgot", data={"email": someone.email}).status_code == 302
    from tests.conftest import delivered_mails
    token = token_in(delivered_mails(someone.email, "password_reset")[-1]["body"], "/password/reset/")

    opened = client.get(f"/password/reset/{token}")
    assert opened.status_code == 302 and opened.headers["Location"] == "/password/reset"
    page = client.get("/password/reset")
    assert page.status_code == 200 and token not in body(page) and 'name="password"' in body(page)
    assert page.request.path == "/password/reset" and token not in page.request.url
    done = client.post("/password/reset", data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert done.status_code == 302 and path_of(done) == "/login" and token not in done.headers["Location"]
    # The session's link is used: the form is gone, and so is the link; the new password works.
    assert client.get("/password/reset").status_code == 404
    assert client.get(f"/password/reset/{token}").status_code == 404
    assert path_of(post_login(client, someone.email, NEW_PASSWORD)) == "/login/mfa"


def test_bad_links_get_the_link_not_valid_page_never_a_500(client):  # noqa: F811
    for path in ("/password/reset/nonsense", "/invitation/nonsense", "/password/reset/" + "x" * 5000,
                 "/invitation/%00%ff", "/password/reset", "/invitation"):
        response = client.get(path)
        assert response.status_code == 404 and LINK_INVALID in body(response), path
    assert client.post("/password/reset", data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}).status_code == 404
    assert client.post("/invitation", data={"full_name": "X", "password": NEW_PASSWORD,
                                            "confirm": NEW_PASSWORD}).status_code == 404
    assert client.get("/verwijzer/email/nonsense").status_code == 404
    assert client.post("/verwijzer/email", data={}).status_code == 404
    # A tampered session value is no better than none.
    with client.session_transaction() as session:
        session["link_token_hash:reset"] = ["not", "a", "hash"]
    assert client.get("/password/reset").status_code == 404


def test_a_bad_link_also_forgets_the_good_one_opened_before(client):  # noqa: F811
    someone = member(make_network("oost"), "twee@example.nl", password=None, mfa=False)
    from app.auth.services import issue_token
    token = issue_token(someone, TokenPurpose.INVITE)
    db.session.commit()
    assert client.get(f"/invitation/{token}").status_code == 302
    assert client.get("/invitation/nonsense").status_code == 404
    assert client.get("/invitation").status_code == 404
    assert fresh(someone).password_hash is None


# --- re-check before SMTP -----------------------------------------------------------------------------------

def _run_reminder_job_keep_mail_queued(app, row_id: int) -> Outbox:
    """Run the reminder job; its mail row stays pending (as when a worker picks it up later)."""
    with app.app_context():
        deliver_outbox(row_id)
        db.session.info.pop("outbox_inline", None)
    [mail] = mail_rows("prom_reminder")
    assert mail.status == "pending"
    return mail


def test_a_reminder_queued_before_consent_withdrawal_is_dropped(app_with, smtp, casus):  # noqa: F811
    inline = app_with(REDIS_URL=None, MAIL_URL=smtp.url)
    make_dietician_central(casus)
    mail = _run_reminder_job_keep_mail_queued(inline, queue_reminder(casus))
    assert mail.payload["recheck"] == {"kind": "prom_reminder", "ids": {
        "membership_id": casus["dietician"].id, "case_ids": [casus["case"].id]}}
    with network_context(casus["zk"].id):
        for consent in case_services.consents_of(db.session.get(Case, casus["case"].id)):
            case_services.withdraw_consent(consent, casus["coordinator"].user, "Patiënt wil dit niet meer")
        db.session.commit()

    with inline.app_context():
        deliver_outbox(mail.id)
    assert smtp.messages == []
    assert mail_rows("prom_reminder")[0].status == DROPPED


def test_a_reminder_queued_before_the_membership_ended_is_dropped(app_with, smtp, casus):  # noqa: F811
    inline = app_with(REDIS_URL=None, MAIL_URL=smtp.url)
    make_dietician_central(casus)
    mail = _run_reminder_job_keep_mail_queued(inline, queue_reminder(casus))
    with network_context(casus["zk"].id):
        db.session.execute(update(Membership).where(Membership.id == casus["dietician"].id).values(is_active=False))
        db.session.commit()
    with inline.app_context():
        deliver_outbox(mail.id)
    assert smtp.messages == []
    assert mail_rows("prom_reminder")[0].status == DROPPED


def test_control_without_withdrawal_the_queued_reminder_is_delivered(app_with, smtp, casus):  # noqa: F811
    inline = app_with(REDIS_URL=None, MAIL_URL=smtp.url)
    make_dietician_central(casus)
    mail = _run_reminder_job_keep_mail_queued(inline, queue_reminder(casus))
    with inline.app_context():
        deliver_outbox(mail.id)
    assert [m.rcpt_tos for m in smtp.messages] == [["dietist@zk.nl"]]
    assert mail_rows("prom_reminder")[0].status == "done"


def test_a_coordinator_reminder_is_dropped_once_the_coordinator_role_ended(app_with, smtp):
    from app.networks.services.memberships import may_still_be_told
    network = make_network("noord")
    coordinator = make_member(network, "coo@example.nl", role=Role.COORDINATOR)
    with network_context(network.id):
        assert may_still_be_told(user_id=coordinator.user_id, role=Role.COORDINATOR.value)
        assert may_still_be_told(membership_id=coordinator.id, role=Role.COORDINATOR.value)
        db.session.execute(update(Membership).where(Membership.id == coordinator.id).values(role=Role.MEMBER))
        db.session.commit()
        assert not may_still_be_told(user_id=coordinator.user_id, role=Role.COORDINATOR.value)
        assert may_still_be_told(membership_id=coordinator.id)
        assert not may_still_be_told()
