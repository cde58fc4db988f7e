"""Login throttling that cannot be turned against the account holder (app/auth/throttle.py).

Failures slow down one account+address (or account+device) with doubling, capped waits, refused with
"try again in N seconds" and Retry-After, never a sleep and never a hard lock; a neighbour behind the
same address does not lock the holder out; failures from many addresses never block a correct login from
a clean address; the holder is warned by one mail. Time is frozen and moved by the test (no sleeps).
"""
from __future__ import annotations

import re
from datetime import timedelta

from app.auth import throttle
from tests.conftest import current_totp
from tests.test_auth import (  # noqa: F401 - client, new_client, clock: fixtures
    WRONG_LOGIN,
    body,
    client,
    clock,
    live_sessions,
    logout,
    mails_to,
    new_client,
    path_of,
    post_login,
    user,
)

HOLDER_ADDRESS = "203.0.113.10"


def wait_of(response) -> int:
    assert response.status_code == 429, response.status_code
    match = re.search(r"Try again in (\d+) seconds", body(response))
    assert match, body(response)[:2000]
    assert response.headers["Retry-After"] == match.group(1)
    return int(match.group(1))


def full_login(client, account, clock):  # noqa: F811
    clock.shift(timedelta(seconds=31))  # a fresh TOTP time step: a code is accepted once
    response = post_login(client, account.email)
    assert response.status_code == 302 and path_of(response) == "/login/mfa", (response.status_code, body(response)[:300])
    response = client.post("/login/mfa", data={"code": current_totp(account)})
    assert response.status_code == 302 and not path_of(response).startswith("/login"), path_of(response)
    return response


def test_failures_slow_down_with_doubling_capped_waits_instead_of_a_lock(client, clock):  # noqa: F811
    target = user("target@example.nl")
    for attempt in range(throttle.FREE_FAILURES):
        response = post_login(client, target.email, f"guess number {attempt}")
        assert response.status_code == 200 and WRONG_LOGIN in body(response)
    waits = []
    for attempt in range(8):
        waits.append(wait_of(post_login(client, target.email)))  # even the right password is not tried now
        assert live_sessions(target) == 0
        clock.shift(timedelta(seconds=waits[-1]))
        assert post_login(client, target.email, f"again {attempt}").status_code == 200  # tried, and wrong
    assert waits == [30, 60, 120, 240, 480, 900, 900, 900]
    clock.shift(timedelta(seconds=900))
    assert post_login(client, target.email).status_code == 302  # the right password after a bounded wait


def test_other_accounts_and_other_addresses_are_not_slowed_down(client, new_client, clock):  # noqa: F811
    target = user("target@example.nl")
    for attempt in range(throttle.FREE_FAILURES):
        post_login(client, target.email, f"guess number {attempt}")
    assert wait_of(post_login(client, target.email)) == 30
    assert post_login(client, user("bystander@example.nl").email).status_code == 302
    assert post_login(new_client("198.51.100.7"), target.email).status_code == 302


def test_unknown_accounts_are_slowed_down_alike(client):  # noqa: F811
    for attempt in range(throttle.FREE_FAILURES):
        assert WRONG_LOGIN in body(post_login(client, "nobody@example.nl", f"guess {attempt}"))
    assert wait_of(post_login(client, "nobody@example.nl")) == 30


def test_a_neighbour_on_the_same_address_cannot_lock_the_holder_out(new_client, clock):  # noqa: F811
    holder = user("holder@example.nl")
    own_browser = new_client(HOLDER_ADDRESS)
    full_login(own_browser, holder, clock)  # a complete login gives this browser its device cookie
    logout(own_browser)

    # The neighbour (same address, no device cookie) fails 12 times, waiting out each refusal.
    neighbour = new_client(HOLDER_ADDRESS)
    for attempt in range(12):
        response = post_login(neighbour, holder.email, f"neighbour guess {attempt}")
        if response.status_code == 429:
            clock.shift(timedelta(seconds=wait_of(response)))
            response = post_login(neighbour, holder.email, f"neighbour guess {attempt}")
        assert response.status_code == 200 and WRONG_LOGIN in body(response)
    assert wait_of(post_login(neighbour, holder.email)) == throttle.MAX_DELAY  # the neighbour is slowed down

    # The holder's own browser: correct password and code get in at once, from the same address.
    full_login(own_browser, holder, clock)
    assert live_sessions(holder) == 1

    # A new browser of the holder on that address waits a bounded time, then gets in.
    fresh_browser = new_client(HOLDER_ADDRESS)
    wait = wait_of(post_login(fresh_browser, holder.email))
    assert wait <= throttle.MAX_DELAY
    clock.shift(timedelta(seconds=wait))
    full_login(fresh_browser, holder, clock)


def test_a_tampered_device_cookie_counts_as_none(new_client, clock):  # noqa: F811
    holder = user("holder@example.nl")
    other = user("other@example.nl")
    browser = new_client(HOLDER_ADDRESS)
    full_login(browser, other, clock)  # a device cookie, but of another account
    logout(browser)
    for attempt in range(throttle.FREE_FAILURES):
        post_login(new_client(HOLDER_ADDRESS), holder.email, f"guess {attempt}")
    assert wait_of(post_login(browser, holder.email)) == 30
    browser.set_cookie(throttle.DEVICE_COOKIE, "forged-value", domain="localhost")
    assert wait_of(post_login(browser, holder.email)) > 0


def test_failures_from_many_addresses_never_block_a_correct_login_from_a_clean_address(new_client, clock):  # noqa: F811
    target = user("target@example.nl")
    for n in range(40):
        attacker = new_client(f"198.51.100.{n + 1}")
        for attempt in range(3):
            post_login(attacker, target.email, f"spray {attempt}")
    clean = new_client("192.0.2.50")
    full_login(clean, target, clock)
    # Once the account is under attack, an address that fails itself waits from its first failure.
    failing = new_client("192.0.2.51")
    assert post_login(failing, target.email, "one wrong guess").status_code == 200
    assert wait_of(post_login(failing, target.email)) == 30


def test_the_holder_is_warned_once_by_mail_without_details(new_client, clock):  # noqa: F811
    target = user("target@example.nl")
    for n in range(15):
        attacker = new_client(f"198.51.100.{n + 1}")
        for attempt in range(3):
            post_login(attacker, target.email, f"spray {attempt}")
    [warning] = mails_to(target.email, "login_failures")
    text = warning.payload["body"] + warning.payload["subject"]
    assert "198.51.100" not in text and "spray" not in text
    assert "not blocked" in text or "niet geblokkeerd" in text
    assert mails_to("nobody@example.nl") == []
