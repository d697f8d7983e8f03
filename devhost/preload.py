"""Start devhost hosts forked from a process that has already imported devhost and the SDK.

A test suite starts many hosts, and each fresh `python -m devhost start` spends most of its
start-up importing aiohttp, azure.functions and the Durable SDK before it serves anything, in
the host and again in its worker. `start` forks hosts instead
from the standard library's forkserver, which imported those modules once.

A host started this way is otherwise the process `python -m devhost start` makes: its own pid,
environment, working folder, sys.path, argv, stdout/stderr and exit code (a negative signal
number when a signal ended it, as `subprocess` reports it). It still forks its workers, and
they still import the app afresh: only devhost and the libraries it builds on are preloaded
(and the libraries named with `preload_libraries`), never the app. Two differences show: `ps`
shows the forkserver's command line for it, and it runs with the interpreter options (-X, -W)
of the process that started the forkserver, which multiprocessing passes on. `run` forks any
other devhost command the same way and waits for its end.

Like __main__.py beside it, this module is how a process becomes devhost, so it stands at the
top of the package rather than in a room: a forked child imports it to run `_run`, and it
imports nothing the forkserver has not (devhost.testing, its user, would bring pytest and httpx
into every host and command, a fifth of a second each).
"""

from __future__ import annotations

import atexit
import io
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import types
from collections.abc import Iterable
from functools import cache
from pathlib import Path

#: What every host needs before it serves: the CLI, the host with its web server and engine,
#: the commands beside it, and the worker's side (azure.functions and the Durable SDK), which
#: its forked workers inherit.
PRELOAD = (
    "devhost.cli",
    "devhost.host.start",
    "devhost.tools.replaycheck",
    "devhost.worker.process",
)
#: Libraries of the app's that the forkserver imports as well (see `preload_libraries`).
_libraries: list[str] = []
MAIN = Path(__file__).with_name("__main__.py")
NAME = "devhost"


def preload_libraries(names: Iterable[str]) -> None:
    """Have the forkserver import these libraries too (pydantic, pandas...): the first workers
    of each host forked from it then start with them loaded, and import only the app itself.

    A library imported here is imported once, in the environment and working folder of the
    process that starts the forkserver, so list only libraries that read neither when they are
    imported; never the app's own modules. Call it before the first host starts."""
    added = [name for name in names if name not in _libraries]
    if added and _context.cache_info().currsize:
        raise RuntimeError(f"the forkserver has started; preload {added} before it does")
    _libraries.extend(added)


def available() -> bool:
    """The forkserver exists on Linux and macOS, not on Windows."""
    return "forkserver" in multiprocessing.get_all_start_methods()


class HostProcess:
    """A forked host with the parts of `subprocess.Popen` a host's owner uses."""

    def __init__(self, process: multiprocessing.process.BaseProcess) -> None:
        self._process = process

    @property
    def pid(self) -> int | None:
        return self._process.pid

    def poll(self) -> int | None:
        return self._process.exitcode

    def wait(self, timeout: float | None = None) -> int:
        self._process.join(timeout)
        if self._process.exitcode is None:
            raise subprocess.TimeoutExpired(f"devhost (pid {self.pid})", timeout or 0)
        return self._process.exitcode

    def terminate(self) -> None:
        self._process.terminate()

    def kill(self) -> None:
        self._process.kill()


def start(argv: list[str], env: dict[str, str], cwd: Path, log: Path) -> HostProcess:
    """Fork `python -m devhost <argv>` run in `cwd` with `env`, its output appended to `log`."""
    return _fork(argv, env, cwd, log, log)


def run(
    argv: list[str], env: dict[str, str], cwd: Path, timeout: float
) -> subprocess.CompletedProcess[str]:
    """Fork `python -m devhost <argv>` and wait for its end, as `subprocess.run` with
    `capture_output=True, text=True` would run it: its exit code, stdout and stderr."""
    with tempfile.TemporaryDirectory(prefix="devhost-command-") as folder:
        stdout, stderr = Path(folder, "stdout"), Path(folder, "stderr")
        process = _fork(argv, env, cwd, stdout, stderr)
        try:
            code = process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise
        command = [sys.executable, "-m", "devhost", *argv]
        return subprocess.CompletedProcess(command, code, _text(stdout), _text(stderr))


def _text(path: Path) -> str:
    return path.read_text() if path.exists() else ""


def _fork(
    argv: list[str], env: dict[str, str], cwd: Path, stdout: Path, stderr: Path
) -> HostProcess:
    context = _context()
    path = [str(cwd), *filter(None, env.get("PYTHONPATH", "").split(os.pathsep)), *_base_path()]
    process = context.Process(
        target=_run,
        args=(argv, env, str(cwd), str(stdout), str(stderr), path),
        name=NAME,
        daemon=False,
    )  # not a daemon: a host has worker processes of its own
    process.start()
    return HostProcess(process)


@cache
def _context() -> multiprocessing.context.ForkServerContext:
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([*PRELOAD, *_libraries])
    atexit.register(_kill_leftovers)
    return context


def _kill_leftovers() -> None:
    """At exit, multiprocessing waits for every child that is not a daemon: a host nobody
    stopped would keep the test process from ever ending. Kill it instead (a host started with
    `subprocess` would have been left running)."""
    for child in multiprocessing.active_children():
        if child.name == NAME:
            child.kill()
            child.join()


@cache
def _base_path() -> tuple[str, ...]:
    """sys.path of a fresh interpreter before its script folder and PYTHONPATH: the standard
    library and site-packages, with whatever .pth files add."""
    shown = subprocess.run(
        [sys.executable, "-E", "-c", "import json, sys; print(json.dumps(sys.path[1:]))"],
        capture_output=True,
        text=True,
        check=True,
    )
    return tuple(json.loads(shown.stdout))


def _run(
    argv: list[str], env: dict[str, str], cwd: str, stdout: str, stderr: str, path: list[str]
) -> None:
    """In the forked process: become `python -m devhost <argv>`, then run it."""
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(env)
    sys.path[:] = path
    sys.argv = [str(MAIN), *argv]
    # A spawned worker re-imports its parent's __main__; devhost's own imports nothing it needs.
    sys.modules["__main__"] = types.ModuleType("__main__")
    sys.dont_write_bytecode = bool(env.get("PYTHONDONTWRITEBYTECODE"))
    for stream, file in ((sys.stdout, stdout), (sys.stderr, stderr)):
        sink = os.open(file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        stream.flush()
        os.dup2(sink, stream.fileno())
        os.close(sink)
        assert isinstance(stream, io.TextIOWrapper), "a fresh interpreter's standard streams"
        stream.reconfigure(
            line_buffering=stream is sys.stderr, write_through=bool(env.get("PYTHONUNBUFFERED"))
        )
    from devhost.cli import main

    sys.exit(main(argv))
