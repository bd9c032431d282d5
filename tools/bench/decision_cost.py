"""The cost of one decision as a run grows: `decide()` after 10, 100 and 1,000 earlier calls.

The policy checks a transfer's IBAN for provenance (the user's messages, the outputs of a
trusted account lookup, and whole IBAN fields of the transaction list), and the IBAN sent
comes from none of them, so every earlier output is a candidate source and none vouches:
the worst case for a policy that reads outputs. Earlier calls alternate between the trusted
lookup and an untrusted inbox, each output about 1.7 KB of JSON. The history is the one
the runner hands the policy (`history_for` over the run's steps): `decide()` is timed alone,
and with `history_for` (what the runner does per decision). The figure to read is the
ratio: time per decision at 1,000 earlier calls over the time at 10.

    python -m tools.bench.decision_cost [--sizes 10 100 1000] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

POLICY = """
version: 1
tools:
  lookup_account: {action: allow}
  read_inbox: {action: allow, untrusted_output: true}
  list_transactions: {action: allow}
  transfer:
    action: allow
    args:
      to_iban:
        normalise: iban
        provenance:
          user: true
          tools: [lookup_account]
          fields: {list_transactions: "[].iban"}
"""
PROMPT = "Pay the rent of 900 EUR to my landlord, as every month."
ABSENT_IBAN = "GB33 BUKB 2020 1555 5555 55"
SIZES = (10, 100, 1000)


def _output(index: int) -> Any:
    """About 1.7 KB of JSON: five transactions, each with an IBAN and a subject."""
    return [
        {
            "id": index * 10 + k,
            "date": f"2024-{1 + k:02d}-{1 + index % 28:02d}",
            "amount": 100 + index + k,
            "iban": f"DE89 3704 0044 0532 {index:04d} {k:02d}",
            "subject": f"Invoice {index}-{k}: thank you for your order, ref {index * 7 + k}. "
            "Questions? Write to billing@shop.example or call +49 30 1234567. "
            "Kind regards, the accounts team of the shop in Berlin",
            "sender": f"Shop {index % 17} <orders{k}@shop.example>",
            "status": "booked",
        }
        for k in range(5)
    ]


def _run(size: int) -> Any:
    """A run state with `size` executed calls, the way the runner records them."""
    from agentkit.decision import Decision, Principal
    from agentkit.state import RunResult, Step
    from agentkit.tool import render_output

    run = RunResult(
        run_id=f"bench-{size}",
        agent="bench",
        model="m",
        principal=Principal(user_id="bench"),
        user_messages=[PROMPT],
    )
    allowed = Decision(action="allow", reason="allowed", rule="tools.x")
    names = ("lookup_account", "read_inbox", "list_transactions")
    for index in range(size):
        tool = names[index % len(names)]
        value = _output(index)
        step = Step(
            call_id=f"c{index}",
            tool=tool,
            turn=1 + index,
            raw_arguments="{}",
            arguments={},
            status="ok",
            decision=allowed,
            output=render_output(value),
            untrusted=tool == "read_inbox",
        )
        if "data" in Step.model_fields:  # the structure beside the text, where kept
            step.data = json.loads(render_output(value))
        run.steps.append(step)
    return run


def _tools() -> dict[str, Any]:
    from agentkit.tool import Tool

    def body() -> str:
        return ""

    tools = {name: Tool(body, name=name) for name in ("lookup_account", "list_transactions")}
    tools["read_inbox"] = Tool(body, name="read_inbox", untrusted_output=True)
    return tools


def per_decision_ms(size: int, budget_s: float = 0.4) -> dict[str, float]:
    """Milliseconds per decision with `size` earlier calls, the best of several batches:
    `decide()` alone, and with the history the runner builds for it (`history_for`)."""
    from agentkit.decision import Principal, ProposedCall, ToolInfo
    from agentkit.pipeline.authorise import RecentCalls, history_for
    from agentkit.policy import Policy

    policy = Policy.from_yaml(POLICY if _has_fields() else _without_fields(POLICY))
    run, tools, recent = _run(size), _tools(), RecentCalls()
    history = history_for(run, tools, now=0.0, recent=recent)
    call = ProposedCall(
        call_id="new",
        tool=ToolInfo(name="transfer", side_effect="financial"),
        arguments={"to_iban": ABSENT_IBAN},
    )
    principal = Principal(user_id="bench")
    first = policy.decide(principal, call, history)  # what an output adds, indexed once
    assert first.action == "deny", first

    def decide() -> None:
        policy.decide(principal, call, history)

    def with_history() -> None:
        policy.decide(principal, call, history_for(run, tools, now=0.0, recent=recent))

    return {
        "decide_ms": _best_ms(decide, budget_s),
        "with_history_ms": _best_ms(with_history, budget_s),
    }


def _best_ms(work: Any, budget_s: float) -> float:
    best = float("inf")
    deadline = time.perf_counter() + budget_s
    while True:
        repeats = 0
        started = time.perf_counter()
        while repeats < 5 or time.perf_counter() - started < 0.02:
            work()
            repeats += 1
        best = min(best, (time.perf_counter() - started) * 1000 / repeats)
        if time.perf_counter() > deadline:
            return best


def _has_fields() -> bool:
    from agentkit.policy.spec import Provenance

    return "fields" in Provenance.model_fields


def _without_fields(policy: str) -> str:
    """The policy as a version without structured provenance can load it."""
    return "\n".join(line for line in policy.splitlines() if "fields:" not in line)


def measure_all(sizes: tuple[int, ...] = SIZES, budget_s: float = 0.4) -> dict[str, Any]:
    """Milliseconds per decision at each size, and the ratio of the largest to the smallest."""
    per_decision_ms(sizes[0], budget_s / 2)  # warm up: the first sizes measured ran slower
    results = {str(size): per_decision_ms(size, budget_s) for size in sizes}
    largest, smallest = results[str(sizes[-1])], results[str(sizes[0])]
    return {
        "sizes": list(sizes),
        "ms_per_decision": results,
        "ratio": largest["decide_ms"] / smallest["decide_ms"],
        "ratio_with_history": largest["with_history_ms"] / smallest["with_history_ms"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()
    result = measure_all(tuple(args.sizes))
    print("earlier calls   decide() ms   with the runner's history ms")
    for size, ms in result["ms_per_decision"].items():
        print(f"{size:>13}   {ms['decide_ms']:11.3f}   {ms['with_history_ms']:12.3f}")
    print(
        f"ratio {args.sizes[-1]}/{args.sizes[0]}: {result['ratio']:.2f} "
        f"({result['ratio_with_history']:.2f} with the history)"
    )
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(result, handle, indent=1)


if __name__ == "__main__":
    main()
