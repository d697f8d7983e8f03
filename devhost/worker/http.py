"""Run an HTTP-triggered function in the worker: `func.HttpRequest` in, and what it returns
converted as the Python worker's `$return` http binding converts it."""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import Executor
from typing import Any

import azure.functions as func

from devhost.app.loader import HttpFunction, InvocationContext
from devhost.worker.messages import HttpCall, HttpReply


async def invoke(
    function: HttpFunction, call: HttpCall, client_binding: str | None, pool: Executor
) -> HttpReply:
    """Call the function (async on the loop, sync in a thread); its exceptions propagate."""
    request = func.HttpRequest(
        method=call.method,
        url=call.url,
        headers=call.headers,
        params=call.params,
        route_params=call.route_params,
        body=call.body,
    )
    kwargs: dict[str, Any] = {function.request_param: request}
    if function.client_param:
        kwargs[function.client_param] = client_binding
    if function.context_param:
        kwargs[function.context_param] = InvocationContext.new(function)
    handler = function.handler
    assert handler is not None
    if asyncio.iscoroutinefunction(handler):
        result = await handler(**kwargs)
    else:
        result = await asyncio.get_running_loop().run_in_executor(pool, lambda: handler(**kwargs))
    return reply_of(result)


def reply_of(result: Any) -> HttpReply:
    """Convert what a function returned, as the worker's `$return` http binding does."""
    if isinstance(result, func.HttpResponse):
        headers = {k: v for k, v in result.headers.items() if k.lower() != "content-type"}
        content_type = result.headers.get("content-type") or result.mimetype or "text/plain"
        if "charset" not in content_type and content_type.startswith(("text/", "application/")):
            content_type = f"{content_type}; charset={result.charset or 'utf-8'}"
        return HttpReply(result.status_code, headers, result.get_body(), content_type)
    if result is None:
        return HttpReply(204, {}, b"", None)
    if isinstance(result, bytes):
        return HttpReply(200, {}, result, "application/octet-stream")
    if isinstance(result, str):
        return HttpReply(200, {}, result.encode(), "text/plain; charset=utf-8")
    return HttpReply(200, {}, json.dumps(result).encode(), "application/json; charset=utf-8")
