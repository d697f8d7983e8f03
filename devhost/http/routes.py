"""Function route templates (`orders/{id:int}`, `files/{*path}`, `items/{name?}`) as regexes."""

from __future__ import annotations

import re
from dataclasses import dataclass

CONSTRAINTS = {
    "int": r"-?\d+",
    "long": r"-?\d+",
    "alpha": r"[A-Za-z]+",
    "bool": r"(?i:true|false)",
    "guid": r"[0-9A-Fa-f]{8}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{12}",
    "double": r"-?\d+(?:\.\d+)?",
    "decimal": r"-?\d+(?:\.\d+)?",
    "float": r"-?\d+(?:\.\d+)?",
}
PARAMETER = re.compile(r"\{(\*?)([A-Za-z_][A-Za-z0-9_]*)(?::([A-Za-z]+))?(\?)?(?:=([^}]*))?\}")


@dataclass(frozen=True)
class RouteTemplate:
    template: str
    pattern: re.Pattern[str]
    defaults: dict[str, str]
    literal_segments: int

    def match(self, path: str) -> dict[str, str] | None:
        found = self.pattern.fullmatch(path.strip("/"))
        if not found:
            return None
        values = {k: v for k, v in found.groupdict().items() if v is not None}
        return {**self.defaults, **values}


def compile_route(template: str) -> RouteTemplate:
    """Compile an ASP.NET-style route template; optional segments may be left out."""
    parts: list[str] = []
    defaults: dict[str, str] = {}
    literals = 0
    for index, segment in enumerate(template.strip("/").split("/")):
        if not segment:
            continue
        regex, optional, position = "", False, 0
        for found in PARAMETER.finditer(segment):
            regex += re.escape(segment[position : found.start()])
            catch_all, name, constraint, question, default = found.groups()
            if catch_all:
                body = ".*"
                optional = True
            else:
                body = CONSTRAINTS.get((constraint or "").lower(), "[^/]+")
            optional = optional or bool(question) or default is not None
            if default is not None:
                defaults[name] = default
            regex += f"(?P<{name}>{body})"
            position = found.end()
        regex += re.escape(segment[position:])
        if position == 0:
            literals += 1
            regex = f"(?i:{regex})"
        separator = "/" if index and parts else ""
        parts.append(f"(?:{separator}{regex})?" if optional else f"{separator}{regex}")
    return RouteTemplate(template, re.compile("".join(parts)), defaults, literals)
