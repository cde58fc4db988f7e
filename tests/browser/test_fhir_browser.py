"""The FHIR API over real HTTP (urllib against the live server, no test client), while the coordinator acts in a
real browser (issue 15's "done means"): the GP's system gets a token, subscribes to its Tasks, posts the referral
Bundle, reads the Task; the coordinator acknowledges and accepts in Chromium and the system hears of each change and
reads the Task move; after the intake it reads the letter and its PDF. Every resource the server returns validates
with fhir.resources."""
from __future__ import annotations

import base64
import json
import re
import urllib.error
import urllib.request

import pytest
from fhir.resources.R4B import get_fhir_model_class
from sqlalchemy import select

from app.cases import services as case_services
from app.cases.models import Letter
from app.cases.services import letters as letter_services
from app.core.db import utcnow
from app.core.jobs import run_inline_pending
from app.core.tenancy import network_context
from app.extensions import db
from app.networks.models import Role
from app.referrals.models import Referral
from tests.browser.helpers import acknowledge_and_accept, open_referral_from_inbox, sign_in
from tests.conftest import make_member, make_network
from tests.fhir_helpers import bundle, make_verified_gp, register
from tests.test_fhir_subscriptions import Receiver

pytestmark = pytest.mark.browser


def http(method: str, url: str, *, token: str = "", body: bytes | None = None, headers: dict | None = None):
    """(status, headers, body) of one plain HTTP request."""
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def fhir(method: str, url: str, token: str, data: dict | None = None):
    status, headers, raw = http(method, url, token=token, body=json.dumps(data).encode() if data else None,
                                headers={"Content-Type": "application/fhir+json"} if data else {})
    resource = json.loads(raw)
    get_fhir_model_class(resource["resourceType"]).model_validate(resource)  # every answer validates
    return status, headers, resource


def test_a_gp_system_follows_its_referral_while_the_coordinator_works_in_the_browser(page, live_server):
    network = make_network("zk", name="Oncologienetwerk Zuid-Kennemerland", approved_at=utcnow())
    coordinator = make_member(network, "marieke@example.nl", role=Role.COORDINATOR, disciplines=("casemanager",),
                              name="Marieke de Vries")
    gp = make_verified_gp("hans.willems@example.nl", name="Hans Willems")
    api_client, secret = register(gp)
    base = f"{live_server}/fhir/R4"
    receiver = Receiver()
    try:
        # 1. A token (client credentials, HTTP Basic), a Subscription, the referral.
        basic = base64.b64encode(f"{api_client.client_id}:{secret}".encode()).decode()
        status, _headers, raw = http("POST", f"{base}/auth/token", body=b"grant_type=client_credentials",
                                     headers={"Authorization": f"Basic {basic}",
                                              "Content-Type": "application/x-www-form-urlencoded"})
        assert status == 200
        token = json.loads(raw)["access_token"]
        status, _headers, _body = fhir("POST", f"{base}/Subscription", token, {
            "resourceType": "Subscription", "status": "requested", "reason": "HIS", "criteria": "Task",
            "channel": {"type": "rest-hook", "endpoint": receiver.url}})
        assert status == 201
        data = bundle()
        data["entry"][1]["resource"]["performer"][0]["identifier"]["value"] = "zk"
        status, headers, created = fhir("POST", f"{base}/", token, data)
        assert created["type"] == "transaction-response"
        assert status == 201 and headers["Location"].startswith("Task/")
        task_url = f"{base}/{headers['Location']}"
        assert fhir("GET", task_url, token)[2]["status"] == "requested"
        referral_id = int(headers["Location"].split("/")[1])
        db.session.rollback()
        with network_context(network.id):
            number = db.session.get(Referral, referral_id).number

        # 2. The coordinator acknowledges and accepts in the browser; the system hears of each and reads the Task.
        sign_in(page, live_server, coordinator.user)
        row = open_referral_from_inbox(page, "zk", number)
        row.get_by_role("link", name=number).click()
        page.wait_for_url(re.compile(r"/n/zk/referrals/[0-9]+$"))
        acknowledge_and_accept(page)
        assert [r["headers"]["X-Task"] for r in receiver.requests] == [headers["Location"]] * 2
        assert all(r["body"] == b"" for r in receiver.requests)
        assert fhir("GET", task_url, token)[2]["status"] == "accepted"

        # 3. The intake is held and its letter sent; the system reads the letter and the PDF.
        with network_context(network.id):
            referral = db.session.get(Referral, referral_id)
            intake = case_services.start_intake(referral, coordinator.user)
            case_services.save_intake(intake, coordinator.user, {"story": "Sinds de operatie diarree."})
            case = case_services.complete_intake(intake, coordinator.user, coordinator)
            letter = db.session.scalar(select(Letter).where(Letter.case_id == case.id))
            letter_services.send_letter(letter, coordinator.user)
            db.session.commit()
        run_inline_pending()
        assert fhir("GET", task_url, token)[2]["status"] == "in-progress"
        _status, _headers, found = fhir("GET", f"{base}/DocumentReference?task={headers['Location']}", token)
        assert found["total"] == 1
        pdf_url = next(c["attachment"]["url"] for c in found["entry"][0]["resource"]["content"]
                       if c["attachment"]["contentType"] == "application/pdf")
        status, pdf_headers, pdf = http("GET", pdf_url, token=token)
        assert status == 200 and pdf_headers["Content-Type"] == "application/pdf" and pdf[:5] == b"%PDF-"
        # Without the token: 401 and an OperationOutcome.
        status, _headers, raw = http("GET", task_url)
        assert status == 401 and json.loads(raw)["resourceType"] == "OperationOutcome"
    finally:
        receiver.stop()
