"""replay-check --from against histories in the form Azure's Durable HTTP API answers them,
written by hand from the extension's source (tests/devhost/condensed/README.md cites it), not
taken from devhost: served by a stand-in for the webhook that pages its listing as the Azure
Storage provider does, and lists an entity and a Pending instance beside the orchestrations.

The condensed history has no sequence numbers and no episode boundaries: the rebuild numbers
the steps by the time each was made (North's quote was asked first though South's answer came
first), starts each episode no earlier than the events that woke it were made, and compares the
moment the offer carries within the window its episode began in.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from devhost.durable.history import EventType
from devhost.testing import command
from devhost.tools.condensed import rebuild
from devhost.tools.replaycheck import check
from tests.devhost.support import APPS

RENEWALS = APPS / "renewals"
DOCUMENTS = Path(__file__).resolve().parent / "condensed"
KEY = "system-key-of-the-app"
WEBHOOK = "/runtime/webhooks/durabletask"


def document(instance_id: str) -> dict[str, Any]:
    return json.loads((DOCUMENTS / f"{instance_id}.json").read_text())


class Webhook(BaseHTTPRequestHandler):
    """The Durable HTTP API of an app in Azure with two renewals in flight, one Pending, and
    the ledger entity (listed as `@ledger@P1`, as Azure lists entities)."""

    seen: list[tuple[str, str, dict[str, str]]] = []
    failing: set[str] = set()

    def do_GET(self) -> None:
        Webhook.seen.append((self.command, self.path, dict(self.headers)))
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        if self.headers.get("x-functions-key") != KEY:
            return self.answer(401, None)
        if url.path == f"{WEBHOOK}/instances":
            assert query["runtimeStatus"] == ["Running,Pending,Suspended"]
            if self.headers.get("x-ms-continuation-token") == "cGFnZTI=":
                return self.answer(200, [self.listed("renewal-P2")], token="bnVsbA==")
            first = [
                self.listed("renewal-P1"),
                {"name": "ledger", "instanceId": "@ledger@P1", "runtimeStatus": "Running"},
                {"name": "renewal", "instanceId": "renewal-P3", "runtimeStatus": "Pending"},
            ]
            return self.answer(200, first, token="cGFnZTI=")
        instance_id = unquote(url.path.removeprefix(f"{WEBHOOK}/instances/"))
        assert query["showHistory"] == query["showHistoryOutput"] == query["showInput"] == ["true"]
        if instance_id in Webhook.failing:
            return self.answer(
                500, {"Message": "Something went wrong while processing your request"}
            )
        if (
            instance_id == "renewal-P3"
        ):  # no history before the first episode (DurableClient.cs 941)
            pending = {"name": "renewal", "instanceId": "renewal-P3", "runtimeStatus": "Pending"}
            return self.answer(202, {**pending, "input": '{"policy": "P3"}'})
        return self.answer(202, document(instance_id))

    def listed(self, instance_id: str) -> dict[str, Any]:
        return {k: v for k, v in document(instance_id).items() if k != "historyEvents"}

    def answer(self, status: int, body: Any, token: str | None = None) -> None:
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        if body is not None:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        if token is not None:
            self.send_header("x-ms-continuation-token", token)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def azure() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Webhook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(autouse=True)
def fresh() -> None:
    Webhook.seen.clear()
    Webhook.failing.clear()


def replay_from(azure: str, app: Path = RENEWALS, *more: str):
    return command("replay-check", "--app", str(app), "--from", azure, "--key", KEY, *more)


def renewals_with(folder: Path, old: str, new: str) -> Path:
    shutil.copytree(RENEWALS, folder)
    source = folder / "function_app.py"
    assert source.read_text().count(old) == 1
    source.write_text(source.read_text().replace(old, new))
    return folder


def test_histories_as_azure_answers_them_replay_against_their_code(azure):
    result = replay_from(azure)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "replay-check: renewal: 3 in flight, 0 diverged, 1 pending" in result.stdout
    assert f"3 instances in flight at {azure} replayed against the current code, 0 diverged" in (
        result.stdout
    )
    paths = [path for _, path, _ in Webhook.seen]
    assert not any("@ledger" in path for path in paths)  # an entity is not replayed
    assert sum(path.startswith(f"{WEBHOOK}/instances?") for path in paths) == 2  # both pages
    pages = [h for _, p, h in Webhook.seen if p.startswith(f"{WEBHOOK}/instances?")]
    assert pages[1]["x-ms-continuation-token"] == "cGFnZTI="
    assert {method for method, _, _ in Webhook.seen} == {"GET"}
    assert all(headers["x-functions-key"] == KEY for _, _, headers in Webhook.seen)
    assert not any(KEY in path for path in paths)


def test_the_steps_are_numbered_as_they_were_made_and_episodes_begin_when_they_could(azure):
    history, slack = rebuilt("renewal-P1")

    scheduled = [e for e in history if e["EventType"] == EventType.TASK_SCHEDULED]
    assert [(e["EventId"], json.loads(e["Input"]).get("insurer")) for e in scheduled] == [
        (0, "North"),
        (1, "South"),
        (2, None),
    ]
    answers = [e for e in history if e["EventType"] == EventType.TASK_COMPLETED]
    assert [(e["TaskScheduledId"], e["Result"]) for e in answers] == [
        (1, "412.5"),
        (0, "400.0"),
        (2, "true"),
    ]
    started = [e["Timestamp"] for e in history if e["EventType"] == EventType.ORCHESTRATOR_STARTED]
    # Each episode at the earliest it can have begun: when the event that woke it was made.
    assert started == [
        "2026-11-02T09:00:00.100431Z",
        "2026-11-02T09:00:01.012204Z",
        "2026-11-02T09:00:01.350771Z",
        "2026-11-02T09:00:02.100033Z",
    ]
    # Moments in inputs may be late by the widest window an episode began in: the first's,
    # from the start request (09:00:00.1004312) to the North quote's scheduling (.2314471).
    # The offer's own window is 31.4 ms: from the North answer to its scheduling.
    assert slack == timedelta(microseconds=131016)
    (timer,) = [e for e in history if e["EventType"] == EventType.TIMER_CREATED]
    assert timer["EventId"] == 3
    assert check({"renewal": renewal_handle()}, recorded("renewal-P1"), slack) is None


def test_entity_messages_and_a_step_still_running_replay(azure):
    history, slack = rebuilt("renewal-P2")

    sent = [e for e in history if e["EventType"] == EventType.EVENT_SENT]
    assert [(e["EventId"], json.loads(e["Input"])["op"]) for e in sent] == [
        (4, "renewed"),
        (5, "count"),
    ]
    (confirm,) = [
        e for e in history if e["EventType"] == EventType.TASK_SCHEDULED and e["Name"] == "confirm"
    ]
    assert confirm["EventId"] == 6
    assert check({"renewal": renewal_handle()}, recorded("renewal-P2"), slack) is None


def test_quotes_asked_in_another_order_diverge_at_the_first_step(azure, tmp_path):
    app = renewals_with(
        tmp_path / "app",
        '{"insurer": "North", "policy": policy}',
        '{"insurer": "East", "policy": policy}',
    )

    result = replay_from(azure, app)

    assert result.returncode == 1, result.stdout + result.stderr
    for instance_id in ("renewal-P1", "renewal-P2"):
        assert f"{instance_id} (renewal, {azure}): diverges at sequence number 0" in result.stdout
    assert (
        '  history: activity \'quote\' with input {"insurer": "North", "policy": "P1"}'
        in result.stdout
    )
    assert (
        '  code:    schedules activity \'quote\' with input {"insurer": "East", "policy": "P1"}'
        in result.stdout
    )
    assert "renewal: 3 in flight, 2 diverged, 1 pending" in result.stdout


def test_a_moment_later_than_its_episode_can_have_begun_diverges(azure, tmp_path):
    """The slack is the window the episode began in, not a blank cheque: an offer dated a
    second later than the code used to date it is another input."""
    app = renewals_with(
        tmp_path / "app",
        "    sent_at = context.current_utc_datetime\n",
        "    sent_at = context.current_utc_datetime + timedelta(seconds=1)\n",
    )

    result = replay_from(azure, app)

    assert result.returncode == 1, result.stdout + result.stderr
    assert (
        "renewal-P1 (renewal, " in result.stdout
        and "diverges at sequence number 2" in result.stdout
    )
    assert "history: activity 'send_offer' with input" in result.stdout
    assert "2 diverged" in result.stdout


def test_a_server_error_is_an_error_never_a_pass(azure):
    Webhook.failing.add("renewal-P2")

    result = replay_from(azure)

    assert result.returncode == 2, result.stdout + result.stderr
    assert (
        f"GET {azure}/runtime/webhooks/durabletask/instances/renewal-P2 answered 500"
        in result.stderr
    )
    assert "Something went wrong while processing your request" in result.stderr


def test_no_key_is_an_error_naming_what_to_pass(azure):
    result = command("replay-check", "--app", str(RENEWALS), "--from", azure)

    assert result.returncode == 2
    assert "answered 401: (no body)" in result.stderr
    assert "--key" in result.stderr


# -- the rebuild, in this process ------------------------------------------------------------


def renewal_handle() -> Any:
    """The renewal orchestrator, imported under a name of its own (devhost's loader would
    make it this process's `function_app`)."""
    spec = importlib.util.spec_from_file_location("renewals_app", RENEWALS / "function_app.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    (function,) = [f for f in module.app.get_functions() if f.get_function_name() == "renewal"]
    return function.get_user_function()


def rebuilt(instance_id: str) -> tuple[list[dict[str, Any]], timedelta]:
    doc = document(instance_id)
    result = rebuild(renewal_handle(), instance_id, "renewal", doc["historyEvents"], "2.0", "doc")
    return result.recorded.history, result.slack


def recorded(instance_id: str):
    doc = document(instance_id)
    return rebuild(
        renewal_handle(), instance_id, "renewal", doc["historyEvents"], "2.0", "doc"
    ).recorded
