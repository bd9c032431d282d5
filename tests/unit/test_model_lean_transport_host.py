"""The lean transport connects to the host httpx2 encoded, not to the stdlib's reading of it."""

from __future__ import annotations

import asyncio
import ssl
from typing import Any

import httpx2
import pytest

from agentkit.model.lean_transport import LeanTransport


@pytest.mark.parametrize("url", ["https://faß.de/", "https://xn--fa-hia.de/"])
async def test_a_name_is_connected_to_and_verified_as_its_idna_2008_form(
    monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    # URL.host is the Unicode form (faß.de); handed to asyncio, the stdlib's IDNA 2003
    # codec would turn it into fass.de, another domain, for both DNS and the certificate
    seen: list[tuple[str, int, Any]] = []

    async def refuse(host: str, port: int, **kwargs: Any) -> Any:
        seen.append((host, port, kwargs.get("server_hostname")))
        raise OSError("not connecting in a unit test")

    monkeypatch.setattr(asyncio, "open_connection", refuse)
    transport = LeanTransport(ssl_context=ssl.create_default_context())
    async with httpx2.AsyncClient(transport=transport) as client:
        with pytest.raises(httpx2.ConnectError):
            await client.get(url)
    assert seen == [("xn--fa-hia.de", 443, "xn--fa-hia.de")]
