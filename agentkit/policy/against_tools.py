"""Constraints checked against the tools they constrain, when the agent's tools are known.

A constraint whose path does not exist in the tool's JSON Schema, or whose checks cannot
apply to the type found there (a ``pattern`` on an integer, ``maxItems`` on a string),
would be silently ignored on every call: it is a load error instead, at its line.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from agentkit.decision import ToolInfo
from agentkit.policy.compiled import Where
from agentkit.policy.spec import ArgConstraint, ToolRule

_TEXT_KEYS = ("pattern", "format", "minLength", "maxLength")
_NUMBER_KEYS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf")
_ARRAY_KEYS = ("minItems", "maxItems", "uniqueItems", "items")
_NEEDS = {
    **dict.fromkeys(_TEXT_KEYS, frozenset({"string"})),
    **dict.fromkeys(_NUMBER_KEYS, frozenset({"number", "integer"})),
    **dict.fromkeys(_ARRAY_KEYS, frozenset({"array"})),
}


def problems(
    rules: Mapping[str, ToolRule], tools: Mapping[str, ToolInfo]
) -> Iterator[tuple[str, Where]]:
    """(message, where) for every constraint that cannot apply to its tool's arguments."""
    for name, rule in rules.items():
        tool = tools.get(name)
        if tool is None or not tool.parameters:
            continue
        by = rule.side_effect_by
        if by is not None and _nodes(tool.parameters, tool.parameters, by.arg.split(".")) is None:
            yield (
                f"{name} has no argument {by.arg!r}: side_effect_by would always pick its "
                "default class",
                ("tools", name, "side_effect_by", "arg"),
            )
        for field, constraint in rule.args.items():
            where: Where = ("tools", name, "args", field)
            found = _nodes(tool.parameters, tool.parameters, field.split("."))
            if found is None:
                yield (
                    f"{name} has no argument {field!r}: the constraint would never apply",
                    where,
                )
                continue
            types, elements = found
            for key, needs in _NEEDS.items():
                if getattr(constraint, key, None) is None:
                    continue
                if types is not None and not types & needs:
                    yield (
                        f"{key} applies to {' or '.join(sorted(needs))} values, but "
                        f"{name}.{field} is {' or '.join(sorted(types))}",
                        (*where, key),
                    )
            yield from _element_problems(name, field, constraint, elements, where)


def _element_problems(
    name: str, field: str, constraint: ArgConstraint, types: frozenset[str] | None, where: Where
) -> Iterator[tuple[str, Where]]:
    if types is None or "string" in types:
        return
    # lists and provenance compare numbers as text too; these two read only text
    for key, reads in (("domains", "domains reads hosts from text"), ("split", "split cuts text")):
        if getattr(constraint, key) is not None:
            yield (
                f"{reads}, but {name}.{field} holds {' or '.join(sorted(types))} values",
                (*where, key),
            )


def _nodes(
    root: Mapping[str, Any], node: Mapping[str, Any], path: list[str]
) -> tuple[frozenset[str] | None, frozenset[str] | None] | None:
    """The types at `path` (None: not known) and of its elements, or None if it is absent."""
    node = _deref(root, node)
    branches = node.get("anyOf") or node.get("oneOf")
    if branches:
        # the None of an optional argument carries no constraint: judge the other branches
        branches = [b for b in branches if _deref(root, b).get("type") != "null"] or branches
        found = [f for b in branches if (f := _nodes(root, b, path)) is not None]
        if not found:
            return None
        return _union(f[0] for f in found), _union(f[1] for f in found)
    if path and node.get("type") == "null":
        return None  # the None of an optional argument holds nothing further down
    if not path:
        types = _types(node)
        items = node.get("items")
        elements = _types(_deref(root, items)) if isinstance(items, Mapping) else types
        return types, elements
    if "array" in (_types(node) or ()) and isinstance(node.get("items"), Mapping):
        return _nodes(root, node["items"], path)  # a path through a list reaches each item
    properties = node.get("properties")
    if not isinstance(properties, Mapping):
        return (None, None) if not _types(node) or "object" in (_types(node) or ()) else None
    child = properties.get(path[0])
    return None if child is None else _nodes(root, child, path[1:])


def _deref(root: Mapping[str, Any], node: Mapping[str, Any]) -> Mapping[str, Any]:
    seen = 0
    while isinstance(node.get("$ref"), str) and seen < 32:
        ref: str = node["$ref"]
        target: Any = root
        for part in ref.removeprefix("#/").split("/"):
            target = target.get(part, {}) if isinstance(target, Mapping) else {}
        node, seen = target, seen + 1
    return node


def _types(node: Mapping[str, Any]) -> frozenset[str] | None:
    kind = node.get("type")
    if kind is None:
        if "enum" in node or "const" in node:
            values = node.get("enum", [node.get("const")])
            return frozenset(_json_type(v) for v in values) - {"null"} or None
        return None
    kinds = {kind} if isinstance(kind, str) else set(kind)
    return frozenset(kinds - {"null"}) or None


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "null" if value is None else "object"


def _union(parts: Iterator[frozenset[str] | None]) -> frozenset[str] | None:
    found: set[str] = set()
    for part in parts:
        if part is None:
            return None
        found |= part
    return frozenset(found)
