"""A policy compiled for fast decisions: validators, patterns and role closures built once."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from agentkit.decision import SideEffect
from agentkit.policy._names import did_you_mean
from agentkit.policy.constraints import (
    Constraint,
    ConstraintError,
    TrustedList,
    compile_constraint,
)
from agentkit.policy.counting import CompiledQuota
from agentkit.policy.spec import (
    ArgConstraint,
    ClassRule,
    Escalation,
    PolicyFile,
    RateLimit,
    RuleAction,
    ToolRule,
)
from agentkit.run_limits import RunLimits

Where = tuple[str | int, ...]


class CompileError(ValueError):
    """A policy is well-formed YAML but inconsistent; ``where`` is the logical key path."""

    def __init__(self, message: str, where: Where) -> None:
        super().__init__(message)
        self.message = message
        self.where = where


@dataclass(frozen=True)
class CompiledTool:
    name: str
    action: RuleAction
    side_effect: SideEffect | None
    roles: frozenset[str] | None
    constraints: tuple[Constraint, ...]
    rate_limit: RateLimit | None
    untrusted_output: bool
    untrusted_columns: tuple[str, ...]


@dataclass(frozen=True)
class CompiledClass:
    side_effect: SideEffect
    action: RuleAction
    roles: frozenset[str] | None
    rate_limit: RateLimit | None


@dataclass(frozen=True)
class CompiledRule:
    id: str
    action: Escalation
    reason: str
    tools: frozenset[str]
    classes: frozenset[SideEffect]
    when: tuple[Constraint, ...]
    unless: tuple[Constraint, ...]
    after_untrusted: bool | frozenset[str]
    roles: frozenset[str] | None
    unless_roles: frozenset[str]


@dataclass(frozen=True)
class CompiledPolicy:
    """Everything decide() reads, precomputed."""

    default: Escalation = "deny"
    run_limits: RunLimits = field(default_factory=RunLimits)
    """The file's run limits, checked by `decide()` through `RunLimits.check_tool_call`."""
    role_closure: Mapping[str, frozenset[str]] = field(default_factory=dict)
    tools: Mapping[str, CompiledTool] = field(default_factory=dict)
    classes: Mapping[SideEffect, CompiledClass] = field(default_factory=dict)
    rules: tuple[CompiledRule, ...] = ()
    quotas: tuple[CompiledQuota, ...] = ()
    untrusted_marked: frozenset[str] = frozenset()
    declared_classes: Mapping[str, SideEffect] = field(default_factory=dict)


def compile_policy(spec: PolicyFile, lists: Mapping[str, TrustedList]) -> CompiledPolicy:
    """Compile a merged policy; raises CompileError at the first inconsistency."""
    closure = _role_closure(spec)
    roles = frozenset(closure)
    tools = {n: _tool(n, t, lists, roles) for n, t in spec.tools.items()}
    classes = {
        c: CompiledClass(c, r.action, _roles(r.roles, roles, ("classes", c)), r.rate_limit)
        for c, r in spec.classes.items()
    }
    _check_destructive_class(spec.classes.get("destructive"))
    return CompiledPolicy(
        default=spec.default or "deny",
        run_limits=_run_limits(spec),
        role_closure=closure,
        tools=tools,
        classes=classes,
        rules=tuple(_rules(spec, lists, roles)),
        quotas=tuple(_quotas(spec)),
        untrusted_marked=frozenset(n for n, t in spec.tools.items() if t.untrusted_output),
        declared_classes={n: t.side_effect for n, t in spec.tools.items() if t.side_effect},
    )


def _role_closure(spec: PolicyFile) -> dict[str, frozenset[str]]:
    closure: dict[str, frozenset[str]] = {}
    for name, role in spec.roles.items():
        for i, inc in enumerate(role.includes):
            if inc not in spec.roles:
                raise CompileError(
                    f"role {name!r} includes unknown role {inc!r}" + did_you_mean(inc, spec.roles),
                    ("roles", name, "includes", i),
                )
    for name in spec.roles:
        seen: set[str] = set()
        stack = [name]
        while stack:
            current = stack.pop()
            if current not in seen:
                seen.add(current)
                stack.extend(spec.roles[current].includes)
        closure[name] = frozenset(seen)
    return closure


def _roles(
    names: list[str] | None, known: frozenset[str], where: Where, key: str = "roles"
) -> frozenset[str] | None:
    if names is None:
        return None
    for i, name in enumerate(names):
        if name not in known:
            hint = did_you_mean(name, known) or " (declare it under roles:)"
            raise CompileError(f"unknown role {name!r}{hint}", (*where, key, i))
    return frozenset(names)


def _constraints(
    specs: Mapping[str, ArgConstraint], lists: Mapping[str, TrustedList], where: Where
) -> tuple[Constraint, ...]:
    compiled = []
    for name, spec in specs.items():
        try:
            compiled.append(compile_constraint(name, spec, lists))
        except ConstraintError as exc:
            raise CompileError(str(exc), (*where, name)) from exc
    return tuple(compiled)


def _tool(
    name: str, spec: ToolRule, lists: Mapping[str, TrustedList], roles: frozenset[str]
) -> CompiledTool:
    where: Where = ("tools", name)
    return CompiledTool(
        name=name,
        action=spec.action,
        side_effect=spec.side_effect,
        roles=_roles(spec.roles, roles, where),
        constraints=_constraints(spec.args, lists, (*where, "args")),
        rate_limit=spec.rate_limit,
        untrusted_output=spec.untrusted_output,
        untrusted_columns=tuple(spec.untrusted_columns),
    )


def _run_limits(spec: PolicyFile) -> RunLimits:
    if spec.run_limits is None:
        return RunLimits()
    return RunLimits(
        max_turns=spec.run_limits.max_turns,
        max_tool_calls=spec.run_limits.max_tool_calls,
        max_cost_usd=spec.run_limits.max_cost_usd,
    )


def _check_destructive_class(rule: ClassRule | None) -> None:
    if rule is not None and rule.action == "allow":
        raise CompileError(
            "destructive tools cannot be allowed as a class: use confirm "
            "(a destructive call always waits for a person)",
            ("classes", "destructive", "action"),
        )


def _rules(
    spec: PolicyFile, lists: Mapping[str, TrustedList], roles: frozenset[str]
) -> list[CompiledRule]:
    compiled = []
    for rule in spec.rules:
        if not rule.enabled:
            continue
        where: Where = ("rules", rule.id)
        after = rule.after_untrusted
        compiled.append(
            CompiledRule(
                id=rule.id,
                action=rule.action,
                reason=rule.reason,
                tools=frozenset(rule.tools),
                classes=frozenset(rule.classes),
                when=_constraints(rule.when, lists, (*where, "when")),
                unless=_constraints(rule.unless, lists, (*where, "unless")),
                after_untrusted=frozenset(after) if isinstance(after, list) else after,
                roles=_roles(rule.roles, roles, where),
                unless_roles=_roles(rule.unless_roles, roles, where, "unless_roles") or frozenset(),
            )
        )
    return compiled


def _quotas(spec: PolicyFile) -> list[CompiledQuota]:
    return [
        CompiledQuota(
            id=q.id,
            path=tuple(q.sum.split(".")),
            field=q.sum,
            max=q.max,
            tools=frozenset(q.tools),
            classes=frozenset(q.classes),
            action=q.action,
            reason=q.reason,
        )
        for q in spec.quotas
        if q.enabled
    ]
