"""The coordinator's referral figures (/n/<slug>/referrals/dashboard) on a known data set: per month,
median times, the acknowledgement norm, disciplines and statuses; the SVG chart, the empty state and
a fixed number of queries.

Today is fixed at Wednesday 10 June 2026, 08:00 UTC; the last 12 months are July 2025 to June 2026.
The norm is 2 working days. Users are made with locale "en".
"""
from __future__ import annotations

import html as html_module
import re
from datetime import UTC, date, datetime

import pytest
import time_machine
from sqlalchemy import select

from app.core.tenancy import network_context
from app.extensions import db
from app.networks.models import Role
from app.referrals import services
from app.referrals.dashboard import MonthCount, bar_chart_svg, referral_figures
from app.referrals.models import Referral, ReferralStatus
from app.referrals.services import Action, Side
from tests.conftest import counted_statements, login_as, make_gp, make_member, make_network
from tests.referral_factories import make_referral

S = ReferralStatus
NOW = datetime(2026, 6, 10, 8, 0, tzinfo=UTC)


def at(year, month, day, hour=8, minute=0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def noord():
    network = make_network("noord", name="Netwerk Noord", approved_at=NOW)
    boss = make_member(network, "carla@example.nl", role=Role.COORDINATOR, name="Carla Coordinator", locale="en",
                       password=None, mfa=False).user
    gp = make_gp("huisarts@example.nl", name="Hanna Huisarts", locale="en")
    return network, boss, gp


class Story:
    """Submit referrals and move them on at given moments."""

    def __init__(self, clock, network, boss, gp):
        self.clock, self.network, self.boss, self.gp = clock, network, boss, gp

    def submit(self, when: datetime, disciplines: tuple[str, ...] = ()) -> int:
        self.clock.move_to(when)
        return make_referral(self.network, self.gp, disciplines=disciplines).id

    def step(self, referral_id: int, action: Action, when: datetime, **kwargs) -> None:
        self.clock.move_to(when)
        with network_context(self.network.id):
            referral = db.session.scalar(select(Referral).where(Referral.id == referral_id))
            side = services.RULES[action].side
            services.transition(referral, action, actor=self.gp if side is Side.REFERRER else self.boss, side=side,
                                text="Toelichting", **kwargs)
            db.session.commit()


@pytest.fixture
def known(clock, noord):
    """Eight referrals (one older than a year) plus a draft and a referral of another network."""
    story = Story(clock, *noord)
    # A: June 1, acknowledged after 6 hours (within), intake on June 15 (14 days).
    a = story.submit(at(2026, 6, 1), ("dietist", "fysiotherapeut"))
    story.step(a, Action.ACKNOWLEDGE, at(2026, 6, 1, 14))
    story.step(a, Action.ACCEPT, at(2026, 6, 2))
    story.step(a, Action.PLAN_INTAKE, at(2026, 6, 2), intake_on=date(2026, 6, 15))
    # B: May 4 (Monday, due Wednesday), acknowledged on Friday after 96 hours (outside), intake May 14 (10 days).
    b = story.submit(at(2026, 5, 4), ("dietist",))
    story.step(b, Action.ACKNOWLEDGE, at(2026, 5, 8))
    story.step(b, Action.ACCEPT, at(2026, 5, 8))
    story.step(b, Action.PLAN_INTAKE, at(2026, 5, 8), intake_on=date(2026, 5, 14))
    # C: May 20, declined after 2 hours without an acknowledgement: the network answered within the norm.
    c = story.submit(at(2026, 5, 20), ("fysiotherapeut",))
    story.step(c, Action.DECLINE, at(2026, 5, 20, 10))
    # D: June 1, still waiting, due June 3: overdue, so outside the norm.
    story.submit(at(2026, 6, 1, 9))
    # E: today, still waiting and not due yet: not counted for the norm.
    story.submit(at(2026, 6, 10, 7))
    # F: May 11, withdrawn by the GP after 4 hours, before it was due: not counted for the norm.
    f = story.submit(at(2026, 5, 11))
    story.step(f, Action.WITHDRAW, at(2026, 5, 11, 12))
    # G: January 2025, outside the 12 months: only in the status counts.
    g = story.submit(at(2025, 1, 15), ("fysiotherapeut",))
    story.step(g, Action.ACKNOWLEDGE, at(2025, 1, 15, 9))
    # H: July 1 2025, the first month of the period, acknowledged after 2 hours.
    h = story.submit(at(2025, 7, 1), ("dietist",))
    story.step(h, Action.ACKNOWLEDGE, at(2025, 7, 1, 10))
    clock.move_to(NOW)
    make_referral(noord[0], noord[2], status=S.DRAFT)
    zuid = make_network("zuid", approved_at=NOW)
    make_referral(zuid, noord[2], disciplines=("dietist",))
    return noord


def test_figures_on_a_known_data_set(app, known):
    network = known[0]
    with app.test_request_context(headers={"Accept-Language": "en"}), network_context(network.id):
        figures = referral_figures(locale="en")

    assert [(m.month, m.count) for m in figures.months] == [
        (date(2025, 7, 1), 1), *[(date(2025, month, 1), 0) for month in range(8, 13)],
        *[(date(2026, month, 1), 0) for month in range(1, 5)], (date(2026, 5, 1), 3), (date(2026, 6, 1), 3)]
    assert figures.total == 7
    assert figures.median_ack_hours == 4.0  # 2, 2, 6 and 96 hours
    assert figures.median_intake_days == 12  # 14 and 10 days
    assert (figures.within_norm, figures.outside_norm) == (3, 2)  # A, C, H within; B, D outside
    assert figures.norm_share == pytest.approx(0.6)
    assert figures.per_discipline == [("Dietician", 3), ("Physiotherapist", 2)]
    assert figures.per_status == [(S.SUBMITTED, 2), (S.ACKNOWLEDGED, 2), (S.INTAKE_PLANNED, 2), (S.DECLINED, 1),
                                  (S.WITHDRAWN, 1)]


def test_dashboard_page_shows_the_figures_and_the_chart(client, known):
    login_as(client, known[1])

    response = client.get("/n/noord/referrals/dashboard")

    assert response.status_code == 200
    html = html_module.unescape(response.get_data(as_text=True))
    assert re.search(r'id="norm-share">60% <span class="muted">\(3 of 5\)', html)
    assert '<dd id="median-ack">4 hours</dd>' in html and '<dd id="median-intake">12 days</dd>' in html
    assert "within 2 working days" in html
    assert re.findall(r"<tr><td>([^<]+)</td><td>(\d+)</td></tr>", html.split('id="per-discipline"')[1]) == [
        ("Dietician", "3"), ("Physiotherapist", "2")]
    assert re.findall(r'data-status="([a-z_]+)"><td>[^<]+</td><td>(\d+)', html) == [
        ("submitted", "2"), ("acknowledged", "2"), ("intake_planned", "2"), ("declined", "1"), ("withdrawn", "1")]
    svg = html[html.index("<svg"):html.index("</svg>")]
    assert 'role="img"' in svg and 'aria-label="Referrals per month, last 12 months"' in svg
    assert "<title>Referrals per month, last 12 months</title>" in svg
    assert "Jul 2025 1, Aug 2025 0" in svg and "May 2026 3, Jun 2026 3" in svg  # the <desc>
    assert "style=" not in svg and "<script" not in svg
    assert re.findall(r"<script[^>]*>", html) == ['<script src="/static/js/tables.js" defer>',
                                                        '<script src="/static/js/forms.js" defer>',
                                                        '<script src="/static/js/nav.js" defer>']  # no page script
    assert len(re.findall(r"<rect ", svg)) == 12
    assert "<title>Jun 2026: 3</title>" in svg
    assert "Wim" not in html and "Jansen" not in html  # figures only, no patient data


def test_chart_bars_scale_to_the_busiest_month(app):
    months = [MonthCount(date(2025, 7 + i, 1) if i < 6 else date(2026, i - 5, 1), i % 3) for i in range(12)]
    with app.test_request_context(headers={"Accept-Language": "en"}):
        svg = str(bar_chart_svg(months))
    heights = [float(h) for h in re.findall(r'<rect [^>]*height="([\d.]+)"', svg)]
    assert heights[:3] == [0.0, pytest.approx(96.0), pytest.approx(192.0)]  # 0, 1 and 2 of at most 2
    assert 'fill="#0b6e6e"' in svg


def test_dashboard_without_referrals_shows_an_empty_state(client, noord):
    login_as(client, noord[1])
    html = client.get("/n/noord/referrals/dashboard").get_data(as_text=True)
    assert "No referrals yet." in html and "<svg" not in html


def test_dashboard_with_only_old_referrals_shows_statuses_but_no_chart(client, clock, noord):
    story = Story(clock, *noord)
    story.submit(at(2024, 3, 1))
    clock.move_to(NOW)
    login_as(client, noord[1])
    html = client.get("/n/noord/referrals/dashboard").get_data(as_text=True)
    assert "No referrals in the last 12 months." in html and "<svg" not in html
    assert re.search(r'data-status="submitted"><td>Submitted</td><td>1</td>', html)


def test_dashboard_query_count_is_fixed(client, clock, noord):
    story = Story(clock, *noord)
    login_as(client, noord[1])
    first = story.submit(at(2026, 5, 4), ("dietist",))
    story.step(first, Action.ACKNOWLEDGE, at(2026, 5, 5))
    clock.move_to(NOW)
    client.get("/n/noord/referrals/dashboard")
    with counted_statements() as few:
        client.get("/n/noord/referrals/dashboard")
    for day in range(1, 11):
        referral_id = story.submit(at(2026, 4, day), ("dietist", "psycholoog"))
        story.step(referral_id, Action.DECLINE if day % 2 else Action.ACKNOWLEDGE, at(2026, 4, day, 12))
    clock.move_to(NOW)
    with counted_statements() as many:
        html = client.get("/n/noord/referrals/dashboard").get_data(as_text=True)
    assert "<title>Apr 2026: 10</title>" in html
    assert len(many) == len(few)
