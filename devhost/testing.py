"""A pytest plugin for testing a Durable Functions app on devhost.

Enable it with `pytest_plugins = ["devhost.testing"]` in a conftest.py. It gives:

- `devhost`: one host per test module, serving the app folder named by the ini option
  `devhost_app` (default: pytest's rootdir) with the clock of `devhost_clock` (default `auto`),
  its task hub in a temporary folder;
- `devhost_factory(app, *args, clock=..., env=..., hub=..., port=..., preloaded=...)` for more
  hosts; each is forked from a process that imported devhost and the SDK once (see
  devhost/preload.py; the ini option `devhost_preload = false` starts fresh
  interpreters, and `devhost_preload_libraries` names libraries of the app's to import there
  too);
- `command(*args)`, which runs `python -m devhost <args>` to its end (forked the same way) and
  returns its exit code and output, for `replay-check`, `export` and the like;
- `DevHost`, the client both return: start/raise_event/status/wait for instances, `advance`,
  `idle` and `history`, plus `http` (an httpx client) for the app's own routes and `client()`
  for another one with its own cookies (a second user signed in, a second browser).

Tests never guess how long work takes: `advance` and `idle` answer once the host has nothing
left to run, so the outcome can be asserted straight after them.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import sysconfig
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import httpx
import pytest

from devhost import preload
from devhost.tls import shared_context

WEBHOOKS = "/runtime/webhooks/durabletask"
DONE = ("Completed", "Failed", "Terminated")
#: The folder `python -m devhost` runs from: the one that holds the devhost package, a
#: checkout's root or, when devhost is installed, site-packages.
DEVHOST_HOME = Path(__file__).resolve().parents[1]
#: An installed devhost is importable anyway; a checkout's is put on hosts' PYTHONPATH.
INSTALLED = str(DEVHOST_HOME) in {
    str(Path(sysconfig.get_path(kind)).resolve()) for kind in ("purelib", "platlib")
}
POLL_SECONDS = 0.02
PORT_ATTEMPTS = 3  # tests running in parallel may pick the same free port


class PortTaken(RuntimeError):
    """Another process took the port between choosing it and devhost listening on it."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def command(
    *args: str,
    env: dict[str, str] | None = None,
    cwd: Path = DEVHOST_HOME,
    timeout: float = 120.0,
    preloaded: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Run `python -m devhost <args>` to its end (`replay-check`, `export`, `show`, a `start`
    that must fail) with `env` over this process's environment: its exit code, stdout and
    stderr, as `subprocess.run(..., capture_output=True, text=True)` gives them. Forked from the
    preloaded forkserver, like the hosts, unless `preloaded=False`: each run then skips
    importing devhost and the SDK afresh, about a quarter of a second of CPU."""
    environment = _environment(env)
    if preloaded and preload.available():
        return preload.run(list(args), environment, cwd, timeout)
    return subprocess.run(
        [sys.executable, "-m", "devhost", *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _environment(env: dict[str, str] | None) -> dict[str, str]:
    """This process's environment with devhost importable, and `env` over it."""
    if INSTALLED:
        return {**os.environ, **(env or {})}
    pythonpath = os.pathsep.join(filter(None, [str(DEVHOST_HOME), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONPATH": pythonpath, **(env or {})}


@dataclass
class DevHost:
    """A devhost child process and an HTTP client bound to it."""

    app: Path
    hub: Path
    port: int
    args: list[str]
    env: dict[str, str]
    preloaded: bool = False  # fork it from devhost.preload's forkserver
    process: subprocess.Popen[bytes] | preload.HostProcess | None = None
    log: Path | None = None
    http: httpx.Client = field(init=False)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def keys_file(self) -> Path:
        return self.hub.with_name(self.hub.stem + ".keys.json")

    def keys(self) -> dict[str, Any]:
        """The key file devhost keeps beside the hub: master, functionKeys, systemKeys."""
        return cast(dict[str, Any], json.loads(self.keys_file.read_text()))

    def client(self, timeout: float = 30.0, **options: Any) -> httpx.Client:
        """A new client of this host, with its own cookies and connections; `options` go to
        httpx.Client (headers...)."""
        return httpx.Client(
            base_url=self.base_url, verify=shared_context(), timeout=timeout, **options
        )

    def _admin_params(self) -> dict[str, str]:
        """With --require-keys the admin and devhost routes need the master key."""
        if "--require-keys" not in self.args or not self.keys_file.exists():
            return {}
        try:
            return {"code": self.keys()["master"]}
        except (ValueError, KeyError):  # the file is being written
            return {}

    # -- the process -------------------------------------------------------------------------

    def start(self, timeout: float = 30.0) -> DevHost:
        """Start the process and return once it accepts work."""
        argv = ["start", "--app", str(self.app), "--port", str(self.port), "--hub", str(self.hub)]
        argv += self.args
        self.log = self.hub.with_suffix(".log")
        if self.preloaded and preload.available():
            self.process = preload.start(argv, self.env, DEVHOST_HOME, self.log)
        else:
            with self.log.open("ab") as sink:
                self.process = subprocess.Popen(
                    [sys.executable, "-m", "devhost", *argv],
                    cwd=DEVHOST_HOME,
                    env=self.env,
                    stdout=sink,
                    stderr=subprocess.STDOUT,
                )
        self.http = self.client()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.http.close()
                output = self.log.read_text()
                problem = PortTaken if "cannot listen on" in output else RuntimeError
                raise problem(f"devhost exited early:\n{output}")
            try:
                probe = self.http.get("/admin/host/status", params=self._admin_params())
                if probe.status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(POLL_SECONDS)
        raise RuntimeError(f"devhost did not start:\n{self.log.read_text()}")

    def stop(self, kill: bool = False) -> int | None:
        """SIGTERM (or SIGKILL) the process; returns its exit code. A host that has not exited
        30 s after SIGTERM is killed, and the stop fails with TimeoutExpired."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            (self.process.kill if kill else self.process.terminate)()
        try:
            return self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise
        finally:
            self.http.close()
            self.process = None

    # -- time --------------------------------------------------------------------------------

    def clock(self) -> dict[str, str]:
        """`{"now": ISO, "mode": "real" | "manual" | "auto"}`."""
        return self._devhost("GET", "/devhost/clock")

    def advance(
        self, seconds: float = 0, *, minutes: float = 0, hours: float = 0, days: float = 0
    ) -> str:
        """Let host time pass; returns the new time once the work the fired timers caused has
        run out (manual and auto clocks)."""
        total = seconds + 60 * minutes + 3600 * hours + 86400 * days
        now = self._devhost("POST", "/devhost/clock/advance", json={"seconds": total})["now"]
        return cast(str, now)

    def idle(self, timeout: float = 30.0) -> str:
        """Wait until nothing is runnable or running; returns the host time."""
        return cast(str, self._devhost("GET", "/devhost/idle", params={"timeout": timeout})["now"])

    def _devhost(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        params = {**self._admin_params(), **kwargs.pop("params", {})}
        response = self.http.request(method, path, params=params, timeout=None, **kwargs)
        if response.status_code != 200:
            raise AssertionError(f"{method} {path}: {response.status_code} {response.text}")
        return cast(dict[str, Any], response.json())

    # -- instances ---------------------------------------------------------------------------

    def start_instance(self, name: str, input: Any = None, instance_id: str | None = None) -> str:
        """Start orchestrator `name` through the Durable HTTP API; returns the instance id.

        `input` goes as the SDK client's start_new sends it, JSON text in a JSON string, so
        `get_input` returns it whatever its type; on Azure a bare string, number or list body
        reaches the SDK as it is, and `get_input` raises."""
        path = f"{WEBHOOKS}/orchestrators/{name}" + (f"/{instance_id}" if instance_id else "")
        sent: dict[str, Any] = {} if input is None else {"json": json.dumps(input)}
        response = self.http.post(path, **sent)
        assert response.status_code == 202, response.text
        return cast(str, response.json()["id"])

    def raise_event(self, instance_id: str, name: str, data: Any = None) -> None:
        response = self.http.post(
            f"{WEBHOOKS}/instances/{instance_id}/raiseEvent/{name}", json=data
        )
        assert response.status_code == 202, response.text

    def status(self, instance_id: str, **query: str) -> dict[str, Any]:
        """The Durable HTTP API's status of one instance (query: showHistory=true, ...)."""
        response = self.http.get(f"{WEBHOOKS}/instances/{instance_id}", params=query)
        assert response.status_code in (200, 202), response.text
        return cast(dict[str, Any], response.json())

    def history(self, instance_id: str) -> list[dict[str, Any]]:
        """The instance's history events, with inputs and outputs, as Azure's API shows them."""
        body = self.status(instance_id, showHistory="true", showHistoryOutput="true")
        return cast(list[dict[str, Any]], body["historyEvents"])

    def wait_for(
        self,
        instance_id: str,
        statuses: tuple[str, ...] = DONE,
        timeout: float = 30.0,
        **query: str,
    ) -> dict[str, Any]:
        """The instance's status once it reaches one of `statuses`."""

        def reached() -> dict[str, Any] | None:
            response = self.http.get(f"{WEBHOOKS}/instances/{instance_id}", params=query)
            if response.status_code in (200, 202):
                body = response.json()
                return body if body.get("runtimeStatus") in statuses else None
            return None

        status: dict[str, Any] = self.wait_until(
            reached, timeout, f"{instance_id} to reach {statuses}"
        )
        return status

    wait = wait_for

    def wait_until(
        self, predicate: Callable[[], Any], timeout: float = 30.0, message: str = "condition"
    ) -> Any:
        """The first truthy value of `predicate()`, checked until `timeout` seconds.

        For a condition only an outside actor (a script, a browser) brings about. To check
        what the host's own work leads to, `idle()` and then assert: that never guesses.
        """
        deadline = time.monotonic() + timeout
        while not (value := predicate()):
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout} s waiting for {message}")
            time.sleep(POLL_SECONDS)
        return value


HostFactory = Callable[..., DevHost]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini("devhost_app", "app folder the devhost fixture serves (default: rootdir)")
    parser.addini(
        "devhost_clock", "clock of the devhost fixture: real, manual or auto", default="auto"
    )
    parser.addini(
        "devhost_preload",
        "fork hosts from a process that imported devhost and the SDK once (default true); "
        "false starts each host as a fresh `python -m devhost start`",
        type="bool",
        default=True,
    )
    parser.addini(
        "devhost_preload_libraries",
        "libraries of the app's the forkserver imports too, so that each host's workers start "
        "with them loaded (only libraries that read no settings when imported)",
        type="linelist",
        default=[],
    )


def pytest_configure(config: pytest.Config) -> None:
    preload.preload_libraries(config.getini("devhost_preload_libraries"))


#: Test hubs are thrown away, so their commits skip the fsync: a host's crash or SIGKILL still
#: loses nothing, only a crash of the machine could. It comes before the caller's arguments, so
#: a `--sync` among them wins.
TEST_HUB_SYNC = ("--sync", "normal")


@pytest.fixture(scope="module")
def devhost_factory(
    tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config
) -> Iterator[HostFactory]:
    """Start devhost processes; each is stopped when the module's tests are done.

    `devhost_factory(app_dir, "--require-keys", clock="manual", env={...})` returns a started
    DevHost with its task hub in a fresh temporary folder (or at `hub=`), forked from the
    preloaded forkserver unless `preloaded=False` or the ini option `devhost_preload` says
    otherwise. Its commits skip the fsync (`--sync normal`) unless the arguments name `--sync`.
    """
    hosts: list[DevHost] = []
    folder = tmp_path_factory.mktemp("devhost")

    def start(
        app: Path | str | None = None,
        *args: str,
        clock: str | None = None,
        env: dict[str, str] | None = None,
        hub: Path | None = None,
        port: int | None = None,
        preloaded: bool | None = None,
    ) -> DevHost:
        host = DevHost(
            app=Path(app or pytestconfig.getini("devhost_app") or pytestconfig.rootpath),
            hub=hub or folder / f"hub{len(hosts)}.sqlite",
            port=port or free_port(),
            args=[*TEST_HUB_SYNC, *args, *(["--clock", clock] if clock else [])],
            env=_environment({"PYTHONUNBUFFERED": "1", **(env or {})}),
            preloaded=pytestconfig.getini("devhost_preload") if preloaded is None else preloaded,
        )
        hosts.append(host)
        for _ in range(PORT_ATTEMPTS - 1):
            try:
                return host.start()
            except PortTaken:
                if port:  # the caller's own choice: say so rather than pick another
                    raise
                host.port = free_port()
        return host.start()

    yield start
    with contextlib.ExitStack() as stopping:  # every host is stopped, even if one fails to
        for host in hosts:
            stopping.callback(host.stop)


@pytest.fixture(scope="module")
def devhost(devhost_factory: HostFactory, pytestconfig: pytest.Config) -> DevHost:
    """The app under devhost, one host per test module."""
    return devhost_factory(clock=pytestconfig.getini("devhost_clock"))
