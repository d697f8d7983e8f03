"""Import an app's function_app.py as the Python worker does and index its functions."""

from __future__ import annotations

import dataclasses
import importlib.util
import inspect
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devhost.app.config import ConfigError


@dataclass(frozen=True)
class InvocationContext:
    """The parts of func.Context a function may read."""

    invocation_id: str
    function_name: str
    function_directory: str = ""

    @classmethod
    def new(cls, function_name: str) -> InvocationContext:
        return cls(str(uuid.uuid4()), function_name)


@dataclass(frozen=True)
class HttpFunction:
    name: str
    route: str
    methods: frozenset[str] | None  # None: every method
    auth_level: str  # anonymous | function | admin
    handler: Callable[..., Any] | None  # None in the host's copy (without_code)
    request_param: str
    client_param: str | None
    context_param: str | None


@dataclass(frozen=True)
class ActivityFunction:
    name: str
    handler: Callable[..., Any] | None  # None in the host's copy (without_code)
    input_param: str
    context_param: str | None
    client_param: str | None = None  # a durableClient input binding, as Azure allows


@dataclass(frozen=True)
class TimerFunction:
    name: str
    schedule: str  # NCRONTAB, TimeSpan or %SETTING% (devhost/engine/schedules.py reads it)
    handler: Callable[..., Any] | None  # None in the host's copy (without_code)
    timer_param: str
    client_param: str | None
    context_param: str | None
    # the binding's runOnStartup and useMonitor, with the host's defaults
    # (azure-functions-host 4.1036 CoreExtensionsScriptBindingProvider.TimerTriggerScriptBinding)
    run_on_startup: bool = False
    use_monitor: bool = True


@dataclass
class FunctionIndex:
    http: list[HttpFunction] = field(default_factory=list)
    orchestrators: dict[str, Any] = field(default_factory=dict)
    activities: dict[str, ActivityFunction] = field(default_factory=dict)
    entities: dict[str, Any] = field(default_factory=dict)  # keyed by lower-case name
    timers: list[TimerFunction] = field(default_factory=list)
    # function name: the (taskHub, connectionName) its durableClient binding names, if any
    client_hubs: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)

    def without_code(self) -> FunctionIndex:
        """What the host needs (names, routes, bindings) with the functions themselves left
        out: the code stays in the worker process that imported it, and this travels to the
        host, as the Python worker reports its function metadata to the Functions host."""
        return FunctionIndex(
            http=[dataclasses.replace(f, handler=None) for f in self.http],
            orchestrators=dict.fromkeys(self.orchestrators),
            activities={
                name: dataclasses.replace(f, handler=None) for name, f in self.activities.items()
            },
            entities=dict.fromkeys(self.entities),
            timers=[dataclasses.replace(f, handler=None) for f in self.timers],
            client_hubs=self.client_hubs,
        )

    def describe(self) -> list[tuple[str, str]]:
        """(name, kind) for every function, in the order `func start` would list them."""
        rows = [(f.name, "http") for f in self.http]
        rows += [(name, "orchestrationTrigger") for name in self.orchestrators]
        rows += [(name, "activityTrigger") for name in self.activities]
        rows += [(name, "entityTrigger") for name in self.entities]
        rows += [(f.name, "timerTrigger") for f in self.timers]
        return rows


def load_app(app_dir: Path) -> FunctionIndex:
    """Import DIR/function_app.py (DIR on sys.path) and index every registered function."""
    script = app_dir / "function_app.py"
    if not script.exists():
        raise ConfigError(f"no function_app.py in {app_dir}")
    sys.path.insert(0, str(app_dir))
    spec = importlib.util.spec_from_file_location("function_app", script)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["function_app"] = module
    try:
        spec.loader.exec_module(module)
    except Exception as error:
        message = f"function_app.py failed to import: {type(error).__name__}: {error}"
        raise ConfigError(message) from None
    import azure.functions as func  # here, in the worker: the host itself never needs it

    apps = [value for value in vars(module).values() if isinstance(value, func.FunctionRegister)]
    if not apps:
        raise ConfigError("function_app.py defines no FunctionApp (e.g. app = df.DFApp())")
    index = FunctionIndex()
    for app in apps:
        for function in app.get_functions():
            _add(index, function)
    return index


def _add(index: FunctionIndex, function: Any) -> None:
    name = function.get_function_name()
    handler = function.get_user_function()
    bindings = [binding.get_dict_repr() for binding in function.get_bindings()]
    trigger = next((b for b in bindings if str(b.get("type", "")).endswith("Trigger")), None)
    if trigger is None:
        return
    kind = trigger["type"]
    context_param = _context_param(handler, {b["name"] for b in bindings})
    client_binding = next((b for b in bindings if b["type"] == "durableClient"), None)
    client = client_binding["name"] if client_binding else None
    if client_binding and (client_binding.get("taskHub") or client_binding.get("connectionName")):
        hub, connection = client_binding.get("taskHub"), client_binding.get("connectionName")
        index.client_hubs[name] = (hub or None, connection or None)
    if kind == "httpTrigger":
        methods = trigger.get("methods")
        index.http.append(
            HttpFunction(
                name=name,
                route=(trigger.get("route") or name).strip("/"),
                methods=frozenset(str(m).upper() for m in methods) if methods else None,
                auth_level=str(trigger.get("authLevel", "FUNCTION")).lower(),
                handler=handler,
                request_param=trigger["name"],
                client_param=client,
                context_param=context_param,
            )
        )
    elif kind == "orchestrationTrigger":
        index.orchestrators[name] = handler
    elif kind == "activityTrigger":
        index.activities[name] = ActivityFunction(
            name, handler, trigger["name"], context_param, client
        )
    elif kind == "entityTrigger":
        index.entities[name.lower()] = handler
    elif kind == "timerTrigger":
        index.timers.append(
            TimerFunction(
                name,
                str(trigger["schedule"]),
                handler,
                trigger["name"],
                client,
                context_param,
                run_on_startup=bool(trigger.get("runOnStartup", False)),
                use_monitor=bool(trigger.get("useMonitor", True)),
            )
        )


def _context_param(handler: Callable[..., Any], bound: set[str]) -> str | None:
    """The worker passes func.Context to a parameter named `context` that no binding claims."""
    target = getattr(handler, "client_function", handler)
    try:
        parameters = inspect.signature(target).parameters
    except (TypeError, ValueError):
        return None
    return "context" if "context" in parameters and "context" not in bound else None
