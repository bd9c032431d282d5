"""Sensitivity labels and sinks: where values read from sensitive tools may go.

A tool marked ``sensitive`` labels the values it outputs (all of them, or named fields).
A sink rule names labels and the calls that may carry them (tools, arguments, a condition
on the recipient); any other call whose arguments contain a labelled value, found as
``appears_in`` finds values in text (whole tokens, after normalisation), is escalated.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from agentkit.decision import Decision, History, ProposedCall, SideEffect
from agentkit.policy import dataflow
from agentkit.policy.conditions import CompiledCondition
from agentkit.policy.constraints import DataflowContext
from agentkit.policy.spec import Escalation, NormaliseKind

_KEY_LINE = re.compile(r"^\s*(?:-\s+)?([A-Za-z_][\w.-]*)\s*:\s*(.*?)\s*$")


@dataclass(frozen=True)
class Mark:
    """A compiled ``sensitive`` mark of one tool."""

    label: str
    fields: tuple[str, ...]
    kind: NormaliseKind
    min_length: int


@dataclass(frozen=True)
class Labelled:
    """A value the run read from a sensitive tool, normalised, with its label."""

    label: str
    kind: NormaliseKind
    value: str
    tool: str


def labelled_values(
    history: History, marks: Mapping[str, tuple[Mark, ...]]
) -> tuple[Labelled, ...]:
    """Every labelled value in the outputs of the run's calls of sensitive tools."""
    found: dict[Labelled, None] = {}
    for call in history.calls:
        if not (call.executed and call.output and not call.failed and call.tool in marks):
            continue
        for mark in marks[call.tool]:
            for raw in output_values(call.output, mark.fields):
                norm = dataflow.normalised_or_none(mark.kind, raw)
                if norm is not None and len(norm) >= mark.min_length:
                    found[Labelled(mark.label, mark.kind, norm, call.tool)] = None
    return tuple(found)


def output_values(output: str, fields: tuple[str, ...]) -> Iterator[str]:
    """The values of an output: the scalars of JSON (at ``fields``, dotted paths, when given),
    else the value of each ``key: value`` line (of those keys) and, with no fields, each
    other line whole."""
    try:
        data = json.loads(output)
    except ValueError:
        data = None
    if isinstance(data, dict | list):
        if not fields:
            yield from dataflow.scalar_texts(data)
        for field in fields:
            for node in _at(data, field.split(".")):
                yield from dataflow.scalar_texts(node)
        return
    for line in output.splitlines():
        match = _KEY_LINE.match(line)
        if match and (not fields or match.group(1) in fields):
            yield match.group(2).strip("'\"")
        elif not fields and line.strip():
            yield line.strip()


def _at(node: Any, path: list[str]) -> Iterator[Any]:
    if not path:
        yield node
    elif isinstance(node, list):
        for item in node:
            yield from _at(item, path)
    elif isinstance(node, dict) and path[0] in node:
        yield from _at(node[path[0]], path[1:])


def carried(
    arguments: Mapping[str, Any], labelled: Iterable[Labelled]
) -> Iterator[tuple[str, Labelled]]:
    """(argument path, labelled value) for each labelled value found in an argument."""
    values = tuple(labelled)
    for path, text in _argument_texts(arguments, ()):
        for found in values:
            if dataflow.appears_in(found.kind, found.value, text):
                yield ".".join(path), found


def _argument_texts(node: Any, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], str]]:
    if isinstance(node, Mapping):
        for key, value in node.items():
            yield from _argument_texts(value, (*path, str(key)))
    elif isinstance(node, list):
        for value in node:
            yield from _argument_texts(value, path)
    elif isinstance(node, str):
        yield path, node
    elif isinstance(node, int | float) and not isinstance(node, bool):
        yield path, dataflow.normalise("exact", node)


@dataclass(frozen=True)
class CompiledSinkAllow:
    """A compiled ``allow`` entry of a sink."""

    tools: frozenset[str]
    classes: frozenset[SideEffect]
    args: tuple[str, ...]
    when: CompiledCondition

    def allows(
        self,
        tool: str,
        classes: frozenset[SideEffect],
        arg: str,
        arguments: Mapping[str, Any],
        ctx: DataflowContext,
    ) -> bool:
        targeted = (
            (not self.tools and not self.classes)
            or tool in self.tools
            or bool(classes & self.classes)
        )
        inside = not self.args or any(arg == a or arg.startswith(a + ".") for a in self.args)
        return targeted and inside and self.when.holds(arguments, ctx)


@dataclass(frozen=True)
class CompiledSink:
    """A compiled sink rule."""

    id: str
    labels: frozenset[str]
    allow: tuple[CompiledSinkAllow, ...]
    action: Escalation
    reason: str


def check_sinks(
    sinks: Iterable[CompiledSink],
    call: ProposedCall,
    classes: frozenset[SideEffect],
    ctx: DataflowContext,
    labelled: tuple[Labelled, ...],
) -> Iterator[Decision]:
    """A decision for each sink a labelled value in the call's arguments falls outside of."""
    if not labelled:
        return
    found = list(carried(call.arguments, labelled))
    for sink in sinks:
        for arg, value in found:
            if value.label not in sink.labels:
                continue
            name = call.tool.name
            if any(a.allows(name, classes, arg, call.arguments, ctx) for a in sink.allow):
                continue
            reason = sink.reason or (
                f"argument {arg!r} of {name} carries a value labelled {value.label} "
                f"(read from {value.tool}), which sink {sink.id} does not let it receive"
            )
            yield Decision(action=sink.action, reason=reason, rule=f"sinks.{sink.id}")
            break
