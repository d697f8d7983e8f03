"""The host's log line for each invocation, as `func start` prints them.

The WebJobs SDK logs `Executing 'Functions.<name>' (Reason='...', Id=<invocation id>)` when an
invocation starts and `Executed 'Functions.<name>' (Succeeded|Failed, Id=..., Duration=NNms)`
when it ends (azure-webjobs-sdk 2024-10-21, Loggers/FunctionInstanceLogger.cs), the second at
error level with the worker's exception when it failed: the host's RpcException text,
`Result: Failure` / `Exception: <Type>: <message>` (azure-functions-host 4.1036
Workers/Rpc/RpcException.cs; the Python worker's dispatcher._serialize_exception). The reason is
the host's for a call through its own API (HTTP triggers: FunctionStartedMessageExtensions
.FormatReason, ExecutionReason.HostCall), the timer binding's `Timer fired at ...`, and none
for the Durable triggers, whose bindings give no reason (logged as `(null)`). Runs off the
schedule add `Trigger Details: ...` (FunctionInstanceLogger.LogTemplatizedTriggerDetails).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable
from typing import Any, TypeVar

from devhost.durable.decisions import Decision, Outcome
from devhost.worker.messages import (
    Activity,
    EntityBatch,
    Episode,
    HttpTrigger,
    Request,
    TimerTrigger,
)

log = logging.getLogger("devhost")
A = TypeVar("A")
HOST_CALL = "This function was programmatically called via the host APIs."
NO_REASON = "(null)"  # how .NET's LoggerMessage writes a null reason


def described(request: Request[Any]) -> tuple[str, str, str | None]:
    """(function name, reason, trigger details) of an invocation."""
    if isinstance(request, HttpTrigger):
        return request.function, HOST_CALL, None
    if isinstance(request, TimerTrigger):
        return request.function, request.reason, request.details
    if isinstance(request, Episode):
        return request.orchestrator, NO_REASON, None
    if isinstance(request, Activity):
        return request.name, NO_REASON, None
    if isinstance(request, EntityBatch):
        return request.name, NO_REASON, None
    raise TypeError(f"not an invocation: {type(request).__name__}")


def failure_of(answer: object) -> str | None:
    """What the invocation raised, as the worker reports it, or None when it succeeded."""
    if isinstance(answer, str):  # an HTTP or timer trigger's exception text
        return answer
    if isinstance(answer, Decision):
        return answer.failure
    if isinstance(answer, Outcome) and answer.failure is not None:
        reason = answer.failure[0]  # "Activity function 'x' failed: <Type>: <message>"
        return reason.partition(" failed: ")[2].strip() or reason
    return None


async def logged(request: Request[A], answer: Awaitable[A]) -> A:
    """Await an invocation's answer between the host's two log lines; an episode the worker
    sends back for its whole history (None) is logged again when it is sent again."""
    name, reason, details = described(request)
    invocation_id = request.invocation_id
    log.info("Executing 'Functions.%s' (Reason='%s', Id=%s)", name, reason, invocation_id)
    if details:
        log.info("Trigger Details: %s", details)
    started = time.monotonic()
    try:
        result = await answer
    except Exception as error:  # the worker died, or devhost failed in it
        _executed(name, invocation_id, started, f"{type(error).__name__}: {error}")
        raise
    if not (isinstance(request, Episode) and result is None):
        _executed(name, invocation_id, started, failure_of(result))
    return result


def _executed(name: str, invocation_id: str, started: float, failure: str | None) -> None:
    duration = int((time.monotonic() - started) * 1000)
    status = "Failed" if failure is not None else "Succeeded"
    line = f"Executed 'Functions.{name}' ({status}, Id={invocation_id}, Duration={duration}ms)"
    if failure is None:
        log.info("%s", line)
    else:
        log.error("%s\nResult: Failure\nException: %s", line, failure)
