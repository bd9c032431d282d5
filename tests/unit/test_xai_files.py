"""The files and collections clients against the fake server over loopback HTTP: upload
-> index -> search returns the expected chunks; pagination; a failed indexing is typed;
the management key never shows; and a run whose principal the policy grants a collection
gets its file_search results, cited and untrusted, while one granted none gets nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from agentkit import Agent
from agentkit.decision import Principal
from agentkit.errors import MissingAPIKey
from agentkit.model.xai_files import CollectionsClient, FilesClient, FilesError, IndexingFailed
from agentkit.testing import FakeXAI, Script, Turn
from agentkit.testing.fake_files import FilesBehaviour, management_base_url
from agentkit.testing.scripted_client import scripted_client
from agentkit.testing.server import FakeServer, serve_in_thread
from agentkit.tools.search import file_search

REFUNDS = b"# Refunds\n\nA refund is paid within 14 days of a return.\n\nShipping is free."
SALARIES = b"# Salaries\n\nThe salary bands are confidential: band C pays 90k."


async def _no_wait(seconds: float) -> None:
    return None


@pytest.fixture
def served() -> Iterator[tuple[FakeXAI, FakeServer]]:
    fake = FakeXAI(Script([Turn.text("Refunds take 14 days [file:x].")]),
                   files=FilesBehaviour(index_polls=2))  # fmt: skip
    with serve_in_thread(fake) as server:
        yield fake, server


def _clients(server: FakeServer) -> tuple[FilesClient, CollectionsClient]:
    files = FilesClient(api_key="k", base_url=server.base_url, sleep=_no_wait)
    collections = CollectionsClient(
        management_key="test-management-key", api_key="k", base_url=server.base_url,
        management_url=management_base_url(server.base_url), sleep=_no_wait,
    )  # fmt: skip
    return files, collections


async def _indexed(server: FakeServer, name: str, *docs: tuple[str, bytes]) -> str:
    files, collections = _clients(server)
    async with files, collections:
        kb = await collections.create(name)
        ids = [(await files.upload(data, filename=fname)).id for fname, data in docs]
        for file_id in ids:
            await collections.add_document(kb.collection_id, file_id)
        progress: list[tuple[int, int]] = []
        await collections.wait_for_indexing(
            kb.collection_id, ids, every=0.0, on_progress=lambda d, t: progress.append((d, t))
        )
        assert progress[-1] == (len(ids), len(ids))
        return kb.collection_id


async def test_upload_index_search_returns_the_expected_chunk(
    served: tuple[FakeXAI, FakeServer],
) -> None:
    _, server = served
    kb = await _indexed(server, "kb", ("refunds.md", REFUNDS), ("salaries.md", SALARIES))
    _, collections = _clients(server)
    async with collections:
        [best, *_] = await collections.search("how long does a refund take", [kb], limit=3)
    assert "14 days" in best.text
    assert best.collection_ids == (kb,)


async def test_files_are_listed_page_by_page_and_deleted(
    served: tuple[FakeXAI, FakeServer],
) -> None:
    _, server = served
    files, _ = _clients(server)
    async with files:
        made = [await files.upload(b"x", filename=f"f{i}.txt") for i in range(5)]
        listed = [f.id async for f in files.list_files(page_size=2, order="asc")]
        assert listed == [f.id for f in made]
        assert await files.content(made[0].id) == b"x"
        assert await files.delete(made[0].id)
        with pytest.raises(FilesError, match="404"):
            await files.get(made[0].id)


async def test_a_failed_indexing_is_typed(served: tuple[FakeXAI, FakeServer]) -> None:
    _, server = served
    files, collections = _clients(server)
    async with files, collections:
        kb = await collections.create("kb")
        bad = await files.upload(b"junk", filename="broken [fail].md")
        await collections.add_document(kb.collection_id, bad.id)
        with pytest.raises(IndexingFailed, match=bad.id):
            await collections.wait_for_indexing(kb.collection_id, [bad.id], every=0.0)


async def test_the_management_key_is_checked_and_never_shown(
    served: tuple[FakeXAI, FakeServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, server = served
    wrong = CollectionsClient(management_key="sk-mgmt-wrong-123", api_key="k",
                              base_url=server.base_url,
                              management_url=management_base_url(server.base_url),
                              sleep=_no_wait)  # fmt: skip
    async with wrong:
        with pytest.raises(FilesError, match="401") as refused:
            await wrong.create("kb")
    assert "sk-mgmt-wrong-123" not in str(refused.value)
    assert "sk-mgmt-wrong-123" not in repr(wrong)
    for name in ("XAI_MANAGEMENT_KEY", "XAI_MANAGEMENT_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(MissingAPIKey, match="XAI_MANAGEMENT_KEY"):
        CollectionsClient(api_key="k")


def _policy(tmp_path: Path, kb: str) -> str:
    path = tmp_path / "policy.yaml"
    path.write_text(f"""version: 1
roles:
  support: {{}}
  guest: {{}}
tools:
  file_search: {{action: allow, untrusted_output: true}}
retrieval:
  collections:
    support: [{kb}]
""")
    return str(path)


class Library(Agent):
    instructions = "Answer from the documents."
    server_tools = [file_search(max_num_results=3)]


async def test_a_run_searches_only_the_collections_its_principal_is_granted(
    served: tuple[FakeXAI, FakeServer], tmp_path: Path
) -> None:
    fake, server = served
    kb = await _indexed(server, "kb", ("refunds.md", REFUNDS))
    secret = await _indexed(server, "hr", ("salaries.md", SALARIES))
    agent = Library(client=scripted_client(fake), policy=_policy(tmp_path, kb), audit=None)
    support = Principal(user_id="ana", roles=("support",))
    run = await agent.run("refund and salary band C?", principal=support)
    [searched] = [s for s in run.steps if s.tool == "file_search"]
    assert searched.untrusted
    assert searched.citations
    assert all(c.startswith("file:") for c in searched.citations)
    assert "14 days" in (searched.output or "")
    assert "90k" not in (searched.output or "")  # the other collection was never searched
    assert fake.files.file_search_requests[-1]["vector_store_ids"] == [kb]
    assert secret not in str(fake.files.file_search_requests)

    fake.script = Script([Turn.text("I cannot search.")])
    before = len(fake.files.file_search_requests)
    guest = await agent.run("salary band C?", principal=Principal(user_id="g", roles=("guest",)))
    assert [s for s in guest.steps if s.tool == "file_search"] == []
    assert len(fake.files.file_search_requests) == before  # no entry: nothing to search


async def test_embeddings_come_back_one_per_text_in_order(
    served: tuple[FakeXAI, FakeServer],
) -> None:
    from agentkit.model.xai_files import EmbeddingsClient

    _, server = served
    async with EmbeddingsClient(
        model="embed-1", api_key="k", base_url=server.base_url, batch=2
    ) as client:
        texts = ["refund policy", "refund policy", "the weather today", "refund rules"]
        vectors = await client.embed(texts)
    assert len(vectors) == 4
    assert vectors[0] == vectors[1]  # deterministic
    assert len({len(v) for v in vectors}) == 1

    def cosine(a: list[float], b: list[float]) -> float:
        return sum(x * y for x, y in zip(a, b, strict=True))

    assert cosine(vectors[0], vectors[3]) > cosine(vectors[0], vectors[2])


def test_a_local_index_embeds_through_the_xai_embedder(
    served: tuple[FakeXAI, FakeServer], tmp_path: Path
) -> None:
    from agentkit.model.xai_files import xai_embedder
    from agentkit.retrieval import Acl, Document, LocalIndex

    _, server = served
    embed = xai_embedder("embed-1", api_key="k", base_url=server.base_url, batch=2)
    assert len(embed(["one", "two", "three"])) == 3
    with LocalIndex(tmp_path / "index.db", embed=embed) as index:
        for name, text in (("refunds.md", REFUNDS), ("salaries.md", SALARIES)):
            index.add(Document(name, text, acl=Acl(public=True)))
        hits = index.search("refund paid", Principal(user_id="ana"))
    assert hits[0].doc_id == "refunds.md"
    assert index.vectors is not None
