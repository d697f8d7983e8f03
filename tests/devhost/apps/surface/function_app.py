"""HTTP functions for tests/devhost/test_http_surface.py: what a function receives and
returns, and which function a path reaches, as the Functions host and Python worker do it."""

import json

import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="returns/{kind}", methods=["GET"])
def returns(req: func.HttpRequest):
    """Returns a value of the kind asked for, whether its binding can take it or not."""
    values = {"dict": {"a": 1}, "none": None, "bytes": b"raw", "int": 7, "str": "plain"}
    return values[req.route_params["kind"]]


@app.route(route="text", methods=["POST"])
def text(req: func.HttpRequest) -> str:
    """Returns the posted text as its `str` result, as a function returning
    `json.dumps(...)` does."""
    return req.get_body().decode()


@app.route(route="reply", methods=["GET"])
def reply(req: func.HttpRequest) -> func.HttpResponse:
    """A reply with the Content-Type and cookies the query asks for."""
    headers = {"Content-Type": req.params["type"]} if "type" in req.params else None
    response = func.HttpResponse(
        "{}", status_code=201, mimetype=req.params.get("mimetype"), headers=headers
    )
    for cookie in req.params.get("cookies", "").split("|"):
        if cookie:
            response.headers.add("Set-Cookie", cookie)
    return response


@app.route(route="seen/{name}/{*rest}")
def seen(req: func.HttpRequest) -> func.HttpResponse:
    """What the function was given."""
    body = {
        "method": req.method,
        "url": req.url,
        "route": dict(req.route_params),
        "params": dict(req.params),
        "headers": {k: v for k, v in req.headers.items() if k.startswith("x-")},
        "header_names": sorted(req.headers.keys()),
        "body": req.get_body().decode(),
    }
    return func.HttpResponse(json.dumps(body), mimetype="application/json")


# Three functions whose routes all fit /api/order/fixed: Azure tries them in name order.
@app.route(route="order/{n:int:min(3)}", methods=["GET"])
def aa_number(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("aa_number")


@app.route(route="order/{thing}", methods=["GET"])
def bb_anything(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("bb_anything")


@app.route(route="order/fixed", methods=["GET", "POST"])
def cc_fixed(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("cc_fixed")


@app.route(route="when/{day:datetime}/{code:length(3)}/{flag:bool?}", methods=["GET"])
def when(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(json.dumps(dict(req.route_params)), mimetype="application/json")
