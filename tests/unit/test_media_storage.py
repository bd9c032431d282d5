"""Generated media in storage: content-addressed, written whole, every generation's
provenance kept beside the file; and the moderation seam refusing what it refuses."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentkit.decision import Principal
from agentkit.errors import ModerationRefused
from agentkit.media import LocalMediaStorage, ModerationItem, Verdict, moderate
from agentkit.media.storage import AI_LABEL, MediaProvenance, prompt_digest


def _made(user: str = "ana", request_id: str = "req-1") -> MediaProvenance:
    return MediaProvenance("image", "grok-imagine-image", prompt_digest("a cat"), request_id,
                           "2026-12-03T00:00:00+00:00", user)  # fmt: skip


def test_a_file_is_stored_under_its_sha256_with_its_provenance(tmp_path: Path) -> None:
    storage = LocalMediaStorage(tmp_path)
    data = b"\x89PNG\r\n\x1a\n" + b"pixels"
    stored = storage.put(data, "image/png", _made())
    digest = hashlib.sha256(data).hexdigest()
    assert stored.sha256 == digest
    assert Path(stored.location) == tmp_path / digest[:2] / f"{digest}.png"
    assert Path(stored.location).read_bytes() == data
    [record] = storage.provenance_of(digest)
    assert record["label"] == AI_LABEL
    assert record["request_id"] == "req-1"
    assert record["prompt_sha256"] == hashlib.sha256(b"a cat").hexdigest()
    assert "a cat" not in json.dumps(record)  # the hash, never the prompt
    assert not list(tmp_path.rglob(".incoming-*"))  # nothing half-written left


def test_the_same_bytes_twice_are_one_file_with_two_provenance_lines(tmp_path: Path) -> None:
    storage = LocalMediaStorage(tmp_path)
    first = storage.put(b"same", "image/png", _made("ana", "req-1"))
    second = storage.put(b"same", "image/png", _made("lee", "req-2"))
    assert first.location == second.location
    assert [r["user_id"] for r in storage.provenance_of(first.sha256)] == ["ana", "lee"]


@settings(max_examples=30, deadline=None)
@given(st.lists(st.binary(min_size=1, max_size=64), min_size=1, max_size=6, unique=True))
def test_every_distinct_content_gets_its_own_file(blobs: list[bytes]) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        storage = LocalMediaStorage(folder)
        stored = [storage.put(blob, "image/png", _made()) for blob in blobs]
        assert len({s.location for s in stored}) == len(blobs)
        for blob, kept in zip(blobs, stored, strict=True):
            assert Path(kept.location).read_bytes() == blob


async def test_a_refusal_names_its_stage_and_reason() -> None:
    item = ModerationItem("prompt", "generate_image", Principal(user_id="ana"), text="x")
    with pytest.raises(ModerationRefused, match="refused the prompt: not here") as refused:
        await moderate(lambda _: Verdict.refuse("not here"), item)
    assert refused.value.stage == "prompt"


async def test_an_async_moderator_is_awaited_and_a_non_verdict_refuses() -> None:
    item = ModerationItem("output", "generate_image", Principal(), data=b"png")

    async def allows(_: ModerationItem) -> Verdict:
        return Verdict.allow()

    await moderate(allows, item)
    with pytest.raises(ModerationRefused, match="not a Verdict"):
        await moderate(lambda _: True, item)  # type: ignore[arg-type,return-value]
