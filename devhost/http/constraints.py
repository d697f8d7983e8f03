"""ASP.NET Core's inline route constraints (`{id:int:min(3)}`), each checked as its class in
Microsoft.AspNetCore.Routing.Constraints checks a route value (ASP.NET Core 8, the routing
the Functions host runs on; DefaultInlineConstraintResolver resolves the names, ignoring case).

A value failing a constraint makes its route not match, so the next route is tried. A name
ASP.NET does not know, or arguments it cannot read, stop the host from building its routes:
here a ConfigError at start."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal, InvalidOperation

from devhost.app.config import ConfigError

Check = Callable[[str], bool]

_WHITE = "\t\n\v\f\r "  # what .NET's number parsing skips around a number
_INTEGER = re.compile(rf"[{_WHITE}]*[+-]?[0-9]+[{_WHITE}]*")  # NumberStyles.Integer
_NUMBER = re.compile(  # NumberStyles.Number: thousands, a point, one sign before or after
    rf"[{_WHITE}]*(?P<lead>[+-])?(?P<digits>[0-9][0-9,]*(?:\.[0-9]*)?|\.[0-9]+)"
    rf"(?P<trail>[+-])?[{_WHITE}]*"
)
_FLOAT = re.compile(  # NumberStyles.Float | AllowThousands
    rf"[{_WHITE}]*[+-]?(?:[0-9][0-9,]*(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?[{_WHITE}]*"
)
_FLOAT_SYMBOLS = {"infinity", "+infinity", "-infinity", "nan"}
_HEX = "[0-9A-Fa-f]"
_GUID_D = f"{_HEX}{{8}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{12}}"
_GUID = re.compile(  # Guid.TryParse's formats N, D, B, P and X
    rf"{_HEX}{{32}}|{_GUID_D}|\{{{_GUID_D}\}}|\({_GUID_D}\)"
    rf"|\{{0[xX]{_HEX}{{1,8}},0[xX]{_HEX}{{1,4}},0[xX]{_HEX}{{1,4}},"
    rf"\{{(?:0[xX]{_HEX}{{1,2}},){{7}}0[xX]{_HEX}{{1,2}}\}}\}}"
)
_DECIMAL_MAX = Decimal("79228162514264337593543950335")
_DATE_FORMATS = (  # the invariant culture's patterns DateTime.TryParse reads
    "%Y-%m-%d",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%dT%H:%M:%S.%f",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d %H:%M:%S",
    "%m/%d/%Y",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %I:%M:%S %p",
    "%Y/%m/%d",
    "%d %B %Y",
    "%d %b %Y",
    "%B %d, %Y",
    "%b %d, %Y",
    "%d %b %Y %H:%M:%S",
    "%a, %d %b %Y %H:%M:%S GMT",  # RFC 1123
)
_ZONE = re.compile(r"(?:Z|[+-][0-9]{2}:?[0-9]{2})$", re.IGNORECASE)


def _integer(value: str, bits: int) -> int | None:
    """int.TryParse / long.TryParse with NumberStyles.Integer in the invariant culture."""
    if not _INTEGER.fullmatch(value):
        return None
    number = int(value.strip(_WHITE))
    return number if -(2 ** (bits - 1)) <= number < 2 ** (bits - 1) else None


def _is_bool(value: str) -> bool:
    """bool.TryParse: "true" or "false" in any case, white space and NULs around allowed."""
    return value.strip().strip("\0").strip().lower() in ("true", "false")


def _is_decimal(value: str) -> bool:
    """decimal.TryParse with NumberStyles.Number: within ±79,228,162,514,264,337,593,543,950,335."""
    found = _NUMBER.fullmatch(value)
    if not found or (found["lead"] and found["trail"]):
        return False
    try:
        return Decimal(found["digits"].replace(",", "")).copy_abs() <= _DECIMAL_MAX
    except InvalidOperation:
        return False


def _is_float(value: str) -> bool:
    """double.TryParse / float.TryParse (Float | AllowThousands): since .NET Core 3.0 a number
    too large to hold is infinity, not a failure, so there is no range to check."""
    return bool(_FLOAT.fullmatch(value)) or value.strip(_WHITE).lower() in _FLOAT_SYMBOLS


def _is_datetime(value: str) -> bool:
    """DateTime.TryParse in the invariant culture, for the shapes a route value carries: ISO
    8601 dates and times (a `Z` or offset allowed) and the culture's usual patterns. The .NET
    parser takes yet more shapes; a date that does not exist (Feb 30) is refused by both."""
    text = _ZONE.sub("", value.strip()) if "T" in value.upper() else value.strip()
    for pattern in _DATE_FORMATS:
        try:
            datetime.strptime(text.replace("t", "T"), pattern)
            return True
        except ValueError:
            continue
    return False


def _is_file_name(value: str) -> bool:
    """FileNameRouteConstraint: the last path segment has a dot with something after it."""
    last = value.rsplit("/", 1)[-1]
    dot = last.find(".")
    return dot >= 0 and last[dot + 1 :].strip(".") != ""


def _utf16_length(value: str) -> int:
    """string.Length: UTF-16 code units, so a character outside the BMP counts twice."""
    return len(value.encode("utf-16-le")) // 2


def _regex(pattern: str) -> Check:
    """RegexRouteConstraint: IgnoreCase | CultureInvariant, unanchored unless `^`/`$` say so."""
    try:
        compiled = re.compile(pattern, re.IGNORECASE)
    except re.error as problem:
        raise ValueError(f"regex {pattern!r} does not compile: {problem}") from None
    return lambda value: compiled.search(value) is not None


def _args(text: str, count: tuple[int, ...]) -> list[int]:
    parts = [part.strip() for part in text.split(",")] if text else []
    if len(parts) not in count:
        raise ValueError(f"takes {' or '.join(map(str, count))} argument(s), not {len(parts)}")
    numbers = []
    for part in parts:
        number = _integer(part, 64)
        if number is None:
            raise ValueError(f"argument {part!r} is not a whole number")
        numbers.append(number)
    return numbers


def _length(arguments: str, *, at_least: bool, at_most: bool) -> Check:
    """LengthRouteConstraint, MinLengthRouteConstraint, MaxLengthRouteConstraint."""
    numbers = _args(arguments, (1, 2) if at_least and at_most else (1,))
    if any(n < 0 for n in numbers):
        raise ValueError("a length cannot be negative")
    low, high = (numbers[0], numbers[-1]) if at_least and at_most else (numbers[0], numbers[0])
    if low > high:
        raise ValueError("the minimum length is greater than the maximum")
    if at_least and at_most:
        return lambda v: low <= _utf16_length(v) <= high
    if at_least:
        return lambda v: _utf16_length(v) >= low
    return lambda v: _utf16_length(v) <= high


def _bounded(arguments: str, *, lower: bool, upper: bool) -> Check:
    """MinRouteConstraint, MaxRouteConstraint, RangeRouteConstraint: the value read as a long."""
    numbers = _args(arguments, (2,) if lower and upper else (1,))
    low = numbers[0] if lower else -(2**63)
    high = numbers[-1] if upper else 2**63 - 1
    if low > high:
        raise ValueError("the minimum is greater than the maximum")

    def check(value: str) -> bool:
        number = _integer(value, 64)
        return number is not None and low <= number <= high

    return check


def _plain(check: Check) -> Callable[[str], Check]:
    def make(arguments: str) -> Check:
        if arguments:
            raise ValueError("takes no arguments")
        return check

    return make


_ALPHA = re.compile(r"^[A-Za-z]*$")
FACTORIES: dict[str, Callable[[str], Check]] = {
    "int": _plain(lambda v: _integer(v, 32) is not None),
    "long": _plain(lambda v: _integer(v, 64) is not None),
    "bool": _plain(_is_bool),
    "datetime": _plain(_is_datetime),
    "decimal": _plain(_is_decimal),
    "double": _plain(_is_float),
    "float": _plain(_is_float),
    "guid": _plain(lambda v: bool(_GUID.fullmatch(v.strip()))),
    "alpha": _plain(lambda v: _ALPHA.search(v) is not None),
    "required": _plain(lambda v: v != ""),
    "file": _plain(_is_file_name),
    "nonfile": _plain(lambda v: not _is_file_name(v)),
    "minlength": lambda a: _length(a, at_least=True, at_most=False),
    "maxlength": lambda a: _length(a, at_least=False, at_most=True),
    "length": lambda a: _length(a, at_least=True, at_most=True),
    "min": lambda a: _bounded(a, lower=True, upper=False),
    "max": lambda a: _bounded(a, lower=False, upper=True),
    "range": lambda a: _bounded(a, lower=True, upper=True),
    "regex": _regex,
}


def constraint(name: str, arguments: str | None, template: str) -> Check:
    """The check for `name(arguments)`; ConfigError when ASP.NET could not build it."""
    factory = FACTORIES.get(name.lower())
    if factory is None:
        raise ConfigError(
            f"route {template!r}: the constraint {name!r} is not one ASP.NET Core routing "
            f"knows ({', '.join(sorted(FACTORIES))}); the Functions host cannot build its "
            "routes with it."
        )
    try:
        return factory(arguments or "")
    except ValueError as problem:
        raise ConfigError(f"route {template!r}: constraint {name!r} {problem}.") from None
