"""HTTP/1.1 message checks aiohttp's lenient client parser leaves out.

aiohttp parses responses leniently (llhttp's lenient-headers mode, duplicate singleton
headers allowed) and accepts request header values it would only refuse while writing.
These checks hold both directions to what h11, httpx2's parser, requires, and more
where h11 is lax: a response that fails them is an error, never an answer.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import httpx2

_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# RFC 9110 5.5: field values hold no control character other than HTAB
_CONTROL = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")
_NO_UPGRADE_ASKED = 101


def check_request_head(method: str, headers: Iterable[tuple[bytes, bytes]]) -> None:
    """Refuse a request whose method or headers could split it on the wire.

    Raises:
        httpx2.LocalProtocolError: before anything is sent.
    """
    if not _TOKEN.fullmatch(method.encode("latin-1", "replace")):
        raise httpx2.LocalProtocolError(f"illegal request method {method[:40]!r}")
    for name, value in headers:
        if not _TOKEN.fullmatch(name):
            raise httpx2.LocalProtocolError(f"illegal request header name {name[:40]!r}")
        if _CONTROL.search(value):
            raise httpx2.LocalProtocolError(
                f"the value of request header {name.decode('latin-1')!r} holds a control "
                "character (CR, LF, NUL, ...): refused before sending"
            )


def check_response_head(status: int, headers: Iterable[tuple[bytes, bytes]]) -> None:
    """Refuse a response head that h11 would refuse, or that frames its body ambiguously.

    Raises:
        httpx2.RemoteProtocolError: the head is malformed; the connection must be dropped.
    """
    if not 100 <= status <= 599:
        raise httpx2.RemoteProtocolError(f"illegal status code {status}")
    if status == _NO_UPGRADE_ASKED:
        raise httpx2.RemoteProtocolError("101 Switching Protocols answers no upgrade asked for")
    transfer_encodings = 0
    for name, value in headers:
        if not _TOKEN.fullmatch(name):
            raise httpx2.RemoteProtocolError(f"illegal response header name {name[:40]!r}")
        if _CONTROL.search(value):
            raise httpx2.RemoteProtocolError(
                f"response header {name[:40]!r} holds a control character"
            )
        if len(name) == 17 and name.lower() == b"transfer-encoding":
            transfer_encodings += 1
            if transfer_encodings > 1 or value.strip().lower() != b"chunked":
                raise httpx2.RemoteProtocolError(
                    f"only a single Transfer-Encoding: chunked is supported, got {value[:40]!r}"
                )
