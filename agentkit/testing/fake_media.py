"""The fake xAI server's image and video endpoints, and the files they make.

``/v1/images/generations`` and ``/v1/images/edits`` answer with real PNGs (or a deferred
request id); ``/v1/videos/generations``, ``/edits`` and ``/extensions`` start jobs polled at
``/v1/videos/{request_id}`` that end in a real MP4. Both kinds of file are made in-process
and served by the same server at ``/fake-media/<id>.png|.mp4``, without authorization, as
xAI's signed URLs are. A job advances one step per poll, never by the clock, so tests are
deterministic. The model endpoints are only observed here: the input images they carry
are listed in `FakeMedia.images_seen`, and a malformed image data URI is refused.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import re
import struct
import threading
import uuid
import zlib
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal, TypedDict

from agentkit.errors import ConfigError
from agentkit.testing import replies
from agentkit.testing.behaviour import Endpoint, input_items
from agentkit.testing.exchange import HTTPReply, HTTPRequest
from agentkit.testing.side_endpoints import Refused as _Refused
from agentkit.testing.side_endpoints import SideFaults
from agentkit.testing.side_endpoints import json_object as _parse_body
from agentkit.testing.side_endpoints import require as _require

VideoOutcome = Literal["done", "failed", "expired"]
UrlKind = Literal["data", "https", "http"]

IMAGE_MODEL = "grok-imagine-image"
VIDEO_MODEL = "grok-imagine-video"
MEDIA_PREFIX = "/fake-media/"
IMAGE_PATHS = ("/v1/images/generations", "/v1/images/edits")
VIDEO_PATHS = ("/v1/videos/generations", "/v1/videos/edits", "/v1/videos/extensions")
IMAGE_ASPECT_RATIOS = ("1:1", "3:4", "4:3", "9:16", "16:9", "2:3", "3:2", "9:19.5", "19.5:9",
                       "9:20", "20:9", "1:2", "2:1", "21:9", "5:2", "auto")  # fmt: skip
VIDEO_ASPECT_RATIOS = ("1:1", "16:9", "9:16", "4:3", "3:4", "3:2", "2:3")
IMAGE_RESOLUTIONS = ("1k", "1.5k", "2k")
VIDEO_RESOLUTIONS = ("480p", "720p", "1080p")
RESPONSE_FORMATS = ("url", "b64_json")
MAX_IMAGE_PROMPT = 1024
MAX_VIDEO_PROMPT = 4096
IMAGE_TICKS = 200_000_000  # $0.02 an image; 1e10 ticks are one dollar
VIDEO_TICKS_PER_SECOND = 500_000_000  # $0.05 a second
FAIL_MARKER = "[fail]"
"""A video prompt containing this ends its job ``failed``."""
EXPIRE_MARKER = "[expire]"
"""A video prompt containing this ends its job ``expired``."""
IMAGE_SIDE = 64
DATA_URI = re.compile(r"data:(image/(?:png|jpeg|webp));base64,(.*)", re.DOTALL)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_CONTENT_TYPES = {"png": "image/png", "mp4": "video/mp4"}


@dataclass(frozen=True, slots=True)
class MediaBehaviour:
    """How the fake's image and video jobs behave (set per `FakeXAI` or swapped later).

    Example:
        >>> fake = FakeXAI(media=MediaBehaviour(video_polls=0, video_outcome="failed"))
    """

    video_polls: int = 3
    """Polls a video job answers 202 ``pending`` (progress rising from 0) before it ends."""
    video_outcome: VideoOutcome = "done"
    """How a video job ends, unless its prompt says ``[fail]`` or ``[expire]``."""
    image_polls: int = 1
    """Polls a deferred image request answers 202 before it is done."""
    download_delay: float = 0.0
    """Seconds every ``/fake-media/`` download waits before it is answered."""

    def __post_init__(self) -> None:
        if self.video_polls < 0 or self.image_polls < 0:
            raise ConfigError("video_polls and image_polls must not be negative")
        if self.download_delay < 0:
            raise ConfigError(f"download_delay must not be negative, got {self.download_delay}")
        if self.video_outcome not in ("done", "failed", "expired"):
            raise ConfigError(f"unknown video_outcome {self.video_outcome!r}")


class SeenImage(TypedDict):
    """One input image part a model request carried."""

    endpoint: Endpoint
    url_kind: UrlKind
    media_type: str | None
    """The data URI's media type (``image/png``...); None for a URL."""
    url: str | None
    """The URL itself; None for a data URI (its bytes would swamp the record)."""
    detail: str | None
    store: Any
    """The request's ``store`` as sent (None when it sent none)."""


@dataclass(slots=True)
class _Job:
    """A deferred image request or a video job: pending for ``polls`` polls, then ``final``."""

    kind: Literal["images", "videos"]
    polls: int
    final: dict[str, Any]
    seen: int = 0


@dataclass(frozen=True, slots=True)
class _File:
    """A generated file; a video's ``duration`` lets an edit of it keep its length."""

    data: bytes
    content_type: str
    duration: int = 0


class FakeMedia(SideFaults):
    """The image and video half of `FakeXAI`: jobs, the files they made, the images seen.

    Its `inject` faults and `rate_limit_next` 429s apply to the media API requests only.

    Example:
        >>> fake = FakeXAI()
        >>> fake.media.rate_limit_next = 1  # the next media API request answers 429
    """

    def __init__(self, behaviour: MediaBehaviour | None = None, *, capacity: int = 10_000) -> None:
        super().__init__()
        self.behaviour = behaviour or MediaBehaviour()
        self.images_seen: list[SeenImage] = []
        """Every input image part of the model requests, in arrival order."""
        self._capacity = capacity
        self._lock = threading.Lock()
        self._jobs: OrderedDict[str, _Job] = OrderedDict()
        self._files: OrderedDict[str, _File] = OrderedDict()

    # --- public surface -------------------------------------------------------------------

    @staticmethod
    def serves(path: str) -> bool:
        """Whether ``path`` is one of the media endpoints or a generated file."""
        return path.startswith(("/v1/images/", "/v1/videos/", MEDIA_PREFIX))

    async def handle(self, request: HTTPRequest) -> HTTPReply:
        """Answer one request to a path `serves` accepts."""
        try:
            if request.path.startswith(MEDIA_PREFIX):
                return await self._download(request)
            limited = await self._limited(request.path)
            return limited or self._api(request)
        except _Refused as refusal:
            return replies.error_reply(refusal.status, refusal.message)

    def observe(self, request: HTTPRequest, endpoint: Endpoint) -> HTTPReply | None:
        """List a model request's input images; a 400 reply when one is a malformed data
        URI or no URL at all, as the API refuses it (None: the request is answered as usual)."""
        body = _json_or_none(request)
        if body is None:
            return None
        try:
            parts = _image_parts(body, endpoint)
            seen = [_seen(url, detail, endpoint, body.get("store")) for url, detail in parts]
        except _Refused as refusal:
            return replies.error_reply(refusal.status, refusal.message)
        with self._lock:
            self.images_seen.extend(seen)
        return None

    # --- routing --------------------------------------------------------------------------

    def _api(self, request: HTTPRequest) -> HTTPReply:
        path, method = request.path, request.method.upper()
        if path in IMAGE_PATHS:
            _require(method, "POST")
            return self._images(_parse_body(request), _base_url(request), path.endswith("edits"))
        if path in VIDEO_PATHS:
            _require(method, "POST")
            return self._video(_parse_body(request), _base_url(request), path.rsplit("/", 1)[1])
        kind, _, request_id = path[len("/v1/") :].partition("/")
        if "/" in request_id or not request_id:
            raise _Refused(404, f"No route for {method} {path}")
        _require(method, "GET")
        return self._poll(kind, request_id)

    async def _download(self, request: HTTPRequest) -> HTTPReply:
        _require(request.method.upper(), "GET")
        name = request.path[len(MEDIA_PREFIX) :]
        with self._lock:
            found = self._files.get(name.rpartition(".")[0])
        if found is None or _CONTENT_TYPES.get(name.rpartition(".")[2]) != found.content_type:
            raise _Refused(404, f"No file {name}")
        if self.behaviour.download_delay > 0:
            await asyncio.sleep(self.behaviour.download_delay)
        return HTTPReply(200, [("content-type", found.content_type)], found.data)

    # --- images ---------------------------------------------------------------------------

    def _images(self, body: dict[str, Any], base: str, edit: bool) -> HTTPReply:
        prompt = _prompt(body, MAX_IMAGE_PROMPT, required=True)
        _string(body, "model", IMAGE_MODEL)
        n = _integer(body, "n", 1, 1, 10)
        response_format = _choice(body, "response_format", RESPONSE_FORMATS, "url")
        aspect_ratio = _choice(body, "aspect_ratio", IMAGE_ASPECT_RATIOS, "1:1")
        _choice(body, "resolution", IMAGE_RESOLUTIONS, "1k")
        deferred = _flag(body, "deferred")
        if edit:
            _edit_sources(body)
        width, height = _image_size(aspect_ratio)
        pngs = [png_image(f"{prompt}\x00{index}", width, height) for index in range(n)]
        data = [self._image_item(png, base, response_format) for png in pngs]
        usage = {"cost_in_usd_ticks": IMAGE_TICKS * n}
        if not deferred:
            return replies.json_reply({"data": data, "usage": usage})
        request_id = str(uuid.uuid4())
        final = {"request_id": request_id, "status": "done", "data": data, "usage": usage}
        self._add_job(request_id, _Job("images", self.behaviour.image_polls, final))
        return replies.json_reply({"request_id": request_id})

    def _image_item(self, png: bytes, base: str, response_format: str) -> dict[str, str]:
        if response_format == "b64_json":
            return {"b64_json": base64.b64encode(png).decode("ascii"), "mime_type": "image/png"}
        return {"url": f"{base}{MEDIA_PREFIX}{self._add_file(_File(png, 'image/png'))}.png"}

    # --- videos ---------------------------------------------------------------------------

    def _video(self, body: dict[str, Any], base: str, action: str) -> HTTPReply:
        image = _source_url(body, "image", required=False) if action == "generations" else None
        prompt = _prompt(body, MAX_VIDEO_PROMPT, required=action == "edits")
        if action == "generations" and not prompt and image is None:
            raise _Refused(400, "A video needs a prompt, an image, or both")
        source = None if action == "generations" else _source_url(body, "video", required=True)
        model = _string(body, "model", VIDEO_MODEL)
        aspect_ratio = _choice(body, "aspect_ratio", VIDEO_ASPECT_RATIOS, "16:9")
        resolution = _choice(body, "resolution", VIDEO_RESOLUTIONS, "480p")
        if action == "edits":
            duration = self._source_duration(source) or 8
        else:
            low, high, default = (2, 10, 6) if action == "extensions" else (1, 15, 8)
            duration = _integer(body, "duration", default, low, high)
        request_id = str(uuid.uuid4())
        final = self._video_outcome(prompt, request_id)
        if final["status"] == "done":
            seed = f"{action}\x00{prompt}\x00{image or source or ''}"
            mp4 = mp4_video(seed, duration, aspect_ratio, resolution)
            media_id = self._add_file(_File(mp4, "video/mp4", duration))
            video = {"url": f"{base}{MEDIA_PREFIX}{media_id}.mp4", "duration": duration,
                     "respect_moderation": True}  # fmt: skip
            usage = {"cost_in_usd_ticks": VIDEO_TICKS_PER_SECOND * duration}
            final.update(video=video, model=model, usage=usage, progress=100)
        self._add_job(request_id, _Job("videos", self.behaviour.video_polls, final))
        return replies.json_reply({"request_id": request_id})

    def _video_outcome(self, prompt: str, request_id: str) -> dict[str, Any]:
        """The job's final body without its video: the prompt's marker wins over behaviour."""
        outcome = self.behaviour.video_outcome
        if FAIL_MARKER in prompt:
            outcome = "failed"
        elif EXPIRE_MARKER in prompt:
            outcome = "expired"
        if outcome == "failed":
            message = f"Video generation failed for request {request_id}"
            return {"status": "failed", "error": {"code": "internal_error", "message": message}}
        return {"status": outcome}

    def _source_duration(self, url: str | None) -> int:
        """The duration of a video this fake made, 0 for any other URL."""
        name = (url or "").rpartition(MEDIA_PREFIX)[2].rpartition(".")[0]
        with self._lock:
            found = self._files.get(name)
        return found.duration if found else 0

    # --- state ----------------------------------------------------------------------------

    def _poll(self, kind: str, request_id: str) -> HTTPReply:
        with self._lock:
            job = self._jobs.get(request_id)
            if job is None or job.kind != kind:
                raise _Refused(404, f"Request with id '{request_id}' not found.")
            pending = job.seen < job.polls
            progress = job.seen * 100 // job.polls if pending else 100
            if pending:
                job.seen += 1
        if not pending:
            return replies.json_reply(job.final)
        if kind == "videos":
            return replies.json_reply({"status": "pending", "progress": progress}, 202)
        return replies.json_reply({"request_id": request_id, "status": "pending"}, 202)

    def _add_job(self, request_id: str, job: _Job) -> None:
        with self._lock:
            self._jobs[request_id] = job
            while len(self._jobs) > self._capacity:
                self._jobs.popitem(last=False)

    def _add_file(self, file: _File) -> str:
        media_id = uuid.uuid4().hex
        with self._lock:
            self._files[media_id] = file
            while len(self._files) > self._capacity:
                self._files.popitem(last=False)
        return media_id


# --- request fields -------------------------------------------------------------------------


def _base_url(request: HTTPRequest) -> str:
    """Where the client reached this server, so generated URLs are absolute and fetchable."""
    return f"http://{request.headers.get('host') or 'localhost'}"


def _json_or_none(request: HTTPRequest) -> dict[str, Any] | None:
    """A model request's body, or None when it is not a JSON object (the model route
    refuses it then, with its own error)."""
    try:
        body = _parse_body(request)
    except _Refused:
        return None
    return body


def _deserialize(problem: str) -> str:
    return f"Failed to deserialize the JSON body into the target type: {problem}"


def _prompt(body: dict[str, Any], limit: int, *, required: bool) -> str:
    value = body.get("prompt")
    if value is None:
        if required:
            raise _Refused(422, _deserialize("missing field `prompt`"))
        return ""
    if not isinstance(value, str):
        raise _Refused(422, _deserialize("prompt: expected a string"))
    if len(value) > limit:
        raise _Refused(400, f"prompt is {len(value)} characters; at most {limit} are allowed")
    return value


def _string(body: dict[str, Any], name: str, default: str) -> str:
    value = body.get(name)
    if value is None:
        return default
    if not isinstance(value, str):
        raise _Refused(422, _deserialize(f"{name}: expected a string"))
    return value


def _choice(body: dict[str, Any], name: str, allowed: tuple[str, ...], default: str) -> str:
    value = _string(body, name, default)
    if value not in allowed:
        raise _Refused(400, f"Invalid {name} {value!r}; expected one of {', '.join(allowed)}")
    return value


def _integer(body: dict[str, Any], name: str, default: int, low: int, high: int) -> int:
    value = body.get(name)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Refused(422, _deserialize(f"{name}: expected an integer"))
    if not low <= value <= high:
        raise _Refused(400, f"{name} must be between {low} and {high}, got {value}")
    return value


def _flag(body: dict[str, Any], name: str) -> bool:
    value = body.get(name)
    if value is not None and not isinstance(value, bool):
        raise _Refused(422, _deserialize(f"{name}: expected a boolean"))
    return bool(value)


def _source_url(body: dict[str, Any], name: str, *, required: bool) -> str | None:
    """``body[name]["url"]`` (an image or video to start from), checked like the API does."""
    value = body.get(name)
    if value is None:
        if required:
            raise _Refused(422, _deserialize(f"missing field `{name}`"))
        return None
    return _url_object(value, name)


def _url_object(value: Any, name: str) -> str:
    url = value.get("url") if isinstance(value, dict) else None
    if not isinstance(url, str) or not url:
        raise _Refused(422, _deserialize(f"{name}: expected an object with a url"))
    _url_kind(url)
    return url


def _edit_sources(body: dict[str, Any]) -> None:
    """An image edit needs ``image`` or ``images``: each a ``{"url": ...}``."""
    images = body.get("images")
    if images is not None and not isinstance(images, list):
        raise _Refused(422, _deserialize("images: expected a list"))
    for index, image in enumerate(images or []):
        _url_object(image, f"images[{index}]")
    if _source_url(body, "image", required=False) is None and not images:
        raise _Refused(400, "An image edit needs an input image: set `image` or `images`")


# --- input images of model requests -----------------------------------------------------


def _image_parts(body: dict[str, Any], endpoint: Endpoint) -> Iterator[tuple[Any, Any]]:
    """``(url, detail)`` of every image part: Responses ``input_image``, Chat ``image_url``."""
    messages = input_items(body) if endpoint == "responses" else body.get("messages") or []
    for message in messages:
        content = message.get("content") if isinstance(message, dict) else None
        for part in content if isinstance(content, list) else []:
            if not isinstance(part, dict):
                continue
            if endpoint == "responses" and part.get("type") == "input_image":
                if part.get("image_url") is not None:
                    yield part["image_url"], part.get("detail")
            elif endpoint == "chat" and part.get("type") == "image_url":
                image = part.get("image_url")
                if isinstance(image, dict):
                    yield image.get("url"), image.get("detail")
                else:
                    yield image, None


def _seen(url: Any, detail: Any, endpoint: Endpoint, store: Any) -> SeenImage:
    if not isinstance(url, str):
        raise _Refused(422, _deserialize("image_url: expected a string"))
    kind = _url_kind(url)
    match = DATA_URI.fullmatch(url) if kind == "data" else None
    return SeenImage(
        endpoint=endpoint,
        url_kind=kind,
        media_type=match.group(1) if match else None,
        url=None if kind == "data" else url,
        detail=detail if isinstance(detail, str) else None,
        store=store,
    )


def _url_kind(url: str) -> UrlKind:
    """What an image or video URL is; a 400 for a malformed data URI or another scheme
    (plain http is let through: it is how this fake's own files are reached on loopback)."""
    if url.startswith("data:"):
        match = DATA_URI.fullmatch(url)
        if match is None or not _is_base64(match.group(2)):
            raise _Refused(
                400,
                "Invalid image data URI: expected data:image/(png|jpeg|webp);base64, "
                "followed by base64 data",
            )
        return "data"
    if url.startswith("https://"):
        return "https"
    if url.startswith("http://"):
        return "http"
    raise _Refused(400, f"Invalid url {url[:40]!r}: expected an https URL or a data URI")


def _is_base64(text: str) -> bool:
    try:
        return bool(base64.b64decode(text, validate=True))
    except (binascii.Error, ValueError):
        return False


# --- files ----------------------------------------------------------------------------------


def png_image(seed: str, width: int = IMAGE_SIDE, height: int = IMAGE_SIDE) -> bytes:
    """A real RGB PNG whose pixels follow from ``seed``: different seeds, different bytes."""
    digest = hashlib.sha256(seed.encode()).digest()
    rows = bytearray()
    for y in range(height):
        rows.append(0)  # filter type None
        for x in range(width):
            rows += bytes(
                ((digest[0] + 4 * x) % 256, (digest[1] + 4 * y) % 256, digest[(x ^ y) % 32])
            )
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunks = (
        _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(bytes(rows)))
        + _png_chunk(b"IEND", b"")
    )
    return PNG_SIGNATURE + chunks


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data)
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def _image_size(aspect_ratio: str) -> tuple[int, int]:
    """Width and height with the longer side `IMAGE_SIDE`, shaped like ``aspect_ratio``."""
    if aspect_ratio == "auto":
        return IMAGE_SIDE, IMAGE_SIDE
    wide, _, high = aspect_ratio.partition(":")
    ratio = float(wide) / float(high)
    if ratio >= 1:
        return IMAGE_SIDE, max(1, round(IMAGE_SIDE / ratio))
    return max(1, round(IMAGE_SIDE * ratio)), IMAGE_SIDE


def mp4_video(
    seed: str, seconds: int, aspect_ratio: str = "16:9", resolution: str = "480p"
) -> bytes:
    """A small, structurally valid ISO-BMFF (MP4) file: ``ftyp``, a ``moov`` whose ``mvhd``
    and one video track last ``seconds``, and an ``mdat`` of bytes following from ``seed``.
    The track has no samples: it is a container to download and check, not to play."""
    height = int(resolution.removesuffix("p"))
    wide, _, high = aspect_ratio.partition(":")
    width = round(height * int(wide) / int(high))
    ftyp = _box(b"ftyp", b"isom", struct.pack(">I", 512), b"isom", b"iso2", b"mp41", b"mp42")
    moov = _box(b"moov", _mvhd(seconds * 1000), _trak(seconds * 1000, width, height))
    chain = hashlib.sha256(seed.encode()).digest()
    blocks = []
    for _ in range(128):
        chain = hashlib.sha256(chain).digest()
        blocks.append(chain)
    return ftyp + moov + _box(b"mdat", *blocks)


_TIMESCALE = 1000
_MATRIX = struct.pack(">9I", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)


def _box(kind: bytes, *payload: bytes) -> bytes:
    body = b"".join(payload)
    return struct.pack(">I", 8 + len(body)) + kind + body


def _full_box(kind: bytes, flags: int, *payload: bytes) -> bytes:
    return _box(kind, struct.pack(">I", flags), *payload)  # version 0


def _mvhd(duration: int) -> bytes:
    times = struct.pack(">IIII", 0, 0, _TIMESCALE, duration)
    rate_volume = struct.pack(">IH", 0x10000, 0x100) + bytes(10)
    return _full_box(b"mvhd", 0, times, rate_volume, _MATRIX, bytes(24), struct.pack(">I", 2))


def _trak(duration: int, width: int, height: int) -> bytes:
    tkhd = _full_box(
        b"tkhd",
        0x3,  # enabled, in movie
        struct.pack(">IIIII", 0, 0, 1, 0, duration),
        bytes(8) + struct.pack(">hhhH", 0, 0, 0, 0),
        _MATRIX,
        struct.pack(">II", width << 16, height << 16),
    )
    mdhd = _full_box(b"mdhd", 0, struct.pack(">IIIIHH", 0, 0, _TIMESCALE, duration, 0x55C4, 0))
    hdlr = _full_box(b"hdlr", 0, bytes(4), b"vide", bytes(12), b"VideoHandler\x00")
    dinf = _box(b"dinf", _full_box(b"dref", 0, struct.pack(">I", 1), _full_box(b"url ", 1)))
    empty = struct.pack(">I", 0)
    stbl = _box(
        b"stbl",
        _full_box(b"stsd", 0, empty),
        _full_box(b"stts", 0, empty),
        _full_box(b"stsc", 0, empty),
        _full_box(b"stsz", 0, empty, empty),
        _full_box(b"stco", 0, empty),
    )
    minf = _box(b"minf", _full_box(b"vmhd", 1, bytes(8)), dinf, stbl)
    return _box(b"trak", tkhd, _box(b"mdia", mdhd, hdlr, minf))
