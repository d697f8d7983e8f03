"""Functions named as Azure names them: Durable names from the trigger, calls in other cases,
functions disabled by app settings (local.settings.json), and functions the host leaves out."""

import json

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.orchestration_trigger(context_name="context", orchestration="HelloCities")
def hello_cities(context: df.DurableOrchestrationContext):
    """Registered as HelloCities; calls its activity, sub-orchestrator and entity by names in
    other cases than they were registered in."""
    greetings = [(yield context.call_activity("SAYHELLO", "Tokyo"))]
    greetings.append((yield context.call_sub_orchestrator("one_city", "Lima")))
    counter = df.EntityId("COUNTER", context.instance_id)
    context.signal_entity(counter, "add", 2)
    total = yield context.call_entity(counter, "get")
    return {"greetings": greetings, "total": total}


@app.orchestration_trigger(context_name="context")
def One_City(context: df.DurableOrchestrationContext):
    return (yield context.call_activity("sayHello", context.get_input()))


@app.activity_trigger(input_name="city", activity="SayHello")
def say_hello(city: str) -> str:
    return f"Hello {city}"


@app.entity_trigger(context_name="context", entity_name="Counter")
def counter_entity(context: df.DurableEntityContext):
    value = context.get_state(lambda: 0)
    if context.operation_name == "add":
        value += context.get_input()
    context.set_state(value)
    context.set_result(value)


@app.orchestration_trigger(context_name="context")
def retired(context: df.DurableOrchestrationContext):
    """Disabled by AzureWebJobs.retired.Disabled."""
    return "ran"


@app.orchestration_trigger(context_name="context")
def calls_paused(context: df.DurableOrchestrationContext):
    return (yield context.call_activity("paused", None))


@app.activity_trigger(input_name="unused")
def paused(unused: str) -> str:
    """Disabled by AzureWebJobs_paused_Disabled (the form for Linux variable names)."""
    return "ran"


@app.route(route="hidden")
def hidden(req: func.HttpRequest) -> func.HttpResponse:
    """Disabled by azurewebjobs.HIDDEN.disabled: setting names ignore case."""
    return func.HttpResponse("ran")


@app.timer_trigger(arg_name="timer", schedule="0 * * * * *")
@app.durable_client_input(client_name="client")
async def every_minute(timer: func.TimerRequest, client: df.DurableOrchestrationClient) -> None:
    """Disabled by AzureWebJobs.every_minute.Disabled = 1: never fires."""
    await client.start_new("HelloCities", "every-minute-ran")


@app.route(route="probe")
def probe(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
    """What func.Context carries."""
    fields = {
        "invocation_id": context.invocation_id,
        "function_name": context.function_name,
        "function_directory": context.function_directory,
        "trace_parent": context.trace_context.trace_parent,
        "trace_state": context.trace_context.trace_state,
        "retry_count": context.retry_context.retry_count,
        "max_retry_count": context.retry_context.max_retry_count,
        "thread_invocation_id": context.thread_local_storage.invocation_id,
    }
    return func.HttpResponse(json.dumps(fields), mimetype="application/json")


@app.route(route="probe", methods=["GET", "POST"])
def probe_again(req: func.HttpRequest) -> func.HttpResponse:
    """Left out: the route and GET are probe's, which comes first by name."""
    return func.HttpResponse("shadowed")


@app.route(route="runtime-info")
def runtime_info(req: func.HttpRequest) -> func.HttpResponse:
    """Left out: the host reserves routes starting with admin or runtime."""
    return func.HttpResponse("reserved")


@app.route(route="home")
def host(req: func.HttpRequest) -> func.HttpResponse:
    """Left out: `host` is no valid function name."""
    return func.HttpResponse("host")
