"""Replay recorded histories against the current orchestrator code, without running anything.

Every release of an orchestrator meets instances that started under the old code. On their
next replay the Durable extension compares what the code schedules with what history says
was scheduled at the same sequence number, and fails the instance when they differ
(DurableTask.Core `TaskOrchestrationContext.HandleTaskScheduledEvent` and its timer,
sub-orchestration and event-sent twins: "Was a change made to the orchestrator code after
this instance had already started running?"). This module finds that failure before the
deploy: it splits a history into the episodes devhost recorded, replays each one through the
SDK exactly as the engine does (`devhost.worker.replay`), and compares the work the code asks for
with the work history recorded for that episode. It also compares inputs, which DurableTask
does not: an activity replayed with a changed input silently gets the old input's result.
"""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from devhost.app.config import ConfigError, load_local_settings
from devhost.app.loader import load_app
from devhost.durable.decisions import (
    CallEntity,
    CallHttp,
    CreateTimer,
    ScheduleActivity,
    SignalEntity,
    StartSubOrchestration,
    Work,
)
from devhost.durable.history import SCHEDULING_EVENTS, EventType
from devhost.hub.store import InstanceQuery
from devhost.tools.commands import open_existing
from devhost.tools.exports import ExportError, Recorded, exports_in
from devhost.tools.timejson import same_json
from devhost.worker.replay import ReplayHistory, run_episode

_EPISODE_ENDS = SCHEDULING_EVENTS | {
    EventType.ORCHESTRATOR_STARTED,
    EventType.ORCHESTRATOR_COMPLETED,
    EventType.EXECUTION_COMPLETED,
    EventType.CONTINUE_AS_NEW,
}
_KIND = {
    EventType.TASK_SCHEDULED: "activity",
    EventType.TIMER_CREATED: "timer",
    EventType.SUB_ORCHESTRATION_CREATED: "sub-orchestration",
}


@dataclass(frozen=True)
class Divergence:
    """Where the current code parts from a recorded history, with both sides in words."""

    instance_id: str
    name: str
    position: int | None  # the sequence number (task id) both sides refer to
    event_index: int  # the history event the replay had reached
    recorded: str
    replayed: str
    source: str

    def describe(self) -> str:
        where = f"sequence number {self.position}" if self.position is not None else "its last step"
        return (
            f"{self.instance_id} ({self.name}, {self.source}): diverges at {where}, "
            f"history event {self.event_index}\n"
            f"  history: {self.recorded}\n"
            f"  code:    {self.replayed}"
        )


def check(
    orchestrators: Mapping[str, Any], recorded: Recorded, slack: timedelta = timedelta(0)
) -> Divergence | None:
    """Replay `recorded` episode by episode; the first divergence, or None if it replays.
    `slack`: how much later than the code's a moment in a recorded input may be, when the
    history does not say exactly when its episodes began (devhost/tools/timejson.py)."""
    handle = orchestrators.get(recorded.name)
    if handle is None:
        return _divergence(
            recorded, None, 0, f"orchestrator '{recorded.name}'", "not in this app any more"
        )
    history = recorded.history
    started = next(e for e in history if e["EventType"] == EventType.EXECUTION_STARTED)
    parent = (started.get("ParentInstance") or {}).get("OrchestrationInstance") or {}
    scheduled = {
        event["EventId"]: index
        for index, event in enumerate(history)
        if event["EventType"] in SCHEDULING_EVENTS
    }
    last_id = max(scheduled, default=-1)
    past = ReplayHistory()
    for start, received, end in _episodes(history):
        past.extend(history[len(past.events) : start])
        decision = run_episode(
            handle,
            recorded.instance_id,
            parent.get("InstanceId"),
            started.get("Input"),
            past,
            history[start:received],
        )
        if decision.failure is not None:
            if _recorded_failure(history[received:end]):
                return None
            summary = _episode_summary(history, received, end)
            return _divergence(
                recorded, None, received, summary, f"fails on replay: {decision.failure}"
            )
        asked = {work.task_id: work for work in decision.work}
        recorded_here = {e["EventId"] for e in _scheduling(history, received, end)}
        for task_id in sorted(set(asked) | recorded_here):
            work, index = asked.get(task_id), scheduled.get(task_id)
            problem = _compare(work, index, history, range(received, end), last_id, slack)
            if problem is not None:
                return _divergence(
                    recorded, task_id, received if index is None else index, *problem
                )
    return None


def _compare(
    work: Work | None,
    index: int | None,
    history: list[dict[str, Any]],
    episode_events: range,
    last_id: int,
    slack: timedelta,
) -> tuple[str, str] | None:
    """(history side, code side) if the code's step at one sequence number breaks replay."""
    if work is None:
        assert index is not None, "a step only the history has is one of its scheduling events"
        return describe_event(history[index]), "does not schedule it here"
    if index is None:
        if work.task_id > last_id:
            return None  # a step after the end of the recorded history: it simply runs next
        return "nothing at this sequence number", f"schedules {describe_work(work)}"
    if index not in episode_events:
        return (
            f"{describe_event(history[index])}, recorded later (history event {index})",
            f"schedules {describe_work(work)} here, before history says it came",
        )
    if not same_step(work, history[index], slack):
        return describe_event(history[index]), f"schedules {describe_work(work)}"
    return None


def _episodes(history: list[dict[str, Any]]) -> Iterator[tuple[int, int, int]]:
    """(start, received, end) per episode: history[start:received] is what the episode was
    given (OrchestratorStarted and the events that woke it), history[received:end] what it
    recorded (scheduled work, completion)."""
    for start, event in enumerate(history):
        if event["EventType"] != EventType.ORCHESTRATOR_STARTED:
            continue
        received = start + 1
        while received < len(history) and history[received]["EventType"] not in _EPISODE_ENDS:
            received += 1
        end = received
        while end < len(history) and history[end]["EventType"] not in (
            EventType.ORCHESTRATOR_STARTED,
            EventType.ORCHESTRATOR_COMPLETED,
        ):
            end += 1
        yield start, received, end


def _scheduling(history: list[dict[str, Any]], begin: int, end: int) -> list[dict[str, Any]]:
    return [e for e in history[begin:end] if e["EventType"] in SCHEDULING_EVENTS]


def _recorded_failure(events: list[dict[str, Any]]) -> bool:
    return any(
        e["EventType"] == EventType.EXECUTION_COMPLETED and e.get("OrchestrationStatus") == "Failed"
        for e in events
    )


def _episode_summary(history: list[dict[str, Any]], begin: int, end: int) -> str:
    steps = [describe_event(e) for e in _scheduling(history, begin, end)]
    if _recorded_failure(history[begin:end]):
        steps.append("the instance failed")
    elif any(e["EventType"] == EventType.EXECUTION_COMPLETED for e in history[begin:end]):
        steps.append("the instance completed")
    return "; ".join(steps) or "waited"


def same_step(work: Work, event: dict[str, Any], slack: timedelta = timedelta(0)) -> bool:
    """Whether the step the code asks for is the one history recorded at its sequence number."""
    kind = EventType(event["EventType"])
    if isinstance(work, (ScheduleActivity, CallHttp)):
        return (
            kind == EventType.TASK_SCHEDULED
            and work.name.lower() == event["Name"].lower()
            and _same_json(work.input, event.get("Input"), slack)
        )
    if isinstance(work, CreateTimer):
        return kind == EventType.TIMER_CREATED  # DurableTask compares timers by kind alone
    if isinstance(work, StartSubOrchestration):
        return (
            kind == EventType.SUB_ORCHESTRATION_CREATED
            and work.name.lower() == event["Name"].lower()
            and work.instance_id in (None, event.get("InstanceId"))
            and _same_input(work.input, event.get("Input"), slack)
        )
    if kind != EventType.EVENT_SENT:
        return False
    request = json.loads(event["Input"])
    return (
        isinstance(work, SignalEntity) == bool(request.get("signal"))
        and work.entity_id == event.get("InstanceId")
        and work.operation == request.get("op")
        and _same_json(work.input, request.get("input"), slack)
    )


def _same_input(work_input: str | None, recorded: str | None, slack: timedelta) -> bool:
    """A sub-orchestration's input as stored now, or as devhost recorded it before it kept the
    extension's extra string layer (the SDK's JSON text itself)."""
    bare = None if work_input is None else json.loads(work_input)
    return _same_json(work_input, recorded, slack) or _same_json(bare, recorded, slack)


def _same_json(left: str | None, right: str | None, slack: timedelta) -> bool:
    return same_json(left, right, slack)


def describe_work(work: Work) -> str:
    """A step the current code asks for, in the words `devhost show` uses."""
    if isinstance(work, (ScheduleActivity, CallHttp)):
        return f"activity '{work.name}' with input {_short(work.input)}"
    if isinstance(work, CreateTimer):
        return f"a timer firing at {work.fire_at.isoformat()}"
    if isinstance(work, StartSubOrchestration):
        return f"sub-orchestration '{work.name}' with input {_short(work.input)}"
    verb = "signal" if isinstance(work, SignalEntity) else "call"
    assert isinstance(work, (CallEntity, SignalEntity))
    return f"entity {verb} '{work.operation}' on {work.entity_id} with input {_short(work.input)}"


def describe_event(event: dict[str, Any]) -> str:
    """A step history recorded, in the same words as `describe_work`."""
    kind = EventType(event["EventType"])
    if kind == EventType.TIMER_CREATED:
        return f"a timer firing at {event['FireAt']}"
    if kind in _KIND:
        return f"{_KIND[kind]} '{event['Name']}' with input {_short(event.get('Input'))}"
    request = json.loads(event["Input"])
    verb = "signal" if request.get("signal") else "call"
    return (
        f"entity {verb} '{request.get('op')}' on {event.get('InstanceId')} "
        f"with input {_short(request.get('input'))}"
    )


def _short(text: str | None, width: int = 100) -> str:
    if text is None:
        return "none"
    return text if len(text) <= width else text[: width - 1] + "…"


def _divergence(
    recorded: Recorded, position: int | None, index: int, history_side: str, code_side: str
) -> Divergence:
    return Divergence(
        recorded.instance_id,
        recorded.name,
        position,
        index,
        history_side,
        code_side,
        recorded.source,
    )


def replay_check(args: argparse.Namespace) -> int:
    """`devhost replay-check`: exit 1 when any history diverges, naming where and how."""
    app_dir = args.app.resolve()
    load_local_settings(app_dir)
    index = load_app(app_dir)
    logging.getLogger().setLevel(logging.WARNING)  # replays re-run the app's own log lines
    if args.paths:
        try:
            recorded = list(exports_in(args.paths))
        except ExportError as problem:
            raise ConfigError(str(problem)) from problem
    else:
        hub = open_existing(args)
        query = InstanceQuery(statuses=tuple(args.status or ()), prefix=args.prefix)
        rows = [(row, hub.history(row.id)) for row in hub.query_instances(query)]
        recorded = [Recorded(row.id, row.name, events) for row, events in rows if events]
    diverged = [d for d in (check(index.orchestrators, r) for r in recorded) if d]
    for divergence in diverged:
        print(divergence.describe() + "\n")
    print(
        f"replay-check: {len(recorded)} histories replayed against the current code, "
        f"{len(diverged)} diverged"
    )
    return 1 if diverged else 0
