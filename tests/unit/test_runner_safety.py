"""The runner's safety promises, end to end through the fake xAI wire.

1. A tool body runs only when the decision is allow, or confirm followed by a matching
   approval; never otherwise (a property over generated policies, principals and calls).
2. A run through every stage writes an audit log that verifies, and no secret reaches it.
3. An audit log that cannot be written stops the run before the next tool runs.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from agentkit import Agent, Principal, RunConfig, tool
from agentkit.audit import (
    KNOWN_EVENTS,
    AuditLog,
    JsonlSink,
    MemorySink,
    capture_audit,
    verify_file,
)
from agentkit.errors import AuditWriteFailed
from agentkit.pipeline.runner import Runner
from agentkit.policy import Policy
from agentkit.state import PendingApproval
from agentkit.testing import (
    FakeClock,
    FakeXAI,
    RecordingApprover,
    Script,
    Turn,
    scripted_client,
)
from agentkit.tool import as_tool

TOOLS = ("read_a", "write_b", "drop_c")
ACTIONS = ("allow", "deny", "confirm")
ROLES = ("viewer", "editor")
SECRET = "hunter2-planted-secret"
API_KEY = "xai-" + "Q" * 40


class Sim(Agent):
    """Three tools whose bodies only record that they ran."""

    def __init__(self, **kwargs: Any) -> None:
        self.ran: list[tuple[str, int]] = []
        super().__init__(**kwargs)

    @tool
    async def read_a(self, n: int) -> str:
        """Read."""
        self.ran.append(("read_a", n))
        return f"a{n}"

    @tool(side_effect="write")
    async def write_b(self, n: int) -> str:
        """Write."""
        self.ran.append(("write_b", n))
        return f"b{n}"

    @tool(destructive=True)
    async def drop_c(self, n: int) -> str:
        """Drop."""
        self.ran.append(("drop_c", n))
        return f"c{n}"


SIDE_EFFECTS = {"read_a": "read", "write_b": "write", "drop_c": "destructive"}


def policy_yaml(grants: dict[str, tuple[str, tuple[str, ...], int | None]]) -> str:
    lines = ["version: 1", "default: deny", "roles:", "  viewer: {}", "  editor: {}"]
    lines.append("tools:" if grants else "tools: {}")
    for name, (action, roles, maximum) in grants.items():
        if name == "drop_c" and action == "allow":
            action = "confirm"  # a policy cannot allow a destructive tool (a load error)
        lines += [f"  {name}:", f"    side_effect: {SIDE_EFFECTS[name]}", f"    action: {action}"]
        if roles:
            lines.append(f"    roles: [{', '.join(roles)}]")
        if maximum is not None:
            lines.append(f"    args: {{n: {{maximum: {maximum}}}}}")
    return "\n".join(lines) + "\n"


grants = st.dictionaries(
    st.sampled_from(TOOLS),
    st.tuples(
        st.sampled_from(ACTIONS),
        st.lists(st.sampled_from(ROLES), unique=True, max_size=2).map(tuple),
        st.none() | st.integers(0, 10),
    ),
)
turns = st.lists(
    st.lists(st.tuples(st.sampled_from(TOOLS), st.integers(0, 12)), min_size=1, max_size=3),
    min_size=1,
    max_size=4,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    grants=grants,
    roles=st.lists(st.sampled_from(ROLES), unique=True, max_size=2),
    turns=turns,
    approve_even=st.booleans(),
)
def test_a_tool_runs_only_when_allowed_or_approved(
    grants: dict[str, Any],
    roles: list[str],
    turns: list[list[tuple[str, int]]],
    approve_even: bool,
) -> None:
    import asyncio

    def approves(request: PendingApproval) -> bool:
        return (request.arguments["n"] % 2 == 0) == approve_even

    approver = RecordingApprover(approves)
    script = [Turn.calls([(name, {"n": n}) for name, n in calls]) for calls in turns]
    agent = Sim(
        client=scripted_client([*script, Turn.text("done")]),
        policy=Policy.from_yaml(policy_yaml(grants)),
        approver=approver,
        principal=Principal(user_id="u", roles=tuple(roles)),
        config=RunConfig(max_tool_errors=100, max_tool_calls=100),
    )
    result = asyncio.run(agent.run("go"))
    approved = {r.call_id for r in approver.requests if approves(r)}

    ok_calls: Counter[tuple[str, int]] = Counter()
    for step in result.steps:
        assert step.decision is not None
        assert step.arguments is not None
        body_ran = step.status == "ok"
        if body_ran:
            ok_calls[(step.tool, step.arguments["n"])] += 1
        if step.decision.action == "deny":
            assert not body_ran
        elif step.decision.action == "confirm":
            assert body_ran == (step.call_id in approved)
        else:
            assert body_ran, "an allowed call runs"
        if body_ran and step.tool == "drop_c":
            assert step.decision.action == "confirm", "destructive tools are never plainly allowed"
    assert Counter(agent.ran) == ok_calls, "bodies ran for exactly the calls reported ok"


class Vault(Agent):
    @tool
    async def login(self, user: str, password: str) -> str:
        """Log in."""
        return f"token for {user}: Bearer {SECRET}"

    @tool
    async def crash(self) -> str:
        """Fails."""
        raise RuntimeError(f"failed with key {API_KEY}")

    @tool(timeout=0.05)
    async def hang(self) -> str:
        """Hangs."""
        import asyncio

        await asyncio.sleep(5)
        return "never"

    @tool(destructive=True)
    async def wipe(self, what: str) -> str:
        """Wipe."""
        return f"wiped {what}"


def every_stage_script() -> Script:
    return Script(
        [
            Turn.calls(
                [
                    ("login", {"user": "ana", "password": SECRET}),
                    ("login", {"user": "ana"}),  # invalid
                    ("crash", {}),
                    ("hang", {}),
                    ("nope", {}),  # unknown tool
                ]
            ),
            Turn.calls([("wipe", {"what": "cache"}), ("wipe", {"what": "prod"})]),
            Turn.text("done"),
        ]
    )


async def test_a_run_through_every_stage_verifies_and_leaks_no_secret(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    with AuditLog(JsonlSink(path)) as audit:
        agent = Vault(
            client=scripted_client(every_stage_script(), api_key=API_KEY),
            audit=audit,
            approver=RecordingApprover(lambda r: r.arguments["what"] == "cache", name="ops"),
        )
        result = await agent.run(f"log in as ana with password {SECRET}")
    assert [s.status for s in result.steps] == [
        "ok",
        "invalid",
        "failed",
        "timed_out",
        "unknown_tool",
        "ok",
        "declined",
    ]
    verdict = verify_file(path)
    assert verdict.ok, verdict.error
    text = path.read_text()
    assert SECRET not in text
    assert API_KEY not in text
    events = {json.loads(line)["event"] for line in text.splitlines()}
    # every stage but pausing and resuming (covered by the next test) and the progress of
    # a long call (tests/unit/test_media_tools.py) is on the record
    assert events == KNOWN_EVENTS - {"run.paused", "run.resumed", "call.progress"}


async def test_pause_and_resume_are_audited() -> None:
    client = scripted_client([Turn.call("wipe", {"what": "cache"}), Turn.text("ok")])
    with capture_audit() as audit:
        agent = Vault(client=client, audit=audit)
        paused = await agent.run("wipe the cache")
        await agent.resume(paused, {paused.pending[0].approval_id: True}, approver="ana")
    assert "run.paused" in audit.events
    assert "run.resumed" in audit.events
    call_records = audit.fields_of("call.decided")
    assert call_records, "the wipe call was decided on the record"
    for fields in call_records:
        assert fields["request_id"], "each call record names the model request behind it"
    decided = audit.fields_of("approval.decided")
    assert decided[0]["approved"] is True
    assert decided[0]["approver"] == "ana"
    assert audit.verify().ok


class FailingSink(MemorySink):
    def __init__(self, fail_after: int) -> None:
        super().__init__()
        self.fail_after = fail_after

    def write(self, *args: Any, **kwargs: Any) -> Any:
        if len(self.lines) >= self.fail_after:
            raise OSError("disk full")
        return super().write(*args, **kwargs)


@pytest.mark.parametrize(("fail_after", "expected_ran"), [(0, []), (3, []), (5, []), (6, ["x"])])
async def test_an_unwritable_audit_log_stops_the_run(
    fail_after: int, expected_ran: list[str]
) -> None:
    """Records up to the decision come before the tool runs; any failure ends the run."""
    fake = FakeXAI(Script([Turn.call("wipe", {"what": "x"}), Turn.text("ok")]))
    ran: list[str] = []

    class Probe(Vault):
        @tool
        async def wipe(self, what: str) -> str:  # type: ignore[override]
            """Wipe (not destructive here, so only the audit can stop it)."""
            ran.append(what)
            return "wiped"

    agent = Probe(
        client=scripted_client(fake),
        audit=AuditLog(FailingSink(fail_after)),
    )
    with pytest.raises(AuditWriteFailed) as info:
        await agent.run("wipe x")
    assert info.value.run.status == "failed"  # type: ignore[attr-defined]
    assert ran == expected_ran
    assert fake.count("/v1/responses") == (0 if fail_after < 2 else 1)


async def test_a_weakened_sandbox_is_on_the_record_of_every_run() -> None:
    from agentkit.tools.python import python_tool

    weakened = python_tool(network=True, overrides={"network"})
    with capture_audit() as audit:
        agent = Vault(
            client=scripted_client([Turn.text("nothing to run")]),
            tools=[weakened],
            audit=audit,
        )
        await agent.run("hello")
    [started] = audit.fields_of("run.started")
    facts = started["tool_facts"]["run_python"]
    assert facts["weakened"] == ["network"]
    assert facts["image"].startswith("agentkit-sandbox")


async def test_a_per_minute_rate_limit_follows_the_runners_clock() -> None:
    policy = Policy.from_yaml(
        "version: 1\nroles: {viewer: {}}\ntools:\n"
        "  read_a: {side_effect: read, action: allow, roles: [viewer], "
        "rate_limit: {per_minute: 1}}\n"
    )
    ran: list[int] = []

    async def read_a(n: int) -> str:
        """Read."""
        ran.append(n)
        return f"a{n}"

    clock = FakeClock()
    runner = Runner(
        client=scripted_client([Turn.call("read_a", {"n": 1}), Turn.text("done")]),
        model=Agent.model,
        tools=[as_tool(read_a)],
        authoriser=policy,
        clock=clock,
    )
    principal = Principal(user_id="u", roles=("viewer",))
    first = await runner.start("go", principal=principal)
    clock.advance(59)
    second = await runner.start("go", principal=principal)
    clock.advance(2)
    third = await runner.start("go", principal=principal)
    assert [r.steps[0].status for r in (first, second, third)] == ["ok", "denied", "ok"]
    assert second.steps[0].decision is not None
    assert second.steps[0].decision.rule == "tools.read_a.rate_limit.per_minute"
    assert ran == [1, 1]


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    grants=grants,
    roles=st.lists(st.sampled_from(ROLES), unique=True, max_size=2),
    turns=turns,
    approve_even=st.booleans(),
    batch=st.integers(1, 3),
    attack=st.sampled_from(["none", "tamper", "replay"]),
)
def test_paused_runs_resumed_by_fresh_agents_run_a_tool_only_when_allowed_or_approved(
    grants: dict[str, Any],
    roles: list[str],
    turns: list[list[tuple[str, int]]],
    approve_even: bool,
    batch: int,
    attack: str,
) -> None:
    """Decisions come a few at a time, each resume by a fresh agent from the stored JSON;
    between resumes an attacker edits the stored state or replays an old one."""
    import asyncio
    import json as json_module

    from agentkit.errors import ApprovalRefused, RunStateTampered
    from agentkit.pipeline.confirm import MemoryLedger

    script = [Turn.calls([(name, {"n": n}) for name, n in calls]) for calls in turns]
    ledger = MemoryLedger()
    agents: list[Sim] = []

    def fresh() -> Sim:
        agent = Sim(
            client=scripted_client([*script, Turn.text("done")]),
            policy=Policy.from_yaml(policy_yaml(grants)),
            principal=Principal(user_id="u", roles=tuple(roles)),
            config=RunConfig(max_tool_errors=100, max_tool_calls=100),
            approvals=ledger,
        )
        agents.append(agent)
        return agent

    approved: set[str] = set()
    result = asyncio.run(fresh().run("go"))
    event("paused" if result.status == "awaiting_approval" else "never paused")
    while result.status == "awaiting_approval":
        decided = result.pending[:batch]
        decisions = {p.approval_id: (p.arguments["n"] % 2 == 0) == approve_even for p in decided}
        approved |= {p.call_id for p in decided if decisions[p.approval_id]}
        stored = result.to_json()
        if attack == "tamper":
            state = json_module.loads(stored)
            state["pending"][0]["arguments"]["n"] += 1
            with pytest.raises(RunStateTampered):
                asyncio.run(fresh().resume(json_module.dumps(state), decisions))
        result = asyncio.run(fresh().resume(stored, decisions))
        if attack == "replay":
            with pytest.raises(ApprovalRefused, match=r"already used|records as used"):
                asyncio.run(fresh().resume(stored, decisions))

    ran = Counter(call for agent in agents for call in agent.ran)
    ok_calls: Counter[tuple[str, int]] = Counter()
    for step in result.steps:
        assert step.decision is not None
        assert step.arguments is not None
        if step.status == "ok":
            ok_calls[(step.tool, step.arguments["n"])] += 1
            assert step.decision.action == "allow" or step.call_id in approved
        if step.tool == "drop_c" and step.status == "ok":
            assert step.call_id in approved, "a destructive call runs only once approved"
    assert ran == ok_calls, "each body ran once, for exactly the calls reported ok"
