"""The calls log the durability tests read: one line per activity call."""

import os
import threading
from pathlib import Path

_lock = threading.Lock()


def record(line: str) -> Path:
    """Append `line` to $DURABLE_DIR/calls.log and return that folder."""
    folder = Path(os.environ["DURABLE_DIR"])
    with _lock, (folder / "calls.log").open("a") as log:
        log.write(line + "\n")
    return folder
