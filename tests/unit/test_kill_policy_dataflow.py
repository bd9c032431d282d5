"""Address ranges: how hosts, address classes and networks compare, at their edges; and where
a host or an address starts and ends in a text."""

from __future__ import annotations

import ipaddress

import pytest

from agentkit.policy import dataflow
from agentkit.policy.dataflow import HostError, compile_range, in_ranges, ip_of
from agentkit.policy.spec import NormaliseKind


def test_a_network_with_host_bits_compiles_to_its_whole_network() -> None:
    assert compile_range("10.1.2.3/8") == ipaddress.IPv4Network("10.0.0.0/8")
    assert compile_range("fd00::1/8") == ipaddress.IPv6Network("fd00::/8")
    assert compile_range("192.0.2.7") == ipaddress.IPv4Network("192.0.2.7/32")


def test_a_class_name_compiles_to_itself() -> None:
    assert [compile_range(c) for c in dataflow.RANGE_CLASSES] == list(dataflow.RANGE_CLASSES)


def test_an_entry_that_is_neither_names_the_classes() -> None:
    with pytest.raises(HostError) as info:
        compile_range("intranet")
    assert str(info.value) == (
        "'intranet' is neither a network (10.0.0.0/8) nor one of "
        "loopback, private, link_local, multicast, reserved, unspecified"
    )


def test_text_after_an_address_does_not_make_it_that_address() -> None:
    # inet_aton itself stops at the first space and ignores the rest
    assert ip_of("127.0.0.1 evil") is None
    assert ip_of("127.1\tx") is None


def test_only_brackets_are_stripped_around_an_address() -> None:
    assert ip_of("[::1]") == ipaddress.IPv6Address("::1")
    assert ip_of("X0x7f000001") is None
    assert ip_of("0x7f000001X") is None


def test_localhost_names_are_in_the_loopback_class_only() -> None:
    assert in_ranges("localhost", ["loopback"])
    assert in_ranges("api.localhost", ["loopback"])
    assert in_ranges("localhost", ["private", "loopback"])
    assert not in_ranges("localhost", ["private"])
    assert not in_ranges("localhost", ["private", "link_local", "multicast"])
    assert not in_ranges("notlocalhost", ["loopback"])
    assert not in_ranges("localhost.example.com", ["loopback"])


def test_unresolved_names_are_in_no_range() -> None:
    assert not in_ranges("example.com", ["loopback", "private", compile_range("0.0.0.0/0")])


def test_an_address_is_in_a_network_up_to_its_edges() -> None:
    net = compile_range("10.0.0.0/8")
    assert in_ranges("10.0.0.0", [net])
    assert in_ranges("10.255.255.255", [net])
    assert not in_ranges("11.0.0.0", [net])
    assert not in_ranges("9.255.255.255", [net])
    assert in_ranges("11.0.0.1", ["private", compile_range("11.0.0.0/31")])


def test_an_address_of_one_version_is_not_in_a_network_of_the_other() -> None:
    assert not in_ranges("::2", [compile_range("0.0.0.0/0")])
    assert not in_ranges("10.0.0.1", [compile_range("::/0")])
    assert in_ranges("fd00::5", [compile_range("fd00::/8")])


def test_the_unspecified_address_is_loopback() -> None:
    assert in_ranges("0.0.0.0", ["loopback"])
    assert in_ranges("::", ["loopback"])
    assert not in_ranges("0.0.0.0", ["multicast", "link_local"])


@pytest.mark.parametrize(
    ("kind", "value", "text"),
    [
        ("domain", "example.fr", "écrivez à l'example.fr"),  # an apostrophe ends a domain
        ("domain", "xerox.com", "see Xerox.com today"),  # a name that starts with X
        ("email", "xavier@example.com", "write to Xavier@example.com"),
        ("email", "o'brien@example.com", "write to 'o'brien@example.com'"),
    ],
)
def test_a_host_or_address_appears_as_a_whole_token(
    kind: NormaliseKind, value: str, text: str
) -> None:
    assert dataflow.appears_in(kind, value, text)


def test_an_apostrophe_does_not_end_an_address() -> None:
    assert not dataflow.appears_in("email", "brien@example.com", "write to o'brien@example.com")
