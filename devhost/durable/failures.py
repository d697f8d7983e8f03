"""Failure texts worded as the Azure host words them, so code that reads an error's message sees
locally what it will see in Azure.

An activity failure travels: the Python worker reports `f"{type(exc).__name__}: {exc}"` with its
traceback (azure_functions_worker/dispatcher.py `_serialize_exception`); the host wraps both in
an RpcException whose message is `"Result: Failure\\nException: {message}\\nStack: {stack}"`;
TaskActivityShim.RunAsync cuts the text after `"\\nException:"` (keeping the space that follows
it) and fails the task with `"Activity function '{name}' failed: {that}"`, the cause serialized
as a .NET exception in Details (DurableTask.Core Utils.SerializeCause).
"""

from __future__ import annotations

import json
import traceback
from typing import Any

RPC_EXCEPTION = "Microsoft.Azure.WebJobs.Script.Workers.Rpc.RpcException"


def worker_message(error: BaseException) -> str:
    """The message the Python worker reports for an exception."""
    return f"{type(error).__name__}: {error}"


def python_stack(error: BaseException) -> str:
    """The frames the worker reports (utils/tracing.py `marshall_exception_trace`)."""
    return "".join(traceback.extract_tb(error.__traceback__).format())


def _dotnet_exception(
    class_name: str,
    message: str,
    inner: dict[str, Any] | None = None,
    assembly: str = "System.Private.CoreLib",
) -> dict[str, Any]:
    return {
        "$type": f"{class_name}, {assembly}",
        "ClassName": class_name,
        "Message": message,
        "Data": None,
        "InnerException": inner,
        "StackTraceString": None,
    }


def activity_failure(name: str, message: str, stack: str) -> tuple[str, str]:
    """(Reason, Details) of the TaskFailed event for an activity whose code raised."""
    friendly = f" {message}"
    rpc = _dotnet_exception(RPC_EXCEPTION, f"Result: Failure\nException: {message}\nStack: {stack}")
    details = json.dumps(_dotnet_exception("System.Exception", friendly, rpc))
    return f"Activity function '{name}' failed: {friendly}", details


def host_failure(name: str, message: str) -> tuple[str, str]:
    """(Reason, Details) of a TaskFailed the host itself raised (a timeout): no RpcException
    text to cut, so the message is used as it is."""
    details = json.dumps(
        _dotnet_exception("Microsoft.Azure.WebJobs.Host.FunctionTimeoutException", message)
    )
    return f"Activity function '{name}' failed: {message}", details


def http_request_failure(
    message: str, inner_class: str, inner_assembly: str, inner_message: str
) -> tuple[str, str]:
    """(Reason, Details) of the TaskFailureException TaskHttpActivityShim throws for an
    HttpRequestException: its message, and the exception with its cause serialized
    (Utils.SerializeCause)."""
    inner = _dotnet_exception(inner_class, inner_message, assembly=inner_assembly)
    error = _dotnet_exception(
        "System.Net.Http.HttpRequestException", message, inner, assembly="System.Net.Http"
    )
    return message, json.dumps(error)


def unhandled_task_failure(class_name: str, message: str) -> tuple[str, str]:
    """(Reason, Details) DurableTask's TaskActivityDispatcher records for an exception that
    escapes an activity without being a TaskFailureException: its message, and
    `"Unhandled exception while executing task: " + e.ToString()` (here without .NET frames)."""
    return message, f"Unhandled exception while executing task: {class_name}: {message}"


def timed_out(function_name: str, seconds: float) -> str:
    """The message of the FunctionTimeoutException FunctionExecutor throws."""
    return (
        f"Timeout value of {timespan(seconds)} was exceeded by function: Functions.{function_name}"
    )


def timespan(seconds: float) -> str:
    """A .NET TimeSpan's default text: [d.]hh:mm:ss[.fffffff]."""
    ticks = round(seconds * 10_000_000)
    days, ticks = divmod(ticks, 864_000_000_000)
    hours, ticks = divmod(ticks, 36_000_000_000)
    minutes, ticks = divmod(ticks, 600_000_000)
    whole, fraction = divmod(ticks, 10_000_000)
    text = f"{hours:02d}:{minutes:02d}:{whole:02d}" + (f".{fraction:07d}" if fraction else "")
    return f"{days}.{text}" if days else text


def orchestrator_failure(name: str, error: str, stack: str = "") -> tuple[str, str]:
    """(Result, Details) of a failed orchestration (OutOfProcOrchestrationShim
    .ScheduleDurableTaskEvents and TaskOrchestrationShim.InvokeUserCodeAndHandleResults)."""
    return (
        f"Orchestrator function '{name}' failed: {error}",
        f"Message: {error}, StackTrace: {stack}",
    )
