"""Read Bicep files as syntax trees, so infra tests check structure rather than grep text.

No Bicep compiler runs offline; tree-sitter-bicep gives a real parse, and the few helpers
here walk it: declarations by kind, object properties by dotted path, literal values.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import tree_sitter_bicep
from tree_sitter import Language, Node, Parser

INFRA = Path(__file__).resolve().parents[2] / "infra"

_PARSER = Parser(Language(tree_sitter_bicep.language()))

# The grammar knows `using` but not the .bicepparam assignment `param name = value`. That
# statement has the shape of `var name = value`, so it is parsed as one; the keyword is
# padded to the same width so reported positions stay true.
_PARAM_ASSIGNMENT = re.compile(rb"(?m)^param(?=\s+\w+\s*=)")


def parse_source(source: bytes, *, bicepparam: bool = False) -> Node:
    """Parse Bicep (or .bicepparam) source into the root node."""
    if bicepparam:
        source = _PARAM_ASSIGNMENT.sub(b"var  ", source)
    return _PARSER.parse(source).root_node


@cache
def parse_file(path: Path) -> Node:
    return parse_source(path.read_bytes(), bicepparam=path.suffix == ".bicepparam")


def syntax_errors(root: Node) -> list[str]:
    """Every ERROR or MISSING node, as `line:column: text` (1-based)."""
    found: list[str] = []
    stack = [root]
    while stack:
        node = stack.pop()
        if node.is_error or node.is_missing:
            line, column = node.start_point
            kind = "missing" if node.is_missing else "error"
            found.append(f"{line + 1}:{column + 1}: {kind} at {text(node)[:60]!r}")
        stack.extend(node.children)
    return sorted(found)


def text(node: Node) -> str:
    return (node.text or b"").decode()


def declarations(root: Node, kind: str) -> dict[str, Node]:
    """Top-level declarations of one kind (`parameter_declaration`, `module_declaration`, …)
    by their declared name."""
    return {
        text(node.named_children[0]): node
        for node in root.named_children
        if node.type == kind and node.named_children
    }


def body(declaration: Node) -> Node:
    """The object a resource or module declaration assigns, through `[for ...: ...]` and
    `if (...)` if present."""
    value = declaration.named_children[-1]
    if value.type == "for_statement":
        value = value.child_by_field_name("body") or value
    if value.type == "if_statement":
        value = value.named_children[-1]
    if value.type != "object":
        raise AssertionError(f"declaration has no object body: {text(declaration)[:80]!r}")
    return value


def properties(obj: Node) -> dict[str, Node]:
    """The object's properties: key (unquoted) -> value node."""
    found: dict[str, Node] = {}
    for prop in obj.named_children:
        if prop.type != "object_property" or len(prop.named_children) < 2:
            continue
        key, value = prop.named_children[0], prop.named_children[-1]
        found[text(key).strip("'")] = value
    return found


def lookup(obj: Node, path: str) -> Node:
    """Follow a dotted path of property names through nested objects."""
    node = obj
    for part in path.split("."):
        props = properties(node) if node.type == "object" else {}
        if part not in props:
            raise AssertionError(f"no property {part!r} on the way to {path!r}")
        node = props[part]
    return node


def find_property(node: Node, key: str) -> Node | None:
    """The value of the first property named `key` in any object inside `node`."""
    stack = [node]
    while stack:
        current = stack.pop(0)
        if current.type == "object" and key in properties(current):
            return properties(current)[key]
        stack.extend(current.named_children)
    return None


def literal(node: Node) -> str | int | bool | None:
    """The Python value of a string, number or boolean literal; None for any expression."""
    if node.type == "string":
        parts = node.named_children
        if all(part.type == "string_content" for part in parts):
            return "".join(text(part) for part in parts)
        return None
    if node.type == "number":
        return int(text(node))
    if node.type == "boolean":
        return text(node) == "true"
    return None


@dataclass(frozen=True)
class Param:
    name: str
    declaration: Node

    @property
    def default(self) -> Node | None:
        """The default value expression (what follows `=`), if the parameter has one."""
        after_equals = False
        for child in self.declaration.children:
            if after_equals and child.is_named and child.type != "comment":
                return child
            after_equals = after_equals or child.type == "="
        return None


def leading(declaration: Node) -> list[Node]:
    """The decorators and `#disable-next-line` directives written just above a declaration
    (the grammar makes them its preceding siblings)."""
    found: list[Node] = []
    node = declaration.prev_named_sibling
    while node is not None and node.type in ("decorators", "diagnostic_comment"):
        found.insert(0, node)
        node = node.prev_named_sibling
    return found


def lint_disabled(declaration: Node, rule: str) -> bool:
    """True when `#disable-next-line <rule>` sits right above the declaration."""
    directives = [text(node) for node in leading(declaration) if node.type == "diagnostic_comment"]
    return any(rule in directive.split()[1:] for directive in directives)


def params(root: Node) -> dict[str, Param]:
    return {
        name: Param(name, node)
        for name, node in declarations(root, "parameter_declaration").items()
    }


def value(root: Node, node: Node) -> str | int | bool | None:
    """A literal, or the literal default of the parameter the node names."""
    if node.type == "identifier":
        param = params(root).get(text(node))
        return literal(param.default) if param and param.default else None
    return literal(node)


def resources(root: Node, type_prefix: str) -> list[Node]:
    """Declared (not `existing`) resources of that type, whatever the API version."""
    found: list[Node] = []
    for node in root.named_children:
        if node.type != "resource_declaration":
            continue
        kind = literal(node.named_children[1])
        is_existing = any(child.type == "existing" for child in node.children)
        if isinstance(kind, str) and kind.split("@")[0] == type_prefix and not is_existing:
            found.append(node)
    return found


def object_keys(node: Node) -> set[str]:
    """Keys of every object literal inside `node`, at any depth."""
    keys: set[str] = set()
    stack = [node]
    while stack:
        current = stack.pop()
        if current.type == "object":
            keys.update(properties(current))
        stack.extend(current.named_children)
    return keys


def bicepparam_assignments(path: Path) -> dict[str, Node]:
    """`param name = value` assignments of a .bicepparam file, by name."""
    return {
        name: node.named_children[-1]
        for name, node in declarations(parse_file(path), "variable_declaration").items()
    }


def using_target(path: Path) -> str | None:
    for node in parse_file(path).named_children:
        if node.type == "using_statement":
            target = literal(node.named_children[0])
            return target if isinstance(target, str) else None
    return None
