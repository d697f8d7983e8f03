"""Build the deployment package: what .funcignore leaves of the source tree, the dependencies
installed beside it for the Functions host (no remote build), all in one zip.

    python scripts/package.py [--source DIR] [--output app.zip]

The deploy workflow, docs/deploy.md and tests/infra/test_package.py build the package with this
script, so the zip the tests inspect is the zip that ships. `.funcignore` is read with .gitignore
semantics, as Core Tools (`func azure functionapp publish`, issue
Azure/azure-functions-core-tools#341) and azd (Azure/azure-dev#5383) read it, so the three ways
of publishing leave out the same files. Flex Consumption downloads the package at every cold
start: it must hold the app and its dependencies, and nothing from a developer's machine.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import pathspec

# The Functions runtime the app is deployed on (infra/modules/functionapp.bicep; test_package
# checks they agree). Compiled wheels are chosen for it and for Linux x86-64, whichever Python
# and system run this script.
PYTHON_VERSION = "3.12"
# manylinux wheels for glibc 2.28 or older, which the Functions Linux images exceed; a wheel
# built for a newer glibc than the image has would fail to import at cold start.
PLATFORM = "x86_64-manylinux_2_28"
SITE_PACKAGES = ".python_packages/lib/site-packages"
# Never deployed, whatever .funcignore says: the build fails if one would reach the zip.
NEVER_DEPLOYED = ("devhost", "tests", "bench", "infra", "docs", "scripts")
NEVER_DEPLOYED_FILES = ("local.settings.json",)
# Files the host cannot start without: the composition root, host.json, and the two packages
# every function imports.
REQUIRED = (
    "function_app.py",
    "host.json",
    f"{SITE_PACKAGES}/azure/functions/__init__.py",
    f"{SITE_PACKAGES}/azure/durable_functions/__init__.py",
)


class PackageError(Exception):
    """The package would be wrong; the message says what and why."""


def ignore_rules(source: Path) -> pathspec.GitIgnoreSpec:
    lines = (source / ".funcignore").read_text().splitlines()
    return pathspec.GitIgnoreSpec.from_lines([*lines, ".funcignore", ".git/"])


def app_files(source: Path) -> list[str]:
    """Paths (relative, POSIX) of every file .funcignore leaves, never descending into an
    ignored folder (a virtualenv holds tens of thousands of files)."""
    rules = ignore_rules(source)
    kept: list[str] = []
    for folder, subfolders, files in os.walk(source):
        relative = Path(folder).relative_to(source).as_posix()
        prefix = "" if relative == "." else f"{relative}/"
        subfolders[:] = sorted(
            name for name in subfolders if not rules.match_file(f"{prefix}{name}/")
        )
        kept += [f"{prefix}{name}" for name in sorted(files) if not rules.match_file(prefix + name)]
    return kept


def check_app_files(files: list[str]) -> None:
    leaked = sorted(
        {path.split("/")[0] for path in files if path.split("/")[0] in NEVER_DEPLOYED}
        | {path for path in files if path in NEVER_DEPLOYED_FILES}
    )
    if leaked:
        raise PackageError(f"{', '.join(leaked)} would be deployed: add them to .funcignore")


def install_dependencies(source: Path, target: Path) -> None:
    """Install requirements.txt, as wheels for the Functions runtime, into the folder the Python
    worker adds to sys.path. uv resolves and installs them as pip would, in a tenth of pip's
    time; it reads its own settings (UV_INDEX_URL for a private index), not pip's. No cache, so
    what ships comes from the index; no bytecode, which the zip leaves out anyway."""
    command = [sys.executable, "-m", "uv", "pip", "install", "--quiet", "--no-cache"]
    command += ["--only-binary", ":all:", "--target", str(target)]
    command += ["--python-version", PYTHON_VERSION, "--python-platform", PLATFORM]
    subprocess.run([*command, "-r", str(source / "requirements.txt")], check=True)
    (target / ".lock").unlink(missing_ok=True)  # uv's lock on the folder while it installs


def write_zip(output: Path, entries: dict[str, Path]) -> None:
    """Entries in sorted order, so two builds of one commit list the same files."""
    with zipfile.ZipFile(output, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(entries):
            archive.write(entries[name], name)


def build(source: Path, output: Path) -> list[str]:
    """Write the package to `output`; returns the names it holds."""
    files = app_files(source)
    check_app_files(files)
    entries = {name: source / name for name in files}
    with tempfile.TemporaryDirectory() as staging:
        site_packages = Path(staging) / SITE_PACKAGES
        install_dependencies(source, site_packages)
        for path in site_packages.rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts:
                entries[path.relative_to(staging).as_posix()] = path
        missing = [name for name in REQUIRED if name not in entries]
        if missing:
            raise PackageError(f"the package lacks {', '.join(missing)}")
        write_zip(output, entries)
    return sorted(entries)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, default=Path(__file__).resolve().parents[1])
    parser.add_argument("--output", type=Path, default=Path("app.zip"))
    args = parser.parse_args(argv)
    try:
        names = build(args.source.resolve(), args.output)
    except PackageError as error:
        print(f"package: {error}", file=sys.stderr)
        return 1
    app = [name for name in names if not name.startswith(".python_packages/")]
    size = args.output.stat().st_size / 1_000_000
    print(f"{args.output}: {len(app)} app files, {len(names) - len(app)} dependency files, "
          f"{size:.1f} MB")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
