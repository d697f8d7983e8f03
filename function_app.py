"""Composition root: one Durable Functions app, one blueprint per module."""

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)


@app.route(route="hello/{name}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def start_hello(req: func.HttpRequest, client: df.DurableOrchestrationClient):
    """Start the greeting sequence and answer with the management payload."""
    instance_id = await client.start_new("hello_sequence", client_input=req.route_params["name"])
    return client.create_check_status_response(req, instance_id)


@app.orchestration_trigger(context_name="context")
def hello_sequence(context: df.DurableOrchestrationContext):
    """Greet three cities in turn."""
    name = context.get_input()
    greetings = []
    for city in ("Tokyo", "Seattle", "London"):
        greetings.append((yield context.call_activity("say_hello", f"{name} in {city}")))
    return greetings


@app.activity_trigger(input_name="name")
def say_hello(name: str) -> str:
    return f"Hello {name}!"
