"""Invoke an activity function as the Python worker does: decode the input with the SDK's
converter, call the function (async on the loop, sync in a thread), encode what it returns.

A durable client input binding on an activity receives the same JSON an HTTP trigger's does:
the extension binds `DurableClientAttribute` on any function, whatever its trigger."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from azure.functions import meta
from azure.functions.durable_functions import ActivityTriggerConverter

from devhost.app.loader import ActivityFunction, InvocationContext
from devhost.durable import failures
from devhost.durable.decisions import Outcome
from devhost.worker.messages import Activity

log = logging.getLogger("devhost")


def is_async(function: ActivityFunction) -> bool:
    return asyncio.iscoroutinefunction(function.handler)


def invoke_sync(function: ActivityFunction | None, request: Activity) -> Outcome:
    """Run a synchronous activity here, in the calling (pool) thread; failures come back as
    an Outcome, never raised."""
    name = request.name
    try:
        kwargs = _arguments(function, request)
        assert function is not None
        assert function.handler is not None, "the worker's index keeps the code"
        return _returned(function.handler(**kwargs))
    except Exception as error:
        return _failed(name, error)


async def invoke(function: ActivityFunction | None, request: Activity) -> Outcome:
    """Run an async activity on the worker's loop, as invoke_sync runs a synchronous one."""
    name = request.name
    try:
        kwargs = _arguments(function, request)
        assert function is not None
        assert function.handler is not None, "the worker's index keeps the code"
        return _returned(await function.handler(**kwargs))
    except Exception as error:
        return _failed(name, error)


def _arguments(function: ActivityFunction | None, request: Activity) -> dict[str, Any]:
    """The function's keyword arguments, decoded with the SDK's converter; a durableClient
    input gets the request's binding JSON."""
    if function is None:
        raise LookupError(f"The activity function '{request.name}' is not in this app.")
    value = ActivityTriggerConverter.decode(
        meta.Datum(value=request.input or "null", type="json"), trigger_metadata=None
    )
    kwargs: dict[str, Any] = {function.input_param: value}
    if function.context_param:
        kwargs[function.context_param] = InvocationContext.new(function, request.invocation_id)
    if function.client_param:
        kwargs[function.client_param] = request.client_binding
    return kwargs


def _returned(result: Any) -> Outcome:
    return Outcome(result=ActivityTriggerConverter.encode(result, expected_type=None).value)


def _failed(name: str, error: Exception) -> Outcome:
    log.warning("activity %s failed: %s", name, error)
    message = failures.worker_message(error)
    return Outcome(failure=failures.activity_failure(name, message, failures.python_stack(error)))
