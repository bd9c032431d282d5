"""Named tool sets: ``tool_sets: {mail_senders: [send_email, reply_email]}``.

A set's name may stand wherever the policy lists tools (the fields in `TOOL_LISTS`, and
the keys of those in `TOOL_KEYS`), and a set may name other sets. Sets are expanded before
the policy compiles, so every consumer sees plain tool names; the references keep the
set's own lines for error messages.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pydantic import BaseModel

from agentkit.policy._names import did_you_mean
from agentkit.policy.compile_error import CompileError, Where
from agentkit.policy.spec import (
    Approvals,
    ApproverRule,
    PolicyFile,
    Provenance,
    Quota,
    Rule,
    SinkAllow,
    Trust,
)

TOOL_LISTS: frozenset[tuple[type[BaseModel], str]] = frozenset(
    {
        (Rule, "tools"),
        (ApproverRule, "tools"),
        (Rule, "after_untrusted"),
        (Rule, "after_tools"),
        (Quota, "tools"),
        (Provenance, "tools"),
        (Trust, "tools"),
        (SinkAllow, "tools"),
        (Approvals, "except_tools"),
    }
)
"""The fields of the policy format that list tools, and so may name tool sets."""

TOOL_KEYS: frozenset[tuple[type[BaseModel], str]] = frozenset(
    {
        (Provenance, "fields"),
        (Trust, "fields"),
    }
)
"""The fields of the policy format whose keys are tools (each with its output paths): a
set's name as a key stands for each of its tools, with the same paths."""


def resolve(spec: PolicyFile) -> dict[str, tuple[str, ...]]:
    """Each set of the policy as the tool names it stands for, nested sets expanded.

    Raises:
        CompileError: a set has the name of a tool the policy describes, or sets name
            each other in a cycle.
    """
    sets = spec.tool_sets
    for name in sets:
        if name in spec.tools:
            raise CompileError(
                f"the tool set {name!r} has the name of a tool under tools: rename one",
                ("tool_sets", name),
            )
    resolved: dict[str, tuple[str, ...]] = {}

    def members(name: str, stack: tuple[str, ...]) -> tuple[str, ...]:
        if name in resolved:
            return resolved[name]
        found: dict[str, None] = {}
        for i, entry in enumerate(sets[name]):
            if entry in stack or entry == name:
                cycle = " -> ".join((*stack, name, entry))
                raise CompileError(
                    f"tool sets name each other in a cycle: {cycle}",
                    (
                        "tool_sets",
                        name,
                        i,
                    ),
                )
            if entry in sets:
                found.update(dict.fromkeys(members(entry, (*stack, name))))
            else:
                found[entry] = None
        resolved[name] = tuple(found)
        return resolved[name]

    for name in sets:
        members(name, ())
    return resolved


def expand(spec: PolicyFile, sets: Mapping[str, tuple[str, ...]]) -> PolicyFile:
    """The policy with every set name in a tool list replaced by its tools."""
    if not sets:
        return spec
    expanded = _map(spec, sets)
    assert isinstance(expanded, PolicyFile)
    return expanded


def _map(node: Any, sets: Mapping[str, tuple[str, ...]]) -> Any:
    if isinstance(node, list):
        items = [_map(item, sets) for item in node]
        return items if any(a is not b for a, b in zip(items, node, strict=True)) else node
    if isinstance(node, dict):
        mapped = {key: _map(value, sets) for key, value in node.items()}
        return mapped if any(mapped[k] is not node[k] for k in node) else node
    if not isinstance(node, BaseModel):
        return node
    updates: dict[str, Any] = {}
    for attr, value in _attributes(node):
        if (type(node), attr) in TOOL_LISTS and isinstance(value, list):
            names = [tool for entry in value for tool in sets.get(entry, (entry,))]
            new: Any = list(dict.fromkeys(names))
        elif (type(node), attr) in TOOL_KEYS and isinstance(value, dict):
            new = _expand_keys(value, sets)
        else:
            new = _map(value, sets)
        if new is not value:
            updates[attr] = new
    return node.model_copy(update=updates) if updates else node


def _expand_keys(
    by_tool: dict[str, list[str]], sets: Mapping[str, tuple[str, ...]]
) -> dict[str, list[str]]:
    """A map keyed by tools with each set's name replaced by its tools, whose paths add up."""
    if not any(key in sets for key in by_tool):
        return by_tool
    expanded: dict[str, list[str]] = {}
    for key, paths in by_tool.items():
        for tool in sets.get(key, (key,)):
            merged = expanded.setdefault(tool, [])
            merged.extend(path for path in paths if path not in merged)
    return expanded


def _attributes(model: BaseModel) -> Iterator[tuple[str, Any]]:
    for attr in type(model).model_fields:
        yield attr, getattr(model, attr)
    yield from (model.model_extra or {}).items()


def references(spec: PolicyFile) -> Iterator[tuple[str, Where]]:
    """(name, where) for every entry of every tool list, as written (a set's name too)."""
    yield from _references(spec, ())


def _references(node: Any, path: Where) -> Iterator[tuple[str, Where]]:
    if isinstance(node, list):
        for i, item in enumerate(node):
            key = item.id if len(path) == 1 and isinstance(getattr(item, "id", None), str) else i
            yield from _references(item, (*path, key))
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from _references(value, (*path, key))
    elif isinstance(node, BaseModel):
        fields = type(node).model_fields
        for attr, value in _attributes(node):
            info = fields.get(attr)
            at: Where = (*path, info.alias or attr if info else attr)
            if (type(node), attr) in TOOL_LISTS and isinstance(value, list):
                for i, name in enumerate(value):
                    yield name, (*at, i)
            elif (type(node), attr) in TOOL_KEYS and isinstance(value, dict):
                for name in value:
                    yield name, (*at, name)
            elif attr != "tool_sets" or path:
                yield from _references(value, at)


def tool_references(spec: PolicyFile) -> Iterator[tuple[str, Where]]:
    """(tool, where) for every tool the policy names: its ``tools`` entries, the entries of
    tool lists that are not sets, and the members of sets that are not sets themselves."""
    sets = spec.tool_sets
    for name in spec.tools:
        yield name, ("tools", name)
    for name, where in references(spec):
        if name not in sets:
            yield name, where
    for set_name, entries in sets.items():
        for i, entry in enumerate(entries):
            if entry not in sets:
                yield entry, ("tool_sets", set_name, i)


def unknown_tool(name: str, agent: Mapping[str, Any], sets: Mapping[str, Any]) -> str:
    """The message for a name that is neither one of the agent's tools nor a set."""
    return f"the policy names the tool {name!r}, which the agent does not have" + did_you_mean(
        name, [*agent, *sets]
    )
