"""Does the hands-on still run on the newest releases of the ML stack?

    python tools/check_drift.py                  # venv in /tmp/drift-venv, reused between runs
    python tools/check_drift.py --venv DIR --fresh

Installs the newest release of every package in pyproject's ``handson`` extra (and tokenizers)
into a separate virtual environment, keeps torch at its pin (an unpinned torch pulls a CUDA build
of several GB), runs the snippet tests there and prints which pins are behind and which tests
break. Nothing in the project's own environment changes. Exit status: 0 when the tests pass on
the newest releases, 1 when some break, 2 when the environment could not be set up.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

from project import ROOT, pins

KEEP_PINNED = {"torch"}  # reported, not upgraded
FLOATING_TEST_PINS = {"tokenizers"}  # part of the ML stack (transformers decides), though pinned under "test"
TEST_FILES = ["tests/pages/handson"]  # the hands-on page: the run, its bad inputs and its checks


def run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(command, text=True, capture_output=True, **kwargs)


def latest_on_index(python: Path, name: str) -> str | None:
    """The newest release on the index, without installing it (``pip index versions``)."""
    result = run([str(python), "-m", "pip", "index", "versions", name])
    first = result.stdout.splitlines()[0] if result.returncode == 0 and result.stdout else ""
    return first.partition("(")[2].partition(")")[0] or None


def setup_venv(venv: Path, fresh: bool) -> Path:
    if fresh and venv.exists():
        shutil.rmtree(venv)
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    handson, test = pins("handson"), pins("test")
    requirements = [name if name not in KEEP_PINNED else f"{name}=={version}" for name, version in handson.items()]
    requirements += [name if name in FLOATING_TEST_PINS else f"{name}=={version}" for name, version in test.items()
                     if name in FLOATING_TEST_PINS | {"pytest", "pytest-cov", "coverage"}]  # fmt: skip
    print(f"{venv} に最新版を入れています: {' '.join(requirements)}", flush=True)
    result = run([str(python), "-m", "pip", "install", "--upgrade", "--disable-pip-version-check", *requirements])
    if result.returncode != 0:
        print(result.stdout[-3000:] + result.stderr[-3000:])
        raise SystemExit(2)
    return python


def installed_versions(python: Path) -> dict[str, str]:
    result = run([str(python), "-m", "pip", "list", "--format=json", "--disable-pip-version-check"], check=True)
    return {item["name"].lower().replace("_", "-"): item["version"] for item in json.loads(result.stdout)}


def run_tests(python: Path) -> tuple[list[tuple[str, str, str]], float, str]:
    """[(test id, outcome, first line of the failure)], seconds, pytest's last line."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "junit.xml"
        start = time.perf_counter()
        result = run(
            [str(python), "-m", "pytest", *TEST_FILES, "--no-cov", "-q", "-p", "no:cacheprovider",
             f"--junitxml={report}"],
            cwd=ROOT,
        )  # fmt: skip
        seconds = time.perf_counter() - start
        last = (result.stdout.strip().splitlines() or ["(pytest の出力なし)"])[-1]
        if not report.exists():
            return [("(収集)", "error", (result.stdout + result.stderr)[-2000:])], seconds, last
        outcomes = []
        for case in ET.parse(report).getroot().iter("testcase"):
            test_id = f"{case.get('classname', '').split('.')[-1]}::{case.get('name')}"
            problem = next((child for child in case if child.tag in ("failure", "error")), None)
            skipped = next((child for child in case if child.tag == "skipped"), None)
            if problem is not None:
                message = (problem.get("message") or problem.text or "").strip().splitlines()
                outcomes.append((test_id, problem.tag, message[0][:200] if message else ""))
            else:
                outcomes.append((test_id, "skipped" if skipped is not None else "passed", ""))
        return outcomes, seconds, last


def version_key(version: str) -> tuple:
    from packaging.version import Version

    return (Version(version),)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--venv", type=Path, default=Path(tempfile.gettempdir()) / "drift-venv")
    parser.add_argument("--fresh", action="store_true", help="仮想環境を作り直します")
    args = parser.parse_args(argv)

    python = setup_venv(args.venv, args.fresh)
    installed = installed_versions(python)
    outcomes, seconds, last_line = run_tests(python)

    print("\n## 固定したバージョンと最新版\n")
    print("| パッケージ | pyproject.toml | 最新版 | 状態 |")
    print("| --- | --- | --- | --- |")
    behind = []
    checked = {**pins("handson"), **{n: v for n, v in pins("test").items() if n in FLOATING_TEST_PINS}}
    for name, pinned in checked.items():
        if name in KEEP_PINNED:
            latest = latest_on_index(python, name) or "不明"
            note = "固定のまま試験（最新版は入れていません）"
        else:
            latest = installed.get(name.lower().replace("_", "-"), "不明")
            note = "同じ"
        if latest not in ("不明", pinned):
            try:
                newer = version_key(latest) > version_key(pinned)
            except Exception:
                newer = True
            if newer and name in KEEP_PINNED:
                note = "新しい版あり（試していません。固定のまま試験）"
            elif newer:
                behind.append(name)
                note = "新しい版あり（最新版で試験）"
        print(f"| {name} | {pinned} | {latest} | {note} |")

    failed = [(test, outcome, message) for test, outcome, message in outcomes if outcome in ("failure", "error")]
    print(f"\n## 最新版でのテスト（{' '.join(TEST_FILES)}、{seconds:.0f} 秒）\n")
    print(f"pytest: {last_line}")
    for test, _outcome, message in failed:
        print(f"- 失敗 {test}: {message}")
    print()
    if failed:
        print(f"最新版では {len(failed)} 件のテストが失敗します。ピンはまだ上げられません。")
    elif behind:
        print(  # torch and other KEEP_PINNED packages are never in this list: they were not tried
            f"最新版でもテストは通ります。上げられるピン: {', '.join(behind)}（.github/CONTRIBUTING.md の「バージョンを上げるとき」の手順で）。"
        )
    else:
        print("すべてのピンが最新版で、テストも通ります。")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
