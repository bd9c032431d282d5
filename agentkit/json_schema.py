"""Strict JSON Schema: every object requires all its properties and forbids any other.

Tool parameters and structured answers both go to the model in this form.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any

_SUBSCHEMA_LISTS = ("anyOf", "allOf", "oneOf", "prefixItems")
_SUBSCHEMA_MAPS = ("properties", "$defs", "definitions", "patternProperties", "dependentSchemas")
_SUBSCHEMA_ONE = (
    "items",
    "additionalItems",
    "additionalProperties",
    "propertyNames",
    "unevaluatedItems",
    "unevaluatedProperties",
    "not",
    "if",
    "then",
    "else",
    "contains",
)


def strict_schema(schema: Mapping[str, Any], *, drop: Iterable[str] = ("title",)) -> dict[str, Any]:
    """A strict copy of `schema`, recursively, without the annotation keys named in `drop`.

    Every object subschema with ``properties`` (a model) gets ``type: object``, all its
    properties as ``required`` and ``additionalProperties: false``; an object without them
    (a ``dict[str, X]``) stays a map whose values follow its ``additionalProperties``. Only schema
    keywords are walked: property names and literal values (``default``, ``enum``,
    ``const``) are left as they are.
    """
    result = copy.deepcopy(dict(schema))
    _make_strict(result, frozenset(drop))
    return result


def _make_strict(node: Any, drop: frozenset[str]) -> None:
    if isinstance(node, list):
        for child in node:
            _make_strict(child, drop)
        return
    if not isinstance(node, dict):
        return
    for key in drop:
        node.pop(key, None)
    for key in _SUBSCHEMA_LISTS:
        _make_strict(node.get(key), drop)
    for key in _SUBSCHEMA_MAPS:
        children = node.get(key)
        if isinstance(children, dict):
            for child in children.values():
                _make_strict(child, drop)
    for key in _SUBSCHEMA_ONE:
        _make_strict(node.get(key), drop)
    if "properties" in node or (node.get("type") == "object" and not _is_map(node)):
        node["type"] = "object"
        properties = node.setdefault("properties", {})
        node["required"] = list(properties)
        node["additionalProperties"] = False


def _is_map(node: Mapping[str, Any]) -> bool:
    """An object with no declared properties (``dict[str, X]``): its keys are data, so it
    keeps the value schema it was given (or any value) instead of allowing no key at all."""
    return "properties" not in node and node.get("additionalProperties", True) is not False
