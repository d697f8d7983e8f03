"""Fixtures for the infra tests: a private checkov installation.

checkov pins packaging<24 while pytest needs packaging>=24, so it cannot share the project
virtualenv. It gets its own at `.venv-checkov` (gitignored), built once and reused; CI caches it
by the hash of this file, so changing CHECKOV_REQUIREMENT rebuilds it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHECKOV_REQUIREMENT = "checkov~=3.3.30"
CHECKOV_VENV = ROOT / ".venv-checkov"
# checkov reads Bicep attributes with JSONPath (bc_jsonpath_ng), whose parser asks ply to build
# its LALR table afresh for every expression and never saves it: about 40 ms each, 4-5 s of a
# scan. ply loads a saved table module when its grammar signature matches (ply/yacc.py, yacc()),
# so the table written once here is used by every scan; a changed grammar is rebuilt as before.
PARSE_TABLE = "parser_jsonpath_parsetab"
WRITE_PARSE_TABLE = f"""
import logging, os, ply.yacc
from bc_jsonpath_ng.ext import parser
folder = os.path.dirname(parser.__file__)
ply.yacc.yacc(module=parser.ExtentedJsonPathParser(), start="jsonpath", tabmodule="{PARSE_TABLE}",
              outputdir=folder, debug=False, errorlog=logging.getLogger("ply"))
"""


# checkov's own environment keeps the bytecode it compiles, whatever the caller's setting.
CHECKOV_ENVIRONMENT = {
    **{name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"},
    "BC_SKIP_MAPPING": "TRUE",  # offline: no policy metadata download
}


def _parse_table_written() -> bool:
    pattern = f"lib/python*/site-packages/bc_jsonpath_ng/ext/{PARSE_TABLE}.py"
    return any(CHECKOV_VENV.glob(pattern))


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
def checkov() -> list[Path]:
    """The command that runs a working checkov, installing it on first use. The script runs
    under the environment's own interpreter, whatever its first line says (a copied
    environment still names the interpreter of the one it was copied from)."""
    python = CHECKOV_VENV / "bin" / "python"
    executable = CHECKOV_VENV / "bin" / "checkov"
    stamp = CHECKOV_VENV / "requirement.txt"
    if not _checkov_ready(executable, stamp):
        shutil.rmtree(CHECKOV_VENV, ignore_errors=True)
        # No pip in it (3 s of CPU): uv installs into it, as scripts/package.py uses uv,
        # seconds where pip takes about a minute. Nothing compiled up front either (7 s): the
        # first scan compiles the modules checkov imports, and keeps them (CHECKOV_ENVIRONMENT).
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", CHECKOV_VENV], check=True)
        install = [sys.executable, "-m", "uv", "pip", "install", "--quiet", "--python", python]
        subprocess.run([*install, CHECKOV_REQUIREMENT], check=True)
        stamp.write_text(CHECKOV_REQUIREMENT + "\n")
    if not _parse_table_written():
        subprocess.run([python, "-c", WRITE_PARSE_TABLE], check=True, env=CHECKOV_ENVIRONMENT)
    return [python, executable]
