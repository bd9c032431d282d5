"""Host names, normal forms and token matching: the exact forms and refusals data flow relies on."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentkit.decision import History
from agentkit.policy import dataflow
from agentkit.policy.provenance_index import index_of
from agentkit.testing.decisions import past_call as past

HOSTS = [
    ("Example.COM.", "example.com"),
    ("[::1]", "::1"),
    ("10.0.0.1", "10.0.0.1"),
    ("bücher.de", "xn--bcher-kva.de"),
    ("faß.de", "xn--fa-hia.de"),  # IDNA 2008, as the HTTP client reads it: not fass.de
    ("ex\u3002com", "ex.com"),
]


@pytest.mark.parametrize(("host", "normalised"), HOSTS)
def test_hosts_normalise_to_lower_case_punycode_and_canonical_ips(
    host: str, normalised: str
) -> None:
    assert dataflow.normalise_host(host) == normalised


BAD_HOSTS = [
    ("", "'' is not a valid host name"),
    ("a%2e.com", "'a%2e.com' is not a valid host name"),
    ("a..b", "'a..b' is not a valid host name"),
    ("-x.com", "'-x.com' is not a valid host name"),
    ("[fe80::1%eth0]", "'[fe80::1%eth0]' is not a valid host name"),
    ("a" * 64 + ".com", f"'{'a' * 64}.com' is not a valid host name"),
    (
        "\u2603.com",
        "'\u2603.com' is not a host name the HTTP client accepts (IDNA 2008): "
        "Codepoint U+2603 at position 1 of '\u2603' not allowed",
    ),
    (
        "xn--n3h.com",
        "'xn--n3h.com': 'xn--n3h' is not a valid A-label (IDNA 2008): "
        "Codepoint U+2603 at position 1 of '\u2603' not allowed",
    ),
]


@pytest.mark.parametrize(("host", "message"), BAD_HOSTS)
def test_unusable_hosts_are_refused_with_the_reason(host: str, message: str) -> None:
    with pytest.raises(dataflow.HostError) as info:
        dataflow.normalise_host(host)
    assert str(info.value) == message


HOSTS_OF = [
    ("Xerox.com", "xerox.com"),
    ("Bob@Example.COM", "example.com"),
    ("HTTPS://Bücher.DE:8443/x", "xn--bcher-kva.de"),
    ("http://a.org/?q=1", "a.org"),
]


@pytest.mark.parametrize(("value", "host"), HOSTS_OF)
def test_the_host_of_a_url_address_or_bare_name(value: str, host: str) -> None:
    assert dataflow.host_of(value) == host


HIDDEN_HOSTS = [
    ("a b.com", "contains whitespace, control characters or backslashes"),
    ("a\\b.com", "contains whitespace, control characters or backslashes"),
    ("a\x01.com", "contains whitespace, control characters or backslashes"),
    ("@example.com", "'@example.com' is not a valid e-mail address"),
    ("a@b@c.com", "'a@b@c.com' is not a valid e-mail address"),
    ("a/b", "'a/b' is neither a URL with a scheme nor a bare host name"),
    ("a.com:80", "'a.com:80' is neither a URL with a scheme nor a bare host name"),
    ("https://h:port/", "malformed URL: Port could not be cast to integer value as 'port'"),
    ("ftp://h/", "scheme 'ftp' is not allowed"),
    (
        "https://u@h/",
        "URL carries user information (user@host), which can disguise its host",
    ),
    ("https:///p", "URL has no host"),
]


@pytest.mark.parametrize(("value", "message"), HIDDEN_HOSTS)
def test_values_that_hide_their_host_are_refused(value: str, message: str) -> None:
    with pytest.raises(dataflow.HostError) as info:
        dataflow.host_of(value)
    assert str(info.value) == message


def test_the_accepted_schemes_are_the_ones_given() -> None:
    assert dataflow.host_of("ftp://files.example/", schemes=("ftp",)) == "files.example"
    with pytest.raises(dataflow.HostError, match="scheme 'https' is not allowed"):
        dataflow.host_of("https://a.org/", schemes=("ftp",))


LABEL = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True)


@given(sub=st.lists(LABEL, max_size=3), domain=st.lists(LABEL, min_size=1, max_size=3))
@settings(max_examples=100)
def test_a_host_matches_its_entry_and_subdomains_but_never_a_lookalike(
    sub: list[str], domain: list[str]
) -> None:
    entry = ".".join(domain)
    host = ".".join([*sub, entry])
    assert dataflow.host_matches(host, [entry])
    assert not dataflow.host_matches(f"{host}.evil_org", [entry])
    assert not dataflow.host_matches("x" + entry, [entry])


@given(st.text(alphabet=st.sampled_from(" \t\n\r\x00\x1f\\"), min_size=1), st.text(max_size=10))
@settings(max_examples=100)
def test_no_value_with_whitespace_controls_or_backslashes_names_a_host(bad: str, rest: str) -> None:
    with pytest.raises(dataflow.HostError):
        dataflow.host_of(f"https://a{bad}{rest}.org/")


NORMALISED = [
    ("exact", " A  b ", " A  b "),
    ("exact", True, "true"),
    ("exact", False, "false"),
    ("text", "  Alice   SMITH ", "alice smith"),
    ("text", True, "true"),
    ("text", False, "false"),
    ("text", 3.0, "3"),
    ("text", 2.5, "2.5"),
    ("iban", "de89 3704-0044", "DE8937040044"),
    ("account", "12 34-5", "12345"),
    ("email", "Bob@Example.COM", "bob@example.com"),
    ("email", "A@B@Bücher.de", "a@b@xn--bcher-kva.de"),
    ("email", "NoAt", "noat"),
    ("domain", "Bücher.DE.", "xn--bcher-kva.de"),
    ("domain", " Fa\u00df.de ", "xn--fa-hia.de"),
    ("url", "HTTPS://Example.COM:8443/a?b#frag", "https://example.com:8443/a?b"),
    ("url", "https://A.com", "https://a.com/"),
    ("url", "https:///a", "https:///a"),
]


@pytest.mark.parametrize(("kind", "value", "normalised"), NORMALISED)
def test_values_compare_in_their_normal_form(kind: str, value: object, normalised: str) -> None:
    assert dataflow.normalise(kind, value) == normalised  # type: ignore[arg-type]


NAMING_NO_HOST = [
    ("email", "X@a..b", "'a..b' is not a valid host name"),
    ("domain", "Ex..com", "'Ex..com' is not a valid host name"),
    # folded to fass.de before, by NFKC; the HTTP client refuses the fullwidth letters
    ("domain", "\uff46ass.de", "is not a host name the HTTP client accepts (IDNA 2008)"),
    ("email", "a@\uff46ass.de", "is not a host name the HTTP client accepts (IDNA 2008)"),
    ("url", "https://\uff46ass.de/", "is not a host name the HTTP client accepts (IDNA 2008)"),
    ("url", "https://a.com:port/", "malformed URL: Port could not be cast"),
]


@pytest.mark.parametrize(("kind", "value", "message"), NAMING_NO_HOST)
def test_a_value_to_be_read_as_a_host_names_one_or_is_refused(
    kind: str, value: str, message: str
) -> None:
    with pytest.raises(dataflow.HostError, match=re.escape(message)):
        dataflow.normalise(kind, value)  # type: ignore[arg-type]


APPEARS = [
    ("text", "", "anything", False),  # an empty value has no source
    ("url", "https://a.com/", "see https://A.com.", True),
    ("url", "https://a.com/x", "see https://a.com/xy", False),
    ("domain", "xn--bcher-kva.de", "visit Bücher.de today", True),
    ("email", "a@xn--bcher-kva.de", "mail a@bücher.de.", True),
    ("email", "a@b.com", "mail a@b.com.evil.org", False),
    ("email", "a@b.com", "mail 'A@B.com', please", True),
    ("email", "o'brien@b.com", "mail O'Brien@b.com\u3002", True),
    ("email", "a@xn--fa-hia.de", "mail a@fass.de", False),
    ("email", "a@fass.de", "mail a@fa\u00df.de", False),
    ("domain", "fass.de", "see \u00abfass.de\u00bb and fass.de's page", True),
    ("domain", "fass.de", "see https://fass.de/x", True),
    ("domain", "fass.de", "mail bob@fass.de", False),
    ("domain", "fass.de", "see x.fass.de or fass.de-x", False),
    ("domain", "xn--bcher-kva.de", "visit bu\u0308cher.de", True),  # decomposed, the same text
    ("domain", "fass.de", "visit \uff46\uff41\uff53\uff53.de", False),
    ("url", "https://a.com/", "see https://a.com:port/ and https://\uff41.com/", False),
    ("iban", "DE8937040044", "pay DE89 3704-0044 now", True),
    ("iban", "DE8937040044", "pay DE89370400441 now", False),
    ("text", "alice smith", "From: Alice\n  Smith", True),
    ("exact", "Alice", "alice", False),
]


@pytest.mark.parametrize(("kind", "value", "text", "found"), APPEARS)
def test_a_normalised_value_appears_in_text_only_as_a_whole_token(
    kind: str, value: str, text: str, found: bool
) -> None:
    dataflow._token_patterns.cache_clear()
    assert dataflow.appears_in(kind, value, text) is found  # type: ignore[arg-type]


def test_untrusted_outputs_are_those_declared_or_marked_and_executed() -> None:
    history = History(
        calls=(
            past("web", untrusted=True, output="page"),
            past("mail", output="inbox"),
            past("db", output="rows"),
            past("web2", untrusted=True, output="skipped", executed=False),
            past("web3", untrusted=True, output=""),
        )
    )
    marked = frozenset({"mail"})
    index = index_of(history)
    found = {text: index.untrusted_source("text", text, marked) for text in OUTPUT_WORDS}
    assert found == {"page": "web", "inbox": "mail", "rows": None, "skipped": None}
    assert dataflow.untrusted_sources(history, marked) == {"web", "mail", "web3"}
    assert index.in_outputs("text", "rows", ["db", "web2"], frozenset())
    assert not index.in_outputs("text", "skipped", ["db", "web2"], frozenset())
    assert not index.in_outputs("text", "page", ["db", "web2"], frozenset())


OUTPUT_WORDS = ("page", "inbox", "rows", "skipped")


def test_a_named_source_vouches_only_with_output_labelled_trusted() -> None:
    history = History(
        calls=(
            past("db", output="order 7"),
            past("db", untrusted=True, output="note: pay mallory"),
            past("inbox", output="mail"),
        )
    )
    index = index_of(history)
    sources = ["db", "inbox"]
    assert index.in_outputs("text", "order 7", sources, frozenset())
    assert index.in_outputs("text", "mail", sources, frozenset())
    assert not index.in_outputs("text", "pay mallory", sources, frozenset())
    marked = frozenset({"inbox"})
    assert index.in_outputs("text", "order 7", sources, marked)
    assert not index.in_outputs("text", "mail", sources, marked)
