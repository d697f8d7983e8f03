"""Import an app's function_app.py as the Python worker does and index its functions."""

from __future__ import annotations

import dataclasses
import importlib.util
import sys
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from devhost.app.config import ConfigError

if TYPE_CHECKING:
    from devhost.app.indexing import Indexed

V = TypeVar("V")
W = TypeVar("W")


class _Named(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def directory(self) -> str: ...


@dataclass(frozen=True)
class TraceContext:
    """The W3C trace context the host hands each invocation (azure-functions-python-worker
    4.34 bindings/tracecontext.py); OpenTelemetry code reads `trace_parent`."""

    trace_parent: str
    trace_state: str = ""
    attributes: dict[str, str] = field(default_factory=dict)

    @property
    def Traceparent(self) -> str:
        return self.trace_parent

    @property
    def Tracestate(self) -> str:
        return self.trace_state

    @property
    def Attributes(self) -> dict[str, str]:
        return self.attributes

    @classmethod
    def new(cls) -> TraceContext:
        """A new trace with a sampled root span, as the host's Activity ids read."""
        return cls(f"00-{uuid.uuid4().hex}-{uuid.uuid4().hex[:16]}-01")


@dataclass(frozen=True)
class RpcException:
    """The exception of the attempt before a retry (empty when there was none)."""

    source: str = ""
    stack_trace: str = ""
    message: str = ""


@dataclass(frozen=True)
class RetryContext:
    """azure-functions-python-worker 4.34 bindings/retrycontext.py: without a function-level
    retry policy the host sends none, and the worker reads the protobuf defaults."""

    retry_count: int = 0
    max_retry_count: int = 0
    rpc_exception: RpcException = field(default_factory=RpcException)


#: Where the worker lets user threads say which invocation they log for
#: (azure-functions-python-worker 4.34 dispatcher.py `_invocation_id_local`).
_INVOCATION_ID_LOCAL = threading.local()


@dataclass(frozen=True)
class InvocationContext:
    """func.Context as the Python worker builds it (azure-functions-python-worker 4.34
    dispatcher.py `_get_context`, bindings/context.py)."""

    invocation_id: str
    function_name: str
    function_directory: str
    trace_context: TraceContext
    retry_context: RetryContext

    @property
    def thread_local_storage(self) -> threading.local:
        """The worker's thread-local, holding this invocation's id in the thread that asks:
        the worker sets it in the thread running the function, and user threads set it
        themselves so their logs belong to the invocation."""
        _INVOCATION_ID_LOCAL.invocation_id = self.invocation_id
        return _INVOCATION_ID_LOCAL

    @classmethod
    def new(cls, function: _Named, invocation_id: str) -> InvocationContext:
        """The context of one invocation, under the id the host logs it with."""
        return cls(
            invocation_id, function.name, function.directory, TraceContext.new(), RetryContext()
        )


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
    directory: str = ""  # the folder of the file defining it, as the worker reports it
    disabled: bool = False  # by app setting: 404 unless the request carries the master key


@dataclass(frozen=True)
class ActivityFunction:
    name: str
    handler: Callable[..., Any] | None  # None in the host's copy (without_code)
    input_param: str
    context_param: str | None
    client_param: str | None = None  # a durableClient input binding, as Azure allows
    directory: str = ""


@dataclass(frozen=True)
class TimerFunction:
    name: str
    schedule: str  # NCRONTAB, TimeSpan or %SETTING% (devhost/engine/schedules.py reads it)
    handler: Callable[..., Any] | None  # None in the host's copy (without_code)
    timer_param: str
    client_param: str | None
    context_param: str | None
    directory: str = ""
    # the binding's runOnStartup and useMonitor, with the host's defaults
    # (azure-functions-host 4.1036 CoreExtensionsScriptBindingProvider.TimerTriggerScriptBinding)
    run_on_startup: bool = False
    use_monitor: bool = True


class DurableRegistry(Mapping[str, V]):
    """Durable functions by the name the extension registers them under, matched ignoring
    case (durable-extension FunctionName.Equals and GetHashCode: OrdinalIgnoreCase; its
    knownOrchestrators/knownActivities/knownEntities are keyed by FunctionName). Iterates the
    names as registered. A disabled function stays registered: the extension still knows its
    name, but has no executor for it (`runnable` is False)."""

    def __init__(self) -> None:
        self._entries: dict[str, tuple[str, V]] = {}
        self._disabled: set[str] = set()

    def add(self, name: str, value: V, *, disabled: bool = False) -> None:
        self._entries[name.upper()] = (name, value)
        if disabled:
            self._disabled.add(name.upper())

    def runnable(self, name: str) -> bool:
        return name.upper() in self._entries and name.upper() not in self._disabled

    def __getitem__(self, name: str) -> V:
        return self._entries[name.upper()][1]

    def __iter__(self) -> Iterator[str]:
        return (registered for registered, _ in self._entries.values())

    def __len__(self) -> int:
        return len(self._entries)

    def replaced(self, value: Callable[[V], W]) -> DurableRegistry[W]:
        """The same names (disabled ones still disabled), each with `value` of its own."""
        copy: DurableRegistry[W] = DurableRegistry()
        for name, entry in self.items():
            copy.add(name, value(entry), disabled=not self.runnable(name))
        return copy


@dataclass(frozen=True)
class LeftOut:
    """A function the host refuses while the rest of the app runs, with the host's words."""

    name: str
    problem: str


@dataclass
class FunctionIndex:
    http: list[HttpFunction] = field(default_factory=list)
    orchestrators: DurableRegistry[Any] = field(default_factory=DurableRegistry)
    activities: DurableRegistry[ActivityFunction] = field(default_factory=DurableRegistry)
    entities: DurableRegistry[Any] = field(default_factory=DurableRegistry)
    timers: list[TimerFunction] = field(default_factory=list)
    disabled: list[str] = field(default_factory=list)  # function names, by app setting
    left_out: list[LeftOut] = field(default_factory=list)
    # function name: the (taskHub, connectionName) its durableClient binding names, if any
    client_hubs: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)

    def without_code(self) -> FunctionIndex:
        """What the host needs (names, routes, bindings) with the functions themselves left
        out: the code stays in the worker process that imported it, and this travels to the
        host, as the Python worker reports its function metadata to the Functions host."""
        return FunctionIndex(
            http=[dataclasses.replace(f, handler=None) for f in self.http],
            orchestrators=self.orchestrators.replaced(lambda _: None),
            activities=self.activities.replaced(lambda f: dataclasses.replace(f, handler=None)),
            entities=self.entities.replaced(lambda _: None),
            timers=[dataclasses.replace(f, handler=None) for f in self.timers],
            disabled=list(self.disabled),
            left_out=list(self.left_out),
            client_hubs=self.client_hubs,
        )

    def describe(self) -> list[tuple[str, str]]:
        """(name, kind) for every function, in the order `func start` would list them; a
        Durable function by the name the extension knows it by."""
        rows = [(f.name, "http") for f in self.http]
        rows += [(name, "orchestrationTrigger") for name in self.orchestrators]
        rows += [(name, "activityTrigger") for name in self.activities]
        rows += [(name, "entityTrigger") for name in self.entities]
        rows += [(f.name, "timerTrigger") for f in self.timers]
        return rows


def load_app(app_dir: Path) -> FunctionIndex:
    """Import DIR/function_app.py (DIR on sys.path) and index its functions as the Python
    worker and the Functions host do (devhost/app/indexing.py): what the worker refuses to
    index stops devhost with a ConfigError, what the host leaves out is in `left_out`."""
    from devhost.app import indexing  # it imports azure.functions: the host never needs it

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
    functions = indexing.index_worker(module)
    index = FunctionIndex()
    accepted = indexing.HostChecks()
    for function in indexing.in_host_order(functions):
        problem = accepted.problem(function)
        if problem is not None:
            index.left_out.append(LeftOut(function.name, problem))
            continue
        disabled = indexing.is_disabled(function.name)
        if disabled:
            index.disabled.append(function.name)
        _add(index, function, disabled=disabled)
    return index


def _add(index: FunctionIndex, function: Indexed, *, disabled: bool) -> None:
    """Index one function the worker reported; a Durable one under the name its trigger
    gives, else its function name (Orchestration/Activity/EntityTriggerAttributeBindingProvider:
    "[OrchestrationTrigger], [FunctionName], method name"; the host copies the binding's
    `orchestration`, `activity` or `entityName` onto the trigger attribute)."""
    trigger = function.trigger
    kind = trigger["type"]
    handler, name, directory = function.handler, function.name, function.directory
    context_param, client = function.context_param, function.client_param
    if function.client_hub is not None:
        index.client_hubs[name] = function.client_hub
    if kind == "httpTrigger":
        methods = trigger.get("methods")
        index.http.append(
            HttpFunction(
                name=name,
                route=function.route,
                methods=frozenset(str(m).upper() for m in methods) if methods else None,
                auth_level=str(trigger.get("authLevel", "FUNCTION")).lower(),
                handler=handler,
                request_param=trigger["name"],
                client_param=client,
                context_param=context_param,
                directory=directory,
                disabled=disabled,
            )
        )
    elif kind == "orchestrationTrigger":
        index.orchestrators.add(trigger.get("orchestration") or name, handler, disabled=disabled)
    elif kind == "activityTrigger":
        activity = ActivityFunction(
            name, handler, trigger["name"], context_param, client, directory
        )
        index.activities.add(trigger.get("activity") or name, activity, disabled=disabled)
    elif kind == "entityTrigger":
        index.entities.add(trigger.get("entityName") or name, handler, disabled=disabled)
    elif kind == "timerTrigger" and not disabled:  # a disabled one never fires
        index.timers.append(
            TimerFunction(
                name,
                str(trigger["schedule"]),
                handler,
                trigger["name"],
                client,
                context_param,
                directory,
                run_on_startup=bool(trigger.get("runOnStartup", False)),
                use_monitor=bool(trigger.get("useMonitor", True)),
            )
        )
