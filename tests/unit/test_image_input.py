"""ImageInput: images are checked by their content before anything is sent; every refusal
is an ImageInputError."""

from __future__ import annotations

import base64
import hashlib
import io
import socket
import struct
import sys
import zlib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from agentkit.errors import ConfigError, ImageInputError
from agentkit.media.image_input import (
    MAX_IMAGE_BYTES,
    MAX_PIXELS,
    ImageInput,
    as_image_inputs,
    carries_images,
    user_message,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def picture(fmt: str, size: tuple[int, int] = (64, 48), **options: Any) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 40, 90)).save(out, fmt, **options)
    return out.getvalue()


def png_claiming(width: int, height: int) -> bytes:
    """A small, well-formed PNG whose header claims `width` x `height` pixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        PNG_MAGIC
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


# --- accepted --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "media_type"),
    [("PNG", "image/png"), ("JPEG", "image/jpeg"), ("WEBP", "image/webp")],
)
def test_png_jpeg_and_webp_are_accepted_with_their_dimensions(fmt: str, media_type: str) -> None:
    data = picture(fmt, (64, 48))
    image = ImageInput.from_bytes(data, detail="low")
    assert (image.media_type, image.width, image.height) == (media_type, 64, 48)
    assert image.size == len(data)
    assert image.sha256 == hashlib.sha256(data).hexdigest()
    assert image.detail == "low"
    assert image.url is None


def test_the_format_is_read_from_the_content_not_the_name(tmp_path: Path) -> None:
    path = tmp_path / "photo.jpg"
    path.write_bytes(picture("PNG", (10, 7)))
    image = ImageInput.from_path(path)
    assert (image.media_type, image.width, image.height) == ("image/png", 10, 7)
    assert image.detail == "auto"


def test_the_responses_part_is_a_data_url_string_with_the_detail() -> None:
    data = picture("PNG")
    part = ImageInput.from_bytes(data, detail="high").to_responses_part()
    assert set(part) == {"type", "image_url", "detail"}
    assert (part["type"], part["detail"]) == ("input_image", "high")
    prefix = "data:image/png;base64,"
    assert part["image_url"].startswith(prefix)
    assert base64.b64decode(part["image_url"][len(prefix) :]) == data


def test_the_chat_part_is_an_image_url_object() -> None:
    data = picture("JPEG")
    part = ImageInput.from_bytes(data, detail="low").to_chat_part()
    assert part["type"] == "image_url"
    assert set(part["image_url"]) == {"url", "detail"}
    assert part["image_url"]["url"].startswith("data:image/jpeg;base64,")
    assert part["image_url"]["detail"] == "low"


def test_an_https_url_is_kept_as_it_is_and_not_fetched(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_network(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the image URL was fetched")

    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    image = ImageInput.from_url("https://images.example/cat.png?s=1", detail="high")
    assert image.to_responses_part() == {
        "type": "input_image",
        "image_url": "https://images.example/cat.png?s=1",
        "detail": "high",
    }
    assert image.to_chat_part()["image_url"] == {
        "url": "https://images.example/cat.png?s=1",
        "detail": "high",
    }
    assert (image.media_type, image.width, image.size, image.sha256) == (None, None, None, None)


def test_metadata_describes_the_image_without_its_bytes() -> None:
    data = picture("PNG", (5, 4))
    image = ImageInput.from_bytes(data)
    assert image.metadata() == {
        "media_type": "image/png",
        "width": 5,
        "height": 4,
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "detail": "auto",
    }
    url = ImageInput.from_url("https://images.example/a.webp")
    assert url.metadata() == {"url": "https://images.example/a.webp", "detail": "auto"}
    assert "data" not in repr(image)


def test_an_image_of_exactly_the_pixel_cap_is_accepted() -> None:
    image = ImageInput.from_bytes(png_claiming(MAX_PIXELS // 8192, 8192), detail="auto")
    assert image.width * image.height == MAX_PIXELS  # type: ignore[operator]


# --- refused ---------------------------------------------------------------------------


def refused(data: bytes) -> str:
    with pytest.raises(ImageInputError) as caught:
        ImageInput.from_bytes(data)
    return str(caught.value)


def test_a_gif_is_refused_by_name() -> None:
    message = refused(picture("GIF"))
    assert "GIF" in message
    assert "PNG, JPEG or WebP" in message


@pytest.mark.parametrize("data", [b"just some text\n", b"", b"BM" + bytes(60), b"%PDF-1.7\n"])
def test_what_is_not_png_jpeg_or_webp_is_refused(data: bytes) -> None:
    assert "PNG, JPEG or WebP" in refused(data)


def test_a_text_file_named_png_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "image.png"
    path.write_text("not an image at all")
    with pytest.raises(ImageInputError, match="PNG, JPEG or WebP"):
        ImageInput.from_path(path)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
@pytest.mark.parametrize("keep", [0.5, 0.95])
def test_a_truncated_image_is_refused(fmt: str, keep: float) -> None:
    data = picture(fmt, (120, 90))
    assert "cannot be read" in refused(data[: int(len(data) * keep)])


def test_a_png_with_a_corrupt_chunk_is_refused() -> None:
    data = bytearray(picture("PNG"))
    data[-20] ^= 0xFF  # inside the last IDAT: its CRC no longer matches
    assert "cannot be read" in refused(bytes(data))


def test_an_image_over_20_mib_is_refused_before_it_is_parsed() -> None:
    message = refused(PNG_MAGIC + bytes(MAX_IMAGE_BYTES))
    assert "20 MiB" in message


def test_a_sparse_file_over_20_mib_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "huge.png"
    with path.open("wb") as out:
        out.write(picture("PNG"))
        out.truncate(MAX_IMAGE_BYTES + 1)
    with pytest.raises(ImageInputError, match="20 MiB"):
        ImageInput.from_path(path)


def test_a_decompression_bomb_header_is_refused_by_pillows_guard() -> None:
    assert "too large to read safely" in refused(png_claiming(100_000, 100_000))


def test_a_header_over_the_pixel_cap_but_under_pillows_is_refused() -> None:
    width = MAX_PIXELS // 8192 + 1
    assert width * 8192 < Image.MAX_IMAGE_PIXELS
    assert "too large to read safely" in refused(png_claiming(width, 8192))


def test_a_lower_pillow_limit_set_by_the_deployment_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    assert "too large" in refused(picture("PNG", (40, 40)))


def test_an_image_without_pixels_is_refused() -> None:
    refused(png_claiming(0, 10))


@pytest.mark.parametrize(
    "url",
    [
        "http://images.example/a.png",
        "file:///etc/passwd",
        "data:image/png;base64,iVBORw0KGgo=",
        "ftp://images.example/a.png",
        "images.example/a.png",
        "https:///a.png",
        "https://user:secret@images.example/a.png",
        "https://images.example/a b.png",
        "https://images.example/a.png\n",
        "",
    ],
)
def test_urls_other_than_https_of_a_host_are_refused(url: str) -> None:
    with pytest.raises(ImageInputError, match="https"):
        ImageInput.from_url(url)


@pytest.mark.parametrize("detail", ["medium", "HIGH", "", None])
def test_an_unknown_detail_is_refused(detail: Any) -> None:
    with pytest.raises(ImageInputError, match="auto, low, high"):
        ImageInput.from_bytes(picture("PNG"), detail=detail)
    with pytest.raises(ImageInputError, match="auto, low, high"):
        ImageInput.from_url("https://images.example/a.png", detail=detail)


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ImageInputError, match="cannot read the image file"):
        ImageInput.from_path(tmp_path / "absent.png")


def test_an_image_built_by_hand_is_checked_too() -> None:
    with pytest.raises(ImageInputError, match="https"):
        ImageInput(detail="auto", url="http://images.example/a.png")
    with pytest.raises(ImageInputError, match="either"):
        ImageInput(detail="auto")


def test_without_pillow_local_images_say_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = tmp_path / "a.png"
    path.write_bytes(picture("PNG"))
    monkeypatch.setitem(sys.modules, "PIL", None)
    for attempt in (
        lambda: ImageInput.from_bytes(path.read_bytes()),
        lambda: ImageInput.from_path(path),
    ):
        with pytest.raises(ConfigError, match=r"pip install 'agentkit\[media\]'"):
            attempt()
    assert ImageInput.from_url("https://images.example/a.png").url  # URLs need no Pillow


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.binary(max_size=512),
        st.tuples(
            st.sampled_from([PNG_MAGIC, b"\xff\xd8\xff", b"RIFF\x10\x00\x00\x00WEBP"]),
            st.binary(max_size=512),
        ).map(lambda parts: parts[0] + parts[1]),
        st.tuples(
            st.sampled_from([picture("PNG"), picture("JPEG"), picture("WEBP")]),
            st.integers(min_value=0, max_value=400),
            st.binary(min_size=1, max_size=8),
        ).map(lambda p: p[0][: p[1]] + p[2] + p[0][p[1] + len(p[2]) :]),
    )
)
def test_arbitrary_bytes_are_an_image_or_an_image_input_error(data: bytes) -> None:
    try:
        image = ImageInput.from_bytes(data)
    except ImageInputError:
        return
    assert image.media_type in {"image/png", "image/jpeg", "image/webp"}
    assert image.width
    assert image.height
    assert image.width * image.height <= MAX_PIXELS


# --- what a run is given ---------------------------------------------------------------


def test_a_run_takes_images_urls_paths_and_bytes(tmp_path: Path) -> None:
    path = tmp_path / "a.webp"
    path.write_bytes(picture("WEBP"))
    ready = ImageInput.from_bytes(picture("JPEG"))
    got = as_image_inputs([ready, "https://images.example/a.png", str(path), path, picture("PNG")])
    assert got[0] is ready
    assert got[1].url == "https://images.example/a.png"
    assert [g.media_type for g in got[2:]] == ["image/webp", "image/webp", "image/png"]
    assert as_image_inputs(path)[0].media_type == "image/webp"  # one alone is a list of one


@pytest.mark.parametrize("given_", ["http://images.example/a.png", "FILE:///etc/passwd", 42])
def test_a_run_refuses_a_url_of_another_scheme_and_things_not_images(given_: Any) -> None:
    with pytest.raises(ImageInputError):
        as_image_inputs([given_])


def test_the_user_message_is_the_prompt_alone_without_images() -> None:
    assert user_message("hi", ()) == {"role": "user", "content": "hi"}
    image = ImageInput.from_url("https://images.example/a.png", detail="low")
    message = user_message("what is this?", [image])
    assert message["content"] == [
        {"type": "input_text", "text": "what is this?"},
        {"type": "input_image", "image_url": "https://images.example/a.png", "detail": "low"},
    ]
    assert carries_images([message])
    assert not carries_images([user_message("hi", ()), {"type": "function_call_output"}])
