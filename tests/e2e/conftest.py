"""End-to-end helpers: the whole app under devhost with a manual clock, driven over HTTP."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from adapters import simulator
from devhost.testing import DevHost
from tests import histories
from tests.conftest import ROOT, example_settings

DONE = ("Completed", "Failed", "Terminated")


class App:
    """The app as a portal sees it: its HTTP API, plus the clock and the simulators' ledger."""

    def __init__(self, host: DevHost, state: Path) -> None:
        self.host = host
        self.http = host.http
        self.state = state

    def view(self, path: str) -> dict[str, Any]:
        response = self.http.get(path)
        assert response.status_code == 200, response.text
        return response.json()

    def view_query(self, path: str, params: dict[str, str]) -> dict[str, Any]:
        response = self.http.get(path, params=params)
        assert response.status_code == 200, response.text
        return response.json()

    def wait(
        self,
        path: str,
        check: Callable[[dict[str, Any]], bool],
        what: str,
        timeout: float = 30.0,
    ) -> dict[str, Any]:
        """The business view at `path` once the host has run out of work; it must satisfy
        `check` then (nothing changes at an idle host until a portal acts or time passes)."""
        self.host.idle(timeout)
        view = self.view(path)
        assert check(view), f"{path}: no {what} once the host was idle; the view is {view}"
        return view

    def wait_stage(self, path: str, stage: str) -> dict[str, Any]:
        return self.wait(path, lambda v: v["stage"] == stage, f"stage {stage}")

    def wait_done(self, path: str) -> dict[str, Any]:
        return self.wait(path, lambda v: v["runtimeStatus"] in DONE, "a final status")

    def advance(self, **delta: float) -> None:
        """Let host time pass, e.g. advance(days=3); returns once the work it caused is done."""
        self.host.advance(**delta)

    def ledger(self, kind: str, **match: Any) -> list[dict[str, Any]]:
        """Effects the partner simulators recorded, filtered by detail fields."""
        rows = simulator.ledger(kind, path=self.state)
        return [row for row in rows if all(row.get(k) == v for k, v in match.items())]


@pytest.fixture(scope="module")
def start_app(devhost_factory, tmp_path_factory) -> Iterator[Callable[..., App]]:
    """Start the app under devhost (manual clock) with its own simulator state.

    With RECORD_HISTORIES=1 (`make histories`) the stories' main paths are exported into
    tests/histories/ once the module's stories are done.
    As `make start` does locally, the body's `actor` field is accepted unless a test turns
    ACCEPT_ACTOR_FIELD off; `args` go to devhost (e.g. "--easyauth").
    """
    started: list[App] = []

    def start(*args: str, **settings: str) -> App:
        state = tmp_path_factory.mktemp("simulators") / "simulator.sqlite"
        env = {
            # host.json's hubName is %TASKHUB_NAME%, which the host must resolve to start.
            "TASKHUB_NAME": example_settings()["TASKHUB_NAME"],
            "SIMULATOR_STATE_PATH": str(state),
            "SIMULATOR_FAILURES": "",
            "ACCEPT_ACTOR_FIELD": "true",
            **settings,
        }
        started.append(App(devhost_factory(ROOT, "--clock", "manual", *args, env=env), state))
        return started[-1]

    yield start
    if histories.recording():
        for app in started:
            histories.record(app.host.hub)


@pytest.fixture(scope="module")
def app(start_app) -> App:
    return start_app()


OBJECT_ID = "http://schemas.microsoft.com/identity/claims/objectidentifier"


def principal(name: str, *roles: str, object_id: str = "", app: bool = False) -> dict[str, str]:
    """The header App Service Authentication adds for a signed-in Entra ID user (or, with
    `app`, an application signed in with client credentials) holding `roles`."""
    name_type = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name"
    claims = [{"typ": name_type, "val": name}, {"typ": OBJECT_ID, "val": object_id or name}]
    claims += [{"typ": "roles", "val": role} for role in roles]
    if app:
        claims.append({"typ": "idtyp", "val": "app"})
    data = {
        "auth_typ": "aad",
        "name_typ": name_type,
        "role_typ": "http://schemas.microsoft.com/ws/2008/06/identity/claims/role",
        "claims": claims,
    }
    return {"X-MS-CLIENT-PRINCIPAL": base64.b64encode(json.dumps(data).encode()).decode()}


def signed(name: str, *roles: str, **more) -> dict:
    """The Actor the app records for `principal(name, *roles)`."""
    kind = "application" if more.get("app") else "user"
    return {
        "name": name,
        "objectId": more.get("object_id") or name,
        "roles": list(roles),
        "identityProvider": "aad",
        "kind": kind,
        "source": "principal",
    }


def local(name: str) -> dict:
    """The Actor the app records for a body's `actor` field (local use)."""
    return {
        "name": name,
        "objectId": None,
        "roles": [],
        "identityProvider": None,
        "kind": "user",
        "source": "body",
    }


def assert_problem(response, status: int, *fields: str) -> dict[str, Any]:
    """A problem+json answer with `status`, naming at least `fields`, and no traceback."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status and body["title"]
    assert "Traceback" not in response.text
    named = {error["field"] for error in body.get("errors", [])}
    assert set(fields) <= named, f"expected {fields} in {named}"
    return body
