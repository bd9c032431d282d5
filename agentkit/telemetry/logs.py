"""The library's diagnostics as structured logs, the run's ids bound to each.

agentkit logs through the standard library (``logging.getLogger("agentkit...")``) and
never adds a handler or sets a level: where the logs go is the application's choice.
Each record carries the ids of what it is about: ``run_id``, ``call_id``, ``tool``,
``request_id``, and the current span's ``trace_id`` and ``span_id``, as attributes of the
record (for a formatter, ``%(run_id)s``) and together as ``record.agentkit``.

Applications on structlog add `structlog_processor` to their chain to get the same ids
on their own events while an agentkit run is in progress:

```python
import structlog
from agentkit.telemetry import structlog_processor

structlog.configure(processors=[structlog_processor, structlog.processors.JSONRenderer()])
```
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
from collections.abc import Iterator, Mapping, MutableMapping
from types import MappingProxyType
from typing import Any

from opentelemetry import trace

_NONE: Mapping[str, str] = MappingProxyType({})
_IDS: contextvars.ContextVar[Mapping[str, str]] = contextvars.ContextVar(
    "agentkit_log_ids", default=_NONE
)
FIELDS = ("run_id", "call_id", "tool", "request_id", "trace_id", "span_id")


def bound_ids() -> dict[str, str]:
    """The ids bound where this is called, with the current span's trace and span ids."""
    ids = dict(_IDS.get())
    context = trace.get_current_span().get_span_context()
    if context.is_valid:
        ids["trace_id"] = format(context.trace_id, "032x")
        ids["span_id"] = format(context.span_id, "016x")
    return ids


@contextlib.contextmanager
def log_context(**ids: str | None) -> Iterator[None]:
    """Bind ids (``run_id=...``, ``call_id=...``) to every log record made inside."""
    merged = {**_IDS.get(), **{key: value for key, value in ids.items() if value is not None}}
    token = _IDS.set(merged)
    try:
        yield
    finally:
        _IDS.reset(token)


class _BoundLogger(logging.LoggerAdapter):  # type: ignore[type-arg]
    """Adds the bound ids to each record's ``extra``."""

    def process(
        self, msg: Any, kwargs: MutableMapping[str, Any]
    ) -> tuple[Any, MutableMapping[str, Any]]:
        ids = bound_ids()
        extra = dict(kwargs.get("extra") or {})
        for key in FIELDS:
            extra.setdefault(key, ids.get(key))
        extra["agentkit"] = {key: value for key, value in ids.items() if value is not None}
        kwargs["extra"] = extra
        return msg, kwargs


def get_logger(name: str) -> logging.LoggerAdapter:  # type: ignore[type-arg]
    """The logger of module ``name``, its records carrying the bound ids."""
    return _BoundLogger(logging.getLogger(name), {})


def structlog_processor(
    logger: Any, method_name: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """A structlog processor adding the bound agentkit ids to an event (never replacing
    a key the event already has)."""
    for key, value in bound_ids().items():
        event_dict.setdefault(key, value)
    return event_dict
