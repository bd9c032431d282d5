"""Detectors of secrets and personal data in text, before it is sent to a model.

Each kind is one precompiled regular expression, a cheap substring hint that lets a text
skip it, and where the format has one a validator (a checksum, a decodable header, a
range of allowed numbers). `detect` runs the asked kinds and keeps non-overlapping
findings, the longest first.

Kinds, secrets: ``api_key`` (xAI, OpenAI, Anthropic, GitHub, AWS access key ids and
secret keys in assignments, Slack, Stripe, Google), ``private_key`` (PEM blocks),
``jwt``, ``connection_string`` (URLs with a user and password), ``password`` (the value
of an assignment to a password-like name). Personal data: ``email``, ``phone`` (E.164
and the common US and European national formats), ``iban`` (mod-97), ``card`` (Luhn),
``ip`` (v4 and v6, not loopback or unspecified), and national ids with a checksum or
fixed rules: ``us_ssn`` (dashed, with the SSA's area, group and serial rules),
``nl_bsn`` (the 11-check, only after a ``BSN`` keyword: nine digits alone are too
common), ``es_dni`` (DNI and NIE with their check letter).
"""

from __future__ import annotations

import base64
import binascii
import bisect
import ipaddress
import json
import re
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass

SECRET_KINDS = frozenset({"api_key", "private_key", "jwt", "connection_string", "password"})
PERSONAL_KINDS = frozenset(
    {"email", "phone", "iban", "card", "ip", "us_ssn", "nl_bsn", "es_dni"},
)
ALL_KINDS = SECRET_KINDS | PERSONAL_KINDS
CHECKSUMMED_KINDS = frozenset({"iban", "card", "nl_bsn", "es_dni"})


@dataclass(frozen=True, slots=True)
class Finding:
    """One detected value: its kind and where it is in the text (``text[start:end]``)."""

    kind: str
    start: int
    end: int
    text: str


Span = tuple[int, int]
_Kept = tuple[int, int, str]
Validator = Callable[[re.Match[str]], Span | None]
"""Given a match, the span to report (possibly narrowed), or None to drop it."""


@dataclass(frozen=True, slots=True)
class _Detector:
    kind: str
    pattern: re.Pattern[str]
    hints: tuple[str, ...] = ()
    """A text with none of these (compared lower-cased) cannot match: skip the regex."""
    validate: Validator | None = None


def _group(name: str, check: Callable[[str], bool] | None = None) -> Validator:
    def validate(match: re.Match[str]) -> Span | None:
        value = match.group(name)
        if value is None or (check is not None and not check(value)):
            return None
        return match.span(name)

    return validate


def _whole(check: Callable[[str], bool]) -> Validator:
    def validate(match: re.Match[str]) -> Span | None:
        return match.span() if check(match.group()) else None

    return validate


# --- personal data -----------------------------------------------------------------

_NOT_TLDS = frozenset({"png", "jpg", "jpeg", "gif", "svg", "webp", "css", "js", "ts", "py"})


def _email_ok(value: str) -> bool:
    local, _, domain = value.rpartition("@")
    if local.startswith(".") or local.endswith(".") or ".." in local:
        return False
    return domain.rsplit(".", 1)[-1].lower() not in _NOT_TLDS


_EMAIL = re.compile(
    r"(?<![\w.%+-])[A-Za-z0-9._%+-]{1,64}@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+"
    r"[A-Za-z]{2,24}(?![\w-])"
)

_PHONE = re.compile(
    r"(?<![\w+.-])(?<!\d[ -])(?:"
    r"\+[1-9][\d ().-]{6,20}\d"  # E.164 with optional separators
    r"|\(\d{3}\) ?\d{3}[-. ]\d{4}"  # (415) 555-2671
    r"|\d{3}[-.]\d{3}[-.]\d{4}"  # 415-555-2671
    r"|0\d{1,4}[ /-]\d{3,4}[ -]\d{3,4}"  # 030 1234 5678, 020 7946 0958
    r")(?![\w-]|[.,]\d| \d)"
)


def _phone_ok(value: str) -> bool:
    digits = re.sub(r"\D", "", value)
    if re.search(r"[ ().-]{2,}", value.replace(") ", ")")):
        return False
    if value.startswith("+"):
        return 8 <= len(digits) <= 15
    if value.startswith("0"):
        return 9 <= len(digits) <= 12
    # NANP: neither the area code nor the exchange starts with 0 or 1
    return len(digits) == 10 and digits[0] in "23456789" and digits[3] in "23456789"


_IBAN_LENGTHS = {
    "AT": 20, "BE": 16, "CH": 21, "CZ": 24, "DE": 22, "DK": 18, "ES": 24, "FI": 18,
    "FR": 27, "GB": 22, "IE": 22, "IT": 27, "LU": 20, "NL": 18, "NO": 15, "PL": 28,
    "PT": 25, "SE": 24,
}  # fmt: skip
_IBAN = re.compile(r"(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?")


def _mod97(alnum: str) -> int:
    return int("".join(str(int(c, 36)) for c in alnum)) % 97


def _iban_span(match: re.Match[str]) -> Span | None:
    """Narrow the match to the country's length (the regex may run into a next word)."""
    value = match.group()
    want = _IBAN_LENGTHS.get(value[:2])
    compact = value.replace(" ", "")
    for length in [want] if want else range(min(34, len(compact)), 14, -1):
        if length is None or len(compact) < length:
            continue
        head, end, seen = compact[:length], 0, 0
        while seen < length:
            seen += value[end] != " "
            end += 1
        if end < len(value) and value[end] != " ":
            continue  # the country's length ends inside a group: not this IBAN
        if _mod97(head[4:] + head[:4]) == 1:
            return match.start(), match.start() + end
    return None


_CARD = re.compile(r"(?<![\d+.-])(?<!\d[ -])[2-6]\d{3}(?:[ -]?\d){9,15}(?![\d-]|[.,]\d| \d)")


def _luhn(digits: str) -> bool:
    total = 0
    for i, c in enumerate(reversed(digits)):
        d = int(c) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def _card_ok(value: str) -> bool:
    separators = {c for c in value if not c.isdigit()}
    digits = re.sub(r"\D", "", value)
    return len(separators) <= 1 and 13 <= len(digits) <= 19 and _luhn(digits)


_IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w]|\.\d)")
_IPV6 = re.compile(
    r"(?<![\w:.])(?:"
    r"(?:[0-9A-Fa-f]{0,4}:){2,6}(?:\d{1,3}\.){3}\d{1,3}"  # with an embedded IPv4
    r"|(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}"
    r")(?![\w:]|\.\d)"
)


def _ip_ok(value: str) -> bool:
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return False
    if address.is_loopback or address.is_unspecified:
        return False
    return address.version == 4 or any(c.isdigit() for c in value)


_US_SSN = re.compile(r"(?<![\w-])(\d{3})-(\d{2})-(\d{4})(?![\w-])")


def _ssn_span(match: re.Match[str]) -> Span | None:
    area, group, serial = match.groups()
    if area in {"000", "666"} or area.startswith("9") or group == "00" or serial == "0000":
        return None
    return match.span()


_NL_BSN = re.compile(
    r"(?i:\b(?:bsn|burgerservicenummer|sofinummer)\b[\s:#.-]{0,4}(?:nr\.?|nummer)?[\s:#.-]{0,3})"
    r"(?P<v>\d{9}|\d{4}\.\d{2}\.\d{3}|\d{3}[ .]\d{3}[ .]\d{3})(?![\w-])"
)


def _bsn_ok(value: str) -> bool:
    digits = [int(c) for c in value if c.isdigit()]
    weighted = sum(d * (9 - i) for i, d in enumerate(digits[:8])) - digits[8]
    return weighted % 11 == 0 and any(digits)


_DNI_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"
_ES_DNI = re.compile(r"(?<![\w-])(?:[XYZ]\d{7}|\d{8})-?[A-HJ-NP-TV-Z](?![\w-])")


def _dni_ok(value: str) -> bool:
    value = value.replace("-", "")
    number = "XYZ".find(value[0])
    digits = (str(number) + value[1:-1]) if number >= 0 else value[:-1]
    return _DNI_LETTERS[int(digits) % 23] == value[-1]


# --- secrets -----------------------------------------------------------------------

_API_KEY = re.compile(
    r"(?<![A-Za-z0-9_-])(?:"
    r"xai-[A-Za-z0-9]{20,}"
    r"|sk-ant-(?:api|admin)\d{2}-[A-Za-z0-9_-]{20,}"
    r"|sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}"
    r"|gh[pousr]_[A-Za-z0-9]{36,}"
    r"|github_pat_[A-Za-z0-9_]{22,}"
    r"|(?:AKIA|ASIA)[A-Z0-9]{16}"
    r"|xox[bpoas]-[A-Za-z0-9-]{10,}"
    r"|[sr]k_(?:live|test)_[A-Za-z0-9]{16,}"
    r"|AIza[0-9A-Za-z_-]{35}"
    r")(?![A-Za-z0-9_-])"
)


def _random_body(value: str) -> bool:
    """A key's body is random: letters and digits both (``sk-this-is-not-a-key`` is not)."""
    body = value.split("_", 2)[-1] if value[:3] in {"sk_", "rk_"} else value
    return any(c.isdigit() for c in body) and any(c.isalpha() for c in body)


_AWS_SECRET = re.compile(
    r"(?i:aws_?secret(?:_access)?_?key)[\"']?\s*[:=]\s*[\"']?"
    r"(?P<v>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])"
)

_PRIVATE_KEY = re.compile(
    r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----"
    r"(?:(?:\\[rn]|[A-Za-z0-9+/=\s:,.-])*?-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----"
    r"|(?:\\[rn]|[A-Za-z0-9+/=\s])+)"  # cut short (a truncated output): up to the base64's end
)

_JWT = re.compile(r"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")


def _jwt_ok(value: str) -> bool:
    header = value.split(".", 1)[0]
    try:
        decoded = json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))
    except (binascii.Error, ValueError):
        return False
    return isinstance(decoded, dict) and "alg" in decoded


_CONNECTION_STRING = re.compile(
    r"(?<![\w+.-])(?:jdbc:)?(?:postgres(?:ql)?|mysql|mariadb|mssql|sqlserver|oracle|"
    r"mongodb(?:\+srv)?|rediss?|amqps?|kafka|mqtts?|s?ftp|smtps?|ldaps?|https?)"
    r"(?:\+[a-z0-9]+)?://[^\s:/@'\"<>]*:[^\s@/'\"<>]+@[^\s'\"<>`]+"
)


def _strip_trailing(match: re.Match[str]) -> Span | None:
    """A URL at a sentence's end: its last ``.``, ``,``, ``)`` ... belong to the sentence."""
    value = match.group().rstrip(".,;:!?)]}")
    return match.start(), match.start() + len(value)


_PASSWORD_NAME = (
    r"(?:[A-Za-z0-9]+[_-])*(?i:password|passwd|pwd|passphrase|secret|secret[_-]?key|"
    r"client[_-]?secret|api[_-]?key|access[_-]?token|auth[_-]?token)"
)
_PASSWORD = re.compile(
    rf"(?<![\w-]){_PASSWORD_NAME}[\"']?\s*(?::=|=>|[:=])\s*"
    r"(?:\"(?P<dq>[^\"\s⟦⟧]{1,200})\"|'(?P<sq>[^'\s⟦⟧]{1,200})'|(?P<bare>[^\s\"',;⟦⟧]{1,200}))"
)
_NOT_PASSWORDS = frozenset(
    {"none", "null", "nil", "true", "false", "str", "string", "bytes", "secretstr", "optional"}
)


def _password_span(match: re.Match[str]) -> Span | None:
    name = next(n for n in ("dq", "sq", "bare") if match.group(n) is not None)
    value = match.group(name)
    if name == "bare":
        value = value.rstrip(".)]}")
        # a variable, a call, a type, a template: not a literal password
        if re.fullmatch(r"[a-z_]+|[A-Za-z_]+(?:\.[A-Za-z_]+)+|[^(\[]*[(\[].*", value):
            return None
    if len(value) < 4 or value.lower() in _NOT_PASSWORDS:
        return None
    if value.startswith(("${", "{{", "<", "%(", "$")) or set(value) <= {"*", "x", "X", "."}:
        return None
    start = match.start(name)
    return start, start + len(value)


_DETECTORS: tuple[_Detector, ...] = (
    _Detector("private_key", _PRIVATE_KEY, ("private key",)),
    _Detector("connection_string", _CONNECTION_STRING, ("://",), _strip_trailing),
    _Detector("jwt", _JWT, ("eyj",), _whole(_jwt_ok)),
    _Detector("api_key", _API_KEY, (), _whole(_random_body)),
    _Detector("api_key", _AWS_SECRET, ("secret",), _group("v")),
    _Detector("password", _PASSWORD, ("pass", "pwd", "secret", "key", "token"), _password_span),
    _Detector("email", _EMAIL, ("@",), _whole(_email_ok)),
    _Detector("iban", _IBAN, (), _iban_span),
    _Detector("card", _CARD, (), _whole(_card_ok)),
    _Detector("us_ssn", _US_SSN, ("-",), _ssn_span),
    _Detector("nl_bsn", _NL_BSN, ("bsn", "burgerservice", "sofi"), _group("v", _bsn_ok)),
    _Detector("es_dni", _ES_DNI, (), _whole(_dni_ok)),
    _Detector("phone", _PHONE, (), _whole(_phone_ok)),
    _Detector("ip", _IPV4, (".",), _whole(_ip_ok)),
    _Detector("ip", _IPV6, ("::", ":"), _whole(_ip_ok)),
)
"""In priority order: of two findings as long as each other, the earlier detector wins."""


def detect(text: str, kinds: Collection[str] | None = None) -> list[Finding]:
    """The findings of `kinds` (every kind if None) in `text`, non-overlapping, in order.

    Where findings overlap the longest wins (a connection string over the e-mail-like
    ``pass@host.org`` inside it), then the detector listed first.
    """
    if kinds is not None:
        unknown = set(kinds) - ALL_KINDS
        if unknown:
            raise ValueError(f"unknown detector kinds: {sorted(unknown)}")
    lowered: str | None = None
    candidates: list[tuple[int, int, int, str]] = []
    for rank, detector in enumerate(_DETECTORS):
        if kinds is not None and detector.kind not in kinds:
            continue
        if detector.hints:
            lowered = text.lower() if lowered is None else lowered
            if not any(hint in lowered for hint in detector.hints):
                continue
        for match in detector.pattern.finditer(text):
            span = match.span() if detector.validate is None else detector.validate(match)
            if span is not None and span[1] > span[0]:
                candidates.append((span[0], span[1], rank, detector.kind))
    return [Finding(kind, s, e, text[s:e]) for s, e, kind in _non_overlapping(candidates)]


def _non_overlapping(candidates: Iterable[tuple[int, int, int, str]]) -> list[_Kept]:
    starts: list[int] = []  # the kept spans, sorted by start: they never overlap
    kept: list[_Kept] = []
    for start, end, _, kind in sorted(candidates, key=lambda c: (c[0] - c[1], c[2], c[0])):
        i = bisect.bisect_right(starts, start)
        if i > 0 and kept[i - 1][1] > start:
            continue
        if i < len(kept) and kept[i][0] < end:
            continue
        starts.insert(i, start)
        kept.insert(i, (start, end, kind))
    return kept
