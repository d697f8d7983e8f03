"""Policy renewals: the orchestrator the hand-written Durable HTTP API histories in
tests/devhost/condensed/ were written for (tests/devhost/test_replay_condensed.py). It fans out,
puts its episode's time into an activity's input, waits for an event or a timer, signals and
calls an entity."""

from datetime import timedelta

import azure.durable_functions as df

app = df.DFApp()


@app.orchestration_trigger(context_name="context")
def renewal(context: df.DurableOrchestrationContext):
    policy = context.get_input()["policy"]
    quotes = yield context.task_all(
        [
            context.call_activity("quote", {"insurer": "North", "policy": policy}),
            context.call_activity("quote", {"insurer": "South", "policy": policy}),
        ]
    )
    sent_at = context.current_utc_datetime
    offer = {"policy": policy, "premium": min(quotes), "sentAt": sent_at.isoformat()}
    yield context.call_activity("send_offer", offer)
    accepted = context.wait_for_external_event("Accepted")
    deadline = context.create_timer(sent_at + timedelta(days=5))
    if (yield context.task_any([accepted, deadline])) != accepted:
        return "lapsed"
    deadline.cancel()
    ledger = df.EntityId("ledger", policy)
    context.signal_entity(ledger, "renewed", accepted.result)
    renewals = yield context.call_entity(ledger, "count")
    yield context.call_activity("confirm", {"policy": policy, "renewals": renewals})
    return "renewed"


@app.activity_trigger(input_name="request")
def quote(request: dict) -> float:
    return 400.0 if request["insurer"] == "North" else 412.5


@app.activity_trigger(input_name="offer")
def send_offer(offer: dict) -> bool:
    return True


@app.activity_trigger(input_name="confirmation")
def confirm(confirmation: dict) -> bool:
    return True


@app.entity_trigger(context_name="context")
def ledger(context: df.DurableEntityContext):
    entries = context.get_state(list)
    if context.operation_name == "renewed":
        entries.append(context.get_input())
    context.set_state(entries)
    context.set_result(len(entries))
