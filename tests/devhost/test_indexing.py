"""How devhost indexes an app and names its functions, as the Python worker, the Functions host
and the Durable extension do.

Sources read: azure-functions-python-worker 4.34.0 (loader.py index_function_app, functions.py
Registry.add_indexed_function, dispatcher.py _get_context, bindings/context.py), azure-functions
-host 4.1036 (WorkerFunctionMetadataProvider.ValidateFunctionMetadata, Utility.ValidateName and
FunctionNameValidationRegex, FunctionMetadataManager.LoadFunctionMetadata, ScriptHost
.ValidateFunction / ValidateHttpFunction / HttpRoutesConflict, FunctionInvocationMiddleware,
GrpcWorkerChannel "Worker failed to index functions"), azure-webjobs-sdk HostListenerFactory
.IsDisabled, and the Durable extension of 2024-10-23 (Orchestration/Activity/EntityTrigger
AttributeBindingProvider, FunctionName, DurableTaskExtension).
"""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from devhost.app.config import ConfigError
from devhost.app.loader import FunctionIndex, load_app
from devhost.testing import DevHost, command
from devhost.worker.invocations import HOST_CALL
from tests.devhost.support import APPS, WEBHOOKS, start, unique

NAMES = APPS / "names"
DISABLING = {
    "AzureWebJobs.retired.Disabled": "true",
    "AzureWebJobs_paused_Disabled": "1",
    "azurewebjobs.HIDDEN.disabled": "True",
    "AzureWebJobs.every_minute.Disabled": "1",
    "AzureWebJobs.probe.Disabled": "false",
}


@pytest.fixture
def load(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[Path], FunctionIndex]]:
    """load_app in this process, leaving sys.path and sys.modules as they were: the project's
    own `function_app` module must be the one later tests import, whether or not one had
    imported it before (monkeypatch.delitem restores nothing when the key was absent)."""
    monkeypatch.setattr(sys, "path", list(sys.path))
    before = sys.modules.pop("function_app", None)
    yield load_app
    sys.modules.pop("function_app", None)
    if before is not None:
        sys.modules["function_app"] = before


@pytest.fixture
def names_index(load, monkeypatch: pytest.MonkeyPatch) -> FunctionIndex:
    for setting, value in DISABLING.items():
        monkeypatch.setenv(setting, value)
    return load(NAMES)


def test_durable_functions_are_registered_under_their_trigger_name(names_index):
    """OrchestrationTriggerAttributeBindingProvider.TryCreateAsync (and the Activity and
    Entity ones): "[OrchestrationTrigger], [FunctionName], method name" — the decorator's
    `orchestration=`, `activity=`, `entity_name=` (binding keys `orchestration`, `activity`,
    `entityName`) first, the function name otherwise."""
    assert "HelloCities" in list(names_index.orchestrators)
    assert "hello_cities" not in names_index.orchestrators
    assert "SayHello" in list(names_index.activities)
    assert "say_hello" not in names_index.activities
    assert list(names_index.entities) == ["Counter"]
    assert names_index.activities["SayHello"].name == "say_hello"  # func.Context's name


def test_durable_names_match_ignoring_case(names_index):
    """FunctionName.Equals and GetHashCode use OrdinalIgnoreCase, and the extension's
    knownOrchestrators / knownActivities / knownEntities are keyed by FunctionName."""
    assert "HELLOCITIES" in names_index.orchestrators
    assert "one_city" in names_index.orchestrators
    assert names_index.activities.runnable("sayhello")
    assert names_index.entities.runnable("COUNTER")


def test_app_settings_disable_functions(names_index):
    """HostListenerFactory.IsDisabled: `AzureWebJobs.<name>.Disabled` or
    `AzureWebJobs_<name>_Disabled` set to 1 or true (IConfiguration ignores the case of keys
    and IsSettingEnabled the case of values). A disabled HTTP function answers 404
    (FunctionInvocationMiddleware), a disabled timer has no listener, and a disabled Durable
    function stays known to the extension by name, with no executor to run it. A disabled
    HTTP function keeps its route (the request finds it, then answers 404)."""
    assert sorted(names_index.disabled) == ["every_minute", "hidden", "paused", "retired"]
    assert [f.disabled for f in names_index.http if f.name in ("hidden", "probe")] == [True, False]
    assert "every_minute" not in [f.name for f in names_index.timers]
    assert "retired" in names_index.orchestrators
    assert not names_index.orchestrators.runnable("retired")
    assert not names_index.activities.runnable("paused")


def test_the_host_leaves_out_functions_it_refuses(names_index):
    """WorkerFunctionMetadataProvider.ValidateFunctionMetadata (Utility.ValidateName) and
    ScriptHost.ValidateFunction, in FunctionMetadataManager's order (by name, ignoring
    case): each refused function is logged "in error" and left out, the rest runs."""
    assert {(f.name, f.problem) for f in names_index.left_out} == {
        ("host", "'host' is not a valid function name."),
        (
            "probe_again",
            "The route specified conflicts with the route defined by function 'probe'.",
        ),
        ("runtime_info", "The specified route conflicts with one or more built in routes."),
    }
    served = {name for name, _ in names_index.describe()}
    assert not served & {"host", "probe_again", "runtime_info"}


APP_HEAD = """
import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)
"""

REFUSED = {
    "a parameter no binding names": (
        """
        @app.activity_trigger(input_name="city")
        def greet(city: str, country: str) -> str:
            return city
        """,
        "cannot load the greet function: the following parameters are declared in Python but "
        "not in function.json: {'country'}",
    ),
    "a binding naming no parameter": (
        """
        @app.route(route="r", trigger_arg_name="request")
        def answer() -> str:
            return "hi"
        """,
        "cannot load the answer function: the following parameters are declared in "
        "function.json but not in Python: {'request'}",
    ),
    "an annotation that is no class": (
        """
        @app.activity_trigger(input_name="order")
        def tally(order: dict[str, int]) -> int:
            return sum(order.values())
        """,
        "cannot load the tally function: binding order has invalid non-type annotation "
        "dict[str, int]",
    ),
    "an HTTP return annotation its binding cannot take": (
        """
        @app.route(route="r")
        def answer(req: func.HttpRequest) -> dict:
            return {}
        """,
        'cannot load the answer function: Python return annotation "dict" does not match '
        'binding type "http"',
    ),
    "a context parameter of another type": (
        """
        @app.route(route="r")
        def answer(req: func.HttpRequest, context: str) -> str:
            return "hi"
        """,
        'cannot load the answer function: the "context" parameter is expected to be of type '
        "azure.functions.Context, got <class 'str'>",
    ),
    "an orchestrator's context under another name": (
        """
        @app.orchestration_trigger(context_name="ctx")
        def conduct(ctx):
            return None
        """,
        'cannot load the conduct function: the "context" parameter is expected to be of type '
        "azure.functions.Context, got <class 'azure.functions._durable_functions."
        "OrchestrationContext'>",
    ),
    "two function apps": (
        """
        second = func.FunctionApp()
        """,
        "More than one DFApp or other top level function app instances are defined.",
    ),
}


@pytest.mark.parametrize("case", REFUSED)
def test_the_worker_refuses_to_index_and_devhost_does_not_start(case, load, tmp_path: Path):
    """loader.index_function_app and Registry.add_indexed_function raise (FunctionLoadError:
    "cannot load the {name} function: ..."), the worker answers the metadata request with a
    failure, and the host logs "Worker failed to index functions" and runs no function
    (GrpcWorkerChannel). devhost refuses to start, in the worker's words. An orchestrator's
    context must be named `context`: the worker checks the SDK's handle(context), not the
    decorated function (Orchestrator.create; durabletask-python #171)."""
    code, problem = REFUSED[case]
    (tmp_path / "function_app.py").write_text(APP_HEAD + textwrap.dedent(code))
    with pytest.raises(ConfigError) as refused:
        load(tmp_path)
    message = str(refused.value)
    assert message.startswith("Worker failed to index functions: ")
    assert problem in message
    assert "On Azure the app would run with no functions" in message


def test_names_reach_the_host_as_plain_text(load, tmp_path: Path):
    """The worker reports each binding to the host as JSON (python-worker 4.34
    loader.get_raw_bindings), so a name given as an app's StrEnum reaches the host as its
    plain value: the host reads the index without importing the app's modules."""
    code = """
        class Step(enum.StrEnum):
            GREET = "Greet"

        @app.activity_trigger(input_name="city", activity=Step.GREET)
        def greet_city(city: str) -> str:
            return city
        """
    (tmp_path / "function_app.py").write_text("import enum\n" + APP_HEAD + textwrap.dedent(code))
    index = load(tmp_path).without_code()
    assert [(name, type(name)) for name in index.activities] == [("Greet", str)]


def test_start_fails_naming_the_function_and_the_reason(tmp_path: Path):
    """The start command exits 1, as on any start failure, with the worker's words."""
    code, problem = REFUSED["a parameter no binding names"]
    (tmp_path / "function_app.py").write_text(APP_HEAD + textwrap.dedent(code))
    result = command("start", "--app", str(tmp_path), "--hub", str(tmp_path / "h.sqlite"))
    assert result.returncode == 1
    assert problem in result.stderr
    assert "Worker failed to index functions" in result.stderr


# -- over HTTP, one host ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def host(devhost_factory) -> DevHost:
    return devhost_factory(NAMES, "--clock", "manual")


def test_orchestrations_start_and_call_by_trigger_names_in_any_case(host: DevHost):
    """DurableClient.StartNewAsync checks ThrowIfFunctionDoesNotExist (ignoring case) and
    creates the instance under the name it was given; calls reach functions by their
    registered names in any case."""
    for given in ("HelloCities", "hellocities"):
        instance_id = start(host, given, unique("hello"))
        done = host.wait_for(instance_id)
        assert done["runtimeStatus"] == "Completed", done
        assert done["name"] == given
        assert done["output"] == {"greetings": ["Hello Tokyo", "Hello Lima"], "total": 2}
    refused = host.http.post(f"{WEBHOOKS}/orchestrators/hello_cities")
    assert refused.status_code == 400
    assert "The function 'hello_cities' doesn't exist" in refused.text


def test_disabled_functions_are_not_run(host: DevHost):
    """A disabled HTTP function answers 404, unless the request carries the master key
    (azure-functions-host 4.1036 FunctionInvocationMiddleware.GetResultAsync); a disabled
    orchestrator is accepted (its name is known) and fails with the extension's message
    (OrchestrationMiddleware); a call to a disabled activity fails the caller, saying Azure
    would hang; a disabled timer never fires."""
    assert host.http.get("/api/hidden").status_code == 404
    assert (
        host.http.get(
            "/api/hidden", params={"code": host.keys()["functionKeys"]["default"]}
        ).status_code
        == 404
    )
    master = host.http.get("/api/hidden", headers={"x-functions-key": host.keys()["master"]})
    assert (master.status_code, master.text) == (200, "ran")

    retired = start(host, "retired", unique("retired"))
    failed = host.wait_for(retired)
    assert failed["runtimeStatus"] == "Failed"
    assert "The function 'retired' doesn't exist, is disabled" in str(failed["output"])

    caller = host.wait_for(start(host, "calls_paused", unique("paused")))
    assert caller["runtimeStatus"] == "Failed"
    assert "The function 'paused' doesn't exist, is disabled" in str(caller["output"])

    host.advance(minutes=2)
    assert host.http.get(f"{WEBHOOKS}/instances/every-minute-ran").status_code == 404


def test_left_out_functions_are_missing_and_named_at_start(host: DevHost):
    """The rest of the app runs; each refused function is logged with the host's message
    and listed in the banner."""
    assert host.http.get("/api/runtime-info").status_code == 404
    assert host.http.get("/api/home").status_code == 404
    assert host.http.post("/api/probe").json()["function_name"] == "probe"
    assert host.log is not None
    output = host.log.read_text()
    assert (
        "The 'probe_again' function is in error: The route specified conflicts with the route "
        "defined by function 'probe'." in output
    )
    assert "Functions in error, left out as on Azure:" in output
    assert "host: 'host' is not a valid function name." in output


def test_the_context_parameter_is_the_workers(host: DevHost):
    """dispatcher._get_context: the function's name and directory (the folder of the file
    defining it), the invocation id the host logs the invocation under (also in
    thread_local_storage), a W3C trace context and an empty retry context when no retry
    policy applies."""
    first = host.http.get("/api/probe").json()
    second = host.http.get("/api/probe").json()
    assert first["function_name"] == "probe"
    assert Path(first["function_directory"]) == NAMES
    assert first["invocation_id"] != second["invocation_id"]
    assert first["thread_invocation_id"] == first["invocation_id"]
    assert host.log is not None
    assert f"Executing 'Functions.probe' (Reason='{HOST_CALL}', Id={first['invocation_id']})" in (
        host.log.read_text()
    )
    version, trace_id, span_id, flags = first["trace_parent"].split("-")
    assert (version, len(trace_id), len(span_id), flags) == ("00", 32, 16, "01")
    assert (first["trace_state"], first["retry_count"], first["max_retry_count"]) == ("", 0, 0)
