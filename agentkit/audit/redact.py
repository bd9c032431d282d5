"""The one redaction processor every audit record passes through before it is written.

It also turns the runner's fields into plain JSON data (pydantic models, dataclasses,
enums, dates, exceptions), so that what is hashed is exactly what is stored.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime, time
from enum import Enum
from pathlib import PurePath
from typing import Any, NamedTuple

from pydantic import BaseModel

REDACTED = "[REDACTED]"
MAX_DEPTH = 32

DEFAULT_PATTERNS: tuple[str, ...] = (
    r"\bxai-[A-Za-z0-9_-]{16,}",
    r"\bsk-[A-Za-z0-9_-]{16,}",
    r"\b[rs]k_(?:live|test)_[A-Za-z0-9]{16,}",
    r"\bgh[pousr]_[A-Za-z0-9]{30,}",
    r"\bgithub_pat_[A-Za-z0-9_]{22,}",
    r"\bglpat-[A-Za-z0-9_-]{20,}",
    r"\bxox[abposre]-[A-Za-z0-9-]{10,}",
    r"\bxapp-[A-Za-z0-9-]{10,}",
    r"hooks\.slack\.com/(?:services|workflows)/[A-Za-z0-9/_-]{16,}",
    r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|A3T[A-Z0-9])[0-9A-Z]{16}\b",
    r"\bAIza[0-9A-Za-z_-]{35}",
    r"\b(?:npm|hf)_[A-Za-z0-9]{30,}",
    r"\bpypi-[A-Za-z0-9_-]{50,}",
    r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+",
    r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----[\s\S]*?"
    r"(?:-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|\Z)",
)
"""Values that are secrets wherever they appear: xAI, OpenAI and Stripe-style keys,
GitHub, GitLab, Slack, AWS, Google, npm, Hugging Face and PyPI tokens, Slack webhooks,
JWTs, PEM private keys."""

# Names that label a secret in text (``password = ...``, ``"api_key": ...``). A name
# part must end at a separator, so ``max_tokens`` and ``tokenizer`` are not names.
_SECRET_NAME = (
    r"(?<![\w.-])[\w.-]{0,80}?(?:passw(?:or)?d|passphrase|pwd|secret|api[_-]?key|apikey"
    r"|access[_-]?key|private[_-]?key|token|credentials?|session[_-]?(?:id|key)"
    r"|signature|cookie)(?:[_.-][\w.-]{0,40})?(?![\w])"
)
_SCHEMES = r"(?i:bearer|basic|token|digest|negotiate|ntlm|apikey|aws4-hmac-sha256)\s+"
# A value after a name: double-quoted, double-quoted inside a JSON string, single-quoted
# or bare. Only one of the named groups matches; what precedes it in the match is kept.
_VALUE = (
    r"(?:\"(?P<dq>(?:[^\"\\\r\n]|\\.)+)"
    r"|\\\"(?P<jq>.+?)(?=\\\"|$)"
    r"|'(?P<sq>(?:[^'\\\r\n]|\\.)+)"
    r"|(?:" + _SCHEMES + r")?(?!\[REDACTED\])(?P<bare>[^\s\"',;&)}\]]+))"
)
_NAMED = (
    r"(?i:(?P<kq>\\?[\"']?)(?:(?<![\w.-])(?:proxy-|x-)?authori[sz]ation|"
    + _SECRET_NAME
    + r")(?P=kq)"
    r"(?:\s*(?::=|=>|[:=])\s*|(?<=[\"'])\s*,\s*(?=\\?[\"'])))" + _VALUE
)
# A Cookie or Set-Cookie header: everything to the end of its line.
_COOKIE = r"(?i:\b(?:set-)?cookie\s*:\s*)(?P<cookie>(?:[^\r\n\"'\\]|\\(?![rn\"']))+)"
# A bearer token in prose: it has a digit or is long, so "Bearer authentication" stays.
_BEARER = (
    r"(?i:\bbearer(?:\s*[:=]\s*|\s+))"
    r"(?P<bearer>(?=[A-Za-z0-9._~+/=-]*\d|[A-Za-z0-9._~+/=-]{20})[A-Za-z0-9._~+/=-]{8,})"
)
# Credentials in a URL or connection string: the password, or a long lone user name.
_URL = (
    r"://(?:[^/\s:@\"']*:(?P<urlpw>[^\s/\"'@]*(?:@[^\s/\"'@]*)*?)(?=@[^\s@/\"']*(?:[/\s\"'?#]|$))"
    r"|(?P<urluser>[^/\s:@\"']{16,})(?=@))"
)
_LABELLED = "|".join(f"(?:{p})" for p in (_NAMED, _COOKIE, _BEARER, _URL))
_SECRET_GROUPS = ("dq", "jq", "sq", "bare", "cookie", "bearer", "urlpw", "urluser")

# Lowercase substrings at least one of which every match contains: most strings contain
# none, and searching for them is far cheaper than the full regular expressions.
_TOKEN_TRIGGERS = (
    "xai-",
    "sk-",
    "k_live_",
    "k_test_",
    "ghp_",
    "gho_",
    "ghu_",
    "ghs_",
    "ghr_",
    "github_pat_",
    "glpat-",
    "xox",
    "xapp-",
    "hooks.slack",
    "akia",
    "asia",
    "agpa",
    "aida",
    "aroa",
    "aipa",
    "anpa",
    "anva",
    "a3t",
    "aiza",
    "npm_",
    "hf_",
    "pypi-",
    "eyj",
    "private key",
)
_LABEL_TRIGGERS = (
    "bearer",
    "authori",
    "api",
    "key",
    "passw",
    "passphrase",
    "pwd",
    "secret",
    "token",
    "credential",
    "session",
    "signature",
    "cookie",
    "://",
    # commands with a one-letter password option, for JSON text holding their arguments
    "mysql",
    "mariadb",
    "redis-cli",
    "sshpass",
)


def _any_of(words: Iterable[str]) -> re.Pattern[str]:
    return re.compile("|".join(re.escape(word) for word in words))


_LABEL_TRIGGER = _any_of(_LABEL_TRIGGERS)
_LABELLED_RE = re.compile(_LABELLED)

DEFAULT_SENSITIVE_KEYS = (
    r"passw(?:or)?d|passphrase|secret|api[_-]?key|access[_-]?key|private[_-]?key"
    r"|authorization|cookie|credential|token(?!s)"
)
"""Field or argument names whose values are always replaced. ``token`` but not
``tokens``: usage counts such as ``input_tokens`` stay."""

_NAMING_KEYS = frozenset(
    {
        "name", "key", "keyname", "header", "headername", "field", "fieldname", "variable",
        "var", "varname", "env", "envvar", "param", "parameter", "parametername", "option",
        "label", "attribute", "property", "setting",
    }
)  # fmt: skip
"""Fields that name another field's value (``{"name": "DB_PASSWORD", "value": ...}``),
compared in lower case without ``_`` and ``-``."""
_VALUE_KEYS = frozenset(
    {
        "value", "values", "val", "data", "default", "defaultvalue", "stringvalue",
        "secretvalue", "secretstring", "plaintext",
    }
)  # fmt: skip
"""Fields holding the value a naming field names: replaced when the name is a secret's."""
_FLAG_NAMES = re.compile(r"pass|pw|pwd", re.IGNORECASE)
"""Short option names that mean a password as a flag (``--pass X``), besides secret names."""
_MYSQL_CLIENTS = (
    "mysql", "mariadb", "mysqldump", "mysqladmin", "mysqlimport", "mysqlshow", "mysqlcheck",
    "mysqlpump", "mariadb-dump", "mariadb-admin",
)  # fmt: skip
_SHORT_PASSWORD_FLAGS: dict[str, str] = {
    **dict.fromkeys((*_MYSQL_CLIENTS, "sshpass"), "-p"),
    "redis-cli": "-a",
}
"""Commands whose one-letter option is a password (``mysql -p X``, ``redis-cli -a X``);
for other commands ``-p`` is a port, a patch or a parent directory and stays."""

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
        alternatives = [*DEFAULT_PATTERNS, *(re.escape(s) for s in exact)]
        self._tokens = re.compile("|".join(f"(?:{p})" for p in alternatives))
        self._token_trigger = _any_of((*_TOKEN_TRIGGERS, *(s.lower() for s in exact)))
        extra = [p for p in patterns if p]
        self._extra = re.compile("|".join(f"(?:{p})" for p in extra)) if extra else None
        keys = DEFAULT_SENSITIVE_KEYS + (f"|{sensitive_keys}" if sensitive_keys else "")
        self._sensitive = re.compile(keys, re.IGNORECASE)
        self._prompt_keys = frozenset(prompt_keys)
        self._key_cache: dict[str, _KeyInfo] = {}
        # the same short strings (run, call and request ids, tool names, statuses) come
        # back in every record of a run: scrub each once
        self._scrubbed: dict[str, str] = {}

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
        """Replace every secret found in `text` (JSON text is redacted as data)."""
        if len(text) > _SCRUB_CACHE_LENGTH:
            return self._scrub(text)
        known = self._scrubbed.get(text)
        if known is None:
            if len(self._scrubbed) >= _SCRUB_CACHE_SIZE:
                self._scrubbed.clear()
            known = self._scrubbed[text] = self._scrub(text)
        return known

    def _scrub(self, text: str) -> str:
        lowered = text.lower()
        labelled = _LABEL_TRIGGER.search(lowered) is not None
        tokens = self._token_trigger.search(lowered) is not None
        if labelled or tokens:
            as_json = self._scrub_json(text)
            if as_json is not None:
                text = as_json
            else:
                # tokens first: a PEM block or a key is replaced whole before any label
                # inside it could split it
                text = self._tokens.sub(REDACTED, text) if tokens else text
                text = _LABELLED_RE.sub(_replacement, text) if labelled else text
        return self._extra.sub(REDACTED, text) if self._extra is not None else text

    def _scrub_json(self, text: str) -> str | None:
        """A JSON object or array in text, redacted like fields; None when not JSON."""
        if text.lstrip()[:1] not in ("{", "["):
            return None
        try:
            data = json.loads(text)
        except (ValueError, RecursionError):
            return None
        clean = self._value(data, 0, True)
        return text if clean == data else json.dumps(clean, ensure_ascii=False)

    def is_sensitive_key(self, key: str) -> bool:
        """True when a field called `key` holds a secret by its name alone."""
        return self._sensitive.search(key) is not None

    def _key(self, key: str) -> _KeyInfo:
        """The kind of field `key` names, the key with any secret in it replaced, and
        whether it is a naming key (``name``) or the value key beside one (``value``)."""
        known = self._key_cache.get(key)
        if known is None:
            kind = (
                _SECRET
                if self.is_sensitive_key(key)
                else (_PROMPT if key in self._prompt_keys else _PLAIN)
            )
            scrubbed = self.scrub(key)
            known = _KeyInfo(
                kind, scrubbed, _squash(key) in _NAMING_KEYS, _squash(scrubbed) in _VALUE_KEYS
            )
            if len(self._key_cache) < 4096:  # argument names are unbounded
                self._key_cache[key] = known
        return known

    def _names_a_secret(self, value: Mapping[Any, Any]) -> bool:
        """Whether a naming field (``name``, ``key``, ``header``...) names a secret."""
        return any(
            type(item) is str
            and type(key) is str
            and self._key(key).naming
            and self.is_sensitive_key(item)
            for key, item in value.items()
        )

    def _mapping(self, value: Mapping[Any, Any], depth: int, prompts: bool) -> dict[str, Any]:
        out: dict[str, Any] = {}
        named_secret = len(value) < 16 and self._names_a_secret(value)
        for raw_key, item in value.items():
            info = self._key(raw_key if type(raw_key) is str else str(raw_key))
            kind, key = info.kind, info.scrubbed
            if named_secret and info.value_key:
                kind = _SECRET
            if key in out:  # two keys that were secrets: keep both values
                key = f"{key}#{len(out)}"
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
        if isinstance(value, list | tuple):
            return self._sequence(value, depth, prompts)
        if isinstance(value, set | frozenset):
            return [self._value(item, depth + 1, prompts) for item in value]
        return self._value(_plain(value), depth + 1, prompts)

    def _sequence(self, items: list[Any] | tuple[Any, ...], depth: int, prompts: bool) -> Any:
        """A list, with the value after a secret's name replaced.

        A pair whose first item names a secret (``["Authorization", "Bearer x"]``), the
        item after an option naming one (``["--password", "x"]``), and after a command's
        one-letter password option (``["mysql", "-p", "x"]``, ``-px``).
        """
        pair = len(items) == 2 and type(items[0]) is str and self.is_sensitive_key(items[0])
        out: list[Any] = []
        hide_next, short_flag = False, ""
        for index, item in enumerate(items):
            if hide_next or (pair and index == 1):
                out.append(None if item is None else REDACTED)
                hide_next = False
                continue
            if type(item) is not str:
                out.append(self._value(item, depth + 1, prompts))
                continue
            short_flag = short_flag or _SHORT_PASSWORD_FLAGS.get(_command_name(item), "")
            if short_flag and item.startswith(short_flag) and len(item) > len(short_flag):
                out.append(short_flag + REDACTED)  # -phunter2
                continue
            out.append(self.scrub(item))
            hide_next = (bool(short_flag) and item == short_flag) or self._secret_option(item)
        return out

    def _secret_option(self, item: str) -> bool:
        """Whether a command-line item is an option naming a secret (``--api-key``)."""
        if not item.startswith("-") or "=" in item or len(item) > 80:
            return False
        name = item.lstrip("-")
        return bool(name) and (
            _FLAG_NAMES.fullmatch(name) is not None or self.is_sensitive_key(name)
        )


_PLAIN, _SECRET, _PROMPT = 0, 1, 2
_SCRUB_CACHE_LENGTH = 160
_SCRUB_CACHE_SIZE = 8192


class _KeyInfo(NamedTuple):
    kind: int
    scrubbed: str
    naming: bool
    """`_NAMING_KEYS`: the key names another field (``{"name": "api_key", "value": ...}``)."""
    value_key: bool
    """`_VALUE_KEYS`, after scrubbing: the key holds the value such a name labels."""


def _squash(key: str) -> str:
    """A field name compared loosely: ``Header_Name`` and ``header-name`` are one."""
    return key.lower().replace("_", "").replace("-", "") if len(key) < 40 else ""


def _command_name(item: str) -> str:
    """The program an argument-list item runs, if it is one (``/usr/bin/mysql``)."""
    return item.rsplit("/", 1)[-1] if len(item) < 200 else ""


def _replacement(match: re.Match[str]) -> str:
    """Keep what labels the secret (``password = "``), replace the secret itself."""
    for name in _SECRET_GROUPS:
        if match.group(name) is not None:
            return match.string[match.start() : match.start(name)] + REDACTED
    return REDACTED


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
