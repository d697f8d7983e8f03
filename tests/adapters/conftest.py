"""Fixtures for the adapter tests: a clean environment, a private simulator file, local servers."""

from __future__ import annotations

import json
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from adapters import secrets, telemetry

PARTNERS = [
    "documents", "images", "policies", "fraud", "payments",
    "notifications", "carriers", "suppliers", "compliance",
]  # fmt: skip


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """No partner URLs, keys, vault or telemetry from the outside; a simulator file per test."""
    for partner in PARTNERS:
        monkeypatch.delenv(f"{partner.upper()}_BASE_URL", raising=False)
        monkeypatch.delenv(f"{partner.upper()}_API_KEY", raising=False)
    for name in ("SIMULATOR_FAILURES", "CARRIER_CODES", "KEY_VAULT_URL", "SIMULATOR_SLOW_MS",
                 "APPLICATIONINSIGHTS_CONNECTION_STRING",
                 "APPLICATIONINSIGHTS_AUTHENTICATION_STRING"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    state = tmp_path / "simulator.sqlite"
    monkeypatch.setenv("SIMULATOR_STATE_PATH", str(state))
    secrets.clear_cache()
    # Importing the app configures telemetry once per process; another test file that imported
    # it earlier in this pytest worker (without Application Insights) must not decide here.
    telemetry.shutdown()
    yield state
    secrets.clear_cache()
    telemetry.shutdown()


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self):
        return json.loads(self.body) if self.body else None


@dataclass
class Reply:
    status: int = 200
    body: object = field(default_factory=dict)
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)


class LocalServer:
    """A real HTTP(S) server on 127.0.0.1:0 in a thread that records every request.

    `respond` maps a request to a Reply; by default every request gets 200 `{}`.
    """

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.requests: list[Recorded] = []
        self.respond: Callable[[Recorded], Reply] = lambda request: Reply()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # keep test output quiet
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                parts = urlsplit(self.path)
                request = Recorded(
                    method=self.command,
                    path=parts.path,
                    query=parse_qs(parts.query),
                    headers={key.lower(): value for key, value in self.headers.items()},
                    body=self.rfile.read(length) if length else b"",
                )
                server.requests.append(request)
                reply = server.respond(request)
                time.sleep(reply.delay)
                payload = reply.body if isinstance(reply.body, bytes) else json.dumps(reply.body)
                payload = payload.encode() if isinstance(payload, str) else payload
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    for key, value in reply.headers.items():
                        self.send_header(key, value)
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:  # the client gave up (timeout tests)
                    pass

            do_GET = do_POST = do_PUT = do_DELETE = _handle

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._http.daemon_threads = True
        if tls is not None:
            self._http.socket = tls.wrap_socket(self._http.socket, server_side=True)
        self.port = self._http.server_address[1]
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        self._thread = threading.Thread(
            target=self._http.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()

    def reset(self) -> LocalServer:
        """Forget the requests and answer 200 `{}` again, as a new server would."""
        self.requests.clear()
        self.respond = lambda request: Reply()
        return self

    def close(self) -> None:
        self._http.shutdown()
        self._http.server_close()

    def __enter__(self) -> LocalServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


@pytest.fixture(scope="module")
def running_server() -> Iterator[LocalServer]:
    """One server per module: stopping one waits for its poll (about 17 ms), and the tests that
    use it are many."""
    with LocalServer() as local:
        yield local


@pytest.fixture
def server(running_server: LocalServer) -> LocalServer:
    return running_server.reset()


@pytest.fixture
def own_server() -> Iterator[LocalServer]:
    """A server for this test alone, for a test that leaves a request unanswered: its handler,
    still running after the test, must not record into the next test's server."""
    with LocalServer() as local:
        yield local
