"""The default transport resolves, names (SNI) and verifies the host httpx2 encoded.

httpx2 encodes a host with IDNA 2008 (faß.de -> xn--fa-hia.de); the stdlib's IDNA 2003
codec would read it as fass.de, another domain, for DNS and for the certificate alike.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from typing import Any

import httpx2
import pytest
import trustme

from agentkit.model.transport import AiohttpTransport
from agentkit.testing.raw_http import Connection, reply, serving

ENCODED = "xn--fa-hia.de"


async def _answer(conn: Connection) -> None:
    while await conn.request():
        await conn.write(reply(b"verified"))


@pytest.mark.parametrize("host", ["faß.de", ENCODED])
async def test_a_name_is_resolved_named_and_verified_as_its_idna_2008_form(
    monkeypatch: pytest.MonkeyPatch, host: str
) -> None:
    ca = trustme.CA()
    server_side = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(ENCODED).configure_cert(server_side)
    named: list[str | None] = []
    server_side.sni_callback = lambda _sock, name, _ctx: named.append(name)  # type: ignore[assignment,misc]
    resolved: list[str] = []
    loop = asyncio.get_running_loop()

    async def loopback(host: str, port: int, *args: Any, **kwargs: Any) -> Any:
        resolved.append(host)  # every name is 127.0.0.1 here: nothing leaves the machine
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]

    monkeypatch.setattr(loop, "getaddrinfo", loopback)
    verify = ssl.create_default_context()
    ca.configure_trust(verify)
    async with (
        serving(_answer, tls=server_side) as server,
        httpx2.AsyncClient(transport=AiohttpTransport(verify=verify)) as http,
    ):
        response = await http.get(f"https://{host}:{server.port}/")
    assert response.text == "verified"
    assert resolved == [ENCODED]
    assert named == [ENCODED]
