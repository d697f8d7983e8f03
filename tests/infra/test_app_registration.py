"""scripts/app_registration.py: the app registration as code, checked against a fake `az`.

The fake is an executable named `az`, first on PATH, that keeps a small directory in a JSON file
and answers `az rest` as Microsoft Graph would for the requests the script sends: it refuses,
as Graph does, a pre-authorization of a scope created in the same request and the removal of an
enabled role or scope. It logs every call (argv, method, URL, body), which the tests read. No
network.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from domain.roles import APPLICATION_ONLY, ROLE_DESCRIPTIONS, Role

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "app_registration.py"
GRAPH = "https://graph.microsoft.com/v1.0"
AZURE_CLI = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"
HOST = "func-workflows-dev.azurewebsites.net"

FAKE_AZ = r"""
import json, os, sys, uuid
from urllib.parse import unquote, urlsplit

GRAPH = "https://graph.microsoft.com/v1.0"
STATE = os.environ["FAKE_GRAPH_STATE"]
PAGE = 2


def flag(name):
    return sys.argv[sys.argv.index(name) + 1] if name in sys.argv else None


def refuse(code, message):
    print(f"ERROR: {code}({message})", file=sys.stderr)
    sys.exit(1)


def answer(value=None):
    if value is not None:
        print(json.dumps(value))
    sys.exit(0)


method, url, body = flag("--method"), flag("--uri"), flag("--body")
if body and body.startswith("@"):
    with open(body[1:], encoding="utf-8") as file:
        body = file.read()
body = json.loads(body) if body else None
with open(os.environ["FAKE_AZ_LOG"], "a") as log:
    log.write(json.dumps({"argv": sys.argv[1:], "method": method, "url": url, "body": body}) + "\n")
if sys.argv[1:2] != ["rest"] or not url.startswith(GRAPH):
    refuse("FakeAz", f"unexpected call {sys.argv[1:]}")

with open(STATE) as file:
    state = json.load(file)


def save():
    with open(STATE, "w") as file:
        json.dump(state, file)


def new_id(kind):
    state["counter"] = state.get("counter", 0) + 1
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"fake:{kind}:{state['counter']}"))


parts = urlsplit(url)
path = parts.path[len("/v1.0"):].strip("/").split("/")
query = dict(pair.split("=", 1) for pair in unquote(parts.query).split("&") if pair)
apps, principals = state["applications"], state["servicePrincipals"]


def one(items, key, value):
    found = [item for item in items if item[key] == value]
    return found[0] if found else refuse("Request_ResourceNotFound", f"{value} does not exist")


def collection(items):
    start = int(query.get("$skiptoken", 0))
    page = {"value": items[start:start + PAGE]}
    if start + PAGE < len(items):
        page["@odata.nextLink"] = f"{GRAPH}/{'/'.join(path)}?$skiptoken={start + PAGE}"
    answer(page)


def check_kept(old, new, what):
    kept = {item["id"] for item in new}
    for item in old:
        if item.get("isEnabled", True) and item["id"] not in kept:
            refuse("CannotDeleteOrUpdateEnabledEntitlement",
                   f"{what} {item['id']} cannot be deleted or updated unless disabled first")


if path == ["applications"] and method == "GET":
    name = query["$filter"].split("'")[1]
    answer({"value": [app for app in apps if app["displayName"] == name]})
if path == ["applications"] and method == "POST":
    app = {"id": new_id("app-object"), "appId": new_id("app-id"), "identifierUris": [],
           "appRoles": [], "web": {"redirectUris": []}, **body,
           "api": {"oauth2PermissionScopes": [], "preAuthorizedApplications": []}}
    apps.append(app)
    save()
    answer(app)
if path[0] == "applications" and len(path) == 2 and method == "PATCH":
    app = one(apps, "id", path[1])
    api = body.get("api", {})
    held = {scope["id"] for scope in app["api"]["oauth2PermissionScopes"]}
    for grant in api.get("preAuthorizedApplications", []):
        if not set(grant["delegatedPermissionIds"]) <= held:
            refuse("InvalidPreAuthorizedApplication", "Property api.preAuthorizedApplications."
                   "delegatedPermissionIds has a Permission Id that cannot be found")
    if "appRoles" in body:
        check_kept(app["appRoles"], body["appRoles"], "app role")
    if "oauth2PermissionScopes" in api:
        check_kept(app["api"]["oauth2PermissionScopes"], api["oauth2PermissionScopes"], "scope")
    app.update(body)
    save()
    answer()
if path == ["servicePrincipals"] and method == "GET":
    app_id = query["$filter"].split("'")[1]
    answer({"value": [sp for sp in principals if sp["appId"] == app_id]})
if path == ["servicePrincipals"] and method == "POST":
    app = one(apps + state["otherApplications"], "appId", body["appId"])
    sp = {"id": new_id("sp"), "appId": app["appId"], "displayName": app["displayName"],
          "appRoleAssignmentRequired": False}
    principals.append(sp)
    save()
    answer(sp)
if path[0] == "servicePrincipals" and len(path) == 2 and method == "PATCH":
    one(principals, "id", path[1]).update(body)
    save()
    answer()
if path[0] == "servicePrincipals" and path[2:3] == ["appRoleAssignedTo"]:
    resource = one(principals, "id", path[1])
    if method == "GET":
        collection([grant for grant in state["assignments"] if grant["resourceId"] == path[1]])
    if method == "POST":
        app = one(apps, "appId", resource["appId"])
        if body["resourceId"] != path[1]:
            refuse("Request_BadRequest", "resourceId is not the service principal in the URL")
        if body["appRoleId"] not in {role["id"] for role in app["appRoles"]}:
            refuse("Request_BadRequest", "Permission being assigned was not found on application")
        who = one(list(state["directory"].values()), "id", body["principalId"])
        grant = {"id": new_id("assignment"), **body, "principalType": who["type"],
                 "principalDisplayName": who["displayName"]}
        state["assignments"].append(grant)
        save()
        answer(grant)
    if method == "DELETE":
        one(state["assignments"], "id", path[3])
        state["assignments"] = [grant for grant in state["assignments"] if grant["id"] != path[3]]
        save()
        answer()
if path[0] == "users" and method == "GET":
    user = state["directory"].get(unquote(path[1]))
    answer({"id": user["id"]}) if user else refuse("Request_ResourceNotFound", "no such user")
if path[0] == "directoryObjects" and method == "GET":
    found = [item for item in state["directory"].values() if item["id"] == path[1]]
    if not found:
        refuse("Request_ResourceNotFound", f"Resource '{path[1]}' does not exist")
    kind = {"User": "user", "Group": "group", "ServicePrincipal": "servicePrincipal"}
    answer({"@odata.type": f"#microsoft.graph.{kind[found[0]['type']]}", "id": found[0]["id"],
            "displayName": found[0]["displayName"]})
refuse("FakeAz", f"unexpected request {method} {url}")
"""

CARRIER_APP = "5f0d6a43-6d2c-4e0b-9a57-0c7e3f1b2a90"
GRACE = "3b7e4c1a-0000-4000-8000-000000000001"
OPS_GROUP = "3b7e4c1a-0000-4000-8000-000000000002"


class FakeGraph:
    def __init__(self, tmp_path: Path) -> None:
        bin_dir = tmp_path / "bin"
        bin_dir.mkdir()
        az = bin_dir / "az"
        az.write_text(f"#!{sys.executable}\n{FAKE_AZ}")
        az.chmod(0o755)
        self.state = tmp_path / "graph.json"
        self.log = tmp_path / "az.log"
        self.env = {
            **os.environ,
            "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
            "FAKE_GRAPH_STATE": str(self.state),
            "FAKE_AZ_LOG": str(self.log),
        }
        carrier_sp = {"id": "sp-carrier", "type": "ServicePrincipal", "displayName": "carrier"}
        self.save(
            {
                "applications": [],
                "servicePrincipals": [{**carrier_sp, "appId": CARRIER_APP}],
                "otherApplications": [],
                "assignments": [],
                "directory": {
                    "grace@contoso.com": {"id": GRACE, "type": "User", "displayName": "Grace"},
                    "ops": {"id": OPS_GROUP, "type": "Group", "displayName": "Ops"},
                    "carrier": carrier_sp,
                },
            }
        )

    def load(self) -> dict[str, Any]:
        return json.loads(self.state.read_text())

    def save(self, state: dict[str, Any]) -> None:
        self.state.write_text(json.dumps(state))

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """The script as docs/deploy.md runs it, with no site-packages (`-S`): it needs only
        the standard library, so it runs where the app's requirements are not installed."""
        self.log.write_text("")
        run = subprocess.run(
            [sys.executable, "-S", str(SCRIPT), *args],
            capture_output=True,
            text=True,
            env=self.env,
        )
        if check:
            assert run.returncode == 0, run.stderr
        return run

    def calls(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.log.read_text().splitlines()]

    def writes(self) -> list[dict[str, Any]]:
        return [call for call in self.calls() if call["method"] != "GET"]

    def application(self) -> dict[str, Any]:
        (app,) = self.load()["applications"]
        return app

    def service_principal(self, app_id: str) -> dict[str, Any]:
        (sp,) = [sp for sp in self.load()["servicePrincipals"] if sp["appId"] == app_id]
        return sp


@pytest.fixture
def graph(tmp_path: Path) -> FakeGraph:
    return FakeGraph(tmp_path)


def stable_id(kind: str, value: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"urn:workflows:{kind}:{value}"))


def scope(app: dict[str, Any]) -> dict[str, Any]:
    (found,) = [
        s for s in app["api"]["oauth2PermissionScopes"] if s["value"] == "user_impersonation"
    ]
    return found


def ids(app: dict[str, Any]) -> dict[str, str]:
    items = [*app["appRoles"], *app["api"]["oauth2PermissionScopes"]]
    return {item["value"]: item["id"] for item in items}


def test_a_first_run_creates_the_registration_from_domain_access(graph: FakeGraph) -> None:
    run = graph.run("dev", "--host", HOST)
    app_id = run.stdout.strip()
    writes = [(call["method"], call["url"]) for call in graph.writes()]
    app = graph.application()
    assert app["appId"] == app_id
    assert writes == [
        ("POST", f"{GRAPH}/applications"),
        ("PATCH", f"{GRAPH}/applications/{app['id']}"),
        ("PATCH", f"{GRAPH}/applications/{app['id']}"),  # the pre-authorization, once the scope is
        ("POST", f"{GRAPH}/servicePrincipals"),
        ("PATCH", f"{GRAPH}/servicePrincipals/{graph.service_principal(app_id)['id']}"),
    ]
    assert graph.writes()[0]["body"] == {
        "displayName": "workflows-dev",
        "signInAudience": "AzureADMyOrg",
    }
    assert all(call["argv"][:2] == ["rest", "--only-show-errors"] for call in graph.calls())
    assert all(call["argv"][-2] == "--body" for call in graph.writes())

    assert app["displayName"] == "workflows-dev"
    assert app["signInAudience"] == "AzureADMyOrg"
    assert app["identifierUris"] == [f"api://{app_id}"]
    assert app["api"]["requestedAccessTokenVersion"] == 2
    assert app["web"]["redirectUris"] == [f"https://{HOST}/.auth/login/aad/callback"]
    assert app["web"]["implicitGrantSettings"]["enableIdTokenIssuance"] is True
    assert app["optionalClaims"]["accessToken"] == [{"name": "idtyp"}]
    assert app["optionalClaims"]["idToken"] == [{"name": "idtyp"}]


def test_every_role_becomes_an_app_role_for_the_right_members(graph: FakeGraph) -> None:
    graph.run("dev")
    roles = {role["value"]: role for role in graph.application()["appRoles"]}
    assert list(roles) == [role.value for role in Role]
    assert len({role["id"] for role in roles.values()}) == len(Role)
    for role in Role:
        declared = roles[role.value]
        assert declared["id"] == stable_id("app-role", role.value)
        assert declared["isEnabled"] is True
        assert declared["description"] == ROLE_DESCRIPTIONS[role]
        if role in APPLICATION_ONLY:
            assert declared["allowedMemberTypes"] == ["Application"]
    assert roles["Shipments.Carrier"]["allowedMemberTypes"] == ["Application"]
    assert roles["Maintenance.CertifyingInspector"]["allowedMemberTypes"] == ["User"]
    assert roles["Claims.Supervisor"]["allowedMemberTypes"] == ["User", "Application"]


def test_azure_cli_is_pre_authorized_for_exactly_the_user_impersonation_scope(
    graph: FakeGraph,
) -> None:
    graph.run("dev")
    app = graph.application()
    declared = scope(app)
    assert declared["isEnabled"] is True
    assert declared["type"] == "User"
    assert declared["id"] == stable_id("scope", "user_impersonation")
    for text in ("adminConsentDisplayName", "adminConsentDescription", "userConsentDisplayName"):
        assert "workflows-dev" in declared[text]
    assert declared["userConsentDescription"]
    assert app["api"]["preAuthorizedApplications"] == [
        {"appId": AZURE_CLI, "delegatedPermissionIds": [declared["id"]]}
    ]


def test_the_service_principal_requires_an_app_role_assignment(graph: FakeGraph) -> None:
    app_id = graph.run("dev").stdout.strip()
    (patch,) = [call for call in graph.writes() if "/servicePrincipals/" in call["url"]]
    assert patch["body"] == {"appRoleAssignmentRequired": True}
    assert graph.service_principal(app_id)["appRoleAssignmentRequired"] is True


def test_a_second_run_updates_the_same_registration_and_keeps_its_ids(graph: FakeGraph) -> None:
    first = graph.run("dev", "--host", HOST).stdout.strip()
    before = ids(graph.application())
    second = graph.run("dev").stdout.strip()
    app = graph.application()  # still exactly one
    assert second == first
    assert ids(app) == before
    sp_id = graph.service_principal(first)["id"]
    assert [(call["method"], call["url"]) for call in graph.writes()] == [
        ("PATCH", f"{GRAPH}/applications/{app['id']}"),
        ("PATCH", f"{GRAPH}/servicePrincipals/{sp_id}"),
    ]
    assert "found the application workflows-dev" in graph.run("dev").stderr
    # Without --host, the callback registered before stays.
    assert app["web"]["redirectUris"] == [f"https://{HOST}/.auth/login/aad/callback"]
    assert len(graph.load()["servicePrincipals"]) == 2  # the carrier's, and this one


def test_a_registration_made_by_hand_keeps_its_scope_id_and_other_entries(
    graph: FakeGraph,
) -> None:
    """The portal's "Expose an API" makes a user_impersonation scope with a random id; roles
    of the old guide have the derived ids. Both are kept, and so is what nothing declares."""
    state = graph.load()
    portal_scope = {"id": str(uuid.uuid4()), "value": "user_impersonation", "isEnabled": True}
    extra_role = {"id": str(uuid.uuid4()), "value": "Legacy.Reader", "isEnabled": True}
    portal = {"appId": str(uuid.uuid4()), "delegatedPermissionIds": [portal_scope["id"]]}
    state["applications"].append(
        {
            "id": "old-object",
            "appId": "0ld00000-0000-4000-8000-000000000000",
            "displayName": "workflows-prod",
            "appRoles": [extra_role],
            "api": {
                "oauth2PermissionScopes": [portal_scope],
                "preAuthorizedApplications": [portal],
            },
            "web": {"redirectUris": ["https://custom.example.com/.auth/login/aad/callback"]},
        }
    )
    graph.save(state)
    graph.run("prod", "--host", "https://func-workflows-prod.azurewebsites.net/")
    app = graph.application()
    assert scope(app)["id"] == portal_scope["id"]
    assert extra_role in app["appRoles"]
    assert app["api"]["preAuthorizedApplications"] == [
        portal,
        {"appId": AZURE_CLI, "delegatedPermissionIds": [portal_scope["id"]]},
    ]
    assert app["web"]["redirectUris"] == [
        "https://custom.example.com/.auth/login/aad/callback",
        "https://func-workflows-prod.azurewebsites.net/.auth/login/aad/callback",
    ]


def test_a_dry_run_prints_the_requests_and_sends_none(graph: FakeGraph) -> None:
    run = graph.run("dev", "--host", HOST, "--dry-run")
    assert graph.writes() == []
    assert graph.load()["applications"] == []
    decoder, text, requests = json.JSONDecoder(), run.stdout.strip(), []
    while text:
        request, end = decoder.raw_decode(text)
        requests.append(request)
        text = text[end:].strip()
    assert [(r["method"], r["url"].removeprefix(GRAPH)) for r in requests] == [
        ("POST", "/applications"),
        ("PATCH", "/applications/{new-application-id}"),
        ("PATCH", "/applications/{new-application-id}"),
        ("POST", "/servicePrincipals"),
        ("PATCH", "/servicePrincipals/{new-service-principal-id}"),
    ]
    body = requests[1]["body"]
    assert body["identifierUris"] == ["api://{new-application-appId}"]
    assert [role["value"] for role in body["appRoles"]] == [role.value for role in Role]
    assert requests[2]["body"]["api"]["preAuthorizedApplications"][0]["appId"] == AZURE_CLI
    assert requests[4]["body"] == {"appRoleAssignmentRequired": True}

    graph.run("dev")
    assert graph.run("dev", "--dry-run").stdout.count('"method"') == 2  # two PATCHes, nothing new


def test_assign_posts_the_role_id_for_a_user_by_principal_name(graph: FakeGraph) -> None:
    app_id = graph.run("dev").stdout.strip()
    sp_id = graph.service_principal(app_id)["id"]
    graph.run("assign", "dev", "Claims.Supervisor", "grace@contoso.com")
    (post,) = graph.writes()
    assert post["method"] == "POST"
    assert post["url"] == f"{GRAPH}/servicePrincipals/{sp_id}/appRoleAssignedTo"
    assert post["body"] == {
        "principalId": GRACE,
        "resourceId": sp_id,
        "appRoleId": stable_id("app-role", "Claims.Supervisor"),
    }
    again = graph.run("assign", "dev", "Claims.Supervisor", "grace@contoso.com")
    assert graph.writes() == []
    assert "already holds Claims.Supervisor" in again.stderr


def test_assign_finds_applications_by_client_id_and_groups_by_object_id(graph: FakeGraph) -> None:
    graph.run("dev")
    graph.run("assign", "dev", "Shipments.Carrier", CARRIER_APP)
    graph.run("assign", "dev", "Shipments.Dispatcher", OPS_GROUP)
    graph.run("assign", "dev", "Maintenance.Controller", "grace@contoso.com")
    held = {(grant["principalId"], grant["appRoleId"]) for grant in graph.load()["assignments"]}
    assert held == {
        ("sp-carrier", stable_id("app-role", "Shipments.Carrier")),
        (OPS_GROUP, stable_id("app-role", "Shipments.Dispatcher")),
        (GRACE, stable_id("app-role", "Maintenance.Controller")),
    }
    listed = graph.run("list", "dev").stdout.splitlines()
    assert "Shipments.Carrier\tServicePrincipal\tcarrier\tsp-carrier" in listed
    assert len(listed) == 3  # read across pages of two


def test_remove_deletes_only_that_assignment(graph: FakeGraph) -> None:
    graph.run("dev")
    graph.run("assign", "dev", "Claims.Supervisor", "grace@contoso.com")
    graph.run("assign", "dev", "Claims.Adjuster", "grace@contoso.com")
    (supervisor,) = [
        grant
        for grant in graph.load()["assignments"]
        if grant["appRoleId"] == stable_id("app-role", "Claims.Supervisor")
    ]
    graph.run("remove", "dev", "Claims.Supervisor", "grace@contoso.com")
    (delete,) = graph.writes()
    assert delete["method"] == "DELETE"
    assert delete["url"].endswith(f"/appRoleAssignedTo/{supervisor['id']}")
    assert [g["appRoleId"] for g in graph.load()["assignments"]] == [
        stable_id("app-role", "Claims.Adjuster")
    ]
    assert "does not hold" in graph.run("remove", "dev", "Claims.Supervisor", GRACE).stderr


def test_assign_refuses_what_entra_id_would(graph: FakeGraph) -> None:
    unregistered = graph.run("assign", "dev", "Claims.Supervisor", "grace@contoso.com", check=False)
    assert unregistered.returncode == 1
    assert "python scripts/app_registration.py dev" in unregistered.stderr
    graph.run("dev")
    person_as_carrier = graph.run(
        "assign", "dev", "Shipments.Carrier", "grace@contoso.com", check=False
    )
    assert person_as_carrier.returncode == 1
    assert "for applications only" in person_as_carrier.stderr
    app_as_inspector = graph.run(
        "assign", "dev", "Maintenance.CertifyingInspector", CARRIER_APP, check=False
    )
    assert app_as_inspector.returncode == 1
    stranger = graph.run("assign", "dev", "Claims.Adjuster", "nobody@contoso.com", check=False)
    assert stranger.returncode == 1
    assert "no user nobody@contoso.com in this tenant" in stranger.stderr
    unknown_role = graph.run("assign", "dev", "Claims.Admin", "grace@contoso.com", check=False)
    assert unknown_role.returncode == 2
    assert graph.load()["assignments"] == []


def test_the_environment_name_is_checked_before_graph_is_asked(graph: FakeGraph) -> None:
    run = graph.run("dev' or displayName eq 'x", check=False)
    assert run.returncode == 2
    assert not graph.log.read_text()


def test_the_deploy_guide_runs_the_script_with_real_roles() -> None:
    """docs/deploy.md, "Sign-in and roles": every command it shows parses, and names a role of
    domain/roles.py."""
    guide = (ROOT / "docs" / "deploy.md").read_text()
    section = guide[guide.index("### Sign-in and roles") :]
    section = section[: section.index("\n### ", 1)]
    commands = re.findall(r"scripts/app_registration\.py ([^)\n#]+)", section)
    assert {command.split()[0] for command in commands} >= {"assign", "remove", "list", '"$ENV"'}
    for command in commands:
        words = command.split()
        if words[0] in {"assign", "remove"}:
            assert words[2] in {role.value for role in Role}, command
    assert "appRoleAssignmentRequired" in section
    assert "az ad app create" not in section
