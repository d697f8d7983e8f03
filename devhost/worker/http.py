"""Run an HTTP-triggered function in the worker: `func.HttpRequest` in, and what it returns
converted as the Python worker's `$return` http binding converts it."""

from __future__ import annotations

import asyncio
from concurrent.futures import Executor
from datetime import UTC, datetime
from email.utils import format_datetime
from http.cookies import Morsel
from typing import Any
from urllib.parse import quote

import azure.functions as func
from azure.functions.http import HttpResponseConverter
from dateutil import parser

from devhost.app.loader import HttpFunction, InvocationContext
from devhost.worker.messages import HttpReply, HttpTrigger
from devhost.worker.string_returns import raw_result_headers, string_reply


async def invoke(function: HttpFunction, trigger: HttpTrigger, pool: Executor) -> HttpReply:
    """Call the function (async on the loop, sync in a thread); its exceptions propagate."""
    call = trigger.call
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
        kwargs[function.client_param] = trigger.client_binding
    if function.context_param:
        kwargs[function.context_param] = InvocationContext.new(function, trigger.invocation_id)
    handler = function.handler
    assert handler is not None
    if asyncio.iscoroutinefunction(handler):
        result = await handler(**kwargs)
    else:
        result = await asyncio.get_running_loop().run_in_executor(pool, lambda: handler(**kwargs))
    return reply_of(result)


def reply_of(result: Any) -> HttpReply:
    """Convert what a function returned as the worker's `$return` http binding does: only a
    `str` or a `func.HttpResponse` (azure.functions 1.26 HttpResponseConverter.encode); any
    other value fails the invocation with the TypeError python-worker 4.34 raises
    (bindings/meta.py get_datum), which the host answers with a 500."""
    try:
        datum = HttpResponseConverter.encode(result, expected_type=None)
    except NotImplementedError:
        raise TypeError(
            'unable to encode outgoing TypedData: unsupported type "http" for Python type '
            f'"{type(result).__name__}"'
        ) from None
    if datum.type == "string":
        return string_reply(result)  # read by the host's http binding, JSON and all
    fields = datum.value
    content_type, headers = raw_result_headers(
        (name, value.value) for name, value in fields["headers"].items()
    )
    if content_type is not None:
        headers.insert(0, ("Content-Type", content_type))
    for cookies in fields["cookies"] or ():
        headers.extend(("Set-Cookie", set_cookie(morsel)) for morsel in cookies.values())
    return HttpReply(int(fields["status_code"].value), headers, fields["body"].value)


def set_cookie(morsel: Morsel[str]) -> str:
    """One cookie as the host writes it: the worker sends each parsed cookie as an
    RpcHttpCookie (bindings/datumdef.py parse_to_rpc_http_cookie_list: domain and path always,
    empty when unset), the host appends it with CookieOptions (RpcHttpCookieConverter), and
    ASP.NET Core's SetCookieHeaderValue writes it, its value escaped by Uri.EscapeDataString:
    `foo=bar` comes out as `foo=bar; domain=; path=` (python-worker 4.34
    test_set_cookie_header_in_response_default_value)."""
    parts = [f"{morsel.key}={quote(morsel.value, safe='')}"]
    if morsel["expires"]:
        expires = parser.parse(morsel["expires"])  # the worker's parse; a bad date fails it
        moment = datetime.fromtimestamp(int(expires.timestamp()), UTC)
        parts.append(f"expires={format_datetime(moment, usegmt=True)}")
    if morsel["max-age"] != "":
        parts.append(f"max-age={int(float(morsel['max-age']))}")
    parts += [f"domain={morsel['domain']}", f"path={morsel['path']}"]
    if morsel["secure"]:
        parts.append("secure")
    same_site = str(morsel["samesite"]).lower()
    if same_site in ("strict", "lax", "none"):
        parts.append(f"samesite={same_site}")
    if morsel["httponly"]:
        parts.append("httponly")
    return "; ".join(parts)
