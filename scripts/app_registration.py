"""The Entra ID app registration of one environment, as code: create or update it, assign roles.

    python scripts/app_registration.py ENV [--host HOST] [--dry-run]
    python scripts/app_registration.py assign ENV ROLE PRINCIPAL [--dry-run]
    python scripts/app_registration.py remove ENV ROLE PRINCIPAL [--dry-run]
    python scripts/app_registration.py list ENV

The first form creates the registration `workflows-<ENV>` or, when one by that display name
exists, updates it to what `registration()` below declares, the one place it is written down:

- the app roles of domain/roles.py, each `value` what the `roles` claim carries, ids derived
  from the value (updating keeps them, and every assignment made to them);
- `identifierUris: ["api://<appId>"]`, version 2 access tokens (the issuer the Bicep expects),
  sign-in audience AzureADMyOrg, ID tokens for the browser sign-in (App Service Authentication
  without a client secret), the `idtyp` optional claim that tells an application from a person;
- one delegated scope, `user_impersonation`, with Azure CLI pre-authorized for it, so
  `az account get-access-token --resource api://<appId>` works without a consent prompt
  (without a scope it fails with AADSTS65001 / AADSTS650057);
- with --host, the sign-in callback `https://<HOST>/.auth/login/aad/callback` (added to the
  redirect URIs already there);

then creates the service principal if missing and sets `appRoleAssignmentRequired: true` on it:
Entra ID then issues a token for the API only to a user, group member or application that holds
one of its app roles. It prints the appId (what the Bicep reads from AUTH_CLIENT_ID) and says
what it did on stderr. Run it again at any time: it converges, and keeps role and scope ids.

`assign` gives PRINCIPAL the app role ROLE, `remove` takes it away, `list` prints who holds
which role. PRINCIPAL is a user principal name (grace@contoso.com), an application's client id
(a carrier's system, a deploying identity), or the object id of a user, group or service
principal. Assigning twice, or removing a role not held, changes nothing.

--dry-run still reads (to know whether to create or update) but sends no change: it prints each
request it would send, as JSON with `method`, `url` and `body`, on stdout.

Everything goes to Microsoft Graph v1.0 through `az rest` (signed in with `az login`); no other
dependency than the standard library and domain/roles.py. Shapes, from Microsoft Graph v1.0:

- application: https://learn.microsoft.com/graph/api/resources/application (appRoles,
  identifierUris, signInAudience, web, optionalClaims); create with POST /applications
  (application-post-applications), update with PATCH /applications/{id} (application-update).
- api: https://learn.microsoft.com/graph/api/resources/apiapplication (oauth2PermissionScopes,
  preAuthorizedApplications, requestedAccessTokenVersion); permissionScope:
  https://learn.microsoft.com/graph/api/resources/permissionscope (a scope or role must be
  disabled before it can be removed, so ones this script does not declare are kept);
  preAuthorizedApplication: https://learn.microsoft.com/graph/api/resources/preauthorizedapplication
  (v1.0 names the field `delegatedPermissionIds`; beta's `permissionIds`). Graph refuses a
  pre-authorization of a scope created in the same request
  (github.com/microsoftgraph/microsoft-graph-docs-contrib/issues/1395), hence a second PATCH
  when the scope is new.
- servicePrincipal: https://learn.microsoft.com/graph/api/resources/serviceprincipal
  (appRoleAssignmentRequired: "whether users or other service principals need to be granted an
  app role assignment for this service principal before users can sign in or apps can get
  tokens"); create with POST /servicePrincipals {appId}.
- appRoleAssignment: https://learn.microsoft.com/graph/api/resources/approleassignment; create
  with POST /servicePrincipals/{id}/appRoleAssignedTo {principalId, resourceId, appRoleId}
  (serviceprincipal-post-approleassignedto), list with GET on the same URL, remove with DELETE
  /servicePrincipals/{id}/appRoleAssignedTo/{assignment id}. The default role id
  00000000-0000-0000-0000-000000000000 is for apps that declare no roles, so every principal
  that needs a token gets one of the roles above.

Exit codes: 0 done, 1 Azure CLI or Graph refused (its message on stderr), 2 wrong arguments.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from domain.roles import APPLICATION_ONLY, ROLE_DESCRIPTIONS, Role

GRAPH = "https://graph.microsoft.com/v1.0"
AZURE_CLI = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"
"""Azure CLI's client id (the same in every tenant): pre-authorized for the scope."""
SCOPE = "user_impersonation"
SIGN_IN_AUDIENCE = "AzureADMyOrg"
OPTIONAL_CLAIMS = {"accessToken": [{"name": "idtyp"}], "idToken": [{"name": "idtyp"}]}
ALSO_APPLICATIONS = frozenset({Role.CLAIMS_SUPERVISOR, Role.READER})
"""Roles an application may hold as well as a person: the dev deployment's smoke test decides
its claim with the deploying application's own token, and production's read-only check reads
with it."""

ENVIRONMENT = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
GUID = re.compile(r"^[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
FRESH_OBJECT = ("Request_ResourceNotFound", "does not reference a valid application object")
"""What Graph says about an object created moments ago that has not reached every replica."""
FRESH_RETRIES = 6
FRESH_DELAY_SECONDS = 10.0


class Failure(Exception):
    """Azure CLI or Graph refused; the message says what and how to go on."""


class Usage(Exception):
    """The arguments name something that cannot be (exit 2)."""


def stable_id(kind: str, value: str) -> str:
    """The id of an app role or scope, derived from its value: the same on every run."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"urn:workflows:{kind}:{value}"))


def display_name(env: str) -> str:
    return f"workflows-{env}"


def member_types(role: Role) -> list[str]:
    if role in APPLICATION_ONLY:
        return ["Application"]
    return ["User", "Application"] if role in ALSO_APPLICATIONS else ["User"]


def app_roles() -> list[dict[str, Any]]:
    """The `appRoles` of the app registration: every role of domain/roles.py."""
    return [
        {
            "id": stable_id("app-role", role.value),
            "allowedMemberTypes": member_types(role),
            "description": ROLE_DESCRIPTIONS[role],
            "displayName": role.value,
            "isEnabled": True,
            "value": role.value,
        }
        for role in Role
    ]


def permission_scopes(env: str) -> list[dict[str, Any]]:
    """The delegated scope a client (Azure CLI, a portal) asks for on behalf of a person."""
    name = display_name(env)
    return [
        {
            "id": stable_id("scope", SCOPE),
            "value": SCOPE,
            "type": "User",
            "isEnabled": True,
            "adminConsentDisplayName": f"Call {name} as the signed-in user",
            "adminConsentDescription": (
                f"Lets the application call the {name} API (claims, shipments, maintenance "
                "orders) as the signed-in user, with that user's app roles."
            ),
            "userConsentDisplayName": f"Call {name} as you",
            "userConsentDescription": (
                f"Lets the application call the {name} API as you, with your roles."
            ),
        }
    ]


def host_name(value: str) -> str:
    """--host: a host name, with or without https:// in front."""
    host = re.sub(r"^https?://", "", value.strip()).rstrip("/")
    if not re.fullmatch(r"[A-Za-z0-9.-]+(?::[0-9]+)?", host):
        raise argparse.ArgumentTypeError(
            f"a host name such as app.azurewebsites.net, not {value!r}"
        )
    return host.lower()


def callback(host: str) -> str:
    """The App Service Authentication sign-in callback of a deployed app."""
    return f"https://{host}/.auth/login/aad/callback"


def _keep_by_value(
    declared: list[dict[str, Any]], existing: list[dict[str, Any]], what: str, notes: list[str]
) -> list[dict[str, Any]]:
    """`declared`, keeping the id an existing entry with the same value already has (assignments
    and grants refer to it), then the existing entries nothing declares, unchanged: Graph
    refuses to drop an enabled role or scope."""
    by_value = {item.get("value"): item for item in existing}
    merged = []
    for item in declared:
        current = by_value.get(item["value"])
        if current is not None and current.get("id") != item["id"]:
            notes.append(f"keeping the id {current['id']} the {what} {item['value']} already has")
            item = {**item, "id": current["id"]}
        merged.append(item)
    values = {item["value"] for item in declared}
    for item in existing:
        if item.get("value") not in values:
            notes.append(
                f"keeping the {what} {item.get('value')!r}, which this script does not declare"
            )
            merged.append(item)
    return merged


def registration(
    env: str, app_id: str, existing: dict[str, Any] | None = None, host: str | None = None
) -> tuple[dict[str, Any], list[str]]:
    """The application (Microsoft Graph shape) this environment needs, merged with `existing`
    (what Graph holds now, if anything); and notes on what was kept from it."""
    existing = existing or {}
    notes: list[str] = []
    api = existing.get("api") or {}
    roles = _keep_by_value(app_roles(), existing.get("appRoles") or [], "app role", notes)
    scopes = _keep_by_value(
        permission_scopes(env), api.get("oauth2PermissionScopes") or [], "scope", notes
    )
    (scope_id,) = [scope["id"] for scope in scopes if scope["value"] == SCOPE]
    others = [
        grant
        for grant in api.get("preAuthorizedApplications") or []
        if grant.get("appId") != AZURE_CLI
    ]
    redirects = list((existing.get("web") or {}).get("redirectUris") or [])
    if host is not None and callback(host) not in redirects:
        redirects.append(callback(host))
    body = {
        "displayName": display_name(env),
        "signInAudience": SIGN_IN_AUDIENCE,
        "identifierUris": [f"api://{app_id}"],
        "appRoles": roles,
        "api": {
            "requestedAccessTokenVersion": 2,
            "oauth2PermissionScopes": scopes,
            "preAuthorizedApplications": [
                *others,
                {"appId": AZURE_CLI, "delegatedPermissionIds": [scope_id]},
            ],
        },
        "web": {
            "redirectUris": redirects,
            "implicitGrantSettings": {
                "enableIdTokenIssuance": True,
                "enableAccessTokenIssuance": False,
            },
        },
        "optionalClaims": OPTIONAL_CLAIMS,
    }
    return body, notes


def without_new_scope_grants(body: dict[str, Any], existing: dict[str, Any]) -> dict[str, Any]:
    """`body` without the pre-authorizations of scopes Graph does not hold yet (it refuses
    those in the request that creates the scope)."""
    held = {
        scope.get("id")
        for scope in ((existing.get("api") or {}).get("oauth2PermissionScopes") or [])
    }
    grants = body["api"]["preAuthorizedApplications"]
    kept = [grant for grant in grants if set(grant["delegatedPermissionIds"]) <= held]
    return {**body, "api": {**body["api"], "preAuthorizedApplications": kept}}


class Graph:
    """Microsoft Graph through `az rest`. Reads are always sent; with `dry_run`, writes are
    printed to `out` instead."""

    def __init__(
        self,
        dry_run: bool = False,
        out: TextIO = sys.stdout,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.dry_run = dry_run
        self.out = out
        self.sleep = sleep
        self.az = shutil.which("az")
        if self.az is None:
            raise Failure("Azure CLI (az) is not on PATH: https://aka.ms/installazurecli")

    def _az(self, method: str, url: str, body: dict[str, Any] | None) -> Any:
        """One `az rest` call. A body goes in a file (`--body @file`): JSON on a command line
        does not survive the quoting of az.cmd on Windows."""
        command = [self.az or "az", "rest", "--only-show-errors", "--method", method, "--uri", url]
        with tempfile.TemporaryDirectory(prefix="app-registration-") as folder:
            if body is not None:
                request = Path(folder) / "body.json"
                request.write_text(json.dumps(body), encoding="utf-8")
                command += ["--headers", "Content-Type=application/json", "--body", f"@{request}"]
            run = subprocess.run(command, capture_output=True, text=True)
        if run.returncode != 0:
            raise Failure(f"{method} {url}: {run.stderr.strip() or f'az exited {run.returncode}'}")
        return json.loads(run.stdout) if run.stdout.strip() else None

    @staticmethod
    def url(path: str) -> str:
        return path if path.startswith("https://") else GRAPH + path

    def get(self, path: str) -> Any:
        return self._az("GET", self.url(path), None)

    def all(self, path: str) -> Iterator[dict[str, Any]]:
        """Every item of a collection, page after page."""
        url: str | None = self.url(path)
        while url:
            page = self._az("GET", url, None) or {}
            yield from page.get("value", [])
            url = page.get("@odata.nextLink")

    def write(
        self, method: str, path: str, body: dict[str, Any] | None = None, fresh: bool = False
    ) -> Any:
        """Send a change (print it, with `dry_run`). `fresh`: the object was created moments ago;
        retry while Graph has not spread it yet."""
        url = self.url(path)
        if self.dry_run:
            request = {"method": method, "url": url}
            if body is not None:
                request["body"] = body
            print(json.dumps(request, indent=2), file=self.out)
            return None
        for attempt in range(1, FRESH_RETRIES + 1):
            try:
                return self._az(method, url, body)
            except Failure as refused:
                if not fresh or attempt == FRESH_RETRIES:
                    raise
                if not any(sign in str(refused) for sign in FRESH_OBJECT):
                    raise
                note(f"{method} {url}: not there yet, trying again (attempt {attempt})")
                self.sleep(FRESH_DELAY_SECONDS)
        raise AssertionError("unreachable")


def note(message: str) -> None:
    print(message, file=sys.stderr)


def find_application(graph: Graph, env: str) -> dict[str, Any] | None:
    """The registration named workflows-<env> (exact name: `az ad app list --display-name`
    matches prefixes, which would find workflows-deploy-<env> too)."""
    name = display_name(env)
    query = quote(f"displayName eq '{name}'")
    found = graph.get(f"/applications?$filter={query}")["value"]
    if len(found) > 1:
        ids = ", ".join(app["appId"] for app in found)
        raise Failure(f"{len(found)} applications are named {name} ({ids}); keep one")
    return found[0] if found else None


def find_service_principal(graph: Graph, app_id: str) -> dict[str, Any] | None:
    query = quote(f"appId eq '{app_id}'")
    found = graph.get(f"/servicePrincipals?$filter={query}")["value"]
    return found[0] if found else None


def apply(env: str, host: str | None, graph: Graph) -> str:
    """Create or update the registration and its service principal; returns the appId."""
    name = display_name(env)
    app = find_application(graph, env)
    fresh = app is None
    if app is None:
        created = graph.write(
            "POST", "/applications", {"displayName": name, "signInAudience": SIGN_IN_AUDIENCE}
        )
        app = created or {"id": "{new-application-id}", "appId": "{new-application-appId}"}
        done = "would create" if graph.dry_run else "created"
        note(f"{done} the application {name} ({app['appId']})")
    else:
        note(f"found the application {name} ({app['appId']}): updating it")
    body, notes = registration(env, app["appId"], app, host)
    for line in notes:
        note(line)
    first = without_new_scope_grants(body, app)
    graph.write("PATCH", f"/applications/{app['id']}", first, fresh=fresh)
    if first != body:
        graph.write("PATCH", f"/applications/{app['id']}", {"api": body["api"]}, fresh=fresh)
        note(f"pre-authorized Azure CLI for the new scope {SCOPE}")
    roles = ", ".join(role["value"] for role in body["appRoles"])
    note(f"app roles: {roles}; scope {SCOPE}; identifier api://{app['appId']}")
    if host is not None:
        note(f"sign-in callback: {callback(host)}")

    principal = (
        None if app["appId"].startswith("{") else find_service_principal(graph, app["appId"])
    )
    if principal is None:
        created = graph.write("POST", "/servicePrincipals", {"appId": app["appId"]}, fresh=True)
        principal = created or {"id": "{new-service-principal-id}"}
        note(f"{'would create' if graph.dry_run else 'created'} its service principal")
    graph.write(
        "PATCH",
        f"/servicePrincipals/{principal['id']}",
        {"appRoleAssignmentRequired": True},
        fresh=True,
    )
    note("tokens for the API go only to principals holding an app role (appRoleAssignmentRequired)")
    return app["appId"]


@dataclass(frozen=True)
class Principal:
    id: str
    kind: str  # User, Group or ServicePrincipal, as appRoleAssignment.principalType says
    label: str


def resolve_principal(graph: Graph, principal: str) -> Principal:
    """A user by principal name, an application by client id, or any of them by object id."""
    if "@" in principal:
        try:
            user = graph.get(f"/users/{quote(principal)}?$select=id,userPrincipalName")
        except Failure as missing:
            raise Failure(f"no user {principal} in this tenant ({missing})") from None
        return Principal(user["id"], "User", principal)
    if not GUID.match(principal):
        raise Usage(
            "PRINCIPAL is a user principal name (someone@contoso.com), an application's client "
            f"id, or the object id of a user, group or service principal; not {principal!r}"
        )
    principal = principal.lower()
    application = find_service_principal(graph, principal)
    if application is not None:
        label = f"{application.get('displayName', 'application')} ({principal})"
        return Principal(application["id"], "ServicePrincipal", label)
    try:
        found = graph.get(f"/directoryObjects/{principal}")
    except Failure as missing:
        raise Failure(
            f"no application with client id {principal}, and no user, group or service "
            f"principal with that object id ({missing})"
        ) from None
    kinds = {"user": "User", "group": "Group", "servicePrincipal": "ServicePrincipal"}
    kind = kinds.get(str(found.get("@odata.type", "")).rsplit(".", 1)[-1])
    if kind is None:
        raise Failure(
            f"{principal} is a {found.get('@odata.type')}, not a user, group or application"
        )
    name = found.get("userPrincipalName") or found.get("displayName") or principal
    return Principal(found["id"], kind, f"{name} ({principal})")


def _registered(graph: Graph, env: str) -> tuple[dict[str, Any], dict[str, Any]]:
    app = find_application(graph, env)
    principal = None if app is None else find_service_principal(graph, app["appId"])
    if app is None or principal is None:
        raise Failure(
            f"{display_name(env)} is not registered yet: python scripts/app_registration.py {env}"
        )
    return app, principal


def _app_role(app: dict[str, Any], value: str) -> dict[str, Any]:
    if value not in Role._value2member_map_:
        raise Usage(f"no role {value!r}; the roles are {', '.join(role.value for role in Role)}")
    for role in app.get("appRoles") or []:
        if role.get("value") == value and role.get("isEnabled", True):
            return role
    raise Failure(
        f"{display_name_of(app)} has no enabled app role {value}: update it first "
        "(python scripts/app_registration.py ENV)"
    )


def display_name_of(app: dict[str, Any]) -> str:
    return str(app.get("displayName") or app.get("appId"))


def _may_hold(role: dict[str, Any], principal: Principal) -> None:
    needed = "Application" if principal.kind == "ServicePrincipal" else "User"
    if needed not in role.get("allowedMemberTypes", []):
        who = "applications" if needed == "User" else "people (users and groups)"
        raise Failure(f"{role['value']} is for {who} only; {principal.label} is a {principal.kind}")


def assign(env: str, role_value: str, who: str, graph: Graph, remove: bool = False) -> None:
    """Give `who` the app role (or, with `remove`, take it away); nothing when already so."""
    app, resource = _registered(graph, env)
    role = _app_role(app, role_value)
    principal = resolve_principal(graph, who)
    if not remove:
        _may_hold(role, principal)
    assigned_to = f"/servicePrincipals/{resource['id']}/appRoleAssignedTo"
    held = [
        grant
        for grant in graph.all(assigned_to)
        if grant.get("principalId") == principal.id and grant.get("appRoleId") == role["id"]
    ]
    if remove:
        if not held:
            note(f"{principal.label} does not hold {role_value} in {display_name(env)}")
        for grant in held:
            graph.write("DELETE", f"{assigned_to}/{grant['id']}")
            done = "would remove" if graph.dry_run else "removed"
            note(f"{done} {role_value} from {principal.label} in {display_name(env)}")
        return
    if held:
        note(f"{principal.label} already holds {role_value} in {display_name(env)}")
        return
    body = {"principalId": principal.id, "resourceId": resource["id"], "appRoleId": role["id"]}
    graph.write("POST", assigned_to, body)
    done = "would assign" if graph.dry_run else "assigned"
    note(f"{done} {role_value} to {principal.label} in {display_name(env)}")


def list_assignments(env: str, graph: Graph, out: TextIO = sys.stdout) -> None:
    """Who holds which role: role, principal type, name, object id; tab-separated."""
    app, resource = _registered(graph, env)
    names = {role["id"]: role.get("value") for role in app.get("appRoles") or []}
    rows = sorted(
        (
            names.get(grant.get("appRoleId"), grant.get("appRoleId")),
            grant.get("principalType", ""),
            grant.get("principalDisplayName", ""),
            grant.get("principalId", ""),
        )
        for grant in graph.all(f"/servicePrincipals/{resource['id']}/appRoleAssignedTo")
    )
    for row in rows:
        print("\t".join(str(cell) for cell in row), file=out)


def environment(value: str) -> str:
    if not ENVIRONMENT.match(value):
        raise argparse.ArgumentTypeError(
            f"{value!r}: an environment is lower-case letters, digits and dashes (dev, prod)"
        )
    return value


def _parser(command: str | None) -> argparse.ArgumentParser:
    prog = "app_registration.py" + (f" {command}" if command else "")
    if command is None:
        parser = argparse.ArgumentParser(
            prog=prog,
            description="Create or update the app registration workflows-ENV; print its appId.",
            epilog="Also: assign ENV ROLE PRINCIPAL, remove ENV ROLE PRINCIPAL, list ENV.",
        )
        parser.add_argument("env", metavar="ENV", type=environment)
        parser.add_argument(
            "--host", type=host_name, help="the deployed app's host name: adds its sign-in callback"
        )
    else:
        summary = {
            "assign": "Give PRINCIPAL the app role ROLE.",
            "remove": "Take the app role ROLE away from PRINCIPAL.",
            "list": "Print who holds which app role.",
        }
        parser = argparse.ArgumentParser(prog=prog, description=summary[command])
        parser.add_argument("env", metavar="ENV", type=environment)
        if command != "list":
            parser.add_argument("role", metavar="ROLE", choices=[role.value for role in Role])
            parser.add_argument(
                "principal",
                metavar="PRINCIPAL",
                help="a user principal name, an application's client id, or an object id",
            )
    if command != "list":
        parser.add_argument("--dry-run", action="store_true", help="print the changes, send none")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command = argv[0] if argv and argv[0] in {"assign", "remove", "list"} else None
    args = _parser(command).parse_args(argv[1:] if command else argv)
    try:
        graph = Graph(dry_run=getattr(args, "dry_run", False))
        if command is None:
            app_id = apply(args.env, args.host, graph)
            if not graph.dry_run:
                print(app_id)
        elif command == "list":
            list_assignments(args.env, graph)
        else:
            assign(args.env, args.role, args.principal, graph, remove=command == "remove")
    except Usage as wrong:
        print(f"app_registration.py: {wrong}", file=sys.stderr)
        return 2
    except Failure as refused:
        print(f"app_registration.py: {refused}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
