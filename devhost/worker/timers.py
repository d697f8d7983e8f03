"""Run a timer-triggered function in the worker with the TimerInfo the host binds."""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import Executor
from typing import Any

from azure.functions import meta
from azure.functions.timer import TimerRequestConverter

from devhost.app.loader import InvocationContext, TimerFunction
from devhost.worker.messages import TimerTrigger

log = logging.getLogger("devhost")


async def invoke(function: TimerFunction, trigger: TimerTrigger, pool: Executor) -> str | None:
    """Run one timer trigger; a failure is logged and its text returned, as the Python worker
    reports `Type: message` (dispatcher._serialize_exception); the schedule goes on."""
    try:
        timer = TimerRequestConverter.decode(
            meta.Datum(value=trigger.info, type="json"), trigger_metadata=None
        )
        kwargs: dict[str, Any] = {function.timer_param: timer}
        if function.client_param:
            kwargs[function.client_param] = trigger.client_binding
        if function.context_param:
            kwargs[function.context_param] = InvocationContext.new(function, trigger.invocation_id)
        handler = function.handler
        assert handler is not None, "the worker's index keeps the code"
        if asyncio.iscoroutinefunction(handler):
            await handler(**kwargs)
        else:
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(pool, lambda: handler(**kwargs))
    except Exception as error:
        log.exception("timer trigger %s failed", function.name)
        return f"{type(error).__name__}: {error}"
    return None
