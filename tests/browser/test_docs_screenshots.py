"""The guides' screenshots (make docs): the demo data of app/demo.py, each role signed in through the real forms,
each page captured at 1280 px wide and one viewport high into docs/guides/img/<role>-<page>.png.

Runs only when selected (`-m docs`, as `make docs` does), so the normal browser pass never rewrites the committed
images. Every capture records the templates the page rendered, with a hash of their contents
(tests/guide_images.py); tests/test_docs_guides.py fails when one of them changed since."""
from __future__ import annotations

import re

import pyotp
import pytest
from flask import template_rendered
from sqlalchemy import select

from app import demo
from app.auth.models import User
from app.cases.models import CareTeamMember, Case, TeamStatus
from app.core.db import utcnow
from app.core.tenancy import all_networks
from app.extensions import db
from app.networks.models import Membership
from app.patients.models import PortalAccount
from app.referrals.models import Referral
from tests.browser.conftest import BROWSER_TIMEOUT_MS
from tests.conftest import current_totp
from tests.guide_images import IMAGES, TEMPLATES, read_manifest, templates_hash, with_referenced, write_manifest

pytestmark = [pytest.mark.browser, pytest.mark.docs]
VIEWPORT = {"width": 1280, "height": 800}
ZK = "/n/zuid-kennemerland"


@pytest.fixture(autouse=True)
def _only_when_selected(request):
    if not re.search(r"(?<!not )\bdocs\b", request.config.getoption("markexpr") or ""):  # "-m docs", not "not docs"
        pytest.skip("makes the guides' screenshots: run with -m docs (make docs)")


def _login(name: str) -> User:
    return db.session.scalar(select(User).where(User.email == f"{name}@{demo.DOMAIN}"))


def _referral(given: str, family: str) -> Referral:
    return db.session.scalar(all_networks(select(Referral).where(Referral.given_name == given,
                                                                 Referral.family_name == family)))


def _pages() -> dict[str, list[tuple[str, str]]]:
    """Per role (the demo login that plays it): (page name, URL path) to capture, in order."""
    johan = _referral("Johan", "Verbeek")
    case = db.session.scalar(all_networks(select(Case).where(Case.referral_id == johan.id)))
    account = db.session.scalar(all_networks(select(PortalAccount).where(
        PortalAccount.user_id == _login(demo.PATIENT_LOGIN[0]).id)))
    eva = db.session.scalar(all_networks(select(Membership).where(Membership.user_id == _login("eva.mulder").id)))
    waiting = db.session.scalar(all_networks(select(CareTeamMember).where(
        CareTeamMember.membership_id == eva.id, CareTeamMember.status == TeamStatus.PROPOSED)))
    anna, kees, ria = _referral("Anna", "de Wit"), _referral("Kees", "Brouwer"), _referral("Ria", "Koster")
    return {
        "marieke.devries": [
            ("coordinator-home", f"{ZK}/"),
            ("coordinator-referrals", f"{ZK}/referrals/"),
            ("coordinator-referral", f"{ZK}/referrals/{anna.id}"),
            ("coordinator-intake", f"{ZK}/cases/intake/{ria.id}"),
            ("coordinator-case", f"{ZK}/cases/{case.id}"),
            ("coordinator-consent", f"{ZK}/cases/{case.id}/toestemming"),
            ("coordinator-portal", f"{ZK}/portaal/verwijzing/{johan.id}"),
            ("coordinator-members", f"{ZK}/members"),
            ("coordinator-meetings", f"{ZK}/meetings/"),
            ("coordinator-self-check", f"{ZK}/quality/"),
            ("coordinator-audit-log", f"{ZK}/audit"),
        ],
        "sanne.bakker": [
            ("member-home", f"{ZK}/"),
            ("member-cases", f"{ZK}/cases/"),
            ("member-case", f"{ZK}/cases/{case.id}"),
            ("member-notes", f"{ZK}/cases/{case.id}/notities"),
            ("member-directory", f"{ZK}/members"),
        ],
        "hans.willems": [
            ("gp-directory", "/netwerken?postcode=2012+AB"),
            ("gp-referral-form", "/verwijzer/verwijzingen/nieuw/zuid-kennemerland"),
            ("gp-referrals", "/verwijzer/verwijzingen/"),
            ("gp-question", f"/verwijzer/verwijzingen/{kees.id}"),
            ("gp-in-care", f"/verwijzer/verwijzingen/{johan.id}"),
        ],
        demo.PATIENT_LOGIN[0]: [
            ("patient-record", f"/mijn/{account.id}"),
            ("patient-proposal", f"/mijn/{account.id}/voorstel/{waiting.id}"),
            ("patient-consents", f"/mijn/{account.id}/toestemming"),
            ("patient-access-log", f"/mijn/{account.id}/inzage"),
            ("patient-relatives", f"/mijn/{account.id}/naasten"),
        ],
        demo.ADMIN[0]: [
            ("admin-networks", "/admin/"),
            ("admin-new-network", "/admin/networks/new"),
            ("admin-users", "/admin/users"),
        ],
    }


def _sign_in(page, base: str, user: User) -> None:
    """The real sign-in: the demo password, then a code of the authenticator app (given to the demo account here:
    outside development demo accounts do not skip the second step)."""
    page.goto(f"{base}/login")
    page.fill("#email", user.email)
    page.fill("#password", demo.DEMO_PASSWORD)
    with page.expect_navigation():
        page.click("main button[type=submit]")
    page.wait_for_url("**/login/mfa")
    page.fill("#code", current_totp(user))
    with page.expect_navigation():
        page.click("main button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)


def test_capture_the_guides_screenshots(app, chromium, live_server):
    demo.load_demo()
    pages = _pages()
    for login in pages:
        user = _login(login)
        user.totp_secret, user.mfa_enabled_at = pyotp.random_base32(), utcnow()
    db.session.commit()

    shown: list[str] = []

    def _record(sender, template, context, **extra):
        if template.name and template.name.endswith(".html") and not template.name.startswith("email/"):
            shown.append(template.name)

    manifest = read_manifest()
    IMAGES.mkdir(parents=True, exist_ok=True)
    template_rendered.connect(_record, app)
    try:
        for login, captures in pages.items():
            context = chromium.new_context(locale="nl-NL", viewport=VIEWPORT)
            page = context.new_page()
            page.set_default_timeout(BROWSER_TIMEOUT_MS)
            page.set_default_navigation_timeout(BROWSER_TIMEOUT_MS)
            try:
                _sign_in(page, live_server, _login(login))
                for name, path in captures:
                    shown.clear()
                    response = page.goto(live_server + path)
                    assert response is not None and response.ok, f"{name}: {path} answered {response and response.status}"
                    page.wait_for_load_state("load")
                    assert shown, f"{name}: no template rendered"
                    page.screenshot(path=str(IMAGES / f"{name}.png"), full_page=False)
                    names = with_referenced(app.jinja_env, set(shown))
                    assert all((TEMPLATES / template).is_file() for template in names), names
                    manifest[f"{name}.png"] = {"templates": names,
                                               "templates_sha256": templates_hash(names)}
            finally:
                context.close()
    finally:
        template_rendered.disconnect(_record, app)
    write_manifest(manifest)
    assert len(manifest) >= sum(len(captures) for captures in pages.values())
