"""Orchestrators that wait for external events, for tests/devhost/test_event_delivery.py.

An orchestrator's code may be held at a gate: when `$EVENTS_DIR/<instance id>.hold` (a FIFO)
exists it blocks on it (after creating `<instance id>.reached`), so its episode is still running
when the test raises events. The test removes the FIFO, then lets the gate go.
"""

import os
from pathlib import Path

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


def _gate(instance_id: str) -> None:
    """Block while the test holds this instance (orchestrator code must not block on Azure;
    here it stands for an episode that takes a while). The hold is a FIFO: opening it blocks
    until the test opens its other end, and reading it until the test closes that end."""
    folder = Path(os.environ["EVENTS_DIR"])
    hold = folder / f"{instance_id}.hold"
    if not hold.exists():
        return
    (folder / f"{instance_id}.reached").touch()
    fd = os.open(hold, os.O_RDONLY)
    try:
        os.read(fd, 1)  # returns once the test closes its end
    finally:
        os.close(fd)


@app.orchestration_trigger(context_name="context")
def same_name(context: df.DurableOrchestrationContext):
    """Waits for "Item" once, calls an activity, then waits for "Item" three more times."""
    _gate(context.instance_id)
    received = [(yield context.wait_for_external_event("Item"))]
    yield context.call_activity("echo", "between")
    for _ in range(3):
        received.append((yield context.wait_for_external_event("Item")))
    return received


@app.orchestration_trigger(context_name="context")
def name_per_wait(context: df.DurableOrchestrationContext):
    """Three rounds, each waiting once under a name of its own ("Item", "Item_2", "Item_3", as
    orchestrators/inbox.py's `event_name` makes them), published as `raiseAs`."""
    received = []
    for round_ in range(1, 4):
        name = "Item" if round_ == 1 else f"Item_{round_}"
        context.set_custom_status({"raiseAs": name})
        received.append((yield context.wait_for_external_event(name)))
        yield context.call_activity("echo", round_)
    context.set_custom_status({"raiseAs": None})
    return received


@app.orchestration_trigger(context_name="context")
def occupier(context: df.DurableOrchestrationContext):
    """Holds the host's only orchestrator slot (maxConcurrentOrchestratorFunctions 1) while
    the test holds it."""
    _gate(context.instance_id)
    return "done"


@app.activity_trigger(input_name="value")
def echo(value):
    return value
