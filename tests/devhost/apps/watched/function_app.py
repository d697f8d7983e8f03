"""An app the watch-mode tests edit while devhost serves it (tests/devhost/test_watch.py)."""

import json
import time
from pathlib import Path

import azure.durable_functions as df
import azure.functions as func
from greeting import GREETING

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.orchestration_trigger(context_name="context")
def greet_when_told(context: df.DurableOrchestrationContext):
    """Waits for the event "Go", then greets with whatever code serves by then."""
    yield context.wait_for_external_event("Go")
    return (yield context.call_activity("greet", None))


@app.orchestration_trigger(context_name="context")
def greet_when_released(context: df.DurableOrchestrationContext):
    return (yield context.call_activity("greet_once_released", context.get_input()))


@app.activity_trigger(input_name="unused")
def greet(unused: None) -> str:
    return GREETING


@app.activity_trigger(input_name="paths")
def greet_once_released(paths: dict) -> str:
    """Says it started, then holds its worker's call until the test releases it."""
    Path(paths["started"]).touch()
    while not Path(paths["release"]).exists():
        time.sleep(0.01)
    return GREETING


@app.route(route="greeting", methods=["GET"])
def greeting(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(json.dumps(GREETING), mimetype="application/json")
