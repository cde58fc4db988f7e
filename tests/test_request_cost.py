"""The fixed cost of a signed-in page: the URL's network, the session and its user come in one query, the
membership in one, and nothing is loaded again after the request's commit (the response headers ask the gate,
not the expired user).

How it fails: make UserSession.user lazy (a second SELECT FROM users), or ask
current_user.is_authenticated in the after_request headers (the user is loaded again after the commit)."""
from __future__ import annotations

import re

from app.extensions import db
from app.networks.models import Role
from tests.conftest import counted_statements, login_as, make_member, make_network


def _tables_read(statements: list[str]) -> list[str]:
    return [re.search(r"\bFROM (\w+)", s).group(1) for s in statements if s.lstrip().upper().startswith("SELECT")
            and re.search(r"\bFROM (\w+)", s)]


def test_a_network_page_reads_session_user_and_membership_once_each(client):
    network = make_network("zk")
    coordinator = make_member(network, "c@example.nl", role=Role.COORDINATOR)
    db.session.commit()
    login_as(client, coordinator.user)
    client.get("/n/zk/")
    db.session.expunge_all()  # the request must load what it needs, not find the test's objects
    for path in ("/n/zk/", "/n/zk/audit"):
        with counted_statements() as statements:
            response = client.get(path)
        assert response.status_code == 200
        assert response.headers["Cache-Control"] == "no-store"
        tables = _tables_read(statements)
        # The session is read with the URL's network: FROM networks LEFT OUTER JOIN user_sessions, users.
        session_reads = [s for s in statements if re.search(r"\b(FROM|JOIN) user_sessions\b", s)]
        assert len(session_reads) == 1 and "JOIN users" in session_reads[0], path
        assert re.search(r"\bFROM networks LEFT OUTER JOIN user_sessions\b", session_reads[0]), path
        assert tables.count("users") == 0, (path, tables)
        # The membership statement may read the coordinator's badge count in a subquery before its own FROM.
        membership_reads = [s for s in statements if re.search(r"\bFROM memberships\b", s)]
        assert tables.count("networks") == 1 and len(membership_reads) >= 1, (path, tables)


def test_an_ended_session_on_a_network_page_goes_to_the_sign_in_not_a_404(client):
    """The session comes outer-joined to the URL's network and is checked as one read on its own: a revoked session,
    or no session row for the cookie's token (ended and cleaned up), asks to sign in. How it fails: take the
    preloaded row in app/core/security.py _load_session without the checks below it, and the revoked session
    gets the page."""
    from sqlalchemy import delete, update

    from app.core.security import UserSession

    network = make_network("zk")
    coordinator = make_member(network, "c@example.nl", role=Role.COORDINATOR)
    db.session.commit()
    for end in (update(UserSession).values(revoked_at=UserSession.created_at), delete(UserSession)):
        login_as(client, coordinator.user)
        assert client.get("/n/zk/").status_code == 200
        db.session.execute(end)
        db.session.commit()
        response = client.get("/n/zk/")
        assert response.status_code == 302 and "/login" in response.location, (str(end), response.status_code)
    # Signed out, a slug that names no network gets the same answer as one that does (slugs are not confirmed).
    response = client.get("/n/unknown/")
    assert response.status_code == 302 and "/login" in response.location
