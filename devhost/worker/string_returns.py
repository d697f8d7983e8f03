"""What the Functions host makes of a `str` an HTTP function returns.

The Python worker sends the text as it is; the host's http binding then reads it
(azure-functions-host 4.1036, src/WebJobs.Script/Binding/Http/HttpBinding.cs CreateResult and
RawScriptResult.cs):

- text that Newtonsoft reads as JSON is no longer text: an object with a `body` key (any
  letter case) is a response object whose `statusCode`/`status`, `headers` and `body` make the
  reply; any other JSON value is written by `ToString()`, which for an object or array is
  Newtonsoft's indented JSON and for a scalar .NET's text of it (`True`, `1E+21`, a JSON
  string without its quotes, nothing for `null`);
- every body is then written by ASP.NET Core's StringOutputFormatter: UTF-8, the Content-Type
  the headers gave or `text/plain`, with `; charset=utf-8` put in.

Newtonsoft reads strings in ISO 8601 date form as dates and writes them back in its own form
(`.120000` becomes `.12`, an offset becomes the host's UTC offset), which is done here too;
its lenient reading (comments, single quotes, bare names) is not: such text stays text.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from devhost.worker.messages import HttpReply

INT32 = range(-(2**31), 2**31)
#: DateTimeUtils.TryParseDateTimeIso: what Newtonsoft takes for a date in a JSON string.
ISO_DATE = re.compile(
    r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?P<fraction>\.\d{1,7})?(?P<zone>Z|[+-]\d{2}:\d{2})?"
)
#: What int.TryParse takes with NumberStyles.Integer: ASCII digits, a sign, white space around.
DOTNET_INTEGER = re.compile(r"[ \t\n\v\f\r]*[+-]?[0-9]+[ \t\n\v\f\r]*")
NULL_REFERENCE = "Object reference not set to an instance of an object."


def string_reply(text: str) -> HttpReply:
    """The reply the host writes for `text` returned by an HTTP function."""
    try:
        value = json.loads(text)
    except ValueError:
        return _written(200, [], None, text)
    if isinstance(value, dict) and (body := _lookup(value, "body")) is not None:
        return _response_object(value, body[1])
    return _written(200, [], None, _dotnet_text(value, indented=True))


def _response_object(fields: dict[str, Any], body: Any) -> HttpReply:
    """ParseResponseObject: the status, headers and body a response object names."""
    given = _lookup(fields, "headers")
    named = given[1] if given is not None and isinstance(given[1], dict) else {}
    content_type, headers = raw_result_headers(
        (name, None if value is None else _dotnet_text(value)) for name, value in named.items()
    )
    negotiated = _lookup(fields, "enableContentNegotiation")
    if negotiated is not None and negotiated[1] is None:
        raise ValueError(NULL_REFERENCE)  # TryGetValue<bool> unboxing null
    status = _status(fields)
    if negotiated is not None and negotiated[1] is True and not isinstance(body, str):
        # ScriptObjectResult: MVC's formatters, Accept not weighed: no content for null,
        # else Newtonsoft's JSON.
        if body is None:
            return HttpReply(204, headers, b"")
        return _written(status, headers, content_type or "application/json", _compact(body))
    if isinstance(body, dict):
        return _written(status, headers, content_type, _compact(body))  # Utility.ToJson
    return _written(status, headers, content_type, _dotnet_text(body))


def raw_result_headers(
    pairs: Iterable[tuple[str, str | None]],
) -> tuple[str | None, list[tuple[str, str]]]:
    """RawScriptResult.ExecuteResultAsync's headers: (the Content-Type, as given, and the
    others). A name already written (ignoring case) is not written again; a null value throws
    (InvalidOperationException for Content-Type, NullReferenceException from ToString())."""
    content_type: str | None = None
    headers: list[tuple[str, str]] = []
    for name, value in pairs:
        if name.lower() == "content-type":
            if value is None:
                raise ValueError("content-type header cannot be null")
            content_type = value
        elif value is None:
            raise ValueError(NULL_REFERENCE)
        elif name.lower() not in {written.lower() for written, _ in headers}:
            headers.append((name, value))
    return content_type, headers


def _status(fields: dict[str, Any]) -> int:
    """TryParseStatusCode: `statusCode`, else `status`; an integer (that fits an Int32) or
    text int.TryParse reads; anything else leaves 200."""
    found = _lookup(fields, "statusCode") or _lookup(fields, "status")
    value = found[1] if found else None
    if isinstance(value, bool) or value is None:
        return 200
    if isinstance(value, int):
        if value not in INT32:
            raise OverflowError("Value was either too large or too small for an Int32.")
        return value
    if isinstance(value, str) and DOTNET_INTEGER.fullmatch(value):
        number = int(value)
        return number if number in INT32 else 200
    return 200


def _written(
    status: int, headers: list[tuple[str, str]], content_type: str | None, text: str
) -> HttpReply:
    """StringOutputFormatter: UTF-8, its charset put into the media type the reply has
    (MediaType.ReplaceEncoding keeps the other parameters), `text/plain` when none."""
    media, *parameters = (content_type or "text/plain").split(";")
    kept = [p.strip() for p in parameters if p.strip() and not _is_charset(p)]
    written = "; ".join([media.strip() or "text/plain", *kept, "charset=utf-8"])
    return HttpReply(status, [("Content-Type", written), *headers], text.encode())


def _is_charset(parameter: str) -> bool:
    return parameter.split("=")[0].strip().lower() == "charset"


def _lookup(fields: dict[str, Any], name: str) -> tuple[str, Any] | None:
    """IDictionaryExtensions.TryGetValue(ignoreCase: true): the exact key, else the first
    key equal to it ignoring case."""
    if name in fields:
        return name, fields[name]
    for key, value in fields.items():
        if key.lower() == name.lower():
            return key, value
    return None


def _dotnet_text(value: Any, indented: bool = False) -> str:
    """`value.ToString()` in .NET, for what Newtonsoft made of JSON: a JObject or JArray
    (`indented`) is its indented JSON; an ExpandoObject or List<object> (a response
    object's parts) is its type name; a scalar is .NET's text of it."""
    if isinstance(value, dict):
        return _indented(value) if indented else "System.Dynamic.ExpandoObject"
    if isinstance(value, list):
        return _indented(value) if indented else "System.Collections.Generic.List`1[System.Object]"
    if value is None:
        return ""
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, float):
        return _dotnet_double(value)
    return str(value)


def _indented(value: Any) -> str:
    """JToken.ToString(): two-space indented JSON, "\\n" lines (the host runs Python apps on
    Linux)."""
    return _json(value, "  ")


def _compact(value: Any) -> str:
    return _json(value, None)


def _json(value: Any, indent: str | None, depth: int = 0) -> str:
    """JSON as Newtonsoft writes what it read: non-ASCII kept, dates in its form, doubles in
    .NET's text with a decimal place (JsonConvert.EnsureDecimalPlace), NaN and infinities
    as strings (FloatFormatHandling.String)."""
    if isinstance(value, dict | list):
        items = (
            [f"{json.dumps(key, ensure_ascii=False)}:{'' if indent is None else ' '}"
             f"{_json(item, indent, depth + 1)}" for key, item in value.items()]
            if isinstance(value, dict)
            else [_json(item, indent, depth + 1) for item in value]
        )  # fmt: skip
        opening, closing = "{}" if isinstance(value, dict) else "[]"
        if not items:
            return opening + closing
        if indent is None:
            return opening + ",".join(items) + closing
        inner, outer = "\n" + indent * (depth + 1), "\n" + indent * depth
        return opening + inner + ("," + inner).join(items) + outer + closing
    if isinstance(value, str):
        return json.dumps(_newtonsoft_date(value), ensure_ascii=False)
    if isinstance(value, float):
        text = _dotnet_double(value)
        if not math.isfinite(value):
            return f'"{text}"'
        return text if any(mark in text for mark in ".E") else text + ".0"
    return json.dumps(value)


def _newtonsoft_date(text: str) -> str:
    """A string Newtonsoft reads as a date, written back: an offset becomes the host's (UTC),
    `Z` stays, the fraction loses its trailing zeros."""
    match = ISO_DATE.fullmatch(text)
    if not match:
        return text
    fraction = match["fraction"] or ""
    zone = match["zone"]
    try:
        moment = datetime.fromisoformat(
            text[: match.start("fraction")] + text[match.end("fraction") :] if fraction else text
        )
    except ValueError:
        return text
    if zone and zone != "Z":
        moment = moment.astimezone(UTC)
        suffix = "+00:00"
    else:
        suffix = zone or ""
    digits = fraction[1:].rstrip("0")
    stamp = moment.strftime("%Y-%m-%dT%H:%M:%S")
    return f"{stamp}{'.' + digits if digits else ''}{suffix}"


def _dotnet_double(value: float) -> str:
    """double.ToString() (.NET Core 3.0 and later): the shortest text that reads back, fixed
    between 1E-05 and 1E+15 (both scientific), scientific with a two-digit exponent outside."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "-0" if math.copysign(1, value) < 0 else "0"
    number = Decimal(repr(value)).normalize()
    sign, digits, exponent = number.as_tuple()
    assert isinstance(exponent, int)
    mantissa = "".join(map(str, digits))
    position = len(mantissa) + exponent - 1  # the first digit's power of ten
    if -5 < position < 15:
        return format(number, "f")
    minus = "-" if sign else ""
    rest = f".{mantissa[1:]}" if len(mantissa) > 1 else ""
    return f"{minus}{mantissa[0]}{rest}E{'+' if position >= 0 else '-'}{abs(position):02d}"
