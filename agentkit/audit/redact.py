"""The one redaction processor every audit record passes through before it is written.

It also turns the runner's fields into plain JSON data (pydantic models, dataclasses,
enums, dates, exceptions), so that what is hashed is exactly what is stored.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime, time
from enum import Enum
from pathlib import PurePath
from typing import Any

from pydantic import BaseModel

REDACTED = "[REDACTED]"
MAX_DEPTH = 32

DEFAULT_PATTERNS: tuple[str, ...] = (
    r"\bxai-[A-Za-z0-9_-]{16,}",
    r"\bsk-[A-Za-z0-9_-]{16,}",
    r"\bgh[pousr]_[A-Za-z0-9]{30,}",
    r"\bAKIA[0-9A-Z]{16}\b",
    r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+",
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY-----|\Z)",
)
"""Values that are secrets wherever they appear: xAI/OpenAI-style keys, GitHub and AWS
tokens, JWTs, PEM private keys."""

# Secrets introduced by a label: the label stays, what follows it goes.
_LABELLED = (
    r"(?P<label>(?i:\bbearer\s+(?=[A-Za-z0-9._~+/=-]{8})"
    r"|\b(?:proxy-)?authorization\s*[:=]\s*(?:(?:bearer|basic|token|digest)\s+)?"
    r"|\b(?:x-)?api[_-]?key\s*[:=]\s*|\b(?:password|passwd|pwd|secret|token)\s*[:=]\s*"
    r"|://[^/\s:@]+:(?=[^\s/@]*@)))"
    r"(?P<secret>[^\s\"',;&@]+)"
)

# Lowercase substrings at least one of which every default pattern's match contains.
# Most strings contain none, and searching for them is far cheaper than the full regex.
_TRIGGERS = (
    "xai-",
    "sk-",
    "ghp_",
    "gho_",
    "ghu_",
    "ghs_",
    "ghr_",
    "akia",
    "eyj",
    "private key",
    "bearer",
    "authorization",
    "api",
    "key",
    "passw",
    "pwd",
    "secret",
    "token",
    "://",
)

DEFAULT_SENSITIVE_KEYS = (
    r"passw(?:or)?d|passphrase|secret|api[_-]?key|access[_-]?key|private[_-]?key"
    r"|authorization|cookie|credential|token(?!s)"
)
"""Field or argument names whose values are always replaced. ``token`` but not
``tokens``: usage counts such as ``input_tokens`` stay."""

DEFAULT_PROMPT_KEYS: frozenset[str] = frozenset(
    {
        "input",
        "instructions",
        "prompt",
        "messages",
        "output",
        "output_text",
        "content",
        "text",
        "reasoning",
        "stdout",
        "stderr",
    }
)
"""Field names holding prompts or outputs: left out unless ``include_prompts``."""


class Redactor:
    """Removes secrets from audit fields; a structlog-style processor.

    Args:
        patterns: extra regular expressions; any match in any string is replaced.
        sensitive_keys: extra regular expression over field names (case-insensitive,
            searched anywhere in the name) whose values are replaced whole.
        literals: exact secret values to remove, for example the configured API key.
        prompt_keys: field names treated as prompts/outputs (see ``include_prompts``).

    Example:
        >>> Redactor().redact({"password": "hunter2", "note": "key xai-" + "a" * 20})
        {'password': '[REDACTED]', 'note': 'key [REDACTED]'}
    """

    def __init__(
        self,
        *,
        patterns: Iterable[str] = (),
        sensitive_keys: str | None = None,
        literals: Iterable[str] = (),
        prompt_keys: Iterable[str] = DEFAULT_PROMPT_KEYS,
    ) -> None:
        exact = sorted({s for s in literals if s}, key=len, reverse=True)
        alternatives = [_LABELLED, *DEFAULT_PATTERNS, *(re.escape(s) for s in exact)]
        self._builtin = re.compile("|".join(f"(?:{p})" for p in alternatives))
        triggers = (*_TRIGGERS, *(s.lower() for s in exact))
        self._trigger = re.compile("|".join(re.escape(t) for t in triggers))
        extra = [p for p in patterns if p]
        self._extra = re.compile("|".join(f"(?:{p})" for p in extra)) if extra else None
        keys = DEFAULT_SENSITIVE_KEYS + (f"|{sensitive_keys}" if sensitive_keys else "")
        self._sensitive = re.compile(keys, re.IGNORECASE)
        self._prompt_keys = frozenset(prompt_keys)
        self._key_cache: dict[str, int] = {}

    def __call__(self, logger: Any, method_name: str, event_dict: Any) -> Any:
        """structlog processor signature: returns the redacted event dict."""
        return self.redact(event_dict, include_prompts=True)

    def redact(self, fields: Mapping[str, Any], *, include_prompts: bool = True) -> dict[str, Any]:
        """Return a redacted, JSON-plain copy of `fields`.

        Args:
            fields: the event's fields.
            include_prompts: keep prompt/output fields; when False each is replaced by
                ``{"omitted": true, "length": N}``.
        """
        return self._mapping(fields, 0, include_prompts)

    def scrub(self, text: str) -> str:
        """Replace every secret found in `text`."""
        if self._trigger.search(text.lower()) is not None:
            text = self._builtin.sub(_replacement, text)
        return self._extra.sub(REDACTED, text) if self._extra is not None else text

    def is_sensitive_key(self, key: str) -> bool:
        """True when a field called `key` holds a secret by its name alone."""
        return self._sensitive.search(key) is not None

    def _key_kind(self, key: str) -> int:
        kind = self._key_cache.get(key)
        if kind is None:
            kind = (
                _SECRET
                if self.is_sensitive_key(key)
                else (_PROMPT if key in self._prompt_keys else _PLAIN)
            )
            if len(self._key_cache) < 4096:  # argument names are unbounded
                self._key_cache[key] = kind
        return kind

    def _mapping(self, value: Mapping[Any, Any], depth: int, prompts: bool) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for raw_key, item in value.items():
            key = raw_key if type(raw_key) is str else str(raw_key)
            kind = self._key_kind(key)
            if kind == _PLAIN or (kind == _PROMPT and prompts):
                kind_of_item = type(item)
                if kind_of_item is str:  # the common cases first: this is the hot path
                    out[key] = self.scrub(item)
                elif kind_of_item is int or kind_of_item is bool or item is None:
                    out[key] = item
                else:
                    out[key] = self._value(item, depth + 1, prompts)
            elif kind == _SECRET:
                out[key] = None if item is None else REDACTED
            else:
                out[key] = _omitted(item)
        return out

    def _value(self, value: Any, depth: int, prompts: bool) -> Any:
        if isinstance(value, str):
            return self.scrub(value)
        if value is None or isinstance(value, bool | int):
            return value
        if isinstance(value, float):
            return value if math.isfinite(value) else repr(value)
        if depth > MAX_DEPTH:
            return "[too deep]"
        if isinstance(value, Mapping):
            return self._mapping(value, depth, prompts)
        if isinstance(value, list | tuple | set | frozenset):
            return [self._value(item, depth + 1, prompts) for item in value]
        return self._value(_plain(value), depth + 1, prompts)


_PLAIN, _SECRET, _PROMPT = 0, 1, 2


def _replacement(match: re.Match[str]) -> str:
    label = match.group("label")
    return f"{label}{REDACTED}" if label else REDACTED


def _omitted(value: Any) -> dict[str, Any]:
    length = len(value) if isinstance(value, str | list | tuple | dict) else None
    return {"omitted": True, "length": length}


def _plain(value: Any) -> Any:
    """Turn a non-JSON value into JSON data (the caller scrubs and walks the result)."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return f"<{len(value)} bytes>"
    if isinstance(value, BaseException):
        return f"{type(value).__name__}: {value}"
    return repr(value)
