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

from agentkit.errors import (
    BadRequest,
    ConfigError,
    ModelError,
    Overloaded,
    QuotaExhausted,
    RateLimited,
    ServerError,
)
from agentkit.model.capabilities import CapabilityTable
from agentkit.model.request_queue import estimate_input_tokens
from agentkit.model.token_count import TokenCounter
from agentkit.model.types import ModelClient, ModelRequest, ModelResponse

NEAR_A_BOUND = 0.25
"""How near (a fraction of the bound) an estimate must be to a rule's token bound for the
router to ask the tokenizer."""
_CONTEXT_WORDS = ("context length", "context window", "maximum context", "too many tokens",
                  "prompt is too long")  # fmt: skip


class RouteWhen(BaseModel):
    """Conditions of a rule; each one set must hold."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    task: list[str] | None = None
    """The run's task type (`RunConfig.task`; else the request's ``metadata.task``), one
    of these."""
    min_input_tokens: int | None = Field(default=None, ge=0)
    max_input_tokens: int | None = Field(default=None, ge=0)
    images: bool | None = None
    """The request carries images (true) or does not (false)."""
    tier: list[str] | None = None
    """The principal's tier (`Principal.tier`; else ``metadata.tier``), one of these."""
    max_latency_budget_ms: int | None = Field(default=None, ge=0)
    """The request's latency budget (`RunConfig.latency_budget_ms`) is set and at most
    this: a caller who cannot wait gets a fast model."""
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
    input_tokens: int = 0
    """The input size the rules saw."""
    counted_by: str = "estimate"
    """``estimate`` (about four characters a token) or ``tokenizer`` (``/v1/tokenize-text``)."""


class Router:
    """Chooses a model per request (`choose`); `RoutedClient` sends through it."""

    def __init__(
        self,
        spec: RouterSpec,
        capabilities: CapabilityTable | None = None,
        *,
        counter: TokenCounter | None = None,
        near: float = NEAR_A_BOUND,
    ) -> None:
        """``counter`` (a `TokenizeCounter`) counts a request's tokens exactly when its
        estimate is within ``near`` (a fraction) of a rule's token bound."""
        self.spec = spec
        self.counter = counter
        self.near = near
        self._bounds = sorted(
            bound
            for rule in spec.rules
            for bound in (rule.when.min_input_tokens, rule.when.max_input_tokens)
            if bound is not None
        )
        caps = capabilities or CapabilityTable.default()
        for rule in spec.rules:
            if rule.when.images and caps.lookup(rule.model).input_images is False:
                raise ConfigError(
                    f"router rule {rule.id!r} sends images to {rule.model}, which the "
                    "capabilities table says takes text only"
                )

    @classmethod
    def from_yaml(
        cls,
        path: str | Path,
        capabilities: CapabilityTable | None = None,
        *,
        counter: TokenCounter | None = None,
    ) -> Router:
        try:
            data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
            return cls(RouterSpec.model_validate(data), capabilities, counter=counter)
        except (OSError, yaml.YAMLError, ValueError) as exc:
            raise ConfigError(f"{path}: not a router: {exc}") from exc

    def choose(
        self, request: ModelRequest, tokens: int | None = None, counted_by: str = "tokenizer"
    ) -> Route:
        """The route of ``request``, its input size ``tokens`` (counted as ``counted_by``
        says) or else estimated."""
        if tokens is None:
            tokens, counted_by = estimate_input_tokens(request), "estimate"
        facts = _facts(request, tokens)
        for rule in self.spec.rules:
            if _holds(rule.when, facts):
                fallbacks = self.spec.fallbacks if rule.fallbacks is None else rule.fallbacks
                return Route(_unique(rule.model, fallbacks), rule.id, facts["tokens"], counted_by)
        models = _unique(self.spec.default, self.spec.fallbacks)
        return Route(models, "default", facts["tokens"], counted_by)

    async def route(self, request: ModelRequest) -> Route:
        """`choose`, with the input counted by the tokenizer when the estimate is near a
        token bound of a rule and a counter is set (its failure: the estimate decides)."""
        estimate = estimate_input_tokens(request)
        if self.counter is None or not self._near_a_bound(estimate):
            return self.choose(request, estimate, "estimate")
        try:
            tokens = await self.counter.count(request)
        except ModelError:
            return self.choose(request, estimate, "estimate")
        return self.choose(request, tokens)

    def _near_a_bound(self, estimate: int) -> bool:
        return any(abs(estimate - bound) <= self.near * max(bound, 1) for bound in self._bounds)


def _unique(first: str, rest: Sequence[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys([first, *rest]))


def _facts(request: ModelRequest, tokens: int) -> dict[str, Any]:
    metadata = request.metadata or {}
    images = any(
        isinstance(part, dict) and part.get("type") == "input_image"
        for item in request.input
        for part in _parts(item)
    )
    return {"task": request.task or metadata.get("task"),
            "tier": request.tier or metadata.get("tier"), "images": images, "tokens": tokens,
            "purpose": request.purpose, "latency": request.latency_budget_ms}  # fmt: skip


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
        when.max_latency_budget_ms is None
        or (facts["latency"] is not None and facts["latency"] <= when.max_latency_budget_ms),
    )
    return all(checks)


def fallback_reason(exc: ModelError) -> str | None:
    """Why another model may answer where this one failed (``rate_limited``: a 429 that is
    not an exhausted quota; ``overloaded``: 529; ``server_error``: another 5xx;
    ``context_length``: the request is too long for the model), or None: it may not."""
    if isinstance(exc, RateLimited):
        return None if isinstance(exc, QuotaExhausted) else "rate_limited"
    if isinstance(exc, Overloaded):
        return "overloaded"
    if isinstance(exc, ServerError):
        return "server_error"
    if isinstance(exc, BadRequest) and any(w in str(exc).lower() for w in _CONTEXT_WORDS):
        return "context_length"
    return None


class RoutedClient:
    """A `ModelClient` that sends each request to the model its router chooses, falling
    back along the chain; the answer's usage names the route (``usage.route``)."""

    def __init__(self, client: ModelClient, router: Router) -> None:
        self.client = client
        self.router = router

    async def respond(self, request: ModelRequest) -> ModelResponse:
        route = await self.router.route(request)
        failed: list[dict[str, str]] = []
        for model in route.models:
            try:
                response = await self.client.respond(dataclasses.replace(request, model=model))
            except ModelError as exc:
                reason = fallback_reason(exc)
                if reason is None or model == route.models[-1]:
                    raise
                status = getattr(exc, "status_code", None)
                failed.append({"model": model, "reason": reason, "error": type(exc).__name__,
                               **({"status": status} if status is not None else {})})  # fmt: skip
                continue
            response.usage.route = {"rule": route.rule, "model": model, "failed": failed,
                                    "input_tokens": route.input_tokens,
                                    "counted_by": route.counted_by}  # fmt: skip
            return response
        raise AssertionError("a route has at least one model")  # pragma: no cover

    async def aclose(self) -> None:
        await self.client.aclose()

    def __getattr__(self, name: str) -> Any:  # the wrapped client's other methods
        return getattr(self.client, name)
