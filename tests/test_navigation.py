"""The main navigation marks where you are (aria-current="page"), by the feature of the page."""
from __future__ import annotations

import re

import pytest

from app.core.db import utcnow
from app.networks.models import Role
from tests.conftest import login_as, make_member, make_network


def _current(html: str) -> list[str]:
    nav = html.split('aria-label="Main"')[1].split("</nav>")[0]
    return [re.sub(r"<[^>]+>|\s+", " ", text).strip() for text in
            re.findall(r'aria-current="page">(.*?)</a>', nav, re.S)]


@pytest.mark.parametrize("path, current", [
    ("/n/noord/", "Network"), ("/n/noord/members", "Members"), ("/n/noord/meetings/", "Meetings"),
    ("/n/noord/cases/", "Cases"), ("/n/noord/referrals/", "Referrals"), ("/n/noord/audit", "Audit log"),
    ("/n/noord/quality/", "Quality self-check"), ("/account", "My account"), ("/", None)])
def test_the_current_place_is_marked_once(client, path, current):
    network = make_network("noord", approved_at=utcnow())
    coordinator = make_member(network, "coo@example.nl", role=Role.COORDINATOR, locale="en").user
    login_as(client, coordinator)
    response = client.get(path, follow_redirects=True)
    assert response.status_code == 200
    marked = _current(response.get_data(as_text=True))
    assert [text.split(" ")[0] if current == "Referrals" else text for text in marked] == \
        ([current] if current else [])
