"""App Service Authentication ("Easy Auth") with Microsoft Entra ID, as devhost emulates it.

`python -m devhost start --easyauth` puts what the platform does in front of the app:

- Every `X-MS-CLIENT-PRINCIPAL*` and `X-MS-TOKEN-*` header a client sends is dropped; only the
  platform sets them, so an app may trust them.
- `GET /.auth/login/aad` is a local sign-in page (like the Static Web Apps CLI's emulator):
  a developer types a name, picks roles, and may sign in as an application (a carrier's
  system using client credentials). Posting it sets the `AppServiceAuthSession` cookie and
  redirects to `post_login_redirect_uri` (a path on this host). `GET /.auth/me` answers the
  signed-in principal's claims (401 when nobody is signed in); `/.auth/logout` ends the session.
- A request with a valid session gets the headers Azure sets: `X-MS-CLIENT-PRINCIPAL` (base64
  JSON with `auth_typ`, `claims[{typ, val}]`, `name_typ`, `role_typ`; roles as `roles`
  claims, as Entra ID sends them), `X-MS-CLIENT-PRINCIPAL-NAME`, `-ID` and `-IDP`.
- Authentication is required, answering 401 as Azure does with `unauthenticatedClientAction`
  Return401, for the app's HTTP routes (under the route prefix) except the paths listed with
  `--easyauth-anonymous` (Azure's `globalValidation.excludedPaths`: a path, or `/dir/*` for
  everything below it).

Sessions are signed with a key made at start: a cookie cannot be forged, and restarting devhost
signs everyone out. devhost's own endpoints (admin, clock, Durable HTTP API) are not gated.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import html
import json
import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from multidict import CIMultiDict

COOKIE = "AppServiceAuthSession"
SESSION_HEADER = "X-ZUMO-AUTH"
PRINCIPAL = "X-MS-CLIENT-PRINCIPAL"
STRIPPED_PREFIXES = ("x-ms-client-principal", "x-ms-token-")
IDENTITY_PROVIDER = "aad"
NAME_TYPE = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name"
ROLE_TYPE = "http://schemas.microsoft.com/ws/2008/06/identity/claims/role"
OBJECT_ID_TYPE = "http://schemas.microsoft.com/identity/claims/objectidentifier"
UNAUTHORIZED = "You do not have permission to view this directory or page."
MAX_NAME = 256
MAX_ROLES = 50


@dataclass(frozen=True)
class Session:
    """Who signed in on the local page."""

    name: str
    object_id: str
    roles: tuple[str, ...]
    application: bool

    def claims(self) -> list[dict[str, str]]:
        """The principal's claims, typed as App Service passes an Entra ID token's claims."""
        found = [
            {"typ": NAME_TYPE, "val": self.name},
            {"typ": OBJECT_ID_TYPE, "val": self.object_id},
        ]
        if self.application:
            found += [{"typ": "azp", "val": self.name}, {"typ": "idtyp", "val": "app"}]
        else:
            found.append({"typ": "preferred_username", "val": self.name})
        return found + [{"typ": "roles", "val": role} for role in self.roles]

    def headers(self) -> dict[str, str]:
        principal = {
            "auth_typ": IDENTITY_PROVIDER,
            "claims": self.claims(),
            "name_typ": NAME_TYPE,
            "role_typ": ROLE_TYPE,
        }
        encoded = base64.b64encode(json.dumps(principal).encode()).decode()
        return {
            PRINCIPAL: encoded,
            f"{PRINCIPAL}-NAME": self.name,
            f"{PRINCIPAL}-ID": self.object_id,
            f"{PRINCIPAL}-IDP": IDENTITY_PROVIDER,
        }


class EasyAuth:
    """The emulation: a middleware and the `/.auth/*` routes for devhost's public app."""

    def __init__(self, route_prefix: str, anonymous_paths: Iterable[str] = ()) -> None:
        self.prefix = f"/{route_prefix}/" if route_prefix else "/"
        self.anonymous = {path.rstrip("/") or "/" for path in anonymous_paths}
        self.key = secrets.token_bytes(32)

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/.auth/login/aad", self.login_page),
            web.post("/.auth/login/aad", self.login),
            web.get("/.auth/login/done", self.done),
            web.get("/.auth/me", self.me),
            web.get("/.auth/logout", self.logout),
            web.get("/.auth/logout/complete", self.done),
        ]

    @web.middleware
    async def middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        """Drop client-sent identity headers, inject the session's, require sign-in."""
        headers = CIMultiDict(
            (name, value)
            for name, value in request.headers.items()
            if not name.lower().startswith(STRIPPED_PREFIXES)
        )
        session = self.session(request)
        if session is not None:
            headers.update(session.headers())
        elif self.requires_sign_in(request.path):
            return web.Response(
                status=401,
                text=UNAUTHORIZED,
                headers={"WWW-Authenticate": f'Bearer realm="{request.host}"'},
            )
        return await handler(request.clone(headers=headers))

    def requires_sign_in(self, path: str) -> bool:
        """App routes need a session, except excluded paths: exact, or `/dir/*` for all below."""
        if not (path + "/").startswith(self.prefix) or path.startswith("/.auth/"):
            return False
        path = path.rstrip("/") or "/"
        return not any(
            path.startswith(pattern[:-1]) if pattern.endswith("/*") else path == pattern
            for pattern in self.anonymous
        )

    # -- sessions ----------------------------------------------------------------------------

    def token(self, session: Session) -> str:
        data = json.dumps([session.name, session.object_id, session.roles, session.application])
        body = base64.urlsafe_b64encode(data.encode()).decode().rstrip("=")
        return f"{body}.{self._sign(body)}"

    def session(self, request: web.Request) -> Session | None:
        """The session a valid cookie, X-ZUMO-AUTH header or bearer token carries, else None.

        App Service Authentication takes a bearer token in `Authorization` as well as its
        session cookie; devhost's bearer token is its own session token.
        """
        scheme, _, bearer = (request.headers.get("Authorization") or "").partition(" ")
        if scheme.lower() != "bearer":
            bearer = ""
        token = request.cookies.get(COOKIE) or request.headers.get(SESSION_HEADER) or bearer
        body, _, signature = token.partition(".")
        if not body or not hmac.compare_digest(signature, self._sign(body)):
            return None
        try:
            decoded = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
            name, object_id, roles, application = json.loads(decoded)
        except (binascii.Error, ValueError, TypeError):
            return None
        return Session(name, object_id, tuple(roles), bool(application))

    def _sign(self, body: str) -> str:
        return hmac.new(self.key, body.encode(), hashlib.sha256).hexdigest()

    # -- handlers ----------------------------------------------------------------------------

    async def login_page(self, request: web.Request) -> web.Response:
        target = html.escape(_local_path(request.query.get("post_login_redirect_uri")), quote=True)
        return web.Response(text=LOGIN_PAGE.format(target=target), content_type="text/html")

    async def login(self, request: web.Request) -> web.Response:
        form = await request.post()
        name = str(form.get("name", "")).strip()
        roles = tuple(
            dict.fromkeys(
                role.strip() for role in str(form.get("roles", "")).splitlines() if role.strip()
            )
        )
        if not name or len(name) > MAX_NAME or len(roles) > MAX_ROLES:
            raise web.HTTPBadRequest(
                reason=f"Give a name of 1-{MAX_NAME} characters and at most {MAX_ROLES} roles."
            )
        object_id = str(form.get("objectId", "")).strip() or str(
            uuid.uuid5(uuid.NAMESPACE_URL, f"devhost-easyauth:{name}")
        )
        session = Session(name, object_id, roles, form.get("application") == "on")
        target = _local_path(str(form.get("post_login_redirect_uri", ""))) or "/.auth/login/done"
        response = web.HTTPFound(target)
        response.set_cookie(COOKIE, self.token(session), httponly=True, samesite="Lax", path="/")
        return response

    async def me(self, request: web.Request) -> web.Response:
        session = self.session(request)
        if session is None:
            return web.Response(status=401, text=UNAUTHORIZED)
        return web.json_response(
            [
                {
                    "provider_name": IDENTITY_PROVIDER,
                    "user_id": session.name,
                    "user_claims": session.claims(),
                }
            ]
        )

    async def logout(self, request: web.Request) -> web.Response:
        target = _local_path(request.query.get("post_logout_redirect_uri"))
        response = web.HTTPFound(target or "/.auth/logout/complete")
        response.del_cookie(COOKIE, path="/")
        return response

    async def done(self, request: web.Request) -> web.Response:
        text = "signed in" if request.path.startswith("/.auth/login") else "signed out"
        return web.Response(text=f"devhost: {text}.", content_type="text/plain")


def _local_path(value: str | None) -> str:
    """A redirect target on this host only (no open redirects): a path, else ''."""
    if value and value.startswith("/") and not value.startswith("//"):
        return value
    return ""


LOGIN_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in (devhost)</title>
<style>body{{font:16px system-ui;max-width:32rem;margin:3rem auto}}label{{display:block;
margin:.8rem 0 .2rem}}input[type=text],textarea{{width:100%;box-sizing:border-box}}</style>
</head><body>
<h1>Sign in</h1>
<p>devhost emulates App Service Authentication with Microsoft Entra ID. Nothing is checked:
whoever you type is who the app sees.</p>
<form method="post" action="/.auth/login/aad">
<label for="name">Name (user principal name, or an application's client id)</label>
<input type="text" id="name" name="name" required maxlength="256" autofocus>
<label for="objectId">Object id (optional; derived from the name when empty)</label>
<input type="text" id="objectId" name="objectId">
<label for="roles">App roles, one per line</label>
<textarea id="roles" name="roles" rows="5"></textarea>
<label><input type="checkbox" name="application"> Sign in as an application
(client credentials)</label>
<input type="hidden" name="post_login_redirect_uri" value="{target}">
<p><button type="submit">Sign in</button></p>
</form></body></html>
"""
