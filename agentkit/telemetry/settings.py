"""`TelemetrySettings`: which tracer and meter a runner reports to, and what they may see."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from opentelemetry import metrics, trace

SCOPE = "agentkit"
PROVIDER = "x_ai"
"""``gen_ai.provider.name`` of xAI in the GenAI conventions."""


@dataclass(frozen=True)
class TelemetrySettings:
    """Where spans and measurements go (the global providers unless given) and whether
    content is recorded.

    Attributes:
        tracer_provider: an OpenTelemetry ``TracerProvider``; None: the global one.
        meter_provider: an OpenTelemetry ``MeterProvider``; None: the global one.
        capture_content: record tool arguments and results, prompts and answers on the
            spans (redacted like the audit log). Off by default: they may hold personal data.
        max_content_chars: a recorded value is cut to this many characters.
    """

    tracer_provider: Any = None
    meter_provider: Any = None
    capture_content: bool = False
    max_content_chars: int = 4096

    def tracer(self) -> trace.Tracer:
        """The tracer agentkit's spans come from."""
        return trace.get_tracer(SCOPE, tracer_provider=self.tracer_provider)

    def meter(self) -> metrics.Meter:
        """The meter agentkit's instruments come from."""
        return metrics.get_meter(SCOPE, meter_provider=self.meter_provider)


GLOBAL_TELEMETRY = TelemetrySettings()
"""The global providers, nothing recorded as content."""
