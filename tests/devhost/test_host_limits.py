"""The host's invocation log lines, host.json's maxOrchestrationActions, and the one task hub
devhost serves to durable clients and the Durable HTTP API.

Each invocation logs the WebJobs SDK's `Executing 'Functions.<name>' (Reason='...', Id=...)`
and `Executed 'Functions.<name>' (Succeeded|Failed, Id=..., Duration=NNms)` (azure-webjobs-sdk
2024-10-21, Loggers/FunctionInstanceLogger.cs), a failure with the worker's exception as the
host's RpcException shows it (azure-functions-host 4.1036 Workers/Rpc/RpcException.cs). An
orchestration past maxOrchestrationActions fails with the extension's message
(azure-functions-durable-extension 2024-10-23,
DurableOrchestrationContext.IncrementActionsOrThrowException).
"""

from __future__ import annotations

import re

import pytest

from devhost.app.client_hubs import check_client_hubs
from devhost.app.config import ConfigError, HostConfig, Limits
from devhost.app.loader import FunctionIndex
from devhost.testing import command
from tests.devhost.support import APPS, run

LIMITS = APPS / "limits"
ID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


@pytest.fixture(scope="module")
def host(devhost_factory):
    return devhost_factory(LIMITS, clock="manual")


def lines(host) -> str:
    return host.log.read_text()


def test_each_invocation_logs_the_hosts_executing_and_executed_lines(host):
    assert host.http.get("/api/runs").status_code == 200
    host.idle()
    log = lines(host)
    started = re.search(
        rf"Executing 'Functions\.runs' \(Reason='This function was programmatically called via "
        rf"the host APIs\.', Id=({ID})\)",
        log,
    )
    assert started, log
    assert re.search(
        rf"Executed 'Functions\.runs' \(Succeeded, Id={started.group(1)}, Duration=\d+ms\)", log
    )
    assert re.search(r"Executing 'Functions\.daily_and_at_startup' \(Reason='Timer fired at ", log)
    assert "Trigger Details: UnscheduledInvocationReason: RunOnStartup" in log


def test_a_failed_invocation_logs_failed_with_the_exception_type_and_message(host):
    assert host.http.get("/api/fails").status_code == 500
    host.advance(8)  # the timer that runs every eight seconds raises too
    log = lines(host)
    assert re.search(
        rf"Executed 'Functions\.fails' \(Failed, Id={ID}, Duration=\d+ms\)\n"
        r"Result: Failure\nException: KeyError: 'customer'",
        log,
    ), log
    assert re.search(
        rf"Executed 'Functions\.failing_report' \(Failed, Id={ID}, Duration=\d+ms\)\n"
        r"Result: Failure\nException: ValueError: the report has no data",
        log,
    )


def test_an_orchestration_past_max_orchestration_actions_fails_with_the_extensions_message(host):
    """host.json sets maxOrchestrationActions to 3: three activities fit, the fourth fails the
    instance when its episode schedules it."""
    assert run(host, "three_steps")["output"] == [0, 1, 2]
    failed = run(host, "four_steps")
    assert failed["runtimeStatus"] == "Failed"
    assert failed["output"] == (
        "Orchestrator function 'four_steps' failed: Maximum amount of orchestration actions (3) "
        "has been reached. This value can be configured in host.json file as "
        "MaxOrchestrationActions."
    )
    completed = [e for e in failed["historyEvents"] if e["EventType"] == "TaskCompleted"]
    assert len(completed) == 3


def test_the_durable_http_api_honours_its_own_task_hub_and_refuses_another(host):
    """HttpApiHandler reads `taskHub` from the query (the key ignoring case) and acts on that
    hub; hub names compare ignoring case (DurableClientAttribute.Equals). devhost serves one
    hub, so another is refused, naming both and what Azure would do."""
    instance = run(host, "three_steps")["instanceId"]
    path = f"/runtime/webhooks/durabletask/instances/{instance}"
    assert host.http.get(path, params={"taskHub": "limits"}).status_code == 200
    assert host.http.get(path, params={"TASKHUB": "Limits"}).status_code == 200
    own_store = {"taskHub": "limits", "connection": "AzureWebJobsStorage"}
    assert host.http.get(path, params=own_store).status_code == 200
    for other, named in [({"taskHub": "billing"}, "'billing'"), ({"connection": "X"}, "'X'")]:
        refused = host.http.get(path, params=other)
        assert refused.status_code == 400
        message = refused.json()["Message"]
        assert named in message and "On Azure" in message, message


def test_a_client_binding_naming_its_own_task_hub_works_in_any_letter_case(host):
    started = host.http.post("/api/own-hub/start")
    assert started.status_code == 200, started.text
    assert host.wait_for(started.json()["id"])["output"] == [0, 1, 2]


def test_a_client_binding_for_another_task_hub_or_store_is_refused_at_start(monkeypatch):
    """On Azure such a client acts on that hub or storage account (DurableClientAttribute's
    TaskHub and ConnectionName); devhost has one hub and says so, naming the function."""
    config = HostConfig("api", "limits", Limits())
    check_client_hubs(FunctionIndex(client_hubs={"starter": ("Limits", None)}), config)
    check_client_hubs(FunctionIndex(client_hubs={"s": (None, "AzureWebJobsStorage")}), config)
    check_client_hubs(FunctionIndex(client_hubs={"s": (None, "Storage")}), config)
    monkeypatch.setenv("BILLING_HUB", "billing")
    for client_hub, named in [
        (("%BILLING_HUB%", None), "task hub 'billing'"),
        (("limits", "BillingStorage"), "connection 'BillingStorage'"),
    ]:
        with pytest.raises(ConfigError) as refused:
            check_client_hubs(FunctionIndex(client_hubs={"starter": client_hub}), config)
        assert str(refused.value).startswith("function starter: ")
        assert named in str(refused.value) and "On Azure" in str(refused.value)


def test_devhost_start_refuses_a_client_for_another_task_hub(tmp_path):
    app = tmp_path / "other_hub"
    app.mkdir()
    (app / "host.json").write_text('{"version": "2.0"}')
    (app / "function_app.py").write_text(
        "import azure.durable_functions as df\n"
        "import azure.functions as func\n"
        "app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)\n\n"
        "@app.route(route='billing')\n"
        "@app.durable_client_input(client_name='client', task_hub='Billing')\n"
        "async def billing_status(req: func.HttpRequest, client) -> func.HttpResponse:\n"
        "    return func.HttpResponse('')\n"
    )
    done = command("start", "--app", str(app), "--port", "0", timeout=60)
    assert done.returncode == 1
    assert "function billing_status: its durable client binding" in done.stderr
    assert "task hub 'Billing'" in done.stderr and "On Azure" in done.stderr
