"""App code runs in worker processes, as on Azure: a worker that dies is replaced, the work it
held runs again, and the host answers throughout.

On Azure the Functions host runs Python in FUNCTIONS_WORKER_PROCESS_COUNT language workers
(RpcFunctionInvocationDispatcher). When one exits, the dispatcher disposes of its channel and
starts a new worker; the work item it held was never completed, so DurableTask delivers the
message again: activities run at least once, and an orchestration episode replays.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.devhost.support import DURABLE, SAMPLER, WEBHOOKS, kinds, run, start, unique


def _worker_pid(host) -> int:
    response = host.http.get("/api/pid")
    assert response.status_code == 200, response.text
    return int(response.text)


def test_an_activity_that_takes_its_worker_down_runs_again_in_a_new_worker(host, tmp_path):
    marker = tmp_path / "first-attempt"
    final = run(host, "survives_worker_exit", str(marker))

    assert final["runtimeStatus"] == "Completed", final
    assert final["output"] != int(marker.read_text())  # the second attempt: another process
    assert final["output"] == _worker_pid(host)  # ...the worker now serving the app
    # The crash leaves no trace in history: the activity was answered once, and not failed.
    events = kinds(final["historyEvents"])
    assert events.count("TaskCompleted") == 1 and "TaskFailed" not in events, events
    assert run(host, "hello_sequence")["runtimeStatus"] == "Completed"


def test_the_host_never_loads_app_code_even_to_read_an_activity_name(devhost_factory, tmp_path):
    """On Azure the host is .NET and reads what an orchestrator schedules as JSON text. An
    activity named by the app's StrEnum reaches devhost's host as plain text too: were it the
    app's object, the host would import the app's module to read it, or fail to."""
    host = devhost_factory(DURABLE, clock="manual", env={"DURABLE_DIR": str(tmp_path)})
    instance = host.start_instance("named_step", 7)

    assert host.wait(instance)["output"] == 7
    importers = {int(pid) for pid in (tmp_path / "imported-by.log").read_text().split()}
    assert importers and host.process.pid not in importers


def test_a_worker_that_dies_while_loading_the_app_is_replaced_again(devhost_factory, tmp_path):
    """The Functions host keeps restarting a language worker that exits, start-up included."""
    broken = tmp_path / "broken-start"
    host = devhost_factory(
        SAMPLER, clock="manual", env={"SAMPLER_BROKEN_START_MARKER": str(broken)}
    )
    marker = tmp_path / "first-attempt"
    final = run(host, "survives_a_broken_restart", str(marker))

    assert final["runtimeStatus"] == "Completed", final
    assert not broken.exists()  # a replacement did crash at start-up, and was replaced
    assert final["output"] == _worker_pid(host)
    assert "exited (code 1) holding 0 call(s)" in host.log.read_text()


def test_an_orchestrator_that_takes_its_worker_down_replays_in_a_new_worker(host, tmp_path):
    marker = tmp_path / "first-episode"
    final = run(host, "exits_in_replay", str(marker))

    assert final["runtimeStatus"] == "Completed", final
    assert final["output"] not in (None, int(marker.read_text()))
    assert kinds(final["historyEvents"]).count("ExecutionStarted") == 1


def test_an_http_trigger_that_raises_or_exits_gets_a_500_and_the_next_request_is_served(host):
    before = _worker_pid(host)

    raised = host.http.get("/api/crash/raise")
    assert raised.status_code == 500
    assert "Traceback" not in raised.text and "RuntimeError" not in raised.text
    assert _worker_pid(host) == before  # an exception is not a crash

    exited = host.http.get("/api/crash/exit")
    assert exited.status_code == 500
    assert _worker_pid(host) != before  # a new worker took its place
    assert run(host, "hello_sequence")["runtimeStatus"] == "Completed"


def test_a_blocking_orchestrator_holds_one_thread_not_the_host(host, tmp_path):
    """Orchestrator code runs in the worker's thread pool: while one episode is stuck in a
    synchronous call, the host answers and other instances run to the end."""
    paths = {"blocking": str(tmp_path / "blocking"), "release": str(tmp_path / "release")}
    blocked = start(host, "blocks_until_released", unique("blocked"), paths)
    host.wait_until(lambda: Path(paths["blocking"]).exists(), message="the episode to block")

    assert host.http.get("/admin/host/status").status_code == 200
    assert run(host, "hello_sequence")["runtimeStatus"] == "Completed"
    assert host.http.get(f"{WEBHOOKS}/instances/{blocked}").json()["runtimeStatus"] in (
        "Pending",
        "Running",
    )

    Path(paths["release"]).touch()
    assert host.wait_for(blocked)["runtimeStatus"] == "Completed"


def test_two_worker_processes_share_the_work_and_end_with_their_host(devhost_factory):
    """Language workers end with the Functions host. A killed host must leave no worker behind
    running app code whose results nobody records: each worker's pipe closes with the host,
    including where a forked worker inherited copies of the host's ends of the pipes."""
    host = devhost_factory(SAMPLER, clock="manual", env={"FUNCTIONS_WORKER_PROCESS_COUNT": "2"})
    instance = start(host, "fan_out_pids", unique("pids"), 8)
    final = host.wait_for(instance)

    assert final["runtimeStatus"] == "Completed", final
    workers = set(final["output"])
    assert len(workers) == 2  # eight activities at once, over both workers

    host.stop(kill=True)
    host.wait_until(lambda: not any(map(_running, workers)), message="both workers to exit")


def _running(pid: int) -> bool:
    """Whether the process exists and has not exited (a zombie has)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state not in ("Z", "X")


@pytest.mark.parametrize("value", ["0", "11", "two"])
def test_a_worker_count_outside_what_azure_takes_is_refused_at_start(devhost_factory, value):
    with pytest.raises(RuntimeError, match="FUNCTIONS_WORKER_PROCESS_COUNT must be"):
        devhost_factory(SAMPLER, env={"FUNCTIONS_WORKER_PROCESS_COUNT": value})
