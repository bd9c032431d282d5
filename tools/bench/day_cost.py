"""What the simulated day costs with and without the router and the caches.

The same 10,000 requests as the simulated day, built as the runner builds them: 50 users
hold conversations of one to six model requests (an append-only history after one stable
system prompt and tool list), each request but a conversation's last calling a read tool
(`lookup_customer`, a paid data API at $0.002 a call) for one of the user's customers;
a quarter of the conversations are analysis tasks, and 3% of answers fail their output
type and are asked again (purpose ``correction``). Every request is priced with
agentkit's price table; reasoning models also spend reasoning tokens.

Four ways of running the day:

* fixed model: every request to ``grok-4``, no cache named;
* fixed + caches: the same, each conversation naming its prompt cache (the run id) and
  the lookup results kept per user for five minutes (`ResultCache`, `cache_key`);
* router: `Router` with the rules below, no cache named;
* router + caches: both.

The parts are agentkit's own: `Router.choose` on each request, the fake server's
`PromptCache` on the request body (the prefix shared with the conversation's previous
request is cached), `ResultCache` keyed by `cache_key`, `PriceTable.default()`.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass
from typing import Any

from agentkit.decision import Principal
from agentkit.model.pricing import PriceTable
from agentkit.model.router import Router, RouterSpec
from agentkit.model.types import ModelRequest
from agentkit.pipeline.execute import ToolOutcome
from agentkit.pipeline.result_cache import ResultCache, cache_key
from agentkit.testing.fake_usage import count_tokens, is_reasoning_model
from agentkit.testing.prompt_cache import PromptCache, prompt_parts

FIXED_MODEL = "grok-4"
ROUTER = {
    "default": "grok-4-1-fast-non-reasoning",
    "fallbacks": ["grok-4-fast-non-reasoning"],
    "rules": [
        {"id": "escalate", "when": {"purpose": ["correction"]}, "model": "grok-4-1-fast-reasoning"},
        {"id": "analysis", "when": {"task": ["analysis"]}, "model": "grok-4"},
        {"id": "long", "when": {"min_input_tokens": 20_000}, "model": "grok-4-1-fast-reasoning"},
    ],
}
LOOKUP_USD = 0.002
LOOKUP_TTL_S = 300.0
DAY_S = 8 * 3600.0
CUSTOMERS_PER_USER = 12
INSTRUCTIONS = (
    "You are the operations copilot. Answer from the tools' results only; cite the "
    "customer record you used; never change a record without asking. "
) * 40
TOOLS = [
    {
        "type": "function",
        "name": "lookup_customer",
        "description": "A customer's record by id.",
        "parameters": {
            "type": "object",
            "properties": {"customer_id": {"type": "string"}},
            "required": ["customer_id"],
            "additionalProperties": False,
        },
        "strict": True,
    }
]


@dataclass(frozen=True, slots=True)
class Request:
    """One request of the day: what the runner would send, and what came back."""

    user: int
    conversation: str
    at: float
    request: ModelRequest
    output_tokens: int
    lookup: str | None
    """The customer the answer asks to look up, if it calls the tool."""


def _text(rng: random.Random, tokens: int) -> str:
    words = ("order", "refund", "late", "invoice", "shipment", "account", "address", "plan")
    return " ".join(rng.choice(words) for _ in range(tokens * 4 // 6))


def day_requests(count: int, seed: int) -> list[Request]:
    """The day's requests, in the order they are sent."""
    rng = random.Random(seed)
    requests: list[Request] = []
    number = 0
    while len(requests) < count:
        user = number % 50
        number += 1
        conversation = f"run-{number}"
        task = "analysis" if rng.random() < 0.25 else "lookup"
        turns = rng.randint(1, 6)
        history: list[Any] = [{"role": "user", "content": _text(rng, rng.randint(30, 400))}]
        for turn in range(turns + (1 if rng.random() < 0.03 else 0)):
            at = DAY_S * len(requests) / count
            last = turn >= turns - 1
            customer = None if last else f"c{min(int(rng.paretovariate(1.2)), 12)}"
            request = ModelRequest(
                model=FIXED_MODEL, input=list(history), instructions=INSTRUCTIONS, tools=TOOLS,
                metadata={"task": task}, purpose="correction" if turn >= turns else None,
            )  # fmt: skip
            output = rng.randint(40, 400)
            requests.append(Request(user, conversation, at, request, output, customer))
            if len(requests) == count:
                break
            if customer is not None:
                call_id = f"call_{number}_{turn}"
                arguments = f'{{"customer_id":"u{user}-{customer}"}}'
                history.append({"type": "function_call", "call_id": call_id,
                                "name": "lookup_customer", "arguments": arguments})  # fmt: skip
                record = _text(rng, rng.randint(150, 1500))
                history.append({"type": "function_call_output", "call_id": call_id,
                                "output": record})  # fmt: skip
            else:
                history.append({"role": "assistant", "content": _text(rng, output)})
                history.append({"role": "user", "content": _text(rng, rng.randint(20, 200))})
    return requests


def _price_day(requests: list[Request], *, routed: bool, cached: bool, seed: int) -> dict[str, Any]:
    prices = PriceTable.default()
    router = Router(RouterSpec.model_validate(ROUTER))
    prompts = PromptCache()
    now = [0.0]
    results = ResultCache(clock=lambda: now[0])
    rng = random.Random(seed)
    cost = tool_cost = 0.0
    input_total = cached_total = lookups = hits = 0
    models: Counter[str] = Counter()
    for item in requests:
        now[0] = item.at
        model = router.choose(item.request).models[0] if routed else FIXED_MODEL
        models[model] += 1
        body: dict[str, Any] = {"model": model, "instructions": INSTRUCTIONS,
                                "input": item.request.input, "tools": TOOLS}  # fmt: skip
        if cached:
            body["prompt_cache_key"] = item.conversation
        input_tokens = sum(count_tokens(part) for part in prompt_parts(body, "responses"))
        cached_tokens = prompts.cached_tokens(body, {}, "responses", input_tokens)
        output = item.output_tokens
        if is_reasoning_model(model):
            output += rng.randint(200, 1500)
        priced = prices.token_cost(model, input_tokens=input_tokens, cached_tokens=cached_tokens,
                                   output_tokens=output)  # fmt: skip
        cost += priced or 0.0
        input_total += input_tokens
        cached_total += cached_tokens
        if item.lookup is not None:
            lookups += 1
            principal = Principal(user_id=f"user-{item.user}")
            key = cache_key(principal, "lookup_customer", {"customer_id": item.lookup}, False)
            if cached and results.get(key) is not None:
                hits += 1
                continue
            tool_cost += LOOKUP_USD
            if cached:
                results.put(key, ToolOutcome("ok", "record", untrusted=True), LOOKUP_TTL_S)
    return {
        "cost_usd": round(cost + tool_cost, 2),
        "model_cost_usd": round(cost, 2),
        "tool_cost_usd": round(tool_cost, 2),
        "prompt_cache_hit_rate": round(cached_total / input_total, 3) if input_total else 0.0,
        "tool_cache_hit_rate": round(hits / lookups, 3) if lookups else 0.0,
        "models": dict(models.most_common()),
    }


def measure(count: int, seed: int = 21) -> dict[str, Any]:
    """The day's cost each of the four ways."""
    requests = day_requests(count, seed)
    ways = {
        "fixed model": (False, False),
        "fixed + caches": (False, True),
        "router": (True, False),
        "router + caches": (True, True),
    }
    rows = {
        name: _price_day(requests, routed=r, cached=c, seed=seed) for name, (r, c) in ways.items()
    }
    base = rows["fixed model"]["cost_usd"]
    for row in rows.values():
        row["vs_fixed"] = round(row["cost_usd"] / base, 3) if base else 0.0
    return {"requests": count, "conversations": len({r.conversation for r in requests}),
            "ways": rows}  # fmt: skip


def section(data: dict[str, Any]) -> list[str]:
    """Markdown lines of `measure`'s result."""
    lines = [
        f"Cost of the same {data['requests']:,} requests ({data['conversations']:,} "
        "conversations) four ways, priced with agentkit's price table: every request to "
        f"`{FIXED_MODEL}`, or routed (analysis to `grok-4`, corrections to a reasoning "
        "model, the rest to `grok-4-1-fast-non-reasoning`); with caches, each conversation "
        "names its prompt cache and lookups are kept per user for 5 minutes.",
        "",
        "| way | cost USD | vs fixed | model USD | lookups USD | prompt cache hit rate | "
        "tool cache hit rate | models |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for name, row in data["ways"].items():
        models = ", ".join(f"{m} {n:,}" for m, n in row["models"].items())
        lines.append(
            f"| {name} | {row['cost_usd']:,.2f} | {row['vs_fixed']:.3f}x | "
            f"{row['model_cost_usd']:,.2f} | {row['tool_cost_usd']:,.2f} | "
            f"{row['prompt_cache_hit_rate']:.1%} | {row['tool_cache_hit_rate']:.1%} | {models} |"
        )
    lines.append("")
    return lines
