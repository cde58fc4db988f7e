"""FHIR R4 Subscriptions (issue 15, status out): a GP's system subscribes to its Tasks with a rest-hook; when the
coordinator acts, a real HTTP receiver gets a POST without body naming the Subscription and the Task (no patient
data), the system reads the Task and sees the new status; a failed delivery is retried by the job queue; another
GP's system hears nothing; bad Subscriptions get an OperationOutcome; DELETE and revoking end the notifications."""
from __future__ import annotations

import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from app.core.db import utcnow
from app.core.jobs import Outbox, relay_pending, run_inline_pending
from app.core.tenancy import network_context
from app.extensions import db
from app.fhir import clients
from app.fhir.models import ApiSubscription
from app.fhir.subscriptions import JOB_KIND
from app.networks.models import Role
from app.referrals import services as referral_services
from app.referrals.models import Referral
from tests.conftest import make_member, make_network
from tests.fhir_helpers import bearer, bundle, get_token, make_verified_gp, register

SECRETS = ("Wim", "Jansen", "111222333", "Dorpsstraat")


class Receiver:
    """A system's notification endpoint: keeps every request; answers *fail_next* 500s first."""

    def __init__(self):
        self.requests: list[dict] = []
        self.fail_next = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                receiver.requests.append({"path": self.path, "headers": dict(self.headers),
                                          "body": self.rfile.read(length)})
                status = 500 if receiver.fail_next else 200
                receiver.fail_next = max(0, receiver.fail_next - 1)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    made = Receiver()
    yield made
    made.stop()


@pytest.fixture
def world():
    network = make_network("noord", approved_at=utcnow())
    coordinator = make_member(network, "coord@example.nl", role=Role.COORDINATOR)
    gp = make_verified_gp()
    api_client, secret = register(gp)
    return {"network": network, "coordinator": coordinator, "gp": gp, "client": api_client, "secret": secret}


def subscription(endpoint: str, criteria: str = "Task", **channel) -> dict:
    return {"resourceType": "Subscription", "status": "requested", "reason": "HIS follows its referrals",
            "criteria": criteria, "channel": {"type": "rest-hook", "endpoint": endpoint, **channel}}


def _act(world, referral_id: int, action) -> None:
    with network_context(world["network"].id):
        referral_services.transition(db.session.get(Referral, referral_id), action, actor=world["coordinator"].user,
                                     side=referral_services.Side.NETWORK)
        db.session.commit()
    run_inline_pending()


def test_the_system_hears_of_each_change_and_reads_the_task(client, world, receiver):
    token = get_token(client, world["client"], world["secret"])
    created = client.post("/fhir/R4/Subscription", headers=bearer(token),
                          json=subscription(receiver.url, header=["Authorization: Bearer receiver-secret"]))
    assert created.status_code == 201, created.get_data(as_text=True)
    body = created.get_json()
    assert body["status"] == "active" and "receiver-secret" not in created.get_data(as_text=True)
    posted = client.post("/fhir/R4/", json=bundle(), headers=bearer(token))
    task_id = int(posted.get_json()["entry"][0]["resource"]["id"])
    assert receiver.requests == []  # submitting is the system's own act

    _act(world, task_id, referral_services.Action.ACKNOWLEDGE)
    (hook,) = receiver.requests
    assert hook["headers"]["X-Task"] == f"Task/{task_id}" and hook["headers"]["X-Subscription"] == f"Subscription/{body['id']}"
    assert hook["headers"]["Authorization"] == "Bearer receiver-secret" and hook["body"] == b""
    assert not [s for s in SECRETS if s in str(hook)]
    task = client.get(f"/fhir/R4/{hook['headers']['X-Task']}", headers=bearer(token)).get_json()
    assert task["status"] == "received"

    _act(world, task_id, referral_services.Action.ACCEPT)
    assert len(receiver.requests) == 2
    assert client.get(f"/fhir/R4/Task/{task_id}", headers=bearer(token)).get_json()["status"] == "accepted"


def test_a_failed_delivery_is_kept_and_retried(client, world, receiver):
    token = get_token(client, world["client"], world["secret"])
    client.post("/fhir/R4/Subscription", headers=bearer(token), json=subscription(receiver.url))
    task_id = int(client.post("/fhir/R4/", json=bundle(), headers=bearer(token)).get_json()["entry"][0]["resource"]["id"])
    receiver.fail_next = 1
    _act(world, task_id, referral_services.Action.ACKNOWLEDGE)
    assert len(receiver.requests) == 1
    db.session.rollback()
    row = db.session.scalar(select(Outbox).where(Outbox.kind == JOB_KIND))
    assert row.status == "pending" and row.attempts == 1 and "HTTPError" in row.last_error
    stored = db.session.scalar(select(ApiSubscription))
    assert stored.failures == 1
    assert client.get(f"/fhir/R4/Subscription/{stored.id}", headers=bearer(token)).get_json()["error"]
    assert relay_pending(older_than=timedelta(0)) == 1  # the relay offers it again
    assert len(receiver.requests) == 2
    db.session.rollback()
    assert db.session.get(Outbox, row.id).status == "done" and db.session.get(ApiSubscription, stored.id).failures == 0


def test_another_gps_system_hears_nothing_and_a_task_subscription_only_its_task(client, world, receiver):
    other = make_verified_gp("other@example.nl", "07654321")
    other_client, other_secret = register(other)
    other_token = get_token(client, other_client, other_secret)
    token = get_token(client, world["client"], world["secret"])
    client.post("/fhir/R4/Subscription", headers=bearer(other_token), json=subscription(receiver.url + "/other"))
    first = int(client.post("/fhir/R4/", json=bundle(), headers=bearer(token)).get_json()["entry"][0]["resource"]["id"])
    second_bundle = bundle()
    second_bundle["entry"][1]["resource"]["identifier"][0]["value"] = "his-req-43"
    second = int(client.post("/fhir/R4/", json=second_bundle, headers=bearer(token)).get_json()["entry"][0]["resource"]["id"])
    # A Subscription to another GP's Task: 404, nothing stored.
    refused = client.post("/fhir/R4/Subscription", headers=bearer(other_token),
                          json=subscription(receiver.url, criteria=f"Task?_id={first}"))
    assert refused.status_code == 404
    only_second = client.post("/fhir/R4/Subscription", headers=bearer(token),
                              json=subscription(receiver.url + "/second", criteria=f"Task?_id={second}"))
    assert only_second.status_code == 201
    _act(world, first, referral_services.Action.ACKNOWLEDGE)
    _act(world, second, referral_services.Action.ACKNOWLEDGE)
    assert [r["path"] for r in receiver.requests] == ["/hook/second"]


@pytest.mark.parametrize(("change", "status", "expression"), [
    ({"criteria": "Patient"}, 422, "Subscription.criteria"),
    ({"criteria": "Task?status=received"}, 422, "Subscription.criteria"),
    ({"channel": {"type": "websocket"}}, 422, "Subscription.channel.type"),
    ({"channel": {"type": "rest-hook", "endpoint": "http://his.example.nl/hook"}}, 422,
     "Subscription.channel.endpoint"),
    ({"channel": {"type": "rest-hook", "endpoint": "file:///etc/passwd"}}, 422, "Subscription.channel.endpoint"),
    ({"channel": {"type": "rest-hook", "endpoint": "https://his.example.nl/hook", "payload": "application/fhir+json"}},
     422, "Subscription.channel.payload"),
    ({"channel": {"type": "rest-hook", "endpoint": "https://his.example.nl/hook", "header": ["no colon"]}}, 422,
     "Subscription.channel.header"),
    ({"channel": "not an object"}, 400, None),
    ({"resourceType": "Patient"}, 400, "resourceType"),
])
def test_bad_subscriptions_are_refused_with_the_element_named(client, world, change, status, expression):
    token = get_token(client, world["client"], world["secret"])
    data = {**subscription("https://his.example.nl/hook"), **change}
    response = client.post("/fhir/R4/Subscription", headers=bearer(token), json=data)
    assert response.status_code == status, response.get_data(as_text=True)
    issue = response.get_json()["issue"][0]
    if expression:
        assert issue["expression"] == [expression]
    assert db.session.scalar(select(db.func.count()).select_from(ApiSubscription)) == 0


def test_delete_and_revoking_the_client_end_the_notifications(client, world, receiver):
    token = get_token(client, world["client"], world["secret"])
    created = client.post("/fhir/R4/Subscription", headers=bearer(token), json=subscription(receiver.url)).get_json()
    ended = client.delete(f"/fhir/R4/Subscription/{created['id']}", headers=bearer(token))
    assert ended.status_code == 200 and ended.get_json()["status"] == "off"
    task_id = int(client.post("/fhir/R4/", json=bundle(), headers=bearer(token)).get_json()["entry"][0]["resource"]["id"])
    _act(world, task_id, referral_services.Action.ACKNOWLEDGE)
    assert receiver.requests == []

    client.post("/fhir/R4/Subscription", headers=bearer(token), json=subscription(receiver.url))
    clients.revoke_client(world["client"], by=world["gp"])
    db.session.commit()
    _act(world, task_id, referral_services.Action.ACCEPT)
    assert receiver.requests == []
    # Someone else's Subscription id: 404.
    other = make_verified_gp("other@example.nl", "07654321")
    other_client, other_secret = register(other)
    other_token = get_token(client, other_client, other_secret)
    assert client.get(f"/fhir/R4/Subscription/{created['id']}", headers=bearer(other_token)).status_code == 404
