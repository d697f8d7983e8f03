"""Run one orchestrator episode through the SDK's own replay engine and read what it decided.

The extension sends the worker a context JSON (history + input) and gets back an
`OrchestratorState`. devhost does the same, through `DurableOrchestrationContext.from_json`
and `Orchestrator.handle`, then reads the SDK's open tasks to learn the task id it gave
each new piece of work. Ids must match the SDK's own sequence numbers exactly (retry
timers and fire-and-forget signals interleave with ordinary tasks), and the SDK is the
only party that knows them, so asking it is more faithful than re-deriving them.
"""

from __future__ import annotations

import importlib
import itertools
import json
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from azure.durable_functions.models import DurableOrchestrationContext
from azure.durable_functions.models.actions.CallActivityAction import CallActivityAction
from azure.durable_functions.models.actions.CallActivityWithRetryAction import (
    CallActivityWithRetryAction,
)
from azure.durable_functions.models.actions.CallEntityAction import CallEntityAction
from azure.durable_functions.models.actions.CallHttpAction import CallHttpAction
from azure.durable_functions.models.actions.CallSubOrchestratorAction import (
    CallSubOrchestratorAction,
)
from azure.durable_functions.models.actions.CallSubOrchestratorWithRetryAction import (
    CallSubOrchestratorWithRetryAction,
)
from azure.durable_functions.models.actions.CompoundAction import CompoundAction
from azure.durable_functions.models.actions.ContinueAsNewAction import ContinueAsNewAction
from azure.durable_functions.models.actions.CreateTimerAction import CreateTimerAction
from azure.durable_functions.models.actions.NoOpAction import NoOpAction
from azure.durable_functions.models.actions.SignalEntityAction import SignalEntityAction
from azure.durable_functions.models.actions.WaitForExternalEventAction import (
    WaitForExternalEventAction,
)
from azure.durable_functions.models.history.HistoryEvent import HistoryEvent
from azure.durable_functions.models.TaskOrchestrationExecutor import TaskOrchestrationExecutor

from devhost.durable import failures
from devhost.durable.decisions import (
    CallEntity,
    CallHttp,
    CreateTimer,
    Decision,
    ScheduleActivity,
    SignalEntity,
    StartSubOrchestration,
    Work,
)
from devhost.durable.history import SCHEDULING_EVENTS, EventType
from devhost.durable.http_activity import scheduled_input

# The SDK ships no type information: its module's attributes are unknown to the checker.
history_event_module: Any = importlib.import_module(
    "azure.durable_functions.models.history.HistoryEvent"
)


def _parse_timestamp(
    text: str, _dateutil: Callable[[str], datetime] = history_event_module.dt_parse
) -> datetime:
    """Parse a history timestamp the fast way when it is in the host's own ISO format.

    The SDK parses every history event's timestamp with dateutil on every replay, which
    was most of the host's CPU time. devhost writes one fixed ISO-8601 format that
    `datetime.fromisoformat` reads many times faster; anything else still goes to dateutil.
    """
    try:
        return datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return _dateutil(text)


history_event_module.dt_parse = _parse_timestamp

OUT_OF_PROC_LABEL = "\n\n$OutOfProcData$:"
RETRY_TIMER = "-WithRetry timer"
CONTEXT_LIMITS = {
    "upperSchemaVersion": 1,
    "upperSchemaVersionNew": 2,
    "maximumShortTimerDuration": "6.00:00:00",
    "longRunningTimerIntervalDuration": "3.00:00:00",
}


class UnsupportedAction(Exception):
    """The orchestrator asked for something devhost does not implement."""


class ReplayHistory:
    """One instance's history, kept between episodes in the form replay reads it.

    The extension would send the whole history as JSON on every episode, and the SDK would
    parse every event again. Here each event is parsed into the SDK's `HistoryEvent` once,
    the first time an episode needs it, and the ids it scheduled are noted as it arrives, so
    the host's own work per episode grows with the new events only. (The SDK's replay itself
    still walks every event, as it does in Azure's Python worker.)
    """

    def __init__(self, events: list[dict[str, Any]] | None = None) -> None:
        self.events: list[dict[str, Any]] = []
        self.scheduled: set[int] = set()  # EventIds of scheduling events
        self.signals = 0  # EventSent events that were fire-and-forget signals
        self._played: list[HistoryEvent] = []
        self.extend(events or [])

    def extend(self, events: list[dict[str, Any]]) -> None:
        for event in events:
            if event["EventType"] in SCHEDULING_EVENTS:
                self.scheduled.add(event["EventId"])
            if event["EventType"] == EventType.EVENT_SENT and _is_signal(event):
                self.signals += 1
        self.events.extend(events)

    def played(self) -> list[HistoryEvent]:
        """The events as the SDK reads them, all marked as played."""
        for event in self.events[len(self._played) :]:
            self._played.append(HistoryEvent(**event, IsPlayed=True))
        return self._played


def _is_signal(event: dict[str, Any]) -> bool:
    return bool(json.loads(event["Input"]).get("signal"))


# The Durable SDK ships no type information, so the checker sees its class as Any.
class _EpisodeExecutor(TaskOrchestrationExecutor):  # type: ignore[misc]
    """The SDK's executor, made once per thread and reset for each episode.

    Its constructor defines a namedtuple class, which cost more than the replay of a short
    history; `initialize()` is the SDK's own reset between invocations. The state JSON it
    returns leaves the actions out: devhost reads them from the context's objects, and the
    cumulative list would otherwise be encoded and decoded again on every episode.
    """

    def get_orchestrator_state_str(self) -> str:
        context = self.context
        actions = context._action_payload_v1, context._action_payload_v2
        context._action_payload_v1, context._action_payload_v2 = [], []
        try:
            state: str = super().get_orchestrator_state_str()
            return state
        finally:
            context._action_payload_v1, context._action_payload_v2 = actions


_local = threading.local()


def _executor() -> _EpisodeExecutor:
    executor = getattr(_local, "executor", None)
    if executor is None:
        executor = _local.executor = _EpisodeExecutor()
    executor.initialize()
    return executor


def _context(
    instance_id: str,
    parent_id: str | None,
    input_json: str | None,
    past: ReplayHistory,
    new: list[dict[str, Any]],
) -> DurableOrchestrationContext:
    """The context the SDK builds from the extension's context JSON, built from parsed events.

    The constructor reads the first OrchestratorStarted (the starting time) and the
    ExecutionStarted (the version) from the history it is given; it gets just those two, and
    then the whole history already parsed.
    """
    unplayed = [HistoryEvent(**event, IsPlayed=False) for event in new]
    opening = [
        event
        for kind in (EventType.ORCHESTRATOR_STARTED, EventType.EXECUTION_STARTED)
        if (event := _first(kind, past, new)) is not None
    ]
    context = DurableOrchestrationContext(
        history=[{**event, "IsPlayed": True} for event in opening],
        instanceId=instance_id,
        isReplaying=bool(past.events),
        parentInstanceId=parent_id,
        input=context_input(input_json),
        **CONTEXT_LIMITS,
    )
    context._histories = past.played() + unplayed
    return context


def context_input(input_json: str | None) -> Any:
    """The `input` of the context JSON: the stored input parsed as a token
    (OrchestrationTriggerAttributeBindingProvider.OrchestrationContextToString,
    DurableOrchestrationContext.GetInputAsJson). The SDK turns an object back into JSON text
    and `get_input` decodes any string as JSON, so an object or a JSON string of JSON (what
    `start_new` posts, a sub-orchestration's input) reaches the orchestrator as its value,
    while a bare string, number or list makes `get_input` raise, as it does on Azure."""
    return None if input_json is None else json.loads(input_json)


def _first(
    kind: EventType, past: ReplayHistory, new: list[dict[str, Any]]
) -> dict[str, Any] | None:
    return next((e for e in itertools.chain(past.events, new) if e["EventType"] == kind), None)


def run_episode(
    handle: Any,
    instance_id: str,
    parent_id: str | None,
    input_json: str | None,
    past: ReplayHistory,
    new: list[dict[str, Any]],
) -> Decision:
    """Replay `past` and `new` events through the user's orchestrator, as one episode."""
    function = handle.orchestrator_function
    context = _context(instance_id, parent_id, input_json, past, new)
    context._input_expected_type = getattr(handle, "_df_input_type", None)
    decision = Decision()
    try:
        state = json.loads(_executor().execute(context, context.histories, function))
    except Exception as error:  # the SDK reports orchestrator failures by raising
        message, _, data = str(error).partition(OUT_OF_PROC_LABEL)
        state = json.loads(data) if data else {}
        # The state's `error` is what the extension reads (str(exception), or str(type) when
        # the message is empty).
        decision.failure = state.get("error") or message or type(error).__name__
        decision.failure_stack = failures.python_stack(error.__cause__ or error)
    if "customStatus" in state:
        decision.custom_status = json.dumps(state["customStatus"])
    if decision.failure is not None:
        return decision
    decision.done = bool(state.get("isDone"))
    decision.output = json.dumps(state["output"]) if "output" in state else None
    decision.continued = context.will_continue_as_new
    decision.actions = _actions_taken(context)
    try:
        decision.work = _new_work(context, past, new)
    except UnsupportedAction as action:
        decision.failure = f"devhost does not implement the orchestrator action {action}"
        return decision
    if decision.continued:
        decision.continue_as_new = _continue_as_new_input(context)
    return decision


def _flatten(actions: list[Any]) -> list[Any]:
    flat: list[Any] = []
    for action in actions:
        if isinstance(action, list):
            flat += _flatten(action)
        elif isinstance(action, CompoundAction):
            flat += _flatten(action.compound_tasks)
        else:
            flat.append(action)
    return flat


def _actions_taken(context: DurableOrchestrationContext) -> int:
    """The actions the extension counts against maxOrchestrationActions (each activity,
    sub-orchestration, timer, entity call or signal; not waits for events): the SDK's action
    list holds every action the code took since the execution began."""
    actions = _flatten(context._action_payload_v2 or context._action_payload_v1)
    return sum(isinstance(a, _COUNTED_ACTIONS) for a in actions)


def _open_tasks(context: DurableOrchestrationContext) -> list[Any]:
    tasks: list[Any] = []
    for value in context.open_tasks.values():
        tasks += value if isinstance(value, list) else [value]
    return tasks


def _new_work(
    context: DurableOrchestrationContext, past: ReplayHistory, new: list[dict[str, Any]]
) -> list[Work]:
    episode = ReplayHistory(new)
    scheduled = past.scheduled | episode.scheduled
    work: list[Work] = []
    task_ids: set[int] = set()
    for task in _open_tasks(context):
        if not isinstance(task.id, int) or task.id < 0:
            continue
        task_ids.add(task.id)
        if task.id not in scheduled:
            work.append(_work_for_task(task, context))
    actions = _flatten(context._action_payload_v2 or context._action_payload_v1)
    unsupported = [
        a
        for a in actions
        if not isinstance(a, (*_TASK_ACTIONS, SignalEntityAction, ContinueAsNewAction))
    ]
    if unsupported:
        raise UnsupportedAction(type(unsupported[0]).__name__)
    signals = [a for a in actions if isinstance(a, SignalEntityAction)]
    new_signals = signals[past.signals + episode.signals :]
    if new_signals:
        free_ids = sorted(set(range(context._sequence_number)) - scheduled - task_ids)
        for task_id, action in zip(free_ids, new_signals, strict=False):
            entity, operation = _text(action.instance_id), _text(action.operation)
            work.append(SignalEntity(task_id, entity, operation, action.input_))
    return sorted(work, key=lambda item: item.task_id)


_TASK_ACTIONS = (
    CallActivityAction,
    CallActivityWithRetryAction,
    CreateTimerAction,
    CallEntityAction,
    CallSubOrchestratorAction,
    CallSubOrchestratorWithRetryAction,
    WaitForExternalEventAction,
    CallHttpAction,
)


#: What DurableOrchestrationContext.IncrementActionsOrThrowException counts: every task action
#: but a wait for an event (call_http is an activity there, the built-in HTTP one), and signals.
_COUNTED_ACTIONS = (
    *(action for action in _TASK_ACTIONS if action is not WaitForExternalEventAction),
    SignalEntityAction,
)


def _work_for_task(task: Any, context: DurableOrchestrationContext) -> Work:
    action = task.action_repr[0] if isinstance(task.action_repr, list) else task.action_repr
    if isinstance(action, NoOpAction):
        retry = task.parent
        if action.metadata == RETRY_TIMER:
            delay = timedelta(milliseconds=retry.retry_options.first_retry_interval_in_milliseconds)
            return CreateTimer(task.id, context.current_utc_datetime + delay)
        action = retry.actions[0] if isinstance(retry.actions, list) else retry.actions
    if isinstance(action, (CallActivityAction, CallActivityWithRetryAction)):
        return ScheduleActivity(task.id, _text(action.function_name), action.input_)
    if isinstance(action, CreateTimerAction):
        return CreateTimer(task.id, action.fire_at)
    if isinstance(action, (CallSubOrchestratorAction, CallSubOrchestratorWithRetryAction)):
        return StartSubOrchestration(
            task.id,
            _text(action.function_name),
            _text(action.instance_id),
            reserialized(action._input),
            _text(action.version),
        )
    if isinstance(action, CallEntityAction):
        entity, operation = _text(action.instance_id), _text(action.operation)
        return CallEntity(task.id, entity, operation, action.input_)
    if isinstance(action, CallHttpAction):
        return CallHttp(task.id, scheduled_input(action.http_request.to_json()))
    raise UnsupportedAction(type(action).__name__)


Text = TypeVar("Text", str, None)


def _text(value: Text) -> Text:
    """Text as the SDK's JSON carries it to the host: an app's str subclass (an activity named
    by a StrEnum) becomes a plain str, so the host never imports the app's modules to read a
    decision, as the Functions host never runs Python."""
    return None if value is None else str.__str__(value)


def _continue_as_new_input(context: DurableOrchestrationContext) -> str | None:
    actions = _flatten(context._action_payload_v2 or context._action_payload_v1)
    for action in reversed(actions):
        if isinstance(action, ContinueAsNewAction):
            return reserialized(action.input_)
    return None


def reserialized(sdk_json: str | None) -> str | None:
    """The input DurableTask.Core stores for a sub-orchestration or a new generation.

    The SDK puts `df_dumps(input)` in the action, and the extension reads that JSON text as a
    plain string (OutOfProcOrchestrationShim.AsyncAction.Input, passed on by
    InvokeAPIFromAction); TaskOrchestrationContext.CreateSubOrchestrationInstanceCore and
    ContinueAsNewCore serialize it once more. So the instance's input is a JSON string of
    JSON, its status shows text, and `get_input` still decodes it to the value
    (`context_input`).
    """
    return None if sdk_json is None else json.dumps(sdk_json, ensure_ascii=False)
