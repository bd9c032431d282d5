"""normalise: url reads URLs without a scheme and bare hosts; a domain list compared with
an e-mail address reads its domain, as domains: allow_lists does."""

from __future__ import annotations

import pytest

from agentkit.policy import Policy, dataflow
from agentkit.testing.decisions import decide, past_call
from agentkit.testing.decisions import proposed_call as call


@pytest.mark.parametrize(
    ("value", "normalised"),
    [
        ("www.example.com/path", "https://www.example.com/path"),
        ("example.com", "https://example.com/"),
        ("Example.COM/a?b=1#frag", "https://example.com/a?b=1"),
        ("https://example.com:443", "https://example.com/"),
        ("http://example.com:80/x", "http://example.com/x"),
        ("https://example.com:8443/x", "https://example.com:8443/x"),
        ("bücher.de/x", "https://xn--bcher-kva.de/x"),
        ("mailto:a@example.com", "mailto:a@example.com"),
        ("hello", "hello"),
    ],
)
def test_url_normalisation(value: str, normalised: str) -> None:
    assert dataflow.normalise("url", value) == normalised


BROWSE = """
version: 1
tools:
  browse:
    action: allow
    args:
      url: {normalise: url, provenance: {user: true}}
"""


@pytest.mark.parametrize(
    ("typed", "sent", "action"),
    [
        ("open www.booking.com/hotels please", "https://www.booking.com/hotels", "allow"),
        ("open www.booking.com/hotels please", "www.booking.com/hotels", "allow"),
        ("go to booking.com.", "https://booking.com", "allow"),
        ("go to (booking.com)", "https://booking.com/", "allow"),
        ("go to booking.com", "http://booking.com/", "deny"),
        ("go to booking.com", "https://booking.com/reset?to=evil", "deny"),
        ("go to booking.com", "https://booking.com.evil.test/", "deny"),
        ("mail ana@booking.com", "https://booking.com/", "deny"),
    ],
)
def test_a_url_the_user_typed_without_a_scheme_is_a_source(
    typed: str, sent: str, action: str
) -> None:
    decision = decide(Policy.from_yaml(BROWSE), call("browse", url=sent), user_messages=(typed,))
    assert decision.action == action


def test_a_scheme_less_url_in_a_trusted_output_is_a_source() -> None:
    policy = Policy.from_yaml(BROWSE.replace("{user: true}", "{user: false, tools: [search]}"))
    found = (past_call("search", output="results: www.hotels.example/paris, other"),)
    assert decide(
        policy, call("browse", url="https://www.hotels.example/paris"), calls=found
    ).action == ("allow")


DOMAIN_LIST = """
version: 1
lists:
  ours: {normalise: domain, values: [example.com]}
tools:
  send: {action: allow, args: {to: {in_list: ours}}}
  block: {action: allow, args: {to: {not_in_list: ours}}}
  vouch: {action: allow, args: {to: {normalise: email, provenance: {user: false, lists: [ours]}}}}
"""


@pytest.mark.parametrize(
    ("tool", "to", "action"),
    [
        ("send", "ana@example.com", "allow"),
        ("send", "ana@sales.example.com", "allow"),
        ("send", "ana@example.com.evil.test", "deny"),
        ("send", "https://example.com/x", "allow"),
        ("send", "example.com", "allow"),
        ("send", "https://good@example.com/", "deny"),
        ("block", "ana@example.com", "deny"),
        ("block", "ana@other.test", "allow"),
        ("block", "not an address", "deny"),
        ("vouch", "ana@example.com", "allow"),
        ("vouch", "ana@elsewhere.test", "deny"),
    ],
)
def test_a_domain_list_reads_the_domain_of_an_address(tool: str, to: str, action: str) -> None:
    assert decide(Policy.from_yaml(DOMAIN_LIST), call(tool, to=to)).action == action
