"""Data flow: normalising values, where a value came from, and what untrusted data the run saw.

Values are compared after normalisation so that ``Alice@Example.COM`` is the address
the user typed as ``alice@example.com``, and ``DE89 3704-0044`` the account ``DE893704 0044``.
"""

from __future__ import annotations

import functools
import ipaddress
import re
import socket
import unicodedata
from collections.abc import Iterable
from urllib.parse import urlsplit, urlunsplit

from agentkit.decision import History
from agentkit.policy.spec import NormaliseKind

_DOT_LOOKALIKES = str.maketrans({"\u3002": ".", "\uff0e": ".", "\uff61": "."})
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_URL_IN_TEXT = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*://[^\s<>\"']+")
_URL_TRAILING = ".,;:!?)]}'\""
_GROUPING = re.compile(r"[\s\-]+")


class HostError(ValueError):
    """A value does not name a usable host; the message says why."""


def normalise_host(host: str) -> str:
    """Lower-case, NFKC, IDNA (punycode) form of a host name or IP address."""
    text = unicodedata.normalize("NFKC", host).translate(_DOT_LOOKALIKES).lower()
    text = text.removesuffix(".")
    if not text or "%" in text or ".." in text:
        raise HostError(f"{host!r} is not a valid host name")
    address = ip_of(text)
    if address is not None:
        return str(address)
    try:
        ascii_host = text.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise HostError(f"{host!r} is not a valid international host name") from exc
    if not all(_LABEL.match(label) for label in ascii_host.split(".")):
        raise HostError(f"{host!r} is not a valid host name")
    return ascii_host


_IPV4_FORM = re.compile(r"[0-9a-fx.]+")
RANGE_CLASSES = ("loopback", "private", "link_local", "multicast", "reserved", "unspecified")
"""Address classes a policy may name in ``allow_ranges`` / ``deny_ranges``."""

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def ip_of(host: str) -> IPAddress | None:
    """The address a host spells, in every form an HTTP client or resolver accepts.

    Besides dotted quads and IPv6 (bracketed or not): one to four parts in decimal, octal
    (leading 0) or hex (0x), as ``inet_aton`` reads them (``2130706433``, ``0x7f.1``,
    ``0177.0.0.1``, ``127.1``), and IPv4 inside IPv6 (``::ffff:127.0.0.1``) as the IPv4
    address it reaches.
    """
    text = host.strip("[]").lower()
    try:
        address: IPAddress = ipaddress.ip_address(text)
    except ValueError:
        if not _IPV4_FORM.fullmatch(text) or not any(ch.isdigit() for ch in text):
            return None
        try:
            address = ipaddress.IPv4Address(socket.inet_aton(text))
        except OSError:
            return None
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is not None:
            return embedded
    return address


def compile_range(entry: str) -> str | IPNetwork:
    """A class name from RANGE_CLASSES, or a network in CIDR form.

    Raises:
        HostError: neither.
    """
    if entry in RANGE_CLASSES:
        return entry
    try:
        return ipaddress.ip_network(entry, strict=False)
    except ValueError:
        raise HostError(
            f"{entry!r} is neither a network (10.0.0.0/8) nor one of {', '.join(RANGE_CLASSES)}"
        ) from None


def in_ranges(host: str, ranges: Iterable[str | IPNetwork]) -> bool:
    """True when `host` (normalised) is an address in one of `ranges`. The loopback class
    also holds the unspecified address (0.0.0.0 reaches this host) and the names
    ``localhost`` and ``*.localhost``. Other names are not resolved."""
    address = ip_of(host)
    for entry in ranges:
        if address is None:
            if entry == "loopback" and (host == "localhost" or host.endswith(".localhost")):
                return True
            continue
        if isinstance(entry, str):
            if getattr(address, f"is_{entry}"):
                return True
            if entry == "loopback" and address.is_unspecified:
                return True  # connecting to 0.0.0.0 (or ::) reaches this host
        elif address.version == entry.version and address in entry:
            return True
    return False


def host_of(value: str, schemes: Iterable[str] = ("https", "http")) -> str:
    """The normalised host a URL, e-mail address or bare domain names.

    Raises:
        HostError: the value hides its host (user information, backslashes, control
            characters, percent-encoding) or uses a scheme not in ``schemes``.
    """
    if any(ch.isspace() or ord(ch) < 32 or ch == "\\" for ch in value):
        raise HostError("contains whitespace, control characters or backslashes")
    if "://" in value:
        return _url_host(value, schemes)
    if "@" in value:
        local, _, domain = value.partition("@")
        if not local or "@" in domain:
            raise HostError(f"{value!r} is not a valid e-mail address")
        return normalise_host(domain)
    if any(ch in value for ch in "/:?#"):
        raise HostError(f"{value!r} is neither a URL with a scheme nor a bare host name")
    return normalise_host(value)


def _url_host(value: str, schemes: Iterable[str]) -> str:
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError as exc:
        raise HostError(f"malformed URL: {exc}") from exc
    if parts.scheme.lower() not in set(schemes):
        raise HostError(f"scheme {parts.scheme!r} is not allowed")
    if "@" in parts.netloc:
        raise HostError("URL carries user information (user@host), which can disguise its host")
    if not parts.hostname:
        raise HostError("URL has no host")
    return normalise_host(parts.hostname)


def host_matches(host: str, entries: Iterable[str]) -> bool:
    """True when ``host`` is one of ``entries`` or a subdomain of one (IPs match exactly)."""
    return any(host == entry or host.endswith("." + entry) for entry in entries)


def normalise(kind: NormaliseKind, value: object) -> str:
    """The comparable form of a value for one kind of data."""
    text = value if isinstance(value, str) else _scalar_text(value)
    if kind == "exact":
        return text
    text = unicodedata.normalize("NFKC", text).strip()
    if kind in ("account", "iban"):
        return _GROUPING.sub("", text).upper()
    if kind == "email":
        local, at, domain = text.rpartition("@")
        if not at:
            return text.casefold()
        try:
            return f"{local.casefold()}@{normalise_host(domain)}"
        except HostError:
            return text.casefold()
    if kind == "domain":
        try:
            return normalise_host(text)
        except HostError:
            return text.casefold()
    if kind == "url":
        return _normalise_url(text)
    return " ".join(text.casefold().split())


def _scalar_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _normalise_url(text: str) -> str:
    try:
        parts = urlsplit(text)
        host = normalise_host(parts.hostname or "")
    except ValueError:
        return text
    netloc = host if parts.port is None else f"{host}:{parts.port}"
    return urlunsplit((parts.scheme.lower(), netloc, parts.path or "/", parts.query, ""))


def appears_in(kind: NormaliseKind, value: str, text: str) -> bool:
    """True when the already-normalised ``value`` occurs in ``text`` as a whole token.

    An empty value appears nowhere: a value that normalises to nothing has no source.
    """
    if not value:
        return False
    if kind == "url":
        return any(
            _normalise_url(m.group().rstrip(_URL_TRAILING)) == value
            for m in _URL_IN_TEXT.finditer(text)
        )
    if kind in ("account", "iban"):
        return value.upper() in _grouped_numbers(unicodedata.normalize("NFKC", text))
    if kind == "exact":
        haystack = text
    elif kind == "text":
        haystack = " ".join(unicodedata.normalize("NFKC", text).casefold().split())
    else:
        haystack = unicodedata.normalize("NFKC", text).casefold()
    return any(p.search(haystack) for p in _token_patterns(kind, value))


# a number as written: groups holding a digit, joined by spaces or dashes, with letter
# groups (upper case, as banks print them) only between them ("GB33 BUKB 2020 1555")
_DIGIT_GROUP = r"[0-9A-Za-z]*[0-9][0-9A-Za-z]*"
_GROUPED_NUMBER = re.compile(
    rf"(?<![0-9A-Za-z]){_DIGIT_GROUP}(?:[\s\-]+(?:[A-Z]+[\s\-]+)*{_DIGIT_GROUP})*"
)


def _grouped_numbers(text: str) -> frozenset[str]:
    """Every whole number in `text`, its grouping removed: "1234-5678" is 12345678, and its
    groups are not numbers of their own."""
    return frozenset(_GROUPING.sub("", m.group()).upper() for m in _GROUPED_NUMBER.finditer(text))


@functools.lru_cache(maxsize=4096)
def _token_patterns(kind: NormaliseKind, value: str) -> tuple[re.Pattern[str], ...]:
    forms = {value if kind == "exact" else value.casefold()}
    if kind in ("domain", "email"):
        forms.add(_unicode_form(value).casefold())
        # a sentence may end right after an address, but "a@b.com.evil.org" is another host
        before, after = r"(?<![\w.@+-])", r"(?![\w@+-]|\.\w)"
    else:
        before, after = r"(?<!\w)", r"(?!\w)"
    return tuple(re.compile(before + re.escape(form) + after) for form in forms)


def _unicode_form(value: str) -> str:
    local, at, domain = value.rpartition("@")
    try:
        decoded = domain.encode("ascii").decode("idna")
    except UnicodeError:
        return value
    return f"{local}{at}{decoded}"


def untrusted_sources(history: History, marked: frozenset[str]) -> frozenset[str]:
    """Tools whose untrusted output entered the run (declared so, or marked by the policy)."""
    return frozenset(
        c.tool for c in history.calls if c.executed and (c.untrusted_output or c.tool in marked)
    )


def untrusted_outputs(history: History, marked: frozenset[str]) -> Iterable[tuple[str, str]]:
    """(tool, output text) for every executed call whose output is untrusted."""
    for c in history.calls:
        if c.executed and c.output and (c.untrusted_output or c.tool in marked):
            yield c.tool, c.output


def trusted_outputs(
    history: History, tools: Iterable[str], marked: frozenset[str] = frozenset()
) -> Iterable[str]:
    """Output texts of executed calls of the named (trusted) source tools.

    An output labelled untrusted vouches for nothing even from a named source: a database
    tool is a source for the rows of one query and not for the user-written text of another.
    """
    names = set(tools)
    for c in history.calls:
        labelled_trusted = not (c.untrusted_output or c.tool in marked)
        if c.executed and c.output and c.tool in names and not c.failed and labelled_trusted:
            yield c.output
