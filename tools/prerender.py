"""Draw the site's diagrams and formulas ahead of time, into docs/assets/prerendered/.

    PUPPETEER_SKIP_DOWNLOAD=1 npm ci --prefix tools/prerender_js   # once: mermaid-cli (uses /usr/bin/chromium)
    python tools/prerender.py                                      # after editing a diagram or a formula

tools/site_build/prerendered.py puts what this writes into the pages, so that the site needs neither
mermaid.js nor KaTeX's script in the browser, and building it needs neither node nor a browser:

- diagrams/<key>.svg: each ```mermaid fence, drawn by mermaid-cli (the mermaid version Material's own
  drawing used, docs/assets/vendor/VENDORED.txt) with the settings Material for MkDocs gives mermaid
  (its mermaid CSS, taken from the installed Material, so the colors follow the page's color scheme).
  The key is the hash of the fence's source: an edited diagram gets a new file. A file is drawn again
  only when its source is new or the settings changed (``--all``: every file).
- math.json: each formula, typeset by the site's KaTeX (docs/assets/vendor/katex/katex.min.js, with
  node), every time (under a second).

The sources are what the site build meets: this script builds the site once with PRERENDER_SOURCES set.
Files no page uses any more are removed. tests/site/browser/test_prerendered.py checks that every diagram
and formula of the built site was drawn ahead of time, with the settings written here.
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from project import DOCS, ROOT, TOOLS

NODE = TOOLS / "prerender_js"  # mermaid-cli (package.json) and the KaTeX runner
PRERENDERED = DOCS / "assets" / "prerendered"
DIAGRAMS = PRERENDERED / "diagrams"
MATH = PRERENDERED / "math.json"
KATEX = DOCS / "assets" / "vendor" / "katex" / "katex.min.js"
VENDORED = DOCS / "assets" / "vendor" / "VENDORED.txt"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
HEADER = re.compile(r"<!-- Drawn by tools/prerender\.py .*?settings (?P<settings>[0-9a-f]{16})\. -->")

# Material for MkDocs 9.8 calls mermaid.initialize({startOnLoad: false, themeCSS, sequence: ...}) and
# draws with the page's font (its CSS gives labels var(--md-text-font-family)); with `font: false`
# that is the system font stack below.
MATERIAL_FONT = "-apple-system, BlinkMacSystemFont, Helvetica, Arial, sans-serif"
MATERIAL_SEQUENCE = {"actorFontSize": "16px", "messageFontSize": "16px", "noteFontSize": "16px"}


def material_mermaid_css() -> str:
    """The CSS Material for MkDocs hands to mermaid (themeCSS): colors from the page's CSS variables."""
    import material

    bundles = glob.glob(str(Path(material.__file__).parent / "templates/assets/javascripts/bundle.*.min.js"))
    text = Path(bundles[0]).read_text(encoding="utf-8")
    start = text.find('".node circle,')
    if len(bundles) != 1 or start < 0:
        raise SystemExit("Material for MkDocs の mermaid の CSS が見つかりません（Material の版が変わりましたか）")
    end = start + 1
    while text[end] != '"':
        end += 2 if text[end] == "\\" else 1
    return json.loads(text[start : end + 1])


def locked_versions() -> dict[str, str]:
    lock = json.loads((NODE / "package-lock.json").read_text(encoding="utf-8"))["packages"]
    return {name: lock[f"node_modules/{name}"]["version"] for name in ("@mermaid-js/mermaid-cli", "mermaid")}


def mermaid_config() -> dict:
    return {"theme": "default", "fontFamily": MATERIAL_FONT, "sequence": MATERIAL_SEQUENCE,
            "themeCSS": material_mermaid_css()}  # fmt: skip


def settings_key() -> str:
    """What a drawing depends on besides its source: the mermaid settings and the tools' versions."""
    settings = {"mermaid": mermaid_config(), "versions": locked_versions()}
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode("utf-8")).hexdigest()[:16]


def drawn_settings(svg: Path) -> str | None:
    match = HEADER.search(svg.read_text(encoding="utf-8")[:1000])
    return match["settings"] if match else None


def site_sources() -> dict:
    """{"diagrams": {key: source}, "formulas": [...]}: what the site build meets (the hook records it)."""
    with tempfile.TemporaryDirectory(prefix="prerender-") as tmp:
        sources = Path(tmp) / "sources.json"
        env = {**os.environ, "PRERENDER_SOURCES": str(sources), "NO_MKDOCS_2_WARNING": "1"}
        command = [sys.executable, "-m", "mkdocs", "build", "--no-strict", "--quiet", "--site-dir", f"{tmp}/site"]
        subprocess.run(command, cwd=ROOT, env=env, check=True)
        return json.loads(sources.read_text(encoding="utf-8"))


def draw_diagrams(diagrams: dict[str, str], settings: str) -> None:
    mmdc = NODE / "node_modules" / ".bin" / "mmdc"
    if not mmdc.exists():
        raise SystemExit("mermaid-cli がありません: PUPPETEER_SKIP_DOWNLOAD=1 npm ci --prefix tools/prerender_js")
    versions = locked_versions()
    with tempfile.TemporaryDirectory(prefix="mermaid-") as tmp:
        work = Path(tmp)
        (work / "config.json").write_text(json.dumps(mermaid_config()), encoding="utf-8")
        puppeteer = {"executablePath": CHROMIUM, "args": ["--no-sandbox", "--disable-gpu"]}
        (work / "puppeteer.json").write_text(json.dumps(puppeteer), encoding="utf-8")
        keys = list(diagrams)
        fences = "".join(f"```mermaid\n{diagrams[key]}\n```\n\n" for key in keys)
        (work / "diagrams.md").write_text(fences, encoding="utf-8")
        subprocess.run(
            [str(mmdc), "--quiet", "-i", "diagrams.md", "-o", "drawn.md", "-c", "config.json",
             "-p", "puppeteer.json", "-b", "transparent"],
            cwd=work, check=True,
        )  # fmt: skip
        for number, key in enumerate(keys, start=1):
            svg = (work / f"drawn-{number}.svg").read_text(encoding="utf-8")
            header = (
                f"<!-- Drawn by tools/prerender.py from a ```mermaid fence of the site (its sha256 "
                f"begins {key}), with mermaid {versions['mermaid']} (mermaid-cli {versions['@mermaid-js/mermaid-cli']}) "
                f"and Material for MkDocs' mermaid settings; settings {settings}. -->"
            )
            (DIAGRAMS / f"{key}.svg").write_text(f"{header}\n{svg.strip()}\n", encoding="utf-8")


def typeset_formulas(formulas: list[str]) -> dict:
    node = shutil.which("node")
    if node is None:
        raise SystemExit("node がありません（Node.js 20 以上を入れてください）")
    result = subprocess.run(
        [node, str(NODE / "katex_render.cjs"), str(KATEX)],
        input=json.dumps(formulas), capture_output=True, text=True, encoding="utf-8", check=False,
    )  # fmt: skip
    if result.returncode != 0:
        raise SystemExit(f"KaTeX could not typeset a formula:\n{result.stderr}")
    return json.loads(result.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--all", action="store_true", help="draw every diagram again, not only new ones")
    args = parser.parse_args()

    sources = site_sources()
    settings = settings_key()
    DIAGRAMS.mkdir(parents=True, exist_ok=True)

    diagrams = sources["diagrams"]
    stale = {
        key: source
        for key, source in diagrams.items()
        if args.all or not (DIAGRAMS / f"{key}.svg").exists() or drawn_settings(DIAGRAMS / f"{key}.svg") != settings
    }
    if stale:
        draw_diagrams(stale, settings)
    unused = [svg for svg in sorted(DIAGRAMS.glob("*.svg")) if svg.stem not in diagrams]
    for svg in unused:
        svg.unlink()

    typeset = typeset_formulas(sources["formulas"])
    MATH.write_text(json.dumps(typeset, ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8")

    print(
        f"diagrams: {len(diagrams)} ({len(stale)} drawn, {len(unused)} removed); "
        f"formulas: {len(typeset['formulas'])} (KaTeX {typeset['katex']}) -> {PRERENDERED.relative_to(ROOT)}"
    )


if __name__ == "__main__":
    main()
