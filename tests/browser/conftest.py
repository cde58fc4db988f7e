"""A live server in a thread and Debian's Chromium driven by Playwright (never a downloaded browser)."""
from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
# Every browser wait is for a condition (an element, a text, a navigation); this is only the point at
# which a condition that never comes fails the test. It is generous because CI runs on a busy 2-core
# machine, where a page under a threaded dev server can take seconds; a passing test never waits it out.
BROWSER_TIMEOUT_MS = 90_000


def _closed_before_sending(app):
    """The body is read and its iterable closed before werkzeug writes it. Werkzeug's dev server closes
    the iterable only after draining the socket, and a browser that has already gone (a page left while
    its favicon loads) makes that drain raise: the static file would stay open, and its ResourceWarning
    fails whichever test is running when it is collected."""
    def wsgi(environ, start_response):
        body = app(environ, start_response)
        try:
            return [b"".join(body)]
        finally:
            if hasattr(body, "close"):
                body.close()
    return wsgi


@pytest.fixture
def live_server(app):
    server = make_server("127.0.0.1", 0, _closed_before_sending(app), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture(scope="session")
def chromium():
    from playwright.sync_api import expect

    expect.set_options(timeout=BROWSER_TIMEOUT_MS)
    if not os.path.exists(CHROMIUM):
        pytest.fail("Debian's chromium is missing: make test installs it with apt-get")
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
        "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"])
    yield browser
    browser.close()
    playwright.stop()


@pytest.fixture
def page(chromium, request):
    context = chromium.new_context(locale="nl-NL", viewport={"width": 1200, "height": 900})
    page = context.new_page()
    page.set_default_timeout(BROWSER_TIMEOUT_MS)
    page.set_default_navigation_timeout(BROWSER_TIMEOUT_MS)
    yield page
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()
