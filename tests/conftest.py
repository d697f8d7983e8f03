"""Shared fixtures: a real devhost process serving an app over HTTP."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class RunningHost:
    """A devhost child process and an HTTP client bound to it."""

    app: Path
    hub: Path
    port: int
    args: list[str]
    env: dict[str, str]
    process: subprocess.Popen | None = None
    log: Path | None = None
    http: httpx.Client = field(init=False)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def keys_file(self) -> Path:
        return self.hub.with_name(self.hub.stem + ".keys.json")

    def keys(self) -> dict:
        """The key file devhost keeps beside the hub: master, functionKeys, systemKeys."""
        return json.loads(self.keys_file.read_text())

    def _status_params(self) -> dict[str, str]:
        """With --require-keys the status probe needs the master key; `.http` carries none."""
        if "--require-keys" not in self.args or not self.keys_file.exists():
            return {}
        try:
            return {"code": self.keys()["master"]}
        except (ValueError, KeyError):  # the file is being written
            return {}

    def start(self, timeout: float = 30.0) -> RunningHost:
        command = [sys.executable, "-m", "devhost", "start", "--app", str(self.app)]
        command += ["--port", str(self.port), "--hub", str(self.hub), *self.args]
        self.log = self.hub.with_suffix(".log")
        with self.log.open("ab") as sink:
            self.process = subprocess.Popen(
                command, cwd=ROOT, env=self.env, stdout=sink, stderr=subprocess.STDOUT
            )
        self.http = httpx.Client(base_url=self.base_url, timeout=30.0)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"devhost exited early:\n{self.log.read_text()}")
            try:
                probe = self.http.get("/admin/host/status", params=self._status_params())
                if probe.status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"devhost did not start:\n{self.log.read_text()}")

    def stop(self, kill: bool = False) -> int | None:
        if self.process is None:
            return None
        if self.process.poll() is None:
            (self.process.kill if kill else self.process.terminate)()
        code = self.process.wait(timeout=30)
        self.http.close()
        self.process = None
        return code

    def advance(self, seconds: float) -> str:
        """Move the manual clock forward and return the new host time."""
        response = self.http.post("/devhost/clock/advance", json={"seconds": seconds})
        response.raise_for_status()
        return response.json()["now"]

    def wait_for(
        self,
        instance_id: str,
        statuses=("Completed", "Failed", "Terminated"),
        timeout: float = 30.0,
        **query,
    ) -> dict:
        """Poll the management API until the instance reaches one of `statuses`."""
        deadline = time.monotonic() + timeout
        body: dict = {}
        while time.monotonic() < deadline:
            response = self.http.get(
                f"/runtime/webhooks/durabletask/instances/{instance_id}", params=query
            )
            if response.status_code in (200, 202):
                body = response.json()
                if body.get("runtimeStatus") in statuses:
                    return body
            time.sleep(0.02)
        raise AssertionError(f"{instance_id} never reached {statuses}; last seen {body}")

    def wait_until(self, predicate, timeout: float = 30.0, message: str = "condition"):
        """Poll `predicate()` until it returns a truthy value, which is returned."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(0.02)
        raise AssertionError(f"timed out waiting for {message}")


@pytest.fixture(scope="module")
def devhost_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    """Start devhost processes on an app; all are stopped at teardown.

    `devhost_factory(app_dir, "--clock", "manual", env={...})` returns a started RunningHost.
    """
    hosts: list[RunningHost] = []
    tmp_path = tmp_path_factory.mktemp("devhost")

    def start(
        app: Path | str = ROOT,
        *args: str,
        env: dict[str, str] | None = None,
        hub: Path | None = None,
        port: int | None = None,
    ) -> RunningHost:
        full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        host = RunningHost(
            app=Path(app),
            hub=hub or tmp_path / f"hub{len(hosts)}.sqlite",
            port=port or free_port(),
            args=list(args),
            env=full_env,
        )
        hosts.append(host)
        return host.start()

    yield start
    for host in hosts:
        host.stop()
