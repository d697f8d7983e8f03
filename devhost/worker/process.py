"""A worker process: imports the app once and runs its functions for the host.

This is devhost's Python language worker. The host (devhost/worker/pool.py) starts it with
`multiprocessing`, and the two talk over a `multiprocessing` pipe: the worker first reports the
app's functions (or why the app cannot load), then answers calls `(call id, kind, arguments)`
with `(call id, True, value)`, or `(call id, False, text)` when devhost itself failed. Each
side sends what one turn of its event loop produced as one list. Many
calls run at once, as in the Python worker: async functions on this process's event loop,
synchronous ones in a pool of PYTHON_THREADPOOL_THREAD_COUNT threads. App failures are not
errors here: they travel back as values (an activity's Outcome, a failed Decision).

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
from devhost.durable import entities
from devhost.durable.decisions import Decision, Outcome
from devhost.http.triggers import HttpCall, HttpReply
from devhost.worker import activities
from devhost.worker import http as http_functions
from devhost.worker import timers as timer_functions
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
        conn.send(("failed", str(problem)))
        return
    conn.send(("ready", index.without_code()))
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
        self.outbox: list[tuple[int, bool, Any]] = []
        self.outbox_lock = threading.Lock()
        self.loop = asyncio.get_running_loop()
        # Synchronous work goes straight to a pool thread, which posts the reply itself: no
        # task, future or loop wake-up per call, only one wake-up per batch of replies.
        self.synchronous: dict[str, Callable[..., Callable[[], Any] | None]] = {
            "episode": self.episode,
            "activity": self.sync_activity,
            "entity": self.entity,
        }
        self.asynchronous: dict[str, Callable[..., Awaitable[Any]]] = {
            "activity": self.activity,
            "http": self.http,
            "timer": self.timer,
        }

    async def serve(self) -> None:
        self.loop.add_reader(self.conn.fileno(), self._receive)
        await self.closed.wait()

    def _receive(self) -> None:
        try:
            while self.conn.poll():
                for call_id, kind, arguments in self.conn.recv():
                    self._start(call_id, kind, arguments)
        except (EOFError, OSError):
            self.loop.remove_reader(self.conn.fileno())
            self.closed.set()

    def _start(self, call_id: int, kind: str, arguments: tuple[Any, ...]) -> None:
        prepare = self.synchronous.get(kind)
        try:
            work = prepare(*arguments) if prepare else None
        except Exception as error:
            self._post(self._failed(call_id, kind, error))
            return
        if work is not None:
            self.pool.submit(self._run, call_id, kind, work)
            return
        task = self.loop.create_task(self._answer(call_id, kind, arguments))
        self.answering.add(task)
        task.add_done_callback(self.answering.discard)

    def _run(self, call_id: int, kind: str, work: Callable[[], Any]) -> None:
        """In a pool thread: do the work and post its reply."""
        try:
            reply = (call_id, True, work())
        except Exception as error:
            reply = self._failed(call_id, kind, error)
        self._post(reply)

    async def _answer(self, call_id: int, kind: str, arguments: tuple[Any, ...]) -> None:
        try:
            reply = (call_id, True, await self.asynchronous[kind](*arguments))
        except Exception as error:
            reply = self._failed(call_id, kind, error)
        self._post(reply)

    @staticmethod
    def _failed(call_id: int, kind: str, error: Exception) -> tuple[int, bool, str]:
        log.exception("worker call %s failed", kind, exc_info=error)
        return (call_id, False, f"{type(error).__name__}: {error}")

    def _post(self, reply: tuple[int, bool, Any]) -> None:
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

    def _send_alone(self, reply: tuple[int, bool, Any]) -> None:
        try:
            self.conn.send([reply])
        except OSError:
            self.closed.set()
        except Exception as error:
            self.conn.send([(reply[0], False, f"{type(error).__name__}: {error}")])

    def episode(
        self,
        instance_id: str,
        name: str,
        parent_id: str | None,
        input_json: str | None,
        known: int,
        unseen: list[dict[str, Any]],
        new: list[dict[str, Any]],
    ) -> Callable[[], Decision | None]:
        """Replay one episode. `known` is how many history events the host believes this
        worker holds and `unseen` the committed events after those; `known == 0` replaces what
        the worker had (a new generation, a rewind). None asks the host for the whole history
        (this worker evicted it)."""
        past = self.histories.pop(instance_id, None)
        if known == 0:
            past = ReplayHistory()
        elif past is None or len(past.events) != known:
            return lambda: None
        past.extend(unseen)
        self.histories[instance_id] = past
        while len(self.histories) > CACHED_HISTORIES:
            self.histories.popitem(last=False)
        handle = self.index.orchestrators[name]

        def replay() -> Decision:
            try:
                return run_episode(handle, instance_id, parent_id, input_json, past, new)
            except Exception as error:  # a devhost surprise must not wedge the instance
                log.exception("episode of %s failed", instance_id)
                self.loop.call_soon_threadsafe(self.histories.pop, instance_id, None)
                return Decision(failure=f"{type(error).__name__}: {error}")

        return replay

    def sync_activity(
        self, name: str, input_json: str | None, client_binding: str | None
    ) -> Callable[[], Outcome] | None:
        """A synchronous activity's whole invocation, for a pool thread; None for async ones."""
        function = self.index.activities.get(name)
        if function is not None and activities.is_async(function):
            return None
        return lambda: activities.invoke_sync(function, name, input_json, client_binding)

    async def activity(
        self, name: str, input_json: str | None, client_binding: str | None
    ) -> Outcome:
        function = self.index.activities.get(name)
        return await activities.invoke(function, name, input_json, client_binding)

    def entity(
        self,
        name: str,
        entity_id: str,
        exists: bool,
        state: str | None,
        requests: list[dict[str, Any]],
    ) -> Callable[[], entities.BatchOutcome]:
        handle = self.index.entities[name.lower()]
        return lambda: entities.run_batch(handle, entity_id, exists, state, requests)

    async def http(self, name: str, call: HttpCall, client_binding: str | None) -> HttpReply | str:
        """The function's reply, or the text of the exception it raised."""
        function = next(f for f in self.index.http if f.name == name)
        try:
            return await http_functions.invoke(function, call, client_binding, self.pool)
        except Exception as error:
            log.exception("function %s failed", name)
            return f"{type(error).__name__}: {error}"

    async def timer(self, name: str, info_json: str, client_binding: str | None) -> None:
        function = next(f for f in self.index.timers if f.name == name)
        await timer_functions.invoke(function, info_json, client_binding, self.pool)
