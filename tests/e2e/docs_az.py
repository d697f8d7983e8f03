"""A fake `az` for tests/e2e/test_docs_run.py: the Azure CLI the guides call, answered from a
running devhost instead of Azure. Run as a script (`python docs_az.py <az arguments>`).

The world it answers from is a JSON file named by DOCS_AZ_WORLD (written by the test): the
resource group, its deployments (names, states, times, outputs, parameters), the app's name and
host, the running devhost's URL and key file, the settings the host runs with, its function
list, and who is signed in. Every call is appended to DOCS_AZ_LOG as one JSON line
(`{"argv": [...], "answered": "..."}`).

Commands it answers, as the Azure CLI shapes them:

- `deployment group list|show`: the world's deployments;
- `account get-access-token --resource api://<client id>`: a token from devhost's emulated
  sign-in (`python -m devhost token`) for the signed-in persona; another resource is refused
  as Entra ID refuses an unknown one (AADSTS500011);
- `functionapp keys list`: the host's key file (`<hub>.keys.json`);
- `functionapp show`: the host's `/admin/host/status` state, the app's name, host and id;
- `functionapp config appsettings list`: the settings the host was started with;
- `functionapp function list`: the functions the host loaded;
- `monitor app-insights query`, `monitor metrics list`: devhost has no telemetry store or
  metrics; the call is recorded (the test checks its arguments) and answered empty.

`--query` is evaluated with the subset of JMESPath the guides use (fields, indexes, `[]` and
`[?...]` projections, `==`, `!=`, `&&`, `||`, multi-select hashes, `sort_by`, `starts_with`);
`-o tsv` and `-o json` print as the CLI does. Anything else exits 2 naming the command.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.request
from typing import Any

VALUED = {
    "-g": "group",
    "--resource-group": "group",
    "-n": "name",
    "--name": "name",
    "--query": "query",
    "-o": "output",
    "--output": "output",
    "--resource": "resource",
    "--app": "app",
    "--analytics-query": "analytics",
    "--metric": "metric",
    "--interval": "interval",
    "--aggregation": "aggregation",
}


class Refused(Exception):
    """The CLI's error: a message on stderr and exit code 1 (2 for a command it lacks)."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


# -- JMESPath, the subset the guides use ---------------------------------------------------------

TOKEN = re.compile(
    r"\s*(?:(?P<number>-?\d+)|(?P<name>[A-Za-z_][A-Za-z0-9_]*)|'(?P<raw>[^']*)'"
    r"|(?P<op>\[\?|\|\||&&|==|!=|[.\[\]{}:,()&@]))"
)
POWER = {"||": 2, "&&": 3, "==": 5, "!=": 5, "[?": 21, ".": 40, "[": 50}


def tokenize(text: str) -> list[tuple[str, Any]]:
    tokens, at = [], 0
    while at < len(text.rstrip()):
        found = TOKEN.match(text, at)
        if not found:
            raise Refused(f"argument --query: invalid jmespath query supplied: {text!r}")
        kind = found.lastgroup or "op"
        value = found.group(kind)
        tokens.append((value if kind == "op" else kind, value))
        at = found.end()
    return [*tokens, ("eof", None)]


class Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.at = 0

    def peek(self) -> str:
        return self.tokens[self.at][0]

    def take(self, kind: str | None = None) -> Any:
        found, value = self.tokens[self.at]
        if kind is not None and found != kind:
            raise Refused(f"argument --query: invalid jmespath query supplied: {self.text!r}")
        self.at += 1
        return value

    def parse(self) -> tuple:
        tree = self.expression(0)
        self.take("eof")
        return tree

    def expression(self, power: int) -> tuple:
        left = self.prefix()
        while POWER.get(self.peek(), 0) > power:
            left = self.infix(left)
        return left

    def prefix(self) -> tuple:
        kind = self.peek()
        value = self.take()
        if kind == "name":
            if self.peek() == "(":
                self.take("(")
                args = []
                while self.peek() != ")":
                    args.append(self.expression(0))
                    if self.peek() == ",":
                        self.take(",")
                self.take(")")
                return ("call", value, args)
            return ("field", value)
        if kind == "raw":
            return ("literal", value)
        if kind == "@":
            return ("current",)
        if kind == "&":
            return ("ref", self.expression(0))
        if kind == "{":
            pairs = []
            while True:
                key = self.take("name")
                self.take(":")
                pairs.append((key, self.expression(0)))
                if self.peek() == "}":
                    self.take("}")
                    return ("hash", pairs)
                self.take(",")
        if kind == "[?":
            return self.filter(("current",))
        if kind == "[":
            if self.peek() == "]":
                self.take("]")
                return ("flatten", ("current",), self.projected())
            return self.index(("current",))
        raise Refused(f"argument --query: invalid jmespath query supplied: {self.text!r}")

    def infix(self, left: tuple) -> tuple:
        kind = self.take()
        if kind in ("||", "&&"):
            return (kind, left, self.expression(POWER[kind]))
        if kind in ("==", "!="):
            return ("compare", kind, left, self.expression(POWER[kind]))
        if kind == ".":
            return ("sub", left, self.after_dot())
        if kind == "[?":
            return self.filter(left)
        if self.peek() == "]":  # kind == "["
            self.take("]")
            return ("flatten", left, self.projected())
        return self.index(left)

    def after_dot(self) -> tuple:
        if self.peek() == "{":
            return self.prefix()
        return ("field", self.take("name"))

    def index(self, left: tuple) -> tuple:
        position = int(self.take("number"))
        self.take("]")
        return ("index", left, position)

    def filter(self, left: tuple) -> tuple:
        condition = self.expression(0)
        self.take("]")
        return ("filter", left, condition, self.projected())

    def projected(self) -> tuple:
        """What a projection applies to each element: the rest of the chain."""
        if self.peek() == ".":
            self.take(".")
            right = self.after_dot()
        elif self.peek() in ("[", "[?"):
            right = ("current",)
        else:
            return ("current",)
        while POWER.get(self.peek(), 0) >= POWER["."]:
            right = self.infix(right)
        return right


def truthy(value: Any) -> bool:
    return value not in (None, False, "", [], {})


def evaluate(tree: tuple, value: Any) -> Any:
    kind = tree[0]
    if kind == "current":
        return value
    if kind == "literal":
        return tree[1]
    if kind == "field":
        return value.get(tree[1]) if isinstance(value, dict) else None
    if kind == "sub":
        left = evaluate(tree[1], value)
        return None if left is None else evaluate(tree[2], left)
    if kind == "index":
        left = evaluate(tree[1], value)
        if not isinstance(left, list) or not -len(left) <= tree[2] < len(left):
            return None
        return left[tree[2]]
    if kind in ("flatten", "filter"):
        left = evaluate(tree[1], value)
        if not isinstance(left, list):
            return None
        if kind == "flatten":
            items = [x for item in left for x in (item if isinstance(item, list) else [item])]
        else:
            items = [item for item in left if truthy(evaluate(tree[2], item))]
        results = (evaluate(tree[-1], item) for item in items)
        return [result for result in results if result is not None]
    if kind == "hash":
        return None if value is None else {k: evaluate(e, value) for k, e in tree[1]}
    if kind == "compare":
        same = evaluate(tree[2], value) == evaluate(tree[3], value)
        return same if tree[1] == "==" else not same
    if kind == "&&":
        left = evaluate(tree[1], value)
        return evaluate(tree[2], value) if truthy(left) else left
    if kind == "||":
        left = evaluate(tree[1], value)
        return left if truthy(left) else evaluate(tree[2], value)
    if kind == "ref":
        return tree
    if kind == "call":
        args = [evaluate(arg, value) for arg in tree[2]]
        if tree[1] == "starts_with" and len(args) == 2:
            return isinstance(args[0], str) and args[0].startswith(args[1])
        if tree[1] == "sort_by" and len(args) == 2 and isinstance(args[0], list):
            return sorted(args[0], key=lambda item: evaluate(args[1][1], item))
        raise Refused(f"fake az: the JMESPath function {tree[1]}() is not emulated", 2)
    raise AssertionError(kind)


# -- output ----------------------------------------------------------------------------------


def tsv(value: Any) -> str:
    def cell(item: Any) -> str:
        if isinstance(item, dict):
            return "\t".join(cell(v) for v in item.values())
        return "" if item is None else str(item)

    rows = value if isinstance(value, list) else [value]
    return "".join(cell(row) + "\n" for row in rows if row is not None)


def emit(value: Any, options: dict[str, str]) -> str:
    if options.get("query"):
        value = evaluate(Parser(options["query"]).parse(), value)
    if options.get("output", "json") == "tsv":
        return tsv(value)
    return "" if value is None else json.dumps(value, indent=2) + "\n"


# -- the commands ----------------------------------------------------------------------------


def parse(argv: list[str]) -> tuple[list[str], dict[str, str]]:
    words, options, at = [], {}, 0
    while at < len(argv):
        arg = argv[at]
        if arg in VALUED:
            options[VALUED[arg]] = argv[at + 1]
            at += 2
        elif arg.startswith("-"):
            options[arg] = "true"
            at += 1
        else:
            words.append(arg)
            at += 1
    return words, options


def master_key(world: dict[str, Any]) -> str:
    with open(world["host"]["keysFile"], encoding="utf-8") as file:
        return json.load(file)["master"]


def host_state(world: dict[str, Any]) -> str:
    request = urllib.request.Request(
        world["host"]["url"] + "/admin/host/status",
        headers={"x-functions-key": master_key(world)},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)["state"]


def site(world: dict[str, Any], options: dict[str, str]) -> dict[str, Any]:
    """The Function App the command names: the world's, or the CLI's ResourceNotFound."""
    group(world, options)
    app = world["app"]
    if options.get("name") != app["name"]:
        raise Refused(
            f"(ResourceNotFound) The Resource 'Microsoft.Web/sites/{options.get('name')}' under "
            f"resource group '{options.get('group')}' was not found."
        )
    return app


def group(world: dict[str, Any], options: dict[str, str]) -> None:
    if options.get("group") != world["resourceGroup"]:
        raise Refused(
            f"(ResourceGroupNotFound) Resource group '{options.get('group')}' could not be found."
        )


def answer(words: list[str], options: dict[str, str], world: dict[str, Any]) -> Any:
    command = " ".join(words)
    if command == "deployment group list":
        group(world, options)
        return world["deployments"]
    if command == "deployment group show":
        group(world, options)
        for deployment in world["deployments"]:
            if deployment["name"] == options.get("name"):
                return deployment
        raise Refused(
            f"(DeploymentNotFound) Deployment '{options.get('name')}' could not be found."
        )
    if command == "account get-access-token":
        expected = f"api://{world['authClientId']}"
        if options.get("resource") != expected:
            raise Refused(
                f"AADSTS500011: The resource principal named {options.get('resource')} was not "
                "found in the tenant."
            )
        persona = world["signedIn"]
        host = world["host"]
        roles = ",".join(persona["roles"])
        devhost = [sys.executable, "-m", "devhost", "token", "--as", persona["name"]]
        token = subprocess.run(
            [*devhost, "--roles", roles, "--url", host["url"], "--hub", host["hub"]],
            cwd=host["devhostHome"],
            capture_output=True,
            text=True,
            check=False,
        )
        if token.returncode != 0:
            raise Refused(f"devhost token failed: {token.stderr.strip()}")
        return {
            "accessToken": token.stdout.strip(),
            "expiresOn": "2099-01-01 00:00:00.000000",
            "subscription": world["subscription"],
            "tenant": world["tenant"],
            "tokenType": "Bearer",
        }
    if command == "functionapp keys list":
        site(world, options)
        with open(world["host"]["keysFile"], encoding="utf-8") as file:
            keys = json.load(file)
        return {
            "functionKeys": keys["functionKeys"],
            "masterKey": keys["master"],
            "systemKeys": keys["systemKeys"],
        }
    if command == "functionapp show":
        app = site(world, options)
        return {
            "id": app["id"],
            "name": app["name"],
            "kind": "functionapp,linux",
            "state": host_state(world),
            "defaultHostName": app["hostName"],
            "identity": {"type": "UserAssigned"},
        }
    if command == "functionapp config appsettings list":
        site(world, options)
        settings = world["appSettings"]
        return [{"name": k, "slotSetting": False, "value": v} for k, v in settings.items()]
    if command == "functionapp function list":
        app = site(world, options)
        return [
            {"name": f"{app['name']}/{name}", "type": "Microsoft.Web/sites/functions"}
            for name in world["functions"]
        ]
    if command == "monitor app-insights query":
        group(world, options)
        if options.get("app") != world["applicationInsights"]:
            raise Refused(f"(ResourceNotFound) Application Insights '{options.get('app')}'")
        return {"tables": [{"name": "PrimaryResult", "columns": [], "rows": []}]}
    if command == "monitor metrics list":
        if options.get("resource") != world["app"]["id"]:
            raise Refused(f"(ResourceNotFound) {options.get('resource')}")
        name = options.get("metric")
        return {"value": [{"name": {"value": name}, "timeseries": [], "unit": "Count"}]}
    raise Refused(f"fake az: `az {command}` is not emulated (see tests/e2e/docs_az.py)", 2)


def main(argv: list[str]) -> int:
    with open(os.environ["DOCS_AZ_WORLD"], encoding="utf-8") as file:
        world = json.load(file)
    words, options = parse(argv)
    record = {"argv": argv, "command": " ".join(words), "options": options}
    try:
        sys.stdout.write(emit(answer(words, options, world), options))
        record["answered"] = "ok"
        return 0
    except Refused as refused:
        print(f"ERROR: {refused}", file=sys.stderr)
        record["answered"] = str(refused)
        return refused.code
    finally:
        with open(os.environ["DOCS_AZ_LOG"], "a", encoding="utf-8") as log:
            log.write(json.dumps(record) + "\n")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
