"""A worker process: imports the app once and runs its functions for the host.

This is devhost's Python language worker. The host (devhost/worker/pool.py) starts it with
`multiprocessing`, and the two talk over a `multiprocessing` pipe in the messages of
devhost/worker/messages.py: the worker first reports the app's functions (or why the app
cannot load), then answers each call with its answer, or with the text of how devhost itself
failed. Each side sends what one turn of its event loop produced as one list. Many calls run
at once, as in the Python worker: async functions on this process's event loop, synchronous
ones in a pool of PYTHON_THREADPOOL_THREAD_COUNT threads. App failures are not errors here:
they travel back as values (an activity's Outcome, a failed Decision).

Orchestrator histories stay in the worker between episodes, parsed once, the way an extended
session keeps them: the host sends only the events the worker has not seen (see `episode`).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import threading
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from devhost.app.config import ConfigError
from devhost.app.loader import FunctionIndex, load_app
from devhost.durable.decisions import Decision, Outcome
from devhost.durable.entities import BatchOutcome
from devhost.worker import activities, entities, http, timers
from devhost.worker.messages import (
    Activity,
    Answer,
    Call,
    EntityBatch,
    Episode,
    HttpReply,
    HttpTrigger,
    Loaded,
    LoadFailed,
    Request,
    TimerTrigger,
)
from devhost.worker.replay import ReplayHistory, run_episode

log = logging.getLogger("devhost")

#: Histories a worker keeps between episodes; the host resends one it evicted.
CACHED_HISTORIES = 2000


def serve(conn: Connection, app_dir: str, threads: int) -> None:
    """The worker process's entry point: load the app, report it, answer calls until the
    host closes the pipe (or is gone)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the group; the host decides
    logging.basicConfig(
        level=logging.INFO, format="[%(asctime)s] %(name)s: %(message)s", stream=sys.stderr
    )
    try:
        index = load_app(Path(app_dir))
    except ConfigError as problem:
        conn.send(LoadFailed(str(problem)))
        return
    conn.send(Loaded(index.without_code()))
    asyncio.run(_serve(conn, index, threads))
    # Threads still running app code (a function past its timeout) must not keep the
    # process alive once the host has let it go.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


async def _serve(conn: Connection, index: FunctionIndex, threads: int) -> None:
    await _Worker(conn, index, threads).serve()


class _Worker:
    def __init__(self, conn: Connection, index: FunctionIndex, threads: int) -> None:
        self.conn = conn
        self.index = index
        self.pool = ThreadPoolExecutor(threads, thread_name_prefix="function")
        self.histories: OrderedDict[str, ReplayHistory] = OrderedDict()
        self.closed = asyncio.Event()
        self.answering: set[asyncio.Task[None]] = set()
        self.outbox: list[Answer] = []
        self.outbox_lock = threading.Lock()
        self.loop = asyncio.get_running_loop()
        # Synchronous work goes straight to a pool thread, which posts the reply itself: no
        # task, future or loop wake-up per call, only one wake-up per batch of replies. What
        # `synchronous` declines (None) runs on the loop.
        self.synchronous: dict[type[Request[Any]], Callable[[Any], Callable[[], Any] | None]] = {
            Episode: self.episode,
            Activity: self.sync_activity,
            EntityBatch: self.entity_batch,
        }
        self.asynchronous: dict[type[Request[Any]], Callable[[Any], Awaitable[Any]]] = {
            Activity: self.activity,
            HttpTrigger: self.http_trigger,
            TimerTrigger: self.timer_trigger,
        }

    async def serve(self) -> None:
        self.loop.add_reader(self.conn.fileno(), self._receive)
        await self.closed.wait()

    def _receive(self) -> None:
        try:
            while self.conn.poll():
                calls: list[Call] = self.conn.recv()
                for call_id, request in calls:
                    self._start(call_id, request)
        except (EOFError, OSError):
            self.loop.remove_reader(self.conn.fileno())
            self.closed.set()

    def _start(self, call_id: int, request: Request[Any]) -> None:
        prepare = self.synchronous.get(type(request))
        try:
            work = prepare(request) if prepare else None
        except Exception as error:
            self._post(self._failed(call_id, request, error))
            return
        if work is not None:
            self.pool.submit(self._run, call_id, request, work)
            return
        task = self.loop.create_task(self._answer(call_id, request))
        self.answering.add(task)
        task.add_done_callback(self.answering.discard)

    def _run(self, call_id: int, request: Request[Any], work: Callable[[], Any]) -> None:
        """In a pool thread: do the work and post its reply."""
        try:
            reply = (call_id, True, work())
        except Exception as error:
            reply = self._failed(call_id, request, error)
        self._post(reply)

    async def _answer(self, call_id: int, request: Request[Any]) -> None:
        try:
            reply = (call_id, True, await self.asynchronous[type(request)](request))
        except Exception as error:
            reply = self._failed(call_id, request, error)
        self._post(reply)

    @staticmethod
    def _failed(call_id: int, request: Request[Any], error: Exception) -> Answer:
        log.exception("worker call %s failed", type(request).__name__, exc_info=error)
        return (call_id, False, f"{type(error).__name__}: {error}")

    def _post(self, reply: Answer) -> None:
        """Queue a reply from any thread; the first of a batch schedules the flush."""
        with self.outbox_lock:
            first = not self.outbox
            self.outbox.append(reply)
        if first:
            self.loop.call_soon_threadsafe(self._flush)

    def _flush(self) -> None:
        with self.outbox_lock:
            replies, self.outbox = self.outbox, []
        try:
            self.conn.send(replies)
        except OSError:
            self.closed.set()  # the host is gone
        except Exception:  # some value does not pickle: send them one by one
            for reply in replies:
                self._send_alone(reply)

    def _send_alone(self, reply: Answer) -> None:
        try:
            self.conn.send([reply])
        except OSError:
            self.closed.set()
        except Exception as error:
            self.conn.send([(reply[0], False, f"{type(error).__name__}: {error}")])

    def episode(self, request: Episode) -> Callable[[], Decision | None]:
        """Replay one episode (see `Episode` for what `known` and `unseen` hold); None asks
        the host for the whole history (this worker evicted it)."""
        instance_id = request.instance_id
        past = self.histories.pop(instance_id, None)
        if request.known == 0:
            past = ReplayHistory()
        elif past is None or len(past.events) != request.known:
            return lambda: None
        past.extend(request.unseen)
        self.histories[instance_id] = past
        while len(self.histories) > CACHED_HISTORIES:
            self.histories.popitem(last=False)
        handle = self.index.orchestrators[request.orchestrator]
        parent_id, input_json, new = request.parent_id, request.input, request.new

        def replay() -> Decision:
            try:
                return run_episode(handle, instance_id, parent_id, input_json, past, new)
            except Exception as error:  # a devhost surprise must not wedge the instance
                log.exception("episode of %s failed", instance_id)
                self.loop.call_soon_threadsafe(self.histories.pop, instance_id, None)
                return Decision(failure=f"{type(error).__name__}: {error}")

        return replay

    def sync_activity(self, request: Activity) -> Callable[[], Outcome] | None:
        """A synchronous activity's whole invocation, for a pool thread; None for async ones."""
        function = self.index.activities.get(request.name)
        if function is not None and activities.is_async(function):
            return None
        return lambda: activities.invoke_sync(function, request)

    async def activity(self, request: Activity) -> Outcome:
        function = self.index.activities.get(request.name)
        return await activities.invoke(function, request)

    def entity_batch(self, request: EntityBatch) -> Callable[[], BatchOutcome]:
        handle = self.index.entities[request.name]
        return lambda: entities.run_batch(
            handle, request.entity_id, request.exists, request.state, request.requests
        )

    async def http_trigger(self, request: HttpTrigger) -> HttpReply | str:
        """The function's reply, or the text of the exception it raised."""
        function = next(f for f in self.index.http if f.name == request.function)
        try:
            return await http.invoke(function, request, self.pool)
        except Exception as error:
            log.exception("function %s failed", request.function)
            return f"{type(error).__name__}: {error}"

    async def timer_trigger(self, request: TimerTrigger) -> str | None:
        function = next(f for f in self.index.timers if f.name == request.function)
        return await timers.invoke(function, request, self.pool)
