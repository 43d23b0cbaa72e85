"""What the project is made of, read from its sources: the one place the house code asks.

Tests, the form generators (notebook, script), the mkdocs hook and the benchmarks read the
pages, mkdocs.yml, the pins and the snippets through this module, never on their own.

- Pages and their cells: a page's ``--8<-- "dir/file.py"`` lines, in page order, are its
  cells (like a notebook's); snippets under ``handson/<variant>/`` sit in the hands-on's GPU tabs.
- Include names say where the text comes from: ``handson/x.py`` (any name without a prefix below) is a
  snippet, ``data/x.md`` a file that tools/ wrote into docs/data/ from the real data or a measurement,
  ``rendered/x.md`` text the site build makes (tools/site_build/rendered.py), ``includes/x.md`` and
  ``downloads/x`` hand-written files under docs/.
- mkdocs.yml: read as mkdocs reads it (``!ENV`` resolved, ``!relative`` made absolute).
- pyproject.toml: the tested versions (extra ``handson``) and the other pins.
- URLs: the repository and the site come from mkdocs.yml (``REPO_URL`` / ``SITE_URL``), or are
  unknown (a local build): then nothing links to them.
"""

from __future__ import annotations

import ast
import importlib.util
import os
import re
import sys
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml
from yaml_env_tag import construct_env_tag  # mkdocs' own !ENV tag (package pyyaml_env_tag)

ROOT = Path(__file__).resolve().parents[1]
TOOLS = ROOT / "tools"
DOCS = ROOT / "docs"
SNIPPETS = ROOT / "snippets"
TESTS = ROOT / "tests"
PAGE_TESTS = TESTS / "pages"  # one test file, or folder, per page with code (mirrored_test)
HANDSON_PAGE = DOCS / "handson.md"
HANDSON_SNIPPETS = SNIPPETS / "handson"
NOTEBOOK = DOCS / "notebooks" / "handson.ipynb"
SCRIPT = DOCS / "downloads" / "train_sft_lora.py"
ACCELERATE_CONFIG = DOCS / "downloads" / "accelerate_multi_gpu.yaml"
DATA = DOCS / "data"  # fragments that tools/ writes from the real data or a measurement (never by hand)
ESTIMATOR = SNIPPETS / "concepts" / "memory-and-time" / "estimator.py"

# The hands-on's GPU tabs: one folder of snippets each.
VARIANTS = tuple(sorted(p.name for p in HANDSON_SNIPPETS.iterdir() if p.is_dir() and not p.name.startswith("_")))
NOTEBOOK_VARIANT = "qlora_t4"  # Colab's free T4 runs it; QLoRA also runs on every larger GPU
SCRIPT_DEFAULT_VARIANT = "lora_bf16"  # the page's first tab; GPU servers usually have 24 GB or more
NOT_IN_NOTEBOOK_INSTALL = {"torch"}  # Colab ships a CUDA build of torch: reinstalling it costs minutes and GBs

DATA_INCLUDES = f"{DATA.relative_to(DOCS).as_posix()}/"  # --8<-- "data/x.md": docs/data/x.md
RENDERED_INCLUDES = "rendered/"  # --8<-- "rendered/x.md" is made by the build (tools/site_build/rendered.py)
INCLUDE = re.compile(r'^[ \t]*(?:-8<-|--8<--)[ \t]+"(?P<path>[^":]+)(?::(?P<section>[\w-]+))?"[ \t]*$', re.M)


# --- pages and their cells -------------------------------------------------------------------------


def section_lines(lines: list[str], section: str) -> tuple[int, list[str]]:
    """The lines between ``# --8<-- [start:name]`` and ``[end:name]``, and where they start."""
    start = next(i for i, line in enumerate(lines) if line.strip() == f"# --8<-- [start:{section}]")
    end = next(i for i, line in enumerate(lines) if line.strip() == f"# --8<-- [end:{section}]")
    return start + 1, lines[start + 1 : end]


@dataclass(frozen=True)
class Cell:
    path: Path
    section: str | None = None

    @property
    def name(self) -> str:
        return self.path.stem if self.section is None else f"{self.path.stem}:{self.section}"

    @property
    def variant(self) -> str | None:
        parent = self.path.parent.name
        return parent if parent in VARIANTS else None

    def source(self) -> tuple[int, str]:
        lines = self.path.read_text(encoding="utf-8").splitlines(keepends=True)
        if self.section is None:
            return 0, "".join(lines)
        first, body = section_lines(lines, self.section)
        return first, "".join(body)

    def run(self, namespace: dict) -> None:
        first, code = self.source()
        # Padding keeps line numbers true, so tracebacks and coverage point at the real file.
        exec(compile("\n" * first + code, str(self.path), "exec"), namespace)


def includes(page: Path) -> list[tuple[str, str | None]]:
    return [(m["path"], m["section"]) for m in INCLUDE.finditer(page.read_text(encoding="utf-8"))]


def page_cells(page: Path = HANDSON_PAGE) -> list[Cell]:
    return [Cell(SNIPPETS / path, section) for path, section in includes(page) if path.endswith(".py")]


def cells_for(variant: str, page: Path = HANDSON_PAGE) -> list[Cell]:
    return [cell for cell in page_cells(page) if cell.variant in (None, variant)]


def cell(name: str, variant: str | None = None) -> Cell:
    """The hands-on's cell with this name (for tests that rerun one cell in another environment)."""
    pool = page_cells() if variant is None else cells_for(variant)
    return next(c for c in pool if c.name == name)


@dataclass(frozen=True)
class CellRole:
    """What the house does around one hands-on cell (the cell's code is the page's, unchanged)."""

    main_only: bool = False  # under ``accelerate launch`` only the main process runs it (demos, saving, uploading)
    flag: str | None = None  # the script runs it only when this command-line flag is given
    adjusted: bool = False  # the script's runtime adjusts what it leaves (tools/script_runtime.py)
    real_data: bool = False  # tools/real_data.py runs it on the real data (the report's steps 0-3)
    snapshot: str | None = None  # the test runs keep something around it (the names below)


# The only list of cell names outside the page: the forms, the report and the test runs read it.
CELL_ROLES = {
    "check_gpu": CellRole(main_only=True),
    "output_dir": CellRole(real_data=True),
    "load_tokenizer": CellRole(real_data=True),
    "load_model": CellRole(snapshot="base-weights"),  # after it: the weights that must never change
    "prepare_dataset": CellRole(real_data=True),
    "prompt_format": CellRole(real_data=True),
    "max_length": CellRole(real_data=True),
    "before_training": CellRole(main_only=True),
    "training_args": CellRole(adjusted=True),
    "trainer": CellRole(snapshot="training-inputs"),  # before it: what a rerun of training starts from
    "plot_loss": CellRole(main_only=True, adjusted=True),
    "doctor_saved": CellRole(main_only=True),
    "after_training": CellRole(main_only=True),
    "rouge": CellRole(main_only=True),
    "evaluate": CellRole(main_only=True),
    "save_adapter": CellRole(main_only=True),
    "merge": CellRole(main_only=True, snapshot="trained"),  # before it: the trainer, which the merge lets go
    "push_to_hub": CellRole(main_only=True, flag="push"),
}
def cells_with(**role) -> list[str]:
    """The names of the cells whose role has these values, in page order (``cells_with(real_data=True)``)."""
    return [name for name, r in CELL_ROLES.items() if all(getattr(r, key) == value for key, value in role.items())]


def snapshot_cell(snapshot: str) -> str:
    (name,) = cells_with(snapshot=snapshot)
    return name


def code_pages() -> list[Path]:
    """Pages that embed snippet code (every one of them runs in the tests)."""
    return [
        page
        for page in sorted(DOCS.rglob("*.md"))
        if "includes" not in page.relative_to(DOCS).parts and any(path.endswith(".py") for path, _ in includes(page))
    ]


def page_title(page: Path) -> str:
    for line in page.read_text(encoding="utf-8").splitlines():
        if line.startswith("# "):
            return re.sub(r"\s*\{#[\w-]+\}\s*$", "", line[2:]).strip()
    return page.stem


def mirrored_test(page: Path) -> Path:
    """The test module of a page: docs/concepts/memory-and-time.md -> tests/pages/test_concepts_memory_and_time.py,
    or the test folder of a page with several test files: docs/handson.md -> tests/pages/handson/."""
    stem = re.sub(r"[/-]", "_", page.relative_to(DOCS).with_suffix("").as_posix())
    folder = PAGE_TESTS / stem
    return folder if folder.is_dir() else PAGE_TESTS / f"test_{stem}.py"


def mirrored_snippets(page: Path) -> Path:
    """The snippet folder of a page: docs/next-day.md -> snippets/next-day/."""
    return SNIPPETS / page.relative_to(DOCS).with_suffix("")


def tab_labels() -> dict[str, str]:
    """``{variant: tab label}`` as the hands-on shows them (the tab holding that variant's snippets)."""
    labels: dict[str, str] = {}
    label = None
    for line in HANDSON_PAGE.read_text(encoding="utf-8").splitlines():
        if m := re.match(r'^=== "(.+)"\s*$', line):
            label = m[1]
        elif label and (m := INCLUDE.match(line)):
            variant = Path(m["path"]).parent.name
            if variant in VARIANTS:
                labels.setdefault(variant, label)
        elif line and not line.startswith((" ", "\t", "===")):
            label = None
    missing = set(VARIANTS) - set(labels)
    if missing:
        raise SystemExit(f"docs/handson.md に {sorted(missing)} のタブが見つかりません")
    return labels


@dataclass(frozen=True)
class Tab:
    """What the tools know of a GPU tab besides its snippets: how the estimator counts it, the GPU it is written
    for, and its short name in the real-data tables (the page's own tab label is ``tab_labels()``)."""

    variant: str  # its folder: snippets/handson/<variant>/
    method: str  # the estimator's method (snippets/concepts/memory-and-time/estimator.py)
    gpu: str  # the estimator's GPU (estimator.GPUS) that the tab's settings are written for
    short_label: str


TABS = {
    tab.variant: tab
    for tab in (
        Tab("lora_bf16", method="lora", gpu="L4 24 GB", short_label="bf16 LoRA"),
        Tab("qlora_t4", method="qlora", gpu="T4 16 GB", short_label="QLoRA"),
    )
}


def tab_for_gpu(gpu: str) -> Tab:
    """The tab that the page's GPU check gives a GPU of the estimator: the tab written for that GPU, else the
    page's first tab (bf16 LoRA: the estimator's other GPUs have bf16 and 24 GB or more)."""
    return next((tab for tab in TABS.values() if tab.gpu == gpu), TABS[SCRIPT_DEFAULT_VARIANT])


def snippet_constant(cell_name: str, name: str):
    """The value a hands-on cell assigns to a module-level constant (MODEL_ID, DATASET_ID, ...)."""
    source = next(c for c in cells_for(VARIANTS[0]) if c.name == cell_name).source()[1]
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and [getattr(t, "id", None) for t in node.targets] == [name]:
            return ast.literal_eval(node.value)
    raise SystemExit(f"{cell_name} に {name} = ... がありません")


def model_id() -> str:
    return snippet_constant("load_tokenizer", "MODEL_ID")


def dataset_id() -> str:
    return snippet_constant("prepare_dataset", "DATASET_ID")


@cache
def load_estimator():
    """The memory page's estimator (a snippet file), imported as the module ``estimator``."""
    spec = importlib.util.spec_from_file_location("estimator", ESTIMATOR)
    module = importlib.util.module_from_spec(spec)
    sys.modules["estimator"] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


def seven_b_config():
    """The 7B model's shape exactly as the memory page's snippet writes it (gpu_fit.py; weights are never loaded)."""
    return config_in_snippet(ESTIMATOR.parent / "gpu_fit.py")


def config_in_snippet(path: Path):
    """The ``config = MistralConfig(...)`` of a snippet, built from the call's keywords as the file has them
    (read, not run). The LoRA page's parameter count writes the same 7B shape: a test holds the two equal."""
    from transformers import MistralConfig

    tree = ast.parse(path.read_text(encoding="utf-8"))
    (call,) = [
        node.value
        for node in tree.body
        if isinstance(node, ast.Assign) and [getattr(t, "id", None) for t in node.targets] == ["config"]
    ]
    return MistralConfig(**{keyword.arg: ast.literal_eval(keyword.value) for keyword in call.keywords})


@cache
def seven_b_architecture():
    return load_estimator().Architecture.from_config(seven_b_config())


# --- pyproject.toml ----------------------------------------------------------------------------------


def pins(extra: str = "handson") -> dict[str, str]:
    """``{package: version}`` from pyproject's extra, in the order written there."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    result = {}
    for requirement in project["optional-dependencies"][extra]:
        name, sep, version = requirement.partition("==")
        if not sep:
            raise SystemExit(f"pyproject.toml の {extra} extra は「名前==バージョン」で固定してください: {requirement}")
        result[name.strip()] = version.strip()
    return result


def requires_python() -> str:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["requires-python"]


def pip_requirements(exclude: set[str] = frozenset()) -> list[str]:
    return [f'"{name}=={version}"' for name, version in pins().items() if name not in exclude]


# --- mkdocs.yml --------------------------------------------------------------------------------------


class _MkdocsYaml(yaml.SafeLoader):
    """mkdocs.yml as mkdocs reads it: !ENV resolved, !relative made absolute, python tags left out."""


_MkdocsYaml.add_multi_constructor("", lambda loader, suffix, node: None)  # !!python/...
_MkdocsYaml.add_constructor("!ENV", construct_env_tag)
_MkdocsYaml.add_constructor(
    "!relative", lambda loader, node: str(ROOT / loader.construct_scalar(node).replace("$config_dir/", "", 1))
)


def mkdocs_config() -> dict:
    """mkdocs.yml, read again only when it or the variables it reads (REPO_URL, SITE_URL) change."""
    text = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    return _parsed_mkdocs_config(text, os.environ.get("REPO_URL"), os.environ.get("SITE_URL"))


@cache
def _parsed_mkdocs_config(text: str, repo_url: str | None, site_url: str | None) -> dict:
    return yaml.load(text, Loader=_MkdocsYaml)


def mkdocs_setting(name: str) -> str | None:
    """A top-level setting of mkdocs.yml, with ``!ENV [VAR, default]`` resolved as mkdocs does."""
    value = mkdocs_config().get(name)
    return str(value) if value else None


def nav_files() -> list[str]:
    """Every file named in mkdocs.yml's nav."""
    found: list[str] = []

    def walk(node):
        if isinstance(node, str):
            found.append(node)
        elif isinstance(node, list):
            for child in node:
                walk(child)
        elif isinstance(node, dict):
            for child in node.values():
                walk(child)

    walk(mkdocs_config()["nav"])
    return found


def source_pages() -> list[Path]:
    """Every page in mkdocs.yml's nav (markdown and notebooks): the site a learner browses."""
    return [DOCS / name for name in nav_files() if not name.startswith(("http://", "https://"))]


def url_path(page: Path) -> str:
    """The page's path on the site (use_directory_urls): docs/a/b.md -> a/b/, docs/a/index.md -> a/."""
    relative = page.relative_to(DOCS).with_suffix("")
    parts = relative.parts[:-1] if relative.name in ("index", "README") else relative.parts
    return "".join(f"{part}/" for part in parts)


def snippet_dirs() -> list[Path]:
    """pymdownx.snippets' base_path from mkdocs.yml: where ``--8<-- "x"`` finds x."""
    for extension in mkdocs_config()["markdown_extensions"]:
        if isinstance(extension, dict) and "pymdownx.snippets" in extension:
            return [Path(p) for p in extension["pymdownx.snippets"]["base_path"]]
    return [SNIPPETS]


# --- where the site and the repository are -------------------------------------------------------------


def site_url(path: str = "") -> str | None:
    """The page's address on the published site, or None where the site's address is unknown."""
    base = mkdocs_setting("site_url")
    return None if base is None else base.rstrip("/") + "/" + path


def github_repository() -> str | None:
    """``owner/name`` of the GitHub repository (mkdocs.yml's repo_url), or None where it is unknown."""
    repo = mkdocs_setting("repo_url")
    if repo is None:
        return None
    match = re.fullmatch(r"https://github\.com/([\w.-]+)/([\w.-]+?)(?:\.git)?/?", repo)
    if match is None:
        raise SystemExit(
            f"REPO_URL（mkdocs.yml の repo_url）は https://github.com/持ち主/リポジトリ の形にしてください"
            f"（Colab は GitHub にあるノートブックしか開けません）: {repo}"
        )
    return f"{match[1]}/{match[2]}"


def site_path(source: Path) -> str:
    """Where the built site keeps a notebook: next to its page (mkdocs-jupyter's include_source,
    use_directory_urls), e.g. docs/notebooks/handson.ipynb -> notebooks/handson/handson.ipynb."""
    return f"{source.relative_to(DOCS).with_suffix('').as_posix()}/{source.name}"


def colab_url(notebook: Path = NOTEBOOK) -> str | None:
    """Colab opens the notebook of the deployed site: ``mkdocs gh-deploy`` pushes the built site, with the
    notebook generated for that site, to the branch ``remote_branch``. The notebook's badge, the tested-versions
    note and the notebook page's Colab button (docs/overrides/main.html) all link here. None where the
    repository is unknown."""
    repo = github_repository()
    if repo is None:
        return None
    branch = mkdocs_setting("remote_branch") or "gh-pages"  # mkdocs' default
    return f"https://colab.research.google.com/github/{repo}/blob/{branch}/{site_path(notebook)}"
