"""Timer triggers of every schedule kind, invocations that succeed and fail, and an
orchestration that takes more actions than host.json allows."""

import json

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)
RUNS: list[dict] = []


def record(name: str, timer: func.TimerRequest) -> None:
    status = timer.schedule_status
    RUNS.append(
        {
            "name": name,
            "pastDue": timer.past_due,
            "status": status,
        }
    )


@app.timer_trigger(arg_name="timer", schedule="0 0 0 * * *")
def midnight(timer: func.TimerRequest) -> None:
    record("midnight", timer)


@app.timer_trigger(arg_name="timer", schedule="0 0 0 * * *", use_monitor=False)
def midnight_unmonitored(timer: func.TimerRequest) -> None:
    record("midnight_unmonitored", timer)


@app.timer_trigger(arg_name="timer", schedule="00:00:05")
def every_five_seconds(timer: func.TimerRequest) -> None:
    record("every_five_seconds", timer)


@app.timer_trigger(arg_name="timer", schedule="0 12 * * *")
def five_field_noon(timer: func.TimerRequest) -> None:
    record("five_field_noon", timer)


@app.timer_trigger(arg_name="timer", schedule="1.00:00:00", run_on_startup=True)
def daily_and_at_startup(timer: func.TimerRequest) -> None:
    record("daily_and_at_startup", timer)


@app.timer_trigger(arg_name="timer", schedule="every day at noon")
def unreadable_schedule(timer: func.TimerRequest) -> None:
    record("unreadable_schedule", timer)


@app.timer_trigger(arg_name="timer", schedule="%LIMITS_UNSET_SCHEDULE%")
def unset_schedule(timer: func.TimerRequest) -> None:
    record("unset_schedule", timer)


@app.timer_trigger(arg_name="timer", schedule="00:00:08")
def failing_report(timer: func.TimerRequest) -> None:
    raise ValueError("the report has no data")


@app.route(route="runs", methods=["GET"])
def runs(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(json.dumps(RUNS), mimetype="application/json")


@app.route(route="fails", methods=["GET"])
def fails(req: func.HttpRequest) -> func.HttpResponse:
    raise KeyError("customer")


@app.orchestration_trigger(context_name="context")
def four_steps(context: df.DurableOrchestrationContext):
    results = []
    for step in range(4):
        results.append((yield context.call_activity("step", step)))
    return results


@app.orchestration_trigger(context_name="context")
def three_steps(context: df.DurableOrchestrationContext):
    return (yield context.task_all([context.call_activity("step", n) for n in range(3)]))


@app.activity_trigger(input_name="number")
def step(number: int) -> int:
    return number


@app.route(route="own-hub/start", methods=["POST"])
@app.durable_client_input(client_name="client", task_hub="LIMITS")
async def start_in_own_hub(req: func.HttpRequest, client: df.DurableOrchestrationClient):
    """A client naming the app's own task hub, in other letter case."""
    instance_id = await client.start_new("three_steps")
    return func.HttpResponse(json.dumps({"id": instance_id}))
