"""Durable HTTP calls (`context.call_http`) to a server the test runs:
tests/devhost/test_call_http.py."""

from datetime import timedelta

import azure.durable_functions as df

app = df.DFApp()


@app.orchestration_trigger(context_name="context")
def fetch(context: df.DurableOrchestrationContext):
    """One call as the input describes it; returns the response as the orchestrator sees it."""
    ask = context.get_input()
    resource = ask.get("resource")
    token = df.ManagedIdentityTokenSource(resource) if resource else None
    response = yield context.call_http(
        ask["method"], ask["url"], ask.get("content"), ask.get("headers"), token
    )
    return response


@app.orchestration_trigger(context_name="context")
def follow(context: df.DurableOrchestrationContext):
    """The asynchronous pattern written out: the SDK does not poll a 202, so the orchestrator
    waits out Retry-After on a durable timer and asks again at Location until the answer is
    final."""
    response = yield context.call_http("POST", context.get_input()["url"], {"job": "report"})
    statuses = [response["statusCode"]]
    while response["statusCode"] == 202:
        wait = timedelta(seconds=int(response["headers"]["Retry-After"]))
        yield context.create_timer(context.current_utc_datetime + wait)
        response = yield context.call_http("GET", response["headers"]["Location"])
        statuses.append(response["statusCode"])
    return {"statuses": statuses, "content": response["content"]}
