"""Output paths: what a path reaches in a structured output, and the trust of each field."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agentkit.output_paths import (
    FieldLabels,
    FieldTrust,
    OutputPathError,
    OutputTrust,
    leaves,
    overlaps,
    parse_path,
    trust_at,
    within,
)

INBOX = [
    {"sender": "a@x.test", "to": ["me@x.test", "you@x.test"], "subject": "hi", "body": "text"},
    {"sender": "b@x.test", "to": [], "subject": None, "body": "more"},
]


@pytest.mark.parametrize(
    ("path", "data", "values"),
    [
        ("[].sender", INBOX, ["a@x.test", "b@x.test"]),
        ("[].to", INBOX, ["me@x.test", "you@x.test"]),  # a list's elements are under it
        ("[].to[]", INBOX, ["me@x.test", "you@x.test"]),
        ("[].subject", INBOX, ["hi"]),  # a null holds nothing
        ("sender", INBOX, []),  # a list is entered only where the path says []
        (
            "accounts.*.iban",
            {"accounts": {"a": {"iban": "DE1"}, "b": {"iban": "DE2"}}},
            ["DE1", "DE2"],
        ),
        ("rows[][]", {"rows": [[1, 2], [3]]}, [1, 2, 3]),
        ("*", {"a": 1, "b": [True, 2.5]}, [1, True, 2.5]),
        ("missing.key", {"missing": "text"}, []),
    ],
)
def test_a_path_holds_the_scalars_at_or_under_the_nodes_it_reaches(
    path: str, data: Any, values: list[Any]
) -> None:
    assert [value for _, value in parse_path(path).values(data)] == values


def test_a_value_comes_with_its_concrete_path() -> None:
    found = list(parse_path("[].to").values(INBOX))
    assert found == [((0, "to", 0), "me@x.test"), ((0, "to", 1), "you@x.test")]


@pytest.mark.parametrize(
    "text",
    ["", ".", "a.", ".a", "a..b", "[", "a[0]", "a[", "a]", "a b", "a*", "*a", "[]a", "a.[x]"],
)
def test_a_malformed_path_is_refused_with_what_paths_look_like(text: str) -> None:
    with pytest.raises(OutputPathError, match="is not an output path: write keys joined by dots"):
        parse_path(text)


def test_keys_may_hold_any_other_character() -> None:
    assert parse_path("e-mail.ünïcode_1:x").segments == ("e-mail", "ünïcode_1:x")
    assert parse_path("[][].a[]").segments == ("[]", "[]", "a", "[]")


@pytest.mark.parametrize(
    ("path", "where", "covered"),
    [
        ("[].body", (3, "body"), True),
        ("[].body", (3, "body", "html"), True),
        ("[].body", (3, "bodies"), False),
        ("[].body", ("x", "body"), False),  # [] is a list's index, not an object's key
        ("*.iban", ("acct", "iban"), True),
        ("*.iban", (0, "iban"), False),
        ("to", ("to", 0), True),
        ("to[]", ("to",), False),  # the list itself is not one of its elements
    ],
)
def test_a_path_covers_the_fields_at_and_under_what_it_reaches(
    path: str, where: tuple[Any, ...], covered: bool
) -> None:
    assert parse_path(path).covers(where) is covered


LABELS = FieldLabels(
    trusted=("[].sender", "[].to"), untrusted=("[].subject", "[].body", "[].to[].name")
)


@pytest.mark.parametrize(
    ("labels", "where", "trust"),
    [
        (LABELS, (0, "sender"), FieldTrust.NAMED),
        (LABELS, (0, "body"), FieldTrust.UNTRUSTED),
        (LABELS, (0, "date"), FieldTrust.LABELLED),  # no path: the output's own label
        (
            LABELS.model_copy(update={"otherwise_untrusted": True}),
            (0, "date"),
            FieldTrust.UNTRUSTED,
        ),
        (LABELS.model_copy(update={"otherwise_untrusted": True}), (0, "sender"), FieldTrust.NAMED),
        (LABELS, (0, "to", 1, "address"), FieldTrust.NAMED),
        (LABELS, (0, "to", 1, "name"), FieldTrust.UNTRUSTED),  # the longest path decides
        (
            FieldLabels(trusted=("[].a",), untrusted=("[].a",)),
            (0, "a"),
            FieldTrust.UNTRUSTED,
        ),  # a tie
    ],
)
def test_a_field_takes_the_label_of_the_longest_path_reaching_it(
    labels: FieldLabels, where: tuple[Any, ...], trust: FieldTrust
) -> None:
    assert trust_at(labels, where) is trust


def test_an_output_holding_an_untrusted_field_is_untrusted_as_a_whole() -> None:
    trust = OutputTrust(trusted=("[].iban",), untrusted=("[].subject",))
    framed, labels = trust.label([{"iban": "DE1", "subject": "pay me"}], untrusted=False)
    assert framed
    assert labels == FieldLabels(
        trusted=("[].iban",), untrusted=("[].subject",), otherwise_untrusted=False
    )
    assert trust.label([{"iban": "DE1"}], untrusted=False) == (False, labels)
    assert trust.label([{"iban": "DE1", "subject": None}], untrusted=False)[0] is False


def test_a_text_output_of_a_tool_with_untrusted_fields_is_untrusted() -> None:
    assert OutputTrust(untrusted=("[].body",)).label(None, untrusted=False) == (True, None)
    # trusted paths lift nothing: a text has no fields to take values from
    assert OutputTrust(trusted=("[].sender",)).label(None, untrusted=True) == (True, None)
    assert OutputTrust(trusted=("[].sender",)).label(None, untrusted=False) == (False, None)


def test_trusted_paths_never_lift_the_label_of_an_untrusted_output() -> None:
    framed, labels = OutputTrust(trusted=("[]",)).label([{"a": 1}], untrusted=True)
    assert framed
    assert labels is not None
    assert trust_at(labels, (0, "a")) is FieldTrust.NAMED


def test_a_malformed_path_in_output_trust_is_refused() -> None:
    with pytest.raises(OutputPathError):
        OutputTrust(untrusted=("[body",))


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=20,
)


@given(JSON)
def test_every_leaf_is_reached_by_its_own_concrete_path(data: Any) -> None:
    for where, value in leaves(data):
        node = data
        for key in where:
            node = node[key]
        assert node == value or node != node  # a value is itself
        assert value is not None


@pytest.mark.parametrize(
    ("outer", "inner", "is_within", "overlap"),
    [
        ("[]", "[].body", True, True),
        ("[].body", "[]", False, True),
        ("*.iban", "acct.iban", True, True),
        ("acct.iban", "*.iban", False, True),  # * reaches more than acct
        ("*.iban", "[].iban", False, False),  # * is an object's values, [] a list's
        ("[].to", "[].from", False, False),
        ("to", "to[]", True, True),
    ],
)
def test_how_two_paths_relate(outer: str, inner: str, is_within: bool, overlap: bool) -> None:
    assert within(parse_path(outer), parse_path(inner)) is is_within
    assert overlaps(parse_path(outer), parse_path(inner)) is overlap
    assert overlaps(parse_path(inner), parse_path(outer)) is overlap
