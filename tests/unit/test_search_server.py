"""Server-side search entries: xAI's limits, and filters derived from the policy."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pytest

from agentkit.decision import Principal
from agentkit.errors import ConfigError
from agentkit.policy import Policy
from agentkit.tools.search import (
    policy_domain_filters,
    policy_handle_filters,
    policy_web_search,
    policy_x_search,
    server_search_tools,
    web_search,
    x_search,
)

SEARCH_POLICY = """
version: 1
roles:
  researcher: {}
lists:
  official: {values: [xai, grok, elonmusk]}
tools:
  web_search:
    action: allow
    roles: [researcher]
    untrusted_output: true
    args:
      query: {maxLength: 400}
      sources: {domains: {allow: [docs.python.org, peps.python.org, python.org]}}
  x_search:
    action: allow
    roles: [researcher]
    untrusted_output: true
    args:
      handles: {in_list: official}
"""


def policy(text: str = SEARCH_POLICY) -> Policy:
    return Policy.from_yaml(text)


# --- builders ------------------------------------------------------------------------------


def test_web_search_entry_has_only_what_was_given() -> None:
    assert web_search() == {"type": "web_search"}
    assert web_search(excluded_domains=["Example.COM.", "*.ads.example"]) == {
        "type": "web_search",
        "excluded_domains": ["example.com", "ads.example"],
    }
    assert web_search(allowed_domains=["bücher.de"], enable_image_understanding=True) == {
        "type": "web_search",
        "allowed_domains": ["xn--bcher-kva.de"],
        "enable_image_understanding": True,
    }


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"allowed_domains": ["a.com", "b.com", "c.com", "d.com", "e.com", "f.com"]}, "at most 5"),
        ({"allowed_domains": ["a.com"], "excluded_domains": ["b.com"]}, "mutually exclusive"),
        ({"allowed_domains": []}, "is empty"),
        ({"allowed_domains": "docs.python.org"}, "must be a list"),
        ({"allowed_domains": ["https://docs.python.org/3/"]}, "not a bare domain"),
        ({"excluded_domains": ["user@example.com"]}, "not a bare domain"),
        ({"excluded_domains": ["exa mple.com"]}, "not a bare domain"),
        ({"excluded_domains": ["bad..host"]}, "excluded_domains[0]"),
    ],
)
def test_web_search_limits(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        web_search(**kwargs)
    assert message in str(caught.value)


def test_five_domains_and_duplicates_are_fine() -> None:
    entry = web_search(allowed_domains=["a.com", "A.com", "b.com", "c.com", "d.com", "e.com"])
    assert entry["allowed_domains"] == ["a.com", "b.com", "c.com", "d.com", "e.com"]


def test_x_search_entry() -> None:
    entry = x_search(
        allowed_x_handles=["xai", "grok"],
        from_date=date(2025, 1, 1),
        to_date=datetime(2025, 3, 31, 12, 30),
        enable_video_understanding=False,
    )
    assert entry == {
        "type": "x_search",
        "allowed_x_handles": ["xai", "grok"],
        "from_date": "2025-01-01",
        "to_date": "2025-03-31",
        "enable_video_understanding": False,
    }


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"allowed_x_handles": ["@xai"]}, "without '@' ('xai')"),
        ({"excluded_x_handles": ["not a handle"]}, "is not an X handle"),
        ({"excluded_x_handles": ["a" * 16]}, "is not an X handle"),
        ({"allowed_x_handles": [f"user{i}" for i in range(11)]}, "at most 10"),
        ({"allowed_x_handles": ["xai"], "excluded_x_handles": ["grok"]}, "mutually exclusive"),
        ({"from_date": "2025-1-5"}, "YYYY-MM-DD"),
        ({"to_date": "2025-02-30"}, "YYYY-MM-DD"),
        ({"from_date": "2025-03-01", "to_date": "2025-02-01"}, "is after to_date"),
    ],
)
def test_x_search_limits(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        x_search(**kwargs)
    assert message in str(caught.value)


# --- from the policy -----------------------------------------------------------------------


def test_filters_come_from_the_policy() -> None:
    loaded = policy()
    assert policy_domain_filters(loaded).allowed == (
        "docs.python.org",
        "peps.python.org",
        "python.org",
    )
    assert policy_handle_filters(loaded).allowed == ("elonmusk", "grok", "xai")
    assert server_search_tools(loaded, x=True) == [
        {
            "type": "web_search",
            "allowed_domains": ["docs.python.org", "peps.python.org", "python.org"],
        },
        {"type": "x_search", "allowed_x_handles": ["elonmusk", "grok", "xai"]},
    ]


def test_a_developer_may_narrow_but_not_widen() -> None:
    loaded = policy()
    narrowed = policy_web_search(loaded, allowed_domains=["docs.python.org", "wiki.python.org"])
    assert narrowed["allowed_domains"] == ["docs.python.org", "wiki.python.org"]
    with pytest.raises(ConfigError, match=r"evil\.test would widen the policy"):
        policy_web_search(loaded, allowed_domains=["docs.python.org", "evil.test"])
    with pytest.raises(ConfigError, match="would widen"):
        policy_x_search(loaded, allowed_x_handles=["someone_else"])
    assert policy_x_search(loaded, allowed_x_handles=["XAI"], from_date="2025-01-01") == {
        "type": "x_search",
        "allowed_x_handles": ["xai"],
        "from_date": "2025-01-01",
    }


def test_policy_deny_list_becomes_excluded_domains() -> None:
    text = """
version: 1
lists:
  blocked: {normalise: domain, values: [content-farm.example]}
tools:
  web_search:
    action: allow
    args:
      sources: {domains: {deny: [pastebin.com], deny_lists: [blocked]}}
"""
    entry = policy_web_search(policy(text), excluded_domains=["reddit.com"])
    assert entry == {
        "type": "web_search",
        "excluded_domains": ["pastebin.com", "content-farm.example", "reddit.com"],
    }
    # an allow list outside the denied sites says it all: the denies are redundant
    assert policy_web_search(policy(text), allowed_domains=["docs.python.org"]) == {
        "type": "web_search",
        "allowed_domains": ["docs.python.org"],
    }
    with pytest.raises(ConfigError, match="every allowed domain is also excluded"):
        policy_web_search(policy(text), allowed_domains=["pastebin.com"])


def test_allow_list_with_a_denied_subdomain_cannot_be_expressed() -> None:
    text = """
version: 1
tools:
  web_search:
    action: allow
    args:
      sources: {domains: {allow: [python.org], deny: [mail.python.org, other.example]}}
"""
    with pytest.raises(ConfigError, match=r"cannot exclude mail\.python\.org"):
        server_search_tools(policy(text))
    # a developer can say it by narrowing the allowed side
    entry = policy_web_search(policy(text), allowed_domains=["docs.python.org"])
    assert entry == {"type": "web_search", "allowed_domains": ["docs.python.org"]}


def test_too_many_policy_domains_for_xai_is_a_clear_error() -> None:
    hosts = ", ".join(f"site{i}.example" for i in range(6))
    text = f"""
version: 1
tools:
  web_search:
    action: allow
    args:
      sources: {{domains: {{allow: [{hosts}]}}}}
"""
    with pytest.raises(ConfigError, match="xAI accepts at most 5"):
        server_search_tools(policy(text))


def test_handles_excluded_by_the_policy() -> None:
    text = """
version: 1
lists:
  spam: {values: [spam_bot, Scam_Account]}
tools:
  x_search:
    action: allow
    args:
      handles: {not_in_list: spam}
"""
    assert server_search_tools(policy(text), web=False, x=True) == [
        {"type": "x_search", "excluded_x_handles": ["scam_account", "spam_bot"]}
    ]


def test_only_searches_the_principal_may_run_plainly_are_sent() -> None:
    loaded = policy()
    assert server_search_tools(loaded, principal=Principal(roles=("researcher",)), x=True)
    assert server_search_tools(loaded, principal=Principal(roles=()), x=True) == []
    confirm = policy(SEARCH_POLICY.replace("action: allow", "action: confirm"))
    assert server_search_tools(confirm, x=True) == [], "xAI cannot pause a search for a person"
    nothing = Policy.from_yaml("version: 1\n")
    assert server_search_tools(nothing, x=True) == [], "default deny"


def test_options_pass_through_and_are_validated() -> None:
    loaded = policy()
    entries = server_search_tools(
        loaded,
        web={"allowed_domains": ["peps.python.org"], "enable_image_understanding": False},
        x={"from_date": "2025-06-01", "to_date": "2025-06-30"},
    )
    assert entries[0]["allowed_domains"] == ["peps.python.org"]
    assert entries[1]["to_date"] == "2025-06-30"
    with pytest.raises(ConfigError, match="from_date"):
        server_search_tools(loaded, x={"from_date": "June"})


def test_a_role_granted_through_includes_counts() -> None:
    text = SEARCH_POLICY.replace(
        "researcher: {}", "researcher: {}\n  lead: {includes: [researcher]}"
    )
    loaded = policy(text)
    assert server_search_tools(loaded, principal=Principal(roles=("lead",))) == [
        {
            "type": "web_search",
            "allowed_domains": ["docs.python.org", "peps.python.org", "python.org"],
        }
    ]
