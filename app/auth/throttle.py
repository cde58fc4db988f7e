"""Login throttling that an attacker cannot turn against the account holder.

- Failures are counted per *attempt key*: the account plus the address, or, when the browser carries this
  account's device cookie (set after a complete login with the second factor), the account plus that
  device. A neighbour behind the same address does not have the cookie, so the account holder's own
  browser is never slowed down by the neighbour's failures.
- After FREE_FAILURES failures of one key, each further failure makes that key wait, doubling from
  BASE_DELAY up to MAX_DELAY. While it waits, an attempt is refused with "try again in N seconds"
  (HTTP 429 with Retry-After) before the password is checked; the request never sleeps. A refused attempt
  does not count as a failure, so the wait is bounded: the holder without the cookie gets in after at
  most MAX_DELAY.
- Failures of one account across all addresses never refuse anyone by themselves: once they pass
  ACCOUNT_ALARM in the window, an address (or device) that fails *itself* waits from its first failure.
  A correct password from a clean address is never refused.
- When the account sees WARN_AFTER failures in the window, its holder gets one mail (no addresses, no
  times, no patient data), at most once per WARN_PERIOD.

Counters live in the rate-limit storage (Redis in production, memory in development and tests) and expire
after WINDOW. Unknown and known accounts are throttled alike (identical answers).
"""
from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

from flask import current_app, request
from itsdangerous import BadSignature, URLSafeSerializer

from app.extensions import limiter

FREE_FAILURES = 5
BASE_DELAY = 30  # seconds
MAX_DELAY = 15 * 60
ACCOUNT_ALARM = 20
WARN_AFTER = 10
WINDOW = 60 * 60
WARN_PERIOD = 24 * 60 * 60
DEVICE_COOKIE = "nz_device"
DEVICE_COOKIE_AGE = 365 * 24 * 60 * 60


@dataclass(frozen=True)
class Attempt:
    key: str  # what failures are counted against
    account: str  # the normalised email as typed (known or not)


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="login-device")


def device_of(user_id: int | None) -> str | None:
    """This browser's device id for *user_id*, if it carries a valid device cookie of that account."""
    raw = request.cookies.get(DEVICE_COOKIE)
    if not raw or user_id is None:
        return None
    try:
        data = _serializer().loads(raw)
    except BadSignature:
        return None
    if not isinstance(data, dict) or data.get("u") != user_id or not isinstance(data.get("d"), str):
        return None
    return data["d"]


def remember_device(response, user_id: int) -> None:
    """After a complete login: this browser's failures count apart from its address's (see module doc)."""
    device = device_of(user_id) or secrets.token_urlsafe(16)
    response.set_cookie(DEVICE_COOKIE, _serializer().dumps({"u": user_id, "d": device}), max_age=DEVICE_COOKIE_AGE,
                        secure=current_app.config["SESSION_COOKIE_SECURE"], httponly=True, samesite="Lax")


def attempt_for(email: str, user_id: int | None) -> Attempt:
    account = (email or "").strip().lower()
    device = device_of(user_id)
    key = f"dev:{user_id}:{device}" if device else f"addr:{account}:{request.remote_addr}"
    return Attempt(key=key, account=account)


def _storage():
    return limiter.storage


def retry_after(attempt: Attempt) -> int:
    """Seconds this attempt must still wait (0: it may be tried now)."""
    storage = _storage()
    if not storage.get(f"login-wait:{attempt.key}"):
        return 0
    return max(1, int(storage.get_expiry(f"login-wait:{attempt.key}") - time.time() + 0.999))


def record_failure(attempt: Attempt) -> bool:
    """Count a failed attempt and start the key's wait when due. Returns True when the account holder
    should be warned now (the account passed WARN_AFTER failures; at most once per WARN_PERIOD)."""
    storage = _storage()
    own = storage.incr(f"login-fail:{attempt.key}", WINDOW)
    total = storage.incr(f"login-fail-account:{attempt.account}", WINDOW)
    free = 1 if total >= ACCOUNT_ALARM else FREE_FAILURES
    if own >= free:
        delay = min(BASE_DELAY * 2 ** (own - free), MAX_DELAY)
        storage.clear(f"login-wait:{attempt.key}")
        storage.incr(f"login-wait:{attempt.key}", delay)
    return total >= WARN_AFTER and storage.incr(f"login-warned:{attempt.account}", WARN_PERIOD) == 1


def record_success(attempt: Attempt) -> None:
    """A complete password check: this key starts from zero (the account's total stays)."""
    storage = _storage()
    storage.clear(f"login-fail:{attempt.key}")
    storage.clear(f"login-wait:{attempt.key}")


def known_device_for_submitted_account() -> bool:
    """For the per-address limit's exemption: the browser carries the device cookie of the account typed."""
    from app.auth.services import find_user_by_email

    user = find_user_by_email(request.form.get("email") or "")
    return user is not None and device_of(user.id) is not None
