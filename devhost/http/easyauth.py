"""App Service Authentication ("Easy Auth") with Microsoft Entra ID, as devhost emulates it.

`python -m devhost start --easyauth` puts what the platform does in front of the app and of the
Functions host (the function-key check of `--require-keys` runs after it, as the host's does
behind the platform's module):

- Every `X-MS-CLIENT-PRINCIPAL*` and `X-MS-TOKEN-*` header a client sends is dropped; only the
  platform sets them, so an app may trust them.
- Authentication is required, answering as Azure does with `unauthenticatedClientAction`
  Return401 (`401`, `WWW-Authenticate: Bearer realm="<host>"`, the text "You do not have
  permission to view this directory or page."), on every path the platform does not exclude:
  the app's routes, the Durable HTTP API (`/runtime/webhooks/durabletask/*`) and any other path.
  Not gated: `/.auth/*` (the module's own endpoints), `/admin/*` (the platform lets the
  Functions host's admin API through; the host wants the master key there), the paths listed
  with `--easyauth-anonymous` (Azure's `globalValidation.excludedPaths`: a path, or `/dir/*` for
  everything below it), and devhost's own `/devhost/*` control endpoints, which have no Azure
  counterpart and stay reachable for tests (with `--require-keys` they want the master key).
- A request is signed in by the `AppServiceAuthSession` cookie, by the session token in
  `X-ZUMO-AUTH`, or by a bearer token in `Authorization: Bearer <token>`, as in Azure, where the
  bearer token is an Entra ID access token (`az account get-access-token --resource
  api://<client id>`). A signed-in request gets the headers Azure sets: `X-MS-CLIENT-PRINCIPAL`
  (base64 JSON with `auth_typ`, `claims[{typ, val}]`, `name_typ`, `role_typ`; roles as `roles`
  claims, as Entra ID sends them), `X-MS-CLIENT-PRINCIPAL-NAME`, `-ID` and `-IDP`.
- `GET /.auth/login/aad` is a local sign-in page (like the Static Web Apps CLI's emulator): a
  developer types a name, picks roles, and may sign in as an application (a carrier's system
  using client credentials). Posting it sets the cookie and redirects to
  `post_login_redirect_uri` (a path on this host); `/.auth/logout` ends the session.
- `POST /devhost/token` stands in for `az account get-access-token`: given
  `{"name": ..., "roles": [...], "application": false, "objectId": optional}` it answers
  `{"accessToken": ..., "tokenType": "Bearer"}`, a token for that principal which the edge
  takes in `Authorization: Bearer ...` exactly as it takes the sign-in page's cookie. From a
  shell: `python -m devhost token --as NAME --roles R1,R2 [--app]` prints one.
- `GET /.auth/me` answers the signed-in principal's claims (401 when nobody is signed in) only
  with `--easyauth-token-store`, Azure's `login.tokenStore.enabled`; without it (the default,
  as in this project's Bicep) it answers 404, as App Service does with the token store off.
- The app's worker processes get `WEBSITE_AUTH_ENABLED=True` in their environment, which App
  Service injects while Authentication is enabled (`APP_SETTINGS`).

Sessions and tokens are HMAC-signed with a key made at start: neither can be forged, and
restarting devhost signs everyone out. Nothing about the person is verified.
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
from aiohttp.typedefs import Handler
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
TOKEN_STORE_OFF = (
    "devhost: /.auth/me answers only with the token store on (--easyauth-token-store, "
    "Azure's login.tokenStore.enabled); the app sees who signed in from X-MS-CLIENT-PRINCIPAL."
)
MAX_NAME = 256
MAX_ROLES = 50
UNGATED_PREFIXES = ("/.auth/", "/admin/", "/devhost/")
"""Paths the module never gates: its own endpoints, the Functions host's admin API (which
Azure's platform lets through to the host's master-key check) and devhost's own endpoints."""
TOKEN_PATH = "/devhost/token"
APP_SETTINGS = {"WEBSITE_AUTH_ENABLED": "True"}
"""What App Service puts in the app's environment while Authentication is enabled."""


@dataclass(frozen=True)
class Session:
    """Who signed in on the local page, or holds a token from `/devhost/token`."""

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

    def __init__(self, anonymous_paths: Iterable[str] = (), token_store: bool = False) -> None:
        self.anonymous = {path.rstrip("/") or "/" for path in anonymous_paths}
        self.token_store = token_store
        self.key = secrets.token_bytes(32)

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/.auth/login/aad", self.login_page),
            web.post("/.auth/login/aad", self.login),
            web.get("/.auth/login/done", self.done),
            web.get("/.auth/me", self.me),
            web.get("/.auth/logout", self.logout),
            web.get("/.auth/logout/complete", self.done),
            web.post(TOKEN_PATH, self.issue_token),
        ]

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
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
            return unauthorized(request)
        return await handler(request.clone(headers=headers))

    def requires_sign_in(self, path: str) -> bool:
        """Every path needs a session but the ungated prefixes and the excluded paths (exact,
        or `/dir/*` for everything below `/dir`)."""
        if path.startswith(UNGATED_PREFIXES) or path in ("/admin", "/devhost"):
            return False
        path = path.rstrip("/") or "/"
        return not any(
            path.startswith(pattern[:-1]) if pattern.endswith("/*") else path == pattern
            for pattern in self.anonymous
        )

    # -- sessions ----------------------------------------------------------------------------

    def token(self, session: Session) -> str:
        """The signed session token: the cookie's value, and the bearer token devhost issues."""
        data = json.dumps([session.name, session.object_id, session.roles, session.application])
        body = base64.urlsafe_b64encode(data.encode()).decode().rstrip("=")
        return f"{body}.{self._sign(body)}"

    def session(self, request: web.Request) -> Session | None:
        """The session a valid cookie, X-ZUMO-AUTH header or bearer token carries, else None.

        App Service Authentication takes a bearer token in `Authorization` as well as its
        session cookie and X-ZUMO-AUTH session token; devhost's bearer token (`/devhost/token`)
        is its own signed session token.
        """
        scheme, _, bearer = (request.headers.get("Authorization") or "").partition(" ")
        candidates = (
            request.cookies.get(COOKIE),
            request.headers.get(SESSION_HEADER),
            bearer.strip() if scheme.lower() == "bearer" else None,
        )
        for token in candidates:
            if token and (session := self._verified(token)) is not None:
                return session
        return None

    def _verified(self, token: str) -> Session | None:
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
        roles = str(form.get("roles", "")).splitlines()
        session = _principal(
            form.get("name"), roles, form.get("objectId"), form.get("application") == "on"
        )
        target = _local_path(str(form.get("post_login_redirect_uri", ""))) or "/.auth/login/done"
        response = web.HTTPFound(target)
        response.set_cookie(COOKIE, self.token(session), httponly=True, samesite="Lax", path="/")
        return response

    async def issue_token(self, request: web.Request) -> web.Response:
        """`POST /devhost/token`: a bearer token for a principal, the local stand-in for
        `az account get-access-token --resource api://<client id>`."""
        try:
            body = await request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or not isinstance(body.get("roles", []), list):
            raise web.HTTPBadRequest(
                reason='Body must be JSON like {"name": "ada@contoso.com", "roles": ["R1"], '
                '"application": false}.'
            )
        session = _principal(
            body.get("name"),
            [str(role) for role in body.get("roles", [])],
            body.get("objectId"),
            body.get("application") is True,
        )
        return web.json_response({"accessToken": self.token(session), "tokenType": "Bearer"})

    async def me(self, request: web.Request) -> web.Response:
        """The principal's claims with the token store on; 404 with it off, as in Azure."""
        if not self.token_store:
            return web.Response(status=404, text=TOKEN_STORE_OFF)
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


def unauthorized(request: web.Request) -> web.Response:
    """App Service Authentication's answer, with unauthenticatedClientAction Return401, to a
    request without a valid session or token."""
    return web.Response(
        status=401,
        text=UNAUTHORIZED,
        headers={"WWW-Authenticate": f'Bearer realm="{request.host}"'},
    )


def _principal(name: Any, roles: Iterable[str], object_id: Any, application: bool) -> Session:
    """A session for the sign-in page's or the token endpoint's fields; 400 when they do not
    make one."""
    name = str(name or "").strip()
    unique = tuple(dict.fromkeys(role.strip() for role in roles if role.strip()))
    if not name or len(name) > MAX_NAME or len(unique) > MAX_ROLES:
        raise web.HTTPBadRequest(
            reason=f"Give a name of 1-{MAX_NAME} characters and at most {MAX_ROLES} roles."
        )
    object_id = str(object_id or "").strip() or str(
        uuid.uuid5(uuid.NAMESPACE_URL, f"devhost-easyauth:{name}")
    )
    return Session(name, object_id, unique, application)


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
