"""actionlint and zizmor over .github/: neither reports anything, and each does catch a broken
workflow (so a silent tool cannot pass these tests).

actionlint, zizmor and ShellCheck come from requirements-dev.txt (their wheels carry the
binaries), so they run wherever `make test` does.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GITHUB = ROOT / ".github"
WORKFLOWS = sorted((GITHUB / "workflows").glob("*.yml"))
BIN = Path(sys.executable).parent

BROKEN_FOR_ZIZMOR = """\
name: greet
on: issues
jobs:
  greet:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: echo "${{ github.event.issue.title }}"
"""

BROKEN_FOR_ACTIONLINT = """\
name: broken
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    timeout-minute: 5
    steps:
      - run: echo ${{ github.event.no_such_thing.title }
      - run: echo $UNQUOTED
"""


def required(name: str) -> str:
    """The executable beside this interpreter (the venv), or on PATH."""
    beside = BIN / name
    executable = str(beside) if beside.is_file() else shutil.which(name)
    if executable is None:
        pytest.fail(f"{name} is missing: pip install -r requirements-dev.txt")
    return executable


@pytest.fixture(scope="module")
def zizmor() -> str:
    return required("zizmor")


@pytest.fixture(scope="module")
def actionlint() -> str:
    return required("actionlint")


def run_zizmor(zizmor: str, *inputs: Path) -> tuple[list[dict], str]:
    """Findings as JSON, and the human-readable report for assertion messages."""
    command = [zizmor, "--offline", "--no-progress", "--color=never", *map(str, inputs)]
    report = subprocess.run(
        [*command, "--format=json"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    # zizmor exits 0 without findings and 10-14 with them (by severity); else it failed.
    assert report.returncode == 0 or 10 <= report.returncode <= 14, report.stderr
    findings = json.loads(report.stdout)
    readable = ""
    if findings:
        plain = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
        readable = plain.stdout
    return findings, readable


def run_actionlint(actionlint: str, *workflows: Path) -> tuple[list[dict], str]:
    """Errors as JSON, and the human-readable report for assertion messages."""
    # ShellCheck checks every `run:` script; pyflakes is off (no Python `run:` scripts), so the
    # result does not depend on what happens to be installed.
    options = ["-no-color", "-shellcheck", required("shellcheck"), "-pyflakes="]
    files = list(map(str, workflows))  # after the options: Go's flag parsing stops at the first
    report = subprocess.run(
        [actionlint, *options, "-format", "{{json .}}", *files],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    # actionlint exits 0 without errors, 1 with them; anything else is actionlint failing.
    assert report.returncode in (0, 1), report.stderr
    errors = json.loads(report.stdout or "[]")
    readable = ""
    if errors:
        plain = subprocess.run(
            [actionlint, *options, *files], cwd=ROOT, capture_output=True, text=True, timeout=120
        )
        readable = plain.stdout + plain.stderr
    return errors, readable


def broken_workflow(tmp_path: Path, name: str, source: str) -> Path:
    """A workflow file where the tools expect one: .github/workflows/ under tmp_path."""
    workflow = tmp_path / ".github" / "workflows" / name
    workflow.parent.mkdir(parents=True)
    workflow.write_text(source)
    return workflow


def test_there_are_workflows_to_check() -> None:
    assert {path.name for path in WORKFLOWS} >= {"ci.yml", "deploy.yml"}


def test_zizmor_reports_nothing(zizmor: str) -> None:
    findings, readable = run_zizmor(zizmor, GITHUB / "workflows", GITHUB / "dependabot.yml")
    assert findings == [], readable


def test_zizmor_catches_a_template_injection_and_an_unpinned_action(
    zizmor: str, tmp_path: Path
) -> None:
    workflow = broken_workflow(tmp_path, "greet.yml", BROKEN_FOR_ZIZMOR)
    findings, readable = run_zizmor(zizmor, workflow)
    assert {"template-injection", "unpinned-uses"} <= {f["ident"] for f in findings}, readable


def test_actionlint_reports_nothing(actionlint: str) -> None:
    errors, readable = run_actionlint(actionlint, *WORKFLOWS)
    assert errors == [], readable


def test_actionlint_catches_bad_syntax_an_unknown_key_and_a_shellcheck_finding(
    actionlint: str, tmp_path: Path
) -> None:
    workflow = broken_workflow(tmp_path, "broken.yml", BROKEN_FOR_ACTIONLINT)
    errors, readable = run_actionlint(actionlint, workflow)
    kinds = {error["kind"] for error in errors}
    assert {"syntax-check", "expression", "shellcheck"} <= kinds, readable
    assert any("timeout-minute" in error["message"] for error in errors), readable
