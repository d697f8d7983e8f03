"""Function route templates (`orders/{id:int:min(1)}`, `files/{*path}`, `items/{name?}`), read
and matched as ASP.NET Core routing reads and matches them (RoutePatternParser,
TemplateMatcher): literals ignore case, `{{`/`}}` are literal braces, a parameter may carry
chained constraints (devhost/http/constraints.py), a default (`=x`) or `?`, and a catch-all
(`*`, `**`) takes the rest of the path."""

from __future__ import annotations

import re
from dataclasses import dataclass

from devhost.app.config import ConfigError
from devhost.http.constraints import Check, constraint


@dataclass(frozen=True)
class Parameter:
    name: str
    checks: tuple[Check, ...]
    optional: bool
    catch_all: bool
    default: str | None


@dataclass(frozen=True)
class RouteTemplate:
    template: str
    pattern: re.Pattern[str]
    parameters: dict[str, Parameter]  # by the regex group that captures each

    def match(self, path: str) -> dict[str, str] | None:
        """The route values for `path` (decoded, `%2F` kept), or None when it does not fit.
        A value failing a constraint is no match; an absent optional value passes, as
        OptionalRouteConstraint lets it; a default is checked like a value given."""
        found = self.pattern.fullmatch(path.strip("/"))
        if not found:
            return None
        values: dict[str, str] = {}
        for group, parameter in self.parameters.items():
            value = found[group]
            if value is None or (value == "" and parameter.catch_all):
                value = parameter.default
            if value is None:
                continue
            if not all(check(value) for check in parameter.checks):
                return None
            values[parameter.name] = value
        return values


def compile_route(template: str) -> RouteTemplate:
    """Compile a route template; ConfigError for one ASP.NET would refuse to build."""
    parts: list[str] = []
    parameters: dict[str, Parameter] = {}
    for segment in template.strip("/").split("/"):
        if not segment:
            continue
        regex, optional = "", False
        for piece in _pieces(segment, template):
            if isinstance(piece, str):
                regex += f"(?i:{re.escape(piece)})"
                continue
            group = f"p{len(parameters)}"
            parameters[group] = piece
            body = ".*" if piece.catch_all else "[^/]+"
            regex += f"(?P<{group}>{body})"
            optional = optional or piece.optional or piece.catch_all or piece.default is not None
        separator = "/" if parts else ""
        parts.append(f"(?:{separator}{regex})?" if optional else f"{separator}{regex}")
    return RouteTemplate(template, re.compile("".join(parts), re.DOTALL), parameters)


def _pieces(segment: str, template: str) -> list[str | Parameter]:
    """A segment's literal text and parameters, in order."""
    pieces: list[str | Parameter] = []
    literal, index = "", 0
    while index < len(segment):
        char = segment[index]
        if segment.startswith(("{{", "}}"), index):
            literal += char
            index += 2
        elif char == "{":
            end = _parameter_end(segment, index + 1, template)
            if literal:
                pieces.append(literal)
                literal = ""
            text = segment[index + 1 : end].replace("{{", "{").replace("}}", "}")
            pieces.append(_parameter(text, template))
            index = end + 1
        elif char == "}":
            raise ConfigError(f"route {template!r}: a '}}' without its '{{'.")
        else:
            literal += char
            index += 1
    if literal:
        pieces.append(literal)
    return pieces


def _parameter_end(segment: str, index: int, template: str) -> int:
    """Where the parameter opened before `index` closes; `}}` inside it is a literal brace."""
    while index < len(segment):
        if segment.startswith(("{{", "}}"), index):
            index += 2
        elif segment[index] == "}":
            return index
        else:
            index += 1
    raise ConfigError(f"route {template!r}: a '{{' without its '}}'.")


def _parameter(text: str, template: str) -> Parameter:
    """`*name:c1:c2(args)?` or `name:c=default`, as InlineRouteParameterParser reads it."""
    catch_all = text.startswith("*")
    text = text.lstrip("*")
    name_end = len(text)
    for stop in (":", "=", "?"):
        position = text.find(stop)
        if position != -1:
            name_end = min(name_end, position)
    name, rest = text[:name_end], text[name_end:]
    if not name:
        raise ConfigError(f"route {template!r}: a parameter without a name.")
    checks: list[Check] = []
    while rest.startswith(":"):
        constraint_name, arguments, rest = _constraint(rest[1:])
        checks.append(constraint(constraint_name, arguments, template))
    default = None
    optional = False
    if rest.startswith("="):
        default = rest[1:]
    elif rest == "?":
        optional = True
    elif rest:
        raise ConfigError(f"route {template!r}: cannot read the parameter {{{text}}}.")
    return Parameter(name, tuple(checks), optional, catch_all, default)


def _constraint(text: str) -> tuple[str, str | None, str]:
    """The constraint at the start of `text`, its arguments, and what follows it. Arguments
    end at a `)` followed by `:`, `=`, a final `?` or nothing, so they may hold any of those."""
    found = re.match(r"[^:=?(]*", text)
    assert found is not None
    name = found[0]
    rest = text[len(name) :]
    if not rest.startswith("("):
        return name, None, rest
    for close in range(1, len(rest)):
        after = rest[close + 1 :]
        if rest[close] == ")" and (after == "" or after == "?" or after[0] in ":="):
            return name, rest[1:close], after
    return name, rest[1:], ""
