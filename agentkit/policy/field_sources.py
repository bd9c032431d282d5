"""Field sources a policy names that could never vouch: the field is labelled untrusted.

`provenance: {fields: {read_inbox: "[].from"}}` takes nothing from a tool whose output is
untrusted unless ``output_fields`` trusts that field; nor from a field an untrusted path
covers. Such a source fails closed (every value is refused), so the policy says so when
the agent's tools are known, as it does for ``after_untrusted`` on a trusted tool.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from agentkit.decision import ToolInfo
from agentkit.output_paths import OutputPath, overlaps, parse_path, within
from agentkit.policy.compiled import Where
from agentkit.policy.spec import (
    ArgConstraint,
    Condition,
    OutputFields,
    PolicyFile,
    Provenance,
    Trust,
)


def never_vouching(
    spec: PolicyFile, agent: Mapping[str, ToolInfo], sets: Mapping[str, tuple[str, ...]]
) -> Iterator[tuple[str, Where]]:
    """A message and a place for each field source whose field is labelled untrusted (a
    tool set's name as a source stands for each of its tools, named in the message)."""
    for sources, where in _sources(spec):
        for key, paths in sources.field_paths().items():
            for tool in sets.get(key, (key,)):
                rule = spec.tools.get(tool)
                untrusted = (tool in agent and agent[tool].untrusted_output) or bool(
                    rule and rule.untrusted_output
                )
                fields = rule.output_fields if rule else None
                for path in paths:
                    if _never_trusted(parse_path(path), untrusted, fields or OutputFields()):
                        yield (
                            f"provenance takes {tool} {path}, a field labelled untrusted, so "
                            f"it could never vouch: add it to tools.{tool}.output_fields."
                            "trusted or remove it",
                            (*where, "fields", key),
                        )


def _never_trusted(path: OutputPath, untrusted: bool, fields: OutputFields) -> bool:
    trusted = [parse_path(t) for t in fields.trusted]
    if untrusted:  # only a trusted path reaching into the field could lift it
        return not any(overlaps(path, t) for t in trusted)
    covering = [u for u in map(parse_path, fields.untrusted) if within(u, path)]
    if not covering:
        return False
    longest = max(len(u.segments) for u in covering)
    return not any(len(t.segments) > longest and overlaps(path, t) for t in trusted)


def _sources(spec: PolicyFile) -> Iterator[tuple[Provenance | Trust, Where]]:
    """Every ``provenance`` and ``trust`` of the policy, with where it is written."""
    for constraint, where in _constraints(spec):
        if constraint.provenance is not None:
            yield constraint.provenance, (*where, "provenance")
        if constraint.trust is not None:
            yield constraint.trust, (*where, "trust")


def _constraints(spec: PolicyFile) -> Iterator[tuple[ArgConstraint, Where]]:
    for name, rule in spec.tools.items():
        for arg, constraint in rule.args.items():
            yield constraint, ("tools", name, "args", arg)
    for escalation in spec.rules:
        for part in ("when", "unless"):
            yield from _in_condition(getattr(escalation, part), ("rules", escalation.id, part))
    for sink in spec.sinks:
        for i, allowed in enumerate(sink.allow):
            yield from _in_condition(allowed.when, ("sinks", sink.id, "allow", i, "when"))


def _in_condition(condition: Condition, where: Where) -> Iterator[tuple[ArgConstraint, Where]]:
    """The argument constraints of a condition, those inside any_of, all_of and not too."""
    for arg, constraint in condition.arguments().items():
        yield constraint, (*where, arg)
    for key in ("any_of", "all_of"):
        for i, member in enumerate(getattr(condition, key) or ()):
            yield from _in_condition(member, (*where, key, i))
    if condition.not_ is not None:
        yield from _in_condition(condition.not_, (*where, "not"))
