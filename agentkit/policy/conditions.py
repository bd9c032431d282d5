"""Rule conditions: argument constraints combined with ``any_of``, ``all_of`` and ``not``.

Conditions are three-valued. A constraint on a value the call sent is true or false; on an
argument the call lacks, or left null, it is unknown (an ``if_null: pass`` constraint is
true on a null). ``any_of``, ``all_of`` and ``not`` combine these as Kleene's logic does
(``not`` unknown is unknown), and a condition counts only when it is certainly true. So a
rule's ``when`` never fires, and its ``unless`` never exempts, on a value nobody sent, and
``not`` cannot turn a missing recipient into an exemption.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from agentkit.policy.compile_error import CompileError, Where
from agentkit.policy.constraints import (
    Constraint,
    ConstraintError,
    DataflowContext,
    TrustedList,
    compile_constraint,
)
from agentkit.policy.spec import Condition

MAX_DEPTH = 8
"""How deeply ``any_of``, ``all_of`` and ``not`` may nest."""


@dataclass(frozen=True)
class CompiledCondition:
    """A compiled condition: ``all_of`` its argument constraints and its parts."""

    kind: str
    """``all``, ``any``, ``not`` or ``leaf``."""
    parts: tuple[CompiledCondition, ...] = ()
    constraint: Constraint | None = None

    def truth(self, arguments: Mapping[str, Any], ctx: DataflowContext) -> bool | None:
        """True, False, or None when it depends on a value the call did not send."""
        if self.constraint is not None:
            return self.constraint.truth(arguments, ctx)
        if self.kind == "not":
            inner = self.parts[0].truth(arguments, ctx)
            return None if inner is None else not inner
        decisive = self.kind == "any"  # any_of stops at a True, all_of at a False
        unknown = False
        for part in self.parts:
            value = part.truth(arguments, ctx)
            if value is decisive:
                return decisive
            unknown = unknown or value is None
        return None if unknown else not decisive

    def holds(self, arguments: Mapping[str, Any], ctx: DataflowContext) -> bool:
        """True only when the condition certainly holds."""
        return self.truth(arguments, ctx) is True

    @property
    def empty(self) -> bool:
        return self.kind == "all" and not self.parts


ALWAYS = CompiledCondition("all")
"""The empty condition: true for every call."""


def compile_condition(
    spec: Condition, lists: Mapping[str, TrustedList], where: Where, depth: int = 0
) -> CompiledCondition:
    """Compile a condition; raises CompileError (with its key path) when it cannot be."""
    if depth > MAX_DEPTH:
        raise CompileError(
            f"conditions nest deeper than {MAX_DEPTH} levels of any_of, all_of and not", where
        )
    parts: list[CompiledCondition] = []
    for name, constraint in spec.arguments().items():
        at: Where = (*where, name)
        if constraint.trust is not None:
            raise CompileError(
                "trust decides a call's action and cannot be a condition: use provenance "
                "in a condition, trust under the tool's args",
                (*at, "trust"),
            )
        try:
            parts.append(
                CompiledCondition("leaf", constraint=compile_constraint(name, constraint, lists))
            )
        except ConstraintError as exc:
            raise CompileError(str(exc), at) from exc
    for key, kind in (("any_of", "any"), ("all_of", "all")):
        members = getattr(spec, key)
        if members is not None:
            parts.append(
                CompiledCondition(
                    kind,
                    tuple(
                        compile_condition(m, lists, (*where, key, i), depth + 1)
                        for i, m in enumerate(members)
                    ),
                )
            )
    if spec.not_ is not None:
        inner = compile_condition(spec.not_, lists, (*where, "not"), depth + 1)
        parts.append(CompiledCondition("not", (inner,)))
    return CompiledCondition("all", tuple(parts))
