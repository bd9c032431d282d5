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
from agentkit.policy.spec import ArgConstraint, OutputFields, PolicyFile


def never_vouching(spec: PolicyFile, agent: Mapping[str, ToolInfo]) -> Iterator[tuple[str, Where]]:
    """A message and a place for each field source whose field is labelled untrusted."""
    for constraint, where in _constraints(spec):
        if constraint.provenance is None:
            continue
        for tool, paths in constraint.provenance.field_paths().items():
            rule = spec.tools.get(tool)
            untrusted = (tool in agent and agent[tool].untrusted_output) or bool(
                rule and rule.untrusted_output
            )
            fields = rule.output_fields if rule else None
            for path in paths:
                if _never_trusted(parse_path(path), untrusted, fields or OutputFields()):
                    yield (
                        f"provenance takes {tool} {path}, a field labelled untrusted, so it "
                        f"could never vouch: add it to tools.{tool}.output_fields.trusted "
                        "or remove it",
                        (*where, "provenance", "fields", tool),
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


def _constraints(spec: PolicyFile) -> Iterator[tuple[ArgConstraint, Where]]:
    for name, rule in spec.tools.items():
        for arg, constraint in rule.args.items():
            yield constraint, ("tools", name, "args", arg)
    for escalation in spec.rules:
        for part in ("when", "unless"):
            for arg, constraint in getattr(escalation, part).items():
                yield constraint, ("rules", escalation.id, part, arg)
