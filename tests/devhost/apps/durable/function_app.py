"""Activities that block, sleep and count, for crash, shutdown and concurrency tests.

Every activity call is appended to `$DURABLE_DIR/calls.log`, so tests can tell how often
work really ran (at least once) from how often its result was recorded (exactly once).
"""

import json
import os
import sys
import threading
import time
from pathlib import Path

import azure.durable_functions as df
import azure.functions as func
from journal import record as _record  # a sibling module: the app folder is on sys.path
from names import Step

# Whether a library was already loaded when the app was imported: a preloaded one is.
_PROBED = os.environ.get("DURABLE_PROBE_LIBRARY")
_PROBED_BEFORE_THE_APP = _PROBED in sys.modules if _PROBED else None

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)
_lock = threading.Lock()
_running = {"now": 0, "peak": 0}


@app.orchestration_trigger(context_name="context")
def gated_sequence(context: df.DurableOrchestrationContext):
    steps = context.get_input()
    results = []
    for step in range(steps):
        results.append((yield context.call_activity("gated", f"{context.instance_id}:{step}")))
    return results


@app.orchestration_trigger(context_name="context")
def gated_fan(context: df.DurableOrchestrationContext):
    """`input` gated activities at once: more than the host runs together."""
    tags = [f"{context.instance_id}:{n}" for n in range(context.get_input())]
    return (yield context.task_all([context.call_activity("gated", tag) for tag in tags]))


@app.orchestration_trigger(context_name="context")
def slow_pair(context: df.DurableOrchestrationContext):
    first = yield context.call_activity("slow", {"tag": f"{context.instance_id}:0", "seconds": 1})
    second = yield context.call_activity("slow", {"tag": f"{context.instance_id}:1", "seconds": 0})
    return [first, second]


@app.orchestration_trigger(context_name="context")
def burst(context: df.DurableOrchestrationContext):
    count = context.get_input()
    return (yield context.task_all([context.call_activity("echo", i) for i in range(count)]))


@app.orchestration_trigger(context_name="context")
def named_step(context: df.DurableOrchestrationContext):
    """Calls an activity by the app's StrEnum name."""
    return (yield context.call_activity(Step.ECHO, context.get_input()))


@app.orchestration_trigger(context_name="context")
def inbox(context: df.DurableOrchestrationContext):
    received = []
    for _ in range(context.get_input()):
        received.append((yield context.wait_for_external_event("Item")))
    return received


@app.orchestration_trigger(context_name="context")
def crowd(context: df.DurableOrchestrationContext):
    peaks = yield context.task_all(
        [context.call_activity("held", i) for i in range(context.get_input())]
    )
    return max(peaks)


@app.activity_trigger(input_name="tag")
def gated(tag: str) -> str:
    """Blocks while `$DURABLE_DIR/hold` exists."""
    _wait_while_held(_record(f"gated {tag}"))
    return f"done {tag}"


def _wait_while_held(folder: Path) -> None:
    """Polls for the test's `hold` file, for at most a minute."""
    deadline = time.monotonic() + 60
    while (folder / "hold").exists() and time.monotonic() < deadline:
        time.sleep(0.02)


@app.activity_trigger(input_name="job")
def slow(job: dict) -> str:
    _record(f"slow {job['tag']} start")
    time.sleep(job["seconds"])
    _record(f"slow {job['tag']} end")
    return f"slept {job['tag']}"


@app.activity_trigger(input_name="value")
def echo(value: int) -> int:
    return value


@app.activity_trigger(input_name="index")
def held(index: int) -> int:
    """Runs while `$DURABLE_DIR/hold` exists; reports how many activities were running at once
    while it ran."""
    folder = _record(f"held {index}")
    with _lock:
        _running["now"] += 1
        _running["peak"] = max(_running["peak"], _running["now"])
    _wait_while_held(folder)
    with _lock:
        peak = _running["peak"]
        _running["now"] -= 1
    return peak


@app.route(route="ping", methods=["GET"])
def ping(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(os.environ.get("DURABLE_GREETING", "unset"))


@app.route(route="process", methods=["GET"])
def process(req: func.HttpRequest) -> func.HttpResponse:
    """What a worker inherits from the host that started it: working folder, argv, sys.path,
    environment, bytecode flag, and whether $DURABLE_PROBE_LIBRARY was loaded before the app."""
    seen = {
        "cwd": os.getcwd(),
        "argv0": sys.argv[0],
        "path": sys.path,
        "greeting": os.environ.get("DURABLE_GREETING"),
        "bytecode": not sys.dont_write_bytecode,
        "probedBeforeTheApp": _PROBED_BEFORE_THE_APP,
    }
    return func.HttpResponse(json.dumps(seen), mimetype="application/json")
