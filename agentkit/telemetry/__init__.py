"""What agents do, as OpenTelemetry traces and metrics and as structured logs.

agentkit speaks only to ``opentelemetry-api``: with no SDK configured every span and
instrument is a no-op, and the application chooses the SDK, exporters and sampling. Spans
follow the GenAI semantic conventions: ``invoke_agent {agent}`` per run, ``chat {model}``
per model request, ``execute_tool {tool}`` per call, with agentkit's own attributes for
the policy's decision, its rule and approvals. Arguments, outputs and prompts are recorded
only when the deployer opts in (``TelemetrySettings(capture_content=True)``), redacted by
the audit log's rules.

```python
from agentkit.telemetry import TelemetrySettings

agent = Support(telemetry=TelemetrySettings(capture_content=False))
```
"""

from __future__ import annotations

from agentkit.telemetry.logs import bound_ids, get_logger, log_context, structlog_processor
from agentkit.telemetry.settings import TelemetrySettings

__all__ = [
    "TelemetrySettings",
    "bound_ids",
    "get_logger",
    "log_context",
    "structlog_processor",
]
