"""An instance's history as a timeline people read: what ran when, what failed and was retried,
which timers waited, who sent which event, and how long a lock was waited for and held.

Built from the history the Durable status API returns (`showHistory=true&showInput=true`):
PascalCase events with a string `EventType`, each completion carrying its `FunctionName`,
`ScheduledTime` and `Input` (scheduling events still pending stay in the list). Inputs arrive
as the stored JSON text (an activity's inside a one-element array, a sub-orchestration's
encoded twice) and event payloads may be JSON-encoded twice (SDK issue #295), so every payload
is decoded defensively.

    timeline = build_timeline(status["historyEvents"], running=True)
    [span.name for span in timeline.spans if span.kind == "activity"]
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from domain.common import ApiModel, Timestamp, parse_time

RECORD_STAGE_ACTIVITY = "record_stage"
"""The activity every stage change calls; the timeline shows it as a stage mark, not a bar."""

LOCK_ENTITY_PREFIX = "@lock@"
LABEL_KEYS = ("carrier", "documentId", "taskId", "partNumber", "template", "stage")

Event = Mapping[str, Any]
SpanKind = Literal["activity", "suborchestration", "timer", "lock"]
Outcome = Literal[
    "completed", "failed", "retried", "running", "fired", "cancelled", "waited", "held", "gave_up"
]


class Span(ApiModel):
    """Something that took time: an activity attempt, a sub-orchestration, a timer, a lock."""

    kind: SpanKind
    name: str = Field(description="Function name, timer purpose or lock resource.")
    label: str | None = Field(default=None, description="What tells calls apart (a carrier).")
    start: Timestamp
    end: Timestamp | None = Field(default=None, description="None while it still runs.")
    outcome: Outcome
    attempt: int = 1
    detail: str | None = None


class Mark(ApiModel):
    """A moment: the start and end, a stage reached, an external event and who sent it."""

    kind: Literal["started", "stage", "event", "finished", "suspended", "resumed"]
    name: str
    time: Timestamp
    actor: str | None = None
    detail: str | None = None


class Timeline(ApiModel):
    """The history drawn from `start` to `end` (the last thing that happened)."""

    start: Timestamp | None = None
    end: Timestamp | None = None
    spans: list[Span] = Field(default_factory=list)
    marks: list[Mark] = Field(default_factory=list)


def decode(value: Any) -> Any:
    """A payload as data, whatever number of JSON encodings it arrived in."""
    for _ in range(3):
        if not isinstance(value, str):
            return value
        try:
            value = json.loads(value)
        except ValueError:
            return value
    return value


def call_input(kind: SpanKind, event: Event) -> Any:
    """A call's input as data. The status API shows what DurableTask stored: for an activity,
    the one-element parameters array around the input's JSON (TaskOrchestrationContext
    .ScheduleTaskInternal), e.g. `["{\"carrier\": \"GHOST\"}"]`."""
    value = decode(event.get("Input"))
    if kind == "activity" and isinstance(value, list) and len(value) == 1:
        return decode(value[0])
    return value


def label_of(payload: Any) -> str | None:
    """What distinguishes one call of a function from another: a carrier, a document, a task."""
    payload = decode(payload)
    if isinstance(payload, str) and len(payload) <= 64:
        return payload
    if not isinstance(payload, Mapping):
        return None
    for key in LABEL_KEYS:
        if isinstance(payload.get(key), str | int):
            return str(payload[key])
    nested = payload.get("task")
    return label_of(nested) if isinstance(nested, Mapping) else None


def actor_of(payload: Any) -> str | None:
    """Who sent an event: the `actor` the portal action recorded (a name or {"name": ...})."""
    payload = decode(payload)
    actor = payload.get("actor") if isinstance(payload, Mapping) else None
    if isinstance(actor, Mapping):
        actor = actor.get("name")
    return str(actor) if actor else None


def summary_of(payload: Any) -> str | None:
    """The plain fields of an event payload, short, for a tooltip (never the actor again)."""
    payload = decode(payload)
    if not isinstance(payload, Mapping):
        return None if payload is None else str(payload)[:200]
    parts = [
        f"{key}: {value}"
        for key, value in payload.items()
        if key != "actor" and isinstance(value, str | int | float | bool)
    ]
    return ", ".join(parts)[:200] or None


def build_timeline(events: Iterable[Mapping[str, Any]], running: bool) -> Timeline:
    """The timeline of one instance's history; `running` leaves unfinished things open."""
    builder = _Builder(running)
    for event in events:
        builder.add(event)
    return builder.finish()


class _Builder:
    def __init__(self, running: bool) -> None:
        self.running = running
        self.spans: list[Span] = []
        self.marks: list[Mark] = []
        self.times: list[datetime] = []
        self.timers: dict[str, list[tuple[datetime, str]]] = {}
        self.requests: dict[str, tuple[str, str, datetime]] = {}  # id -> (resource, op, sent)
        self.locks: dict[str, tuple[str, datetime, str | None]] = {}  # (waited|held, since, why)
        self.previous = ""
        self.failures_to_retry = 0
        self.handlers: dict[str, Callable[[Event, datetime], None]] = {
            "ExecutionStarted": self._execution_started,
            "ExecutionCompleted": self._execution_completed,
            "ExecutionTerminated": self._execution_terminated,
            "ExecutionSuspended": self._execution_suspended,
            "ExecutionResumed": self._execution_resumed,
            "TaskScheduled": self._task_scheduled,
            "TaskCompleted": self._task_completed,
            "TaskFailed": self._task_failed,
            "SubOrchestrationInstanceCreated": self._sub_orchestration_created,
            "SubOrchestrationInstanceCompleted": self._sub_orchestration_completed,
            "SubOrchestrationInstanceFailed": self._sub_orchestration_failed,
            "TimerCreated": self._timer_created,
            "TimerFired": self._timer_fired,
            "EventSent": self._event_sent,
            "EventRaised": self._event_raised,
        }

    def at(self, value: Any) -> datetime:
        moment = parse_time(value)
        self.times.append(moment)
        return moment

    def add(self, event: Mapping[str, Any]) -> None:
        kind = str(event.get("EventType"))
        handler = self.handlers.get(kind)
        if handler is not None:  # the others (episode bookkeeping) draw nothing
            handler(event, self.at(event["Timestamp"]))
        self.previous = kind

    # -- completions ---------------------------------------------------------------------------

    def _completion(
        self, kind: SpanKind, event: Mapping[str, Any], now: datetime, ok: bool
    ) -> None:
        name = str(event.get("FunctionName") or "?")
        payload = call_input(kind, event)
        if kind == "activity" and name == RECORD_STAGE_ACTIVITY:
            stage = label_of(payload) or "?"
            start = self.at(event.get("ScheduledTime") or event["Timestamp"])
            self.marks.append(Mark(kind="stage", name=stage, time=start))
            return
        self.spans.append(
            Span(
                kind=kind,
                name=name,
                label=label_of(payload),
                start=self.at(event.get("ScheduledTime") or event["Timestamp"]),
                end=now,
                outcome="completed" if ok else "failed",
                detail=None if ok else str(event.get("Reason") or "failed")[:300],
            )
        )

    def _task_completed(self, event: Event, now: datetime) -> None:
        self._completion("activity", event, now, ok=True)

    def _task_failed(self, event: Event, now: datetime) -> None:
        self.failures_to_retry += 1
        self._completion("activity", event, now, ok=False)

    def _sub_orchestration_completed(self, event: Event, now: datetime) -> None:
        self._completion("suborchestration", event, now, ok=True)

    def _sub_orchestration_failed(self, event: Event, now: datetime) -> None:
        self.failures_to_retry += 1
        self._completion("suborchestration", event, now, ok=False)

    def _pending(self, kind: SpanKind, event: Mapping[str, Any], now: datetime) -> None:
        name = str(event.get("Name") or "?")
        if name == RECORD_STAGE_ACTIVITY:
            return
        payload = call_input(kind, event)
        label = label_of(payload)
        outcome: Outcome = "running" if self.running else "cancelled"
        self.spans.append(Span(kind=kind, name=name, label=label, start=now, outcome=outcome))

    def _task_scheduled(self, event: Event, now: datetime) -> None:
        self._pending("activity", event, now)

    def _sub_orchestration_created(self, event: Event, now: datetime) -> None:
        self._pending("suborchestration", event, now)

    # -- timers --------------------------------------------------------------------------------

    def _timer_created(self, event: Event, now: datetime) -> None:
        # A retried call's failure is followed by exactly one delay timer; a refused lock by
        # one backoff timer; every other timer is the workflow's own (a deadline, a reminder).
        if self.failures_to_retry:
            self.failures_to_retry -= 1
            purpose = "retry delay"
        else:
            purpose = "lock backoff" if self.previous == "EventRaised" else "timer"
        self.timers.setdefault(str(event.get("FireAt")), []).append((now, purpose))

    def _timer_fired(self, event: Event, now: datetime) -> None:
        waiting = self.timers.get(str(event.get("FireAt"))) or []
        if waiting:
            start, purpose = waiting.pop(0)
            self.spans.append(
                Span(kind="timer", name=purpose, start=start, end=now, outcome="fired")
            )

    # -- events, entities ----------------------------------------------------------------------

    def _event_sent(self, event: Event, now: datetime) -> None:
        target = str(event.get("InstanceId") or "")
        request = decode(event.get("Input"))
        if target.startswith(LOCK_ENTITY_PREFIX) and isinstance(request, Mapping):
            resource = target[len(LOCK_ENTITY_PREFIX) :]
            self.requests[str(request.get("id"))] = (resource, str(request.get("op")), now)

    def _event_raised(self, event: Event, now: datetime) -> None:
        name = str(event.get("Name") or "")
        if name in self.requests:
            self._lock_reply(*self.requests.pop(name), decode(event.get("Input")), now)
            return
        payload = event.get("Input")
        self.marks.append(
            Mark(
                kind="event",
                name=name,
                time=now,
                actor=actor_of(payload),
                detail=summary_of(payload),
            )
        )

    def _lock_reply(
        self, resource: str, op: str, sent: datetime, reply: Any, now: datetime
    ) -> None:
        """Follow one lock: waited from the first refused acquire to the grant, then held until
        the release (or given up by a withdraw)."""
        result = decode(reply.get("result")) if isinstance(reply, Mapping) else None
        state, since, detail = self.locks.get(resource, ("", sent, None))
        if op == "acquire" and isinstance(result, Mapping):
            if result.get("granted") and state != "held":
                if state == "waited":
                    self._lock_span(resource, "waited", since, now, detail)
                self.locks[resource] = ("held", now, None)
            elif not result.get("granted") and state != "waited":
                detail = f"held by {result.get('holder')}; place {result.get('position')} in queue"
                self.locks[resource] = ("waited", sent, detail)
        elif op in ("release", "withdraw") and state:
            self._lock_span(resource, "held" if state == "held" else "gave_up", since, now, detail)
            self.locks.pop(resource, None)

    def _lock_span(
        self,
        resource: str,
        outcome: Outcome,
        start: datetime,
        end: datetime | None,
        detail: str | None,
    ) -> None:
        self.spans.append(
            Span(kind="lock", name=resource, start=start, end=end, outcome=outcome, detail=detail)
        )

    # -- the instance itself -------------------------------------------------------------------

    def _execution_started(self, event: Event, now: datetime) -> None:
        self.marks.append(Mark(kind="started", name="started", time=now))

    def _execution_completed(self, event: Event, now: datetime) -> None:
        status = str(event.get("OrchestrationStatus") or "Completed")
        self.marks.append(Mark(kind="finished", name=status, time=now))

    def _execution_terminated(self, event: Event, now: datetime) -> None:
        reason = decode(event.get("Input"))
        detail = None if reason is None else str(reason)[:200]
        self.marks.append(Mark(kind="finished", name="Terminated", time=now, detail=detail))

    def _execution_suspended(self, event: Event, now: datetime) -> None:
        self.marks.append(Mark(kind="suspended", name="Suspended", time=now))

    def _execution_resumed(self, event: Event, now: datetime) -> None:
        self.marks.append(Mark(kind="resumed", name="Resumed", time=now))

    def finish(self) -> Timeline:
        for fire_at, waiting in self.timers.items():
            for start, purpose in waiting:
                pending: Outcome = "running" if self.running else "cancelled"
                detail = f"fires at {fire_at}"
                self.spans.append(
                    Span(kind="timer", name=purpose, start=start, outcome=pending, detail=detail)
                )
        for resource, (state, since, why) in self.locks.items():
            held: Outcome = "held" if state == "held" else "waited"
            self._lock_span(resource, held, since, None if self.running else since, why)
        _mark_retries(self.spans)
        self.spans.sort(key=lambda span: (span.start, span.kind))
        self.marks.sort(key=lambda mark: mark.time)
        return Timeline(
            start=min(self.times, default=None),
            end=max(self.times, default=None),
            spans=self.spans,
            marks=self.marks,
        )


def _mark_retries(spans: list[Span]) -> None:
    """Number the attempts of each call (same function and label) and mark the failed attempts
    that were tried again as `retried` (the last failure of a call stays `failed`)."""
    calls: dict[tuple[str, str, str | None], list[int]] = {}
    for index, span in enumerate(spans):
        if span.kind in ("activity", "suborchestration"):
            calls.setdefault((span.kind, span.name, span.label), []).append(index)
    for indexes in calls.values():
        indexes.sort(key=lambda i: spans[i].start)
        attempt, after_failure = 0, False
        for position, index in enumerate(indexes):
            span = spans[index]
            attempt = attempt + 1 if after_failure else 1
            after_failure = span.outcome == "failed"
            followed = position + 1 < len(indexes)
            outcome = "retried" if after_failure and followed else span.outcome
            spans[index] = span.model_copy(update={"attempt": attempt, "outcome": outcome})
