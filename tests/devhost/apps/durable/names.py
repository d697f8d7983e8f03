"""Activity names kept as a StrEnum, as apps keep them. Each process that imports this module
appends its pid to $DURABLE_DIR/imported-by.log: app code belongs in workers, never the host."""

import os
from enum import StrEnum
from pathlib import Path


class Step(StrEnum):
    ECHO = "echo"


if "DURABLE_DIR" in os.environ:
    with (Path(os.environ["DURABLE_DIR"]) / "imported-by.log").open("a") as _log:
        _log.write(f"{os.getpid()}\n")
