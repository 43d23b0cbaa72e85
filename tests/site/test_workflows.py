"""The GitHub Actions workflows (.github/workflows/): valid, safe, and doing what README says.

- ``check-jsonschema --builtin-schema vendor.github-workflows``: GitHub's workflow schema (bundled, offline).
- ``zizmor --offline``: the security audit of workflows; no finding at all (so no high one).
- Our own rules: third-party actions pinned by a full commit SHA with the version in a comment,
  no persisted credentials, least privilege; the test workflow runs .ci/run (the README's command),
  the deployment sets the URLs before it regenerates the notebook and the script, then builds and deploys.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
import yaml

from project import ROOT
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
SCRIPTS = Path(sysconfig.get_path("scripts"))  # where pip put check-jsonschema and zizmor (the test extra)


def load(path: Path) -> dict:
    workflow = yaml.safe_load(path.read_text(encoding="utf-8"))
    workflow["on"] = workflow.pop(True, workflow.get("on"))  # YAML 1.1 reads the key `on` as True
    return workflow


def steps(workflow: dict) -> list[dict]:
    return [step for job in workflow["jobs"].values() for step in job["steps"]]


def run(command: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=60)


def test_there_are_a_test_and_a_deploy_workflow():
    assert [p.name for p in WORKFLOWS] == ["pages.yml", "test.yml"]


def test_workflows_match_githubs_schema():
    result = run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows", *map(str, WORKFLOWS)]
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_zizmor_finds_nothing():
    result = run([str(SCRIPTS / "zizmor"), "--offline", "--format", "json", *map(str, WORKFLOWS)])
    findings = json.loads(result.stdout or "null")
    assert findings == [], json.dumps(findings, indent=1)[:4000] + result.stderr[-2000:]
    assert result.returncode == 0, result.stderr


def test_zizmor_would_see_an_unsafe_workflow(tmp_path):
    """The audit is really running: a template injection into a shell is a high finding."""
    unsafe = tmp_path / "unsafe.yml"
    unsafe.write_text(
        "on: pull_request_target\npermissions: write-all\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    steps:\n"
        '      - uses: actions/checkout@v4\n      - run: echo "${{ github.event.pull_request.title }}"\n',
        encoding="utf-8",
    )
    result = run([str(SCRIPTS / "zizmor"), "--offline", "--format", "json", str(unsafe)])
    severities = {f["determinations"]["severity"] for f in json.loads(result.stdout)}
    assert "High" in severities and result.returncode != 0


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_actions_are_pinned_by_commit_with_the_version_noted(path):
    text = path.read_text(encoding="utf-8")
    uses = re.findall(r"^\s*(?:-\s+)?uses:\s*(.+)$", text, re.M)
    assert uses
    for line in uses:
        assert re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+", line.strip()), line


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_least_privilege_and_no_persisted_credentials(path):
    workflow = load(path)
    assert workflow["permissions"] == {}  # nothing by default; each job asks for what it needs
    for job in workflow["jobs"].values():
        assert set(job["permissions"].values()) <= {"read", "write"} and len(job["permissions"]) == 1
    for step in steps(workflow):
        if step.get("uses", "").startswith("actions/checkout@"):
            assert step["with"]["persist-credentials"] is False


def test_test_workflow_runs_the_readme_command_on_push_and_pull_request():
    workflow = load(ROOT / ".github" / "workflows" / "test.yml")
    assert set(workflow["on"]) == {"push", "pull_request"}
    (job,) = workflow["jobs"].values()
    assert job["permissions"] == {"contents": "read"}
    assert [s["run"] for s in job["steps"] if "run" in s] == ["bash .ci/run"]


def test_deploy_workflow_sets_the_urls_regenerates_then_deploys():
    workflow = load(ROOT / ".github" / "workflows" / "pages.yml")
    assert workflow["on"]["push"] == {"branches": ["main"]}
    (job,) = workflow["jobs"].values()
    assert job["permissions"] == {"contents": "write"}  # push to gh-pages, nothing else
    commands = "\n".join(s.get("run", "") for s in job["steps"])
    order = [
        'echo "REPO_URL=https://github.com/${GITHUB_REPOSITORY}" >> "$GITHUB_ENV"',
        'echo "SITE_URL=${site}" >> "$GITHUB_ENV"',
        "python tools/build_forms.py",
        "python -m mkdocs gh-deploy --force",
    ]
    positions = [commands.find(command) for command in order]
    assert -1 not in positions and positions == sorted(positions), positions
    assert 'site="https://${owner}.github.io/${name}/"' in commands


def test_ci_script_installs_with_sudo_only_when_not_root():
    script = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert '[ "$(id -u)" -ne 0 ]' in script
    assert "$sudo apt-get update" in script and "$sudo env DEBIAN_FRONTEND=noninteractive apt-get install" in script
