"""Rebuild the history an orchestrator replays from the condensed one the Durable HTTP API shows.

`GET /runtime/webhooks/durabletask/instances/{id}?showHistory=true` does not hand out the
history the orchestrator replays. The extension condenses it first
(azure-functions-durable-extension, DurableClient.GetDurableOrchestrationStatusAsync,
TrackNameAndScheduledTime and AddScheduledEventDataAndAggregate): it drops OrchestratorStarted
and OrchestratorCompleted, so neither where an episode began nor the time it saw is left; it
drops every EventId, TaskScheduledId and TimerId, the sequence numbers that tie a step to its
answer; it folds an answered TaskScheduled or SubOrchestrationInstanceCreated into its answer
(FunctionName, ScheduledTime, Input) and drops it, with the child's instance id; it drops
ExecutionStarted's Version and ParentInstance; and it names event types as text. A Pending
instance gets no history at all. What is left: the events that woke the orchestrator, in order
(ExecutionStarted, answers, TimerFired, EventRaised, suspensions), the steps it kept (timers,
entity messages, calls still unanswered) in place, and for each answered call when it was
scheduled. DurableTask.Core stamps every event with the time it was made
(HistoryEvent's constructor, `Timestamp = DateTime.UtcNow`), and an episode's steps are made
one after another once the orchestrator has answered (TaskOrchestrationDispatcher).

From that this module rebuilds a history `devhost.tools.replaycheck.check` replays:

- Sequence numbers: steps are numbered in the order they were made, which is the order of
  their times; the kept ones keep their order. Where times tie (devhost's manual clock stamps a
  whole test with one moment), the code breaks the tie: of the steps that could come next, the
  one the code asks for takes the number it asks for it under.
- Episodes: each event that woke the orchestrator begins one (events that arrived together
  are read one at a time, which the replay cannot tell apart, unless a kept step shows they
  came together). A folded step is filed in the episode where the code asks for it; one the
  code never asks for, in the last episode before its answer.
- Time: an episode began no earlier than the events that woke it were made (a timer's: its
  FireAt) and no later than its first step. It is replayed at the earliest; moments in inputs
  are compared with the window's width as slack (devhost/tools/timejson.py).
- Version and parent: unknown. The caller says which versions to replay under.
- Inputs: without host.json's storeInputsInOrchestrationHistory history has no activity or
  sub-orchestration inputs, nor a called child's instance id: those compare by name alone.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from devhost.durable.clock import from_wire, to_wire
from devhost.durable.decisions import CallHttp, ScheduleActivity, StartSubOrchestration, Work
from devhost.durable.history import SCHEDULING_EVENTS, EventType, event_name
from devhost.tools.exports import Recorded
from devhost.tools.replaycheck import Divergence, check, same_step
from devhost.worker.replay import ReplayHistory, run_episode

NAMES = {event_name(kind): kind for kind in EventType}
#: Answers that carry the step they answer, folded in (ScheduledTime, FunctionName, Input).
FOLDED = {
    EventType.TASK_COMPLETED: EventType.TASK_SCHEDULED,
    EventType.TASK_FAILED: EventType.TASK_SCHEDULED,
    EventType.SUB_ORCHESTRATION_COMPLETED: EventType.SUB_ORCHESTRATION_CREATED,
    EventType.SUB_ORCHESTRATION_FAILED: EventType.SUB_ORCHESTRATION_CREATED,
}
#: Events that wake the orchestrator: each begins an episode.
WAKING = {
    EventType.EXECUTION_STARTED,
    *FOLDED,
    EventType.TIMER_FIRED,
    EventType.EVENT_RAISED,
    EventType.EXECUTION_SUSPENDED,
    EventType.EXECUTION_RESUMED,
    EventType.EXECUTION_TERMINATED,
    EventType.GENERIC,
}
#: What an episode records after its steps.
CLOSING = {EventType.EXECUTION_COMPLETED, EventType.CONTINUE_AS_NEW}
NEVER = datetime.min.replace(tzinfo=UTC)


class CondensedError(ValueError):
    """A history this module cannot read as the extension writes it."""


@dataclass(eq=False)
class Step:
    """A step history recorded: its scheduling event, when it was made, where it sits."""

    event: dict[str, Any]
    time: datetime
    kept_at: int | None  # its row, when the condensed history kept it
    answered_at: int | None = None  # the row that answers it
    unknown: tuple[str, ...] = ()  # fields the condensed history lost ("Input", "InstanceId")
    id: int | None = None  # its sequence number, once filed

    def order(self) -> tuple[datetime, float, float]:
        """Among steps made at the same moment, those answered first came first."""
        last = float("inf")
        return (
            self.time,
            last if self.answered_at is None else self.answered_at,
            last if self.kept_at is None else self.kept_at,
        )


@dataclass(eq=False)
class Row:
    """One event of the condensed history, in the form replay reads it."""

    event: dict[str, Any]
    kind: EventType
    earliest: datetime  # the earliest its episode can have begun, for a waking event
    step: Step | None = None  # a step the condensed history kept, in place
    answers: Step | None = None  # the step this row answers


@dataclass
class Episode:
    rows: list[Row]
    time: datetime
    steps: list[Step] = field(default_factory=list)
    closing: list[Row] = field(default_factory=list)

    def events(self) -> list[dict[str, Any]]:
        at = to_wire(self.time)
        return [
            {"EventType": int(EventType.ORCHESTRATOR_STARTED), "EventId": -1, "Timestamp": at},
            *(row.event for row in self.rows),
            *(step.event for step in self.steps),
            *(row.event for row in self.closing),
            {"EventType": int(EventType.ORCHESTRATOR_COMPLETED), "EventId": -1, "Timestamp": at},
        ]

    def width(self) -> timedelta:
        """How much later than `time` the episode may really have begun."""
        first = min((step.time for step in self.steps), default=self.time)
        return max(first - self.time, timedelta(0))


@dataclass(frozen=True)
class Rebuilt:
    recorded: Recorded
    slack: timedelta


def replay(
    orchestrators: Mapping[str, Any],
    instance_id: str,
    name: str,
    condensed: list[dict[str, Any]],
    version: str,
    source: str,
) -> Divergence | None:
    """Replay one instance's condensed history under `version`: its first divergence, or None."""
    handle = orchestrators.get(name)
    if handle is None:
        return check(orchestrators, Recorded(instance_id, name, [], source))
    rebuilt = rebuild(handle, instance_id, name, condensed, version, source)
    return check(orchestrators, rebuilt.recorded, rebuilt.slack)


def rebuild(
    handle: Any,
    instance_id: str,
    name: str,
    condensed: list[dict[str, Any]],
    version: str,
    source: str,
) -> Rebuilt:
    rows, steps = read(condensed, name, instance_id, version)
    return _Rebuild(handle, instance_id, rows, steps).run(name, source)


# -- reading the extension's rows ----------------------------------------------------------------


def read(
    condensed: Iterable[dict[str, Any]], name: str, instance_id: str, version: str
) -> tuple[list[Row], list[Step]]:
    """The rows in replay's form, and every step they show (kept or folded into an answer)."""
    rows: list[Row] = []
    steps: list[Step] = []
    for index, raw in enumerate(condensed):
        if not isinstance(raw, dict):
            raise CondensedError(f"history event {index} is not an object")
        kind = _kind(raw, index)
        at = _time(raw, "Timestamp", index)
        event: dict[str, Any] = {"EventType": int(kind), "EventId": -1, "Timestamp": to_wire(at)}
        row = Row(event, kind, at)
        if kind in SCHEDULING_EVENTS:
            fields, unknown = _step_fields(kind, raw, raw.get("Name"))
            event.update(fields)
            row.step = Step(event, at, kept_at=index, unknown=unknown)
            steps.append(row.step)
        elif kind in FOLDED:
            row.answers = _folded_step(kind, raw, index)
            steps.append(row.answers)
            event.update(_answer_fields(kind, raw))
        elif kind == EventType.EXECUTION_STARTED:
            event.update(
                Name=raw.get("FunctionName") or raw.get("Name") or name,
                Version=version,
                Input=raw.get("Input"),
                OrchestrationInstance={"InstanceId": instance_id, "ExecutionId": ""},
                ParentInstance=None,
            )
            if raw.get("ScheduledStartTime"):
                row.earliest = max(at, _time(raw, "ScheduledStartTime", index))
        elif kind == EventType.TIMER_FIRED:
            row.earliest = _time(raw, "FireAt", index)  # its Timestamp is when it was set
            event["FireAt"] = to_wire(row.earliest)
        else:
            for key in ("Name", "Input", "Reason", "Details", "OrchestrationStatus"):
                if key in raw:
                    event[key] = raw[key]
            if "Result" in raw:
                event["Result"] = _json_text(raw["Result"])
        rows.append(row)
    if not rows or rows[0].kind != EventType.EXECUTION_STARTED:
        raise CondensedError("the history does not begin with ExecutionStarted")
    _link_kept_answers(rows)
    return rows, steps


def _kind(raw: dict[str, Any], index: int) -> EventType:
    value = raw.get("EventType")
    try:
        return EventType(value) if isinstance(value, int) else NAMES[str(value)]
    except (KeyError, ValueError):
        raise CondensedError(f"history event {index} has an unknown EventType {value!r}") from None


def _time(raw: dict[str, Any], key: str, index: int) -> datetime:
    value = raw.get(key)
    try:
        return from_wire(str(value))
    except ValueError:
        raise CondensedError(f"history event {index} has no readable {key}: {value!r}") from None


def _step_fields(
    kind: EventType, raw: dict[str, Any], name: str | None
) -> tuple[dict[str, Any], tuple[str, ...]]:
    """A scheduling event's own fields, and those the condensed history does not hold."""
    if kind == EventType.TIMER_CREATED:
        return {"FireAt": to_wire(from_wire(str(raw.get("FireAt"))))}, ()
    if kind == EventType.EVENT_SENT:
        keys = ("Name", "InstanceId", "Input")
        return {key: raw.get(key) for key in keys}, ()
    text = raw.get("Input")
    fields = {
        "Name": name,
        "Input": _activity_input(text) if kind == EventType.TASK_SCHEDULED else text,
    }
    unknown: tuple[str, ...] = ("Input",) if text is None else ()
    if kind == EventType.SUB_ORCHESTRATION_CREATED:
        fields["InstanceId"] = raw.get("InstanceId")
        if raw.get("InstanceId") is None:
            unknown += ("InstanceId",)
    return fields, unknown


def _folded_step(kind: EventType, raw: dict[str, Any], index: int) -> Step:
    """The answered step folded into an answer (AddScheduledEventDataAndAggregate)."""
    if not raw.get("ScheduledTime") or not raw.get("FunctionName"):
        raise CondensedError(
            f"history event {index} ({event_name(kind)}) does not say which step it answers "
            "(no FunctionName and ScheduledTime)"
        )
    scheduled = _time(raw, "ScheduledTime", index)
    step_kind = FOLDED[kind]
    fields, unknown = _step_fields(step_kind, raw, raw["FunctionName"])
    if step_kind == EventType.SUB_ORCHESTRATION_CREATED:
        unknown = tuple(dict.fromkeys((*unknown, "InstanceId")))  # the child's id is gone
    event = {"EventType": int(step_kind), "EventId": -1, "Timestamp": to_wire(scheduled), **fields}
    return Step(event, scheduled, kept_at=None, answered_at=index, unknown=unknown)


def _answer_fields(kind: EventType, raw: dict[str, Any]) -> dict[str, Any]:
    if kind in (EventType.TASK_COMPLETED, EventType.SUB_ORCHESTRATION_COMPLETED):
        return {"TaskScheduledId": None, "Result": _json_text(raw.get("Result"))}
    return {"TaskScheduledId": None, "Reason": raw.get("Reason"), "Details": raw.get("Details")}


def _activity_input(text: str | None) -> str | None:
    """An activity's stored Input is DurableTask's parameters array around the SDK's JSON text
    (TaskOrchestrationContext.ScheduleTask); the step's input is that text."""
    if text is None:
        return None
    try:
        parameters = json.loads(text)
    except json.JSONDecodeError:
        return text
    if isinstance(parameters, list) and len(parameters) == 1 and isinstance(parameters[0], str):
        return str(parameters[0])
    return text


def _json_text(value: Any) -> str | None:
    """A Result as JSON text again: the extension shows it parsed (ConvertOutputToJToken)."""
    return None if value is None else json.dumps(value, ensure_ascii=False)


def _link_kept_answers(rows: list[Row]) -> None:
    """Kept timers to the TimerFired with their FireAt, entity calls to the EventRaised named
    by their request id: the rows that answer them."""
    fired = [i for i, row in enumerate(rows) if row.kind == EventType.TIMER_FIRED]
    raised = {
        row.event.get("Name"): i for i, row in enumerate(rows) if row.kind == EventType.EVENT_RAISED
    }
    for index, row in enumerate(rows):
        step = row.step
        if step is None:
            continue
        if row.kind == EventType.TIMER_CREATED:
            fire_at = from_wire(row.event["FireAt"])
            match = next((i for i in fired if i > index and rows[i].earliest == fire_at), None)
            if match is not None:
                fired.remove(match)
                step.answered_at = match
                rows[match].answers = step
        elif row.kind == EventType.EVENT_SENT:
            try:
                request = json.loads(row.event.get("Input") or "{}")
            except json.JSONDecodeError:
                continue
            answer = raised.get(request.get("id")) if isinstance(request, dict) else None
            if answer is not None and answer > index and not request.get("signal"):
                step.answered_at = answer


# -- filing the steps into episodes --------------------------------------------------------------


class _Rebuild:
    """Walks the rows as the episodes met them, asking the code what it schedules after each."""

    def __init__(self, handle: Any, instance_id: str, rows: list[Row], steps: list[Step]) -> None:
        self.handle = handle
        self.instance_id = instance_id
        self.rows = rows
        self.input = rows[0].event.get("Input")
        self.folded = sorted((s for s in steps if s.kept_at is None), key=Step.order)
        self.kept = [s for s in steps if s.kept_at is not None]
        self.filed: list[Step] = []
        self.episodes: list[Episode] = []
        self.past = ReplayHistory()
        self.history: list[dict[str, Any]] = []
        self.closed = 0  # episodes already in `history`

    def run(self, name: str, source: str) -> Rebuilt:
        position = 0
        while position < len(self.rows):
            row = self.rows[position]
            if row.step is not None:
                if row.step.id is None:  # history scheduled it here; the code did not ask
                    self._file_through(row.step)
                position += 1
            elif row.kind in CLOSING or row.kind not in WAKING:
                self._current().closing.append(row)
                position += 1
            else:
                if row.answers is not None and row.answers.id is None:
                    self._file_through(row.answers)  # answered, so asked for before now
                position = self._episode(position)
        for step in [*self.folded]:  # cannot happen: each folded step has an answer row
            self._file_through(step)
        self._close()
        slack = max((episode.width() for episode in self.episodes), default=timedelta(0))
        return Rebuilt(Recorded(self.instance_id, name, self.history, source), slack)

    def _current(self) -> Episode:
        """The episode being filed (`read` made sure the first row begins one)."""
        return self.episodes[-1]

    def _episode(self, position: int) -> int:
        """Begin an episode with the waking row at `position`; file what the code asks for."""
        self._close()
        first = self.rows[position]
        time = max(self.episodes[-1].time if self.episodes else NEVER, first.earliest)
        episode = Episode([first], time)
        self.episodes.append(episode)
        position += 1
        while True:
            new = Episode(episode.rows, episode.time).events()[:-1]
            decision = run_episode(self.handle, self.instance_id, None, self.input, self.past, new)
            asked = [] if decision.failure else sorted(decision.work, key=lambda w: w.task_id)
            filing, together_until = self._match(asked, episode, position)
            if together_until is None:
                break
            for row in self.rows[position:together_until]:  # they arrived in one batch
                episode.rows.append(row)
                episode.time = max(episode.time, row.earliest)
            position = together_until
        for step, event in filing:
            step.event = event
            self._file(step)
        return position

    def _match(
        self, asked: list[Work], episode: Episode, position: int
    ) -> tuple[list[tuple[Step, dict[str, Any]]], int | None]:
        """The steps the code's asks take, in order, with the lost fields filled in from the
        asks; or the row a batch must reach for a kept step the code asks for already."""
        filing: list[tuple[Step, dict[str, Any]]] = []
        taken: set[int] = set()
        end = self._steps_end(position)  # kept steps before `end` were made by this episode
        for work in asked:
            if work.task_id != len(self.filed) + len(filing):
                break
            candidates = self._candidates(taken)
            if not candidates:
                break  # past the end of history: new work
            match = self._find(work, candidates, episode)
            if match is None:  # another step than history's: file history's own there
                step, event = candidates[0], candidates[0].event
                if step.kept_at is not None and step.kept_at >= end:
                    break
            else:
                step, event = match
                if step.kept_at is not None and step.kept_at >= end:
                    if self._may_join(position, step.kept_at):
                        return [], step.kept_at
                    break
            filing.append((step, event))
            taken.add(id(step))
        return filing, None

    def _candidates(self, taken: set[int]) -> list[Step]:
        """The steps that may hold the next sequence number: the earliest made."""
        folded = [s for s in self.folded if id(s) not in taken]
        kept = next((s for s in self.kept if s.id is None and id(s) not in taken), None)
        times = [s.time for s in folded[:1]] + ([kept.time] if kept else [])
        if not times:
            return []
        first = min(times)
        tied = [s for s in folded if s.time == first]
        return sorted(tied + ([kept] if kept and kept.time == first else []), key=Step.order)

    def _find(
        self, work: Work, candidates: list[Step], episode: Episode
    ) -> tuple[Step, dict[str, Any]] | None:
        for step in candidates:
            event = _filled(step, work)
            slack = max(step.time - episode.time, self._width())
            if same_step(work, event, slack):
                return step, event
        return None

    def _steps_end(self, position: int) -> int:
        while position < len(self.rows) and self.rows[position].kind not in WAKING:
            position += 1
        return position

    def _may_join(self, position: int, until: int) -> bool:
        """Whether the rows before a kept step may have reached this episode together: waking
        rows only, none answering a step not filed yet."""
        return all(
            row.step is None
            and row.kind in WAKING
            and (row.answers is None or row.answers.id is not None)
            for row in self.rows[position:until]
        )

    def _width(self) -> timedelta:
        return max((episode.width() for episode in self.episodes), default=timedelta(0))

    def _file_through(self, step: Step) -> None:
        """File `step` in the current episode, after the folded steps made before it."""
        for earlier in [s for s in self.folded if s.time < step.time and s is not step]:
            self._file(earlier)
        if step.id is None:
            self._file(step)

    def _file(self, step: Step) -> None:
        step.id = len(self.filed)
        step.event = {**step.event, "EventId": step.id}
        self.filed.append(step)
        if step in self.folded:
            self.folded.remove(step)
        self._current().steps.append(step)
        if step.answered_at is not None:
            answer = self.rows[step.answered_at].event
            key = "TimerId" if answer["EventType"] == EventType.TIMER_FIRED else "TaskScheduledId"
            if answer["EventType"] != EventType.EVENT_RAISED:
                answer[key] = step.id

    def _close(self) -> None:
        """Put the last episode into the history the next one replays."""
        for episode in self.episodes[self.closed :]:
            events = episode.events()
            self.past.extend(events)
            self.history.extend(events)
        self.closed = len(self.episodes)


def _filled(step: Step, work: Work) -> dict[str, Any]:
    """The step's event with what the condensed history lost taken from the code's ask."""
    if not step.unknown:
        return step.event
    event = dict(step.event)
    if "Input" in step.unknown and isinstance(
        work, (ScheduleActivity, CallHttp, StartSubOrchestration)
    ):
        event["Input"] = work.input
    if "InstanceId" in step.unknown and isinstance(work, StartSubOrchestration):
        event["InstanceId"] = work.instance_id
    return event
