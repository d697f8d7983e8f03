"""The deployment package, built by scripts/package.py exactly as the deploy workflow builds it,
from a copy of this repository that also holds everything a developer's machine accumulates:
virtualenvs (make test's .venv-checkov is about 290 MB), devhost's state, caches, test
artifacts, local settings. Flex Consumption downloads the package at every cold start, and
Core Tools and azd publish whatever .funcignore leaves, so none of that may get in."""

from __future__ import annotations

import random
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.infra.bicep_tree import INFRA, literal, params, parse_file
from tests.infra.test_workflows import NEVER_DEPLOYED, ROOT

pytestmark = pytest.mark.timeout(300)  # uv installs requirements.txt from the package index

SITE_PACKAGES = ".python_packages/lib/site-packages/"
# Incompressible, so that shipping any of it would show in the package size.
BULK = random.Random(12).randbytes(4_000_000)

# What a work tree holds after `make start`, `make test` and a local build.
LOCAL_LEFTOVERS = {
    ".venv/lib/python3.11/site-packages/pytest/__init__.py": b"",
    ".venv-checkov/lib/python3.11/site-packages/checkov/data.bin": BULK,
    ".venv-3.12/bin/python": b"",
    ".python_packages/lib/site-packages/stale/__init__.py": b"",
    ".devhost/hub.sqlite": BULK,
    ".devhost/simulator.sqlite": b"",
    ".pytest_cache/v/cache/lastfailed": b"{}",
    ".hypothesis/examples/0/1": b"",
    ".ruff_cache/0.17.6/1": b"",
    ".coverage": b"",
    "htmlcov/index.html": b"",
    "api/__pycache__/claims.cpython-311.pyc": b"",
    "local.settings.json": b'{"Values": {}}',
    ".vscode/settings.json": b"{}",
    "app.zip": BULK,
}


def tracked_files() -> list[str]:
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True, text=True
    )
    return [name for name in listed.stdout.split("\0") if name and (ROOT / name).is_file()]


@pytest.fixture(scope="module")
def work_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The repository's files as they are now, plus a developer's local leftovers."""
    tree = tmp_path_factory.mktemp("work-tree")
    for name in tracked_files():
        (tree / name).parent.mkdir(parents=True, exist_ok=True)
        (tree / name).write_bytes((ROOT / name).read_bytes())
    for name, content in LOCAL_LEFTOVERS.items():
        (tree / name).parent.mkdir(parents=True, exist_ok=True)
        (tree / name).write_bytes(content)
    return tree


@pytest.fixture(scope="module")
def package(work_tree: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    output = tmp_path_factory.mktemp("package") / "app.zip"
    command = [sys.executable, ROOT / "scripts" / "package.py", "--source", work_tree]
    completed = subprocess.run(
        [*command, "--output", output], capture_output=True, text=True, timeout=280
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert "app files" in completed.stdout
    return output


def names(package: Path) -> list[str]:
    with zipfile.ZipFile(package) as archive:
        return archive.namelist()


def app_part(package: Path) -> list[str]:
    return [name for name in names(package) if not name.startswith(SITE_PACKAGES)]


def test_no_local_environment_cache_or_artifact_is_deployed(package: Path) -> None:
    shipped = set(names(package))
    assert not shipped & set(LOCAL_LEFTOVERS)
    assert not [name for name in shipped if "__pycache__" in name or name.endswith(".pyc")]
    assert not [name for name in shipped if name.startswith(SITE_PACKAGES + "stale/")]
    # Nor the installer's own files, such as a lock it holds on the folder.
    assert not [name for name in shipped if name.startswith(SITE_PACKAGES + ".")]


def test_the_app_part_is_exactly_the_app_code_and_host_configuration(package: Path) -> None:
    tops = {name.split("/")[0] for name in app_part(package)}
    code = {path.name for path in ROOT.iterdir() if (path / "__init__.py").is_file()}
    assert code - NEVER_DEPLOYED <= tops
    assert {"function_app.py", "host.json", "requirements.txt"} <= tops
    assert not tops & NEVER_DEPLOYED
    assert not [name for name in tops if name.startswith(".")]
    shipped_files = set(app_part(package))
    for name in tracked_files():
        if name.split("/")[0] in code - NEVER_DEPLOYED and name.endswith(".py"):
            assert name in shipped_files, f"{name} is app code and is missing from the package"


def test_the_dependencies_are_installed_beside_the_app(package: Path) -> None:
    shipped = set(names(package))
    for module in ("azure/functions", "azure/durable_functions", "pydantic", "opencensus"):
        assert f"{SITE_PACKAGES}{module}/__init__.py" in shipped, module


def test_compiled_modules_are_built_for_the_python_the_app_runs_on(package: Path) -> None:
    """The Function App's runtime version (functionapp.bicep) decides; a module compiled for
    another Python fails to import at cold start, not at build time."""
    declared = params(parse_file(INFRA / "modules" / "functionapp.bicep"))["pythonVersion"]
    runtime = str(literal(declared.default))
    compiled = [name for name in names(package) if name.endswith(".so")]
    assert any("pydantic_core/_pydantic_core.cpython" in name for name in compiled)
    tag = f".cpython-{runtime.replace('.', '')}-x86_64-linux-gnu.so"
    wrong = [name for name in compiled if not (name.endswith(tag) or name.endswith(".abi3.so"))]
    assert wrong == []


def test_the_package_is_small(package: Path) -> None:
    """The app itself is a few hundred kilobytes; the dependencies about 17 MB compressed."""
    with zipfile.ZipFile(package) as archive:
        app_bytes = sum(archive.getinfo(name).compress_size for name in app_part(package))
    assert app_bytes < 2_000_000
    assert package.stat().st_size < 40_000_000


def test_a_dev_only_folder_that_funcignore_lets_through_fails_the_build(
    work_tree: Path, tmp_path: Path
) -> None:
    funcignore = work_tree / ".funcignore"
    original = funcignore.read_text()
    try:
        funcignore.write_text(original.replace("\ndevhost/\n", "\n"))
        command = [sys.executable, ROOT / "scripts" / "package.py", "--source", work_tree]
        completed = subprocess.run(
            [*command, "--output", tmp_path / "app.zip"], capture_output=True, text=True
        )
    finally:
        funcignore.write_text(original)
    assert completed.returncode == 1
    assert "devhost would be deployed: add them to .funcignore" in completed.stderr
    assert not (tmp_path / "app.zip").exists()
