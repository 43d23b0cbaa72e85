"""What a learner gets, how the tests read it, and two things it must never hold.

A learner gets the built site, the notebook and the standalone script (tools/build_forms.py
generates both; the site serves them too). None of them may hold

- a link that leads nowhere: a placeholder (``OWNER``) or a local or example address (127.0.0.1,
  localhost, example.com) in a link of the site, or in any address in the notebook or the script.
  Links within the site are relative, and fine.
- a secret: a string shaped like a Hugging Face or GitHub token, or the test suite's own HF_TOKEN.

Used for the committed files and a local build (tests/site/test_links.py), for the deployed build
(tests/site/browser/) and for the notebook's cells and install commands (tests/forms/).
"""

from __future__ import annotations

import os
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

# What .github/workflows/pages.yml sets when it deploys the repository handson-ci/sft-lora-handson-ja:
# the tests build the deployed form with these (tests/site/browser/conftest.py, tests/forms/).
DEPLOYED = {
    "REPO_URL": "https://github.com/handson-ci/sft-lora-handson-ja",
    "SITE_URL": "https://handson-ci.github.io/sft-lora-handson-ja/",
}

# Hosts that are never the learner's: this machine, and the names reserved for examples (RFC 2606, 6761).
LOCAL_OR_EXAMPLE_HOST = re.compile(
    r"^(?:localhost|127(?:\.\d{1,3}){3}|0\.0\.0\.0|::1|(?:.+\.)?example\.(?:com|org|net)|.+\.(?:localhost|test|example|invalid|local))$",
    re.IGNORECASE,
)
# What a template leaves behind when nobody filled it in.
PLACEHOLDER = re.compile(r"OWNER|USERNAME|(?i:your[-_](?:name|user|org|account|repo))|\{\{|\}\}|<|>")
ADDRESS = re.compile(r"""(?:https?|wss?|ftp|file)://[^\s"'<>()\[\]`\\]+""", re.IGNORECASE)

# Hugging Face user access tokens (hf_ and 30+ letters or digits) and GitHub's token formats.
TOKEN = re.compile(r"\bhf_[A-Za-z0-9]{30,}|\bgh[pousr]_[A-Za-z0-9]{36,}|\bgithub_pat_[A-Za-z0-9_]{40,}")
TEXT_SUFFIXES = {".html", ".js", ".json", ".xml", ".css", ".svg", ".txt", ".md", ".ipynb", ".py", ".yaml", ".yml"}


def address_problem(url: str) -> str | None:
    """Why this address leads nowhere for a learner, or None. Relative addresses are fine."""
    parts = urlsplit(url.strip())
    if parts.scheme.lower() == "file":
        return "a file on the author's machine"
    if parts.scheme.lower() not in ("http", "https", "ws", "wss", "ftp") and not url.startswith("//"):
        return None  # relative, #anchor, mailto:, data:, javascript:
    if PLACEHOLDER.search(unquote(url)):
        return "a placeholder"
    host = parts.hostname or ""
    if not host:
        return "no host"
    if LOCAL_OR_EXAMPLE_HOST.match(host):
        return f"a local or example host ({host})"
    return None


def text_problems(text: str) -> list[str]:
    """Every address in a text (a notebook, a script) that leads nowhere, with the reason."""
    found = [(url, address_problem(url)) for url in ADDRESS.findall(text)]
    bare = re.findall(r"\b(?:localhost|127\.0\.0\.1|0\.0\.0\.0)\b|\bOWNER\b", text)  # also outside a URL
    return [f"{url}: {why}" for url, why in found if why] + [f"{word}: outside a URL" for word in bare]


LINK_ATTRIBUTES = frozenset({"href", "src", "srcset", "action", "formaction", "poster", "data", "cite"})


class _Links(HTMLParser):
    """Every address an HTML page links to or loads."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, str, str]] = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in LINK_ATTRIBUTES and value:
                urls = [part.split()[0] for part in value.split(",") if part.strip()] if name == "srcset" else [value]
                self.found += [(tag, name, url) for url in urls]
            elif tag == "meta" and name == "content" and value and "url=" in value.lower():  # refresh redirects
                self.found.append((tag, name, value.split("=", 1)[1]))


def page_links(html: str) -> list[tuple[str, str, str]]:
    """``(tag, attribute, address)`` for every link and source on the page."""
    parser = _Links()
    parser.feed(html)
    return parser.found


def site_link_problems(site: Path) -> list[str]:
    problems = []
    for page in sorted(site.rglob("*.html")):
        for tag, attribute, url in page_links(page.read_text(encoding="utf-8")):
            if why := address_problem(url):
                problems.append(f"{page.relative_to(site)}: <{tag} {attribute}={url!r}>: {why}")
    return problems


def suite_token() -> str:
    """The HF_TOKEN that tests/conftest.py gives the whole test session."""
    token = os.environ.get("HF_TOKEN", "")
    assert token, "tests/conftest.py sets HF_TOKEN for the whole test session"
    return token


def secrets_in(text: str) -> list[str]:
    """Token-shaped strings in the text, and the test suite's own token (shown cut short)."""
    found = TOKEN.findall(text)
    if suite_token() in text:
        found.append(suite_token())
    return [f"{secret[:7]}…" for secret in found]


def site_secrets(site: Path) -> list[str]:
    problems = []
    for path in sorted(p for p in site.rglob("*") if p.suffix in TEXT_SUFFIXES and p.is_file()):
        if found := secrets_in(path.read_text(encoding="utf-8", errors="replace")):
            problems.append(f"{path.relative_to(site)}: {found}")
    return problems


def cell_source(cell: dict) -> str:
    """A notebook cell's code (nbformat keeps it as a list of lines or as one string)."""
    return "".join(cell["source"])


def pinned_requirements(command: str) -> dict[str, str]:
    """``{package: version}`` of the ``"name==version"`` requirements in an install command."""
    return dict(re.findall(r'"([\w.-]+)==([\w.+-]+)"', command))
