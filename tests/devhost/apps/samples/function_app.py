"""Microsoft's public Durable Functions samples for Python, rewritten small in the v2 model as
their authors wrote them: the names, routes, starters and client calls of each sample and doc
page, with the outside services (Twilio, GitHub, Blob storage) replaced by local stand-ins.
tests/devhost/test_public_samples.py drives each one as its README or doc page tells a user to.
"""

import json
import logging
import os
from datetime import timedelta
from pathlib import Path

import azure.durable_functions as df
import azure.functions as func
from chaining_blueprint import bp

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)
app.register_functions(bp)


# -- Starters ---------------------------------------------------------------------------------


@app.route(route="orchestrators/{functionName}")
@app.durable_client_input(client_name="client")
async def http_start(req: func.HttpRequest, client: df.DurableOrchestrationClient):
    """The starter of the quickstart and of samples-v2/function_chaining and fan_in_fan_out:
    any method, the orchestrator named in the URL, a JSON body as its input."""
    body = req.get_body()
    payload = json.loads(body.decode()) if body else None
    instance_id = await client.start_new(req.route_params["functionName"], client_input=payload)
    logging.info("Started orchestration with ID = '%s'.", instance_id)
    return client.create_check_status_response(req, instance_id)


@app.route(route="orchestrators/{functionName}/{instanceId}")
@app.durable_client_input(client_name="client")
async def singleton_start(req: func.HttpRequest, client: df.DurableOrchestrationClient):
    """The singleton starter of durable-functions-singletons: start only when no instance of
    that id runs, else 409."""
    instance_id = req.route_params["instanceId"]
    existing = await client.get_status(instance_id)
    finished = (
        df.OrchestrationRuntimeStatus.Completed,
        df.OrchestrationRuntimeStatus.Failed,
        df.OrchestrationRuntimeStatus.Terminated,
        None,
    )
    if existing.runtime_status not in finished:
        return func.HttpResponse(
            f"An instance with ID '{existing.instance_id}' already exists.", status_code=409
        )
    body = req.get_body()
    payload = json.loads(body.decode()) if body else None
    await client.start_new(req.route_params["functionName"], instance_id, payload)
    return client.create_check_status_response(req, instance_id)


@app.route(route="sync/orchestrators/{functionName}")
@app.durable_client_input(client_name="client")
async def http_sync_start(req: func.HttpRequest, client: df.DurableOrchestrationClient):
    """durable-functions-http-features "Async operation tracking": answer with the output when
    the orchestration ends within the timeout, else with the check-status 202."""
    instance_id = await client.start_new(req.route_params["functionName"])
    return await client.wait_for_completion_or_create_check_status_response(
        req,
        instance_id,
        timeout_in_milliseconds=int(req.params.get("timeout", "10000")),
        retry_interval_in_milliseconds=int(req.params.get("retryInterval", "100")),
    )


@app.route(route="HttpTrigger")
def HttpTrigger(req: func.HttpRequest) -> func.HttpResponse:
    """The plain HTTP function samples-v2/blueprint registers on the app beside the blueprint."""
    name = req.params.get("name")
    if not name:
        try:
            name = req.get_json().get("name")
        except ValueError:
            name = None
    if name:
        return func.HttpResponse(
            f"Hello, {name}. This HTTP triggered function executed successfully."
        )
    return func.HttpResponse(
        "This HTTP triggered function executed successfully. Pass a name in the query string"
        " or in the request body for a personalized response.",
        status_code=200,
    )


# -- Quickstart (quickstart-python-vscode) ------------------------------------------------------


@app.orchestration_trigger(context_name="context")
def hello_orchestrator(context: df.DurableOrchestrationContext):
    greetings = []
    for city in ("Seattle", "Tokyo", "London"):
        greeting = yield context.call_activity("hello", city)
        greetings.append(greeting)
    return greetings


@app.activity_trigger(input_name="city")
def hello(city: str):
    return f"Hello {city}"


# -- Durable names given in the decorators (azure-functions-durable DFApp) --------------------


@app.orchestration_trigger(context_name="context", orchestration="HelloCities")
def hello_cities(context: df.DurableOrchestrationContext):
    greetings = []
    for city in ("Lisbon", "Oslo"):
        greeting = yield context.call_activity("SayHelloTo", city)
        greetings.append(greeting)
    return greetings


@app.activity_trigger(input_name="city", activity="SayHelloTo")
def greet_city(city: str) -> str:
    return f"Hi {city}!"


@app.orchestration_trigger(context_name="context", orchestration="CountCities")
def count_cities(context: df.DurableOrchestrationContext):
    total = yield context.call_entity(df.EntityId("Tally", "cities"), "add", 2)
    return total


@app.entity_trigger(context_name="context", entity_name="Tally")
def tally_entity(context: df.DurableEntityContext) -> None:
    total = context.get_state(lambda: 0) + context.get_input()
    context.set_state(total)
    context.set_result(total)


# -- Fan-out/fan-in (samples-v2/fan_in_fan_out, durable-functions-cloud-backup) ---------------


@app.orchestration_trigger(context_name="context")
def E2_BackupSiteContent(context: df.DurableOrchestrationContext):
    root_directory = context.get_input()
    if not root_directory:
        raise Exception("A directory path is required as input")
    files = yield context.call_activity("E2_GetFileList", root_directory)
    copies = [context.call_activity("E2_CopyFileToBlob", path) for path in files]
    sizes = yield context.task_all(copies)
    return sum(sizes)


@app.activity_trigger(input_name="rootDirectory")
def E2_GetFileList(rootDirectory: str) -> list[str]:
    return sorted(
        os.path.join(folder, name) for folder, _, names in os.walk(rootDirectory) for name in names
    )


@app.activity_trigger(input_name="filePath")
def E2_CopyFileToBlob(filePath: str) -> int:
    """Stands in for the upload: the sample returns the bytes it copied."""
    return Path(filePath).stat().st_size


# -- Human interaction (durable-functions-phone-verification, samples/human_interaction) ------


@app.orchestration_trigger(context_name="context")
def E4_SMSPhoneVerification(context: df.DurableOrchestrationContext):
    phone_number = context.get_input()
    if not phone_number or phone_number[0] != "+" or not phone_number[1:].isdigit():
        raise Exception("Please provide a phone number beginning with '+' and the country code.")
    challenge_code = yield context.call_activity("SendSMSChallenge", phone_number)
    timeout_task = context.create_timer(context.current_utc_datetime + timedelta(seconds=180))
    authorized = False
    for _ in range(3):
        response_task = context.wait_for_external_event("SmsChallengeResponse")
        winner = yield context.task_any([response_task, timeout_task])
        if winner != response_task:
            break
        if response_task.result == challenge_code:
            authorized = True
            break
    if not timeout_task.is_completed:
        timeout_task.cancel()
    return authorized


@app.activity_trigger(input_name="phoneNumber")
def SendSMSChallenge(phoneNumber: str) -> int:
    """Stands in for the Twilio text: the code it would send is the number's last four digits."""
    return int(phoneNumber[-4:])


# -- Monitor (durable-functions-monitor-python, samples/monitor) ------------------------------


@app.orchestration_trigger(context_name="context")
def E3_Monitor(context: df.DurableOrchestrationContext):
    request = context.get_input()
    expiry_time = context.current_utc_datetime + timedelta(minutes=5)
    while context.current_utc_datetime < expiry_time:
        too_many_issues = yield context.call_activity("E3_TooManyOpenIssues", request["repo"])
        if too_many_issues:
            yield context.call_activity("E3_SendAlert", request["phone"])
            break
        context.set_custom_status("The repository does not have too many issues, for now ...")
        yield context.create_timer(context.current_utc_datetime + timedelta(minutes=1))
    return "Monitor completed!"


@app.activity_trigger(input_name="repo")
def E3_TooManyOpenIssues(repo: str) -> bool:
    """Stands in for the GitHub query: the 'repository' is a file with one open issue a line."""
    path = Path(repo)
    return path.exists() and len(path.read_text().splitlines()) > 3


@app.activity_trigger(input_name="phone")
def E3_SendAlert(phone: str) -> str:
    return f"alerted {phone}"


# -- Entities (durable-functions-entities, samples/counter_entity) ----------------------------


@app.entity_trigger(context_name="context")
def Counter(context: df.DurableEntityContext) -> None:
    current_value = context.get_state(lambda: 0)
    operation = context.operation_name
    if operation == "add":
        current_value += context.get_input()
    elif operation == "reset":
        current_value = 0
    context.set_state(current_value)
    context.set_result(current_value)


@app.orchestration_trigger(context_name="context")
def DurableOrchestration(context: df.DurableOrchestrationContext):
    entity_id = df.EntityId("Counter", "myCounter")
    context.signal_entity(entity_id, "add", 3)
    state = yield context.call_entity(entity_id, "get")
    return state


@app.route(route="entity/{entityName}/{entityKey}", methods=["GET"])
@app.durable_client_input(client_name="client")
async def RetrieveEntity(req: func.HttpRequest, client: df.DurableOrchestrationClient):
    entity_name, entity_key = req.route_params["entityName"], req.route_params["entityKey"]
    response = await client.read_entity_state(df.EntityId(entity_name, entity_key))
    if not response.entity_exists:
        return func.HttpResponse("Entity not found", status_code=404)
    return func.HttpResponse(
        json.dumps({"entity": entity_name, "key": entity_key, "state": response.entity_state})
    )


@app.route(route="entity/{entityName}/{entityKey}/{operation}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def SignalEntity(req: func.HttpRequest, client: df.DurableOrchestrationClient):
    """The client side of durable-functions-entities: signal, then answer 202 at once."""
    entity_id = df.EntityId(req.route_params["entityName"], req.route_params["entityKey"])
    body = req.get_body()
    await client.signal_entity(
        entity_id, req.route_params["operation"], json.loads(body) if body else None
    )
    return func.HttpResponse(status_code=202)


# -- Sub-orchestrations (durable-functions-sub-orchestrations) --------------------------------


@app.orchestration_trigger(context_name="context")
def ProvisionNewDevices(context: df.DurableOrchestrationContext):
    device_ids = yield context.call_activity("GetNewDeviceIds")
    provisioning = [
        context.call_sub_orchestrator(
            "DeviceProvisioningOrchestration", device_id, f"{context.instance_id}:{index}"
        )
        for index, device_id in enumerate(device_ids)
    ]
    packages = yield context.task_all(provisioning)
    return packages


@app.orchestration_trigger(context_name="context")
def DeviceProvisioningOrchestration(context: df.DurableOrchestrationContext):
    device_id = context.get_input()
    package_url = yield context.call_activity("CreateInstallationPackage", device_id)
    return package_url


@app.activity_trigger(input_name="unused")
def GetNewDeviceIds(unused: None) -> list[str]:
    return ["thermostat-7", "doorbell-2"]


@app.activity_trigger(input_name="deviceId")
def CreateInstallationPackage(deviceId: str) -> str:
    return f"https://packages.invalid/{deviceId}.zip"


# -- Eternal orchestrations (durable-functions-eternal-orchestrations) ------------------------


@app.orchestration_trigger(context_name="context")
def Periodic_Cleanup_Loop(context: df.DurableOrchestrationContext):
    yield context.call_activity("DoCleanup")
    yield context.create_timer(context.current_utc_datetime + timedelta(hours=1))
    context.continue_as_new(None)


@app.activity_trigger(input_name="unused")
def DoCleanup(unused: None) -> str:
    return "cleaned"


# -- External events from a client (durable-functions-external-events) ------------------------


@app.orchestration_trigger(context_name="context")
def approval_workflow(context: df.DurableOrchestrationContext):
    approved = yield context.wait_for_external_event("Approval")
    return "approved" if approved else "denied"


@app.route(route="approve/{instanceId}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def approve(req: func.HttpRequest, client: df.DurableOrchestrationClient):
    await client.raise_event(req.route_params["instanceId"], "Approval", True)
    return func.HttpResponse(status_code=202)


# -- A timer trigger that starts an orchestration (functions-bindings-timer) ------------------


@app.timer_trigger(schedule="0 */5 * * * *", arg_name="myTimer", run_on_startup=True)
@app.durable_client_input(client_name="client")
async def scheduled_greeting(myTimer: func.TimerRequest, client: df.DurableOrchestrationClient):
    if myTimer.past_due:
        logging.info("The timer is past due!")
    await client.start_new("hello_orchestrator", "scheduled-greeting")


# -- Durable HTTP (durable-functions-http-features, "Consuming HTTP APIs") --------------------


@app.orchestration_trigger(context_name="context")
def CheckSiteAvailable(context: df.DurableOrchestrationContext):
    """GET the URL given as input and return the response; a status of 400 or more fails the
    orchestration."""
    url = context.get_input()
    response = yield context.call_http("GET", url)
    if response["statusCode"] >= 400:
        raise Exception(f"{url} answered {response['statusCode']}")
    return response
