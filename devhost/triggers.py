"""HTTP triggers: route matching, `func.HttpRequest` in, `func.HttpResponse` out."""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from typing import Any

import azure.functions as func
from aiohttp import web

from devhost.loader import HttpFunction, InvocationContext
from devhost.routes import RouteTemplate, compile_route

log = logging.getLogger("devhost")


@dataclass(frozen=True)
class _Route:
    function: HttpFunction
    template: RouteTemplate


class HttpTriggers:
    """Finds the function for a path and runs it."""

    def __init__(self, functions: list[HttpFunction]) -> None:
        routes = [_Route(f, compile_route(f.route)) for f in functions]
        # Literal segments win over parameters, as in ASP.NET routing.
        self.routes = sorted(routes, key=lambda r: -r.template.literal_segments)

    def match(self, path: str, method: str) -> tuple[HttpFunction, dict[str, str]] | str:
        """The function and route values, or "missing" / "method" when nothing fits."""
        found_path = False
        for route in self.routes:
            values = route.template.match(path)
            if values is None:
                continue
            found_path = True
            methods = route.function.methods
            if methods is None or method in methods:
                return route.function, values
        return "method" if found_path else "missing"

    def allowed(self, path: str) -> list[str]:
        """The methods some function takes on `path` (for a 405's `Allow` header)."""
        methods = {
            method
            for route in self.routes
            if route.template.match(path) is not None
            for method in (route.function.methods or ())
        }
        return sorted(methods)

    async def invoke(
        self,
        function: HttpFunction,
        route_values: dict[str, str],
        request: web.Request,
        client_binding: str | None,
    ) -> web.Response:
        body = await request.read()
        http_request = func.HttpRequest(
            method=request.method,
            url=str(request.url),
            headers=dict(request.headers),
            params=dict(request.query),
            route_params=route_values,
            body=body,
        )
        kwargs: dict[str, Any] = {function.request_param: http_request}
        if function.client_param:
            kwargs[function.client_param] = client_binding
        if function.context_param:
            kwargs[function.context_param] = InvocationContext.new(function.name)
        handler = function.handler
        if asyncio.iscoroutinefunction(handler):
            result = await handler(**kwargs)
        else:
            result = await asyncio.get_running_loop().run_in_executor(
                None, lambda: handler(**kwargs)
            )
        return to_response(result)


def to_response(result: Any) -> web.Response:
    """Convert what a function returned, as the worker's `$return` http binding does."""
    if isinstance(result, func.HttpResponse):
        headers = {k: v for k, v in result.headers.items() if k.lower() != "content-type"}
        content_type = result.headers.get("content-type") or result.mimetype or "text/plain"
        if "charset" not in content_type and content_type.startswith(("text/", "application/")):
            content_type = f"{content_type}; charset={result.charset or 'utf-8'}"
        response = web.Response(status=result.status_code, body=result.get_body(), headers=headers)
        response.headers["Content-Type"] = content_type
        return response
    if result is None:
        return web.Response(status=204)
    if isinstance(result, bytes):
        return web.Response(status=200, body=result)
    if isinstance(result, str):
        return web.Response(status=200, text=result)
    return web.Response(status=200, text=json.dumps(result), content_type="application/json")
