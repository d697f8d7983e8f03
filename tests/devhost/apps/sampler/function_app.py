"""A sample app exercising every Durable feature devhost implements."""

import asyncio
import json
import os
import time
from datetime import UTC, datetime, timedelta

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)
ATTEMPTS: dict[str, int] = {}

# A worker that imports the app while this file exists removes it and exits, as a worker
# whose start-up crashes would (tests/devhost/test_workers.py).
BROKEN_START = os.environ.get("SAMPLER_BROKEN_START_MARKER")
if BROKEN_START and os.path.exists(BROKEN_START):
    os.remove(BROKEN_START)
    os._exit(1)


class Money:
    """A value the SDK serialises through to_json/from_json rather than plain JSON."""

    def __init__(self, cents: int, currency: str) -> None:
        self.cents = cents
        self.currency = currency

    @staticmethod
    def to_json(obj: "Money") -> dict:
        return {"cents": obj.cents, "currency": obj.currency}

    @staticmethod
    def from_json(data: dict) -> "Money":
        return Money(data["cents"], data["currency"])


# -- orchestrators -----------------------------------------------------------------------------


@app.orchestration_trigger(context_name="context")
def hello_sequence(context: df.DurableOrchestrationContext):
    name = context.get_input() or "devhost"
    results = []
    for city in ("Tokyo", "Seattle", "London"):
        results.append((yield context.call_activity("say_hello", f"{name} in {city}")))
    return results


@app.orchestration_trigger(context_name="context")
def echo_input(context: df.DurableOrchestrationContext):
    """Finishes with what `get_input` gave it."""
    return context.get_input()


@app.orchestration_trigger(context_name="context")
def hands_input_on(context: df.DurableOrchestrationContext):
    """Hands its input to a child (`{id}-child`) and, up to generation 2, to its next one."""
    given = context.get_input()
    from_child = yield context.call_sub_orchestrator(
        "echo_input", given, f"{context.instance_id}-child"
    )
    if given["generation"] < 2:
        context.continue_as_new({**given, "generation": given["generation"] + 1})
        return None
    return {"fromChild": from_child, "mine": given}


@app.orchestration_trigger(context_name="context")
def noop_sequence(context: df.DurableOrchestrationContext):
    for step in range(context.get_input() or 5):
        yield context.call_activity("noop", step)
    return "done"


@app.orchestration_trigger(context_name="context")
def fan_out(context: df.DurableOrchestrationContext):
    count = context.get_input()
    results = yield context.task_all([context.call_activity("noop", i) for i in range(count)])
    return sum(results)


@app.orchestration_trigger(context_name="context")
def flaky_with_retry(context: df.DurableOrchestrationContext):
    options = df.RetryOptions(first_retry_interval_in_milliseconds=1000, max_number_of_attempts=3)
    spec = context.get_input()
    try:
        result = yield context.call_activity_with_retry("flaky", options, spec)
    except Exception as error:
        return {"failed": str(error)}
    return {"result": result}


@app.orchestration_trigger(context_name="context")
def parent(context: df.DurableOrchestrationContext):
    named = yield context.call_sub_orchestrator(
        "hello_sequence", "child", f"{context.instance_id}-c"
    )
    generated = yield context.call_sub_orchestrator("hello_sequence", "anon")
    try:
        yield context.call_sub_orchestrator("always_fails", None)
    except Exception as error:
        failure = str(error)
    return {"named": named, "generated": generated, "failure": failure}


@app.orchestration_trigger(context_name="context")
def flaky_child(context: df.DurableOrchestrationContext):
    """Fails (the whole sub-orchestration) whenever its flaky activity fails."""
    return (yield context.call_activity("flaky", context.get_input()))


@app.orchestration_trigger(context_name="context")
def parent_with_retry(context: df.DurableOrchestrationContext):
    options = df.RetryOptions(first_retry_interval_in_milliseconds=1000, max_number_of_attempts=3)
    try:
        result = yield context.call_sub_orchestrator_with_retry(
            "flaky_child", options, context.get_input()
        )
    except Exception as error:
        return {"failed": str(error)}
    return {"result": result}


@app.orchestration_trigger(context_name="context")
def parent_of_flaky(context: df.DurableOrchestrationContext):
    """Fails whenever its child does (the child fails whenever its activity does)."""
    return (yield context.call_sub_orchestrator("flaky_child", context.get_input()))


@app.orchestration_trigger(context_name="context")
def always_fails(context: df.DurableOrchestrationContext):
    yield context.call_activity("say_hello", "doomed")
    raise ValueError("the books do not balance")


@app.orchestration_trigger(context_name="context")
def approval(context: df.DurableOrchestrationContext):
    """Waits for Approval or a 3-day timeout; records custom status while waiting."""
    context.set_custom_status({"stage": "awaiting_approval"})
    deadline = context.current_utc_datetime + timedelta(days=3)
    timer = context.create_timer(deadline)
    event = context.wait_for_external_event("Approval")
    winner = yield context.task_any([event, timer])
    if winner == event:
        timer.cancel()
        context.set_custom_status({"stage": "approved"})
        return {"approved": event.result}
    context.set_custom_status({"stage": "expired"})
    return {"approved": None}


@app.orchestration_trigger(context_name="context")
def waits_on_child(context: df.DurableOrchestrationContext):
    """Calls `approval` as a child, which waits for its Approval event."""
    child = f"{context.instance_id}-child"
    return (yield context.call_sub_orchestrator("approval", None, child))


@app.orchestration_trigger(context_name="context")
def long_wait(context: df.DurableOrchestrationContext):
    """A 10-day durable timer: longer than the 6-day maximum short timer."""
    started = context.current_utc_datetime
    yield context.create_timer(started + timedelta(days=10))
    return (context.current_utc_datetime - started).days


@app.orchestration_trigger(context_name="context")
def collect_events(context: df.DurableOrchestrationContext):
    count = context.get_input()
    received = []
    for _ in range(count):
        received.append((yield context.wait_for_external_event("Item")))
    return received


@app.orchestration_trigger(context_name="context")
def counter_loop(context: df.DurableOrchestrationContext):
    value = context.get_input() or 0
    if value < 3:
        context.continue_as_new(value + 1)
        return None
    return value


@app.orchestration_trigger(context_name="context")
def entity_outlives_timeout(context: df.DurableOrchestrationContext):
    """Calls an entity operation that runs past functionTimeout; input: [key, other key]."""
    key, other = context.get_input()
    counter = df.EntityId("counter", key)
    yield context.call_entity(counter, "add", 2)
    try:
        yield context.call_entity(counter, "stall", other)
        problem = None
    except Exception as error:
        problem = str(error)
    total = yield context.call_entity(counter, "get")
    return {"problem": problem, "total": total}


@app.orchestration_trigger(context_name="context")
def entity_user(context: df.DurableOrchestrationContext):
    counter = df.EntityId("counter", context.get_input())
    context.signal_entity(counter, "add", 5)
    yield context.call_entity(counter, "add", 10)
    total = yield context.call_entity(counter, "get")
    try:
        yield context.call_entity(counter, "explode")
    except Exception as error:
        problem = str(error)
    return {"total": total, "problem": problem}


@app.orchestration_trigger(context_name="context")
def money_flow(context: df.DurableOrchestrationContext):
    """Custom objects cross the activity boundary in both directions."""
    doubled = yield context.call_activity("double_money", Money(context.get_input(), "EUR"))
    return {"cents": doubled.cents, "currency": doubled.currency, "type": type(doubled).__name__}


@app.orchestration_trigger(context_name="context")
def ledger_writer(context: df.DurableOrchestrationContext):
    """Signals a ledger entity from an orchestration, then reads it back with a call."""
    ledger = df.EntityId("ledger", context.get_input())
    for word in ("from", "the", "orchestration"):
        context.signal_entity(ledger, "append", word)
    return (yield context.call_entity(ledger, "get"))


@app.orchestration_trigger(context_name="context")
def race(context: df.DurableOrchestrationContext):
    """task_any over two activities and an event; task_all over the rest."""
    first = yield context.task_any(
        [
            context.wait_for_external_event("Go"),
            context.create_timer(context.current_utc_datetime + timedelta(hours=1)),
        ]
    )
    both = yield context.task_all(
        [context.call_activity("say_hello", "A"), context.call_activity("say_hello", "B")]
    )
    return {"first": first.result, "both": both, "now": context.current_utc_datetime.isoformat()}


@app.orchestration_trigger(context_name="context")
def relay(context: df.DurableOrchestrationContext):
    """Hands an event to another instance through an activity that holds a durable client."""
    return (yield context.call_activity("relay_event", context.get_input()))


@app.orchestration_trigger(context_name="context")
def calls_missing_kind(context: df.DurableOrchestrationContext):
    """Calls a function the app lacks: an activity, an orchestrator, an entity, or signals an
    entity."""
    kind = context.get_input()
    if kind == "activity":
        yield context.call_activity("no_such_activity", 1)
    elif kind == "orchestrator":
        yield context.call_sub_orchestrator("no_such_orchestrator", 1)
    elif kind == "entity":
        yield context.call_entity(df.EntityId("no_such_entity", "k"), "get")
    else:
        context.signal_entity(df.EntityId("no_such_entity", "k"), "add", 1)
        yield context.call_activity("noop", 1)
    return "unreachable"


@app.orchestration_trigger(context_name="context")
def names_its_child(context: df.DurableOrchestrationContext):
    """Calls a child under the id in its input; "self" stands for its own id."""
    chosen = context.get_input()
    child_id = context.instance_id.upper() if chosen == "self" else chosen
    yield context.call_sub_orchestrator("echo_input", 1, child_id)
    return "unreachable"


@app.orchestration_trigger(context_name="context")
def sets_status(context: df.DurableOrchestrationContext):
    """Sets a custom status of `input` characters, then finishes."""
    context.set_custom_status("x" * context.get_input())
    yield context.call_activity("noop", 1)
    return "done"


@app.orchestration_trigger(context_name="context")
def reports_activity_failure(context: df.DurableOrchestrationContext):
    spec = {"key": context.instance_id, "failures": 1}
    try:
        yield context.call_activity("flaky", spec)
    except Exception as error:
        return str(error)
    return "unreachable"


@app.orchestration_trigger(context_name="context")
def outlives_timeout(context: df.DurableOrchestrationContext):
    """Calls an activity that runs longer than host.json's functionTimeout (3 seconds)."""
    try:
        yield context.call_activity("overruns", 30)
    except Exception as error:
        return str(error)
    return "unreachable"


@app.orchestration_trigger(context_name="context")
def fails_without_message(context: df.DurableOrchestrationContext):
    yield context.call_activity("noop", 1)
    raise ValueError()


# -- activities --------------------------------------------------------------------------------


@app.orchestration_trigger(context_name="context")
def survives_worker_exit(context: df.DurableOrchestrationContext):
    return (yield context.call_activity("exits_once", context.get_input()))


@app.orchestration_trigger(context_name="context")
def exits_in_replay(context: df.DurableOrchestrationContext):
    """Takes its worker down in its first episode, as a native crash in orchestrator code
    would; the episode runs again in a new worker and the instance carries on."""
    first = context.get_input()
    if not os.path.exists(first):
        with open(first, "w") as file:
            file.write(str(os.getpid()))
        os._exit(1)
    return (yield context.call_activity("process_id", None))


@app.orchestration_trigger(context_name="context")
def blocks_until_released(context: df.DurableOrchestrationContext):
    """Orchestrator code that blocks its thread (a synchronous call where none belongs) until
    the test lets it go: files mark when it blocks and what releases it."""
    paths = context.get_input()
    if not context.is_replaying:
        with open(paths["blocking"], "w") as file:
            file.write("blocking")
        for _ in range(6000):  # at most a minute, should the test never release it
            if os.path.exists(paths["release"]):
                break
            time.sleep(0.01)
    return (yield context.call_activity("process_id", None))


@app.orchestration_trigger(context_name="context")
def fan_out_pids(context: df.DurableOrchestrationContext):
    """The process ids of as many activities run at once as the input says."""
    tasks = [context.call_activity("process_id", None) for _ in range(context.get_input())]
    return (yield context.task_all(tasks))


@app.activity_trigger(input_name="marker")
def exits_once(marker: str) -> int:
    """Takes its worker process down on the first attempt (the marker file records that
    process), as a native crash or a stray os._exit would; the next attempt returns its own
    process id."""
    if not os.path.exists(marker):
        with open(marker, "w") as file:
            file.write(str(os.getpid()))
        os._exit(1)
    return os.getpid()


@app.activity_trigger(input_name="marker")
def exits_and_breaks_the_next_start(marker: str) -> int:
    """Like exits_once, and the worker started in its place crashes while loading the app."""
    if not os.path.exists(marker):
        with open(marker, "w") as file:
            file.write(str(os.getpid()))
        with open(os.environ["SAMPLER_BROKEN_START_MARKER"], "w") as file:
            file.write("crash")
        os._exit(1)
    return os.getpid()


@app.orchestration_trigger(context_name="context")
def survives_a_broken_restart(context: df.DurableOrchestrationContext):
    return (yield context.call_activity("exits_and_breaks_the_next_start", context.get_input()))


@app.activity_trigger(input_name="ignored")
def process_id(ignored: None) -> int:
    return os.getpid()


@app.activity_trigger(input_name="name")
def say_hello(name: str) -> str:
    return f"{os.environ['SAMPLER_GREETING']} {name}!"


@app.activity_trigger(input_name="value")
def noop(value: int) -> int:
    return value


@app.activity_trigger(input_name="seconds")
async def overruns(seconds: int) -> str:
    await asyncio.sleep(seconds)
    return "finished"


@app.activity_trigger(input_name="spec")
async def flaky(spec: dict) -> str:
    """Fails the first `failures` calls for a key, then succeeds."""
    key = spec["key"]
    ATTEMPTS[key] = ATTEMPTS.get(key, 0) + 1
    if ATTEMPTS[key] <= spec["failures"]:
        raise RuntimeError(f"attempt {ATTEMPTS[key]} failed")
    return f"succeeded on attempt {ATTEMPTS[key]}"


@app.activity_trigger(input_name="money")
def double_money(money: Money) -> Money:
    assert isinstance(money, Money), type(money)
    return Money(money.cents * 2, money.currency)


@app.activity_trigger(input_name="relay")
@app.durable_client_input(client_name="client")
async def relay_event(relay: dict, client: df.DurableOrchestrationClient) -> dict:
    """Raise `event` on `target`; report its status as the client reads it, and its URL."""
    target = relay["target"]
    await client.raise_event(target, relay["event"], relay["data"])
    status = await client.get_status(target)
    urls = client.create_http_management_payload(target)
    return {"targetStatus": status.runtime_status.value, "statusUri": urls["statusQueryGetUri"]}


# -- entities ----------------------------------------------------------------------------------


@app.entity_trigger(context_name="context")
def counter(context: df.DurableEntityContext):
    value = context.get_state(lambda: 0)
    operation = context.operation_name
    if operation == "add":
        value += context.get_input()
        context.set_state(value)
    elif operation == "get":
        context.set_result(value)
    elif operation in ("reset", "delete"):
        context.destruct_on_exit()
    elif operation == "explode":
        raise ValueError("counters cannot explode")
    elif operation == "stall":  # outlives functionTimeout (3 s), then changes what it can
        time.sleep(4)
        context.set_state(value + 100)
        context.signal_entity(df.EntityId("counter", context.get_input()), "add", 1)


@app.entity_trigger(context_name="context")
def ledger(context: df.DurableEntityContext):
    """Order-sensitive state: proves operations run one at a time in arrival order."""
    entries = context.get_state(list)
    operation = context.operation_name
    if operation == "append":
        entries.append(context.get_input())
        context.set_state(entries)
    elif operation == "get":
        context.set_result(entries)
    elif operation == "delete":
        context.destruct_on_exit()


# -- HTTP triggers -----------------------------------------------------------------------------


@app.route(route="crash/{how}", methods=["GET"])
def crash(req: func.HttpRequest) -> func.HttpResponse:
    """An HTTP trigger that raises, or takes its worker process down."""
    if req.route_params["how"] == "exit":
        os._exit(1)
    raise RuntimeError("the function raised")


@app.route(route="pid", methods=["GET"])
def pid(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(str(os.getpid()))


@app.route(route="start/{name}/{id?}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def start(req: func.HttpRequest, client: df.DurableOrchestrationClient):
    body = req.get_body()
    payload = json.loads(body) if body else None
    instance_id = await client.start_new(
        req.route_params["name"], req.route_params.get("id"), payload
    )
    return client.create_check_status_response(req, instance_id)


@app.route(route="client/{id}", methods=["GET", "POST", "DELETE"])
@app.durable_client_input(client_name="client")
async def client_ops(req: func.HttpRequest, client: df.DurableOrchestrationClient):
    """Drives one SDK client operation, named by ?op=, and reports what the SDK returned."""
    instance_id = req.route_params["id"]
    op = req.params.get("op", "status")
    if op == "status":
        status = await client.get_status(instance_id, show_history=True)
        return func.HttpResponse(
            json.dumps(status.to_json() if status else None), mimetype="application/json"
        )
    if op == "raise":
        await client.raise_event(instance_id, req.params["event"], req.get_json())
    elif op == "terminate":
        await client.terminate(instance_id, "stopped by test")
    elif op == "suspend":
        await client.suspend(instance_id, "paused by test")
    elif op == "resume":
        await client.resume(instance_id, "resumed by test")
    elif op == "purge":
        result = await client.purge_instance_history(instance_id)
        return func.HttpResponse(json.dumps({"deleted": result.instances_deleted}))
    elif op == "rewind":
        await client.rewind(instance_id, "rewound by test")
    elif op == "restart":
        fresh = req.params.get("fresh", "true") == "true"
        restarted = await client.restart(instance_id, restart_with_new_instance_id=fresh)
        return func.HttpResponse(json.dumps(restarted), mimetype="application/json")
    elif op == "payload":
        return func.HttpResponse(json.dumps(client.create_http_management_payload(instance_id)))
    return func.HttpResponse(status_code=202)


@app.route(route="query", methods=["GET", "DELETE"])
@app.durable_client_input(client_name="client")
async def query(req: func.HttpRequest, client: df.DurableOrchestrationClient):
    statuses = [
        df.OrchestrationRuntimeStatus(s) for s in req.params.get("status", "").split(",") if s
    ]
    if req.method == "DELETE":
        since = datetime(2000, 1, 1, tzinfo=UTC)  # the SDK insists on a start time
        result = await client.purge_instance_history_by(since, runtime_status=statuses)
        return func.HttpResponse(json.dumps({"deleted": result.instances_deleted}))
    found = await client.get_status_by(runtime_status=statuses)
    return func.HttpResponse(
        json.dumps(sorted(s.instance_id for s in found)), mimetype="application/json"
    )


@app.route(route="entities/{key}", methods=["GET", "POST"])
@app.durable_client_input(client_name="client")
async def entity_ops(req: func.HttpRequest, client: df.DurableOrchestrationClient):
    entity = df.EntityId("counter", req.route_params["key"])
    if req.method == "POST":
        await client.signal_entity(entity, req.params.get("op", "add"), req.get_json())
        return func.HttpResponse(status_code=202)
    state = await client.read_entity_state(entity)
    return func.HttpResponse(
        json.dumps({"exists": state.entity_exists, "state": state.entity_state}),
        mimetype="application/json",
    )


@app.route(
    route="echo/{kind:alpha}/{number:int}/{*rest}",
    methods=["GET", "PUT"],
    auth_level=func.AuthLevel.ANONYMOUS,
)
def echo(req: func.HttpRequest) -> func.HttpResponse:
    """Reflects the request back, so tests can see what a function receives."""
    return func.HttpResponse(
        json.dumps(
            {
                "method": req.method,
                "route": dict(req.route_params),
                "query": dict(req.params),
                "header": req.headers.get("x-sample"),
                "identity": {
                    name.lower(): value
                    for name, value in req.headers.items()
                    if name.lower().startswith(("x-ms-client-principal", "x-ms-token-"))
                },
                "body": req.get_body().decode(),
            }
        ),
        status_code=201,
        headers={"x-echo": "yes"},
        mimetype="application/json",
    )


# Not "admin-only": the host refuses routes starting with "admin" (ScriptHost.ValidateHttpFunction)
@app.route(route="master-only", auth_level=func.AuthLevel.ADMIN)
def admin_only(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("admin")


@app.route(route="boom")
def boom(req: func.HttpRequest) -> func.HttpResponse:
    raise RuntimeError("secret internals")


TICKS: list[dict] = []


@app.timer_trigger(arg_name="timer", schedule="0 0 0 * * *")
def midnight(timer: func.TimerRequest) -> None:
    """Runs at 00:00:00 UTC every day; records what the host passed in."""
    TICKS.append({"next": timer.schedule_status.get("Next"), "pastDue": timer.past_due})


@app.route(route="ticks", methods=["GET"])
def ticks(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(json.dumps(TICKS), mimetype="application/json")
