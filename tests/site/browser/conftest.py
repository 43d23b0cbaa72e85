"""The built site in a real browser (Debian's chromium driven by playwright).

Once per test session: build the site with mkdocs (one of the runs beside the tests,
tests/harness/background_runs.py, started right after collection), serve it with http.server on
127.0.0.1 (a free port, in a thread) and start one headless chromium with one tab that the tests share.

Every request the browser makes is routed through ``offsite``: a request for any host
other than 127.0.0.1 is aborted and recorded, and the test that made it fails.

The site is built as the deployment builds it (.github/workflows/pages.yml): with REPO_URL and
SITE_URL set (``DEPLOYED``, a repository handson-ci/sft-lora-handson-ja), so the header links to the
repository and the notebook page has its Colab button; and it is served under the site's path
(/sft-lora-handson-ja/), as GitHub Pages serves a project site. A local build (no URLs) is
checked without a browser in tests/site/test_links.py.

Without chromium or playwright the tests skip with the reason; in CI (``CI=true``) they fail.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import background_runs
import pytest
from learner_files import DEPLOYED  # tests/harness/learner_files.py: what the deployment sets
from page_weight import search_worker_left_out
from readability import DESKTOP

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
SITE_PATH = urlsplit(DEPLOYED["SITE_URL"]).path  # /sft-lora-handson-ja/
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

# Diagrams come drawn ahead of time, in an open shadow root (tools/site_build/prerendered.py). One
# not drawn yet is drawn by Material in the browser, into a *closed* shadow root: opening it (before any
# page script runs) lets the tests look at that SVG the same way; nothing else changes.
#
# Material remembers the color scheme of the first visit in localStorage; forgetting it before each
# page's scripts run makes every visit a first visit that follows the emulated preference.
FIRST_VISIT_WITH_OPEN_SHADOW_ROOTS = """
(() => {
  if (location.protocol.startsWith("http"))  // not on about:blank (Received.clear), which has no storage
    for (const key of Object.keys(localStorage))
      if (key.endsWith("__palette")) localStorage.removeItem(key);
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


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """In CI every browser test runs: a skip there is a failure."""
    outcome = yield
    report = outcome.get_result()
    if IN_CI and report.skipped and Path(str(item.fspath)).parent == Path(__file__).parent:
        report.outcome = "failed"
        report.longrepr = f"browser tests must not skip in CI: {report.longrepr}"


@pytest.fixture(scope="session")
def deployed_build() -> tuple[Path, str]:
    """``(site folder, build log)`` of the site built with the deployment's URLs (a background run)."""
    out = background_runs.wait("deployed_site", timeout=180)
    log = (out / "stdout.txt").read_text(encoding="utf-8") + (out / "stderr.txt").read_text(encoding="utf-8")
    return background_runs.deployed_site(out)[0], log


@pytest.fixture(scope="session")
def prerender_sources(deployed_build) -> dict:
    """Every diagram source and formula that build met: ``{"diagrams": {key: source}, "formulas": [...]}``."""
    _, sources = background_runs.deployed_site(background_runs.folder("deployed_site"))
    return json.loads(sources.read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def built_site(deployed_build) -> Path:
    return deployed_build[0]


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


@pytest.fixture(scope="session")
def site_url(built_site) -> Iterator[str]:
    """The site's address on 127.0.0.1, under the site's path as on GitHub Pages (ends with /)."""
    served = built_site.parents[len(Path(SITE_PATH.strip("/")).parts) - 1]
    handler = functools.partial(_QuietHandler, directory=str(served))
    server = http.server.ThreadingHTTPServer((LOCAL_HOST, 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{LOCAL_HOST}:{server.server_address[1]}{SITE_PATH}"
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


class Received:
    """The responses the browser got since ``clear()``, and the requests still waiting for theirs (``open``).

    Requests made before the last ``clear()`` (by a page left behind) are not counted. The bytes of a
    response are read when asked for (``sizes()``), while the page that got it is still open.
    """

    def __init__(self) -> None:
        self.responses: list = []
        self.open: set = set()
        self._round = 0
        self._round_of: dict = {}

    def clear(self, tab) -> None:
        """Start counting afresh for the next page load in ``tab``. The tab leaves its page first (for
        about:blank), so that no request of that page is still on its way and counted as the next's."""
        tab.goto("about:blank")
        self.responses, self.open, self._round_of = [], set(), {}
        self._round += 1

    def watch(self, context) -> None:
        def requested(request):
            self._round_of[request] = self._round
            self.open.add(request)

        def finished(request):
            if self._round_of.pop(request, None) == self._round:
                self.responses.append(request.response())
            self.open.discard(request)

        def failed(request):
            self._round_of.pop(request, None)
            self.open.discard(request)

        context.on("request", requested)
        context.on("requestfinished", finished)
        context.on("requestfailed", failed)

    def urls(self) -> list[str]:
        return [response.url for response in self.responses if response is not None]

    def sizes(self) -> dict[str, int]:
        """URL -> bytes of the response bodies (summed when a URL came more than once)."""
        sizes: dict[str, int] = {}
        for response in self.responses:
            if response is not None:
                sizes[response.url] = sizes.get(response.url, 0) + len(response.body())
        return sizes


@pytest.fixture(scope="session")
def received() -> Received:
    return Received()


@pytest.fixture(scope="session")
def page_weights() -> dict[str, dict[str, int]]:
    """Site path -> {URL: bytes} of a page load without the search worker (tests/site/browser/page_weight.py)."""
    return {}


@pytest.fixture(scope="session")
def landing_with_search_worker() -> dict[str, int]:
    """URL -> bytes of a load of the landing page with Material's search worker: made by the search test
    (tests/site/browser/test_browser_search.py), which needs the worker's index anyway, for test_page_weight.py."""
    return {}


@pytest.fixture(scope="session")
def page_copies() -> dict[str, list[str]]:
    """Site path -> what each copy button put on the clipboard (tests/site/browser/copy_buttons.py), from the
    per-page load of test_browser_pages.py."""
    return {}


@pytest.fixture(scope="session")
def page_layouts() -> dict[str, dict]:
    """Site path -> what a reader sees at 1280 and 390 px (tests/site/browser/readability.py), from the per-page
    load of test_browser_pages.py."""
    return {}


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
def context(browser, site_url, traffic, received):
    """One browser context for the session: clipboard allowed, every request checked and its response
    counted (``received``). Routing every request also turns the HTTP cache off (playwright), so every
    page load starts from an empty cache."""
    context = browser.new_context(locale="ja-JP", viewport=DESKTOP)
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(site_url))
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=origin)
    context.add_init_script(FIRST_VISIT_WITH_OPEN_SHADOW_ROOTS)

    def offsite(route):
        url = route.request.url
        if urlsplit(url).hostname == LOCAL_HOST:
            route.continue_()
        else:
            traffic.offsite.append(url)
            route.abort()

    def any_request(request):  # also sees what workers fetch
        url = urlsplit(request.url)
        if url.scheme in ("http", "https") and url.hostname != LOCAL_HOST and request.url not in traffic.offsite:
            traffic.offsite.append(request.url)

    context.route("**/*", offsite)
    context.on("request", any_request)
    received.watch(context)
    yield context
    context.close()


@pytest.fixture(scope="session")
def shared_tab(context, traffic):
    """One tab for the whole session (opening a tab per test costs more than navigating)."""
    tab = context.new_page()
    tab.set_default_timeout(10_000)
    tab.on(
        "console",
        lambda message: traffic.errors.append(f"{tab.url}: {message.text}") if message.type == "error" else None,
    )
    tab.on("pageerror", lambda error: traffic.errors.append(f"{tab.url}: uncaught {error}"))
    yield tab
    tab.close()


@pytest.fixture
def page(shared_tab, traffic):
    """The browser tab. After the test: no console error, no uncaught error, no request off 127.0.0.1."""
    traffic.take()
    shared_tab.emulate_media(color_scheme="light")
    if shared_tab.viewport_size != DESKTOP:  # left narrow by readability.measure: widen it on an empty page
        shared_tab.goto("about:blank")
        shared_tab.set_viewport_size(DESKTOP)
    yield shared_tab
    offsite, errors = traffic.take()
    assert offsite == [], f"requests left 127.0.0.1: {offsite}"
    assert errors == [], f"console errors: {errors}"


@pytest.fixture
def page_without_search(page):
    """The tab, with Material's search worker left out (``search_worker_left_out``)."""
    with search_worker_left_out(page):
        yield page
