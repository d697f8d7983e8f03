"""The GitHub workflows: CI runs the one CI entry point and compiles and lints the Bicep; Deploy
runs CI, builds one package, then deploys dev and then prod (OIDC, what-if, the templates with a
.bicepparam, the package, a smoke check); every action is pinned; Dependabot keeps them fresh."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import app_functions
from tests.infra.bicep_tree import literal, params, parse_file

ROOT = Path(__file__).resolve().parents[2]
GITHUB = ROOT / ".github"
WORKFLOWS = GITHUB / "workflows"
NEVER_DEPLOYED = {"devhost", "tests", "bench", "infra", "docs", "scripts"}
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$")


def load(path: Path) -> dict[str, Any]:
    document = yaml.safe_load(path.read_text())
    assert isinstance(document, dict)
    # YAML 1.1 reads the bare key `on` as True.
    if True in document:
        document["on"] = document.pop(True)
    return document


def steps(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for job in workflow["jobs"].values() for step in job.get("steps", [])]


def runs(workflow: dict[str, Any]) -> str:
    return "\n".join(step.get("run", "") for step in steps(workflow))


def uses(workflow: dict[str, Any], action: str) -> list[dict[str, Any]]:
    return [step for step in steps(workflow) if step.get("uses", "").split("@")[0] == action]


def named(workflow: dict[str, Any], prefix: str) -> dict[str, Any]:
    (step,) = [step for step in steps(workflow) if step.get("name", "").startswith(prefix)]
    return step


ALL_WORKFLOWS = sorted(WORKFLOWS.glob("*.yml"))


def runtime_python() -> str:
    """The Python the Function App runs (functionapp.bicep): CI tests on it, the deploy
    workflow builds and replays on it."""
    root = parse_file(ROOT / "infra" / "modules" / "functionapp.bicep")
    return str(literal(params(root)["pythonVersion"].default))


@pytest.fixture(scope="module")
def ci() -> dict[str, Any]:
    return load(WORKFLOWS / "ci.yml")


@pytest.fixture(scope="module")
def deploy() -> dict[str, Any]:
    return load(WORKFLOWS / "deploy.yml")


@pytest.fixture(scope="module")
def environment() -> dict[str, Any]:
    """The reusable workflow that deploys one environment; deploy.yml calls it for dev and prod."""
    return load(WORKFLOWS / "deploy-environment.yml")


# Every workflow ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ALL_WORKFLOWS, ids=lambda path: path.name)
def test_every_action_is_pinned_to_a_commit_with_its_version(path: Path) -> None:
    references = [
        line.split("uses:", 1)[1].strip()
        for line in path.read_text().splitlines()
        if line.strip().removeprefix("- ").startswith("uses:")
    ]
    assert references
    for reference in references:
        if reference.startswith("./"):
            continue  # a workflow of this repository, read from the same commit
        assert PINNED.match(reference), f"{path.name}: {reference!r} is not `@<sha> # vX.Y.Z`"


@pytest.mark.parametrize("path", ALL_WORKFLOWS, ids=lambda path: path.name)
def test_permissions_are_granted_per_job_and_nothing_by_default(path: Path) -> None:
    workflow = load(path)
    assert workflow["permissions"] == {}
    for name, job in workflow["jobs"].items():
        assert "permissions" in job, f"{path.name}: job {name} does not say what it needs"
        granted = job["permissions"]
        assert granted.get("contents") in (None, "read"), f"{path.name}: {name}"
        writes = {scope for scope, level in granted.items() if level == "write"}
        assert writes <= {"id-token"}, f"{path.name}: {name} may write {writes}"


@pytest.mark.parametrize("path", ALL_WORKFLOWS, ids=lambda path: path.name)
def test_only_the_jobs_that_log_in_to_azure_get_an_oidc_token(path: Path) -> None:
    for name, job in load(path)["jobs"].items():
        logs_in = any(
            step.get("uses", "").startswith("azure/login@") for step in job.get("steps", [])
        )
        calls_a_deployment = job.get("uses", "").endswith("/deploy-environment.yml")
        wants_token = job["permissions"].get("id-token") == "write"
        assert wants_token == (logs_in or calls_a_deployment), f"{path.name}: job {name}"


@pytest.mark.parametrize("path", ALL_WORKFLOWS, ids=lambda path: path.name)
def test_no_expression_is_expanded_inside_a_script(path: Path) -> None:
    """`${{ }}` in `run:` is pasted into the script before it runs: values go through env."""
    for step in steps(load(path)):
        assert "${{" not in step.get("run", ""), f"{path.name}: {step.get('name', step)}"


@pytest.mark.parametrize("path", ALL_WORKFLOWS, ids=lambda path: path.name)
def test_no_secrets_and_no_persisted_git_credentials(path: Path) -> None:
    text = path.read_text()
    assert "secrets." not in text and "secrets: inherit" not in text
    assert "publish-profile" not in text and "client-secret" not in text
    for step in uses(load(path), "actions/checkout"):
        assert step["with"]["persist-credentials"] is False


@pytest.mark.parametrize("path", ALL_WORKFLOWS, ids=lambda path: path.name)
def test_no_dangerous_triggers(path: Path) -> None:
    triggers = load(path)["on"]
    assert not {"workflow_run", "pull_request_target"} & set(triggers)


# CI ------------------------------------------------------------------------------------------


def test_ci_runs_on_push_and_pull_request_and_can_be_called(ci: dict[str, Any]) -> None:
    assert {"push", "pull_request", "workflow_call"} <= set(ci["on"])


def test_ci_runs_the_ci_entry_point_on_the_runtime_python(ci: dict[str, Any]) -> None:
    assert "bash .ci/run" in runs(ci)
    assert (ROOT / ".ci" / "run").is_file()
    (setup,) = uses(ci, "actions/setup-python")
    assert str(setup["with"]["python-version"]) == runtime_python()
    assert uses(ci, "actions/checkout")


def test_ci_compiles_and_lints_the_bicep(ci: dict[str, Any]) -> None:
    script = runs(ci)
    assert "az bicep build --file infra/main.bicep" in script
    # A compiler warning fails the build; bicepconfig.json makes linter warnings errors.
    assert 'if grep -q "Warning" "$RUNNER_TEMP/build.log"; then' in script
    assert "for params in infra/*.bicepparam" in script
    assert 'az bicep build-params --file "$params"' in script
    assert "az bicep lint --file infra/main.bicep" in script


# Deploy: the flow ----------------------------------------------------------------------------


def test_deploy_runs_on_pushes_to_main_and_by_hand(deploy: dict[str, Any]) -> None:
    assert deploy["on"]["push"]["branches"] == ["main"]
    options = deploy["on"]["workflow_dispatch"]["inputs"]["environment"]["options"]
    assert options == ["dev", "prod"]
    for name in options:
        assert (ROOT / "infra" / f"{name}.bicepparam").is_file()


def test_deploy_runs_ci_then_packages_then_dev_then_prod(deploy: dict[str, Any]) -> None:
    jobs = deploy["jobs"]
    assert jobs["ci"]["uses"] == "./.github/workflows/ci.yml"
    assert jobs["package"]["needs"] == "ci"
    assert jobs["dev"]["needs"] == "package"
    assert jobs["prod"]["needs"] == ["dev", "replay-check"]
    assert "refs/heads/main" in jobs["prod"]["if"]


def test_prod_waits_for_the_recorded_histories_to_replay(deploy: dict[str, Any]) -> None:
    """replay-check exits 1 when any recorded history diverges from this commit's code, so a
    change that would break instances in flight never reaches production (docs/releases.md)."""
    gate = {"jobs": {"replay-check": deploy["jobs"]["replay-check"]}}
    (setup,) = uses(gate, "actions/setup-python")
    assert str(setup["with"]["python-version"]) == runtime_python()
    script = named(gate, "Replay tests/histories")["run"]
    assert "-r requirements-dev.txt" in script
    assert script.strip().endswith("python -m devhost replay-check tests/histories")
    assert any((ROOT / "tests" / "histories").rglob("*.json"))


def test_dev_and_prod_deploy_through_their_github_environments(deploy: dict[str, Any]) -> None:
    jobs = deploy["jobs"]
    for job, environment, github_environment, smoke_claim in [
        ("dev", "dev", "dev", True),
        # "production" carries the required reviewers; its partners are live, so the smoke
        # check there must not start a claim that would be paid.
        ("prod", "prod", "production", False),
    ]:
        assert jobs[job]["uses"] == "./.github/workflows/deploy-environment.yml"
        assert jobs[job]["with"] == {
            "environment": environment,
            "github-environment": github_environment,
            # What-if runs where nobody approves, so its report precedes any approval.
            "what-if-environment": "dev" if job == "dev" else "production-what-if",
            "smoke-claim": smoke_claim,
        }


# Deploy: the package -------------------------------------------------------------------------


def test_the_package_is_built_by_the_tested_script(deploy: dict[str, Any]) -> None:
    """scripts/package.py builds it here and in tests/infra/test_package.py alike."""
    package = {"jobs": {"package": deploy["jobs"]["package"]}}
    (setup,) = uses(package, "actions/setup-python")
    assert str(setup["with"]["python-version"]) == runtime_python()
    assert "cache" not in setup["with"], "what is deployed never comes from a cache"
    assert not uses(package, "actions/cache")
    script = named(package, "Build the package")["run"]
    assert 'python scripts/package.py --output "$RUNNER_TEMP/app.zip"' in script
    # pathspec and uv at the versions make test uses, from requirements-dev.txt.
    for tool in ("pathspec", "uv"):
        assert f"\"$(grep '^{tool}' requirements-dev.txt)\"" in script
        assert re.search(rf"^{tool}~=", (ROOT / "requirements-dev.txt").read_text(), re.MULTILINE)


def test_funcignore_keeps_dev_only_folders_out_of_the_package() -> None:
    """.funcignore decides what ships; the workflow's own list only backs it up."""
    ignored = set((ROOT / ".funcignore").read_text().split())
    assert {f"{folder}/" for folder in NEVER_DEPLOYED} <= ignored


def test_the_package_is_handed_from_the_build_to_the_deployments(
    deploy: dict[str, Any], environment: dict[str, Any]
) -> None:
    (upload,) = uses(deploy, "actions/upload-artifact")
    (download,) = uses(environment, "actions/download-artifact")
    assert upload["with"]["name"] == download["with"]["name"]
    assert upload["with"]["if-no-files-found"] == "error"


# Deploy: one environment ---------------------------------------------------------------------


def test_an_environment_is_deployed_only_when_called(environment: dict[str, Any]) -> None:
    assert set(environment["on"]) == {"workflow_call"}
    inputs = environment["on"]["workflow_call"]["inputs"]
    assert inputs["environment"]["required"] and inputs["github-environment"]["required"]


def test_each_environment_deploys_one_at_a_time(environment: dict[str, Any]) -> None:
    job = environment["jobs"]["deploy"]
    assert job["environment"]["name"] == "${{ inputs.github-environment }}"
    assert job["concurrency"]["group"] == "deploy-${{ inputs.environment }}"
    assert job["concurrency"]["cancel-in-progress"] is False


@pytest.mark.parametrize("job", ["what-if", "deploy"])
def test_both_jobs_log_in_with_oidc_after_checking_the_variables(
    environment: dict[str, Any], job: str
) -> None:
    spec = environment["jobs"][job]
    assert spec["permissions"] == {"contents": "read", "id-token": "write"}
    (login,) = uses({"jobs": {job: spec}}, "azure/login")
    assert login["with"] == {
        "client-id": "${{ vars.AZURE_CLIENT_ID }}",
        "tenant-id": "${{ vars.AZURE_TENANT_ID }}",
        "subscription-id": "${{ vars.AZURE_SUBSCRIPTION_ID }}",
    }
    assert spec["env"]["AZURE_RESOURCE_GROUP"] == "${{ vars.AZURE_RESOURCE_GROUP }}"
    assert spec["env"]["AUTH_CLIENT_ID"] == "${{ vars.AUTH_CLIENT_ID }}"
    order = [step.get("name") for step in spec["steps"]]
    check = order.index("Check the environment's variables")
    logins = [step.get("uses", "").startswith("azure/login@") for step in spec["steps"]]
    assert check < logins.index(True)
    assert spec["steps"][check]["run"] == "bash scripts/check-azure-variables.sh"


def test_the_variables_check_names_each_missing_variable(tmp_path: Path) -> None:
    script = ROOT / "scripts" / "check-azure-variables.sh"
    env = {"PATH": "/usr/bin:/bin", "AZURE_CLIENT_ID": "id", "AZURE_RESOURCE_GROUP": "rg"}
    failed = subprocess.run(["bash", script], env=env, capture_output=True, text=True)
    assert failed.returncode == 1
    assert failed.stdout.splitlines() == [
        "::error::variable AZURE_TENANT_ID is not set for this GitHub environment",
        "::error::variable AZURE_SUBSCRIPTION_ID is not set for this GitHub environment",
        "::error::variable AUTH_CLIENT_ID is not set for this GitHub environment",
    ]
    env |= {"AZURE_TENANT_ID": "t", "AZURE_SUBSCRIPTION_ID": "s", "AUTH_CLIENT_ID": "app"}
    assert subprocess.run(["bash", script], env=env).returncode == 0


def test_what_if_reports_in_its_own_job_before_any_approval(environment: dict[str, Any]) -> None:
    """The deploy job, the one gated by the environment's reviewers, needs the what-if job, so
    the what-if report is in the run's summary when approval is asked for."""
    jobs = environment["jobs"]
    assert jobs["deploy"]["needs"] == "what-if"
    assert jobs["what-if"]["environment"]["name"] == "${{ inputs.what-if-environment }}"
    assert jobs["deploy"]["environment"]["name"] == "${{ inputs.github-environment }}"
    what_if = named({"jobs": {"what-if": jobs["what-if"]}}, "What-if")["run"]
    assert '>> "$GITHUB_STEP_SUMMARY"' in what_if
    assert "--validation-level ProviderNoRbac" in what_if
    create = named({"jobs": {"deploy": jobs["deploy"]}}, "Deploy the infrastructure")["run"]
    for script, command in [(what_if, "what-if"), (create, "create")]:
        assert f"az deployment group {command}" in script
        assert "--template-file infra/main.bicep" in script
        assert '--parameters "infra/${ENVIRONMENT}.bicepparam"' in script
    assert "--query properties.outputs" in create
    for output in ("functionAppName", "functionAppHostName"):
        assert output in create


def test_the_built_package_is_published_with_retries_while_new_roles_spread(
    environment: dict[str, Any],
) -> None:
    """The identity that uploads the package got its role on the container in the same run."""
    step = named(environment, "Deploy the app")
    assert step["env"]["PACKAGE"].endswith("/package/app.zip")
    assert step["env"]["FUNCTION_APP_NAME"] == "${{ steps.infra.outputs.function-app-name }}"
    script = step["run"]
    assert "for attempt in 1 2 3 4 5 6; do" in script
    assert "az functionapp deployment source config-zip" in script
    assert '--src "$PACKAGE" --build-remote false; then' in script
    assert "pause=$((attempt * 20))" in script and 'sleep "$pause"' in script
    assert script.rstrip().endswith("exit 1")


@pytest.mark.parametrize("name", ["ci.yml", "deploy-environment.yml"])
def test_the_bicep_cli_is_pinned_to_one_version(name: str) -> None:
    workflow = load(WORKFLOWS / name)
    pins = {
        job.get("env", {}).get("BICEP_VERSION") or workflow.get("env", {}).get("BICEP_VERSION")
        for job in workflow["jobs"].values()
        if any("az bicep" in step.get("run", "") or "az deployment" in step.get("run", "")
               for step in job.get("steps", []))
    }  # fmt: skip
    assert pins == {"v0.47.16"}
    installs = [line.strip() for line in runs(workflow).splitlines() if "az bicep install" in line]
    assert installs and set(installs) == {'az bicep install --version "$BICEP_VERSION"'}


def test_bicepconfig_turns_every_warning_rule_into_an_error() -> None:
    """The rules the Bicep linter reports at warning level by default (learn.microsoft.com,
    "Use Bicep linter", default rules); the templates silence a rule only on one line, with a
    reason."""
    warning_by_default = {
        "adminusername-should-not-be-literal", "artifacts-parameters", "decompiler-cleanup",
        "no-conflicting-metadata", "no-deployments-resources", "no-explicit-any",
        "no-hardcoded-env-urls", "no-unnecessary-dependson", "no-unused-existing-resources",
        "no-unused-imports", "no-unused-params", "no-unused-vars",
        "outputs-should-not-contain-secrets", "prefer-interpolation",
        "prefer-unquoted-property-names", "protect-commandtoexecute-secrets",
        "secure-parameter-default", "secure-params-in-nested-deploy", "secure-secrets-in-params",
        "simplify-interpolation", "simplify-json-null", "use-parent-property",
        "use-recent-az-powershell-version", "use-resource-symbol-reference", "use-safe-access",
        "use-secure-value-for-secure-inputs", "use-stable-resource-identifiers",
        "use-stable-vm-image",
    }  # fmt: skip
    config = json.loads((ROOT / "infra" / "bicepconfig.json").read_text())
    core = config["analyzers"]["core"]
    assert core["enabled"] is True
    assert {rule for rule, spec in core["rules"].items() if spec["level"] == "error"} == (
        warning_by_default
    )
    for path in (ROOT / "infra").rglob("*.bicep"):
        for line in path.read_text().splitlines():
            if "#disable-next-line" in line:
                assert re.search(r"#disable-next-line [\w-]+ // \w+", line) or (
                    "no-unused-params" in line
                ), f"{path.name}: {line.strip()} gives no reason"


def test_the_smoke_check_signs_in_and_holds_no_key(environment: dict[str, Any]) -> None:
    """People and systems sign in; the app's routes take no function key, so the check uses
    only the token asked for at login."""
    order = [step.get("name") for step in steps(environment)]
    assert order[-1] == "Smoke check"
    script = named(environment, "Smoke check")["run"]
    assert "functionapp keys" not in script and "x-functions-key" not in script
    assert (
        'SMOKE_ACCESS_TOKEN=$ACCESS_TOKEN bash scripts/smoke.sh "https://$FUNCTION_APP_HOST"'
        in (script)
    )
    assert 'header = "Authorization: Bearer %s"' in script
    assert named(environment, "Smoke check")["env"]["SMOKE_CLAIM"] == "${{ inputs.smoke-claim }}"


def logs_in(step: dict[str, Any]) -> bool:
    return step.get("uses", "").split("@")[0] == "azure/login"


@pytest.mark.parametrize("path", ALL_WORKFLOWS, ids=lambda path: path.name)
def test_tokens_are_asked_for_right_after_the_azure_login(path: Path) -> None:
    """azure/login signs Azure CLI in with GitHub's OIDC assertion, which expires minutes later;
    a token for another resource asked for after that (after a deployment, after the publish
    retries) is refused with AADSTS700024 (Azure/azure-cli#28708). So a step that asks for a
    token comes directly after the login, and nothing later asks for one."""
    for name, job in load(path)["jobs"].items():
        job_steps = job.get("steps", [])
        for index, step in enumerate(job_steps):
            if "get-access-token" not in step.get("run", ""):
                continue
            assert index > 0 and logs_in(job_steps[index - 1]), (
                f"{path.name}: job {name}, step {step.get('name')!r} does not directly follow "
                "azure/login"
            )


def test_the_smoke_check_uses_the_token_asked_for_at_login(environment: dict[str, Any]) -> None:
    job = {"jobs": {"deploy": environment["jobs"]["deploy"]}}
    token_step = named(job, "Get the API token")
    script = token_step["run"]
    assert 'az account get-access-token --resource "api://$AUTH_CLIENT_ID"' in script
    # Masked before it is written anywhere a later step or the log could show it.
    assert script.index('echo "::add-mask::$token"') < script.index('>> "$GITHUB_OUTPUT"')
    assert 'echo "access-token=$token" >> "$GITHUB_OUTPUT"' in script
    smoke = named(job, "Smoke check")
    assert smoke["env"]["ACCESS_TOKEN"] == (
        "${{ steps." + token_step["id"] + ".outputs.access-token }}"
    )
    assert "get-access-token" not in smoke["run"]
    assert "SMOKE_ACCESS_TOKEN=$ACCESS_TOKEN bash scripts/smoke.sh" in smoke["run"]
    assert '"Authorization: Bearer %s"\\n\' "$ACCESS_TOKEN"' in smoke["run"]
    # The token right after the login, every step that runs long (the deployment, the publish
    # retries, the smoke check's waits) after the token.
    order = [step.get("name") for step in job["jobs"]["deploy"]["steps"]]
    token_at = order.index(token_step["name"])
    assert logs_in(job["jobs"]["deploy"]["steps"][token_at - 1])
    for later in ("Deploy the infrastructure", "Deploy the app", "Smoke check"):
        assert order.index(later) > token_at


def test_the_deploy_summary_links_the_console(environment: dict[str, Any]) -> None:
    """The console page is served at /api/console (api/console.py, host.json's routePrefix)
    and signs people in itself, so it is excluded from App Service Authentication."""
    script = named(environment, "Deploy the infrastructure")["run"]
    assert 'echo "- console: https://$host/api/console" >> "$GITHUB_STEP_SUMMARY"' in script
    host_json = json.loads((ROOT / "host.json").read_text())
    assert host_json["extensions"]["http"]["routePrefix"] == "api"
    routes = {
        function.get_trigger().route
        for function in app_functions()
        if function.get_trigger().type == "httpTrigger"
    }
    assert "console" in routes
    anonymous = params(parse_file(ROOT / "infra" / "modules" / "functionapp.bicep"))[
        "anonymousPaths"
    ]
    assert "'/api/console'" in anonymous.default.text.decode()


def test_prod_deployments_get_the_partner_urls(environment: dict[str, Any]) -> None:
    for job in environment["jobs"].values():  # what-if reads prod.bicepparam as well
        assert job["env"]["PARTNER_BASE_URLS"] == "${{ vars.PARTNER_BASE_URLS }}"
    prod = (ROOT / "infra" / "prod.bicepparam").read_text()
    assert "readEnvironmentVariable('PARTNER_BASE_URLS'" in prod


# Dependabot ----------------------------------------------------------------------------------


def test_dependabot_updates_pip_and_the_actions_weekly() -> None:
    config = load(GITHUB / "dependabot.yml")
    updates = {update["package-ecosystem"]: update for update in config["updates"]}
    assert set(updates) == {"pip", "github-actions"}
    for update in updates.values():
        assert update["directory"] == "/"
        assert update["schedule"]["interval"] == "weekly"
        assert update["groups"], "one pull request per group, not one per package"
