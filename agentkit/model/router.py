"""A model per request, chosen by rules written as data, with a fallback chain.

```yaml
# router.yaml, beside the policy
default: grok-4-1-fast-non-reasoning
fallbacks: [grok-4-fast-non-reasoning]
rules:
  - {id: escalate, when: {purpose: [correction]}, model: grok-4-1-fast-reasoning}
  - {id: images, when: {images: true}, model: grok-4, fallbacks: []}
  - {id: long, when: {min_input_tokens: 60000}, model: grok-4-1-fast-reasoning}
  - {id: reasoning-task, when: {task: [analysis, planning]}, model: grok-4}
  - {id: gold-tier, when: {tier: [gold]}, model: grok-4}
```

The first rule whose every condition holds picks the model; none: the default. The
request goes to that model, then, on a 429, a 5xx, a 529 or a context-length error, to
each fallback in turn. The usage record of the answer says which rule chose the model
and which models failed before it (``route``), so the choice is in the run's usage, its
``model.response`` events and the audit log.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field

from agentkit.errors import BadRequest, ConfigError, ModelError, RateLimited, ServerError
from agentkit.model.capabilities import CapabilityTable
from agentkit.model.request_queue import estimate_request_tokens
from agentkit.model.types import ModelClient, ModelRequest, ModelResponse

_CONTEXT_WORDS = ("context length", "context window", "maximum context", "too many tokens",
                  "prompt is too long")  # fmt: skip


class RouteWhen(BaseModel):
    """Conditions of a rule; each one set must hold."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    task: list[str] | None = None
    """The request's task type (``metadata.task``, set by the agent), one of these."""
    min_input_tokens: int | None = Field(default=None, ge=0)
    max_input_tokens: int | None = Field(default=None, ge=0)
    images: bool | None = None
    """The request carries images (true) or does not (false)."""
    tier: list[str] | None = None
    """The principal's tier (``metadata.tier``), one of these."""
    purpose: list[str] | None = None
    """Why the runner asks (``correction``: the last answer failed its output type), one
    of these: escalation to a stronger model, written as a rule."""


class RouteRule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    when: RouteWhen = Field(default_factory=RouteWhen)
    model: str
    fallbacks: list[str] | None = None
    """None: the router's own fallbacks."""


class RouterSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    default: str
    fallbacks: list[str] = Field(default_factory=list)
    rules: list[RouteRule] = Field(default_factory=list)


@dataclasses.dataclass(frozen=True)
class Route:
    """What the router chose for one request, and why."""

    models: tuple[str, ...]
    """The chosen model first, then its fallbacks."""
    rule: str
    """The rule's id, or ``default``."""


class Router:
    """Chooses a model per request (`choose`); `RoutedClient` sends through it."""

    def __init__(self, spec: RouterSpec, capabilities: CapabilityTable | None = None) -> None:
        self.spec = spec
        caps = capabilities or CapabilityTable.default()
        for rule in spec.rules:
            if rule.when.images and caps.lookup(rule.model).input_images is False:
                raise ConfigError(
                    f"router rule {rule.id!r} sends images to {rule.model}, which the "
                    "capabilities table says takes text only"
                )

    @classmethod
    def from_yaml(cls, path: str | Path, capabilities: CapabilityTable | None = None) -> Router:
        try:
            data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
            return cls(RouterSpec.model_validate(data), capabilities)
        except (OSError, yaml.YAMLError, ValueError) as exc:
            raise ConfigError(f"{path}: not a router: {exc}") from exc

    def choose(self, request: ModelRequest) -> Route:
        facts = _facts(request)
        for rule in self.spec.rules:
            if _holds(rule.when, facts):
                fallbacks = self.spec.fallbacks if rule.fallbacks is None else rule.fallbacks
                return Route(_unique(rule.model, fallbacks), rule.id)
        return Route(_unique(self.spec.default, self.spec.fallbacks), "default")


def _unique(first: str, rest: Sequence[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys([first, *rest]))


def _facts(request: ModelRequest) -> dict[str, Any]:
    metadata = request.metadata or {}
    images = any(
        isinstance(part, dict) and part.get("type") == "input_image"
        for item in request.input
        for part in _parts(item)
    )
    return {"task": metadata.get("task"), "tier": metadata.get("tier"), "images": images,
            "tokens": estimate_request_tokens(request), "purpose": request.purpose}  # fmt: skip


def _parts(item: Any) -> list[Any]:
    content = item.get("content") if isinstance(item, dict) else None
    return content if isinstance(content, list) else []


def _holds(when: RouteWhen, facts: dict[str, Any]) -> bool:
    checks = (
        when.task is None or facts["task"] in when.task,
        when.tier is None or facts["tier"] in when.tier,
        when.purpose is None or facts["purpose"] in when.purpose,
        when.images is None or facts["images"] == when.images,
        when.min_input_tokens is None or facts["tokens"] >= when.min_input_tokens,
        when.max_input_tokens is None or facts["tokens"] <= when.max_input_tokens,
    )
    return all(checks)


def falls_back(exc: ModelError) -> bool:
    """Whether another model may answer where this one failed: a 429 (not an exhausted
    quota), a 5xx or 529, or a request too long for the model's context."""
    from agentkit.errors import QuotaExhausted

    if isinstance(exc, RateLimited):
        return not isinstance(exc, QuotaExhausted)
    if isinstance(exc, ServerError):
        return True
    return isinstance(exc, BadRequest) and any(w in str(exc).lower() for w in _CONTEXT_WORDS)


class RoutedClient:
    """A `ModelClient` that sends each request to the model its router chooses, falling
    back along the chain; the answer's usage names the route (``usage.route``)."""

    def __init__(self, client: ModelClient, router: Router) -> None:
        self.client = client
        self.router = router

    async def respond(self, request: ModelRequest) -> ModelResponse:
        route = self.router.choose(request)
        failed: list[dict[str, str]] = []
        for model in route.models:
            try:
                response = await self.client.respond(dataclasses.replace(request, model=model))
            except ModelError as exc:
                if not falls_back(exc) or model == route.models[-1]:
                    raise
                failed.append({"model": model, "error": type(exc).__name__})
                continue
            response.usage.route = {"rule": route.rule, "model": model, "failed": failed}
            return response
        raise AssertionError("a route has at least one model")  # pragma: no cover

    async def aclose(self) -> None:
        await self.client.aclose()

    def __getattr__(self, name: str) -> Any:  # the wrapped client's other methods
        return getattr(self.client, name)
