"""`GET /api/console`: the operations console, served by the app from the files in console/.

The console is plain HTML, CSS and JavaScript modules (no build step, nothing from a CDN) that
talk only to this app's JSON API, so it works offline and in locked-down tenants. The page, its
scripts and its style sheet are served without sign-in (the Bicep lists them in App Service
Authentication's excludedPaths): they are the same code for everyone, holding no data and no
secret, and the page sends a browser to sign in when the API asks who it is (`GET /api/me`).
Every call that returns data needs the signed-in caller.

Every answer carries a Content-Security-Policy that allows scripts, styles and requests from
this origin only, and no inline script: whatever an instance contains cannot run in the page.
"""

from __future__ import annotations

from pathlib import Path

import azure.durable_functions as df
import azure.functions as func

from api import openapi
from api.common import ProblemError, handle_errors
from domain.views import Problem

bp = df.Blueprint()

CONSOLE_DIR = Path(__file__).resolve().parent.parent / "console"
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
_TYPES = {".js": "text/javascript", ".css": "text/css", ".html": "text/html"}


def console_file(name: str) -> func.HttpResponse:
    """One file of console/ with the console's security headers; 404 for anything else."""
    path = CONSOLE_DIR / name
    if name.startswith(".") or "/" in name or path.suffix not in _TYPES or not path.is_file():
        raise ProblemError(404, f"The console has no file {name!r}.")
    return func.HttpResponse(
        path.read_bytes(),
        status_code=200,
        mimetype=_TYPES[path.suffix],
        charset="utf-8",
        headers={
            "Content-Security-Policy": CONTENT_SECURITY_POLICY,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            "Cache-Control": "no-cache",
        },
    )


@bp.route(route="console", methods=["GET"])
@handle_errors(signed_in=False)
async def console_page(req: func.HttpRequest) -> func.HttpResponse:
    """The console's single page (its views are chosen by the URL's #fragment)."""
    return console_file("index.html")


@bp.route(route="console/assets/{name}", methods=["GET"])
@handle_errors(signed_in=False)
async def console_asset(req: func.HttpRequest) -> func.HttpResponse:
    """A script or style sheet of the page."""
    return console_file(req.route_params.get("name", ""))


openapi.operation(
    "GET",
    "/console",
    "The operations console (HTML page)",
    tag="console",
    responses={200: None},
    content_type="text/html",
)
openapi.operation(
    "GET",
    "/console/assets/{name}",
    "A script or style sheet of the console (no key needed: code only, no data)",
    tag="console",
    responses={200: None, 404: Problem},
    content_type="text/javascript",
    anonymous=True,
)
