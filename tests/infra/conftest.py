"""Fixtures for the infra tests: a private checkov installation.

checkov pins packaging<24 while pytest needs packaging>=24, so it cannot share the project
virtualenv. It gets its own at `.venv-checkov` (gitignored), built once and reused; CI caches it
by the hash of this file, so changing CHECKOV_REQUIREMENT rebuilds it.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHECKOV_REQUIREMENT = "checkov~=3.3.30"
CHECKOV_VENV = ROOT / ".venv-checkov"


def _checkov_ready(executable: Path, stamp: Path) -> bool:
    """True when the cached venv has the wanted checkov and its interpreter still starts
    (a restored CI cache may point at a Python that has since moved)."""
    if not executable.exists() or not stamp.exists():
        return False
    if stamp.read_text().strip() != CHECKOV_REQUIREMENT:
        return False
    probe = subprocess.run([CHECKOV_VENV / "bin" / "python", "-c", ""], capture_output=True)
    return probe.returncode == 0


@pytest.fixture(scope="session")
def checkov() -> Path:
    """Path of a working checkov executable, installing it on first use."""
    executable = CHECKOV_VENV / "bin" / "checkov"
    stamp = CHECKOV_VENV / "requirement.txt"
    if not _checkov_ready(executable, stamp):
        shutil.rmtree(CHECKOV_VENV, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", CHECKOV_VENV], check=True)
        pip = [CHECKOV_VENV / "bin" / "python", "-m", "pip", "install", "--quiet"]
        subprocess.run([*pip, CHECKOV_REQUIREMENT], check=True)
        stamp.write_text(CHECKOV_REQUIREMENT + "\n")
    return executable
