"""Links a learner can follow, and no secrets, in what a learner gets.

Here: the committed notebook and script, and the site as a local build makes it (REPO_URL and
SITE_URL unset, tests/conftest.py ``local_site``): no link to a placeholder or a local address, no
repository link or Colab button, and instead the way to open the downloaded notebook in Colab.
The deployed form (both URLs set) is checked in tests/site/browser/test_deployed_site.py; what the
generator writes for each case in tests/forms/test_notebook.py.
"""

from __future__ import annotations

import json
import re

import pytest
from project import DOCS, ROOT
from learner_files import page_links, secrets_in, site_link_problems, site_secrets, text_problems

NOTEBOOK = DOCS / "notebooks" / "handson.ipynb"
SCRIPT = DOCS / "downloads" / "train_sft_lora.py"
UPLOAD = "「ファイル」→「ノートブックをアップロード」"


# --- the scanners find what they are for -------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://github.com/OWNER/sft-lora-handson-ja",
        "http://127.0.0.1:8000/handson/",
        "http://localhost:8000/",
        "https://example.com/x",
        "https://docs.example.org/",
        "https://colab.research.google.com/github/{{ repo }}/blob/main/x.ipynb",
        "file:///home/me/site/index.html",
    ],
)
def test_the_scanners_see_a_link_that_leads_nowhere(url):
    assert text_problems(f"see {url} here")
    assert page_links(f'<p><a href="{url}">x</a></p>') == [("a", "href", url)]


def test_the_scanners_let_real_and_relative_links_through():
    good = "https://huggingface.co/stabilityai/japanese-stablelm-base-gamma-7b https://arxiv.org/abs/2403.15484"
    assert text_problems(good) == []
    html = '<a href="../concepts/lora/#hyperparameters">x</a><img src="assets/a.svg"><a href="#top">t</a>'
    assert [url for *_, url in page_links(html)] == ["../concepts/lora/#hyperparameters", "assets/a.svg", "#top"]


def test_the_secret_scanner_sees_tokens_and_the_suites_own():
    assert secrets_in("token = 'hf_" + "aB3" * 12 + "'")
    assert secrets_in("ghp_" + "x" * 36)
    assert secrets_in("HF_TOKEN=hf_standin_token_for_tests")  # tests/conftest.py's token
    assert secrets_in("Colab のシークレットに HF_TOKEN を登録します。hf_ で始まる文字列です。") == []


# --- the committed notebook and script ---------------------------------------------------------


@pytest.mark.parametrize("path", [NOTEBOOK, SCRIPT], ids=lambda p: p.name)
def test_committed_download_has_no_address_that_leads_nowhere_and_no_secret(path):
    text = path.read_text(encoding="utf-8")
    assert text_problems(text) == []
    assert secrets_in(text) == []


def test_committed_notebook_links_only_to_addresses_that_work_in_colab():
    """A relative link leads nowhere once the notebook is in Colab; the committed notebook knows no site."""
    cells = json.loads(NOTEBOOK.read_text(encoding="utf-8"))["cells"]
    markdown = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    targets = re.findall(r"\]\(([^)\s]+)\)", markdown)
    assert targets and all(t.startswith(("https://", "#")) for t in targets), targets
    assert "colab.research.google.com" not in markdown  # no repository known: no badge
    assert UPLOAD in markdown  # instead: how to open it in Colab
    assert "サイトの「LoRA と QLoRA」のページ" in markdown  # pages named, not linked


# --- the local build (REPO_URL and SITE_URL unset) ---------------------------------------------


def test_local_site_links_lead_somewhere(local_site):
    site, _ = local_site
    assert site_link_problems(site) == []


def test_local_site_has_no_secret(local_site):
    site, _ = local_site
    assert site_secrets(site) == []


def test_local_site_hides_repository_and_colab_links_and_says_how_to_upload(local_site):
    site, _ = local_site
    pages = {p.relative_to(site).as_posix(): p.read_text(encoding="utf-8") for p in site.rglob("*.html")}
    assert not any('class="md-source"' in html for html in pages.values()), "a header link to no repository"
    colab = [name for name, html in pages.items() if "colab.research.google.com/github" in html]
    assert colab == [], f"Colab links without a repository: {colab}"
    assert not any('rel="canonical"' in html for html in pages.values())  # no site address: none invented
    notebook_page = pages["notebooks/handson/index.html"]
    assert "ノートブック（.ipynb）をダウンロード" in notebook_page and UPLOAD in notebook_page
    assert UPLOAD in pages["handson/index.html"]  # the setup note on the hands-on page
    assert (site / "sitemap.xml").read_text(encoding="utf-8").count("<loc>") == 0


def test_mkdocs_reads_the_urls_from_the_environment_only():
    """One place: mkdocs.yml takes both URLs from REPO_URL and SITE_URL, with no default address."""
    text = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    assert re.search(r"^site_url: !ENV \[SITE_URL, null\]$", text, re.M)
    assert re.search(r"^repo_url: !ENV \[REPO_URL, null\]$", text, re.M)
    assert text_problems(text) == []
