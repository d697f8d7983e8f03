"""HTTP triggers in the host: route matching, and the request and response as they travel
to and from the worker process that runs the function (devhost/worker/http.py)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import unquote

from aiohttp import web

from devhost.app.config import ConfigError
from devhost.app.loader import HttpFunction
from devhost.http.routes import RouteTemplate, compile_route
from devhost.worker.messages import HttpCall, HttpReply

_ENCODED_SLASH = re.compile("(%2[Ff])")


@dataclass(frozen=True)
class _Route:
    function: HttpFunction
    template: RouteTemplate


class HttpTriggers:
    """Finds the function for a path and runs it."""

    def __init__(self, functions: list[HttpFunction], route_prefix: str = "") -> None:
        """Routes in function-name order, ignoring case: the order FunctionMetadataManager
        sorts the functions in (OrderBy Name, StringComparer.OrdinalIgnoreCase, which
        compares upper-cased), and the order WebScriptHostHttpRoutesManager maps them into
        WebJobsRouteBuilder, whose Build() adds them to a RouteCollection unsorted
        (azure-functions-host 4.1036, azure-webjobs-sdk-extensions http-v3.2.0). The prefix
        joins each template as BuildRouteTemplate joins it."""
        prefix = route_prefix.strip("/")
        self.routes = [
            _Route(f, _compiled(f, prefix)) for f in sorted(functions, key=lambda f: f.name.upper())
        ]

    def match(self, path: str, method: str) -> tuple[HttpFunction, dict[str, str]] | None:
        """The first route whose template and methods fit, as RouteCollection.RouteAsync tries
        its routes in order until one takes the request. The methods are a route constraint
        there (HttpMethodRouteConstraint), so a method no route allows finds nothing: 404."""
        for route in self.routes:
            methods = route.function.methods
            if methods is not None and method.upper() not in methods:
                continue
            values = route.template.match(path)
            if values is not None:
                return route.function, values
        return None

    @staticmethod
    def path_of(request: web.Request) -> str:
        """The path routing sees: Kestrel decodes the request path except `%2F`, which stays
        as sent, so a route value may hold `a%2Fb` but never splits there."""
        raw = request.raw_path.split("?", 1)[0]
        return "".join(
            piece if _ENCODED_SLASH.fullmatch(piece) else unquote(piece)
            for piece in _ENCODED_SLASH.split(raw)
        )

    @staticmethod
    async def call_for(request: web.Request, route_values: dict[str, str]) -> HttpCall:
        """What the worker needs to build the function's `func.HttpRequest`, as the host's
        ToRpcHttp (GrpcMessageConversionExtensions.cs) fills RpcHttp for the Python worker:
        header names lower-cased and repeated ones joined with ","; query keys ignoring case,
        repeated values joined with "," and empty values left out; a body only when the
        request says Content-Length > 0 (a chunked body is not read)."""
        query = _joined(request.query.items())
        length = request.content_length
        return HttpCall(
            method=request.method,
            url=f"{request.scheme}://{request.host}{request.raw_path}",
            headers=_joined((name.lower(), value) for name, value in request.headers.items()),
            params={key: value for key, value in query.items() if value},
            route_params=route_values,
            body=await request.read() if length else b"",
        )


def _compiled(function: HttpFunction, prefix: str) -> RouteTemplate:
    try:
        return compile_route(f"{prefix}/{function.route}" if prefix else function.route)
    except ConfigError as problem:
        raise ConfigError(f"function {function.name}: {problem}") from None


def _joined(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Repeated names' values joined with ",", as StringValues.ToString() joins them; names
    compared ignoring case (the host's header and query collections do), the first spelling
    kept."""
    joined: dict[str, str] = {}
    spelling: dict[str, str] = {}
    for name, value in pairs:
        key = spelling.setdefault(name.lower(), name)
        joined[key] = f"{joined[key]},{value}" if key in joined else value
    return joined


def to_web(reply: HttpReply) -> web.Response:
    """The reply as the host writes it: the headers the worker sent, in order."""
    response = web.Response(status=reply.status, body=reply.body)
    response.headers.clear()
    for name, value in reply.headers:
        response.headers.add(name, value)
    return response
