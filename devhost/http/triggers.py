"""HTTP triggers in the host: route matching, and the request and response as they travel
to and from the worker process that runs the function (devhost/worker/http.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from aiohttp import web

from devhost.app.loader import HttpFunction
from devhost.http.routes import RouteTemplate, compile_route
from devhost.worker.messages import HttpCall, HttpReply


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

    def match(
        self, path: str, method: str
    ) -> tuple[HttpFunction, dict[str, str]] | Literal["missing", "method"]:
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

    @staticmethod
    async def call_for(request: web.Request, route_values: dict[str, str]) -> HttpCall:
        """What the worker needs to build the function's `func.HttpRequest`."""
        return HttpCall(
            method=request.method,
            url=str(request.url),
            headers=dict(request.headers),
            params=dict(request.query),
            route_params=route_values,
            body=await request.read(),
        )


def to_web(reply: HttpReply) -> web.Response:
    response = web.Response(status=reply.status, body=reply.body, headers=reply.headers)
    if reply.content_type is not None:
        response.headers["Content-Type"] = reply.content_type
    return response
