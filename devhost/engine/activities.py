"""Activities: each queued activity runs in the least busy worker, and its result commits as a
TaskCompleted or TaskFailed for the instance that scheduled it.

Activities are at-least-once, as on Azure: a message is deleted only in the commit that records
its result, so an activity lost with its worker runs again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from devhost.app.config import Limits
from devhost.durable import failures
from devhost.durable import history as h
from devhost.durable.decisions import Outcome
from devhost.durable.http_activity import HTTP_ACTIVITY
from devhost.engine.durable_http import run_http_activity
from devhost.engine.instances import Instances
from devhost.hub.store import Message, TaskHub
from devhost.worker.messages import Activity
from devhost.worker.pool import WorkerFailed, WorkerLost, WorkerPool

log = logging.getLogger("devhost")


class Activities:
    """Runs activities in the workers, up to maxConcurrentActivityFunctions at once."""

    def __init__(
        self,
        hub: TaskHub,
        instances: Instances,
        workers: WorkerPool,
        limits: Limits,
        function_timeout: float | None,
        wake: Callable[[], None],
    ) -> None:
        self.hub = hub
        self.instances = instances
        self.workers = workers
        self.limit = limits.activities
        self.function_timeout = function_timeout
        self.wake = wake
        self.client_binding: str | None = None  # for activities' durableClient bindings
        self.running: dict[int, asyncio.Task[None]] = {}  # by message id
        self.finished: list[tuple[Message, Outcome]] = []  # waiting for the next commit

    def dispatch(self) -> bool:
        """Start the activities that are due, up to the limit; True if any started."""
        room = self.limit - len(self.running)
        if room <= 0:
            return False
        _, epoch = self.instances.now()
        messages = self.hub.ready("activity", epoch, room, exclude=self.running.keys())
        loop = asyncio.get_running_loop()
        for message in messages:
            run = self._call_http if message.body["name"] == HTTP_ACTIVITY else self._invoke
            future = loop.create_task(run(message), name=message.body["name"])
            self.running[message.id] = future
        return bool(messages)

    async def _invoke(self, message: Message) -> None:
        """Run one activity in the least busy worker. Past functionTimeout it fails as the
        host fails it; a worker lost meanwhile leaves it queued, to run again (at least once,
        as on Azure)."""
        name = message.body["name"]
        call = self.workers.call(Activity(name, message.body["input"], self.client_binding))
        try:
            outcome = await asyncio.wait_for(call, timeout=self.function_timeout)
        except TimeoutError:
            assert self.function_timeout is not None
            # As FunctionExecutor's FunctionTimeoutException through TaskActivityShim. A
            # synchronous function's thread runs on in its worker; its answer is ignored.
            log.warning("activity %s exceeded functionTimeout", name)
            text = failures.timed_out(name, self.function_timeout)
            outcome = Outcome(failure=failures.host_failure(name, text))
        except WorkerLost as lost:
            log.warning("activity %s runs again: %s", name, lost)
            self.running.pop(message.id, None)
            self.wake()
            return
        except WorkerFailed as problem:
            outcome = Outcome(failure=(str(problem), str(problem)))
        self.finished.append((message, outcome))
        self.wake()

    async def _call_http(self, message: Message) -> None:
        """The built-in HTTP activity runs in the host, as the extension runs it
        (TaskHttpActivityShim): no worker, no functionTimeout."""
        self.finished.append((message, await run_http_activity(message.body["input"])))
        self.wake()

    def record_results(self) -> bool:
        """In the commit: each finished activity's result, for the instance that scheduled
        it; True if there were any."""
        if not self.finished:
            return False
        done, self.finished = self.finished, []
        now = self.instances.clock.now()
        for message, outcome in done:
            self.running.pop(message.id, None)
            if not self.hub.take_message(message.id):
                continue  # its instance was purged or restarted meanwhile
            task_id = message.body["taskId"]
            if outcome.failure:
                event = h.task_failed(now, task_id, *outcome.failure)
            else:
                event = h.task_completed(now, task_id, outcome.result)
            self.instances.send(
                message.target, event, now.timestamp(), message.body.get("execution")
            )
        return True
