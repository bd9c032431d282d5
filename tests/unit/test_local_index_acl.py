"""Every user retrieves only what they may read: the ACL rules, deny by default, and a
property over random corpora, ACLs and principals: every hit is readable, the hits are
exactly an unfiltered search's readable ones in the same order (nothing readable lost),
and never more than the principal may read (no count leaks)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentkit.decision import Principal
from agentkit.retrieval import Acl, AclInvalid, Document, LocalIndex, SearchRefused
from agentkit.retrieval.search import match_expression

USERS = ["ana", "bob", "cy"]
ROLES = ["hr", "ops", "staff"]
WORKSPACES = ["acme", "globex"]
WORDS = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot"]


# --- the rules -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("acl", "principal", "readable"),
    [
        (Acl(), Principal(user_id="ana", roles=("hr",), workspace="acme"), False),
        (Acl(public=True), Principal(), True),
        (Acl(users=["ana"]), Principal(user_id="ana"), True),
        (Acl(users=["ana"]), Principal(user_id="Ana"), False),  # exact, case and all
        (Acl(roles=["hr"]), Principal(user_id="x", roles=("ops", "hr")), True),
        (Acl(roles=["hr"]), Principal(user_id="x", roles=("ops",)), False),
        (Acl(workspaces=["acme"]), Principal(workspace="acme"), True),  # the whole workspace
        (Acl(workspaces=["acme"]), Principal(workspace="globex"), False),
        (Acl(workspaces=["acme"]), Principal(), False),
        (Acl(roles=["hr"], workspaces=["acme"]), Principal(roles=("hr",), workspace="acme"), True),
        # a role of another tenant does not reach into this one
        (Acl(roles=["hr"], workspaces=["acme"]), Principal(roles=("hr",), workspace="globex"),
         False),
        (Acl(roles=["hr"], workspaces=["acme"]), Principal(roles=("ops",), workspace="acme"),
         False),
        (Acl(users=["ana"], workspaces=["acme"]), Principal(user_id="ana"), False),
    ],
)  # fmt: skip
def test_the_acl_rules(acl: Acl, principal: Principal, readable: bool) -> None:
    assert acl.readable_by(principal) is readable
    index = LocalIndex(":memory:")
    index.add(Document("d.txt", "alpha", acl=acl))
    assert len(index.search("alpha", principal)) == int(readable)  # the SQL agrees


@pytest.mark.parametrize(
    "make",
    [
        lambda: Acl(users=["ana"], public=True),
        lambda: Acl(workspaces=["acme"], public=True),
        lambda: Acl(users=[""]),
        lambda: Acl(roles="hr"),
        lambda: Acl(users=[None]),  # type: ignore[list-item]
    ],
)
def test_malformed_acls_are_refused(make: object) -> None:
    with pytest.raises(AclInvalid):
        make()  # type: ignore[operator]


def test_an_acl_round_trips_canonically() -> None:
    acl = Acl(users=["bob", "ana", "bob"], roles=["hr"], workspaces=["acme"])
    assert acl.users == ("ana", "bob")
    assert Acl.from_json(acl.to_json()) == acl
    assert acl.to_json() == Acl(users=["ana", "bob"], roles=["hr"], workspaces=["acme"]).to_json()


def test_search_without_a_principal_is_refused() -> None:
    index = LocalIndex(":memory:")
    index.add(Document("d.txt", "alpha", acl=Acl(public=True)))
    with pytest.raises(SearchRefused):
        index.search("alpha", None)  # type: ignore[arg-type]


def test_query_text_is_never_fts_syntax() -> None:
    assert match_expression('alpha" OR NEAR(x) *') == '"alpha" OR "or" OR "near" OR "x"'
    assert match_expression("  ?! ") is None
    index = LocalIndex(":memory:")
    index.add(Document("d.txt", "alpha bravo", acl=Acl(public=True)))
    assert index.search('") OR * NOT', Principal()) == []
    assert [h.doc_id for h in index.search('alpha" AND', Principal())] == ["d.txt"]


def test_denied_text_is_never_returned_even_when_it_is_the_only_match() -> None:
    index = LocalIndex(":memory:")
    index.sync(
        [
            Document("open.txt", "quarterly numbers", acl=Acl(public=True)),
            Document("board.txt", "merger with globex, quarterly", acl=Acl(roles=["board"])),
        ]
    )
    outsider = Principal(user_id="eve", roles=("staff",), workspace="acme")
    assert index.search("merger globex", outsider) == []
    assert [h.doc_id for h in index.search("quarterly merger", outsider, limit=100)] == ["open.txt"]


# --- the property ----------------------------------------------------------------------------

lists = st.lists
acls = st.one_of(
    st.just(Acl(public=True)),
    st.builds(
        Acl,
        lists(st.sampled_from(USERS), max_size=2),
        lists(st.sampled_from(ROLES), max_size=2),
        lists(st.sampled_from(WORKSPACES), max_size=2),
    ),
)
principals = st.builds(
    Principal,
    user_id=st.sampled_from([*USERS, "dee", "anonymous"]),
    roles=lists(st.sampled_from([*ROLES, "board"]), max_size=3, unique=True).map(tuple),
    workspace=st.sampled_from([None, *WORKSPACES, "initech"]),
)
texts = lists(st.sampled_from(WORDS), min_size=1, max_size=12).map(" ".join)
corpora = lists(st.tuples(texts, acls), min_size=1, max_size=10)
queries = lists(st.sampled_from(WORDS), min_size=1, max_size=3).map(" ".join)


@contextmanager
def twins(corpus: list[tuple[str, Acl]]) -> Iterator[tuple[LocalIndex, LocalIndex, list[Acl]]]:
    """The corpus under its ACLs, and the same corpus readable by all (BM25 sees the same
    text in both, so the second ranks as an unfiltered search of the first would)."""
    guarded, everyone = LocalIndex(":memory:"), LocalIndex(":memory:")
    try:
        docs = [Document(f"d{n}.txt", text) for n, (text, _) in enumerate(corpus)]
        acl_of = {d.doc_id: acl for d, (_, acl) in zip(docs, corpus, strict=True)}
        guarded.sync(docs, acl_for=lambda d: acl_of[d.doc_id])
        everyone.sync(docs, acl_for=lambda d: Acl(public=True))
        yield guarded, everyone, [acl for _, acl in corpus]
    finally:
        guarded.close()
        everyone.close()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(corpus=corpora, principal=principals, query=queries, limit=st.integers(1, 12))
def test_hits_are_exactly_the_readable_part_of_an_unfiltered_search(
    corpus: list[tuple[str, Acl]], principal: Principal, query: str, limit: int
) -> None:
    with twins(corpus) as (guarded, everyone, acls):
        readable = {f"d{n}.txt" for n, acl in enumerate(acls) if acl.readable_by(principal)}
        hits = guarded.search(query, principal, limit=limit)

        assert all(h.doc_id in readable for h in hits)  # nothing denied
        unfiltered = everyone.search(query, principal, limit=100)
        expected = [h.chunk_id for h in unfiltered if h.doc_id in readable][:limit]
        assert [h.chunk_id for h in hits] == expected  # nothing readable lost, same order
        assert len(hits) <= min(limit, len(readable))  # no count beyond what it may read


@settings(max_examples=100, deadline=None)
@given(corpus=corpora, principal=principals)
def test_a_term_in_every_document_finds_exactly_the_readable_ones(
    corpus: list[tuple[str, Acl]], principal: Principal
) -> None:
    marked = [(f"{text} zulu", acl) for text, acl in corpus]
    with twins(marked) as (guarded, _, acls):
        readable = {f"d{n}.txt" for n, acl in enumerate(acls) if acl.readable_by(principal)}
        assert {h.doc_id for h in guarded.search("zulu", principal, limit=100)} == readable
