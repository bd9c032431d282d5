"""The fake's ``POST /v1/tokenize-text {text, model}``: pieces of at most four word
characters, each space and each other character its own token, so counts track the
four-characters-a-token rule the fake's usage follows."""

from __future__ import annotations

import re
import zlib

from agentkit.testing import replies
from agentkit.testing.exchange import HTTPReply, HTTPRequest
from agentkit.testing.side_endpoints import Refused, json_object, require

TOKENIZE_PATH = "/v1/tokenize-text"
_PIECE = re.compile(r"\w{1,4}|\s+|[^\w\s]", re.UNICODE)


def tokens_of(text: str) -> list[str]:
    """The fake tokenizer's pieces of ``text`` (joined, they are ``text``)."""
    return _PIECE.findall(text)


def tokenize_reply(request: HTTPRequest) -> HTTPReply:
    """The token list of the request's text, xAI's shape."""
    try:
        require(request.method.upper(), "POST")
        body = json_object(request)
        text, model = body.get("text"), body.get("model")
        if not isinstance(text, str) or not isinstance(model, str) or not model:
            raise Refused(422, "tokenize-text takes a string `text` and a `model`")
    except Refused as refused:
        return refused.reply()
    ids = [
        {
            "token_id": zlib.crc32(piece.encode()) % 131_072,
            "string_token": piece,
            "token_bytes": list(piece.encode()),
        }
        for piece in tokens_of(text)
    ]
    return replies.json_reply({"token_ids": ids})
