"""What waits for the dispatcher's next group commit: client writes, and the workers' answers.

A client write (a start, a raised event) and the answer of an episode or an entity batch are
not written where they arrive: they wait here, and the dispatcher commits all that waits in one
transaction (devhost/engine/loop.py). A caller hears back only after that commit, so what the
host accepted is durable; and an instance or entity stays busy until its answer is committed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

#: An answer waiting for the next commit: (its in-flight registry, key, what records it).
Result = tuple[dict[Any, Any], Any, Callable[[], None]]


class Pending:
    """Writes and answers not yet committed; `wake` tells the dispatcher there are some."""

    def __init__(self, wake: Callable[[], None]) -> None:
        self.wake = wake
        self.writes: list[tuple[Callable[[], Any], asyncio.Future[Any]]] = []
        self.results: list[Result] = []

    def __len__(self) -> int:
        return len(self.writes) + len(self.results)

    async def write(self, operation: Callable[[], T]) -> T:
        """Queue a state change for the next group commit and wait until it is durable; what
        `operation` raises there is raised here."""
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self.writes.append((operation, future))
        self.wake()
        return await future

    def answered(
        self, running: dict[Any, Any], key: Any, record: Callable[[], None] | None
    ) -> None:
        """Hand a worker's answer to the next commit, which frees `key` in `running`; None:
        the work was lost with its worker, stays queued, and `key` is free to run it again."""
        if record is None:
            running.pop(key, None)
        else:
            self.results.append((running, key, record))
        self.wake()
