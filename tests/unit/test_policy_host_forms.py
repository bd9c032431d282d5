"""A denied address is denied in every spelling an HTTP client or resolver accepts."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agentkit.decision import History, Principal, ProposedCall, ToolInfo
from agentkit.errors import PolicyLoadError
from agentkit.policy import Policy

POLICY = """
version: 1
tools:
  fetch:
    side_effect: read
    action: allow
    args:
      url:
        domains:
          deny: [localhost, 169.254.169.254, 10.1.2.3]
  fetch_public:
    side_effect: read
    action: allow
    args:
      url: {domains: {deny_ranges: [loopback, private, link_local]}}
"""
PROTECTED = ["127.0.0.1", "169.254.169.254", "10.1.2.3"]


def spellings(address: str) -> st.SearchStrategy[str]:
    """Forms of an IPv4 address that inet_aton and HTTP clients accept."""
    octets = [int(o) for o in address.split(".")]
    value = int(ipaddress.IPv4Address(address))

    def part(n: int, style: str) -> str:
        return {"dec": str(n), "hex": hex(n), "oct": "0" + oct(n)[2:] if n else "0"}[style]

    styles = st.sampled_from(["dec", "hex", "oct"])
    whole = styles.map(lambda s: part(value, s))
    dotted = st.tuples(styles, styles, styles, styles).map(
        lambda s: ".".join(part(o, x) for o, x in zip(octets, s, strict=True))
    )
    short = styles.map(
        lambda s: f"{octets[0]}.{part((octets[1] << 16) | (octets[2] << 8) | octets[3], s)}"
    )
    mapped = st.sampled_from(
        [f"[::ffff:{address}]", f"[::ffff:{value >> 16:x}:{value & 0xFFFF:x}]"]
    )
    return st.one_of(whole, dotted, short, mapped)


def decide(policy: Policy, tool: str, url: str) -> str:
    call = ProposedCall(call_id="c", tool=ToolInfo(name=tool), arguments={"url": url})
    return policy.decide(Principal(), call, History()).action


@given(data=st.data(), address=st.sampled_from(PROTECTED), port=st.sampled_from(["", ":8080"]))
def test_every_spelling_of_a_denied_address_is_denied(
    data: st.DataObject, address: str, port: str
) -> None:
    host = data.draw(spellings(address))
    policy = Policy.from_yaml(POLICY)
    assert decide(policy, "fetch", f"http://{host}{port}/latest/meta-data") == "deny"
    assert decide(policy, "fetch_public", f"https://{host}{port}/") == "deny"


@pytest.mark.parametrize(
    "url",
    [
        "http://[::1]/",
        "http://0/",
        "http://0.0.0.0:80/",
        "http://app.localhost/",
        "http://127.9.9.9/",
    ],
)
def test_localhost_means_every_loopback_address(url: str) -> None:
    assert decide(Policy.from_yaml(POLICY), "fetch", url) == "deny"


@pytest.mark.parametrize(
    ("url", "action"),
    [
        ("https://192.168.1.20/", "deny"),
        ("https://172.16.0.1/", "deny"),
        ("https://[fe80::1]/", "deny"),
        ("https://[fd00::1]/", "deny"),
        ("https://93.184.216.34/", "allow"),
        ("https://example.com/", "allow"),
    ],
)
def test_address_classes_can_be_named(url: str, action: str) -> None:
    assert decide(Policy.from_yaml(POLICY), "fetch_public", url) == action


def test_an_unknown_range_is_a_load_error() -> None:
    with pytest.raises(PolicyLoadError, match="neither a network"):
        Policy.from_yaml(
            "version: 1\ntools:\n  f:\n    args:\n      u: {domains: {deny_ranges: [intranet]}}\n"
        )
