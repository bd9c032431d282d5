"""The fake's image and video endpoints, and the input images it sees, in-process."""

from __future__ import annotations

import asyncio
import base64
import struct
import zlib
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import httpx2
import pytest

from agentkit.errors import ConfigError
from agentkit.testing import FakeXAI, Fault
from agentkit.testing.fake_media import MediaBehaviour, png_image
from agentkit.testing.server import serve_in_thread

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_DATA_URI = "data:image/png;base64," + base64.b64encode(png_image("input")).decode()
MODEL = "grok-4-fast-non-reasoning"


@pytest.fixture
def fake() -> FakeXAI:
    return FakeXAI()


@pytest.fixture
async def client(fake: FakeXAI) -> AsyncIterator[httpx2.AsyncClient]:
    async with httpx2.AsyncClient(transport=fake.transport(), base_url="http://fake/v1") as http:
        yield http


def png_chunks(data: bytes) -> dict[bytes, bytes]:
    """The chunks of a PNG by type, checking each CRC."""
    assert data.startswith(PNG_SIGNATURE)
    chunks, offset = {}, len(PNG_SIGNATURE)
    while offset < len(data):
        (length,) = struct.unpack_from(">I", data, offset)
        kind = data[offset + 4 : offset + 8]
        payload = data[offset + 8 : offset + 8 + length]
        (crc,) = struct.unpack_from(">I", data, offset + 8 + length)
        assert crc == zlib.crc32(kind + payload), kind
        chunks[kind] = payload
        offset += 12 + length
    return chunks


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from IHDR, after checking the pixels decompress to match them."""
    chunks = png_chunks(data)
    width, height, depth, colour = struct.unpack(">IIBB", chunks[b"IHDR"][:10])
    assert (depth, colour) == (8, 2)
    assert len(zlib.decompress(chunks[b"IDAT"])) == height * (1 + 3 * width)
    assert b"IEND" in chunks
    return width, height


def boxes(data: bytes) -> dict[str, bytes]:
    """The ISO-BMFF boxes at one level, by type; every size must fit exactly."""
    found, offset = {}, 0
    while offset < len(data):
        size, kind = struct.unpack_from(">I4s", data, offset)
        assert 8 <= size <= len(data) - offset, (kind, size)
        found[kind.decode()] = data[offset + 8 : offset + size]
        offset += size
    assert offset == len(data)
    return found


async def generate(client: httpx2.AsyncClient, **body: Any) -> httpx2.Response:
    return await client.post("/images/generations", json={"prompt": "a lighthouse", **body})


async def poll_video(client: httpx2.AsyncClient, request_id: str) -> list[httpx2.Response]:
    """Poll until the job stops answering 202; every reply, the last one included."""
    polls = []
    for _ in range(20):
        polls.append(await client.get(f"/videos/{request_id}"))
        if polls[-1].status_code != 202:
            return polls
    raise AssertionError("the video job never ended")


# --- images -------------------------------------------------------------------------------


async def test_generation_returns_n_downloadable_pngs(
    fake: FakeXAI, client: httpx2.AsyncClient
) -> None:
    reply = await generate(client, n=3)
    assert reply.status_code == 200
    body = reply.json()
    assert body["usage"] == {"cost_in_usd_ticks": 600_000_000}
    assert len(body["data"]) == 3
    pngs = []
    for item in body["data"]:
        assert set(item) == {"url"}
        assert item["url"].startswith("http://fake/fake-media/")
        assert item["url"].endswith(".png")
        download = await client.get(item["url"])
        assert download.status_code == 200
        assert download.headers["content-type"] == "image/png"
        assert png_size(download.content) == (64, 64)
        pngs.append(download.content)
    assert len(set(pngs)) == 3
    assert fake.count("/v1/images/generations") == 1
    assert fake.count(None) == 4


async def test_b64_json_is_bare_base64_of_a_png(client: httpx2.AsyncClient) -> None:
    reply = await generate(client, response_format="b64_json", aspect_ratio="16:9")
    [item] = reply.json()["data"]
    assert item["mime_type"] == "image/png"
    assert not item["b64_json"].startswith("data:")
    assert png_size(base64.b64decode(item["b64_json"], validate=True)) == (64, 36)


async def test_different_prompts_give_different_images(client: httpx2.AsyncClient) -> None:
    first = await generate(client, response_format="b64_json")
    again = await generate(client, response_format="b64_json")
    other = await generate(client, prompt="a harbour", response_format="b64_json")
    image = [r.json()["data"][0]["b64_json"] for r in (first, again, other)]
    assert image[0] == image[1]
    assert image[0] != image[2]


@pytest.mark.parametrize(
    "body",
    [
        {"n": 0},
        {"n": 11},
        {"aspect_ratio": "5:4"},
        {"resolution": "4k"},
        {"response_format": "png"},
        {"prompt": "x" * 1025},
    ],
)
async def test_bad_image_parameters_are_400(client: httpx2.AsyncClient, body: Any) -> None:
    reply = await generate(client, **body)
    assert reply.status_code == 400
    assert reply.json()["code"] == "Client specified an invalid argument"


async def test_prompt_of_exactly_1024_characters_is_accepted(client: httpx2.AsyncClient) -> None:
    assert (await generate(client, prompt="x" * 1024)).status_code == 200


async def test_missing_prompt_is_refused(client: httpx2.AsyncClient) -> None:
    reply = await client.post("/images/generations", json={"n": 1})
    assert reply.status_code == 422
    assert "prompt" in reply.json()["error"]


async def test_deferred_image_is_pending_then_done(
    fake: FakeXAI, client: httpx2.AsyncClient
) -> None:
    started = await generate(client, deferred=True, n=2)
    assert set(started.json()) == {"request_id"}
    request_id = started.json()["request_id"]
    pending = await client.get(f"/images/{request_id}")
    assert pending.status_code == 202
    done = await client.get(f"/images/{request_id}")
    assert done.status_code == 200
    body = done.json()
    assert (body["request_id"], body["status"]) == (request_id, "done")
    assert len(body["data"]) == 2
    assert body["usage"]["cost_in_usd_ticks"] == 400_000_000
    assert (await client.get(body["data"][0]["url"])).content.startswith(PNG_SIGNATURE)
    assert fake.count(f"/v1/images/{request_id}") == 2


async def test_image_edit_needs_an_image(client: httpx2.AsyncClient) -> None:
    refused = await client.post("/images/edits", json={"prompt": "make it blue"})
    assert refused.status_code == 400
    one = {"prompt": "make it blue", "image": {"url": PNG_DATA_URI}}
    assert (await client.post("/images/edits", json=one)).status_code == 200
    many = {
        "prompt": "blend",
        "images": [{"url": "https://img.example/a.png"}, {"url": PNG_DATA_URI}],
    }
    assert (await client.post("/images/edits", json=many)).status_code == 200
    bad = {"prompt": "make it blue", "image": {"url": "data:image/png;base64,@@@"}}
    assert (await client.post("/images/edits", json=bad)).status_code == 400


async def test_unknown_ids_and_files_are_404(client: httpx2.AsyncClient) -> None:
    assert (await client.get("/images/no-such-request")).status_code == 404
    assert (await client.get("/videos/no-such-request")).status_code == 404
    assert (await client.get("http://fake/fake-media/nothing.png")).status_code == 404
    video = await client.post("/videos/generations", json={"prompt": "waves"})
    request_id = video.json()["request_id"]
    assert (await client.get(f"/images/{request_id}")).status_code == 404


async def test_wrong_method_is_405(client: httpx2.AsyncClient) -> None:
    assert (await client.get("/images/generations")).status_code == 405
    assert (await client.get("/videos/extensions")).status_code == 405


# --- videos -------------------------------------------------------------------------------


async def test_video_is_pending_with_rising_progress_then_done(
    fake: FakeXAI, client: httpx2.AsyncClient
) -> None:
    started = await client.post(
        "/videos/generations", json={"prompt": "waves at dusk", "duration": 5}
    )
    assert started.status_code == 200
    request_id = started.json()["request_id"]
    *pending, done = await poll_video(client, request_id)
    assert [p.status_code for p in pending] == [202, 202, 202]
    progress = [p.json()["progress"] for p in pending]
    assert progress == [0, 33, 66]
    assert all(p.json()["status"] == "pending" for p in pending)
    body = done.json()
    assert done.status_code == 200
    assert (body["status"], body["progress"], body["model"]) == ("done", 100, "grok-imagine-video")
    assert body["video"]["duration"] == 5
    assert body["video"]["respect_moderation"] is True
    assert body["usage"]["cost_in_usd_ticks"] == 5 * 500_000_000
    assert (await client.get(f"/videos/{request_id}")).json() == body  # done stays done
    assert fake.count(f"/v1/videos/{request_id}") == 5


async def test_video_file_is_an_mp4_container(client: httpx2.AsyncClient) -> None:
    started = await client.post("/videos/generations", json={"prompt": "waves", "duration": 7})
    *_, done = await poll_video(client, started.json()["request_id"])
    download = await client.get(done.json()["video"]["url"])
    assert download.headers["content-type"] == "video/mp4"
    data = download.content
    assert 1024 < len(data) < 16 * 1024
    assert data[4:8] == b"ftyp"
    top = boxes(data)
    assert list(top) == ["ftyp", "moov", "mdat"]
    assert top["ftyp"][:4] == b"isom"
    assert b"mp42" in top["ftyp"][8:]
    moov = boxes(top["moov"])
    assert {"mvhd", "trak"} <= set(moov)
    timescale, duration = struct.unpack_from(">II", moov["mvhd"], 12)
    assert duration / timescale == 7
    trak = boxes(moov["trak"])
    assert {"tkhd", "mdia"} <= set(trak)
    assert {"mdhd", "hdlr", "minf"} <= set(boxes(trak["mdia"]))
    assert len(top["mdat"]) >= 1024


async def test_video_bytes_follow_from_the_request() -> None:
    fake = FakeXAI(media=MediaBehaviour(video_polls=0))
    async with httpx2.AsyncClient(transport=fake.transport(), base_url="http://fake/v1") as http:
        files = []
        for prompt in ("waves", "waves", "rain"):
            started = await http.post("/videos/generations", json={"prompt": prompt})
            done = await http.get(f"/videos/{started.json()['request_id']}")
            assert done.status_code == 200
            files.append((await http.get(done.json()["video"]["url"])).content)
    assert files[0] == files[1]
    assert boxes(files[0])["mdat"] != boxes(files[2])["mdat"]


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"prompt": "waves", "duration": 0}, 400),
        ({"prompt": "waves", "duration": 16}, 400),
        ({"prompt": "waves", "aspect_ratio": "21:9"}, 400),
        ({"prompt": "waves", "resolution": "4k"}, 400),
        ({"duration": 5}, 400),
        ({"prompt": "waves", "duration": "5"}, 422),
    ],
)
async def test_bad_video_parameters(client: httpx2.AsyncClient, body: Any, status: int) -> None:
    assert (await client.post("/videos/generations", json=body)).status_code == status


async def test_image_to_video_needs_no_prompt(client: httpx2.AsyncClient) -> None:
    reply = await client.post("/videos/generations", json={"image": {"url": PNG_DATA_URI}})
    assert reply.status_code == 200


async def test_edits_and_extensions_need_a_video(client: httpx2.AsyncClient) -> None:
    for path in ("/videos/edits", "/videos/extensions"):
        assert (await client.post(path, json={"prompt": "slower"})).status_code == 422
    source = {"url": "https://vid.example/a.mp4"}
    assert (
        await client.post("/videos/extensions", json={"video": source, "duration": 11})
    ).status_code == 400
    extended = await client.post("/videos/extensions", json={"prompt": "on", "video": source})
    *_, done = await poll_video(client, extended.json()["request_id"])
    assert done.json()["video"]["duration"] == 6


async def test_edit_keeps_the_duration_of_a_video_it_made(client: httpx2.AsyncClient) -> None:
    made = await client.post("/videos/generations", json={"prompt": "waves", "duration": 4})
    *_, done = await poll_video(client, made.json()["request_id"])
    video = {"url": done.json()["video"]["url"]}
    edit = await client.post("/videos/edits", json={"prompt": "in black and white", "video": video})
    *_, edited = await poll_video(client, edit.json()["request_id"])
    assert edited.json()["video"]["duration"] == 4


@pytest.mark.parametrize(
    ("prompt", "outcome", "expected"),
    [
        ("waves [fail]", "done", "failed"),
        ("waves [expire]", "done", "expired"),
        ("waves", "failed", "failed"),
        ("waves", "expired", "expired"),
    ],
)
async def test_video_failed_and_expired(prompt: str, outcome: Any, expected: str) -> None:
    fake = FakeXAI(media=MediaBehaviour(video_polls=1, video_outcome=outcome))
    async with httpx2.AsyncClient(transport=fake.transport(), base_url="http://fake/v1") as http:
        started = await http.post("/videos/generations", json={"prompt": prompt})
        *pending, ended = await poll_video(http, started.json()["request_id"])
    assert len(pending) == 1
    assert ended.status_code == 200
    body = ended.json()
    assert body["status"] == expected
    assert "video" not in body
    if expected == "failed":
        assert body["error"]["code"] == "internal_error"
        assert body["error"]["message"]
    else:
        assert body == {"status": "expired"}


async def test_behaviour_can_be_swapped_for_new_jobs(
    fake: FakeXAI, client: httpx2.AsyncClient
) -> None:
    fake.media.behaviour = replace(fake.media.behaviour, video_polls=0)
    started = await client.post("/videos/generations", json={"prompt": "waves"})
    assert (await client.get(f"/videos/{started.json()['request_id']}")).status_code == 200


def test_behaviour_rejects_nonsense() -> None:
    with pytest.raises(ConfigError):
        MediaBehaviour(video_polls=-1)
    with pytest.raises(ConfigError):
        MediaBehaviour(download_delay=-0.5)


# --- downloads, limits, faults ------------------------------------------------------------


async def test_slow_download_waits(client: httpx2.AsyncClient, fake: FakeXAI) -> None:
    url = (await generate(client)).json()["data"][0]["url"]
    fake.media.behaviour = MediaBehaviour(download_delay=0.3)
    with pytest.raises(httpx2.ReadTimeout):
        await client.get(url, timeout=httpx2.Timeout(5.0, read=0.05))
    loop = asyncio.get_running_loop()
    began = loop.time()
    assert (await client.get(url)).status_code == 200
    assert loop.time() - began >= 0.3


async def test_rate_limit_next_answers_429_then_recovers(
    fake: FakeXAI, client: httpx2.AsyncClient
) -> None:
    fake.media.rate_limit_next = 2
    for _ in range(2):
        limited = await generate(client)
        assert limited.status_code == 429
        assert limited.headers["retry-after"] == "1"
        assert limited.json()["code"] == "Some resource has been exhausted"
    assert (await generate(client)).status_code == 200
    assert fake.media.rate_limit_next == 0
    assert fake.count("/v1/images/generations") == 3


async def test_429_on_a_poll_does_not_advance_the_job(
    fake: FakeXAI, client: httpx2.AsyncClient
) -> None:
    fake.media.behaviour = MediaBehaviour(video_polls=1)
    request_id = (await client.post("/videos/generations", json={"prompt": "w"})).json()[
        "request_id"
    ]
    fake.media.rate_limit_next = 1
    assert (await client.get(f"/videos/{request_id}")).status_code == 429
    assert (await client.get(f"/videos/{request_id}")).status_code == 202
    assert (await client.get(f"/videos/{request_id}")).status_code == 200


async def test_injected_media_faults_keep_to_their_path(
    fake: FakeXAI, client: httpx2.AsyncClient
) -> None:
    fault = replace(Fault.http(503), path="/v1/videos/generations")
    fake.media.inject(fault)
    assert (await generate(client)).status_code == 200
    assert (await client.post("/videos/generations", json={"prompt": "w"})).status_code == 503
    assert fake.media.pending_faults() == 0
    fake.media.inject(Fault.drop())
    with pytest.raises(httpx2.RemoteProtocolError):
        await generate(client)


async def test_model_faults_do_not_touch_media(fake: FakeXAI, client: httpx2.AsyncClient) -> None:
    fake.inject(Fault.http(429, retry_after=1))
    assert (await generate(client)).status_code == 200
    assert fake.pending_faults() == 1


def test_urls_name_the_loopback_server() -> None:
    fake = FakeXAI(media=MediaBehaviour(video_polls=0))
    with serve_in_thread(fake) as server:
        url = httpx2.post(
            server.base_url + "/images/generations", json={"prompt": "a lighthouse"}
        ).json()["data"][0]["url"]
        assert url.startswith(f"http://127.0.0.1:{server.port}/fake-media/")
        download = httpx2.get(url)
    assert download.headers["content-type"] == "image/png"
    assert png_size(download.content) == (64, 64)


# --- input images of model requests -------------------------------------------------------


async def test_responses_input_images_are_seen(fake: FakeXAI, client: httpx2.AsyncClient) -> None:
    content = [
        {"type": "input_text", "text": "what is this?"},
        {"type": "input_image", "image_url": PNG_DATA_URI, "detail": "high"},
        {"type": "input_image", "image_url": "https://img.example/cat.jpg", "detail": "low"},
    ]
    body = {"model": MODEL, "store": False, "input": [{"role": "user", "content": content}]}
    reply = await client.post("/responses", json=body)
    assert reply.status_code == 200
    assert fake.images_seen == [
        {"endpoint": "responses", "url_kind": "data", "media_type": "image/png", "url": None,
         "detail": "high", "store": False},
        {"endpoint": "responses", "url_kind": "https", "media_type": None,
         "url": "https://img.example/cat.jpg", "detail": "low", "store": False},
    ]  # fmt: skip
    assert fake.images_seen is fake.media.images_seen


async def test_chat_image_parts_are_seen(fake: FakeXAI, client: httpx2.AsyncClient) -> None:
    jpeg = "data:image/jpeg;base64," + base64.b64encode(b"\xff\xd8\xff\xe0 jpeg").decode()
    content = [
        {"type": "text", "text": "describe"},
        {"type": "image_url", "image_url": {"url": jpeg, "detail": "low"}},
    ]
    body = {"model": MODEL, "messages": [{"role": "user", "content": content}]}
    assert (await client.post("/chat/completions", json=body)).status_code == 200
    [seen] = fake.images_seen
    assert (seen["endpoint"], seen["url_kind"], seen["media_type"]) == (
        "chat",
        "data",
        "image/jpeg",
    )
    assert (seen["detail"], seen["store"]) == ("low", None)


async def test_requests_without_images_see_none(fake: FakeXAI, client: httpx2.AsyncClient) -> None:
    assert (
        await client.post("/responses", json={"model": MODEL, "input": "hi"})
    ).status_code == 200
    assert fake.images_seen == []


@pytest.mark.parametrize(
    "url",
    [
        "data:image/png;base64,not base64!",
        "data:image/gif;base64,R0lGODlh",
        "data:image/png,iVBORw0KGgo=",
        "data:image/png;base64,",
        "ftp://img.example/cat.png",
    ],
)
async def test_malformed_input_image_is_400(
    fake: FakeXAI, client: httpx2.AsyncClient, url: str
) -> None:
    content = [{"type": "input_image", "image_url": url, "detail": "auto"}]
    body = {"model": MODEL, "input": [{"role": "user", "content": content}]}
    refused = await client.post("/responses", json=body)
    assert refused.status_code == 400
    assert refused.json()["code"] == "Client specified an invalid argument"
    chat = {"model": MODEL, "messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": url}}]}]}  # fmt: skip
    assert (await client.post("/chat/completions", json=chat)).status_code == 400
    assert fake.images_seen == []
    assert fake.count("/v1/responses") == 1
