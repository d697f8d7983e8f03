"""Orchestrators replay: anything that reads the world (clock, randomness, environment, I/O)
would make a replay take another path than the first run. This scan keeps such code out of
orchestrators/ and proves it catches what it claims to."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ORCHESTRATORS = Path(__file__).resolve().parents[2] / "orchestrators"

FORBIDDEN_MODULES = {
    "time": "wall-clock time / sleeping",
    "random": "randomness",
    "secrets": "randomness",
    "uuid": "random ids (use context.new_uuid())",
    "os": "environment reads / I/O",
    "sys": "process state",
    "socket": "I/O",
    "subprocess": "I/O",
    "threading": "threads",
    "asyncio": "event loops / sleeping",
    "urllib": "I/O",
    "http": "I/O",
    "requests": "I/O",
    "httpx": "I/O",
    "aiohttp": "I/O",
    "sqlite3": "I/O",
    "pathlib": "I/O",
    "shutil": "I/O",
    "io": "I/O",
    "adapters": "I/O (call an activity instead)",
    "activities": "side effects (call the activity by name)",
}
FORBIDDEN_CALLS = {
    "now": "wall-clock time (use context.current_utc_datetime)",
    "utcnow": "wall-clock time (use context.current_utc_datetime)",
    "today": "wall-clock time (use context.current_utc_datetime)",
    "fromtimestamp": "wall-clock time",
    "sleep": "sleeping (use context.create_timer)",
    "uuid1": "random ids (use context.new_uuid())",
    "uuid4": "random ids (use context.new_uuid())",
    "getenv": "environment reads",
    "open": "I/O",
    "input": "I/O",
    "print": "I/O (use orchestrators.common.log)",
}
FORBIDDEN_NAMES = {"environ": "environment reads"}
YIELD_IN_FINALLY = (
    "a finally also runs when the SDK discards a suspended replay, and a yield there is "
    "'generator ignored GeneratorExit'; use orchestrators.locking.holding_lock's shape"
)


def violations(source: str, filename: str = "<source>") -> list[str]:
    """Every forbidden import, call or name in `source`, as `file:line: what (why)`."""
    found = []

    def report(node: ast.AST, what: str, why: str) -> None:
        found.append(f"{filename}:{node.lineno}: {what} ({why})")

    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                root = alias.name.split(".")[0]
                if root in FORBIDDEN_MODULES:
                    report(node, f"import {alias.name}", FORBIDDEN_MODULES[root])
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            root = node.module.split(".")[0]
            if root in FORBIDDEN_MODULES:
                report(node, f"from {node.module} import ...", FORBIDDEN_MODULES[root])
            for alias in node.names:
                if alias.name in FORBIDDEN_CALLS:
                    report(
                        node, f"from {node.module} import {alias.name}", FORBIDDEN_CALLS[alias.name]
                    )
        elif isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if name in FORBIDDEN_CALLS:
                report(node, f"{name}()", FORBIDDEN_CALLS[name])
        elif isinstance(node, ast.Attribute) and node.attr in FORBIDDEN_NAMES:
            report(node, node.attr, FORBIDDEN_NAMES[node.attr])
        elif isinstance(node, ast.Name) and node.id in FORBIDDEN_NAMES:
            report(node, node.id, FORBIDDEN_NAMES[node.id])
        elif isinstance(node, ast.Try | ast.TryStar):
            for yielded in (n for part in node.finalbody for n in ast.walk(part)):
                if isinstance(yielded, ast.Yield | ast.YieldFrom):
                    report(yielded, "yield in finally", YIELD_IN_FINALLY)
    return found


def scan(directory: Path) -> list[str]:
    """Violations in every Python file under `directory`."""
    return [
        line
        for path in sorted(directory.rglob("*.py"))
        for line in violations(path.read_text(), str(path.relative_to(directory.parent)))
    ]


def test_orchestrators_are_deterministic():
    files = sorted(ORCHESTRATORS.rglob("*.py"))
    assert any(path.name == "claims.py" for path in files), "the scan must see the orchestrators"
    assert scan(ORCHESTRATORS) == []


PLANTED = {
    "from datetime import datetime\nstamp = datetime.now()\n": "now()",
    "import datetime\nstamp = datetime.datetime.utcnow()\n": "utcnow()",
    "from datetime import date\nday = date.today()\n": "today()",
    "import time\ntime.sleep(1)\n": "import time",
    "from time import sleep\n": "import sleep",
    "import random\nvalue = random.random()\n": "import random",
    "import uuid\nident = uuid.uuid4()\n": "uuid4()",
    "from uuid import uuid4\n": "import uuid4",
    "import os\nvalue = os.environ['X']\n": "environ",
    "from os import getenv\nvalue = getenv('X')\n": "getenv()",
    "with open('/tmp/x') as f:\n    pass\n": "open()",
    "import requests\n": "import requests",
    "from adapters.partners import payments\n": "from adapters.partners",
    "import asyncio\n": "import asyncio",
    "def steps(context):\n    try:\n        yield 1\n    finally:\n        yield 2\n": (
        "yield in finally"
    ),
}


@pytest.mark.parametrize("source", PLANTED, ids=list(PLANTED.values()))
def test_scan_catches_a_planted_violation(tmp_path: Path, source: str):
    package = tmp_path / "orchestrators"
    package.mkdir()
    (package / "clean.py").write_text("from datetime import timedelta\nSTEP = timedelta(days=1)\n")
    (package / "planted.py").write_text("def orchestrator(context):\n    pass\n" + source)
    found = scan(package)
    assert found, f"missed: {source!r}"
    assert all(line.startswith("orchestrators/planted.py:") for line in found)
    assert any(PLANTED[source] in line for line in found)


def test_scan_allows_the_deterministic_apis():
    source = (
        "def orchestrator(context):\n"
        "    now = context.current_utc_datetime\n"
        "    ident = context.new_uuid()\n"
        "    yield context.create_timer(now)\n"
    )
    assert violations(source) == []
