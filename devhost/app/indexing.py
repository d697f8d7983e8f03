"""Index an app as the Python worker and the Functions host do, with their words.

The worker (azure-functions-python-worker 4.34 loader.py `index_function_app`, functions.py
`Registry.add_indexed_function`) takes the one function app in function_app.py and checks each
function's parameters against its bindings. Any failure fails the whole metadata request: the
host logs "Worker failed to index functions" (azure-functions-host 4.1036
GrpcWorkerChannel.ProcessFunctionMetadataResponses) and the app runs with no functions. That is
quiet on Azure, so devhost refuses to start and says why.

The host then validates each function on its own (WorkerFunctionMetadataProvider
.ValidateFunctionMetadata: Utility.ValidateName; ScriptHost.ValidateFunction: reserved and
conflicting routes) and leaves out one that fails, logging "The '{name}' function is in
error: ..." while the rest of the app runs. devhost does the same, loudly.
"""

from __future__ import annotations

import inspect
import json
import os
import re
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import azure.functions as func
from azure.functions.decorators.utils import StringifyEnumJsonEncoder

from devhost.app.config import ConfigError
from devhost.app.timer_schedules import ScheduleError, indexing_error, parse_schedule

ON_AZURE = (
    "On Azure the app would run with no functions: the worker refuses to index it, and the "
    'host logs "Worker failed to index functions".'
)
#: azure-functions-host 4.1036 Utility.FunctionNameValidationRegex (RegexOptions.IgnoreCase).
VALID_NAME = re.compile(r"^[a-z][a-z0-9_\-]{0,127}$(?<!^host$)", re.IGNORECASE)


@dataclass(frozen=True)
class Indexed:
    """One function as the worker reports it to the host."""

    name: str
    handler: Any
    trigger: dict[str, Any]
    directory: str
    context_param: str | None
    client_param: str | None
    # the (taskHub, connectionName) its durableClient binding names, when it names either
    client_hub: tuple[str | None, str | None] | None = None

    @property
    def route(self) -> str:
        """An HTTP trigger's route, the function name when it names none
        (ScriptHost.ValidateHttpFunction)."""
        return str(self.trigger.get("route") or self.name).strip("/")


def index_worker(module: types.ModuleType) -> list[Indexed]:
    """The functions of the one function app in `module`, or a ConfigError in the worker's
    words when it would refuse to index them."""
    try:
        return [_checked(function) for function in _the_app(module).get_functions()]
    except Exception as error:  # as the worker's metadata request fails, on any exception
        problem = f"{type(error).__name__}: {error}"
        raise ConfigError(f"Worker failed to index functions: {problem}\n{ON_AZURE}") from None


def _the_app(module: types.ModuleType) -> func.FunctionRegister:
    """loader.index_function_app: exactly one FunctionRegister among the module's names."""
    app: func.FunctionRegister | None = None
    for name in module.__dir__():
        value = getattr(module, name, None)
        if not isinstance(value, func.FunctionRegister):
            continue
        if app is not None:
            raise ValueError(
                f"More than one {type(app).__name__} or other top level function app "
                "instances are defined."
            )
        app = value
    if app is None:
        raise ValueError("Could not find top level function app instances in function_app.py.")
    return app


class FunctionLoadError(Exception):
    """functions.FunctionLoadError: `cannot load the {name} function: {msg}`."""

    def __init__(self, function_name: str, message: str) -> None:
        super().__init__(f"cannot load the {function_name} function: {message}")


def _as_reported(value: Any) -> Any:
    """A name or binding as the worker reports it to the host, in JSON (the function metadata's
    raw bindings): an app's StrEnum arrives as its plain value, so the host never imports the
    app's modules to read a name, as the Functions host never runs Python (the worker's
    loader.get_raw_bindings: `json.dumps(..., cls=StringifyEnumJsonEncoder)`)."""
    return json.loads(json.dumps(value, cls=StringifyEnumJsonEncoder))


def _checked(function: Any) -> Indexed:
    """Registry.add_indexed_function's checks of one function."""
    name: str = _as_reported(function.get_function_name())
    handler = function.get_user_function()
    bindings = [_as_reported(binding.get_dict_repr()) for binding in function.get_bindings()]
    params = dict(inspect.signature(handler).parameters)
    annotations = typing.get_type_hints(handler)
    bound = {b["name"]: b for b in bindings if b["name"] != "$return"}
    context_param = _context_param(name, params, bound, annotations)
    if set(params) - set(bound):
        missing = set(params) - set(bound)
        raise FunctionLoadError(
            name,
            f"the following parameters are declared in Python but not in function.json: "
            f"{missing!r}",
        )
    if set(bound) - set(params):
        extra = set(bound) - set(params)
        raise FunctionLoadError(
            name,
            f"the following parameters are declared in function.json but not in Python: {extra!r}",
        )
    for param in params:
        _check_parameter(name, param, bound[param], annotations)
    returned = next((b for b in bindings if b["name"] == "$return"), None)
    if returned is not None:
        _check_return(name, str(returned["type"]), annotations)
    trigger = next(b for b in bindings if str(b.get("type", "")).endswith("Trigger"))
    client_binding = next((b for b in bindings if b["type"] == "durableClient"), None)
    client = client_binding["name"] if client_binding else None
    hub = client_binding and (client_binding.get("taskHub"), client_binding.get("connectionName"))
    return Indexed(
        name=name,
        handler=handler,
        trigger=trigger,
        # The folder of the file defining the function the worker calls: for one with a
        # durable client input, the SDK's wrapper, as on Azure (functions.py: inspect.getfile).
        directory=str(Path(inspect.getfile(handler)).parent),
        context_param=context_param,
        client_param=client,
        client_hub=(hub[0] or None, hub[1] or None) if hub and any(hub) else None,
    )


def _context_param(
    name: str, params: dict[str, Any], bound: dict[str, Any], annotations: dict[str, Any]
) -> str | None:
    """Registry.is_context_required: a `context` parameter no binding claims gets
    func.Context, and may be annotated only with a class named Context."""
    if "context" not in params or "context" in bound:
        return None
    params.pop("context")
    annotation = annotations.get("context")
    if "context" in annotations and (
        not isinstance(annotation, type) or annotation.__name__ != "Context"
    ):
        raise FunctionLoadError(
            name,
            'the "context" parameter is expected to be of type azure.functions.Context, '
            f"got {annotation!r}",
        )
    return "context"


def _check_parameter(
    name: str, param: str, binding: dict[str, Any], annotations: dict[str, Any]
) -> None:
    """Registry.validate_function_params for an input binding's annotation. Out[...] and
    output bindings are left to the worker: devhost serves no output binding but $return.

    An annotation that is no class and no typing alias (`dict[str, Any]` on Python 3.11+,
    `str | None`) is refused (azure-functions-durable-python #468, open: "Worker failed to
    index functions" for `list[str]`)."""
    if param not in annotations:
        return
    annotation = annotations[param]
    origin = typing.get_origin(annotation)
    if getattr(origin or annotation, "__name__", None) == "Out" or _direction(binding) == "out":
        return
    if not isinstance(annotation, type) and not _is_generic(annotation):
        raise FunctionLoadError(
            name, f"binding {param} has invalid non-type annotation {annotation!r}"
        )
    kind = str(binding["type"])
    if annotation in (str, bytes) and not _has_implicit_output(kind):
        kind = "generic"
    converter = _converter(kind)
    accepts = converter.check_input_type_annotation if converter else _generic_input
    if not accepts(annotation):
        raise FunctionLoadError(
            name,
            f'type of {param} binding in function.json "{binding["type"]}" does not match its '
            f'Python annotation "{annotation.__name__}"',
        )


def _check_return(name: str, kind: str, annotations: dict[str, Any]) -> None:
    """Registry.get_function_return_type for an explicit `$return` binding (an HTTP
    function's): `-> dict` is refused, as its http binding takes HttpResponse or str."""
    if "return" not in annotations:
        return
    annotation = annotations["return"]
    if getattr(typing.get_origin(annotation), "__name__", None) == "Out":
        raise FunctionLoadError(name, "return annotation should not be azure.functions.Out")
    if not isinstance(annotation, type):
        raise FunctionLoadError(name, f"has invalid non-type return annotation {annotation!r}")
    converter = _converter(kind)
    accepts = converter.check_output_type_annotation if converter else _generic_output
    if not accepts(annotation):
        raise FunctionLoadError(
            name,
            f'Python return annotation "{annotation.__name__}" does not match binding type '
            f'"{kind}"',
        )


def _direction(binding: dict[str, Any]) -> str:
    return str(binding.get("direction")).lower()


def _is_generic(annotation: Any) -> bool:
    """The worker's vendored typing_inspect.is_generic_type: typing's generic aliases, not
    Union, tuple, ClassVar or Callable, and not the builtins' `list[int]` (types.GenericAlias,
    which is no type on Python 3.11+ either)."""
    if isinstance(annotation, type):
        return issubclass(annotation, typing.Generic)
    alias = type(annotation).__name__ in ("_GenericAlias", "_SpecialGenericAlias")
    return alias and typing.get_origin(annotation) not in (
        typing.Union,
        tuple,
        typing.ClassVar,
        typing.Callable,
    )


def _converter(kind: str) -> Any:
    """azure.functions' converter for a binding type (the worker's BINDING_REGISTRY), or None."""
    registry: Any = func.get_binding_registry()  # type: ignore[no-untyped-call]
    return registry.get(kind)


def _has_implicit_output(kind: str) -> bool:
    """bindings.meta.has_implicit_output: the converter's answer; a binding azure.functions
    does not know is generic, which has one unless it is a durableClient."""
    converter = _converter(kind)
    if converter is None:
        return kind != "durableClient"
    return bool(getattr(converter, "has_implicit_output", lambda: False)())


def _generic_input(annotation: type) -> bool:
    return issubclass(annotation, (str, bytes))


def _generic_output(annotation: type) -> bool:
    return issubclass(annotation, (str, bytes, bytearray))


class HostChecks:
    """The host's checks of each function the worker reported, in the host's order (by name,
    ignoring case: FunctionMetadataManager.LoadFunctionMetadata), each against those before
    it."""

    def __init__(self) -> None:
        self.routes: dict[str, tuple[str, frozenset[str] | None]] = {}

    def problem(self, function: Indexed) -> str | None:
        """The host's error for a function it leaves out, or None."""
        if not VALID_NAME.match(function.name):
            return f"'{function.name}' is not a valid function name."
        if function.trigger["type"] == "timerTrigger":
            try:
                parse_schedule(str(function.trigger["schedule"]))
            except ScheduleError as problem:
                return indexing_error(function.name, problem)
        if function.trigger["type"] != "httpTrigger":
            return None
        route = function.route
        if route.lower().startswith(("admin", "runtime")):
            return "The specified route conflicts with one or more built in routes."
        methods = function.trigger.get("methods")
        verbs = frozenset(str(m).upper() for m in methods) if methods else None
        for other, (other_route, other_verbs) in self.routes.items():
            if other_route.lower() == route.lower() and (
                verbs is None or other_verbs is None or verbs & other_verbs
            ):
                return (
                    f"The route specified conflicts with the route defined by function '{other}'."
                )
        self.routes[function.name] = (route, verbs)
        return None


def in_host_order(functions: list[Indexed]) -> list[Indexed]:
    """FunctionMetadataManager: `OrderBy(f => f.Name, StringComparer.OrdinalIgnoreCase)`."""
    return sorted(functions, key=lambda f: f.name.upper())


def is_disabled(name: str) -> bool:
    """WebJobs HostListenerFactory.IsDisabled: app setting `AzureWebJobs.<name>.Disabled`, or
    `AzureWebJobs_<name>_Disabled` where dots cannot be in a variable's name, is "1" or
    "true" (IConfiguration: keys and values ignoring case)."""
    wanted = {f"AZUREWEBJOBS.{name}.DISABLED".upper(), f"AZUREWEBJOBS_{name}_DISABLED".upper()}
    return any(
        key.upper() in wanted and value.lower() in ("1", "true")
        for key, value in os.environ.items()
    )
