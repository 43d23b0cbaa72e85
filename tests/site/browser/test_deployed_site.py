"""The site as the deployment builds it (REPO_URL and SITE_URL set; tests/site/browser/conftest.py).

No browser needed: the build itself, its links and its files. What the browser sees of the same
build is in the other tests here; the local build (no URLs) is checked in tests/site/test_links.py.
"""

from __future__ import annotations

import re

from learner_files import DEPLOYED, site_link_problems, site_secrets


def test_deployed_build_is_clean(deployed_build):
    """What ``mkdocs gh-deploy`` (strict: mkdocs.yml) would stop on: a warning."""
    _, log = deployed_build
    assert "WARNING" not in log, log


def test_deployed_site_links_lead_somewhere_and_hold_no_secret(built_site):
    assert site_link_problems(built_site) == []
    assert site_secrets(built_site) == []


def test_deployed_site_links_to_its_repository_and_names_its_address(built_site):
    home = (built_site / "index.html").read_text(encoding="utf-8")
    header = re.findall(r'<a href="([^"]*)"[^>]* class="md-source"', home)  # docs/overrides/partials/source.html
    assert header and set(header) == {DEPLOYED["REPO_URL"]}  # in the header and in the drawer
    assert f'<link rel="canonical" href="{DEPLOYED["SITE_URL"]}">' in home
    sitemap = (built_site / "sitemap.xml").read_text(encoding="utf-8")
    assert f"<loc>{DEPLOYED['SITE_URL']}handson/</loc>" in sitemap
