"""The decision function: pure, deterministic, no I/O and no clock.

Checks run in a fixed order; the first deny decides, otherwise the first confirm,
otherwise the base allow. So deny wins over confirm, and confirm over allow::

    access (tool / class / default, roles) -> run budgets -> rate limits
      -> argument constraints and trust tiers -> quotas -> rules (incl. data flow)
      -> sinks -> the floor (destructive, security_settings, device_control)

A call's classes are its tool's own, the one the policy declares, and the one its
arguments pick (``side_effect_by``); every class-based check and the floor use them all.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from agentkit.decision import (
    Decision,
    History,
    PastCall,
    Principal,
    ProposedCall,
    SideEffect,
    class_key,
    confirmation_floor,
)
from agentkit.policy import counting, dataflow, sensitivity
from agentkit.policy.compiled import CompiledPolicy, CompiledRule, CompiledTool
from agentkit.policy.constraints import DataflowContext
from agentkit.who_approves import Approvers, default_approvers

_SEVERITY = {"allow": 0, "confirm": 1, "deny": 2}


def decide(
    policy: CompiledPolicy, principal: Principal, call: ProposedCall, history: History
) -> Decision:
    """Authorise one call; every Decision names its rule and carries a reason."""
    name = call.tool.name
    classes = _classes(policy, name, call.tool.side_effect, call.arguments)
    held = _held_roles(policy, principal)
    base = _access(policy, name, classes, held)
    if base.action == "deny":
        return base
    chosen = base
    for decision in _checks(policy, call, history, classes, held):
        if decision.action == "deny":
            return decision
        if _SEVERITY[decision.action] > _SEVERITY[chosen.action]:
            chosen = decision
    final = confirmation_floor(chosen, name, classes)
    if final.action != "confirm":
        return final
    return final.model_copy(update={"approvers": _who_approves(policy, call, history, classes)})


def _who_approves(
    policy: CompiledPolicy, call: ProposedCall, history: History, classes: frozenset[SideEffect]
) -> Approvers:
    """The first ``approvers`` entry matching a confirmed call, else the defaults."""
    defaults = default_approvers(classes)
    if not policy.approvers:
        return defaults
    ctx = DataflowContext(
        history, policy.untrusted_marked, teach=policy.teach, teach_except=policy.teach_except
    )
    for entry in policy.approvers:
        if entry.matches(call.tool.name, classes) and entry.when.holds(call.arguments, ctx):
            return Approvers(
                rule=f"approvers.{entry.id}",
                roles=None if entry.eligible_roles is None else tuple(sorted(entry.eligible_roles)),
                self_approval=defaults.self_approval
                if entry.self_approval is None
                else entry.self_approval,
                required=entry.required,
                expires_after=entry.expires,
            )
    return defaults


def _checks(
    policy: CompiledPolicy,
    call: ProposedCall,
    history: History,
    classes: frozenset[SideEffect],
    held: frozenset[str],
) -> Iterator[Decision]:
    """Every escalation that applies, in the documented order (lazily, so a deny stops early)."""
    budget = policy.run_limits.check_tool_call(history)
    if budget:
        yield budget
    yield from _rate_limits(policy, call.tool.name, classes, history)
    ctx = DataflowContext(
        history, policy.untrusted_marked, teach=policy.teach, teach_except=policy.teach_except
    )
    tool = policy.tools.get(call.tool.name)
    if tool is not None:
        yield from _arguments(tool, call, ctx)
    for quota in policy.quotas:
        if quota.applies(call.tool.name, classes):
            found = counting.check_quota(quota, call, history, lambda c: _past_classes(policy, c))
            if found:
                yield found
    yield from _rules(policy, call, classes, held, ctx)
    if policy.sinks:
        labelled = sensitivity.labelled_values(history, policy.sensitive)
        yield from sensitivity.check_sinks(policy.sinks, call, classes, ctx, labelled)


def _classes(
    policy: CompiledPolicy, tool: str, side_effect: SideEffect, arguments: Mapping[str, Any]
) -> frozenset[SideEffect]:
    found = {side_effect}
    declared = policy.declared_classes.get(tool)
    if declared:
        found.add(declared)
    compiled = policy.tools.get(tool)
    if compiled is not None and compiled.call_class is not None:
        found |= compiled.call_class.of(arguments)
    return frozenset(found)


def _past_classes(policy: CompiledPolicy, call: PastCall) -> frozenset[SideEffect]:
    return _classes(policy, call.tool, call.side_effect, call.arguments)


def _held_roles(policy: CompiledPolicy, principal: Principal) -> frozenset[str]:
    held: set[str] = set()
    for role in principal.roles:
        held |= policy.role_closure.get(role, frozenset())
    return frozenset(held)


def _access(
    policy: CompiledPolicy, name: str, classes: frozenset[SideEffect], held: frozenset[str]
) -> Decision:
    tool = policy.tools.get(name)
    if tool is not None:
        roles = tool.roles
        rule = f"tools.{name}"
        if roles is None:
            roles, role_rule = _class_roles(policy, classes)
        else:
            role_rule = f"{rule}.roles"
        if roles is not None and not roles & held:
            return _role_denied(role_rule, name, roles)
        return Decision(action=tool.action, reason=_base_reason(tool.action, name), rule=rule)
    found = [policy.classes[c] for c in sorted(classes) if c in policy.classes]
    if not found:
        return Decision(
            action=policy.default,
            reason=f"the policy does not grant the tool {name}",
            rule=f"default-{policy.default}",
        )
    for cls in found:
        if cls.roles is not None and not cls.roles & held:
            return _role_denied(f"classes.{cls.side_effect}.roles", name, cls.roles)
    worst = max(found, key=lambda c: _SEVERITY[c.action])
    return Decision(
        action=worst.action,
        reason=_base_reason(worst.action, name, worst.side_effect),
        rule=f"classes.{worst.side_effect}",
    )


def _class_roles(
    policy: CompiledPolicy, classes: frozenset[SideEffect]
) -> tuple[frozenset[str] | None, str]:
    for c in sorted(classes):
        cls = policy.classes.get(c)
        if cls is not None and cls.roles is not None:
            return cls.roles, f"classes.{c}.roles"
    return None, ""


def _role_denied(rule: str, name: str, roles: frozenset[str]) -> Decision:
    return Decision(
        action="deny",
        reason=f"{name} is only for the roles {', '.join(sorted(roles))}",
        rule=rule,
    )


def _base_reason(action: str, name: str, side_effect: str | None = None) -> str:
    subject = f"{side_effect} tools such as {name}" if side_effect else name
    return {
        "allow": f"the policy allows {subject}",
        "confirm": f"the policy requires a person to confirm {subject}",
        "deny": f"the policy forbids {subject}",
    }[action]


def _rate_limits(
    policy: CompiledPolicy, name: str, classes: frozenset[SideEffect], history: History
) -> Iterator[Decision]:
    tool = policy.tools.get(name)
    if tool is not None and tool.rate_limit is not None:
        found = counting.check_rate(
            f"tools.{name}.rate_limit",
            tool.rate_limit,
            lambda past: past.tool == name,
            frozenset((name,)),
            history,
        )
        if found:
            yield found
    for c in sorted(classes):
        cls = policy.classes.get(c)
        if cls is None or cls.rate_limit is None:
            continue

        def member(past: PastCall, c: SideEffect = c) -> bool:
            return c in _past_classes(policy, past)

        found = counting.check_rate(
            f"classes.{c}.rate_limit", cls.rate_limit, member, frozenset((class_key(c),)), history
        )
        if found:
            yield found


def _arguments(tool: CompiledTool, call: ProposedCall, ctx: DataflowContext) -> Iterator[Decision]:
    for constraint in tool.constraints:
        problem = constraint.check(call.arguments, ctx)
        if problem:
            yield Decision(
                action="deny",
                reason=f"argument {constraint.field!r} of {tool.name}: {problem}",
                rule=f"tools.{tool.name}.args.{constraint.field}",
            )
            return
    for constraint in tool.constraints:
        judged = constraint.judge_trust(call.arguments, ctx)
        if judged is not None and judged[0] != "allow":
            yield Decision(
                action=judged[0],
                reason=f"argument {constraint.field!r} of {tool.name}: {judged[1]}",
                rule=f"tools.{tool.name}.args.{constraint.field}",
            )


def _rules(
    policy: CompiledPolicy,
    call: ProposedCall,
    classes: frozenset[SideEffect],
    held: frozenset[str],
    ctx: DataflowContext,
) -> Iterator[Decision]:
    sources: frozenset[str] | None = None
    for rule in policy.rules:
        if not _targets(rule, call.tool.name, classes, held):
            continue
        if not _after(policy, rule, ctx.history):
            continue
        if rule.after_untrusted:
            if sources is None:
                sources = dataflow.untrusted_sources(ctx.history, policy.untrusted_marked)
            hit = sources if rule.after_untrusted is True else sources & rule.after_untrusted
            if not hit:
                continue
        else:
            hit = frozenset()
        if _conditions_hold(rule, call, ctx):
            yield Decision(
                action=rule.action, reason=_rule_reason(rule, call, hit), rule=f"rules.{rule.id}"
            )


def _after(policy: CompiledPolicy, rule: CompiledRule, history: History) -> bool:
    """The rule's ``after_tools`` and ``after_sensitive`` hold (true when unset)."""
    if not rule.after_tools and rule.after_sensitive is False:
        return True
    ran = {c.tool for c in history.calls if c.executed}
    if rule.after_tools and not ran & rule.after_tools:
        return False
    if rule.after_sensitive is False:
        return True
    labels = {m.label for tool in ran for m in policy.sensitive.get(tool, ())}
    return bool(labels if rule.after_sensitive is True else labels & rule.after_sensitive)


def _conditions_hold(rule: CompiledRule, call: ProposedCall, ctx: DataflowContext) -> bool:
    if not rule.when.holds(call.arguments, ctx):
        return False
    # an exception holds only on arguments the call has: one the tool lacks, or left null,
    # never exempts the call (fail closed)
    return rule.unless.empty or not rule.unless.holds(call.arguments, ctx)


def _targets(
    rule: CompiledRule, name: str, classes: frozenset[SideEffect], held: frozenset[str]
) -> bool:
    if (rule.roles is not None and not rule.roles & held) or rule.unless_roles & held:
        return False
    if not rule.tools and not rule.classes:
        return True
    return name in rule.tools or bool(classes & rule.classes)


def _rule_reason(rule: CompiledRule, call: ProposedCall, sources: frozenset[str]) -> str:
    if rule.reason:
        return rule.reason
    verb = "needs confirmation" if rule.action == "confirm" else "is denied"
    if sources:
        origin = ", ".join(sorted(sources))
        return f"{call.tool.name} {verb}: untrusted content from {origin} entered this run"
    return f"{call.tool.name} {verb} by rule {rule.id}"


def image_input_refusal(policy: CompiledPolicy, principal: Principal) -> str | None:
    """Why `principal` may not give a run images (``inputs.images``), or None if they may."""
    if not policy.images_allowed:
        return "the policy lets no run carry images (inputs.images.allow: false)"
    if policy.image_roles is None:
        return None
    if _held_roles(policy, principal) & policy.image_roles:
        return None
    return (
        f"the policy lets only {sorted(policy.image_roles)} give a run images "
        f"(inputs.images.roles); {principal.user_id} holds {sorted(principal.roles)}"
    )


def sources_for(
    policy: CompiledPolicy, principal: Principal, by_role: Mapping[str, tuple[str, ...]]
) -> tuple[str, ...]:
    """The retrieval sources (collections) `principal`'s roles grant, in the order the
    policy names them."""
    held = _held_roles(policy, principal)
    found: dict[str, None] = {}
    for role, names in by_role.items():
        if role in held:
            found.update(dict.fromkeys(names))
    return tuple(found)
