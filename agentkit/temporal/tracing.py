"""Trace context through Temporal: Temporal's own OpenTelemetry interceptor carries the
caller's trace from the client that starts a run into its workflow and from there into
each activity, where the run's ``invoke_agent`` span continues it.

Connect the client with it (a worker built on that client uses it too):

```python
client = await Client.connect("localhost:7233", interceptors=tracing_interceptors())
```

It needs ``opentelemetry-sdk`` (Temporal's interceptor imports it); without the SDK there
is nothing to export, and `tracing_interceptors` gives none.
"""

from __future__ import annotations

from typing import Any

from temporalio.client import Interceptor


def tracing_interceptors(tracer: Any = None) -> list[Interceptor]:
    """Temporal's tracing interceptor (with ``tracer``, else the global tracer), or none
    when the OpenTelemetry SDK is not installed."""
    try:
        from temporalio.contrib.opentelemetry import TracingInterceptor
    except ImportError:
        return []
    return [TracingInterceptor(tracer)]
