"""Function chaining registered from a Durable blueprint, as samples-v2/blueprint in
Azure/azure-functions-durable-python lays it out: `df.Blueprint()` in its own module (the
`func` namespace has no Durable triggers), registered on the app in function_app.py."""

import logging

import azure.durable_functions as df
import azure.functions as func

bp = df.Blueprint()


@bp.route(route="startOrchestrator")
@bp.durable_client_input(client_name="client")
async def start_orchestrator(req: func.HttpRequest, client: df.DurableOrchestrationClient):
    instance_id = await client.start_new("my_orchestrator")
    logging.info("Started orchestration with ID = '%s'.", instance_id)
    return client.create_check_status_response(req, instance_id)


@bp.orchestration_trigger(context_name="context")
def my_orchestrator(context: df.DurableOrchestrationContext):
    greetings = []
    for city in ("Tokyo", "Seattle", "London"):
        greeting = yield context.call_activity("say_hello", city)
        greetings.append(greeting)
    return greetings


@bp.activity_trigger(input_name="city")
def say_hello(city: str) -> str:
    return f"Hello {city}!"
