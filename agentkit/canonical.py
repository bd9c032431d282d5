"""The one canonical JSON spelling, hashed by approvals and by the audit chain alike."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def canonical_json(value: Any) -> str:
    """Sorted keys, no spaces, ASCII only, no NaN or infinity.

    Args:
        value: plain JSON data (dict, list, str, int, finite float, bool, None).

    Raises:
        ValueError: `value` holds NaN or an infinity, which JSON cannot spell.
    """
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
    )


def sha256_of(value: Any) -> str:
    """SHA-256 (hex) of the canonical JSON of `value`."""
    return hashlib.sha256(canonical_json(value).encode()).hexdigest()
