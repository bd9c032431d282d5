"""Data flow: normalising values, where a value came from, and what untrusted data the run saw.

Values are compared after normalisation so that ``Alice@Example.COM`` is the address
the user typed as ``alice@example.com``, and ``DE89 3704-0044`` the account ``DE893704 0044``.
"""

from __future__ import annotations

import contextlib
import functools
import ipaddress
import re
import socket
import unicodedata
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import idna

from agentkit.decision import History
from agentkit.policy.spec import NormaliseKind

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_URL_IN_TEXT = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*://[^\s<>\"']+")
_URL_TRAILING = ".,;:!?)]}'\""
_GROUPING = re.compile(r"[\s\-]+")


class HostError(ValueError):
    """A value does not name a usable host; the message says why."""


def normalise_host(host: str) -> str:
    """The host an HTTP client connects to for ``host``, in the form the policy compares.

    A name is read as httpx2 reads a URL's host: lower-cased (``str.lower``, over the whole
    name) and, unless it is ASCII, encoded by IDNA 2008 (the ``idna`` package, the one
    httpx2 uses), non-transitional and without a UTS 46 mapping step. So ``faß.de`` is
    ``xn--fa-hia.de``, not ``fass.de``, and ß, ς and the joiners are kept. The dots IDNA
    reads as dots (U+3002, U+FF0E, U+FF61) separate labels; one trailing dot, the DNS
    root, is dropped. An address, in any spelling ``ip_of`` reads, is its canonical form.

    Raises:
        HostError: the client refuses the name (whatever IDNA 2008 disallows: fullwidth
            letters, symbols and emoji, labels not in NFC or starting with a combining mark,
            joiners out of context, mixed directions), a label is not letters, digits and
            hyphens, or an ``xn--`` label is not a valid A-label.
    """
    if not host or "%" in host:
        raise HostError(f"{host!r} is not a valid host name")
    name = _client_form(host).removesuffix(".")
    address = ip_of(name)
    if address is not None:
        return str(address)
    for label in name.split("."):
        _check_label(host, label)
    return name


def _client_form(host: str) -> str:
    """The ASCII host httpx2's ``encode_host`` makes of a name, or HostError where it refuses it.

    The client lower-cases ASCII and passes it through; anything else it lower-cases and
    encodes with ``idna.encode`` as a whole (the case of ``Σ`` depends on what follows it).
    """
    lowered = host.lower()
    if host.isascii():
        return lowered
    try:
        return idna.encode(lowered).decode("ascii")
    except idna.IDNAError as exc:
        raise HostError(
            f"{host!r} is not a host name the HTTP client accepts (IDNA 2008): {exc}"
        ) from exc


def _check_label(host: str, label: str) -> None:
    if not _LABEL.match(label):
        raise HostError(f"{host!r} is not a valid host name")
    if label.startswith("xn--"):
        # httpx2 sends an ASCII name unchecked, so a fake A-label (xn---bbk) would reach
        # DNS as itself while displaying as another name: only a valid one is a host
        try:
            idna.ulabel(label)
        except idna.IDNAError as exc:
            raise HostError(
                f"{host!r}: {label!r} is not a valid A-label (IDNA 2008): {exc}"
            ) from exc


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
    """The comparable form of a value for one kind of data.

    A ``domain``, the domain of an ``email`` and the host of a ``url`` are read by
    ``normalise_host`` and nothing else: NFKC or case folding first would read fass.de
    in fullwidth letters, or with a long s, as ``fass.de``, names the HTTP client refuses.

    Raises:
        HostError: such a value names a host ``normalise_host`` refuses.
    """
    text = value if isinstance(value, str) else _scalar_text(value)
    if kind == "exact":
        return text
    if kind == "domain":
        return normalise_host(text.strip())
    if kind == "email":
        return _normalise_email(text.strip())
    if kind == "url":
        return _normalise_url(text.strip())
    text = unicodedata.normalize("NFKC", text).strip()
    if kind in ("account", "iban"):
        return _GROUPING.sub("", text).upper()
    return " ".join(text.casefold().split())


def _normalise_email(text: str) -> str:
    local, at, domain = text.rpartition("@")
    if not at:
        return unicodedata.normalize("NFKC", text).casefold()
    return f"{unicodedata.normalize('NFKC', local).casefold()}@{normalise_host(domain)}"


def _scalar_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# a URL without a scheme, as people type one: a host with a dot (or an address), an
# optional port, then a path, query or fragment (www.example.com/path, example.com)
_SCHEMELESS = re.compile(r"[^\s/?#@:\\\[\]]+\.[^\s/?#@:\\\[\]]+(?::[0-9]+)?(?:[/?#]\S*)?")
_DEFAULT_PORTS = {"https": 443, "http": 80}


def _normalise_url(text: str) -> str:
    """A URL in the form compared: scheme and host lower-cased, the host as
    ``normalise_host`` reads it, a default port dropped, an empty path ``/``, no fragment.
    A URL without a scheme (``www.example.com/path``, a bare ``example.com``) reads as
    ``https``, as a browser's address bar reads it."""
    if "://" not in text and _SCHEMELESS.fullmatch(text):
        text = "https://" + text
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise HostError(f"malformed URL: {exc}") from exc
    if not parts.hostname:
        return text  # no host to read (mailto:, a relative reference)
    host = normalise_host(parts.hostname)
    scheme = parts.scheme.lower()
    netloc = host if port is None or _DEFAULT_PORTS.get(scheme) == port else f"{host}:{port}"
    return urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))


def _urls_in(text: str) -> Iterable[str]:
    """The URLs of a text: with a scheme, and without one (``www.example.com/path``)."""
    for match in _URL_IN_TEXT.finditer(text):
        yield match.group().rstrip(_URL_TRAILING)
    for token in re.split(r"[\s<>\"']+", text):
        token = token.lstrip("([{").rstrip(_URL_TRAILING)
        if "://" not in token and _SCHEMELESS.fullmatch(token):
            yield token


def appears_in(kind: NormaliseKind, value: str, text: str) -> bool:
    """True when the already-normalised ``value`` occurs in ``text`` as a whole token.

    A domain or e-mail address appears where a token of the text, read as ``normalise``
    reads the value, is that value: ``faß.de`` does not appear in "write to fass.de".
    An empty value appears nowhere: a value that normalises to nothing has no source.

    The readers below (`token_values`, `host_tokens` and `spells`, `haystack` and
    `token_pattern`) are this test in parts, for an index that reads each text once.
    """
    if not value:
        return False
    if kind in VALUE_KINDS:
        return (value.upper() if kind != "url" else value) in token_values(kind, text)
    if kind in HOST_KINDS:
        return any(spells(kind, value, token) for token in host_tokens(kind, text))
    return token_pattern(kind, value).search(haystack(kind, text)) is not None


VALUE_KINDS = ("url", "account", "iban")
"""Kinds whose tokens a text holds are read whole, each into one normalised value."""
HOST_KINDS = ("domain", "email")
"""Kinds whose tokens are read as hosts, only where they could spell the value's host."""


def token_values(kind: NormaliseKind, text: str) -> frozenset[str]:
    """For a kind of `VALUE_KINDS`: the normalised values `text` holds as whole tokens (a URL
    as ``normalise`` reads it, a number without its grouping)."""
    if kind == "url":
        found = (normalised_or_none(kind, url) for url in _urls_in(text))
        return frozenset(url for url in found if url is not None)
    return _grouped_numbers(unicodedata.normalize("NFKC", text))


def haystack(kind: NormaliseKind, text: str) -> str:
    """`text` as a text or exact value is searched: for ``text`` folded and its white space
    collapsed, as ``normalise`` reads a value."""
    if kind == "exact":
        return text
    if kind == "text":
        return " ".join(unicodedata.normalize("NFKC", text).casefold().split())
    return unicodedata.normalize("NFKC", text).casefold()


def token_pattern(kind: NormaliseKind, value: str) -> re.Pattern[str]:
    """The pattern of the normalised `value` as a whole token of a `haystack`."""
    return _token_patterns(kind, value)[0]


def normalised_or_none(kind: NormaliseKind, text: Any) -> str | None:
    """`text` normalised as `kind`, or None when it names no usable host."""
    try:
        return normalise(kind, text)
    except HostError:
        return None


def scalar_texts(node: Any) -> Iterator[str]:
    """Every text and number in a JSON value, depth first (numbers spelt as ``exact`` reads
    them; booleans and nulls hold no value a person could name)."""
    if isinstance(node, dict):
        for value in node.values():
            yield from scalar_texts(value)
    elif isinstance(node, list):
        for value in node:
            yield from scalar_texts(value)
    elif isinstance(node, str):
        yield node
    elif isinstance(node, int | float) and not isinstance(node, bool):
        yield normalise("exact", node)


# Where a host name or an e-mail address in prose ends: spaces, brackets, quotes and the
# punctuation of URLs (an apostrophe only ends a domain: o'brien@example.com is one address).
# Each piece between them is read whole, as normalise_host reads it, so "a@b.com.evil.org"
# never holds a@b.com and "fass.de" never holds faß.de.
_DELIMITERS = (
    r"\s<>\"()\[\]{},;:/?#=&|\\^`!*"
    "\u00ab\u00bb\u2018-\u201f\u2039\u203a\u3001\u3008-\u3011\uff08\uff09\uff0c"
)
_ADDRESS_DELIMITERS = re.compile(f"[{_DELIMITERS}]+")
_DOMAIN_DELIMITERS = re.compile(f"[{_DELIMITERS}']+")
_IDNA_DOTS = re.compile("[.\u3002\uff0e\uff61]")
_TOKEN_END = "'.\u3002\uff0e\uff61"  # a closing quote or a sentence's full stop


def host_tokens(kind: NormaliseKind, text: str) -> Iterator[str]:
    """For a kind of `HOST_KINDS`: the pieces of `text` that may be a host name or address,
    as written (NFC), without the quotes and full stops around them."""
    delimiters = _ADDRESS_DELIMITERS if kind == "email" else _DOMAIN_DELIMITERS
    # NFC composes what a keyboard may send decomposed (u and U+0308 for ü): the same text
    for token in delimiters.split(unicodedata.normalize("NFC", text)):
        yield token.lstrip("'").rstrip(_TOKEN_END)


def spells(kind: NormaliseKind, value: str, token: str) -> bool:
    """True when a token of `host_tokens`, read as ``normalise`` reads it, is ``value``."""
    host = value.rpartition("@")[2]
    return _may_spell(token.rpartition("@")[2], host) and normalised_or_none(kind, token) == value


def host_key(name: str) -> str:
    """One key for every way `name` may spell a host (`_may_spell`), so an index can find the
    tokens that may be a value by its host: lower case, IDNA dots as dots, and a label that
    is not ASCII as its A-label."""
    return ".".join(_label_key(label) for label in _IDNA_DOTS.split(name.lower()))


@functools.lru_cache(maxsize=4096)
def _label_key(label: str) -> str:
    if label.isascii():
        return label
    try:
        return idna.alabel(label).decode("ascii")
    except (idna.IDNAError, UnicodeError):
        return label


def _may_spell(name: str, host: str) -> bool:
    """False when ``name`` cannot normalise to ``host`` (an address only as written): a
    cheap test that spares reading every word of a long text as a host name."""
    labels = _IDNA_DOTS.split(name.lower())
    forms = _label_forms(host)
    return len(labels) == len(forms) and all(
        label in spellings for label, spellings in zip(labels, forms, strict=True)
    )


@functools.lru_cache(maxsize=1024)
def _label_forms(host: str) -> tuple[frozenset[str], ...]:
    """Each label of a normalised host as a lower-cased text may spell it: the label itself,
    and for an A-label the U-label it decodes to."""
    forms = []
    for label in host.split("."):
        spellings = {label}
        if label.startswith("xn--"):
            with contextlib.suppress(idna.IDNAError):
                spellings.add(idna.ulabel(label))
        forms.append(frozenset(spellings))
    return tuple(forms)


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
    form = value if kind == "exact" else value.casefold()
    return (re.compile(r"(?<!\w)" + re.escape(form) + r"(?!\w)"),)


def untrusted_sources(history: History, marked: frozenset[str]) -> frozenset[str]:
    """Tools whose untrusted output entered the run (declared so, or marked by the policy)."""
    return frozenset(
        c.tool for c in history.calls if c.executed and (c.untrusted_output or c.tool in marked)
    )
