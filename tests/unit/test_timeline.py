"""The timeline read from a history as Azure's status API returns it (DurableClient.cs,
GetDurableOrchestrationStatusAsync): string EventTypes, completions carrying FunctionName,
ScheduledTime and Input as stored (an activity's the one-element parameters array
TaskOrchestrationContext.ScheduleTaskInternal writes), scheduling still pending left in place."""

from __future__ import annotations

import json

from domain.timeline import build_timeline


def at(second: int) -> str:
    return f"2026-01-01T00:00:{second:02d}Z"


def lock_request(request_id: str, op: str) -> str:
    return json.dumps({"id": request_id, "op": op, "signal": False, "input": "{}"})


def lock_reply(result: dict) -> str:
    return json.dumps({"result": json.dumps(result)})


def activity_input(value: object) -> str:
    """An activity's Input as Azure stores it: [the SDK's JSON text]."""
    return json.dumps([json.dumps(value)])


HISTORY = [
    {"EventType": "ExecutionStarted", "Timestamp": at(0), "FunctionName": "claim_orchestrator"},
    {
        "EventType": "EventSent",
        "Timestamp": at(0),
        "Name": "op",
        "InstanceId": "@lock@policy:P-1",
        "Input": lock_request("r1", "acquire"),
    },
    {
        "EventType": "EventRaised",
        "Timestamp": at(1),
        "Name": "r1",
        "Input": lock_reply({"granted": False, "holder": "claim-A", "position": 1}),
    },
    {"EventType": "TimerCreated", "Timestamp": at(1), "FireAt": at(31)},
    {"EventType": "TimerFired", "Timestamp": at(31), "FireAt": at(31)},
    {
        "EventType": "EventSent",
        "Timestamp": at(31),
        "Name": "op",
        "InstanceId": "@lock@policy:P-1",
        "Input": lock_request("r2", "acquire"),
    },
    {
        "EventType": "EventRaised",
        "Timestamp": at(32),
        "Name": "r2",
        "Input": lock_reply({"granted": True, "holder": "claim-B", "position": 0}),
    },
    {
        "EventType": "TaskFailed",
        "Timestamp": at(33),
        "ScheduledTime": at(32),
        "FunctionName": "partner_call",
        "Input": activity_input({"carrier": "GHOST"}),
        "Reason": "boom",
    },
    {"EventType": "TimerCreated", "Timestamp": at(33), "FireAt": at(38)},
    {"EventType": "TimerFired", "Timestamp": at(38), "FireAt": at(38)},
    {
        "EventType": "TaskCompleted",
        "Timestamp": at(39),
        "ScheduledTime": at(38),
        "FunctionName": "partner_call",
        "Input": activity_input({"carrier": "GHOST"}),
    },
    {
        "EventType": "TaskCompleted",
        "Timestamp": at(39),
        "ScheduledTime": at(39),
        "FunctionName": "record_stage",
        "Input": activity_input({"stage": "awaiting_decision"}),
    },
    {
        "EventType": "EventRaised",
        "Timestamp": at(50),
        "Name": "ClaimDecision",
        # raise_event encodes once more than the wire needs (SDK issue #295)
        "Input": json.dumps(json.dumps({"decision": "approve", "actor": {"name": "grace"}})),
    },
    {"EventType": "TaskScheduled", "Timestamp": at(51), "Name": "claims_pay", "Input": '["{}"]'},
]


def test_lock_waits_retries_stages_and_events_are_read_from_the_history():
    timeline = build_timeline(HISTORY, running=True)
    locks = [
        (s.name, s.outcome, s.start.second, s.end and s.end.second)
        for s in timeline.spans
        if s.kind == "lock"
    ]
    assert locks == [("policy:P-1", "waited", 0, 32), ("policy:P-1", "held", 32, None)]
    waited = next(s for s in timeline.spans if s.outcome == "waited")
    assert waited.detail == "held by claim-A; place 1 in queue"
    calls = [(s.label, s.outcome, s.attempt) for s in timeline.spans if s.name == "partner_call"]
    assert calls == [("GHOST", "retried", 1), ("GHOST", "completed", 2)]
    timers = [(s.name, s.outcome) for s in timeline.spans if s.kind == "timer"]
    assert timers == [("lock backoff", "fired"), ("retry delay", "fired")]
    pending = [(s.name, s.outcome, s.end) for s in timeline.spans if s.name == "claims_pay"]
    assert pending == [("claims_pay", "running", None)]
    marks = [(m.kind, m.name, m.actor) for m in timeline.marks]
    assert marks == [
        ("started", "started", None),
        ("stage", "awaiting_decision", None),
        ("event", "ClaimDecision", "grace"),
    ]
    assert "record_stage" not in {s.name for s in timeline.spans}
    assert (timeline.start.second, timeline.end.second) == (0, 51)


def test_a_finished_instance_leaves_nothing_running():
    timeline = build_timeline([*HISTORY[:5]], running=False)
    lock = next(s for s in timeline.spans if s.kind == "lock")
    assert lock.outcome == "waited" and lock.end is not None
    assert all(s.outcome != "running" for s in timeline.spans)
