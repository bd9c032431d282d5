"""The fake's Files API, collections, document search, embeddings and file_search turns."""

from __future__ import annotations

import base64
import math
import struct
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import httpx2
import pytest

from agentkit.testing import FakeClock, FakeXAI, Fault, Script, Turn, parse_sse
from agentkit.testing.fake_files import (
    FilesBehaviour,
    chunk_pages,
    embedding,
    management_base_url,
)
from agentkit.testing.server import serve_in_thread

MODEL = "grok-4-fast-non-reasoning"
KEY = "test-management-key"
REFUND = "A refund is paid within 14 days of a return.\n\nShipping is free above 50 euros."
WARRANTY = "The warranty lasts two years.\n\nA refund replaces a repair only once."
MENU = "Soup of the day.\n\nThe refund desk serves coffee too."


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(1_800_000_000.0)


@pytest.fixture
def fake(clock: FakeClock) -> FakeXAI:
    fake = FakeXAI(Script([Turn.text("Found it."), Turn.text("Second answer.")]))
    fake.files.clock = clock
    return fake


@pytest.fixture
async def client(fake: FakeXAI) -> AsyncIterator[httpx2.AsyncClient]:
    async with httpx2.AsyncClient(transport=fake.transport(), base_url="http://fake/v1") as http:
        yield http


@pytest.fixture
async def queried(fake: FakeXAI) -> AsyncIterator[httpx2.AsyncClient]:
    async with httpx2.AsyncClient(transport=fake.transport(), base_url="http://fake/v1") as http:
        yield http  # the query string reaches the fake like the path


@pytest.fixture
async def admin(fake: FakeXAI) -> AsyncIterator[httpx2.AsyncClient]:
    """A client of the collections management API, with the management key."""
    async with httpx2.AsyncClient(
        transport=fake.transport(),
        base_url=management_base_url("http://fake/v1"),
        headers={"authorization": f"Bearer {KEY}"},
    ) as http:
        yield http


async def upload(
    client: httpx2.AsyncClient,
    name: str,
    data: bytes | str,
    content_type: str = "text/plain",
    **fields: str,
) -> httpx2.Response:
    raw = data.encode() if isinstance(data, str) else data
    return await client.post("/files", data=fields, files={"file": (name, raw, content_type)})


async def uploaded(client: httpx2.AsyncClient, name: str, data: bytes | str) -> str:
    reply = await upload(client, name, data)
    assert reply.status_code == 200, reply.text
    return str(reply.json()["id"])


def form(*parts: tuple[str, str | None, bytes]) -> tuple[bytes, str]:
    """A multipart body with the parts in exactly this order, and its content type."""
    boundary = "fakeboundary42"
    body = b""
    for name, filename, data in parts:
        disposition = f'form-data; name="{name}"'
        if filename:
            disposition += f'; filename="{filename}"'
        body += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode()
        body += data + b"\r\n"
    body += f"--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


async def collection(admin: httpx2.AsyncClient, name: str, *file_ids: str) -> str:
    """A new collection holding ``file_ids``."""
    reply = await admin.post("/collections", json={"collection_name": name})
    assert reply.status_code == 200, reply.text
    collection_id = str(reply.json()["collection_id"])
    for file_id in file_ids:
        added = await admin.post(f"/collections/{collection_id}/documents/{file_id}")
        assert added.status_code == 200, added.text
    return collection_id


async def search(client: httpx2.AsyncClient, query: str, *ids: str, **extra: Any) -> Any:
    reply = await client.post(
        "/documents/search", json={"query": query, "source": {"collection_ids": list(ids)}, **extra}
    )
    assert reply.status_code == 200, reply.text
    return reply.json()["matches"]


# --- uploads --------------------------------------------------------------------------------


async def test_upload_answers_a_file_object_and_keeps_the_bytes(
    client: httpx2.AsyncClient, clock: FakeClock
) -> None:
    data = bytes(range(256)) * 3 + b"\r\n--fakeboundary\r\n"
    reply = await upload(client, "blob.bin", data, "application/octet-stream", purpose="assistants")
    assert reply.status_code == 200
    body = reply.json()
    assert body["id"].startswith("file_")
    assert body == {
        "id": body["id"],
        "object": "file",
        "bytes": len(data),
        "created_at": int(clock.now),
        "expires_at": None,
        "filename": "blob.bin",
        "purpose": "assistants",
    }
    assert (await client.get(f"/files/{body['id']}")).json() == body
    content = await client.get(f"/files/{body['id']}/content")
    assert content.headers["content-type"] == "application/octet-stream"
    assert content.content == data


async def test_expires_after_must_come_before_the_file(
    client: httpx2.AsyncClient, clock: FakeClock
) -> None:
    after, after_type = form(("file", "a.txt", b"text"), ("expires_after", None, b"3600"))
    refused = await client.post("/files", content=after, headers={"content-type": after_type})
    assert refused.status_code == 400
    assert "before" in refused.json()["error"]
    before, before_type = form(("expires_after", None, b"3600"), ("file", "a.txt", b"text"))
    accepted = await client.post("/files", content=before, headers={"content-type": before_type})
    assert accepted.status_code == 200
    assert accepted.json()["expires_at"] == int(clock.now) + 3600


@pytest.mark.parametrize("seconds", ["3599", "2592001", "soon", "-3600"])
async def test_expires_after_out_of_range_is_refused(
    client: httpx2.AsyncClient, seconds: str
) -> None:
    assert (await upload(client, "a.txt", "x", expires_after=seconds)).status_code == 400


async def test_uploads_above_the_limit_answer_413(
    fake: FakeXAI, client: httpx2.AsyncClient
) -> None:
    fake.files.behaviour = FilesBehaviour(max_upload_bytes=100)
    assert (await upload(client, "fits.bin", b"x" * 100)).status_code == 200
    too_big = await upload(client, "big.bin", b"x" * 101)
    assert too_big.status_code == 413
    assert "100 bytes" in too_big.json()["error"]


async def test_an_upload_needs_a_file_part_with_a_name_in_a_multipart_body(
    client: httpx2.AsyncClient,
) -> None:
    body, content_type = form(("purpose", None, b"assistants"))
    missing = await client.post("/files", content=body, headers={"content-type": content_type})
    assert missing.status_code == 400
    body, content_type = form(("file", None, b"no filename"))
    nameless = await client.post("/files", content=body, headers={"content-type": content_type})
    assert nameless.status_code == 400
    assert (await client.post("/files", json={"file": "x"})).status_code == 415


# --- listing, content, deletion, expiry ---------------------------------------------------


async def test_listing_pages_in_order_and_always_returns_a_token(
    client: httpx2.AsyncClient, queried: httpx2.AsyncClient
) -> None:
    # all five share one created_at: upload order breaks the tie
    ids = [
        await uploaded(client, f"{name}.txt", "x" * size)
        for name, size in [("c", 3), ("a", 5), ("e", 1), ("b", 4), ("d", 2)]
    ]
    pages, token = [], None
    while True:
        params = {"limit": "2", "order": "asc", **({"pagination_token": token} if token else {})}
        page = (await queried.get("/files", params=params)).json()
        assert page["pagination_token"]
        pages.append([f["id"] for f in page["data"]])
        token = page["pagination_token"]
        if len(page["data"]) < 2:
            break
    assert pages == [ids[0:2], ids[2:4], ids[4:]]
    default = (await queried.get("/files")).json()["data"]
    assert [f["id"] for f in default] == ids[::-1]

    def names(page: Any) -> list[str]:
        return [f["filename"] for f in page.json()["data"]]

    by_name = await queried.get("/files", params={"sort_by": "filename", "order": "desc"})
    assert names(by_name) == ["e.txt", "d.txt", "c.txt", "b.txt", "a.txt"]
    by_size = await queried.get("/files", params={"sort_by": "size", "order": "asc", "limit": 3})
    assert names(by_size) == ["e.txt", "d.txt", "c.txt"]


async def test_listing_refuses_bad_parameters(
    client: httpx2.AsyncClient, queried: httpx2.AsyncClient
) -> None:
    await uploaded(client, "a.txt", "a")
    token = (await queried.get("/files", params={"limit": 1})).json()["pagination_token"]
    for params in [
        {"limit": "0"},
        {"limit": "101"},
        {"order": "sideways"},
        {"sort_by": "colour"},
        {"pagination_token": "not-a-token"},
        {"pagination_token": token, "sort_by": "size"},
    ]:
        assert (await queried.get("/files", params=params)).status_code == 400, params


async def test_text_content_is_the_extracted_text(
    client: httpx2.AsyncClient, queried: httpx2.AsyncClient
) -> None:
    notes = await uploaded(client, "notes.md", "# Title\n\nSome *markdown*.")
    page = await upload(
        client,
        "page.html",
        "<html><head><style>p {}</style></head><body><p>First &amp; one</p><p>Two</p></body>",
        "text/html",
    )
    as_text = await queried.get(f"/files/{notes}/content", params={"format": "text"})
    assert as_text.headers["content-type"].startswith("text/plain")
    assert as_text.text == "# Title\n\nSome *markdown*."
    html = await queried.get(f"/files/{page.json()['id']}/content", params={"format": "text"})
    assert html.text == "First & one\n\nTwo"
    bad = await queried.get(f"/files/{notes}/content", params={"format": "pdf"})
    assert bad.status_code == 400


def pdf_with_text(text: str) -> bytes:
    """A one-page PDF showing ``text``, with a correct cross-reference table."""
    stream = f"BT /F1 12 Tf 72 712 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out, offsets = b"%PDF-1.4\n", []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return out


async def test_a_pdf_text_is_extracted_with_pypdf(
    client: httpx2.AsyncClient, queried: httpx2.AsyncClient
) -> None:
    pytest.importorskip("pypdf")
    reply = await upload(
        client, "report.pdf", pdf_with_text("Quarterly revenue rose"), "application/pdf"
    )
    text = await queried.get(f"/files/{reply.json()['id']}/content", params={"format": "text"})
    assert text.text.strip() == "Quarterly revenue rose"


async def test_deleted_files_are_gone(
    client: httpx2.AsyncClient, queried: httpx2.AsyncClient
) -> None:
    file_id = await uploaded(client, "a.txt", "a")
    keep = await uploaded(client, "b.txt", "b")
    deleted = await client.delete(f"/files/{file_id}")
    assert deleted.json() == {"id": file_id, "deleted": True, "object": "file"}
    for url in (f"/files/{file_id}", f"/files/{file_id}/content"):
        missing = await client.get(url)
        assert missing.status_code == 404
        assert file_id in missing.json()["error"]
    assert (await client.delete(f"/files/{file_id}")).status_code == 404
    assert (await client.get("/files/file_unknown")).status_code == 404
    assert [f["id"] for f in (await queried.get("/files")).json()["data"]] == [keep]


async def test_files_expire_by_the_injected_clock(
    client: httpx2.AsyncClient, queried: httpx2.AsyncClient, clock: FakeClock
) -> None:
    short = (await upload(client, "short.txt", "s", expires_after="3600")).json()["id"]
    lasting = await uploaded(client, "lasting.txt", "l")
    clock.advance(3599)
    assert (await client.get(f"/files/{short}")).status_code == 200
    clock.advance(1)
    assert (await client.get(f"/files/{short}")).status_code == 404
    assert (await client.get(f"/files/{short}/content")).status_code == 404
    assert [f["id"] for f in (await queried.get("/files")).json()["data"]] == [lasting]


# --- collections ----------------------------------------------------------------------------


async def test_management_routes_want_the_management_key(
    fake: FakeXAI, client: httpx2.AsyncClient
) -> None:
    base = management_base_url("http://fake/v1")
    assert base == "http://fake/management/v1"
    for headers in ({}, {"authorization": "Bearer wrong"}, {"authorization": KEY}):
        refused = await client.get(f"{base}/collections", headers=headers)
        assert refused.status_code == 401
        assert (
            refused.json()["code"] == "The request does not have valid authentication credentials"
        )
        assert refused.json()["error"]
    fake.files.behaviour = FilesBehaviour(management_key="other")
    assert (
        await client.get(f"{base}/collections", headers={"authorization": "Bearer other"})
    ).status_code == 200
    assert (await upload(client, "a.txt", "no key needed here")).status_code == 200


async def test_collections_are_created_listed_renamed_and_deleted(
    admin: httpx2.AsyncClient, client: httpx2.AsyncClient
) -> None:
    created = (await admin.post("/collections", json={"collection_name": "docs"})).json()
    collection_id = created["collection_id"]
    assert created == {
        "collection_id": collection_id,
        "collection_name": "docs",
        "created_at": "2027-01-15T08:00:00Z",
        "documents_count": 0,
    }
    await admin.post(
        f"/collections/{collection_id}/documents/{await uploaded(client, 'a.txt', 'a')}"
    )
    listed = (await admin.get("/collections")).json()["collections"]
    assert [(c["collection_id"], c["documents_count"]) for c in listed] == [(collection_id, 1)]
    renamed = await admin.put(f"/collections/{collection_id}", json={"collection_name": "kb"})
    assert renamed.json()["collection_name"] == "kb"
    assert (await admin.get(f"/collections/{collection_id}")).json()["collection_name"] == "kb"
    assert (await admin.post("/collections", json={})).status_code == 422
    assert (await admin.delete(f"/collections/{collection_id}")).status_code == 200
    assert (await admin.get(f"/collections/{collection_id}")).status_code == 404
    assert (await admin.get("/collections")).json()["collections"] == []


async def test_indexing_advances_one_step_per_status_read(
    admin: httpx2.AsyncClient, client: httpx2.AsyncClient
) -> None:
    good = await uploaded(client, "guide.md", REFUND)
    bad = await uploaded(client, "broken [fail].md", REFUND)
    collection_id = await collection(admin, "kb", good, bad)
    statuses = [
        (await admin.get(f"/collections/{collection_id}/documents/{good}")).json()["status"]
        for _ in range(3)
    ]
    assert statuses == [
        "DOCUMENT_STATUS_PROCESSING",
        "DOCUMENT_STATUS_PROCESSING",
        "DOCUMENT_STATUS_PROCESSED",
    ]
    listed = [(await admin.get(f"/collections/{collection_id}/documents")).json() for _ in range(3)]
    failed = next(d for d in listed[-1]["documents"] if d["file_metadata"]["file_id"] == bad)
    assert [d["status"] for d in listed[0]["documents"]] == [
        "DOCUMENT_STATUS_PROCESSED",
        "DOCUMENT_STATUS_PROCESSING",
    ]
    assert failed["status"] == "DOCUMENT_STATUS_FAILED"
    assert failed["error_message"]
    assert failed["file_metadata"]["name"] == "broken [fail].md"


async def test_documents_are_added_only_from_uploads_and_can_be_removed(
    admin: httpx2.AsyncClient, client: httpx2.AsyncClient
) -> None:
    collection_id = await collection(admin, "kb")
    assert (
        await admin.post(f"/collections/{collection_id}/documents/file_nope")
    ).status_code == 404
    file_id = await uploaded(client, "a.txt", "a")
    assert (await admin.post(f"/collections/missing/documents/{file_id}")).status_code == 404
    await admin.post(f"/collections/{collection_id}/documents/{file_id}")
    assert (
        await admin.delete(f"/collections/{collection_id}/documents/{file_id}")
    ).status_code == 200
    assert (await admin.get(f"/collections/{collection_id}/documents/{file_id}")).status_code == 404
    assert (await admin.get(f"/collections/{collection_id}/documents")).json() == {"documents": []}


# --- search ---------------------------------------------------------------------------------


async def knowledge(
    fake: FakeXAI, admin: httpx2.AsyncClient, client: httpx2.AsyncClient
) -> tuple[str, str, dict[str, str]]:
    """Collections ``a`` (refund, warranty, and a pending menu) and ``b`` (the menu)."""
    files = {
        name: await uploaded(client, f"{name}.txt", text)
        for name, text in [("refund", REFUND), ("warranty", WARRANTY), ("menu", MENU)]
    }
    a = await collection(admin, "a", files["refund"], files["warranty"])
    b = await collection(admin, "b", files["menu"])
    fake.files.finish_indexing()
    await admin.post(f"/collections/{a}/documents/{files['menu']}")  # still processing in a
    return a, b, files


async def test_search_sees_only_processed_documents_of_the_named_collections(
    fake: FakeXAI, admin: httpx2.AsyncClient, client: httpx2.AsyncClient
) -> None:
    a, b, files = await knowledge(fake, admin, client)
    matches = await search(client, "refund", a)
    assert {m["file_id"] for m in matches} == {files["refund"], files["warranty"]}
    first = matches[0]
    assert set(first) == {
        "file_id",
        "chunk_id",
        "chunk_content",
        "score",
        "collection_ids",
        "fields",
        "page_number",
    }
    assert first["collection_ids"] == [a]
    assert first["chunk_content"] in REFUND + WARRANTY
    assert "refund" in first["chunk_content"].lower()
    assert [m["file_id"] for m in await search(client, "refund", b)] == [files["menu"]]
    both = await search(client, "refund", a, b)
    assert {m["file_id"] for m in both} == set(files.values())
    assert await search(client, "zeppelin", a, b) == []


async def test_search_ranks_deterministically_and_keeps_to_the_limit(
    fake: FakeXAI, admin: httpx2.AsyncClient, client: httpx2.AsyncClient
) -> None:
    a, b, _ = await knowledge(fake, admin, client)
    for mode in ("hybrid", "semantic", "keyword"):
        extra = {"retrieval_mode": {"type": mode}}
        matches = await search(client, "refund return days", a, b, **extra)
        assert matches == await search(client, "refund return days", a, b, **extra)
        scores = [m["score"] for m in matches]
        assert scores == sorted(scores, reverse=True)
        assert matches[0]["chunk_content"].startswith("A refund is paid within 14 days")
        limited = await search(client, "refund return days", a, b, limit=2, **extra)
        assert limited == matches[:2]
    assert len(await search(client, "the", a, b, limit=1)) == 1


async def test_search_refuses_unknown_collections_and_bad_requests(
    fake: FakeXAI, admin: httpx2.AsyncClient, client: httpx2.AsyncClient
) -> None:
    a, _, _ = await knowledge(fake, admin, client)
    body = {"query": "refund", "source": {"collection_ids": [a, "collection_nope"]}}
    unknown = await client.post("/documents/search", json=body)
    assert unknown.status_code == 404
    assert "collection_nope" in unknown.json()["error"]
    for bad in [
        {"source": {"collection_ids": [a]}},
        {"query": "refund", "source": {"collection_ids": []}},
        {"query": "refund", "source": {"collection_ids": [a]}, "limit": 0},
        {"query": "refund", "source": {"collection_ids": [a]}, "retrieval_mode": {"type": "x"}},
    ]:
        assert (await client.post("/documents/search", json=bad)).status_code in (400, 422), bad


def test_chunks_are_paragraphs_cut_to_size() -> None:
    long = " ".join(["word"] * 700)  # 3499 characters
    chunks = chunk_pages(["One\n\n\nTwo  lines\nhere", long], size=1200)
    assert [c.text for c in chunks[:2]] == ["One", "Two lines here"]
    assert [c.page for c in chunks] == [1, 1, 2, 2, 2]
    assert [c.index for c in chunks] == [0, 1, 2, 3, 4]
    assert all(len(c.text) <= 1200 for c in chunks)
    assert " ".join(c.text for c in chunks[2:]) == long


# --- embeddings -----------------------------------------------------------------------------


def cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


async def test_embeddings_are_deterministic_unit_vectors(
    fake: FakeXAI, client: httpx2.AsyncClient
) -> None:
    texts = ["the cat sat on the mat", "a cat sat on a mat", "quarterly tax filing deadline"]
    reply = await client.post("/embeddings", json={"model": "grok-embed", "input": texts})
    body = reply.json()
    assert body["object"] == "list"
    assert body["model"] == "grok-embed"
    assert body["usage"]["prompt_tokens"] == body["usage"]["total_tokens"] > 0
    vectors = [item["embedding"] for item in body["data"]]
    assert [item["index"] for item in body["data"]] == [0, 1, 2]
    assert all(item["object"] == "embedding" for item in body["data"])
    assert all(len(v) == 64 and math.isclose(math.sqrt(cosine(v, v)), 1.0) for v in vectors)
    assert vectors[0] == embedding(texts[0])
    assert cosine(vectors[0], vectors[1]) > cosine(vectors[0], vectors[2]) + 0.3
    again = await client.post("/embeddings", json={"model": "grok-embed", "input": texts[2]})
    assert again.json()["data"][0]["embedding"] == vectors[2]
    fake.files.behaviour = FilesBehaviour(embedding_dimension=8)
    packed = await client.post(
        "/embeddings", json={"model": "m", "input": texts[0], "encoding_format": "base64"}
    )
    floats = struct.unpack("<8f", base64.b64decode(packed.json()["data"][0]["embedding"]))
    assert [round(x, 5) for x in floats] == [round(x, 5) for x in embedding(texts[0], 8)]


@pytest.mark.parametrize(
    "body",
    [
        {"input": "x"},
        {"model": "m", "input": []},
        {"model": "m", "input": [""]},
        {"model": "m", "input": 3},
        {"model": "m", "input": "x", "encoding_format": "int8"},
    ],
)
async def test_bad_embedding_requests_are_refused(
    client: httpx2.AsyncClient, body: dict[str, Any]
) -> None:
    assert (await client.post("/embeddings", json=body)).status_code in (400, 422)


# --- file_search in model turns -------------------------------------------------------------


def file_search_request(
    collection_ids: list[str], *, stream: bool = False, limit: int = 3, text: str = "refund days"
) -> dict[str, Any]:
    tool = {"type": "file_search", "vector_store_ids": collection_ids, "max_num_results": limit}
    return {"model": MODEL, "input": text, "tools": [tool], "stream": stream}


async def test_a_turn_with_file_search_starts_with_a_file_search_call(
    fake: FakeXAI, admin: httpx2.AsyncClient, client: httpx2.AsyncClient
) -> None:
    a, b, files = await knowledge(fake, admin, client)
    request = file_search_request([b], limit=3)
    response = (await client.post("/responses", json=request)).json()
    call, message = response["output"]
    assert call["type"] == "file_search_call"
    assert call["status"] == "completed"
    assert call["queries"] == ["refund days"]
    assert [(r["file_id"], r["filename"]) for r in call["results"]] == [(files["menu"], "menu.txt")]
    assert set(call["results"][0]) == {"file_id", "filename", "score", "text"}
    assert message["content"][0]["text"] == "Found it."
    assert response["usage"]["server_side_tool_usage_details"]["file_search_calls"] == 1
    assert fake.files.file_search_requests == request["tools"]
    stored = (await client.get(f"/responses/{response['id']}")).json()
    assert stored["output"] == response["output"]
    follow_up = {
        **request,
        "input": [
            {"role": "user", "content": "refund days"},
            *response["output"],
            {"role": "user", "content": "more?"},
        ],
    }
    second = (await client.post("/responses", json=follow_up)).json()
    assert second["output"][-1]["content"][0]["text"] == "Second answer."
    only_a = (await client.post("/responses", json=file_search_request([a], limit=1))).json()
    (result,) = only_a["output"][0]["results"]
    assert result["file_id"] in {files["refund"], files["warranty"]}


async def test_a_streamed_file_search_turn_numbers_its_events(
    fake: FakeXAI, admin: httpx2.AsyncClient, client: httpx2.AsyncClient
) -> None:
    a, _, files = await knowledge(fake, admin, client)
    reply = await client.post("/responses", json=file_search_request([a], stream=True))
    events = [e for e in parse_sse(reply.text) if e != "[DONE]"]
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    added = [e for e in events if e["type"] == "response.output_item.added"]
    assert [(e["output_index"], e["item"]["type"]) for e in added] == [
        (0, "file_search_call"),
        (1, "message"),
    ]
    assert all(e.get("output_index", 1) >= 1 for e in events[4:])
    done = events[-1]["response"]
    assert done["output"][0]["type"] == "file_search_call"
    assert {r["file_id"] for r in done["output"][0]["results"]} <= {
        files["refund"],
        files["warranty"],
    }


async def test_file_search_tools_are_checked_and_can_be_turned_off(
    fake: FakeXAI, admin: httpx2.AsyncClient, client: httpx2.AsyncClient
) -> None:
    a, _, _ = await knowledge(fake, admin, client)
    unknown = await client.post("/responses", json=file_search_request(["collection_nope"]))
    assert unknown.status_code == 404
    request = file_search_request([a])
    request["tools"][0]["filters"] = {"type": "eq", "key": "year", "value": 2024}
    assert (await client.post("/responses", json=request)).status_code == 400
    fake.files.behaviour = FilesBehaviour(file_search=False)
    plain = (await client.post("/responses", json=file_search_request([a]))).json()
    assert [item["type"] for item in plain["output"]] == ["message"]
    assert len(fake.files.file_search_requests) == 3


# --- faults and the loopback server ---------------------------------------------------------


async def test_files_rate_limit_and_injected_faults_keep_to_files(
    fake: FakeXAI, admin: httpx2.AsyncClient, client: httpx2.AsyncClient
) -> None:
    fake.files.rate_limit_next = 1
    limited = await upload(client, "a.txt", "a")
    assert limited.status_code == 429
    assert limited.headers["retry-after"] == "1"
    assert limited.json()["code"] == "Some resource has been exhausted"
    assert (await upload(client, "a.txt", "a")).status_code == 200
    fake.files.inject(replace(Fault.http(503), path="/management/v1/collections"))
    assert (await client.get("/files")).status_code == 200
    assert (await admin.get("/collections")).status_code == 503
    assert fake.files.pending_faults() == 0
    fake.inject(Fault.http(429, retry_after=1))
    assert (await client.get("/files")).status_code == 200
    assert fake.pending_faults() == 1
    fake.files.inject(Fault.http(500))
    assert (
        await client.post("/responses", json={"model": MODEL, "input": "hi"})
    ).status_code == 429
    assert (await client.post("/embeddings", json={"model": "m", "input": "x"})).status_code == 500


def test_files_and_collections_over_loopback() -> None:
    fake = FakeXAI(files=FilesBehaviour(index_polls=0))
    with serve_in_thread(fake) as server:
        sent = httpx2.post(server.base_url + "/files", files={"file": ("a.md", b"Refund policy.")})
        file_id = sent.json()["id"]
        manage = httpx2.Client(
            base_url=management_base_url(server.base_url),
            headers={"authorization": f"Bearer {KEY}"},
        )
        with manage:
            created = manage.post("/collections", json={"collection_name": "kb"}).json()
            manage.post(f"/collections/{created['collection_id']}/documents/{file_id}")
        found = httpx2.post(
            server.base_url + "/documents/search",
            json={"query": "refund", "source": {"collection_ids": [created["collection_id"]]}},
        )
    assert management_base_url(server.base_url).endswith(f":{server.port}/management/v1")
    assert [m["chunk_content"] for m in found.json()["matches"]] == ["Refund policy."]


def test_the_query_string_reaches_the_fake_over_loopback_http() -> None:
    fake = FakeXAI(Script([Turn.text("ok")]))
    with serve_in_thread(fake) as server:
        for name in ("a.md", "b.md", "c.md"):
            httpx2.post(server.base_url + "/files", files={"file": (name, b"text")})
        first = httpx2.get(server.base_url + "/files?limit=2&order=asc&sort_by=filename").json()
        assert [f["filename"] for f in first["data"]] == ["a.md", "b.md"]
        rest = httpx2.get(server.base_url + "/files", params={
            "limit": 2, "order": "asc", "sort_by": "filename",
            "pagination_token": first["pagination_token"],
        }).json()  # fmt: skip
        assert [f["filename"] for f in rest["data"]] == ["c.md"]
