"""A class's per-minute limit counts every tool of the class, in every run and agent, and calls
approved through pause and resume count like calls allowed at once."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from agentkit import Agent, ApprovalDecision, Principal, Tool
from agentkit.decision import SideEffect
from agentkit.pipeline.authorise import RecentCalls
from agentkit.policy import Policy
from agentkit.testing import Turn, scripted_client

CLASSES: dict[str, SideEffect] = {
    "send_mail": "external_send",
    "post_chat": "external_send",
    "send_fax": "external_send",
    "save_note": "write",
    "edit_doc": "write",
    "look_up": "read",
}


def class_policy(limit: int, action: str = "allow") -> Policy:
    """A limit per class, and no tool named: the class of each tool comes from the agent."""
    classes = "".join(
        f"  {c}: {{action: {action}, rate_limit: {{per_minute: {limit}}}}}\n"
        for c in sorted(set(CLASSES.values()))
    )
    return Policy.from_yaml(f"version: 1\nclasses:\n{classes}")


def agent_calling(name: str, policy: Policy, window: RecentCalls, ran: list[str]) -> Agent:
    def body() -> str:
        ran.append(name)
        return "done"

    tool = Tool(body, name=name, description=f"{name}.", side_effect=CLASSES[name])
    return Agent(
        client=scripted_client([Turn.call(name, {}), Turn.text("ok")]),
        tools=[tool],
        policy=policy,
        principal=Principal(user_id="ana"),
        rate_window=window,
    )


def test_tools_of_a_class_the_run_never_saw_count_towards_the_class() -> None:
    window, ran = RecentCalls(), []
    policy = class_policy(2)
    for name in ("send_mail", "post_chat", "send_fax"):
        agent_calling(name, policy, window, ran).run_sync("go")
    assert ran == ["send_mail", "post_chat"]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.sampled_from(sorted(CLASSES)), max_size=9), st.integers(1, 3))
def test_each_class_runs_exactly_its_limit_in_a_minute(names: list[str], limit: int) -> None:
    window, ran = RecentCalls(), []
    policy = class_policy(limit)
    for name in names:
        agent_calling(name, policy, window, ran).run_sync("go")
    expected, used = [], dict.fromkeys(CLASSES.values(), 0)
    for name in names:
        if used[CLASSES[name]] < limit:
            used[CLASSES[name]] += 1
            expected.append(name)
    assert ran == expected


def resume_approved(agent: Agent, run: Any) -> Any:
    decisions = [ApprovalDecision.approve(p, approver="bo") for p in run.pending]
    return agent.resume_sync(run, decisions)


def test_calls_approved_through_resume_count_towards_the_minute() -> None:
    window, ran = RecentCalls(), []
    policy = class_policy(1, action="confirm")
    first = agent_calling("save_note", policy, window, ran)
    paused = first.run_sync("go")
    assert paused.status == "awaiting_approval"
    assert resume_approved(first, paused).status == "completed"
    assert ran == ["save_note"]

    second = agent_calling("edit_doc", policy, window, ran)
    result = second.run_sync("go")
    assert result.status == "completed"  # denied, so nothing waits for a person
    assert ran == ["save_note"]
    step = result.steps[0]
    assert step.status == "denied"
    assert step.decision is not None
    assert step.decision.rule == "classes.write.rate_limit.per_minute"
