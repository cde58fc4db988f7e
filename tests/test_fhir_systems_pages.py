"""Registering connected systems in the app (issue 15, clients): the coordinator for the network
(/n/<slug>/koppelingen) and a verified GP for their own referrals (/verwijzer/koppelingen). The secret is shown once
and works for a token; only the allowed permissions are offered; bad input keeps the form with a message;
disconnecting asks for confirmation and ends the tokens at once; nobody else reaches either page."""
from __future__ import annotations

import re

from sqlalchemy import select

from app.core.db import utcnow
from app.extensions import db
from app.fhir import clients
from app.fhir.models import ApiClient
from app.networks.models import Role
from tests.conftest import csrf_token, login_as, make_gp, make_member, make_network
from tests.fhir_helpers import basic, bearer, make_verified_gp


def _registered(html: str) -> tuple[str, str]:
    client_id = re.search(r'id="client-id">([^<]+)<', html).group(1)
    secret = re.search(r'id="client-secret">([^<]+)<', html).group(1)
    return client_id, secret


def _token(http, client_id: str, secret: str, scope: str):
    row = db.session.scalar(select(ApiClient).where(ApiClient.client_id == client_id))
    return http.post("/fhir/R4/auth/token", data={"grant_type": "client_credentials", "scope": scope},
                     headers=basic(row, secret), csrf=False)


def test_the_coordinator_registers_and_disconnects_the_networks_system(client, new_client):
    network = make_network("noord", approved_at=utcnow())
    coordinator = make_member(network, "coord@example.nl", role=Role.COORDINATOR)
    member = make_member(network, "lid@example.nl")
    login_as(client, coordinator.user)
    page = client.get("/n/noord/koppelingen/").get_data(as_text=True)
    assert "No system is connected yet" in page or "Er is nog geen systeem" in page
    offered = set(re.findall(r'name="scopes" type="checkbox" value="([^"]+)"', page)) or set(
        re.findall(r'value="(system/[^"]+)"', page))
    assert offered == set(clients.NETWORK_SCOPES)  # never "send referrals": that is a GP's system
    token = csrf_token(client, "/n/noord/koppelingen/")
    # Bad input: no name, no permission, a permission a network's system may not have. The form is kept.
    for data in ({"name": "", "scopes": [clients.SCOPE_TASK_READ]}, {"name": "EPD Spaarne"},
                 {"name": "EPD Spaarne", "scopes": [clients.SCOPE_REFERRAL_WRITE]}):
        response = client.post("/n/noord/koppelingen/", data={"csrf_token": token, **data})
        assert response.status_code == 400, data
        assert 'id="client-secret"' not in response.get_data(as_text=True)
        if data.get("name"):
            assert 'value="EPD Spaarne"' in response.get_data(as_text=True)
    assert db.session.scalar(select(db.func.count()).select_from(ApiClient)) == 0
    response = client.post("/n/noord/koppelingen/", data={"csrf_token": token, "name": "EPD Spaarne",
                                                          "scopes": [clients.SCOPE_TASK_READ]})
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    client_id, secret = _registered(response.get_data(as_text=True))
    assert secret not in client.get("/n/noord/koppelingen/").get_data(as_text=True)  # shown once
    system = new_client()
    assert _token(system, client_id, secret, clients.SCOPE_TASK_READ).status_code == 200

    # A member: 404 on both pages; another network's coordinator cannot disconnect it.
    row = db.session.scalar(select(ApiClient).where(ApiClient.client_id == client_id))
    other = make_network("zuid", approved_at=utcnow())
    other_coordinator = make_member(other, "coord-zuid@example.nl", role=Role.COORDINATOR)
    member_client = login_as(new_client(), member.user)
    assert member_client.get("/n/noord/koppelingen/").status_code == 404
    outsider = login_as(new_client(), other_coordinator.user)
    assert outsider.get(f"/n/zuid/koppelingen/{row.id}/ontkoppelen").status_code == 404

    # Disconnecting asks for the tick first; then the token stops working at once.
    revoke = f"/n/noord/koppelingen/{row.id}/ontkoppelen"
    assert client.get(revoke).status_code == 200
    assert client.post(revoke, data={"csrf_token": token}).status_code == 400
    db.session.rollback()
    assert db.session.get(ApiClient, row.id).revoked_at is None
    assert client.post(revoke, data={"csrf_token": token, "confirm": "y"}).status_code == 302
    db.session.rollback()
    assert db.session.get(ApiClient, row.id).revoked_at is not None
    assert _token(system, client_id, secret, clients.SCOPE_TASK_READ).status_code in (400, 401)


def test_a_verified_gp_registers_their_own_system_and_others_cannot(client, new_client):
    make_network("noord", approved_at=utcnow())
    gp = make_verified_gp()
    login_as(client, gp)
    page = client.get("/verwijzer/koppelingen").get_data(as_text=True)
    assert clients.SCOPE_REFERRAL_WRITE in page and clients.SCOPE_CONSENT_READ not in page
    token = csrf_token(client, "/verwijzer/koppelingen")
    response = client.post("/verwijzer/koppelingen", data={"csrf_token": token, "name": "HIS Praktijk",
                                                           "scopes": [clients.SCOPE_REFERRAL_WRITE,
                                                                      clients.SCOPE_TASK_READ]})
    client_id, secret = _registered(response.get_data(as_text=True))
    answer = _token(new_client(), client_id, secret, clients.SCOPE_REFERRAL_WRITE)
    assert answer.status_code == 200
    # The token holds the scope asked for, and no more.
    assert new_client().get("/fhir/R4/Task/1", headers=bearer(answer.get_json()["access_token"])).status_code == 403
    row = db.session.scalar(select(ApiClient).where(ApiClient.client_id == client_id))
    assert row.owner_user_id == gp.id and row.network_id is None

    # Another GP: their own (empty) page, and 404 for this GP's system; an unverified GP: 404.
    other = make_verified_gp("ander@example.nl", "07654321")
    other_client = login_as(new_client(), other)
    assert row.name not in other_client.get("/verwijzer/koppelingen").get_data(as_text=True)
    assert other_client.get(f"/verwijzer/koppelingen/{row.id}/ontkoppelen").status_code == 404
    unverified = make_gp("nieuw@example.nl", "01111110")  # e-mail not verified
    assert login_as(new_client(), unverified).get("/verwijzer/koppelingen").status_code == 404
