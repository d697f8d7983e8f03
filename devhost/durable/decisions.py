"""What app code answers the host: an episode's Decision and the work it asks for, and an
activity's Outcome. Plain data, so the host reads them without importing the SDK, and they
travel from the worker processes as they are."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from devhost.durable.http_activity import HTTP_ACTIVITY


@dataclass(frozen=True)
class ScheduleActivity:
    task_id: int
    name: str
    input: str | None


@dataclass(frozen=True)
class CreateTimer:
    task_id: int
    fire_at: datetime


@dataclass(frozen=True)
class StartSubOrchestration:
    task_id: int
    name: str
    instance_id: str | None
    input: str | None
    version: str | None = None  # None: the host's defaultVersion


@dataclass(frozen=True)
class CallEntity:
    task_id: int
    entity_id: str
    operation: str
    input: str | None


@dataclass(frozen=True)
class SignalEntity:
    task_id: int
    entity_id: str
    operation: str
    input: str | None


@dataclass(frozen=True)
class CallHttp:
    """`context.call_http`: the extension's built-in HTTP activity, which the host runs
    itself. `input` is the request as TaskScheduled stores it (durable/http_activity.py)."""

    task_id: int
    input: str

    @property
    def name(self) -> str:
        return HTTP_ACTIVITY


Work = ScheduleActivity | CreateTimer | StartSubOrchestration | CallEntity | SignalEntity | CallHttp


@dataclass
class Decision:
    """What one episode decided: new work, and whether the orchestration finished."""

    work: list[Work] = field(default_factory=list)
    done: bool = False
    output: str | None = None  # JSON text
    failure: str | None = None
    failure_stack: str = ""
    custom_status: str | None = None  # JSON text
    continue_as_new: str | None = None  # JSON text of the next input, when continuing
    continued: bool = False
    actions: int = 0  # the actions the code took in this execution so far, this episode's too


@dataclass(frozen=True)
class Outcome:
    """What an activity returned (JSON text), or how it failed (reason, details)."""

    result: str | None = None
    failure: tuple[str, str] | None = None
