"""The router: a model per request from rules written as data, and a fallback chain on
429, 529 and context-length errors, each fallback recorded with its reason in the usage
(and so in the run's model.response record)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agentkit.audit import AuditLog, MemorySink
from agentkit.decision import AllowAll, Principal
from agentkit.errors import AuthenticationError, ConfigError, RateLimited
from agentkit.model.capabilities import CapabilityTable, ModelCapabilities
from agentkit.model.router import RoutedClient, Router, RouterSpec
from agentkit.model.types import ModelRequest
from agentkit.pipeline.authorise import RecentCalls
from agentkit.pipeline.runner import Runner
from agentkit.testing import FakeXAI, Fault, Script, Turn
from agentkit.testing.scripted_client import scripted_client

ROUTER = """
default: cheap
fallbacks: [backup]
rules:
  - {id: images, when: {images: true}, model: vision, fallbacks: []}
  - {id: long, when: {min_input_tokens: 2000}, model: long-context}
  - {id: analysis, when: {task: [analysis]}, model: thinker}
  - {id: gold, when: {tier: [gold]}, model: premium}
"""


def _router(tmp_path: Path) -> Router:
    path = tmp_path / "router.yaml"
    path.write_text(ROUTER)
    return Router.from_yaml(path)


def _request(text: str = "hi", **metadata: str) -> ModelRequest:
    return ModelRequest(model="ignored", input=[{"role": "user", "content": text}],
                        metadata=metadata or None)  # fmt: skip


@pytest.mark.parametrize(("request_", "model", "rule"), [
    (_request(), "cheap", "default"),
    (_request("x" * 20_000), "long-context", "long"),
    (_request(task="analysis"), "thinker", "analysis"),
    (_request(tier="gold"), "premium", "gold"),
    (ModelRequest(model="m", input=[{"role": "user", "content": [
        {"type": "input_text", "text": "what is this?"},
        {"type": "input_image", "image_url": "data:image/png;base64,AAAA"}]}]), "vision", "images"),
])  # fmt: skip
def test_the_first_rule_that_holds_picks_the_model(
    tmp_path: Path, request_: ModelRequest, model: str, rule: str
) -> None:
    route = _router(tmp_path).choose(request_)
    assert (route.models[0], route.rule) == (model, rule)
    if rule == "images":
        assert route.models == ("vision",)  # its own (empty) fallbacks
    else:
        assert route.models[-1] == "backup"


@pytest.mark.parametrize(("fault", "failure"), [
    (Fault.http(429, retry_after=0), {"reason": "rate_limited", "error": "RateLimited",
                                      "status": 429}),
    (Fault.overloaded(retry_after=0), {"reason": "overloaded", "error": "Overloaded",
                                       "status": 529}),
    (Fault.http(503), {"reason": "server_error", "error": "ServerError", "status": 503}),
    (Fault.http(400, message="This model's maximum context length is 131072 tokens"),
     {"reason": "context_length", "error": "BadRequest", "status": 400}),
])  # fmt: skip
async def test_a_failed_model_falls_back_and_the_reason_is_recorded(
    tmp_path: Path, fault: Fault, failure: dict[str, object]
) -> None:
    from agentkit.model.retry import RetryPolicy

    fake = FakeXAI(Script([Turn.text("done")]))
    fake.inject(fault, times=1)
    spec = RouterSpec(default="cheap", fallbacks=["backup"])
    client = RoutedClient(scripted_client(fake, retry=RetryPolicy(max_attempts=1)), Router(spec))
    sink = MemorySink()
    runner = Runner(rate_window=RecentCalls(), client=client, model="cheap", tools=[],
                    authoriser=AllowAll(), audit=AuditLog(sink))  # fmt: skip
    run = await runner.start("hello", principal=Principal(user_id="ana"))
    assert run.output == "done"
    assert [r.json["model"] for r in fake.requests] == ["cheap", "backup"]
    route = run.usage[-1]["route"]
    assert route["rule"] == "default"
    assert route["model"] == "backup"
    assert route["failed"] == [{"model": "cheap", **failure}]
    assert route["counted_by"] == "estimate"
    assert route["input_tokens"] > 0
    responded = [json.loads(line)["fields"] for line in sink.lines if '"model.response"' in line]
    assert responded[-1]["usage"]["route"] == route


async def test_errors_that_another_model_cannot_fix_do_not_fall_back() -> None:
    from agentkit.model.retry import RetryPolicy

    fake = FakeXAI(Script([Turn.text("done")]))
    fake.inject(Fault.http(401))
    client = RoutedClient(scripted_client(fake, retry=RetryPolicy(max_attempts=1)),
                          Router(RouterSpec(default="cheap", fallbacks=["backup"])))  # fmt: skip
    with pytest.raises(AuthenticationError):
        await client.respond(_request())
    assert fake.count() == 1


async def test_the_last_model_s_error_is_raised_when_every_model_failed() -> None:
    from agentkit.model.retry import RetryPolicy

    fake = FakeXAI(Script([Turn.text("done")]))
    fake.inject(Fault.http(429, retry_after=0), times=2)
    client = RoutedClient(scripted_client(fake, retry=RetryPolicy(max_attempts=1)),
                          Router(RouterSpec(default="cheap", fallbacks=["backup"])))  # fmt: skip
    with pytest.raises(RateLimited):
        await client.respond(_request())
    assert [r.json["model"] for r in fake.requests] == ["cheap", "backup"]


def test_a_rule_sending_images_to_a_text_only_model_does_not_load() -> None:
    caps = CapabilityTable.default().with_entries({"text-only": ModelCapabilities(
        input_images=False)})  # fmt: skip
    spec = RouterSpec.model_validate({"default": "cheap", "rules": [
        {"id": "pics", "when": {"images": True}, "model": "text-only"}]})  # fmt: skip
    with pytest.raises(ConfigError, match="takes text only"):
        Router(spec, caps)


async def test_an_answer_that_fails_its_output_type_is_asked_again_of_a_stronger_model() -> None:
    from pydantic import BaseModel

    class Verdict(BaseModel):
        ok: bool

    fake = FakeXAI(Script([Turn.text("not json at all"), Turn.text('{"ok": true}')]))
    spec = RouterSpec.model_validate({"default": "cheap", "rules": [
        {"id": "escalate", "when": {"purpose": ["correction"]}, "model": "thinker"}]})  # fmt: skip
    client = RoutedClient(scripted_client(fake), Router(spec))
    runner = Runner(rate_window=RecentCalls(), client=client, model="cheap", tools=[],
                    authoriser=AllowAll(), output_type=Verdict)  # fmt: skip
    run = await runner.start("is it ok?", principal=Principal(user_id="ana"))
    assert run.structured == {"ok": True}
    assert [r.json["model"] for r in fake.requests] == ["cheap", "thinker"]
    assert "purpose" not in fake.requests[-1].json  # the router's business, not the API's
    assert run.usage[-1]["route"]["rule"] == "escalate"


@pytest.mark.parametrize(("config", "principal", "model"), [
    ({}, Principal(user_id="ana"), "cheap"),
    ({"task": "analysis"}, Principal(user_id="ana"), "thinker"),
    ({}, Principal(user_id="ana", tier="gold"), "premium"),
    ({"latency_budget_ms": 800}, Principal(user_id="ana", tier="gold"), "quick"),
    ({"latency_budget_ms": 5000}, Principal(user_id="ana", tier="gold"), "premium"),
])  # fmt: skip
async def test_a_run_s_task_tier_and_latency_budget_reach_the_router_and_not_the_api(
    tmp_path: Path, config: dict[str, object], principal: Principal, model: str
) -> None:
    from agentkit.pipeline.run_config import RunConfig

    path = tmp_path / "router.yaml"
    path.write_text(ROUTER.replace(
        "rules:\n", "rules:\n  - {id: hurry, when: {max_latency_budget_ms: 1000}, model: quick}\n"
    ))  # fmt: skip
    fake = FakeXAI(Script([Turn.text("done")]))
    runner = Runner(rate_window=RecentCalls(), client=RoutedClient(scripted_client(fake),
                    Router.from_yaml(path)), model="cheap", tools=[], authoriser=AllowAll(),
                    config=RunConfig(**config))  # type: ignore[arg-type]  # fmt: skip
    await runner.start("hello", principal=principal)
    body = fake.requests[0].json
    assert body["model"] == model
    assert not {"task", "tier", "latency_budget_ms", "purpose"} & set(body)
    assert "metadata" not in body
