"""Beside the workflows: the lock view, the instance listing, the API document."""

from __future__ import annotations

import yaml

from domain.claims import ClaimRequest, DecisionRequest
from tests.conftest import app_functions
from tests.e2e.conftest import App, assert_problem
from tests.e2e.test_claims import claim, file_claim


def test_a_lock_nobody_took_is_free(app: App):
    lock = app.view("/api/locks/aircraft:N-NEVER")
    assert lock == {
        "resource": "aircraft:N-NEVER",
        "holder": None,
        "leaseExpiresAt": None,
        "queue": [],
    }


def test_a_held_lock_shows_its_holder_and_lease(app: App):
    path = file_claim(app, claim("CLM-HELD", "POL-HELD", amount=3000))
    app.wait_stage(path, "awaiting_decision")
    lock = app.view("/api/locks/policy:POL-HELD")
    assert lock["holder"] == "claim-CLM-HELD" and lock["leaseExpiresAt"]
    app.http.post(f"{path}/decision", json={"decision": "reject", "actor": "ops"})
    app.wait_done(path)
    assert app.view("/api/locks/policy:POL-HELD")["holder"] is None


def test_workflows_are_listed_by_type_and_status_in_pages(app: App):
    ids = [f"CLM-LIST-{n}" for n in range(3)]
    for claim_id in ids:
        app.wait_done(file_claim(app, claim(claim_id, f"POL-{claim_id}")))
    running = file_claim(app, claim("CLM-LIST-OPEN", "POL-LIST-OPEN", amount=8000))
    app.wait_stage(running, "awaiting_decision")

    seen, token = [], None
    while True:
        params = {"type": "claim", "pageSize": "2"}
        if token:
            params["continuationToken"] = token
        page = app.view_query("/api/workflows", params)
        assert len(page["items"]) <= 2
        seen += page["items"]
        token = page["continuationToken"]
        if not token:
            break
    listed = {item["businessId"]: item for item in seen}
    assert len(listed) == len(seen), "no instance appears on two pages"
    assert set(ids) | {"CLM-LIST-OPEN"} <= set(listed)
    assert all(item["workflow"] == "claim" for item in seen)
    assert listed["CLM-LIST-0"]["stage"] == "approved"
    assert listed["CLM-LIST-0"]["statusUrl"].endswith("/api/claims/CLM-LIST-0")

    open_only = app.view_query("/api/workflows", {"type": "claim", "status": "Running"})
    assert [item["businessId"] for item in open_only["items"]] == ["CLM-LIST-OPEN"]
    assert open_only["items"][0]["stage"] == "awaiting_decision"

    assert_problem(app.http.get("/api/workflows", params={"type": "invoice"}), 400, "type")
    assert_problem(app.http.get("/api/workflows", params={"status": "Sleeping"}), 400, "status.0")
    assert_problem(
        app.http.get("/api/workflows", params={"continuationToken": "garbage"}),
        400,
        "continuationToken",
    )
    app.http.post(f"{running}/decision", json={"decision": "reject", "actor": "ops"})
    app.wait_done(running)


def test_the_listing_reads_every_host_page_beyond_the_first_hundred(start_app):
    """The host answers instance queries 100 at a time with a continuation token (as Azure's
    does); the listing follows it, so 201 claims (two full pages and one more) are all listed,
    each once, in order."""
    app = start_app()
    ids = [f"CLM-MANY-{n:03d}" for n in range(201)]
    for claim_id in ids:
        file_claim(app, claim(claim_id, f"POL-{claim_id}", amount=9000))  # awaits a decision

    whole = app.view_query("/api/workflows", {"type": "claim", "pageSize": "500"})
    assert [item["businessId"] for item in whole["items"]] == ids
    assert whole["continuationToken"] is None

    seen, token, pages = [], None, 0
    while True:
        params = {"type": "claim", "pageSize": "100"}
        if token:
            params["continuationToken"] = token
        page = app.view_query("/api/workflows", params)
        seen += [item["businessId"] for item in page["items"]]
        pages += 1
        token = page["continuationToken"]
        if not token:
            break
    assert seen == ids and pages == 3


def http_routes() -> set[tuple[str, str]]:
    """Every (method, /api/route) the app serves, read from the registered functions."""
    routes = set()
    for function in app_functions():
        for binding in function.get_bindings():
            if binding.type == "httpTrigger":
                for method in binding.methods:
                    routes.add((str(method).split(".")[-1].lower(), f"/api/{binding.route}"))
    return routes


def test_the_openapi_document_covers_every_route_with_the_models_schemas(app: App):
    response = app.http.get("/api/openapi.yaml")
    assert response.status_code == 200
    assert "yaml" in response.headers["content-type"]
    document = yaml.safe_load(response.text)
    assert document["openapi"].startswith("3.1")
    documented = {
        (method, path) for path, operations in document["paths"].items() for method in operations
    }
    missing = http_routes() - documented
    assert not missing, f"routes missing from the document: {sorted(missing)}"

    schemas = document["components"]["schemas"]
    claim_schema = ClaimRequest.model_json_schema(by_alias=True)
    assert set(schemas["ClaimRequest"]["properties"]) == set(claim_schema["properties"])
    assert set(schemas["ClaimRequest"]["required"]) == set(claim_schema["required"])
    assert schemas["DecisionRequest"]["properties"]["decision"]["enum"] == ["approve", "reject"]
    assert set(DecisionRequest.model_json_schema(by_alias=True)["properties"]) == set(
        schemas["DecisionRequest"]["properties"]
    )
    start = document["paths"]["/api/claims"]["post"]
    assert start["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ClaimRequest"
    }
    assert {"202", "400", "409"} <= set(start["responses"])
    # A start's answer links to every route of the instance it started, by its businessId.
    ids = {
        op["operationId"]: path for path, ops in document["paths"].items() for op in ops.values()
    }
    for collection, id_param in (("claims", "claimId"), ("maintenance-orders", "orderId")):
        links = document["paths"][f"/api/{collection}"]["post"]["responses"]["202"]["links"]
        instance = f"/api/{collection}/{{{id_param}}}"
        assert {ids[link["operationId"]] for link in links.values()} == {
            path for path in document["paths"] if path.startswith(instance)
        }
        assert all(
            link["parameters"] == {id_param: "$response.body#/businessId"}
            for link in links.values()
        )
    # Each portal action names the app roles it needs, and answers 401 and 403.
    decision = document["paths"]["/api/claims/{claimId}/decision"]["post"]
    assert decision["security"] == [{"entraId": ["Claims.Supervisor"]}]
    assert {"401", "403"} <= set(decision["responses"])
    pickup = document["paths"]["/api/shipments/{shipmentId}/pickup"]["post"]
    assert pickup["security"][0]["entraId"] == ["Shipments.Carrier", "Shipments.Dispatcher"]
    assert "Maintenance.CertifyingInspector" in document["info"]["description"]
    for path, operations in document["paths"].items():
        for operation in operations.values():
            for status, answer in operation["responses"].items():
                for media in answer.get("content", {}).values():
                    ref = media["schema"].get("$ref", "")
                    assert ref.split("/")[-1] in schemas, f"{path} {status} refers to {ref}"
