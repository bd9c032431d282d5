"""Images given to a run beside its prompt, checked here before anything is sent.

```python
result = await agent.run("What is on this receipt?", images=[ImageInput.from_path("r.png")])
```

A local image (`from_path`, `from_bytes`) is accepted when its content, not its name, is
PNG, JPEG or WebP, it is at most 20 MiB, its header gives dimensions of at most
`MAX_PIXELS` pixels, and Pillow reads it through (`verify()`, and for JPEG a decode at
1/8 scale, which `verify()` does not check): a truncated or malformed file is refused
here, not by the API. A URL (`from_url`) must be https and is not fetched here: xAI
fetches it. Every refusal is an `ImageInputError` saying what was wrong and what is
accepted. Reading local images needs Pillow (``pip install 'agentkit[media]'``).

An image travels as a part of the first user message (`to_responses_part`,
`to_chat_part`); records and events describe it by `metadata()` only, never its bytes.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Literal, TypeAlias, cast, get_args
from urllib.parse import urlsplit

from agentkit.errors import ConfigError, ImageInputError

Detail = Literal["auto", "low", "high"]
DETAILS: tuple[str, ...] = get_args(Detail)
MAX_IMAGE_BYTES = 20 * 1024 * 1024
"""xAI's limit on one image (20 MiB)."""
MAX_PIXELS = 8192 * 8192
"""The most pixels a local image may have (about 67 megapixels, below Pillow's own
`Image.MAX_IMAGE_PIXELS`; a lower Pillow limit set by the deployment wins). A small file
whose header claims more is a decompression bomb, refused before it is decoded."""
MAX_URL_LENGTH = 8192
ACCEPTED = "PNG, JPEG or WebP"
INSTALL_HINT = "pip install 'agentkit[media]'"

# format as Pillow names it -> media type; only these plugins are ever asked to parse
_FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}
_OTHER_SIGNATURES = (
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"BM", "BMP"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"%PDF", "PDF"),
)


@dataclass(frozen=True)
class ImageInput:
    """One image for a run: local bytes already checked, or an https URL xAI fetches.

    Build it with `from_path`, `from_bytes` or `from_url`, which check it. For a URL image
    `media_type`, `width`, `height`, `size` and `sha256` are None: it is not fetched here,
    so they are not known.
    """

    detail: Detail
    media_type: str | None = None
    width: int | None = None
    height: int | None = None
    size: int | None = None
    sha256: str | None = None
    url: str | None = None
    data: bytes | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        _detail(self.detail)
        if (self.url is None) == (self.data is None):
            raise ImageInputError(
                "an image is either an https URL or bytes; use from_* to build one"
            )
        if self.url is not None:
            _check_url(self.url)
        elif self.media_type not in _FORMATS.values():
            raise ImageInputError(f"image media type {self.media_type!r} is not {ACCEPTED}")

    @classmethod
    def from_path(cls, path: str | os.PathLike[str], detail: Detail = "auto") -> ImageInput:
        """The image in the file at `path` (its name plays no part: only its content).

        Raises:
            ImageInputError: the file cannot be read or is not an accepted image.
            ConfigError: Pillow is not installed.
        """
        _pillow()
        try:
            with open(path, "rb") as file:
                data = file.read(MAX_IMAGE_BYTES + 1)  # never more: a device reads forever
        except OSError as exc:
            raise ImageInputError(f"cannot read the image file {os.fspath(path)!r}: {exc}") from exc
        return cls.from_bytes(data, detail=detail)

    @classmethod
    def from_bytes(cls, data: bytes, detail: Detail = "auto") -> ImageInput:
        """The image in `data`.

        Raises:
            ImageInputError: `data` is not an accepted image.
            ConfigError: Pillow is not installed.
        """
        checked = _detail(detail)
        if not isinstance(data, bytes | bytearray | memoryview):
            raise ImageInputError(f"image data must be bytes, not {type(data).__name__}")
        data = bytes(data)
        _check_size(len(data))
        media_type = _format_of(data)
        width, height = _read_dimensions(data, media_type)
        return cls(
            detail=checked,
            media_type=_FORMATS[media_type],
            width=width,
            height=height,
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            data=data,
        )

    @classmethod
    def from_url(cls, url: str, detail: Detail = "auto") -> ImageInput:
        """An image xAI fetches from `url` (https only; nothing is fetched here).

        Raises:
            ImageInputError: the URL is not an https URL of a host.
        """
        checked = _detail(detail)
        _check_url(url)
        return cls(detail=checked, url=url)

    @property
    def image_url(self) -> str:
        """What the API is given: the https URL, or a ``data:`` URL of the bytes."""
        if self.url is not None:
            return self.url
        encoded = base64.b64encode(self.data or b"").decode("ascii")
        return f"data:{self.media_type};base64,{encoded}"

    def to_responses_part(self) -> dict[str, Any]:
        """A `/v1/responses` user content part (``image_url`` is a string there)."""
        return {"type": "input_image", "image_url": self.image_url, "detail": self.detail}

    def to_chat_part(self) -> dict[str, Any]:
        """A `/v1/chat/completions` content part (``image_url`` is an object there)."""
        return {"type": "image_url", "image_url": {"url": self.image_url, "detail": self.detail}}

    def metadata(self) -> dict[str, Any]:
        """What a record may say about the image: never its bytes."""
        if self.url is not None:
            return {"url": self.url, "detail": self.detail}
        return {
            "media_type": self.media_type,
            "width": self.width,
            "height": self.height,
            "size": self.size,
            "sha256": self.sha256,
            "detail": self.detail,
        }


ImageLike: TypeAlias = ImageInput | str | bytes | os.PathLike[str]
ImagesArg: TypeAlias = Sequence[ImageLike] | ImageLike
"""What a run takes as `images`: a sequence of images, or one alone."""


def as_image_inputs(images: ImagesArg) -> tuple[ImageInput, ...]:
    """`ImageInput`s from what a run is given: an ImageInput as it is, a str starting
    with a URL scheme (``https://``; any other scheme is refused) a URL, any other str or
    path-like a file, bytes the image itself. One item alone counts as a list of one."""
    if isinstance(images, ImageInput | str | bytes | os.PathLike):
        images = [images]
    return tuple(_as_image_input(item) for item in images)


def _as_image_input(item: object) -> ImageInput:
    if isinstance(item, ImageInput):
        return item
    if isinstance(item, bytes):
        return ImageInput.from_bytes(item)
    if isinstance(item, str) and _looks_like_url(item):
        return ImageInput.from_url(item)
    if isinstance(item, str | os.PathLike):
        return ImageInput.from_path(cast("str | os.PathLike[str]", item))
    raise ImageInputError(
        f"an image must be an ImageInput, a path, an https URL or bytes, not {type(item).__name__}"
    )


def _looks_like_url(text: str) -> bool:
    head = text[:16].lower()
    return "://" in head or head.startswith("data:")


def user_message(prompt: str, images: Sequence[ImageInput]) -> dict[str, Any]:
    """The first user message of a run: the prompt alone when there are no images (the
    same item as ever), else a list of parts, the prompt's text first."""
    if not images:
        return {"role": "user", "content": prompt}
    parts = [{"type": "input_text", "text": prompt}] if prompt else []
    return {"role": "user", "content": parts + [image.to_responses_part() for image in images]}


def carries_images(items: Iterable[Mapping[str, Any]]) -> bool:
    """Whether any input item holds an image part (in a message, or a tool's output)."""
    for item in items:
        parts = item.get("content", item.get("output"))
        if isinstance(parts, list) and any(
            isinstance(p, dict) and p.get("type") == "input_image" for p in parts
        ):
            return True
    return False


# --- checks ------------------------------------------------------------------------------


def _detail(detail: object) -> Detail:
    if detail not in DETAILS:
        raise ImageInputError(f"image detail {detail!r} is not one of {', '.join(DETAILS)}")
    return cast(Detail, detail)


def _check_size(size: int) -> None:
    if size == 0:
        raise ImageInputError(f"the image is empty; give a {ACCEPTED} image of up to 20 MiB")
    if size > MAX_IMAGE_BYTES:
        raise ImageInputError(
            f"the image is over 20 MiB ({MAX_IMAGE_BYTES} bytes); xAI accepts images up to 20 MiB"
        )


def _format_of(data: bytes) -> str:
    """The Pillow format name of `data`, read from its first bytes."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    named = next((name for magic, name in _OTHER_SIGNATURES if data.startswith(magic)), None)
    what = f"a {named} image" if named else "in no format agentkit reads"
    raise ImageInputError(f"the image is {what} (by its content); xAI accepts {ACCEPTED}")


def _read_dimensions(data: bytes, fmt: str) -> tuple[int, int]:
    """Width and height from the header, after checking that Pillow reads the file."""
    image = _pillow()
    cap = min(MAX_PIXELS, image.MAX_IMAGE_PIXELS or MAX_PIXELS)
    try:
        with image.open(io.BytesIO(data), formats=[fmt]) as opened:
            width, height = opened.size
            _check_pixels(width, height, cap)
            opened.verify()
        if fmt == "JPEG":
            _decode_reduced(image, data)
    except ImageInputError:
        raise
    except (image.DecompressionBombError, image.DecompressionBombWarning) as exc:
        # the warning is raised where warnings are errors: a bomb either way
        raise _bomb(str(exc), cap) from None
    except image.UnidentifiedImageError:
        raise _unreadable(fmt, "its header is malformed") from None
    except Exception as exc:  # whatever a hostile file makes a parser raise
        raise _unreadable(fmt, f"{type(exc).__name__}: {exc}") from None
    return width, height


def _unreadable(fmt: str, why: str) -> ImageInputError:
    return ImageInputError(
        f"the {fmt} image cannot be read ({why}); give a whole, valid {ACCEPTED} image"
    )


def _check_pixels(width: int, height: int, cap: int) -> None:
    if width <= 0 or height <= 0:
        raise ImageInputError(f"the image has no pixels ({width}x{height})")
    if width * height > cap:
        raise _bomb(f"{width}x{height} is {width * height} pixels", cap)


def _bomb(what: str, cap: int) -> ImageInputError:
    return ImageInputError(
        f"the image is too large to read safely ({what}); images of up to {cap} pixels are accepted"
    )


def _decode_reduced(image: ModuleType, data: bytes) -> None:
    """Decode a JPEG at 1/8 scale: the cheap way to see that its data is all there, which
    `verify()` does not check for JPEG."""
    with image.open(io.BytesIO(data), formats=["JPEG"]) as opened:
        opened.draft("RGB", (max(1, opened.width // 8), max(1, opened.height // 8)))
        opened.load()


def _check_url(url: object) -> None:
    if not isinstance(url, str):
        raise ImageInputError(f"an image URL must be a str, not {type(url).__name__}")
    accepted = "give an https:// URL of the image (xAI fetches it), or the image's bytes or path"
    if len(url) > MAX_URL_LENGTH or any(c.isspace() or ord(c) < 32 for c in url):
        raise ImageInputError(f"the image URL is malformed; {accepted}")
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError as exc:
        raise ImageInputError(f"the image URL is malformed ({exc}); {accepted}") from None
    if parts.scheme.lower() != "https":
        scheme = f"{parts.scheme}:" if parts.scheme else "no scheme"
        raise ImageInputError(f"the image URL has {scheme}, not https:; {accepted}")
    if not host:
        raise ImageInputError(f"the image URL names no host; {accepted}")
    if parts.username is not None or parts.password is not None:
        # the URL is recorded in the audit log: credentials in it would be too
        raise ImageInputError(f"the image URL carries credentials; {accepted} without them")


def _pillow() -> ModuleType:
    """Pillow's `Image` module, or a ConfigError saying how to install it."""
    try:
        from PIL import Image
    except ImportError:
        raise ConfigError(f"reading local images needs Pillow: {INSTALL_HINT}") from None
    return Image


__all__ = [
    "DETAILS",
    "MAX_IMAGE_BYTES",
    "MAX_PIXELS",
    "Detail",
    "ImageInput",
    "ImageLike",
    "ImagesArg",
    "as_image_inputs",
    "carries_images",
    "user_message",
]
