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
        enabled: False: no spans and no measurements at all (not even no-op ones). With
            no provider given and no SDK set globally, runs skip them too.
    """

    tracer_provider: Any = None
    meter_provider: Any = None
    capture_content: bool = False
    max_content_chars: int = 4096
    enabled: bool = True

    def tracer(self) -> trace.Tracer:
        """The tracer agentkit's spans come from."""
        return trace.get_tracer(SCOPE, tracer_provider=self.tracer_provider)

    def reports(self) -> bool:
        """Whether anything would receive spans or measurements: False while neither a
        provider is given nor an SDK's set globally (the API then hands out no-ops, and a
        runner skips even those). Asked per run, so an SDK set later is seen."""
        if not self.enabled:
            return False
        tracers = self.tracer_provider or trace.get_tracer_provider()
        meters = self.meter_provider or metrics.get_meter_provider()
        no_tracer = isinstance(tracers, trace.NoOpTracerProvider | trace.ProxyTracerProvider)
        # the API's stand-in until a provider is set globally (a private class, by name)
        no_meter = type(meters).__name__ in ("_ProxyMeterProvider", "NoOpMeterProvider")
        return not (no_tracer and no_meter)

    def meter(self) -> metrics.Meter:
        """The meter agentkit's instruments come from."""
        return metrics.get_meter(SCOPE, meter_provider=self.meter_provider)


GLOBAL_TELEMETRY = TelemetrySettings()
"""The global providers, nothing recorded as content."""
