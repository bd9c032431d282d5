"""The Policy object: a loaded, compiled policy that authorises tool calls."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
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
from agentkit.errors import PolicyInvalid, PolicyLoadError
from agentkit.output_paths import OutputTrust
from agentkit.policy import against_tools, field_sources, loader, problems, tool_sets
from agentkit.policy.compiled import CompiledPolicy, CompileError, Where, compile_policy
from agentkit.policy.decide import decide, image_input_refusal, sources_for
from agentkit.policy.spec import PolicyFile
from agentkit.privacy.privacy_rules import PrivacyRules
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
            if not problems.collecting():
                raise merged.error(exc.message, exc.where) from exc
            self._compiled = _salvaged(merged, exc)
        if problems.collecting() and problems.recorded():
            raise PolicyInvalid(problems.recorded())  # a policy with problems never decides

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

    def collections_for(self, principal: Principal) -> tuple[str, ...]:
        """The xAI collections `principal` may search (``retrieval.collections``)."""
        return sources_for(self._compiled, principal, self._compiled.collections)

    @property
    def images_need_moderator(self) -> bool:
        """``inputs.images.moderated``: a run's images must pass the agent's moderator."""
        return self._compiled.images_moderated

    def image_input_refusal(self, principal: Principal) -> str | None:
        """Why `principal` may not give a run images, or None when they may."""
        return image_input_refusal(self._compiled, principal)

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
        earlier: Sequence[PastCall] = (),
        outputs: Iterable[tuple[str, Any]] = (),
    ) -> Decision:
        """The decision on a call of a run (what ``agentkit policy explain`` prints).

        Args:
            after_untrusted: as if untrusted content (a web page, an e-mail) entered the run.
            earlier: calls made before this one, in order (see `earlier_call`).
            outputs: as if these tools had returned these values earlier in the run, after
                ``earlier``, in order: (tool, a structure or a text), labelled as the policy
                labels them (``earlier_call(tool, output=value)`` for each).
        """
        calls = [*earlier]
        for tool_name, value in outputs:
            made = self.earlier_call(tool_name, output=value)
            calls.append(made.model_copy(update={"call_id": f"earlier-{len(calls)}"}))
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

    def earlier_call(
        self,
        tool: str,
        *,
        output: Any = "",
        arguments: dict[str, Any] | None = None,
        approved: bool = False,
        untrusted: bool | None = None,
    ) -> PastCall:
        """A call that ran earlier in the run, for `explain`, as the runner would record it:
        the tool as the policy declares it returned ``output`` (a text, or a structure kept
        beside its JSON text), labelled as the policy labels the tool's outputs
        (``untrusted_output``, ``output_fields``; ``untrusted`` says instead whether the
        output is untrusted without field trust), and ``approved`` says a person approved it
        (``approved_by`` is then ``"person"``)."""
        info = self.tool_info(tool)
        text = render_output(output)
        data = output_structure(output, text)
        overrides = self.tool_overrides(tool)
        trust = OutputTrust(overrides.trusted_fields, overrides.untrusted_fields)
        framed = info.untrusted_output if untrusted is None else untrusted
        labelled, fields = trust.label(data, untrusted=framed)
        return PastCall(
            call_id=f"earlier-{tool}",
            tool=tool,
            side_effect=info.side_effect,
            arguments=arguments or {},
            action="confirm" if approved else "allow",
            executed=True,
            untrusted_output=labelled,
            output=text,
            data=data,
            fields=fields if trust else None,
            approved_by="person" if approved else None,
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

    @property
    def privacy_rules(self) -> PrivacyRules | None:
        """The ``privacy:`` section: what is redacted or blocked before a request leaves."""
        return self.spec.privacy

    def result_cache(self, name: str) -> tuple[float, bool] | None:
        """``tools.<name>.cache`` as (ttl seconds, shared), or None: keep nothing."""
        spec = self.spec.tools.get(name)
        if spec is None or spec.cache is None:
            return None
        return spec.cache.ttl, spec.cache.shared

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
        sets = self.spec.tool_sets
        for name in sets:
            if name in agent:
                raise self._merged.error(
                    f"the tool set {name!r} has the name of one of the agent's tools: rename it",
                    ("tool_sets", name),
                )
        for name, where in self._tool_references():
            if name not in agent:
                raise self._merged.error(tool_sets.unknown_tool(name, agent, sets), where)
        for name, rule in self.spec.tools.items():
            declared = agent[name].side_effect
            hinted = agent[name].class_from_hints  # a default the policy's class replaces
            if rule.side_effect is not None and rule.side_effect != declared and not hinted:
                raise self._merged.error(
                    f"the policy declares {name} as {rule.side_effect}, the agent as {declared}",
                    ("tools", name, "side_effect"),
                )
        for message, where in against_tools.problems(self.spec.tools, agent):
            raise self._merged.error(message, where)
        for message, where in self._trusted_after_untrusted(agent):
            raise self._merged.error(message, where)
        resolved = tool_sets.resolve(self.spec)
        for message, where in field_sources.never_vouching(self.spec, agent, resolved):
            raise self._merged.error(message, where)

    def _trusted_after_untrusted(
        self, agent: Mapping[str, ToolInfo]
    ) -> Iterator[tuple[str, Where]]:
        """``after_untrusted: [tool]`` naming a tool whose output is trusted never fires (a
        tool set counts when one of its tools may output untrusted data)."""
        sets = tool_sets.resolve(self.spec)
        for escalation in self.spec.rules:
            if not isinstance(escalation.after_untrusted, list):
                continue
            for i, entry in enumerate(escalation.after_untrusted):
                names = sets.get(entry, (entry,))
                if not any(self._untrusted(name, agent) for name in names):
                    what = f"the tool set {entry}, whose tools' output is" if entry in sets else ""
                    what = what or f"{entry}, whose output is"
                    yield (
                        f"after_untrusted names {what} trusted, so the rule would never fire: "
                        f"mark it (tools.{names[0]}.untrusted_output: true, or untrusted "
                        f"fields in tools.{names[0]}.output_fields) or remove it",
                        ("rules", escalation.id, "after_untrusted", i),
                    )

    def _untrusted(self, name: str, agent: Mapping[str, ToolInfo]) -> bool:
        """Whether the tool's output may be untrusted: declared so, marked by the policy (as
        a whole, by column or by field), or labelled by the tool itself (database rows)."""
        rule = self.spec.tools.get(name)
        fields = rule.output_fields if rule is not None else None
        marked = rule is not None and (
            rule.untrusted_output
            or bool(rule.untrusted_columns)
            or bool(fields and fields.untrusted)
        )
        info = agent[name]
        return info.untrusted_output or info.labels_own_output or marked

    def _tool_references(self) -> Iterator[tuple[str, Where]]:
        """Every tool the policy names, with where (a set's members at the set's lines)."""
        return tool_sets.tool_references(self.spec)


def load_policy(*paths: str | Path, tools: Iterable[ToolInfo] | None = None) -> Policy:
    """Load policy files in order; later files extend and override earlier ones.

    Example:
        >>> policy = load_policy("agentkit:ops_copilot")  # doctest: +SKIP

    Raises:
        PolicyLoadError: a file is unreadable or malformed (``file:line: message``), or
            ``tools`` is given and the policy names a tool the agent lacks.
    """
    policy = Policy(loader.load_files(paths))
    if tools is not None:
        policy.check_tools(tools)
    return policy


__all__ = ["Policy", "PolicyLoadError", "load_policy"]


def _salvaged(merged: loader.Merged, exc: CompileError) -> CompiledPolicy:
    """Record each compile problem, set its entry aside and compile the rest (`policy check`)."""
    for _ in range(problems.MAX_PASSES):
        problems.record([merged.error(exc.message, exc.where)])
        if not merged.set_aside(exc.where):
            break
        try:
            return compile_policy(merged.spec(), loader.resolve_lists(merged))
        except CompileError as again:
            exc = again
    raise PolicyInvalid(problems.recorded())
