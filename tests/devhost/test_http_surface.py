"""The HTTP trigger surface as the Functions host (ASP.NET Core routing) and the Python worker
give it to an app: route constraints and order, the request a function receives, and the reply
its return value becomes. Pure tests of devhost's routing and conversions, then one test per
group over HTTP on the `surface` app."""

from __future__ import annotations

import pytest

from devhost.app.config import ConfigError
from devhost.app.loader import HttpFunction
from devhost.http.routes import compile_route
from devhost.http.triggers import HttpTriggers
from tests.devhost.support import APPS, assert_no_body

GUID = "0f8fad5b-d9cb-469f-a165-70867728950e"


@pytest.fixture(scope="module")
def host(devhost_factory):
    return devhost_factory(APPS / "surface")


def _function(name: str, route: str, methods: frozenset[str] | None = None) -> HttpFunction:
    return HttpFunction(
        name=name,
        route=route,
        methods=methods,
        auth_level="anonymous",
        handler=None,
        request_param="req",
        client_param=None,
        context_param=None,
    )


# -- route constraints --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("constraint", "fits", "does_not_fit"),
    [
        # IntRouteConstraint: int.TryParse, NumberStyles.Integer, invariant culture: a sign,
        # white space around, ASCII digits, within Int32.
        ("int", ["5", "-5", "+5", " 5 ", "2147483647", "-2147483648"], ["2147483648", "5.0"]),
        ("int", ["007"], ["0x10", "\u0661", "1_000", "5 5"]),
        ("long", ["9223372036854775807", "-9223372036854775808"], ["9223372036854775808", "x"]),
        # BoolRouteConstraint: bool.TryParse.
        ("bool", ["true", "FALSE", " True "], ["yes", "1", "t"]),
        # Decimal/Double/FloatRouteConstraint: NumberStyles.Number / Float | AllowThousands.
        ("decimal", ["1.5", "-1.5", "5-", "1,000.25", ".5", "5."], ["1e5", "--5", "-5-", "x"]),
        ("decimal", ["79228162514264337593543950335"], ["79228162514264337593543950336"]),
        ("double", ["1.5", "1e10", "-2.5E-3", "1,000.5", "1e400", "NaN", "-Infinity"], ["1.2.3"]),
        ("float", ["3.25", "+7", "infinity"], ["1e", "e5", "abc"]),
        # GuidRouteConstraint: Guid.TryParse's formats D, N, B, P and X.
        (
            "guid",
            [GUID, GUID.replace("-", ""), f"{{{GUID}}}", f"({GUID})", GUID.upper()],
            [GUID[:-1], GUID + "0", f"{{{GUID})"],
        ),
        (
            "guid",
            ["{0x0f8fad5b,0xd9cb,0x469f,{0xa1,0x65,0x70,0x86,0x77,0x28,0x95,0x0e}}"],
            ["{0x0f8fad5b,0xd9cb,0x469f}"],
        ),
        # DateTimeRouteConstraint: DateTime.TryParse, invariant culture.
        (
            "datetime",
            ["29 Feb 2024", "February 29, 2024", "2024-02-29 23:59"],
            ["2024-02-29T25:00"],
        ),
        (
            "datetime",
            ["2024-02-29", "2024-2-9", "2024-02-29T10:30:00Z", "2024-02-29T10:30:00.5+01:00"],
            ["2023-02-29", "2024-13-01", "tomorrow", "12", "20240229"],
        ),
        # AlphaRouteConstraint: ^[a-z]*$, ignoring case.
        ("alpha", ["abc", "ABC", "aBc"], ["ab1", "é", "a-b", "\u212a"]),  # not the Kelvin sign
        # Length/MinLength/MaxLengthRouteConstraint: string.Length, in UTF-16 code units.
        ("length(3)", ["abc", "a b"], ["ab", "abcd"]),
        ("length(2,5)", ["ab", "abcde"], ["a", "abcdef"]),
        ("length(2)", ["\U0001f600"], ["é"]),
        ("minlength(2)", ["ab", "abcdef"], ["a"]),
        ("maxlength(3)", ["a", "abc"], ["abcd"]),
        # Min/Max/RangeRouteConstraint: the value read as a long.
        ("min(3)", ["3", "400"], ["2", "-3", "x"]),
        ("max(10)", ["10", "-99"], ["11", "x"]),
        ("range(1,5)", ["1", "5", "+3"], ["0", "6", "2.5"]),
        # Chained constraints all apply.
        ("int:min(3)", ["3", "12"], ["2", "x", "3.5"]),
        ("alpha:length(2)", ["ab"], ["a1", "abc"]),
        ("INT:Range(1,2)", ["2"], ["3"]),  # constraint names ignore case
        # RegexRouteConstraint: IgnoreCase | CultureInvariant, unanchored unless ^/$ say so.
        (r"regex(^[a-z]{{2}}\d$)", ["ab1", "AB1"], ["abc1", "a1"]),
        (r"regex(\d)", ["a1b"], ["abc"]),
        (r"regex(^(a|b)c$)", ["ac", "BC"], ["cc"]),  # a ")" not before ":" or "=" is inside
        # FileName/NonFileNameRouteConstraint.
        ("file", ["a.txt", "x.y.z"], ["abc", "a."]),
        ("nonfile", ["abc"], ["a.txt"]),
    ],
)
def test_inline_constraints_check_a_value_as_aspnet_core_does(constraint, fits, does_not_fit):
    """Each constraint as its class in Microsoft.AspNetCore.Routing.Constraints (ASP.NET Core
    8, resolved by DefaultInlineConstraintResolver) checks a route value; a value failing it
    means the route does not match."""
    route = compile_route(f"things/{{value:{constraint}}}")

    for value in fits:
        assert route.match(f"things/{value}") == {"value": value}, value
    for value in does_not_fit:
        assert route.match(f"things/{value}") is None, value


def test_an_optional_parameter_left_out_passes_its_constraints_and_a_default_is_checked():
    """OptionalRouteConstraint passes an absent value; a default is a route value like any
    other and meets the same constraints (ASP.NET Core RouteBase)."""
    assert compile_route("a/{n:int?}").match("a") == {}
    assert compile_route("a/{n:int?}").match("a/x") is None
    assert compile_route("a/{n:int=4}").match("a") == {"n": "4"}
    assert compile_route("a/{n:int=four}").match("a") is None


def test_literals_ignore_case_and_doubled_braces_are_literal():
    """TemplateMatcher compares literal text ignoring case; `{{` and `}}` stand for braces."""
    route = compile_route("Files/{{raw}}/{name}.{ext}")

    assert route.match("files/{raw}/report.final.pdf") == {"name": "report.final", "ext": "pdf"}
    assert route.match("FILES/{RAW}/a.b") == {"name": "a", "ext": "b"}
    assert route.match("files/raw/a.b") is None


@pytest.mark.parametrize(
    "template",
    [
        "a/{id:integer}",
        "a/{id:min(x)}",
        "a/{id:length(5,2)}",
        "a/{id:regex(()}",
        "a/{id:regex(^(a|b):x$)}",
        "a/{",
    ],
)
def test_a_constraint_aspnet_cannot_build_stops_the_host_at_start(template):
    """An unknown constraint name or unreadable arguments make ASP.NET throw while the host
    builds its routes (DefaultInlineConstraintResolver.ResolveConstraint); devhost refuses the
    app at start, naming the route."""
    with pytest.raises(ConfigError, match="function odd: route"):
        HttpTriggers([_function("odd", template)])


# -- route order and methods --------------------------------------------------------------------


def test_routes_are_tried_in_function_name_order_ignoring_case_and_the_first_fit_wins():
    """FunctionMetadataManager sorts functions by name with StringComparer.OrdinalIgnoreCase
    (which compares upper-cased: `_` sorts after letters), WebScriptHostHttpRoutesManager maps
    them in that order and WebJobsRouteBuilder.Build() keeps it (azure-functions-host 4.1036,
    azure-webjobs-sdk-extensions http-v3.2.0); RouteCollection.RouteAsync takes the first
    route that matches. A more literal route does not win by being more literal."""
    triggers = HttpTriggers(
        [
            _function("x_literal", "items/new"),
            _function("xa_any", "items/{id}"),
            _function("Xb_number", "items/{id:int}"),
        ],
        "api",
    )

    found = triggers.match("api/items/new", "GET")
    assert found is not None and found[0].name == "xa_any"
    found = triggers.match("API/items/7", "GET")
    assert found is not None and (found[0].name, found[1]) == ("xa_any", {"id": "7"})


def test_a_method_a_route_does_not_take_moves_on_to_the_next_route():
    """The methods are a route constraint (HttpMethodRouteConstraint), so the next route in
    order is tried, and when none takes the method nothing matches (a 404)."""
    triggers = HttpTriggers(
        [
            _function("a", "x/{v}", frozenset({"POST"})),
            _function("b", "x/fixed", frozenset({"GET"})),
        ]
    )

    found = triggers.match("x/fixed", "get")
    assert found is not None and found[0].name == "b"
    assert triggers.match("x/fixed", "DELETE") is None


# -- over HTTP ----------------------------------------------------------------------------------


def test_routes_over_http_follow_name_order_constraints_and_methods(host):
    """/api/order/fixed fits all three `order` functions; the first by name that takes the
    value and the method answers. A method none takes is a 404, not a 405."""

    def reached(method: str, path: str) -> str:
        response = host.http.request(method, path)
        assert response.status_code == 200, (path, response.status_code, response.text)
        return response.text

    assert reached("GET", "/api/order/fixed") == "bb_anything"
    assert reached("GET", "/api/order/5") == "aa_number"
    assert reached("GET", "/api/order/2") == "bb_anything"  # min(3) fails: the next route
    assert reached("POST", "/api/ORDER/Fixed") == "cc_fixed"
    assert_no_body(host.http.delete("/api/order/fixed"), 404)

    day = host.http.get("/api/when/2024-02-29/abc/TRUE")
    assert day.json() == {"day": "2024-02-29", "code": "abc", "flag": "TRUE"}
    for path in ["2023-02-29/abc", "2024-02-29/abcd", "2024-02-29/abc/yes"]:
        assert_no_body(host.http.get(f"/api/when/{path}"), 404)


def test_the_request_a_function_receives_is_converted_as_the_host_converts_it(host):
    """ToRpcHttp (azure-functions-host 4.1036 GrpcMessageConversionExtensions.cs): query keys
    ignore case and repeated values are joined with ",", empty values are left out; header
    names are lower-cased and repeated headers joined with ","; the body is sent only when
    Content-Length > 0. Kestrel decodes the path but leaves `%2F` as sent, so a route value
    keeps it."""
    response = host.http.get(
        "/api/seen/a%2Fb/x%20y/z?q=1&Q=2&q=3&empty=&flag&plus=a+b",
        headers=[("X-Rep", "1"), ("x-rep", "2"), ("X-Single", "s")],
    )

    seen = response.json()
    assert seen["route"] == {"name": "a%2Fb", "rest": "x y/z"}
    assert seen["params"] == {"q": "1,2,3", "plus": "a b"}
    assert seen["headers"] == {"x-rep": "1,2", "x-single": "s"}
    assert all(name == name.lower() for name in seen["header_names"])
    assert seen["url"].endswith("/api/seen/a%2Fb/x%20y/z?q=1&Q=2&q=3&empty=&flag&plus=a+b")

    sized = host.http.post("/api/seen/n/", content=b"sized body")
    chunked = host.http.post("/api/seen/n/", content=iter([b"chunked ", b"body"]))
    assert (sized.json()["body"], chunked.json()["body"]) == ("sized body", "")


def test_a_return_value_the_http_binding_cannot_take_is_a_500_with_the_reason_logged(host):
    """The `$return` http binding takes a `str` or a `func.HttpResponse` only
    (azure.functions 1.26 HttpResponseConverter.encode); for anything else python-worker 4.34
    fails the invocation with TypeError 'unable to encode outgoing TypedData' (bindings/meta.py
    get_datum), and the host answers a failed invocation with an empty 500."""
    for kind, type_name in [
        ("dict", "dict"),
        ("none", "NoneType"),
        ("bytes", "bytes"),
        ("int", "int"),
    ]:
        assert_no_body(host.http.get(f"/api/returns/{kind}"), 500)
        assert (
            "Functions.returns. Result: Failure Exception: TypeError: unable to encode "
            "outgoing TypedData: "
            f'unsupported type "http" for Python type "{type_name}"'
        ) in host.log.read_text()

    text = host.http.get("/api/returns/str")
    assert (text.status_code, text.text) == (200, "plain")
    assert text.headers["content-type"] == "text/plain; charset=utf-8"


@pytest.mark.parametrize(
    ("returned", "status", "content_type", "body"),
    [
        ("plain words", 200, "text/plain; charset=utf-8", "plain words"),
        # JSON is no longer text: an object or array comes back as Newtonsoft indents it...
        (
            '{"id": "C-1", "amount": 2.0, "tags": ["ü"], "at": "2026-12-07T10:00:00.500000+02:00"}',
            200,
            "text/plain; charset=utf-8",
            '{\n  "id": "C-1",\n  "amount": 2.0,\n  "tags": [\n    "ü"\n  ],\n'
            '  "at": "2026-12-07T08:00:00.5+00:00"\n}',
        ),
        # ...and a scalar as .NET writes it.
        ("true", 200, "text/plain; charset=utf-8", "True"),
        ("null", 200, "text/plain; charset=utf-8", ""),
        ('"quoted"', 200, "text/plain; charset=utf-8", "quoted"),
        ("1e21", 200, "text/plain; charset=utf-8", "1E+21"),
        # An object with a body is a response object: status, headers and body.
        (
            '{"status": "404", "body": "no such claim", "headers": {"X-Why": 7}}',
            404,
            "text/plain; charset=utf-8",
            "no such claim",
        ),
        (
            '{"StatusCode": 201, "Body": {"ok": true}, '
            '"headers": {"content-type": "application/json"}}',
            201,
            "application/json; charset=utf-8",
            '{"ok":true}',
        ),
        (
            '{"body": [1, 2]}',
            200,
            "text/plain; charset=utf-8",
            "System.Collections.Generic.List`1[System.Object]",
        ),
        ('{"status": "gone", "body": null}', 200, "text/plain; charset=utf-8", ""),
        # Content negotiation asked for: MVC's formatters (HttpBinding ScriptObjectResult).
        (
            '{"enableContentNegotiation": true, "body": {"a": 1.5}}',
            200,
            "application/json; charset=utf-8",
            '{"a":1.5}',
        ),
        ('{"enableContentNegotiation": true, "body": null}', 204, None, ""),
    ],
)
def test_a_returned_str_is_read_as_the_hosts_http_binding_reads_it(
    host, returned: str, status: int, content_type: str | None, body: str
):
    """python-worker 4.34 sends a returned `str` as it is; the host's http binding
    (azure-functions-host 4.1036 Binding/Http/HttpBinding.cs CreateResult) reads it as JSON
    with Newtonsoft: an object with `body` (any case) is a response object (ParseResponseObject,
    TryParseStatusCode: `statusCode` or `status`, a number or numeric text), anything else JSON
    is written by its `ToString()`; RawScriptResult then writes every body through
    StringOutputFormatter, charset and all, unless the object asks for content negotiation
    (then MVC's formatters: no content for null, else Newtonsoft's JSON for a client that takes
    any type). Newtonsoft reads ISO dates as dates: an offset comes back as the host's UTC, the
    fraction without trailing zeros."""
    response = host.http.post("/api/text", content=returned.encode())

    assert (response.status_code, response.text) == (status, body)
    assert response.headers.get("content-type") == content_type
    if "X-Why" in returned:
        assert response.headers["x-why"] == "7"


def test_a_response_object_the_host_cannot_write_is_a_500(host):
    """RawScriptResult.ExecuteResultAsync: a null content-type throws InvalidOperationException
    ("content-type header cannot be null"), another null header a NullReferenceException; a
    status past Int32 an OverflowException (Convert.ToInt32): the host fails writing the reply,
    and the client gets an empty 500."""
    for returned in [
        '{"body": "x", "headers": {"Content-Type": null}}',
        '{"body": "x", "headers": {"X-Empty": null}}',
        '{"body": "x", "statusCode": 4000000000}',
    ]:
        assert_no_body(host.http.post("/api/text", content=returned.encode()), 500)


def test_the_reply_keeps_its_content_type_and_every_cookie(host):
    """HttpResponseConverter.encode adds `; charset=` only to a `text/*` mimetype and keeps an
    explicit Content-Type as given; every Set-Cookie is sent as an RpcHttpCookie and the host
    writes each one with ASP.NET Core's SetCookieHeaderValue (python-worker 4.34
    test_http_functions.py: `foo=bar` comes back as `foo=bar; domain=; path=`)."""

    def content_type(**query: str) -> str:
        response = host.http.get("/api/reply", params=query)
        assert response.status_code == 201
        return response.headers["content-type"]

    assert content_type() == "text/plain; charset=utf-8"
    assert content_type(mimetype="text/html") == "text/html; charset=utf-8"
    assert content_type(mimetype="application/problem+json") == "application/problem+json"
    assert content_type(type="application/octet-stream") == "application/octet-stream"
    assert content_type(type="text/csv") == "text/csv"

    cookies = 'a=1|b="two words"; Path=/x; HttpOnly; SameSite=Strict; Max-Age=60'
    response = host.http.get("/api/reply", params={"cookies": cookies})
    assert response.headers.get_list("set-cookie") == [
        "a=1; domain=; path=",
        "b=two%20words; max-age=60; domain=; path=/x; samesite=strict; httponly",
    ]
