"""Proxies and certificates of the default transport, against real processes on loopback.

A forward proxy (proxy.py, from PyPI) runs as its own process on 127.0.0.1 and logs each
request it carries; the origins are raw servers on 127.0.0.1, over TLS with certificates
from a test CA made here (trustme). Nothing leaves the machine.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import httpx2
import pytest
import trustme

from agentkit.errors import ModelConnectionError
from agentkit.model import ModelRequest, RetryPolicy, XAIClient
from agentkit.model.transport import AiohttpTransport
from agentkit.testing.raw_http import Connection, RawServer, reply, responses_body, serving

REQUEST = ModelRequest(model="grok-4", input=[{"role": "user", "content": "hello"}])


@dataclass
class Proxy:
    """A running proxy.py: its URL and its access log."""

    url: str
    log: Path

    def carried(self, target: str, *, within: float = 3.0) -> bool:
        """Whether the access log names `target` ("GET host:port/path", "CONNECT host:port")."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if self.log.exists() and target in self.log.read_text():
                return True
            time.sleep(0.05)
        return False

    def requests(self) -> int:
        """Access-log lines so far."""
        text = self.log.read_text() if self.log.exists() else ""
        return text.count("access_log")


@contextlib.contextmanager
def forward_proxy(folder: Path, *options: str) -> Iterator[Proxy]:
    """proxy.py on 127.0.0.1 and an ephemeral port, for the duration of the block."""
    folder.mkdir(parents=True, exist_ok=True)
    port_file, log = folder / "port", folder / "access.log"
    command = [sys.executable, "-m", "proxy", "--hostname", "127.0.0.1", "--port", "0"]
    command += ["--port-file", str(port_file), "--log-file", str(log)]
    command += ["--num-workers", "1", "--num-acceptors", "1", *options]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while not (port_file.exists() and port_file.read_text().strip()):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("proxy.py did not start")
            time.sleep(0.05)
        yield Proxy(f"http://127.0.0.1:{port_file.read_text().strip()}", log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def proxy(
    tmp_path_factory: pytest.TempPathFactory, missing_service: Callable[[str], NoReturn]
) -> Iterator[Proxy]:
    if importlib.util.find_spec("proxy") is None:
        missing_service("proxy.py is not installed (pip install -e '.[dev]')")
    with forward_proxy(tmp_path_factory.mktemp("proxy")) as running:
        yield running


@pytest.fixture(autouse=True)
def _no_ambient_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.lower().endswith("_proxy") or name in {"SSL_CERT_FILE", "SSL_CERT_DIR"}:
            monkeypatch.delenv(name)


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def ca_file(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


def server_tls(ca: trustme.CA, *, client_certs: bool = False) -> ssl.SSLContext:
    """A server context with a certificate for 127.0.0.1 and localhost from `ca`."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    if client_certs:
        context.verify_mode = ssl.CERT_REQUIRED
        ca.configure_trust(context)
    return context


def trusting(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


async def _answer(conn: Connection) -> None:
    while await conn.request():
        await conn.write(reply(b"from the origin"))


async def _answer_responses(conn: Connection) -> None:
    while await conn.request():
        body = responses_body("through the proxy")
        await conn.write(reply(body, b"Content-Type: application/json"))


async def get(transport: AiohttpTransport, url: str) -> str:
    async with httpx2.AsyncClient(transport=transport, timeout=10.0) as http:
        response = await http.get(url)
        return response.text


def origin(server: RawServer) -> str:
    return f"127.0.0.1:{server.port}"


# --- the environment's proxies ------------------------------------------------------------


@pytest.mark.parametrize("variable", ["HTTP_PROXY", "http_proxy", "ALL_PROXY"])
async def test_http_goes_through_the_environments_proxy(
    proxy: Proxy, monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    monkeypatch.setenv(variable, proxy.url)
    async with serving(_answer) as server:
        assert await get(AiohttpTransport(), server.url + f"/{variable}") == "from the origin"
    assert proxy.carried(f"GET {origin(server)}/{variable}")


@pytest.mark.parametrize("variable", ["NO_PROXY", "no_proxy"])
async def test_no_proxy_goes_direct(
    proxy: Proxy, monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    monkeypatch.setenv(variable, "localhost,127.0.0.0/8")
    before = proxy.requests()
    async with serving(_answer) as server:
        assert await get(AiohttpTransport(), server.url) == "from the origin"
    assert not proxy.carried(origin(server), within=0.5)
    assert proxy.requests() == before


async def test_trust_env_false_reads_no_proxy_variable(
    proxy: Proxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    async with serving(_answer) as server:
        assert await get(AiohttpTransport(trust_env=False), server.url) == "from the origin"
    assert not proxy.carried(origin(server), within=0.5)


async def test_https_tunnels_through_the_proxy_and_verifies_against_ssl_cert_file(
    proxy: Proxy, ca: trustme.CA, ca_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))
    async with serving(_answer, tls=server_tls(ca)) as server:
        assert await get(AiohttpTransport(), server.url) == "from the origin"
    assert proxy.carried(f"CONNECT {origin(server)}")


async def test_https_through_the_proxy_refuses_a_certificate_it_does_not_trust(
    proxy: Proxy, ca: trustme.CA, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    async with serving(_answer, tls=server_tls(ca)) as server:
        with pytest.raises(httpx2.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            await get(AiohttpTransport(), server.url)
    assert proxy.carried(f"CONNECT {origin(server)}")
    assert server.requests == []


async def test_the_client_by_default_honours_https_proxy_and_ssl_cert_file(
    proxy: Proxy, ca: trustme.CA, ca_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # httpx2 reads no proxy variable once a transport is passed: the default one must
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))
    async with (
        serving(_answer_responses, tls=server_tls(ca)) as server,
        XAIClient(api_key="xai-proxy-test", base_url=server.url + "/v1") as client,
    ):
        answer = await client.respond(REQUEST)
    assert answer.text == "through the proxy"
    assert proxy.carried(f"CONNECT {origin(server)}")
    assert b"Authorization: Bearer xai-proxy-test" in server.requests[0]


# --- an explicit proxy ------------------------------------------------------------------


async def test_an_explicit_proxy_carries_http_and_https(
    proxy: Proxy, ca: trustme.CA, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NO_PROXY", "*")  # the environment is not read at all
    transport = AiohttpTransport(proxy=proxy.url, verify=trusting(ca))
    async with (
        serving(_answer) as plain,
        serving(_answer, tls=server_tls(ca)) as secure,
        httpx2.AsyncClient(transport=transport, timeout=10.0) as http,
    ):
        assert (await http.get(plain.url + "/explicit")).text == "from the origin"
        assert (await http.get(secure.url)).text == "from the origin"
    assert proxy.carried(f"GET {origin(plain)}/explicit")
    assert proxy.carried(f"CONNECT {origin(secure)}")


async def test_proxy_credentials_in_the_url_are_sent(tmp_path: Path, ca: trustme.CA) -> None:
    with forward_proxy(tmp_path, "--basic-auth", "agent:s3cret") as guarded:
        address = guarded.url.removeprefix("http://")
        async with serving(_answer, tls=server_tls(ca)) as server:
            allowed = AiohttpTransport(proxy=f"http://agent:s3cret@{address}", verify=trusting(ca))
            assert await get(allowed, server.url) == "from the origin"
            with pytest.raises(httpx2.ProxyError, match="407"):
                await get(AiohttpTransport(proxy=guarded.url, verify=trusting(ca)), server.url)


async def test_a_proxy_that_is_not_there_is_a_connection_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with serving(_answer) as server:
        dead = "http://127.0.0.1:9"  # discard port: nothing listens on loopback
        with pytest.raises(httpx2.ProxyError):
            await get(AiohttpTransport(proxy=dead), server.url)
        monkeypatch.setenv("HTTP_PROXY", dead)
        client = XAIClient(api_key="xai-x", base_url=server.url + "/v1", retry=RetryPolicy(1))
        async with client:
            with pytest.raises(ModelConnectionError, match="ProxyError"):
                await client.respond(REQUEST)
    assert server.requests == []


# --- certificates ---------------------------------------------------------------------------


async def test_a_client_certificate_is_presented_when_the_server_requires_one(
    ca: trustme.CA, tmp_path: Path
) -> None:
    issued = ca.issue_cert("agent.client.test")
    pem = tmp_path / "client.pem"
    issued.private_key_and_cert_chain_pem.write_to_path(str(pem))
    async with serving(_answer, tls=server_tls(ca, client_certs=True)) as server:
        with_cert = AiohttpTransport(verify=trusting(ca), cert=pem)
        assert await get(with_cert, server.url) == "from the origin"
        with pytest.raises(httpx2.TransportError):
            await get(AiohttpTransport(verify=trusting(ca)), server.url)
    assert len(server.requests) == 1


async def test_a_ca_bundle_path_verifies(ca: trustme.CA, ca_file: Path) -> None:
    async with serving(_answer, tls=server_tls(ca)) as server:
        assert await get(AiohttpTransport(verify=str(ca_file)), server.url) == "from the origin"
        with pytest.raises(httpx2.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            await get(AiohttpTransport(), server.url)
