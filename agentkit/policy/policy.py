"""The Policy object: a loaded, compiled policy that authorises tool calls."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from agentkit.decision import (
    Decision,
    History,
    PastCall,
    Principal,
    ProposedCall,
    ToolInfo,
    ToolOverrides,
)
from agentkit.errors import PolicyLoadError
from agentkit.output_paths import OutputTrust
from agentkit.policy import against_tools, field_sources, loader
from agentkit.policy._names import did_you_mean
from agentkit.policy.compiled import CompiledPolicy, CompileError, Where, compile_policy
from agentkit.policy.decide import decide
from agentkit.policy.spec import ArgConstraint, PolicyFile
from agentkit.run_limits import RunLimits
from agentkit.tool import output_structure, render_output


class Policy:
    """A declarative policy; implements the ``Authoriser`` and ``HasToolOverrides`` protocols.

    Example:
        >>> policy = Policy.from_yaml("version: 1\\ntools: {lookup: {action: allow}}")
        >>> call = ProposedCall(call_id="c1", tool=ToolInfo(name="lookup"), arguments={})
        >>> policy.decide(Principal(), call, History()).action
        'allow'
    """

    def __init__(self, merged: loader.Merged) -> None:
        self._merged = merged
        self.spec: PolicyFile = merged.spec()
        try:
            self._compiled: CompiledPolicy = compile_policy(self.spec, loader.resolve_lists(merged))
        except CompileError as exc:
            raise merged.error(exc.message, exc.where) from exc

    @classmethod
    def from_yaml(
        cls, text: str, source: str = "<string>", tools: Iterable[ToolInfo] | None = None
    ) -> Policy:
        """Load a policy from YAML text; ``source`` names it in errors."""
        policy = cls(loader.load_text(text, source))
        if tools is not None:
            policy.check_tools(tools)
        return policy

    @property
    def sources(self) -> tuple[str, ...]:
        """The files this policy was loaded from, bases first."""
        return tuple(src.path for src in self._merged.sources)

    @property
    def run_limits(self) -> RunLimits:
        """Turn, tool-call and cost budgets for a run."""
        return self._compiled.run_limits

    def decide(self, principal: Principal, call: ProposedCall, history: History) -> Decision:
        """Authorise one proposed call: allow, deny or confirm, naming the rule."""
        return decide(self._compiled, principal, call, history)

    def explain(
        self,
        tool: str,
        arguments: dict[str, Any],
        *,
        principal: Principal,
        user_messages: tuple[str, ...] = (),
        after_untrusted: bool = False,
        outputs: Iterable[tuple[str, Any]] = (),
    ) -> Decision:
        """The decision on a call of a run (what ``agentkit policy explain`` prints).

        Args:
            after_untrusted: as if untrusted content (a web page, an e-mail) entered the run.
            outputs: as if these tools had returned these values earlier in the run, in
                order: (tool, a structure or a text), labelled as the policy labels them.
        """
        calls = [self._earlier(i, tool, value) for i, (tool, value) in enumerate(outputs)]
        if after_untrusted:
            calls.append(
                PastCall(
                    call_id="untrusted",
                    tool="<untrusted source>",
                    side_effect="read",
                    arguments={},
                    action="allow",
                    executed=True,
                    untrusted_output=True,
                    output="",
                )
            )
        history = History(run_id="explain", turn=1, calls=tuple(calls), user_messages=user_messages)
        call = ProposedCall(call_id="explain", tool=self.tool_info(tool), arguments=arguments)
        return self.decide(principal, call, history)

    def _earlier(self, index: int, tool: str, value: Any) -> PastCall:
        """A call of `tool` that returned `value`, as the runner would record it."""
        info = self.tool_info(tool)
        text = render_output(value)
        data = output_structure(value, text)
        overrides = self.tool_overrides(tool)
        trust = OutputTrust(overrides.trusted_fields, overrides.untrusted_fields)
        untrusted, fields = trust.label(data, untrusted=info.untrusted_output)
        return PastCall(
            call_id=f"earlier-{index}",
            tool=tool,
            side_effect=info.side_effect,
            arguments={},
            action="allow",
            executed=True,
            untrusted_output=untrusted,
            output=text,
            data=data,
            fields=fields if trust else None,
        )

    def tool_overrides(self, name: str) -> ToolOverrides:
        """What the policy adds to a tool's declaration (untrusted output, columns).

        The runner applies it to the tool once, when it is built (`Tool.with_overrides`), so
        the run's labels, frames and history carry it, not only this policy's own rules.
        """
        tool = self._compiled.tools.get(name)
        if tool is None:
            return ToolOverrides()
        fields = self.spec.tools[name].output_fields
        return ToolOverrides(
            side_effect=tool.side_effect,
            untrusted_output=tool.untrusted_output,
            untrusted_columns=tool.untrusted_columns,
            trusted_fields=tuple(fields.trusted) if fields else (),
            untrusted_fields=tuple(fields.untrusted) if fields else (),
        )

    def tool_info(self, name: str) -> ToolInfo:
        """The tool as the policy itself declares it (for ``explain`` without an agent)."""
        rule = self.spec.tools.get(name)
        if rule is None:
            return ToolInfo(name=name)
        return ToolInfo(
            name=name,
            side_effect=rule.side_effect or "read",
            untrusted_output=rule.untrusted_output,
        )

    def check_tools(self, tools: Iterable[ToolInfo]) -> None:
        """Raise PolicyLoadError if the policy names a tool the agent lacks or misdescribes."""
        agent = {t.name: t for t in tools}
        for name, where in self._tool_references():
            if name not in agent:
                raise self._merged.error(
                    f"the policy names the tool {name!r}, which the agent does not have"
                    + did_you_mean(name, agent),
                    where,
                )
        for name, rule in self.spec.tools.items():
            declared = agent[name].side_effect
            if rule.side_effect is not None and rule.side_effect != declared:
                raise self._merged.error(
                    f"the policy declares {name} as {rule.side_effect}, the agent as {declared}",
                    ("tools", name, "side_effect"),
                )
        for message, where in against_tools.problems(self.spec.tools, agent):
            raise self._merged.error(message, where)
        for message, where in self._trusted_after_untrusted(agent):
            raise self._merged.error(message, where)
        for message, where in field_sources.never_vouching(self.spec, agent):
            raise self._merged.error(message, where)

    def _trusted_after_untrusted(
        self, agent: Mapping[str, ToolInfo]
    ) -> Iterator[tuple[str, Where]]:
        """``after_untrusted: [tool]`` naming a tool whose output is trusted never fires."""
        for escalation in self.spec.rules:
            if not isinstance(escalation.after_untrusted, list):
                continue
            for i, name in enumerate(escalation.after_untrusted):
                rule = self.spec.tools.get(name)
                fields = rule.output_fields if rule is not None else None
                marked = rule is not None and (
                    rule.untrusted_output or bool(fields and fields.untrusted)
                )
                if not agent[name].untrusted_output and not marked:
                    yield (
                        f"after_untrusted names {name}, whose output is trusted, so the rule "
                        f"would never fire: mark it (tools.{name}.untrusted_output: true, or "
                        f"untrusted fields in tools.{name}.output_fields) or remove it",
                        ("rules", escalation.id, "after_untrusted", i),
                    )

    def _tool_references(self) -> Iterator[tuple[str, Where]]:
        spec = self.spec
        for name, rule in spec.tools.items():
            yield name, ("tools", name)
            for arg, constraint in rule.args.items():
                yield from _sources(constraint, ("tools", name, "args", arg))
        for escalation in spec.rules:
            where: Where = ("rules", escalation.id)
            for i, name in enumerate(escalation.tools):
                yield name, (*where, "tools", i)
            for part in ("when", "unless"):
                for arg, constraint in getattr(escalation, part).items():
                    yield from _sources(constraint, (*where, part, arg))
            if isinstance(escalation.after_untrusted, list):
                for i, name in enumerate(escalation.after_untrusted):
                    yield name, (*where, "after_untrusted", i)
        for quota in spec.quotas:
            for i, name in enumerate(quota.tools):
                yield name, ("quotas", quota.id, "tools", i)


def _sources(constraint: ArgConstraint, where: Where) -> Iterator[tuple[str, Where]]:
    """The tools a constraint's provenance names as sources, each where it is named."""
    if constraint.provenance is None:
        return
    for i, source in enumerate(constraint.provenance.tools):
        yield source, (*where, "provenance", "tools", i)
    for source in constraint.provenance.fields:
        yield source, (*where, "provenance", "fields", source)


def load_policy(*paths: str | Path, tools: Iterable[ToolInfo] | None = None) -> Policy:
    """Load policy files in order; later files extend and override earlier ones.

    Example:
        >>> policy = load_policy("policies/ops_copilot.yaml")  # doctest: +SKIP

    Raises:
        PolicyLoadError: a file is unreadable or malformed (``file:line: message``), or
            ``tools`` is given and the policy names a tool the agent lacks.
    """
    policy = Policy(loader.load_files(paths))
    if tools is not None:
        policy.check_tools(tools)
    return policy


__all__ = ["Policy", "PolicyLoadError", "load_policy"]
