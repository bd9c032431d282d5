"""The seam between the runner and the audit log: one call per stage transition."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol


class AuditRecorder(Protocol):
    """Writes one record; raises AuditWriteFailed when it cannot (the run then stops)."""

    def record(self, event: str, fields: Mapping[str, Any]) -> None: ...


class NullRecorder:
    """Records nothing. Used when an agent has no audit log configured."""

    def record(self, event: str, fields: Mapping[str, Any]) -> None:
        return None
