"""The host's side of its worker processes, as the Functions host runs Python workers.

The host starts FUNCTIONS_WORKER_PROCESS_COUNT workers (devhost/worker/process.py; Azure's
default is 1, its limit 10) with `multiprocessing`, and keeps the HTTP listeners, the task hub and
dispatch to itself. Every worker imports the app afresh: the host never imports it. On Linux
the first workers are forked before the host opens anything (see `WorkerPool`), which saves a
fresh interpreter and the re-import of devhost; later ones (replacements, reloads) start with
the spawn method, as the host then runs threads and holds sockets a fork must not copy.

A call is a request (devhost/worker/messages.py) on the worker's pipe and an asyncio future in
the host, resolved when the answer arrives; the pipe is read on the host's event loop, so
waiting costs no thread.

When a worker process exits, every call it held fails with `WorkerLost` and a new worker takes
its place, as the Functions host restarts a language worker that died. The engine then does
what Azure does with the lost work: activities and episodes run again (their messages were
never completed), an HTTP request that was being served gets a 500.
`concurrent.futures.ProcessPoolExecutor` is not used because its processes run one call at a
time, where a Python worker runs many, and one dead process breaks the whole pool.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import multiprocessing
import os
import sys
from collections.abc import Callable, Mapping
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, TypeVar

from devhost.app.config import ConfigError
from devhost.app.loader import FunctionIndex
from devhost.worker import invocations
from devhost.worker.messages import Answer, Call, Loaded, LoadFailed, Request

log = logging.getLogger("devhost")
A = TypeVar("A")

#: The Functions host's limit on FUNCTIONS_WORKER_PROCESS_COUNT.
MAX_WORKERS = 10
#: How long a worker may take to import the app before the host gives up on it.
LOAD_SECONDS = 120.0


class WorkerLost(Exception):
    """The worker process running the call exited before answering it."""


class WorkerFailed(Exception):
    """devhost itself failed inside the worker; the message says how."""


def worker_count() -> int:
    """FUNCTIONS_WORKER_PROCESS_COUNT: 1 to 10 worker processes, 1 when unset (Azure's
    default)."""
    return _setting("FUNCTIONS_WORKER_PROCESS_COUNT", 1, MAX_WORKERS)


def thread_count() -> int:
    """PYTHON_THREADPOOL_THREAD_COUNT: threads per worker for synchronous functions; unset, the
    Python worker lets ThreadPoolExecutor choose (min(32, CPUs + 4))."""
    return _setting("PYTHON_THREADPOOL_THREAD_COUNT", min(32, (os.cpu_count() or 1) + 4), 32)


def _setting(name: str, default: int, most: int) -> int:
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    if not text.isdigit() or not 1 <= int(text) <= most:
        raise ConfigError(f"{name} must be a whole number from 1 to {most}, not '{text}'")
    return int(text)


def _worker_main(
    conn: Connection,
    app_dir: str,
    threads: int,
    inherited: tuple[Connection, ...] = (),
    environment: Mapping[str, str] | None = None,
) -> None:
    """The worker process's entry point. devhost.worker.process, and with it the SDK and
    azure.functions, is imported here, in the worker: the host never needs them.

    A forked worker first closes the host's ends of the pipes it inherited: while it held its
    own, it would never see the host go away, and while it held another worker's, neither
    would that worker. Then `environment`, what the platform sets for the app (such as
    `WEBSITE_AUTH_ENABLED` under `--easyauth`), goes over the environment it inherited."""
    for end in inherited:
        end.close()
    os.environ.update(environment or {})
    from devhost.worker.process import serve

    serve(conn, app_dir, threads)


class Worker:
    """One worker process, its pipe, and the calls it holds."""

    def __init__(
        self,
        app_dir: Path,
        threads: int,
        siblings: list[Worker] | None = None,
        environment: Mapping[str, str] | None = None,
    ) -> None:
        """Start the process: forked when `siblings` (the workers started before it) is
        given, spawned otherwise; `environment` goes over the host's in the worker."""
        context = (
            multiprocessing.get_context("spawn")
            if siblings is None
            else multiprocessing.get_context("fork")
        )
        self.conn, child = context.Pipe()
        inherited = () if siblings is None else (*(w.conn for w in siblings), self.conn)
        self.process = context.Process(
            target=_worker_main,
            args=(child, str(app_dir), threads, inherited, dict(environment or {})),
            name="devhost-worker",
        )
        self.process.start()
        child.close()
        self.calls: dict[int, asyncio.Future[Any]] = {}
        self.outbox: list[Call] = []  # calls not sent yet
        self.index: FunctionIndex | None = None
        self.ready: asyncio.Future[FunctionIndex] | None = None

    @property
    def pid(self) -> int | None:
        return self.process.pid

    def wait_loaded(self) -> FunctionIndex:
        """Block until the worker reports the app's functions (the host's start-up)."""
        if not self.conn.poll(LOAD_SECONDS):
            raise self._too_slow()
        return self._loaded(self._first_message())

    async def load(self) -> FunctionIndex:
        """Wait until the worker reports the app's functions, while the host's loop serves
        (a reload)."""
        loop = asyncio.get_running_loop()
        reported: asyncio.Future[None] = loop.create_future()
        fd = self.conn.fileno()

        def report() -> None:
            if not reported.done():
                reported.set_result(None)

        loop.add_reader(fd, report)
        try:
            await asyncio.wait_for(reported, LOAD_SECONDS)
        except TimeoutError:
            raise self._too_slow() from None
        finally:
            loop.remove_reader(fd)
        return self._loaded(self._first_message())

    def _too_slow(self) -> ConfigError:
        self.kill()
        return ConfigError(f"the worker did not load the app within {LOAD_SECONDS:g} s")

    def _first_message(self) -> Loaded | LoadFailed:
        try:
            message: Loaded | LoadFailed = self.conn.recv()  # the worker's first message
            return message
        except (EOFError, OSError):
            self.process.join()
            return LoadFailed(f"the worker process exited (code {self.process.exitcode})")

    def _loaded(self, message: Loaded | LoadFailed) -> FunctionIndex:
        if isinstance(message, LoadFailed):
            self.kill()
            raise ConfigError(message.problem)
        self.index = message.index
        return message.index

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join()
        self.conn.close()


class WorkerPool:
    """A fixed number of worker slots; a slot's dead worker is replaced on the spot."""

    def __init__(
        self,
        app_dir: Path,
        count: int,
        threads: int,
        environment: Mapping[str, str] | None = None,
    ) -> None:
        """`environment`: variables the platform sets for the app's workers only (every
        worker, first, replacement or reloaded, gets them over the host's environment)."""
        self.app_dir = app_dir
        self.threads = threads
        self.environment = dict(environment or {})
        # The host builds the pool before it opens the hub, binds a socket or starts a thread,
        # so on Linux the first workers may be forked: a fork then copies nothing it must not.
        self.workers: list[Worker] = []
        for _ in range(count):
            siblings = list(self.workers) if sys.platform == "linux" else None
            self.workers.append(Worker(app_dir, threads, siblings, self.environment))
        self._ids = itertools.count()
        self._loop: asyncio.AbstractEventLoop | None = None
        self.stopping = False
        self.retiring: list[Worker] = []  # replaced by a reload, finishing their calls
        self._retirements: set[asyncio.Task[None]] = set()

    def start(self) -> FunctionIndex:
        """Wait until every worker has loaded the app; the index of its functions. The
        workers were started in the constructor, so they load while the host sets up."""
        indexes = []
        try:
            indexes = [w.wait_loaded() for w in self.workers]
        except ConfigError:
            self.stop()
            raise
        return indexes[0]

    def attach(self) -> None:
        """Read the workers' answers on the running loop (the host's, once it runs)."""
        self._loop = asyncio.get_running_loop()
        for w in self.workers:
            self._watch(w)

    def _watch(self, w: Worker) -> None:
        assert self._loop is not None
        self._loop.add_reader(w.conn.fileno(), self._receive, w)

    def stop(self) -> None:
        """Close every pipe; a worker exits when its pipe closes (and is killed if it
        lingers)."""
        self.stopping = True
        everyone = [*self.workers, *self.retiring]
        for w in everyone:
            self._forget(w)
            w.conn.close()
        for w in everyone:
            w.process.join(timeout=5)
            w.kill()

    # -- reloading (watch mode) ----------------------------------------------------------------

    async def reload(self, adopt: Callable[[FunctionIndex], None]) -> FunctionIndex:
        """Put workers that import the app afresh in every slot; the new app's index.

        The fresh workers load while the old ones serve. Once all have reported the app's
        functions, `adopt` takes their index (a ConfigError refuses it) and they take the
        slots: new calls go to them, and each old worker is closed once the calls it holds
        have answered. If the app fails to load, the fresh workers are closed, the old ones
        go on serving, and the ConfigError says why."""
        fresh = [
            Worker(self.app_dir, self.threads, environment=self.environment) for _ in self.workers
        ]
        try:
            indexes = [await w.load() for w in fresh]
            adopt(indexes[0])
        except BaseException:  # a refusal, or the host stopping meanwhile
            for w in fresh:
                w.kill()
            raise
        old, self.workers = self.workers, fresh
        for w in fresh:
            self._watch(w)
        self.retiring += old
        retirement = asyncio.create_task(self._retire(old))
        self._retirements.add(retirement)  # the loop keeps only a weak reference
        retirement.add_done_callback(self._retirements.discard)
        return indexes[0]

    async def _retire(self, old: list[Worker]) -> None:
        """Close replaced workers once every call they hold has answered. A replacement still
        loading reports in first: calls waiting for it then go to its slot's new worker."""
        pending = [f for w in old for f in w.calls.values()]
        pending += [w.ready for w in old if w.ready is not None]
        if pending:
            await asyncio.wait(pending)
        for w in old:
            self._forget(w)
            w.conn.close()  # the worker exits when its pipe closes
        for w in old:
            await asyncio.to_thread(w.process.join, 5)
            w.kill()
            self.retiring.remove(w)
        log.info("closed %d worker(s) running the previous code", len(old))

    # -- calls -------------------------------------------------------------------------------

    def slot_for(self, key: str) -> int:
        """Work for one instance or entity always goes to one slot (its cached history)."""
        return hash(key) % len(self.workers)

    def _least_busy(self) -> int:
        return min(range(len(self.workers)), key=lambda s: len(self.workers[s].calls))

    async def call(self, request: Request[A], slot: int | None = None) -> A:
        """Run `request` in the slot's worker, or the least busy one, and return its answer;
        WorkerLost if the process dies meanwhile, WorkerFailed if devhost failed in it."""
        if slot is None:
            slot = self._least_busy()
        w = self.workers[slot]
        if w.ready is not None:
            await w.ready
            w = self.workers[slot]
        call_id = next(self._ids)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[A] = loop.create_future()
        w.calls[call_id] = future
        if not w.outbox:
            loop.call_soon(self._flush, w)
        w.outbox.append((call_id, request))
        return await invocations.logged(request, future)

    def _flush(self, w: Worker) -> None:
        """Send the calls made during one turn of the loop as one message: a pipe write
        and a wake-up per turn rather than per call."""
        calls, w.outbox = w.outbox, []
        if calls and w.calls:
            try:
                w.conn.send(calls)
            except OSError:
                self._lost(w)

    def worker_in(self, slot: int) -> Worker:
        """The worker now in `slot`: a history sent to an earlier one is gone with it."""
        return self.workers[slot]

    def _receive(self, w: Worker) -> None:
        try:
            while w.conn.poll():
                message = w.conn.recv()
                if w.ready is not None:  # a replacement reporting the app loaded
                    self._on_loaded(w, message)
                    continue
                answers: list[Answer] = message
                for call_id, succeeded, value in answers:
                    future = w.calls.pop(call_id, None)
                    if future is None or future.done():
                        continue  # an answer nobody waits for any more (a timed-out call)
                    if succeeded:
                        future.set_result(value)
                    else:
                        future.set_exception(WorkerFailed(value))
        except (EOFError, OSError):
            self._lost(w)

    def _on_loaded(self, w: Worker, message: Loaded | LoadFailed) -> None:
        assert w.ready is not None
        ready, w.ready = w.ready, None
        try:
            ready.set_result(w._loaded(message))
        except ConfigError as problem:
            log.error("the new worker cannot load the app: %s", problem)
            ready.set_exception(WorkerLost(str(problem)))
            self._forget(w)

    def _forget(self, w: Worker) -> None:
        if self._loop is not None and not w.conn.closed:
            self._loop.remove_reader(w.conn.fileno())

    def _lost(self, w: Worker) -> None:
        """The process is gone: fail what it held and put a new worker in its slot."""
        self._forget(w)
        calls, w.calls, w.outbox = w.calls, {}, []
        lost = WorkerLost(f"worker process {w.pid} exited")
        for future in calls.values():
            if not future.done():
                future.set_exception(lost)
        if w.ready is not None and not w.ready.done():  # it died before loading the app
            w.ready.set_exception(lost)
        w.kill()
        if self.stopping or w not in self.workers:
            return
        log.warning(
            "worker process %s exited (code %s) holding %d call(s); starting a new worker, as "
            "the Functions host restarts a language worker, and running that work again",
            w.pid,
            w.process.exitcode,
            len(calls),
        )
        self._replace(self.workers.index(w))

    def _replace(self, slot: int) -> None:
        assert self._loop is not None
        fresh = Worker(self.app_dir, self.threads, environment=self.environment)
        fresh.ready = self._loop.create_future()
        fresh.ready.add_done_callback(lambda f: f.exception())  # read even if nobody waits
        self.workers[slot] = fresh
        self._watch(fresh)
