"""file_search entries name the collections the policy grants the run's principal, never
ones the model (or anyone at run time) picks; a principal granted none gets no entry;
a developer's own list is only narrowed. Results of a file_search_call are kept, cited
and untrusted."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentkit import Agent
from agentkit.decision import Principal
from agentkit.model.responses_wire import parse_output
from agentkit.model.types import ModelResponse, Usage
from agentkit.policy import load_policy
from agentkit.testing import FakeXAI, Script, Turn
from agentkit.testing.fake_files import FilesBehaviour
from agentkit.testing.scripted_client import scripted_client
from agentkit.tools.search import file_search
from agentkit.tools.search.entries import scoped_file_search

ROLES = ("support", "lead", "guest")
COLLECTIONS = ("col_kb", "col_incidents", "col_hr")


def _policy(tmp_path: Path, grants: dict[str, list[str]]) -> Path:
    lines = ["version: 1", "roles:", "  support: {}", "  lead: {includes: [support]}",
             "  guest: {}", "tools:", "  file_search: {action: allow, untrusted_output: true}",
             "retrieval:", "  collections:" + ("" if grants else " {}")]  # fmt: skip
    lines += [f"    {role}: [{', '.join(ids)}]" for role, ids in grants.items()]
    path = tmp_path / "policy.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def _held(roles: set[str]) -> set[str]:
    return roles | ({"support"} if "lead" in roles else set())


class Library(Agent):
    instructions = "Answer from the documents."
    server_tools = [file_search(max_num_results=4)]


async def _sent(tmp_path: Path, principal: Principal) -> list[dict[str, Any]]:
    fake = FakeXAI(Script([Turn.text("ok")]), files=FilesBehaviour(file_search=False))
    grants = {"support": ["col_kb"], "lead": ["col_incidents", "col_kb"]}
    agent = Library(client=scripted_client(fake), policy=str(_policy(tmp_path, grants)),
                    audit=None)  # fmt: skip
    await agent.run("what is our refund policy?", principal=principal)
    tools: list[dict[str, Any]] = fake.requests[-1].json.get("tools", [])
    return [t for t in tools if t.get("type") == "file_search"]


async def test_each_principal_gets_the_collections_of_their_roles(tmp_path: Path) -> None:
    [support] = await _sent(tmp_path, Principal(user_id="a", roles=("support",)))
    assert support == {"type": "file_search", "max_num_results": 4, "vector_store_ids": ["col_kb"]}
    [lead] = await _sent(tmp_path, Principal(user_id="b", roles=("lead",)))
    assert set(lead["vector_store_ids"]) == {"col_kb", "col_incidents"}  # lead includes support
    assert await _sent(tmp_path, Principal(user_id="c", roles=("guest",))) == []


@settings(max_examples=60, deadline=None)
@given(
    st.dictionaries(st.sampled_from(ROLES), st.lists(st.sampled_from(COLLECTIONS), max_size=3)),
    st.sets(st.sampled_from(ROLES)),
    st.none() | st.lists(st.sampled_from(COLLECTIONS), min_size=1, max_size=3),
)
def test_an_entry_never_names_a_collection_the_roles_do_not_grant(
    grants: dict[str, list[str]], roles: set[str], own: list[str] | None
) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        policy = load_policy(_policy(Path(folder), grants))
    who = Principal(user_id="u", roles=tuple(roles))
    granted = policy.collections_for(who)
    allowed = {c for role in _held(roles) for c in grants.get(role, [])}
    assert set(granted) == allowed
    entry = scoped_file_search(file_search(collection_ids=own), granted)
    expected = allowed if own is None else allowed & set(own)
    if not expected:
        assert entry is None
    else:
        assert entry is not None
        assert set(entry["vector_store_ids"]) == expected


def test_a_file_search_call_keeps_its_results_typed() -> None:
    usage = Usage(request_id="q", model="m", endpoint="responses")
    response = ModelResponse(id="r", model="m", status="completed", output=[], usage=usage,
                             request_id="q")  # fmt: skip
    parse_output([{"type": "file_search_call", "id": "fs_1", "status": "completed",
                   "queries": ["refunds", 7],
                   "results": [{"file_id": "file_1", "filename": "policy.md", "score": 0.9,
                                "text": "Refunds within 30 days.", "extra": "dropped"},
                               "junk", {"file_id": 5, "score": "high"}]}], response)  # fmt: skip
    [call] = response.server_tool_calls
    assert call.tool == "file_search"
    assert call.arguments == '{"queries": ["refunds"]}'
    assert call.results[0] == {"file_id": "file_1", "filename": "policy.md", "score": 0.9,
                               "text": "Refunds within 30 days."}  # fmt: skip
    assert call.results[1] == {"file_id": "", "filename": "", "score": None, "text": ""}


def test_file_search_refuses_bad_entries() -> None:
    from agentkit.errors import ConfigError

    with pytest.raises(ConfigError):
        file_search(collection_ids=[f"c{i}" for i in range(11)])
    with pytest.raises(ConfigError):
        file_search(collection_ids=[""])
    with pytest.raises(ConfigError):
        file_search(max_num_results=0)
