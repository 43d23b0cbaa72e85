"""The built site in a real browser (Debian's chromium driven by playwright).

Once per test session: build the site with mkdocs into a temporary folder, serve it with
http.server on 127.0.0.1 (a free port, in a thread) and start one headless chromium.
Every request the browser makes is routed through ``offsite``: a request for any host
other than 127.0.0.1 is aborted and recorded, and the test that made it fails.

Without chromium or playwright the tests skip with the reason; in CI (``CI=true``) they fail.
"""

from __future__ import annotations

import functools
import http.server
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
LOCAL_HOST = "127.0.0.1"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

# Material draws each ```mermaid fence into a *closed* shadow root. Opening it (before any
# page script runs) lets the tests look at the drawn SVG; nothing else changes.
OPEN_SHADOW_ROOTS = """
(() => {
  const attach = Element.prototype.attachShadow;
  Element.prototype.attachShadow = function (init) {
    return attach.call(this, { ...init, mode: "open" });
  };
})();
"""


def _browser_missing() -> str | None:
    if not CHROMIUM.exists():
        return f"no browser installed: {CHROMIUM} is missing (apt-get install -y chromium fonts-noto-cjk)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return 'no browser driver installed: playwright is missing (pip install ".[test]")'
    return None


@pytest.fixture(scope="session")
def built_site(tmp_path_factory) -> Path:
    site = tmp_path_factory.mktemp("browser") / "site"
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return site


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - signature of the base class
        pass


@pytest.fixture(scope="session")
def site_url(built_site) -> Iterator[str]:
    handler = functools.partial(_QuietHandler, directory=str(built_site))
    server = http.server.ThreadingHTTPServer((LOCAL_HOST, 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{LOCAL_HOST}:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class Traffic:
    """Requests that tried to leave 127.0.0.1, and console errors, since the last check."""

    offsite: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def take(self) -> tuple[list[str], list[str]]:
        offsite, errors = self.offsite[:], self.errors[:]
        self.offsite.clear()
        self.errors.clear()
        return offsite, errors


@pytest.fixture(scope="session")
def browser():
    missing = _browser_missing()
    if missing is not None:  # CI always installs the browser (.ci/run): there a missing one is a failure
        (pytest.fail if IN_CI else pytest.skip)(missing)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def traffic() -> Traffic:
    return Traffic()


@pytest.fixture(scope="session")
def context(browser, site_url, traffic):
    """One browser context for the session: clipboard allowed, every request checked."""
    context = browser.new_context(locale="ja-JP", viewport={"width": 1280, "height": 900})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=site_url.rstrip("/"))
    context.add_init_script(OPEN_SHADOW_ROOTS)

    def offsite(route):
        url = route.request.url
        if urlsplit(url).hostname == LOCAL_HOST:
            route.continue_()
        else:
            traffic.offsite.append(url)
            route.abort()

    def any_request(request):  # also sees what workers fetch
        if urlsplit(request.url).scheme in ("http", "https") and urlsplit(request.url).hostname != LOCAL_HOST:
            if request.url not in traffic.offsite:
                traffic.offsite.append(request.url)

    context.route("**/*", offsite)
    context.on("request", any_request)
    yield context
    context.close()


@pytest.fixture
def page(context, traffic):
    """A fresh tab. At the end of the test: no console error, no uncaught error, no request off 127.0.0.1."""
    traffic.take()
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.on(
        "console",
        lambda message: traffic.errors.append(f"{page.url}: {message.text}") if message.type == "error" else None,
    )
    page.on("pageerror", lambda error: traffic.errors.append(f"{page.url}: uncaught {error}"))
    yield page
    page.close()
    offsite, errors = traffic.take()
    assert offsite == [], f"requests left 127.0.0.1: {offsite}"
    assert errors == [], f"console errors: {errors}"
