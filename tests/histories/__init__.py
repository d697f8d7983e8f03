"""Recorded histories of each workflow's main paths, as the e2e stories leave them.

tests/e2e/test_releases.py replays every one of them against the current code, so a change
that would break instances already in flight fails CI before it ships (docs/releases.md).
`make histories` records them again: it runs the stories below with RECORD_HISTORIES=1, and
the e2e fixture exports these instances from each story's task hub into one folder per path.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from devhost.testing import command

HISTORIES = Path(__file__).resolve().parent

#: Folder -> the instances one e2e story leaves for that path (an order, then its tasks).
PATHS = {
    "claim-approved": ["claim-CLM-BIG"],
    "claim-expired": ["claim-CLM-SLOW"],
    "shipment-delivered-with-retries": ["shipment-SHP-HAPPY"],
    "maintenance-parts-waits": [
        "maintenance-MO-PARTS",
        "maintenance-MO-PARTS:task:T1",
        "maintenance-MO-PARTS:task:T2",
    ],
}


def recording() -> bool:
    return os.environ.get("RECORD_HISTORIES") == "1"


def record(hub: Path) -> list[str]:
    """Export each path whose instances are all in `hub`, replacing its folder; the paths."""
    recorded = []
    for folder, instance_ids in PATHS.items():
        with tempfile.TemporaryDirectory() as scratch:
            exported = command("export", *instance_ids, "--hub", str(hub), "--out", scratch)
            if exported.returncode != 0:
                if "no instance" in exported.stderr:
                    continue  # another story's hub
                raise RuntimeError(exported.stderr)
            shutil.rmtree(HISTORIES / folder, ignore_errors=True)
            shutil.copytree(scratch, HISTORIES / folder)
            recorded.append(folder)
    return recorded
