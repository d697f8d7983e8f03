"""`context.call_http` runs as the Durable extension's built-in HTTP activity runs it, against a
server this module starts on 127.0.0.1.

Sources (azure-functions-durable-extension 2.13.7, 2024-10-23; azure-functions-durable 1.7.0):

- The SDK's CallHttpAction carries DurableHttpRequest.to_json: method, uri, content (the SDK's
  json.dumps of it), headers, tokenSource `{"resource", "kind"}`; nothing else.
- OutOfProcOrchestrationShim.InvokeAPIFromAction → DurableOrchestrationContext.CallHttpAsync →
  ScheduleDurableHttpActivityAsync schedules `BuiltIn::HttpActivity`
  (HttpOptions.HttpTaskActivityReservedName) with the DurableHttpRequest as its one parameter:
  TaskScheduled.Input is `[request]` as Newtonsoft writes it (DurableHttpRequest's properties in
  order; HttpHeadersConverter: one value as a string, several as an array; TokenSourceConverter:
  `{"kind":"AzureManagedIdentity","resource"}`, the resource made a `.default` scope for ARM and
  Graph by ManagedIdentityTokenSource's constructor).
- The request lacks `asynchronousPatternEnabled`, so Newtonsoft builds it with `default(bool)`
  (JsonSerializerInternalReader.CreateObjectUsingCreatorWithParameters,
  ExpressionReflectionDelegateFactory.EnsureCastExpression): CallHttpAsync's polling loop never
  runs for a Python app, and the orchestrator gets the 202 (azure-functions-durable-python
  issue #380). Polling is the orchestrator's own: a durable timer, then another call.
- TaskHttpActivityShim.RunAsync / ConvertToHttpRequestMessage: Content-Type from the headers
  (text/plain by default, exactly one media type), other content headers refused, multipart
  refused, Authorization from ManagedIdentityTokenSource.GetTokenAsync (DefaultAzureCredential;
  azure-identity honours App Service's IDENTITY_ENDPOINT/IDENTITY_HEADER); HttpRequestException
  becomes TaskFailureException(message, SerializeCause); the response is DurableHttpResponse
  (CreateDurableHttpResponseWithHttpResponseMessage: HttpResponseMessage.Headers, so no content
  headers; content as text). DurableHttpClientFactory: one HttpClient, 240 s timeout, User-Agent
  `Microsoft.Azure.WebJobs.Extensions.DurableTask/<version>`.
- DurableTask.Core TaskActivityDispatcher: an exception that is not a TaskFailureException
  fails the task with its message and "Unhandled exception while executing task: ...".
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from devhost.durable.http_activity import HTTP_ACTIVITY, scheduled_input
from devhost.engine.durable_http import USER_AGENT, run_http_activity
from devhost.testing import command, free_port
from tests.devhost.support import APPS, raw_history

CALLS = APPS / "calls"
IDENTITY_SECRET = "identity-header-secret"


class Target(ThreadingHTTPServer):
    """The server the orchestrations call: it records what reached it."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.seen: list[dict[str, Any]] = []
        self.polls = 0
        self.release = threading.Event()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{path}"


class Handler(BaseHTTPRequestHandler):
    server: Target

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._route()

    def do_POST(self) -> None:
        self._route()

    def _route(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode()
        path = urlsplit(self.path).path
        self.server.seen.append(
            {"method": self.command, "path": path, "headers": dict(self.headers), "body": body}
        )
        if path == "/echo":
            echo = {"method": self.command, "body": body, "headers": dict(self.headers.items())}
            headers = [("X-Trace", "a"), ("X-Trace", "b"), ("location", "/elsewhere")]
            self._answer(200, json.dumps(echo), "application/json", headers)
        elif path == "/jobs" and self.command == "POST":
            self._accepted()
        elif path == "/jobs/1":
            self.server.polls += 1
            if self.server.polls < 2:
                self._accepted()
            else:
                self._answer(200, '{"report": "ready"}', "application/json")
        elif path == "/identity":
            self._identity()
        elif path == "/secure":
            expected = "Bearer token-for-https://management.core.windows.net"
            granted = self.headers.get("Authorization") == expected
            self._answer(200 if granted else 401, "welcome" if granted else "who are you?")
        elif path == "/hang":
            self.server.release.wait(timeout=30)
        else:
            self._answer(404, "no such path")

    def _accepted(self) -> None:
        location = self.server.url("/jobs/1")
        self._answer(202, "", headers=[("Location", location), ("Retry-After", "5")])

    def _identity(self) -> None:
        """App Service's managed identity endpoint, as azure-identity's AppServiceCredential
        asks it: `?api-version=2019-08-01&resource=...` with X-IDENTITY-HEADER."""
        query = parse_qs(urlsplit(self.path).query)
        if self.headers.get("X-IDENTITY-HEADER") != IDENTITY_SECRET:
            self._answer(401, "")
            return
        resource = query["resource"][0]
        token = {
            "access_token": f"token-for-{resource}",
            "expires_on": "4102444800",
            "resource": resource,
            "token_type": "Bearer",
        }
        self._answer(200, json.dumps(token), "application/json")

    def _answer(
        self,
        status: int,
        text: str,
        content_type: str = "text/plain; charset=utf-8",
        headers: list[tuple[str, str]] | None = None,
    ) -> None:
        data = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers or []:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture(scope="module")
def target() -> Iterator[Target]:
    server = Target()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.release.set()
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def host(devhost_factory, target):
    """The calls app on a manual clock, its managed identity (App Service's) served by
    `target`."""
    env = {"IDENTITY_ENDPOINT": target.url("/identity"), "IDENTITY_HEADER": IDENTITY_SECRET}
    return devhost_factory(CALLS, clock="manual", env=env)


def _scheduled(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in events if e["EventType"] == 4]


def test_a_request_and_its_response_have_the_extensions_shapes(host, target):
    ask = {
        "method": "POST",
        "url": target.url("/echo"),
        "content": {"claim": "CLM-1", "amount": 12.5},
        "headers": {
            "Content-Type": "application/json",
            "X-Request-Id": "r-1",
            "Accept": ["application/json", "text/plain"],
        },
    }
    instance_id = host.start_instance("fetch", ask)
    response = host.wait_for(instance_id)["output"]

    echo = json.loads(response["content"])
    assert echo["method"] == "POST"
    assert echo["body"] == '{"claim": "CLM-1", "amount": 12.5}'  # the SDK's json.dumps
    sent = {name.lower(): value for name, value in echo["headers"].items()}
    assert sent["content-type"] == "application/json"
    assert sent["x-request-id"] == "r-1"
    assert sent["accept"] == "application/json, text/plain"
    assert sent["user-agent"] == USER_AGENT
    assert "accept-encoding" not in sent
    assert response["statusCode"] == 200
    headers = response["headers"]
    assert headers["X-Trace"] == ["a", "b"]
    assert headers["Location"] == "/elsewhere"  # .NET's name for a header it knows
    assert not {"Content-Type", "Content-Length"} & set(headers)  # content headers

    events = raw_history(host.hub, instance_id)
    (scheduled,) = _scheduled(events)
    assert scheduled["Name"] == HTTP_ACTIVITY
    stored = {
        "method": "POST",
        "uri": target.url("/echo"),
        "headers": ask["headers"],
        "content": echo["body"],
        "tokenSource": None,
        "asynchronousPatternEnabled": False,
        "retryOptions": None,
        "timeout": None,
    }
    assert scheduled["Input"] == json.dumps([stored], separators=(",", ":"))
    (completed,) = [e for e in events if e["EventType"] == 5]
    assert list(json.loads(completed["Result"])) == ["statusCode", "headers", "content"]
    (row,) = [row for row in host.history(instance_id) if row["EventType"] == "TaskCompleted"]
    assert (row["FunctionName"], row["Input"]) == (HTTP_ACTIVITY, scheduled["Input"])


def test_a_202_is_the_calls_result_and_the_orchestrator_polls_on_durable_timers(host, target):
    accepted = host.wait_for(
        host.start_instance("fetch", {"method": "POST", "url": target.url("/jobs")})
    )
    assert accepted["output"]["statusCode"] == 202
    assert accepted["output"]["headers"]["Location"] == target.url("/jobs/1")

    target.polls = 0
    instance_id = host.start_instance("follow", {"url": target.url("/jobs")})
    host.idle()
    assert host.status(instance_id)["runtimeStatus"] == "Running"
    assert target.polls == 0  # waiting out Retry-After on the host's clock
    host.advance(5)
    assert target.polls == 1
    assert host.status(instance_id)["runtimeStatus"] == "Running"
    host.advance(5)
    done = host.status(instance_id)
    assert done["runtimeStatus"] == "Completed"
    assert done["output"] == {"statuses": [202, 202, 200], "content": '{"report": "ready"}'}
    kinds = [
        e["EventType"] for e in raw_history(host.hub, instance_id) if e["EventType"] in (4, 10)
    ]
    assert kinds == [4, 10, 4, 10, 4]  # call, timer, call, timer, call: no polls of devhost's own


def test_a_token_source_gets_a_managed_identity_token(host, target):
    ask = {
        "method": "GET",
        "url": target.url("/secure"),
        "resource": "https://management.core.windows.net",
    }
    instance_id = host.start_instance("fetch", ask)
    response = host.wait_for(instance_id)["output"]
    assert (response["statusCode"], response["content"]) == (200, "welcome")
    (scheduled,) = _scheduled(raw_history(host.hub, instance_id))
    assert json.loads(scheduled["Input"])[0]["tokenSource"] == {
        "kind": "AzureManagedIdentity",
        "resource": "https://management.core.windows.net/.default",
    }


def test_a_refused_connection_fails_the_call_with_the_http_request_exception(host):
    port = free_port()  # nothing listens there
    instance_id = host.start_instance(
        "fetch", {"method": "GET", "url": f"http://127.0.0.1:{port}/"}
    )
    status = host.wait_for(instance_id)
    assert status["runtimeStatus"] == "Failed"
    message = f"Connection refused (127.0.0.1:{port})"
    assert message in status["output"]
    (failed,) = [e for e in raw_history(host.hub, instance_id) if e["EventType"] == 6]
    assert failed["Reason"] == message
    details = json.loads(failed["Details"])
    assert details["ClassName"] == "System.Net.Http.HttpRequestException"
    assert details["InnerException"]["Message"] == "Connection refused"


def test_the_recorded_histories_replay_against_the_code(host, target):
    """devhost replay-check replays the hub's instances, their HTTP calls compared by name and
    stored request, as DurableTask compares a TaskScheduled on replay."""
    host.wait_for(host.start_instance("fetch", {"method": "GET", "url": target.url("/echo")}))
    result = command("replay-check", "--app", str(CALLS), "--hub", str(host.hub))
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"[1-9]\d* histories replayed .*, 0 diverged", result.stdout), result.stdout


def _failure(request: dict[str, Any], timeout: float = 240.0) -> tuple[str, str]:
    outcome = asyncio.run(run_http_activity(scheduled_input(request), client_timeout=timeout))
    assert outcome.failure is not None, outcome
    return outcome.failure


def test_the_client_timeout_fails_the_task_with_the_clients_message(target):
    try:
        reason, details = _failure({"method": "GET", "uri": target.url("/hang")}, timeout=0.2)
    finally:
        target.release.set()
    assert reason == (
        "The request was canceled due to the configured HttpClient.Timeout of 0.2 seconds elapsing."
    )
    assert details.startswith(
        "Unhandled exception while executing task: System.Threading.Tasks.TaskCanceledException"
    )


@pytest.mark.parametrize(
    ("request_", "reason"),
    [
        (
            {
                "uri": "http://x/",
                "content": "a",
                "headers": {"Content-Type": "multipart/form-data"},
            },
            "Multipart content is not supported with CallHttpAsync.",
        ),
        (
            {
                "uri": "http://x/",
                "content": "a",
                "headers": {"Content-Type": "text/csv; charset=utf-8"},
            },
            "The format of value 'text/csv; charset=utf-8' is invalid.",
        ),
        (
            {"uri": "http://x/", "headers": {"Content-Language": "en"}},
            "Misused header name, 'Content-Language'. Make sure request headers are used with "
            "HttpRequestMessage, response headers with HttpResponseMessage, and content headers "
            "with HttpContent objects.",
        ),
        (
            {"uri": "/relative"},
            "An invalid request URI was provided. Either the request URI must be an absolute URI "
            "or BaseAddress must be set.",
        ),
    ],
)
def test_requests_dotnet_refuses_fail_before_anything_is_sent(request_, reason):
    assert _failure({"method": "POST", **request_})[0] == reason


def test_the_stored_request_reads_the_sdks_json_as_the_extension_does():
    stored = json.loads(
        scheduled_input(
            {
                "method": "get",
                "uri": "https://example.org/a",
                "content": None,
                "headers": {"X-One": ["only"], "X-None": [], "x-one": "again", "X-Num": 5},
                "tokenSource": {
                    "resource": "https://graph.microsoft.com/",
                    "kind": "AzureManagedIdentity",
                },
            }
        )
    )
    assert stored == [
        {
            "method": "get",
            "uri": "https://example.org/a",
            "headers": {"X-One": "again", "X-None": [], "X-Num": []},
            "content": None,
            "tokenSource": {
                "kind": "AzureManagedIdentity",
                "resource": "https://graph.microsoft.com/.default",
            },
            "asynchronousPatternEnabled": False,
            "retryOptions": None,
            "timeout": None,
        }
    ]
