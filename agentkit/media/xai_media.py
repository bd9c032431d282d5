"""The xAI image and video endpoints: generate images, start and poll video jobs, fetch
what they made and check it is what was announced.

Requests that create something are retried only on 429 (the API did not start them),
honouring ``Retry-After`` up to a minute; polls and downloads are retried on 429, 5xx and
connection errors too. A failed or expired job is a body, not an HTTP error: it ends as
`MediaJobFailed`, never as a retry.
"""

from __future__ import annotations

import asyncio
import base64
import os
import urllib.parse
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import httpx2

from agentkit.errors import ConfigError, MediaDownloadError, MediaError, MissingAPIKey
from agentkit.model.rest import RestClient

VideoAction = Literal["generate", "edit", "extend"]
IMAGE_MODEL = "grok-imagine-image"
VIDEO_MODEL = "grok-imagine-video"
MAX_DOWNLOAD_BYTES = 512 * 1024 * 1024
TICKS_PER_USD = 10_000_000_000  # 1e8 ticks per cent
_VIDEO_PATHS = {"generate": "generations", "edit": "edits", "extend": "extensions"}
_ASPECT_RATIOS = frozenset(
    {"1:1", "3:4", "4:3", "9:16", "16:9", "2:3", "3:2", "9:19.5", "19.5:9", "9:20", "20:9",
     "1:2", "2:1", "21:9", "5:2", "auto"}
)  # fmt: skip
Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class MediaFile:
    """Bytes fetched from the API, with the type their content shows."""

    data: bytes
    media_type: str


@dataclass(frozen=True)
class ImageBatch:
    images: list[MediaFile]
    model: str
    request_id: str
    cost_usd: float


@dataclass(frozen=True)
class VideoStatus:
    """One look at a video job."""

    request_id: str
    status: str
    """``pending``, ``done``, ``failed`` or ``expired``."""
    progress: int
    url: str | None = None
    duration: float | None = None
    model: str | None = None
    cost_usd: float = 0.0
    error_code: str = ""
    error_message: str = ""


def sniff_media_type(data: bytes) -> str | None:
    """The media type the bytes themselves show (PNG, JPEG, WebP, MP4), or None."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[4:8] == b"ftyp":
        return "video/mp4"
    return None


class MediaClient:
    """Async client of xAI's ``/v1/images`` and ``/v1/videos`` endpoints.

    Example:
        >>> async with MediaClient() as media:  # doctest: +SKIP
        ...     batch = await media.generate_images("a lighthouse at dawn", n=2)
    """

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str = "https://api.x.ai/v1",
        transport: httpx2.AsyncBaseTransport | None = None,
        timeout: float = 120.0,
        max_attempts: int = 4,
        max_download_bytes: int = MAX_DOWNLOAD_BYTES,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        key = api_key if api_key is not None else os.environ.get("XAI_API_KEY", "")
        if not key:
            raise MissingAPIKey()
        self._rest = RestClient(
            base_url, key, error=MediaError, transport=transport, timeout=timeout,
            max_attempts=max_attempts, sleep=sleep,
        )  # fmt: skip
        self._http = self._rest.http  # downloads: signed public URLs, sent no key
        self._attempts = max_attempts
        self._max_download = max_download_bytes
        self._sleep = sleep

    def __repr__(self) -> str:
        return f"MediaClient(base_url={self._rest.base!r})"

    async def __aenter__(self) -> MediaClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # --- images ---------------------------------------------------------------------------

    async def generate_images(
        self,
        prompt: str,
        *,
        n: int = 1,
        model: str = IMAGE_MODEL,
        aspect_ratio: str | None = None,
        resolution: str | None = None,
        response_format: Literal["url", "b64_json"] = "url",
        user: str | None = None,
    ) -> ImageBatch:
        """Generate `n` images (1-10) and fetch them."""
        if not 1 <= n <= 10:
            raise ConfigError(f"n must be 1 to 10, not {n}")
        if aspect_ratio is not None and aspect_ratio not in _ASPECT_RATIOS:
            raise ConfigError(f"aspect_ratio {aspect_ratio!r} is not one the API accepts")
        body: dict[str, Any] = {"prompt": prompt, "model": model, "n": n,
                                "response_format": response_format}  # fmt: skip
        body.update(_given(aspect_ratio=aspect_ratio, resolution=resolution, user=user))
        reply, request_id = await self._send("POST", "/images/generations", body, create=True)
        images = [await self._image_of(item) for item in reply.get("data") or []]
        if len(images) != n:
            raise MediaError(f"asked for {n} images, the API returned {len(images)}")
        return ImageBatch(images, str(reply.get("model") or model), request_id, _cost(reply))

    async def _image_of(self, item: Mapping[str, Any]) -> MediaFile:
        if item.get("b64_json"):
            try:
                data = base64.b64decode(str(item["b64_json"]), validate=True)
            except ValueError as exc:
                raise MediaDownloadError(f"an image's base64 does not decode: {exc}") from exc
            return _checked(data, "image/", announced=item.get("mime_type"))
        if item.get("url"):
            return await self.download(str(item["url"]), "image/")
        raise MediaError("the API returned an image with neither url nor b64_json")

    # --- videos ---------------------------------------------------------------------------

    async def start_video(
        self,
        action: VideoAction,
        prompt: str | None,
        *,
        model: str = VIDEO_MODEL,
        duration: int | None = None,
        aspect_ratio: str | None = None,
        resolution: str | None = None,
        image_url: str | None = None,
        video_url: str | None = None,
        user: str | None = None,
    ) -> str:
        """Start a video job (text or image to video, an edit, an extension); its request id."""
        if action in ("edit", "extend") and not video_url:
            raise ConfigError(f"a video {action} needs video_url")
        if action == "generate" and not (prompt or image_url):
            raise ConfigError("a video needs a prompt or an image")
        body: dict[str, Any] = {"model": model}
        body.update(_given(prompt=prompt, duration=duration, aspect_ratio=aspect_ratio,
                           resolution=resolution, user=user))  # fmt: skip
        if image_url:
            body["image"] = {"url": image_url}
        if video_url:
            body["video"] = {"url": video_url}
        reply, _ = await self._send("POST", f"/videos/{_VIDEO_PATHS[action]}", body, create=True)
        request_id = reply.get("request_id")
        if not isinstance(request_id, str) or not request_id:
            raise MediaError("the API started a video job without a request_id")
        return request_id

    async def video_status(self, request_id: str) -> VideoStatus:
        """Where a video job is (202 while pending; done, failed or expired otherwise)."""
        reply, _ = await self._send("GET", f"/videos/{request_id}", None, create=False)
        status = str(reply.get("status") or ("pending" if reply.get("_pending") else ""))
        video = reply.get("video") or {}
        error = reply.get("error") or {}
        return VideoStatus(
            request_id=request_id,
            status=status,
            progress=int(reply.get("progress") or (100 if status == "done" else 0)),
            url=video.get("url") or None,
            duration=video.get("duration"),
            model=reply.get("model"),
            cost_usd=_cost(reply),
            error_code=str(error.get("code") or ("expired" if status == "expired" else "")),
            error_message=str(error.get("message") or ""),
        )

    # --- HTTP -----------------------------------------------------------------------------

    async def download(self, url: str, expected: str) -> MediaFile:
        """Fetch a generated file; its content must show a type starting with `expected`
        (``image/``, ``video/``) and its size stay within the limit."""
        if not _fetchable(url):
            raise MediaDownloadError(
                f"refusing to fetch {url[:80]!r}: only https URLs (http on loopback)"
            )
        last: Exception | None = None
        for attempt in range(self._attempts):
            try:
                data = await self._fetch(url)
            except (httpx2.TransportError, _Transient) as exc:
                last = exc
                await self._sleep(min(8.0, 0.25 * 2**attempt))
                continue
            return _checked(data, expected)
        raise MediaDownloadError(f"could not fetch the generated file: {last}")

    async def _fetch(self, url: str) -> bytes:
        async with self._http.stream("GET", url) as response:
            if response.status_code == 429 or response.status_code >= 500:
                raise _Transient(f"HTTP {response.status_code}")
            if response.status_code != 200:
                status = response.status_code
                raise MediaDownloadError(f"fetching the generated file: HTTP {status}")
            announced = int(response.headers.get("content-length") or 0)
            if announced > self._max_download:
                raise MediaDownloadError(f"the file is {announced} bytes, over the limit")
            chunks, size = [], 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > self._max_download:
                    raise MediaDownloadError(f"the file is over {self._max_download} bytes")
                chunks.append(chunk)
        data = b"".join(chunks)
        if announced and len(data) != announced:
            raise MediaDownloadError(f"got {len(data)} bytes of an announced {announced}")
        return data

    async def _send(
        self, method: str, path: str, body: dict[str, Any] | None, *, create: bool
    ) -> tuple[dict[str, Any], str]:
        answer = await self._rest.call(method, path, json=body, create=create)
        pending = {"_pending": True} if answer.status == 202 else {}
        return {**answer.body, **pending}, answer.request_id


class _Transient(Exception):
    pass


def _checked(data: bytes, expected: str, announced: object = None) -> MediaFile:
    found = sniff_media_type(data)
    if found is None or not found.startswith(expected):
        raise MediaDownloadError(
            f"the generated file is not {expected.rstrip('/')} by its content"
            + (f" (announced {announced})" if announced else "")
        )
    return MediaFile(data, found)


def _fetchable(url: str) -> bool:
    """https anywhere; http only on loopback (the fake server): a URL in an answer must
    not point the client at a plain-text host on the network."""
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme == "https" and parsed.hostname:
        return True
    return parsed.scheme == "http" and parsed.hostname in ("127.0.0.1", "localhost", "::1")


def _given(**fields: Any) -> dict[str, Any]:
    return {name: value for name, value in fields.items() if value is not None}


def _cost(reply: Mapping[str, Any]) -> float:
    ticks = (reply.get("usage") or {}).get("cost_in_usd_ticks") or 0
    return float(ticks) / TICKS_PER_USD
