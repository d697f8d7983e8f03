"""Invoke an activity function as the Python worker does: decode the input with the SDK's
converter, call the function (async on the loop, sync in a thread), encode what it returns.

A durable client input binding on an activity receives the same JSON an HTTP trigger's does:
the extension binds `DurableClientAttribute` on any function, whatever its trigger."""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import Executor

from azure.functions import meta
from azure.functions.durable_functions import ActivityTriggerConverter

from devhost import failures
from devhost.decisions import Outcome
from devhost.loader import ActivityFunction, InvocationContext

log = logging.getLogger("devhost")


async def invoke(
    function: ActivityFunction | None,
    name: str,
    input_json: str | None,
    pool: Executor,
    client_binding: str | None = None,
) -> Outcome:
    """Run one activity in the worker; failures come back as an Outcome, never raised.

    `client_binding` is the durableClient binding JSON, passed when the function declares one.
    """
    try:
        if function is None:
            raise LookupError(f"The activity function '{name}' is not in this app.")
        value = ActivityTriggerConverter.decode(
            meta.Datum(value=input_json or "null", type="json"), trigger_metadata=None
        )
        kwargs = {function.input_param: value}
        if function.context_param:
            kwargs[function.context_param] = InvocationContext.new(function.name)
        if function.client_param:
            kwargs[function.client_param] = client_binding
        if asyncio.iscoroutinefunction(function.handler):
            result = await function.handler(**kwargs)
        else:
            loop = asyncio.get_running_loop()
            result = await loop.run_in_executor(pool, lambda: function.handler(**kwargs))
        return Outcome(result=ActivityTriggerConverter.encode(result, expected_type=None).value)
    except Exception as error:
        log.warning("activity %s failed: %s", name, error)
        message = failures.worker_message(error)
        return Outcome(
            failure=failures.activity_failure(name, message, failures.python_stack(error))
        )
