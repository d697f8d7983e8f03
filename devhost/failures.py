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

RPC_EXCEPTION = "Microsoft.Azure.WebJobs.Script.Workers.Rpc.RpcException"


def worker_message(error: BaseException) -> str:
    """The message the Python worker reports for an exception."""
    return f"{type(error).__name__}: {error}"


def python_stack(error: BaseException) -> str:
    """The frames the worker reports (utils/tracing.py `marshall_exception_trace`)."""
    return "".join(traceback.extract_tb(error.__traceback__).format())


def _dotnet_exception(class_name: str, message: str, inner: dict | None = None) -> dict:
    return {
        "$type": f"{class_name}, System.Private.CoreLib",
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


def orchestrator_failure(name: str, error: str, stack: str = "") -> tuple[str, str]:
    """(Result, Details) of a failed orchestration (OutOfProcOrchestrationShim
    .ScheduleDurableTaskEvents and TaskOrchestrationShim.InvokeUserCodeAndHandleResults)."""
    return (
        f"Orchestrator function '{name}' failed: {error}",
        f"Message: {error}, StackTrace: {stack}",
    )
