"""The workloads the devhost benchmark drives: sequences, a fan-out, events, an entity, and
instances in flight for replay-check --from."""

from datetime import timedelta

import azure.durable_functions as df

app = df.DFApp()


@app.orchestration_trigger(context_name="context")
def hello_sequence5(context: df.DurableOrchestrationContext):
    for step in range(5):
        yield context.call_activity("noop", step)
    return "done"


@app.orchestration_trigger(context_name="context")
def fan_out(context: df.DurableOrchestrationContext):
    count = context.get_input()
    results = yield context.task_all([context.call_activity("noop", i) for i in range(count)])
    return len(results)


@app.orchestration_trigger(context_name="context")
def collect_events(context: df.DurableOrchestrationContext):
    count = context.get_input()
    for _ in range(count):
        yield context.wait_for_external_event("Item")
    return count


@app.activity_trigger(input_name="value")
def noop(value: int) -> int:
    return value


@app.entity_trigger(context_name="context")
def counter(context: df.DurableEntityContext):
    context.set_state(context.get_state(lambda: 0) + 1)


@app.orchestration_trigger(context_name="context")
def long_sequence(context: df.DurableOrchestrationContext):
    for step in range(context.get_input()):
        yield context.call_activity("noop", step)
    return "done"


@app.orchestration_trigger(context_name="context")
def awaits_approval(context: df.DurableOrchestrationContext):
    """In flight for days, as a claim waiting for its adjuster: a step done, then an approval
    or a deadline."""
    checked = yield context.call_activity("noop", context.get_input())
    deadline = context.current_utc_datetime + timedelta(days=5)
    approval = context.wait_for_external_event("Approval")
    yield context.task_any([approval, context.create_timer(deadline)])
    return checked
