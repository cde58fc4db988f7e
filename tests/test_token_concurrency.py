"""One link, one use, also at once: 20 concurrent POSTs with one reset token and with one invitation token
against PostgreSQL, each from its own client (own cookies, own app context, own connection, as concurrent
browsers). Exactly one sets the password; the others get the "link not valid" page; one audit row."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from app.auth.models import TokenPurpose, User
from app.auth.services import issue_token
from app.core.audit import AuditEvent
from app.extensions import db
from tests.conftest import IS_POSTGRES, make_network
from tests.test_auth import member, user

pytestmark = [pytest.mark.postgres_only,
              pytest.mark.skipif(not IS_POSTGRES, reason="concurrency is proven on PostgreSQL")]

THREADS = 20


def _race(new_client, link: str, url: str, data_for) -> list[int]:
    """Each client opens *link* (its token moves into that client's session), then all POST *url* at once."""
    clients = [new_client() for _ in range(THREADS)]
    for client in clients:
        assert client.get(link).status_code == 302  # looking does not use the link
        assert client.get(url).status_code == 200
    barrier = threading.Barrier(THREADS, timeout=60)
    statuses: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def post(index: int) -> None:
        try:
            barrier.wait()
            response = clients[index].post(url, data=data_for(index))
            with lock:
                statuses.append(response.status_code)
        except BaseException as exc:
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=post, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    return statuses


def _audit_rows(event: str, user_id: int) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.event == event,
                                                                      AuditEvent.user_id == user_id))


def test_twenty_concurrent_uses_of_one_reset_token_succeed_once(new_client):
    someone = user("race@example.nl")
    token = issue_token(someone, TokenPurpose.RESET)
    db.session.commit()
    passwords = [f"nieuw-wachtwoord-{i:02d}-lang" for i in range(THREADS)]
    statuses = _race(new_client, f"/password/reset/{token}", "/password/reset",
                     lambda i: {"password": passwords[i], "confirm": passwords[i]})
    assert sorted(statuses) == [302] + [404] * (THREADS - 1), statuses
    assert _audit_rows("user.password_reset", someone.id) == 1


def test_twenty_concurrent_uses_of_one_invitation_succeed_once(new_client):
    invited = member(make_network("race"), "invited-race@example.nl", password=None, mfa=False, name="Iemand")
    token = issue_token(invited, TokenPurpose.INVITE)
    db.session.commit()
    statuses = _race(new_client, f"/invitation/{token}", "/invitation",
                     lambda i: {"full_name": f"Naam {i:02d}", "password": f"uitnodiging-{i:02d}-lang",
                                "confirm": f"uitnodiging-{i:02d}-lang"})
    assert sorted(statuses) == [302] + [404] * (THREADS - 1), statuses
    assert _audit_rows("user.invitation_accepted", invited.id) == 1
    db.session.rollback()
    assert db.session.get(User, invited.id).full_name.startswith("Naam ")
