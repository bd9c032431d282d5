"""Which proxy a request takes: the explicit one, else the environment's, as curl reads it."""

from __future__ import annotations

import os

import pytest

from agentkit.errors import ConfigError
from agentkit.model.transport.proxies import ProxyRoutes


@pytest.fixture(autouse=True)
def _no_ambient_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.lower().endswith("_proxy") or name == "REQUEST_METHOD":
            monkeypatch.delenv(name)


def test_no_variables_no_proxy() -> None:
    routes = ProxyRoutes.from_environment()
    assert routes.empty
    assert routes.proxy_for("https", "api.x.ai", 443) is None


def test_each_scheme_takes_its_own_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://tls-proxy:3128")
    monkeypatch.setenv("HTTP_PROXY", "plain-proxy:3128")
    routes = ProxyRoutes.from_environment()
    assert routes.proxy_for("https", "api.x.ai", 443) == "http://tls-proxy:3128"
    assert routes.proxy_for("http", "api.x.ai", 80) == "http://plain-proxy:3128"


def test_all_proxy_is_the_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALL_PROXY", "http://every:1")
    monkeypatch.setenv("HTTP_PROXY", "http://plain:2")
    routes = ProxyRoutes.from_environment()
    assert routes.proxy_for("https", "api.x.ai", 443) == "http://every:1"
    assert routes.proxy_for("http", "api.x.ai", 80) == "http://plain:2"


def test_lower_case_wins_over_upper_case(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://upper:1")
    monkeypatch.setenv("https_proxy", "http://lower:2")
    assert ProxyRoutes.from_environment().proxy_for("https", "h", 443) == "http://lower:2"


def test_under_cgi_an_upper_case_http_proxy_is_a_request_header(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # httpoxy: a "Proxy:" request header reaches a CGI script as HTTP_PROXY
    monkeypatch.setenv("REQUEST_METHOD", "GET")
    monkeypatch.setenv("HTTP_PROXY", "http://attacker:1")
    assert ProxyRoutes.from_environment().proxy_for("http", "h", 80) is None


@pytest.mark.parametrize(
    ("no_proxy", "host", "port", "bypassed"),
    [
        ("example.com", "example.com", 443, True),
        ("example.com", "api.example.com", 443, True),
        ("example.com", "badexample.com", 443, False),
        (".example.com", "example.com", 443, True),
        ("*.example.com", "api.example.com", 443, True),
        ("EXAMPLE.com", "api.Example.COM", 443, True),
        ("example.com", "example.com.", 443, True),
        ("other.org, example.com", "example.com", 443, True),
        ("127.0.0.1", "127.0.0.1", 8080, True),
        ("127.0.0.1", "127.0.0.2", 8080, False),
        ("10.0.0.0/8", "10.20.30.40", 443, True),
        ("10.0.0.0/8", "11.0.0.1", 443, False),
        ("::1", "::1", 443, True),
        ("[::1]", "::1", 443, True),
        ("fd00::/8", "fd12::1", 443, True),
        ("localhost:8080", "localhost", 8080, True),
        ("localhost:8080", "localhost", 9090, False),
        ("*", "anything.example", 443, True),
        ("", "example.com", 443, False),
    ],
)
def test_no_proxy(
    monkeypatch: pytest.MonkeyPatch, no_proxy: str, host: str, port: int, bypassed: bool
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy:3128")
    monkeypatch.setenv("NO_PROXY", no_proxy)
    chosen = ProxyRoutes.from_environment().proxy_for("https", host, port)
    assert chosen == (None if bypassed else "http://proxy:3128")


def test_lower_case_no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("https_proxy", "http://proxy:3128")
    monkeypatch.setenv("no_proxy", "internal.example")
    routes = ProxyRoutes.from_environment()
    assert routes.proxy_for("https", "svc.internal.example", 443) is None
    assert routes.proxy_for("https", "api.x.ai", 443) == "http://proxy:3128"


def test_an_explicit_proxy_takes_everything_and_ignores_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://from-env:1")
    monkeypatch.setenv("NO_PROXY", "*")
    routes = ProxyRoutes.explicit("http://user:secret@explicit:3128")
    assert routes.proxy_for("https", "api.x.ai", 443) == "http://user:secret@explicit:3128"
    assert routes.proxy_for("http", "127.0.0.1", 80) == "http://user:secret@explicit:3128"


@pytest.mark.parametrize("variable", ["ALL_PROXY", "HTTPS_PROXY"])
def test_a_proxy_scheme_aiohttp_cannot_speak_is_a_config_error(
    monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    monkeypatch.setenv(variable, "socks5://127.0.0.1:1080")
    with pytest.raises(ConfigError, match=f"{variable}: proxy scheme 'socks5'"):
        ProxyRoutes.from_environment()
    with pytest.raises(ConfigError, match="proxy="):
        ProxyRoutes.explicit("socks5h://127.0.0.1:1080")
