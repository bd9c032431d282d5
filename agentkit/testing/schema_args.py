"""Arguments generated to fit a tool's JSON Schema, and arguments that break it on purpose.

The generator is deterministic: the same schema gives the same arguments. It covers the
subset tool schemas use (types, enum/const, numeric bounds, string lengths and formats,
arrays and tuples (``prefixItems``), nested objects, ``$ref`` into ``$defs``,
``anyOf``/``oneOf``/``allOf``); a ``pattern`` is not solved.
"""

from __future__ import annotations

import math
from typing import Any

Schema = dict[str, Any]

_FORMATS = {
    "date": "2025-01-15",
    "date-time": "2025-01-15T12:00:00Z",
    "time": "12:00:00",
    "email": "user@example.com",
    "uri": "https://example.com/",
    "url": "https://example.com/",
    "uuid": "00000000-0000-4000-8000-000000000000",
    "ipv4": "192.0.2.1",
    "hostname": "example.com",
}
_MAX_DEPTH = 8


def fit_arguments(schema: Schema | None) -> dict[str, Any]:
    """Arguments for a tool whose parameters schema is ``schema`` (an object)."""
    if not schema:
        return {}
    value = _fit(schema, schema, 0)
    return value if isinstance(value, dict) else {}


def fit_value(schema: Schema) -> Any:
    """A value that fits ``schema`` (any type at the root: a structured output's)."""
    return _fit(schema, schema, 0) if schema else {}


def break_arguments(schema: Schema | None, valid: dict[str, Any]) -> Any:
    """Valid JSON that ``schema`` rejects: a required property missing, else a wrong type."""
    schema = _resolve(schema or {}, schema or {})
    required = [name for name in schema.get("required", []) if name in valid]
    if required:
        return {k: v for k, v in valid.items() if k != required[0]}
    properties = schema.get("properties") or {}
    for name in properties:
        broken = dict(valid)
        broken[name] = [] if _first_type(_resolve(properties[name], schema)) != "array" else 0
        return broken
    return [valid]  # not an object at all: every tool schema's root is `type: object`


def _resolve(node: Schema, root: Schema) -> Schema:
    seen = 0
    while "$ref" in node and seen < _MAX_DEPTH:
        ref = str(node["$ref"])
        target: Any = root
        for part in ref.removeprefix("#/").split("/"):
            if part and isinstance(target, dict):
                target = target.get(part, {})
        node = target if isinstance(target, dict) else {}
        seen += 1
    return node


def _first_type(node: Schema) -> str | None:
    kind = node.get("type")
    if isinstance(kind, list):
        non_null = [k for k in kind if k != "null"]
        return str(non_null[0]) if non_null else "null"
    if kind is not None:
        return str(kind)
    if "properties" in node:
        return "object"
    if "items" in node or "prefixItems" in node:
        return "array"
    return None


def _fit(node: Schema, root: Schema, depth: int) -> Any:
    node = _resolve(node, root)
    if "const" in node:
        return node["const"]
    if node.get("enum"):
        return node["enum"][0]
    for key in ("anyOf", "oneOf"):
        if node.get(key):
            branches = [_resolve(b, root) for b in node[key]]
            preferred = [b for b in branches if b.get("type") != "null"] or branches
            return _fit(preferred[0], root, depth + 1)
    if node.get("allOf"):
        merged: Schema = {}
        for part in node["allOf"]:
            merged.update(_resolve(part, root))
        return _fit(merged, root, depth + 1)
    if "default" in node:
        return node["default"]
    return _fit_type(node, root, depth)


def _fit_type(node: Schema, root: Schema, depth: int) -> Any:
    kind = _first_type(node)
    if kind == "object":
        return _fit_object(node, root, depth)
    if kind == "array":
        return _fit_array(node, root, depth)
    if kind == "integer":
        return _fit_integer(node)
    if kind == "number":
        return _fit_number(node)
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    return _fit_string(node)


def _fit_object(node: Schema, root: Schema, depth: int) -> dict[str, Any]:
    properties: dict[str, Any] = node.get("properties") or {}
    required = set(node.get("required") or [])
    names = list(properties) if depth < _MAX_DEPTH else [n for n in properties if n in required]
    result = {name: _fit(properties[name], root, depth + 1) for name in names}
    for name in required - set(result):
        extra = node.get("additionalProperties")
        result[name] = _fit(extra, root, depth + 1) if isinstance(extra, dict) else "example"
    return result


def _fit_array(node: Schema, root: Schema, depth: int) -> list[Any]:
    prefix = node.get("prefixItems")
    if isinstance(prefix, list) and depth < _MAX_DEPTH:  # a tuple: one value per position
        return [_fit(item, root, depth + 1) for item in prefix if isinstance(item, dict)]
    items = node.get("items")
    count = max(int(node.get("minItems", 1)), 0)
    if "maxItems" in node:
        count = min(count, int(node["maxItems"]))
    if not isinstance(items, dict) or depth >= _MAX_DEPTH:
        return ["example"] * count if isinstance(items, dict) and count else []
    if node.get("uniqueItems") and count > 1:
        base = _fit(items, root, depth + 1)
        return [base] + [_vary(base, i) for i in range(1, count)]
    return [_fit(items, root, depth + 1) for _ in range(count)]


def _vary(value: Any, index: int) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value + index
    if isinstance(value, str):
        return f"{value}{index}"
    return value


def _fit_integer(node: Schema) -> int:
    low = _bound(node, "minimum")
    if _bound(node, "exclusiveMinimum") is not None:
        low = math.floor(node["exclusiveMinimum"]) + 1
    high = _bound(node, "maximum")
    if _bound(node, "exclusiveMaximum") is not None:
        high = math.ceil(node["exclusiveMaximum"]) - 1
    value = (
        math.ceil(low) if low is not None else min(1, math.floor(high if high is not None else 1))
    )
    step = node.get("multipleOf")
    if isinstance(step, int) and not isinstance(step, bool) and step > 0:
        value = -(-value // step) * step
        if high is not None and value > high:
            value = math.floor(high) // step * step
    return int(value)


def _bound(node: Schema, key: str) -> float | None:
    """A numeric bound; draft-4 boolean ``exclusive*`` flags are not bounds."""
    value = node.get(key)
    return None if isinstance(value, bool) or not isinstance(value, int | float) else value


def _fit_number(node: Schema) -> float | int:
    low, high = _bound(node, "minimum"), _bound(node, "maximum")
    ex_low, ex_high = _bound(node, "exclusiveMinimum"), _bound(node, "exclusiveMaximum")
    if ex_low is not None:
        top = ex_high if ex_high is not None else high
        return (ex_low + float(top)) / 2 if top is not None else ex_low + 1.0
    if ex_high is not None:
        return (float(low) + ex_high) / 2 if low is not None else ex_high - 1.0
    step = node.get("multipleOf")
    if isinstance(step, int | float) and step > 0:
        return _multiple(step, low)
    if low is not None:
        return float(low)
    return min(1.5, float(high)) if high is not None else 1.5


def _multiple(step: float, low: float | None) -> float | int:
    start = math.ceil(float(low) / step) if low is not None else 1
    for factor in range(start, start + 16):
        value = factor * step
        if (value / step).is_integer():  # float steps like 0.1 need a factor that divides back
            return value if isinstance(value, int) else float(value)
    return float(start * step)


def _fit_string(node: Schema) -> str:
    fmt = node.get("format")
    text = _FORMATS.get(str(fmt), "example") if fmt else "example"
    low = int(node.get("minLength", 0))
    high = node.get("maxLength")
    if len(text) < low:
        text = text + "x" * (low - len(text))
    if high is not None and len(text) > int(high):
        text = text[: int(high)]
    return text
