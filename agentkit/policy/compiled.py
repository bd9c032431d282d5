"""A policy compiled for fast decisions: validators, patterns and role closures built once."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from agentkit.decision import ALWAYS_CONFIRMED, SideEffect
from agentkit.policy import tool_sets
from agentkit.policy._names import did_you_mean
from agentkit.policy.call_class import CallClass
from agentkit.policy.compile_error import CompileError as CompileError
from agentkit.policy.compile_error import Where as Where
from agentkit.policy.conditions import ALWAYS, CompiledCondition, compile_condition
from agentkit.policy.constraints import (
    Constraint,
    ConstraintError,
    TrustedList,
    compile_constraint,
)
from agentkit.policy.counting import CompiledQuota
from agentkit.policy.sensitivity import CompiledSink, CompiledSinkAllow, Mark
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
    call_class: CallClass | None = None


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
    when: CompiledCondition
    unless: CompiledCondition
    after_untrusted: bool | frozenset[str]
    roles: frozenset[str] | None
    unless_roles: frozenset[str]
    after_tools: frozenset[str] = frozenset()
    after_sensitive: bool | frozenset[str] = False


@dataclass(frozen=True, slots=True)
class CompiledApprover:
    """One ``approvers`` entry: what it matches, and what an approval then needs."""

    id: str
    tools: frozenset[str]
    classes: frozenset[SideEffect]
    when: CompiledCondition
    eligible_roles: frozenset[str] | None
    """The roles named and every role that includes one; None: anyone."""
    self_approval: bool | None
    required: int
    expires: float | None

    def matches(self, tool: str, classes: frozenset[SideEffect]) -> bool:
        if not self.tools and not self.classes:
            return True
        return tool in self.tools or bool(self.classes & classes)


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
    sensitive: Mapping[str, tuple[Mark, ...]] = field(default_factory=dict)
    """The ``sensitive`` marks of each tool that has one."""
    sinks: tuple[CompiledSink, ...] = ()
    teach: bool = True
    """Approved values count as the user's (``approvals.teach``)."""
    teach_except: frozenset[str] = frozenset()
    approvers: tuple[CompiledApprover, ...] = ()
    """Who may decide confirmed calls (the first matching entry)."""
    images_allowed: bool = True
    """``inputs.images.allow``: may any run carry images."""
    image_roles: frozenset[str] | None = None
    """``inputs.images.roles``: the roles that may (None: anyone)."""
    images_moderated: bool = False
    """``inputs.images.moderated``: images only past a moderator."""
    collections: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """``retrieval.collections``: role -> the xAI collections it may search."""


def compile_policy(raw: PolicyFile, lists: Mapping[str, TrustedList]) -> CompiledPolicy:
    """Compile a merged policy; raises CompileError at the first inconsistency."""
    spec = tool_sets.expand(raw, tool_sets.resolve(raw))
    closure = _role_closure(spec)
    roles = frozenset(closure)
    tools = {n: _tool(n, t, lists, roles) for n, t in spec.tools.items()}
    classes = {
        c: CompiledClass(c, r.action, _roles(r.roles, roles, ("classes", c)), r.rate_limit)
        for c, r in spec.classes.items()
    }
    _check_confirmed_classes(spec.classes)
    sensitive = {n: _marks(t) for n, t in spec.tools.items() if t.sensitivities()}
    approvals = spec.approvals
    images = spec.inputs.images if spec.inputs else None
    return CompiledPolicy(
        default=spec.default or "deny",
        run_limits=_run_limits(spec),
        role_closure=closure,
        tools=tools,
        classes=classes,
        rules=tuple(_rules(spec, lists, roles, sensitive)),
        quotas=tuple(_quotas(spec)),
        untrusted_marked=frozenset(n for n, t in spec.tools.items() if t.untrusted_output),
        declared_classes={n: t.side_effect for n, t in spec.tools.items() if t.side_effect},
        sensitive=sensitive,
        sinks=tuple(_sinks(spec, lists, sensitive)),
        teach=approvals.teach if approvals else True,
        teach_except=frozenset(approvals.except_tools if approvals else ()),
        approvers=tuple(_approvers(spec, lists, roles, closure)),
        images_allowed=images.allow if images else True,
        image_roles=_roles(images.roles, roles, ("inputs", "images")) if images else None,
        images_moderated=images.moderated if images else False,
        collections=_by_role(spec, roles, "collections"),
    )


def _approvers(
    spec: PolicyFile,
    lists: Mapping[str, TrustedList],
    roles: frozenset[str],
    closure: Mapping[str, frozenset[str]],
) -> list[CompiledApprover]:
    compiled = []
    for entry in spec.approvers:
        if not entry.enabled:
            continue
        where: Where = ("approvers", entry.id)
        allowed = _roles(entry.roles, roles, where)
        eligible = (
            None
            if allowed is None
            else frozenset(r for r, included in closure.items() if included & allowed)
        )
        compiled.append(
            CompiledApprover(
                id=entry.id,
                tools=frozenset(entry.tools),
                classes=frozenset(entry.classes),
                when=compile_condition(entry.when, lists, (*where, "when")),
                eligible_roles=eligible,
                self_approval=entry.self_approval,
                required=entry.required,
                expires=entry.expires,
            )
        )
    return compiled


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


def _by_role(spec: PolicyFile, known: frozenset[str], key: str) -> dict[str, tuple[str, ...]]:
    given: dict[str, list[str]] = getattr(spec.retrieval, key) if spec.retrieval else {}
    for role in given:
        if role not in known:
            hint = did_you_mean(role, known) or " (declare it under roles:)"
            raise CompileError(f"unknown role {role!r}{hint}", ("retrieval", key, role))
    return {role: tuple(dict.fromkeys(names)) for role, names in given.items()}


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
    if spec.cache is not None and spec.side_effect not in (None, "read"):
        raise CompileError(
            f"tools.{name}.cache: only a read tool's results may be kept, not a "
            f"{spec.side_effect} tool's (running it again is what the call means)",
            (*where, "cache"),
        )
    by = spec.side_effect_by
    return CompiledTool(
        name=name,
        action=spec.action,
        side_effect=spec.side_effect,
        roles=_roles(spec.roles, roles, where),
        constraints=_constraints(spec.args, lists, (*where, "args")),
        rate_limit=spec.rate_limit,
        untrusted_output=spec.untrusted_output,
        untrusted_columns=tuple(spec.untrusted_columns),
        call_class=CallClass(tuple(by.arg.split(".")), dict(by.values), by.default) if by else None,
    )


def _marks(spec: ToolRule) -> tuple[Mark, ...]:
    return tuple(
        Mark(s.label, tuple(s.fields), s.normalise, s.min_length) for s in spec.sensitivities()
    )


def _run_limits(spec: PolicyFile) -> RunLimits:
    if spec.run_limits is None:
        return RunLimits()
    return RunLimits(
        max_turns=spec.run_limits.max_turns,
        max_tool_calls=spec.run_limits.max_tool_calls,
        max_cost_usd=spec.run_limits.max_cost_usd,
    )


def _check_confirmed_classes(rules: Mapping[SideEffect, ClassRule]) -> None:
    for side_effect in ALWAYS_CONFIRMED:
        rule = rules.get(side_effect)
        if rule is not None and rule.action == "allow":
            raise CompileError(
                f"{side_effect} tools cannot be allowed as a class: use confirm "
                f"(a {side_effect} call always waits for a person)",
                ("classes", side_effect, "action"),
            )


def _rules(
    spec: PolicyFile,
    lists: Mapping[str, TrustedList],
    roles: frozenset[str],
    sensitive: Mapping[str, tuple[Mark, ...]],
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
                when=compile_condition(rule.when, lists, (*where, "when")),
                unless=compile_condition(rule.unless, lists, (*where, "unless")),
                after_untrusted=frozenset(after) if isinstance(after, list) else after,
                roles=_roles(rule.roles, roles, where),
                unless_roles=_roles(rule.unless_roles, roles, where, "unless_roles") or frozenset(),
                after_tools=frozenset(rule.after_tools),
                after_sensitive=_after_sensitive(rule.after_sensitive, sensitive, where),
            )
        )
    return compiled


def _after_sensitive(
    value: bool | list[str], sensitive: Mapping[str, tuple[Mark, ...]], where: Where
) -> bool | frozenset[str]:
    if value is False:
        return False
    if not sensitive:
        raise CompileError(
            "after_sensitive: no tool is marked sensitive, so the rule would never fire",
            (*where, "after_sensitive"),
        )
    if value is True:
        return True
    return frozenset(_labels(value, sensitive, (*where, "after_sensitive")))


def _labels(names: list[str], sensitive: Mapping[str, tuple[Mark, ...]], where: Where) -> list[str]:
    known = {mark.label for marks in sensitive.values() for mark in marks}
    for i, name in enumerate(names):
        if name not in known:
            hint = did_you_mean(name, known) or " (mark a tool sensitive with this label)"
            raise CompileError(
                f"no tool is marked sensitive with the label {name!r}{hint}",
                (
                    *where,
                    i,
                ),
            )
    return names


def _sinks(
    spec: PolicyFile,
    lists: Mapping[str, TrustedList],
    sensitive: Mapping[str, tuple[Mark, ...]],
) -> list[CompiledSink]:
    compiled = []
    for sink in spec.sinks:
        if not sink.enabled:
            continue
        where: Where = ("sinks", sink.id)
        allow = tuple(
            CompiledSinkAllow(
                tools=frozenset(a.tools),
                classes=frozenset(a.classes),
                args=tuple(a.args),
                when=compile_condition(a.when, lists, (*where, "allow", i, "when"))
                if not a.when.is_empty()
                else ALWAYS,
            )
            for i, a in enumerate(sink.allow)
        )
        labels = _labels(sink.labels, sensitive, (*where, "labels"))
        compiled.append(CompiledSink(sink.id, frozenset(labels), allow, sink.action, sink.reason))
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
