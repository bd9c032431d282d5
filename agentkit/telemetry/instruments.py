"""The measurements agentkit reports: the GenAI conventions' token usage and operation
duration histograms, and its own decisions, approvals and sandbox executions."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from opentelemetry import metrics

from agentkit.telemetry.settings import PROVIDER, TelemetrySettings

# the conventions' advised bucket boundaries
_TOKEN_BUCKETS = (1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304,
                  16777216, 67108864)  # fmt: skip
_SECONDS_BUCKETS = (0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48,
                    40.96, 81.92)  # fmt: skip


@dataclass(frozen=True)
class Instruments:
    """One meter's instruments."""

    token_usage: metrics.Histogram
    operation_duration: metrics.Histogram
    decisions: metrics.Counter
    approvals_pending: metrics.UpDownCounter
    sandbox_executions: metrics.Counter

    def model_answered(
        self, *, request_model: str, response_model: str, input_tokens: int,
        output_tokens: int, seconds: float, error: str | None = None,
    ) -> None:  # fmt: skip
        """One chat request: its tokens by type and its duration."""
        base: dict[str, Any] = {"gen_ai.operation.name": "chat",
                                "gen_ai.provider.name": PROVIDER,
                                "gen_ai.request.model": request_model}  # fmt: skip
        if response_model:
            base["gen_ai.response.model"] = response_model
        if error is not None:
            base["error.type"] = error
        else:
            self.token_usage.record(input_tokens, {**base, "gen_ai.token.type": "input"})
            self.token_usage.record(output_tokens, {**base, "gen_ai.token.type": "output"})
        self.operation_duration.record(seconds, base)

    def decided(self, tool: str, action: str, rule: str) -> None:
        """One decision of the policy on a call."""
        self.decisions.add(1, {"gen_ai.tool.name": tool, "agentkit.decision.action": action,
                               "agentkit.decision.rule": rule})  # fmt: skip


_BY_METER: dict[int, tuple[Any, Instruments]] = {}
_LOCK = threading.Lock()


def instruments_for(settings: TelemetrySettings) -> Instruments:
    """The instruments of ``settings``' meter provider, created once per provider."""
    key = id(settings.meter_provider)
    with _LOCK:
        found = _BY_METER.get(key)
        if found is not None and found[0] is settings.meter_provider:
            return found[1]
        meter = settings.meter()
        made = Instruments(
            token_usage=meter.create_histogram(
                "gen_ai.client.token.usage", unit="{token}",
                description="Number of input and output tokens used.",
                explicit_bucket_boundaries_advisory=_TOKEN_BUCKETS,
            ),
            operation_duration=meter.create_histogram(
                "gen_ai.client.operation.duration", unit="s",
                description="GenAI operation duration.",
                explicit_bucket_boundaries_advisory=_SECONDS_BUCKETS,
            ),
            decisions=meter.create_counter(
                "agentkit.policy.decisions", unit="{decision}",
                description="The policy's decisions on tool calls, by action and rule.",
            ),
            approvals_pending=meter.create_up_down_counter(
                "agentkit.approvals.pending", unit="{approval}",
                description="Approvals asked for and not yet decided.",
            ),
            sandbox_executions=meter.create_counter(
                "agentkit.sandbox.executions", unit="{execution}",
                description="Programs run in the sandbox, by outcome.",
            ),
        )  # fmt: skip
        _BY_METER[key] = (settings.meter_provider, made)
        return made
