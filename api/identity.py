"""Who calls: the App Service Authentication principal, the roles it holds, the actor field.

In Azure, App Service Authentication ("Easy Auth") validates the caller's Entra ID token,
strips any `X-MS-CLIENT-PRINCIPAL*` header a client sent, and passes the token's claims in
`X-MS-CLIENT-PRINCIPAL` (base64 JSON: `auth_typ`, `claims[{typ, val}]`, `name_typ`,
`role_typ`). `principal` is the one place that header is read. devhost emulates the platform
with `--easyauth`.

    caller = authorize(req, "ClaimDecision")   # 401 not signed in, 403 lacking the role
    actor = acting(caller, body.actor)         # the caller, or locally the `actor` field

Where ACCEPT_ACTOR_FIELD is `true` (local use only; the Bicep sets `false`), a request
without a principal may name who acts in its body's `actor` field instead of signing in.

The routes are anonymous at the host: people and partner systems sign in with Entra ID and
never hold a function key. So that a disabled or misconfigured sign-in never opens the API,
`require_sign_in` (every route runs it, api/common.handle_errors) refuses in Azure any request
without the platform's principal, or without a role of this app, and every request at all when
App Service Authentication is off (`WEBSITE_AUTH_ENABLED`, which the platform sets, is not
`True`): with it off, a client could send its own principal header.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from typing import Any

import azure.functions as func
from pydantic import ValidationError

from api.problems import ProblemError
from domain.access import Actor, effective_roles, missing_roles
from domain.roles import Role
from domain.views import FieldError
from domain.workflows import roles_for

PRINCIPAL_HEADER = "X-MS-CLIENT-PRINCIPAL"
ACTOR_FIELD_SETTING = "ACCEPT_ACTOR_FIELD"
SITE_SETTING = "WEBSITE_SITE_NAME"
"""Set by App Service on every app it runs (every plan), never locally: the app is in Azure."""
AUTH_ENABLED_SETTING = "WEBSITE_AUTH_ENABLED"
"""Set to `True` by App Service while App Service Authentication is enabled on the app."""

NAME_CLAIMS = (
    "preferred_username",
    "name",
    "upn",
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn",
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
)
APPLICATION_NAME_CLAIMS = ("azp", "appid")
OBJECT_ID_CLAIMS = ("http://schemas.microsoft.com/identity/claims/objectidentifier", "oid")
# Entra ID sends app roles as `roles` claims, though role_typ names the long URI: take both.
ROLE_CLAIMS = ("roles", "http://schemas.microsoft.com/ws/2008/06/identity/claims/role")


def actor_field_accepted() -> bool:
    """Whether unauthenticated local use may name who acts in the body (ACCEPT_ACTOR_FIELD)."""
    return os.environ.get(ACTOR_FIELD_SETTING, "").strip().lower() == "true"


def in_azure() -> bool:
    """Whether App Service runs this app (it names the site in every app's environment)."""
    return bool(os.environ.get(SITE_SETTING, "").strip())


def require_sign_in(req: func.HttpRequest) -> Actor | None:
    """In Azure: the signed-in caller, or a refusal (503 sign-in is off, 401 nobody signed in,
    403 no role of this app). Locally: the caller if someone signed in, else None."""
    if not in_azure():
        return principal(req)
    if os.environ.get(AUTH_ENABLED_SETTING, "").strip().lower() != "true":
        raise ProblemError(
            503,
            "App Service Authentication is off on this app, and the app takes no request "
            "without it: enable it (docs/deploy.md, Sign-in and roles).",
        )
    caller = principal(req)
    if caller is None:
        raise ProblemError(401, "Sign in with your organisation's account to use this app.")
    if not effective_roles(caller):
        raise ProblemError(
            403,
            f"{caller.name} holds no role of this app; ask support to assign one "
            "(docs/operations.md, Who may do what).",
            required_roles=sorted(Role),
        )
    return caller


def principal(req: func.HttpRequest) -> Actor | None:
    """The signed-in caller from `X-MS-CLIENT-PRINCIPAL`, or None when there is none.

    A header that is not base64 JSON, names nobody, or holds an unusable name (too long, or
    the reserved `system`) is a 400 naming the header, never a 500.
    """
    header = req.headers.get(PRINCIPAL_HEADER)
    if not header:
        return None
    try:
        data = json.loads(base64.b64decode(header, validate=False))
    except (binascii.Error, ValueError, RecursionError):
        raise _bad_header("is not base64-encoded JSON") from None
    if not isinstance(data, dict) or not isinstance(data.get("claims", []), list):
        raise _bad_header("is not an App Service client principal")
    claims = _claims(data)
    application = "app" in claims.get("idtyp", [])
    name = _first(claims, [data.get("name_typ"), *NAME_CLAIMS])
    if name is None and application:
        name = _first(claims, APPLICATION_NAME_CLAIMS)
    if name is None:
        raise _bad_header("names no user or application")
    role_types = dict.fromkeys([*ROLE_CLAIMS, data.get("role_typ")])
    roles = [role for typ in role_types if typ for role in claims.get(typ, [])]
    try:
        return Actor(
            name=name,
            object_id=_first(claims, OBJECT_ID_CLAIMS) or req.headers.get(f"{PRINCIPAL_HEADER}-ID"),
            roles=list(dict.fromkeys(roles)),
            identity_provider=str(data.get("auth_typ") or "") or None,
            kind="application" if application else "user",
            source="principal",
        )
    except ValidationError as error:
        detail = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
        raise _bad_header(f"holds an unusable identity ({detail})") from None


def authorize(
    req: func.HttpRequest, action: str, roles: frozenset[Role] | None = None
) -> Actor | None:
    """The caller if it may take `action` (a portal event, or another action needing `roles`):
    401 when nobody signed in, 403 without the role.

    None only where the actor field is accepted and nobody signed in: `acting` then takes
    who acts from the body. Nothing about the instance is looked at before this passes.
    """
    caller = principal(req)
    required = roles_for(action) if roles is None else roles
    needed = sorted(required)
    if caller is None:
        if actor_field_accepted():
            return None
        raise ProblemError(
            401,
            f"Sign in to take this action ({action}); it needs one of the roles "
            f"{', '.join(needed)}.",
            required_roles=needed,
        )
    if missing_roles(caller, required):
        held = ", ".join(caller.roles) or "no roles"
        raise ProblemError(
            403,
            f"{caller.name} ({caller.kind}) holds {held}; {action} needs one of the roles "
            f"{', '.join(needed)}.",
            required_roles=needed,
        )
    return caller


def acting(caller: Actor | None, body_actor: str | None) -> Actor:
    """Who acts: the signed-in caller, or, where allowed, the body's `actor` field."""
    if caller is not None:
        if body_actor is not None and not actor_field_accepted():
            raise ProblemError(
                400,
                "Who acts comes from sign-in; remove the `actor` field.",
                errors=[FieldError(field="actor", message="not accepted here")],
            )
        return caller
    if body_actor is None:
        raise ProblemError(
            400,
            "Say who acts: sign in, or (local use only) send an `actor` field.",
            errors=[FieldError(field="actor", message="Field required")],
        )
    return Actor(name=body_actor, source="body")


def _claims(data: dict[str, Any]) -> dict[str, list[str]]:
    """Claim values by type, in order; values that are not strings are ignored."""
    found: dict[str, list[str]] = {}
    for claim in data.get("claims") or []:
        if isinstance(claim, dict) and isinstance(claim.get("val"), str) and claim["val"]:
            found.setdefault(str(claim.get("typ")), []).append(claim["val"])
    return found


def _first(claims: dict[str, list[str]], types: Any) -> str | None:
    return next((claims[typ][0] for typ in types if typ and claims.get(typ)), None)


def _bad_header(what: str) -> ProblemError:
    return ProblemError(
        400,
        f"The {PRINCIPAL_HEADER} header {what}.",
        errors=[FieldError(field=PRINCIPAL_HEADER, message=what)],
    )
