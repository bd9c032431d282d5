"""Which proxy, if any, a request goes through: an explicit one, or the environment's.

The environment is read as curl, requests and httpx read it: ``HTTPS_PROXY``,
``HTTP_PROXY``, ``ALL_PROXY`` and ``NO_PROXY``, lower case first (``urllib``'s own
reading, which also ignores ``HTTP_PROXY`` under CGI). ``NO_PROXY`` is a comma list of
``*`` (no proxy at all), host names (``example.com`` covers its subdomains; a leading
``.`` or ``*.`` changes nothing), ``host:port``, IP addresses and CIDR networks.
"""

from __future__ import annotations

import ipaddress
import urllib.request
from dataclasses import dataclass, field

from agentkit.errors import ConfigError

_SCHEMES = ("http", "https")
_CACHE_LIMIT = 256

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True, slots=True)
class _Bypass:
    """One NO_PROXY entry."""

    host: str = ""
    port: int | None = None
    network: Network | None = None

    def matches(self, host: str, port: int) -> bool:
        if self.port is not None and self.port != port:
            return False
        if self.network is not None:
            try:
                return ipaddress.ip_address(host) in self.network
            except ValueError:
                return False
        return host == self.host or host.endswith("." + self.host)


@dataclass(slots=True)
class ProxyRoutes:
    """Proxy URL per scheme, the hosts that bypass it, and a cache of decisions."""

    by_scheme: dict[str, str] = field(default_factory=dict)
    bypass: tuple[_Bypass, ...] = ()
    _cache: dict[tuple[str, str, int], str | None] = field(default_factory=dict)

    @classmethod
    def explicit(cls, proxy: str) -> ProxyRoutes:
        """Every request through `proxy`; the environment is not read."""
        url = _proxy_url(proxy, "the proxy= argument")
        return cls(by_scheme=dict.fromkeys(_SCHEMES, url))

    @classmethod
    def from_environment(cls) -> ProxyRoutes:
        """The routes the process's proxy variables describe (read once, here)."""
        found = urllib.request.getproxies()
        no_proxy = found.get("no", "")
        if any(entry.strip() == "*" for entry in no_proxy.split(",")):
            return cls()
        fallback = found.get("all")
        by_scheme = {}
        for scheme in _SCHEMES:
            if value := found.get(scheme):
                by_scheme[scheme] = _proxy_url(value, f"{scheme.upper()}_PROXY")
            elif fallback:
                by_scheme[scheme] = _proxy_url(fallback, "ALL_PROXY")
        return cls(by_scheme=by_scheme, bypass=_parse_no_proxy(no_proxy))

    @property
    def empty(self) -> bool:
        """No request goes through a proxy."""
        return not self.by_scheme

    def proxy_for(self, scheme: str, host: str, port: int) -> str | None:
        """The proxy URL for a request to `scheme://host:port`, or None to go direct."""
        key = (scheme, host, port)
        try:
            return self._cache[key]
        except KeyError:
            pass
        chosen = self.by_scheme.get(scheme)
        host = host.lower().rstrip(".")
        if chosen is not None and any(entry.matches(host, port) for entry in self.bypass):
            chosen = None
        if len(self._cache) >= _CACHE_LIMIT:
            self._cache.clear()
        self._cache[key] = chosen
        return chosen


def _proxy_url(value: str, source: str) -> str:
    url = value.strip()
    if "://" not in url:
        url = "http://" + url
    scheme = url.split("://", 1)[0].lower()
    if scheme not in _SCHEMES:
        raise ConfigError(
            f"{source}: proxy scheme {scheme!r} is not supported: use an http:// or https:// proxy"
        )
    return url


def _parse_no_proxy(value: str) -> tuple[_Bypass, ...]:
    entries = []
    for raw in value.split(","):
        entry = raw.strip().lower()
        if entry:
            entries.append(_bypass_entry(entry))
    return tuple(entries)


def _bypass_entry(entry: str) -> _Bypass:
    if entry.startswith("["):  # [v6] or [v6]:port
        address, _, rest = entry[1:].partition("]")
        port = int(rest[1:]) if rest.startswith(":") and rest[1:].isdigit() else None
        return _network_or_host(address, port)
    host, sep, port_text = entry.rpartition(":")
    if sep and port_text.isdigit() and ":" not in host:
        return _network_or_host(host, int(port_text))
    return _network_or_host(entry, None)


def _network_or_host(text: str, port: int | None) -> _Bypass:
    try:
        return _Bypass(network=ipaddress.ip_network(text, strict=False), port=port)
    except ValueError:
        return _Bypass(host=text.removeprefix("*").lstrip(".").rstrip("."), port=port)
