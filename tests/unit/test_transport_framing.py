"""The checks the transport adds to aiohttp's lenient parser, and its error mapping."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import aiohttp
import httpx2
import pytest

from agentkit.model.transport.aiohttp_errors import as_httpx2
from agentkit.model.transport.framing import check_request_head, check_response_head
from agentkit.model.transport.strict import StrictRequest, UnsolicitedBytes

GOOD = [(b"Content-Type", b"application/json"), (b"X-Tab", b"a\tb")]


def test_a_well_formed_head_passes() -> None:
    check_request_head("POST", GOOD)
    check_response_head(200, [*GOOD, (b"Transfer-Encoding", b" Chunked ")])


@pytest.mark.parametrize("method", ["GET /x HTTP/1.1\r\nHost: y\r\n\r\nGET", "PO ST", ""])
def test_a_method_that_is_not_a_token_is_refused(method: str) -> None:
    with pytest.raises(httpx2.LocalProtocolError, match="method"):
        check_request_head(method, GOOD)


@pytest.mark.parametrize("value", [b"a\r\nX: y", b"a\nb", b"a\rb", b"a\x00b", b"a\x7fb"])
def test_a_request_value_with_a_control_character_is_refused(value: bytes) -> None:
    with pytest.raises(httpx2.LocalProtocolError, match="control character"):
        check_request_head("GET", [(b"X-A", value)])


@pytest.mark.parametrize("name", [b"X A", b"X:A", b"", b"X\r\nY"])
def test_a_request_name_that_is_not_a_token_is_refused(name: bytes) -> None:
    with pytest.raises(httpx2.LocalProtocolError, match="name"):
        check_request_head("GET", [(name, b"v")])


@pytest.mark.parametrize("status", [0, 99, 600, 999, -200])
def test_a_status_outside_100_599_is_refused(status: int) -> None:
    with pytest.raises(httpx2.RemoteProtocolError, match="status"):
        check_response_head(status, GOOD)


def test_101_is_refused_as_no_upgrade_was_asked_for() -> None:
    with pytest.raises(httpx2.RemoteProtocolError, match="101"):
        check_response_head(101, GOOD)


@pytest.mark.parametrize(
    "headers",
    [
        [(b"Transfer-Encoding", b"xchunkedx")],
        [(b"Transfer-Encoding", b"gzip, chunked")],
        [(b"Transfer-Encoding", b"chunked"), (b"transfer-encoding", b"chunked")],
        [(b"Transfer-Encoding", b"identity")],
    ],
)
def test_any_transfer_encoding_but_one_chunked_is_refused(
    headers: list[tuple[bytes, bytes]],
) -> None:
    with pytest.raises(httpx2.RemoteProtocolError, match="Transfer-Encoding"):
        check_response_head(200, headers)


@pytest.mark.parametrize(
    "header", [(b"Content-Length ", b"5"), (b"X(A)", b"b"), (b"X-A", b"a\x01b")]
)
def test_a_bad_response_header_is_refused(header: tuple[bytes, bytes]) -> None:
    with pytest.raises(httpx2.RemoteProtocolError):
        check_response_head(200, [header])


def _connector_error(kind: type[aiohttp.ClientConnectorError]) -> aiohttp.ClientConnectorError:
    key: Any = SimpleNamespace(host="127.0.0.1", port=9, ssl=True)
    return kind(key, OSError(111, "refused"))


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (_connector_error(aiohttp.ClientConnectorError), httpx2.ConnectError),
        (_connector_error(aiohttp.ClientProxyConnectionError), httpx2.ProxyError),
        (aiohttp.ConnectionTimeoutError("slow"), httpx2.ConnectTimeout),
        (aiohttp.SocketTimeoutError("silent"), httpx2.ReadTimeout),
        (TimeoutError(), httpx2.ReadTimeout),
        (aiohttp.ServerDisconnectedError(), httpx2.RemoteProtocolError),
        (aiohttp.ClientPayloadError("cut"), httpx2.RemoteProtocolError),
        (aiohttp.ClientOSError(104, "reset"), httpx2.ReadError),
        (ValueError("bad header"), httpx2.LocalProtocolError),
    ],
)
def test_aiohttp_errors_become_httpx2_errors(error: Exception, expected: type) -> None:
    mapped = as_httpx2(error)
    assert type(mapped) is expected
    assert type(error).__name__ in str(mapped)


def test_a_parser_error_reads_as_one_line_without_aiohttps_400() -> None:
    info: Any = SimpleNamespace(real_url="http://127.0.0.1/")
    error = aiohttp.ClientResponseError(
        info, (), status=400, message="Duplicate Content-Length:\n\n  b'Content-Length: 7'\n ^"
    )
    mapped = as_httpx2(error)
    assert isinstance(mapped, httpx2.RemoteProtocolError)
    assert str(mapped) == (
        "malformed response: Duplicate Content-Length: b'Content-Length: 7' ^ (ClientResponseError)"
    )


def test_httpx2_errors_and_unknown_ones_pass_through() -> None:
    error = httpx2.ReadError("x")
    assert as_httpx2(error) is error
    other = KeyError("x")
    assert as_httpx2(other) is other


async def test_a_connection_holding_bytes_is_never_written_to() -> None:
    protocol = SimpleNamespace(should_close=True)
    connection: Any = SimpleNamespace(protocol=protocol)
    request: Any = None  # refused before the request itself is looked at
    with pytest.raises(UnsolicitedBytes) as refused:
        await StrictRequest.send(request, connection)
    assert refused.value.reused is False  # a new connection: the server spoke first
