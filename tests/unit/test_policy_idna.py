"""Host names read as the HTTP client reads them: IDNA 2008, no second opinion.

httpx2 lower-cases a host and, when it is not ASCII, encodes it with the `idna` package
(IDNA 2008, non-transitional: ß, ς and joiners are kept, fullwidth letters and symbols are
refused). The policy must name the host the client connects to, or refuse the value: a
policy that allows ``fass.de`` must not allow ``faß.de``, which the client sends to
``xn--fa-hia.de``.
"""

from __future__ import annotations

import re

import httpx2
import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from agentkit.decision import History, Principal, ProposedCall, ToolInfo
from agentkit.policy import Policy, dataflow
from agentkit.policy.dataflow import HostError, host_of, ip_of, normalise_host

ASCII = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"
DEVIATIONS = "ßẞςΣσ\u200c\u200d"  # read differently by IDNA 2003 (mapped or dropped)
FULLWIDTH = "ＦＡＳＳｆａｓｓ０１－"  # noqa: RUF001
MARKS = "\u0301\u0308\u0327\u094d\u0e31"  # combining marks, a virama, a Thai vowel sign
SYMBOLS = "☃😀✓♥ℌ\u2024\u00b7\u30fb"  # noqa: RUF001 - IDNA 2003 allowed some, IDNA 2008 none
CONFUSABLES = "аеорсхіΑΒΕΚΟΡορστ"  # Cyrillic and Greek letters that look Latin
# Turkish i, long s, Kelvin sign, Cherokee, Indic, right-to-left
OTHER = "üéİıſKᎠꭰक्षابحאי٠١"  # noqa: RUF001
FULLWIDTH_FASS = "\uff46\uff41\uff53\uff53.de"  # fass.de in fullwidth letters
LONG_S_FASS = "fa\u017fs.de"  # with a long s
PERSIAN = "\u0646\u0627\u0645\u0647\u200c\u0627\u06cc"  # a word with a joiner in it
ALPHABETS = [ASCII, DEVIATIONS, FULLWIDTH, MARKS, SYMBOLS, CONFUSABLES, OTHER]
EVERYTHING = "".join(ALPHABETS)
DOTS = [".", "\u3002", "\uff0e", "\uff61"]  # the dot and the three dots IDNA reads as dots
LABELS = [
    "fass",
    "faß",
    "FASS",
    "bücher",
    "οδος",
    "ΟΔΟΣ",
    PERSIAN,  # a joiner where IDNA 2008 allows it
    "a\u200db",  # and where it does not
    "xn--fa-hia",
    "XN--BCHER-KVA",
    "xn--zca",
    "xn---bbk",  # a fake A-label: not the canonical Punycode of anything
    "xn--",
    "xn--abc-",
    "ab--cd",
    "-ab",
    "127",
    "0x7f",
    "0177",
    "",
]

label = st.one_of(
    st.sampled_from(LABELS),
    st.sampled_from(ALPHABETS).flatmap(lambda a: st.text(alphabet=a, min_size=1, max_size=8)),
    st.text(alphabet=EVERYTHING, min_size=1, max_size=8),
)


@st.composite
def hosts(draw: st.DrawFn) -> str:
    """A host spelling: labels from the alphabets above, any dot, maybe a trailing one."""
    labels = draw(st.lists(label, min_size=1, max_size=4))
    dots = draw(st.lists(st.sampled_from(DOTS), min_size=len(labels), max_size=len(labels)))
    host = "".join(part + dot for part, dot in zip(labels, dots, strict=True))
    return host if draw(st.booleans()) else host[:-1]


_DOTTED_QUAD = re.compile(r"[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+")


def client_host(url: str) -> str | None:
    """The host httpx2 connects to for ``url`` (``URL.raw_host``), or None if it refuses it."""
    try:
        return httpx2.URL(url).raw_host.decode("ascii")
    except httpx2.InvalidURL:
        return None


def assert_reads_as_the_client(host: str, ours: str) -> None:
    """``ours`` (the policy's reading of ``host``) is the host httpx2 connects to."""
    theirs = client_host(f"https://{host}/")
    address = ip_of(ours)
    if address is not None:
        if theirs is None:
            # ip_of reads a four-part address with leading zeros as inet_aton does (0177 is
            # 127) where httpx2 refuses it: the only reading on purpose wider than the client's
            assert _DOTTED_QUAD.fullmatch(host), (host, ours)
            return
        # a name such as 0x7f.1 goes to the resolver, which reads it as ip_of does
        assert ip_of(theirs.removesuffix(".")) == address, (host, ours, theirs)
        return
    assert theirs is not None, f"the policy reads {host!r} as {ours!r}; httpx2 refuses it"
    # the policy compares names without the root's trailing dot, which names the same host
    assert ours == theirs.removesuffix("."), (host, ours, theirs)


@given(host=hosts())
@settings(max_examples=1500, deadline=None)
@example(host="faß.de")
@example(host=FULLWIDTH_FASS)
@example(host="οδος.gr")
@example(host="☃.com")
def test_a_host_is_refused_or_read_as_the_client_connects_to_it(host: str) -> None:
    try:
        ours = host_of(f"https://{host}/")
    except HostError:
        pass
    else:
        assert_reads_as_the_client(host, ours)
    try:
        bare = normalise_host(host)
    except HostError:
        return
    assert_reads_as_the_client(host, bare)


@given(host=hosts())
@settings(max_examples=500, deadline=None)
def test_a_host_appears_in_text_that_spells_it_and_not_in_its_subdomain(host: str) -> None:
    try:
        ours = normalise_host(host)
    except HostError:
        return
    assume(ip_of(ours) is None)  # an address appears only as written
    assert dataflow.appears_in("domain", ours, f"visit {host} today")
    assert dataflow.appears_in("email", f"bob@{ours}", f"(mail Bob@{host}.)")
    assert not dataflow.appears_in("domain", ours, f"visit www.{host} today")


# --- the divergent classes, one by one -----------------------------------------------------

READ_AS_THE_CLIENT_DOES = [
    ("faß.de", "xn--fa-hia.de"),  # deviation character kept, not mapped to "ss"
    ("FAẞ.DE", "xn--fa-hia.de"),  # capital sharp s lower-cases to ß
    ("οδος.gr", "xn--pxavbm.gr"),  # final sigma kept
    ("ΟΔΟΣ.gr", "xn--pxavbq.gr"),  # lower-cased as the client does: medial sigma
    (PERSIAN + ".ir", "xn--mgba3gch31f060k.ir"),  # a joiner where IDNA 2008 allows it
    ("Bücher.DE", "xn--bcher-kva.de"),
    ("fass\u3002de", "fass.de"),
    ("fass\uff0ede", "fass.de"),
    ("fass\uff61de", "fass.de"),
    ("fass.de.", "fass.de"),
    ("XN--FA-HIA.de", "xn--fa-hia.de"),
    ("\u212aelvin.de", "kelvin.de"),  # the Kelvin sign lower-cases to ASCII k
]


@pytest.mark.parametrize(("host", "expected"), READ_AS_THE_CLIENT_DOES)
def test_names_read_as_the_client_reads_them(host: str, expected: str) -> None:
    assert normalise_host(host) == expected
    assert host_of(f"https://{host}/x") == expected
    assert client_host(f"https://{host}/x") in (expected, expected + ".")


REFUSED = [
    FULLWIDTH_FASS,  # IDNA 2003 folded it to fass.de, IDNA 2008 disallows it
    "☃.com",  # a symbol IDNA 2003 allowed
    "😀.com",
    "\u0301a.de",  # a label that starts with a combining mark
    "a\u200db.de",  # a joiner where IDNA 2008 does not allow one
    "bu\u0308cher.de",  # not in NFC
    LONG_S_FASS,  # IDNA 2003 mapped the long s to s
    "a\u00adb.de",  # a soft hyphen: IDNA 2003 dropped it
    "aא.com",  # mixes directions against the bidi rule
    "\u13a0.de".lower(),  # Cherokee lower-cased to a letter IDNA 2008 disallows
    "fass\u2024de",  # one dot leader: a dot to the eye, not to IDNA
]


@pytest.mark.parametrize("host", REFUSED)
def test_names_the_client_refuses_are_refused(host: str) -> None:
    assert client_host(f"https://{host}/") is None
    with pytest.raises(HostError, match="IDNA 2008"):
        normalise_host(host)
    with pytest.raises(HostError):
        host_of(f"https://{host}/")


@pytest.mark.parametrize(
    "host",
    [
        "xn---bbk.de",  # not the canonical Punycode of what it decodes to
        "xn--n3h.com",  # ☃, which IDNA 2008 disallows
        "xn--ls8h.la",  # an emoji
        "xn--99999999.de",  # not Punycode at all
    ],
)
def test_labels_that_are_not_valid_a_labels_are_refused(host: str) -> None:
    # httpx2 passes an ASCII host through unchecked, so each reaches DNS as itself while
    # displaying as something else, or as nothing valid
    with pytest.raises(HostError, match="not a valid A-label"):
        normalise_host(host)


def test_sharp_s_is_not_double_s() -> None:
    assert normalise_host("faß.de") != normalise_host("fass.de")
    assert not dataflow.host_matches(host_of("https://faß.de/"), [normalise_host("fass.de")])


# --- through the policy --------------------------------------------------------------------

POLICY = """
version: 1
lists:
  partners: {normalise: domain, values: [fass.de]}
tools:
  fetch:
    side_effect: read
    action: allow
    args:
      url: {domains: {allow: [fass.de]}}
  fetch_partner:
    side_effect: read
    action: allow
    args:
      url: {domains: {allow_lists: [partners]}}
  fetch_anywhere:
    side_effect: read
    action: allow
    args:
      url: {domains: {deny: [faß.de]}}
  invite:
    side_effect: write
    action: allow
    args:
      domain: {normalise: domain, in_list: partners}
  share:
    side_effect: write
    action: allow
    args:
      domain: {normalise: domain, not_in_list: partners}
  mail:
    side_effect: write
    action: allow
    args:
      to: {normalise: email, provenance: {user: true}}
"""


def decide(tool: str, user_says: str = "", **arguments: str) -> str:
    policy = Policy.from_yaml(POLICY)
    call = ProposedCall(call_id="c", tool=ToolInfo(name=tool), arguments=arguments)
    history = History(user_messages=(user_says,) if user_says else ())
    return policy.decide(Principal(), call, history).action


URLS = [
    "https://fass.de/",
    "https://FASS.de./",
    "https://api.fass.de/",
    "https://faß.de/",
    "https://FAẞ.DE/",
    "https://xn--fa-hia.de/",
    "https://api.faß.de/",
    f"https://{FULLWIDTH_FASS}/",
    "https://fass\u3002de/",
    "https://fa\u00adss.de/",
]


@pytest.mark.parametrize("url", URLS)
@pytest.mark.parametrize("tool", ["fetch", "fetch_partner"])
def test_an_allow_list_allows_exactly_the_hosts_the_client_connects_to_under_it(
    tool: str, url: str
) -> None:
    theirs = client_host(url)
    reaches_fass_de = theirs is not None and dataflow.host_matches(
        theirs.removesuffix("."), ["fass.de"]
    )
    assert (decide(tool, url=url) == "allow") is reaches_fass_de


@pytest.mark.parametrize("url", URLS)
def test_a_deny_list_denies_every_spelling_the_client_sends_to_the_denied_host(url: str) -> None:
    theirs = client_host(url)
    if theirs is not None and dataflow.host_matches(theirs.removesuffix("."), ["xn--fa-hia.de"]):
        assert decide("fetch_anywhere", url=url) == "deny"


def test_explain_reads_the_host_as_the_client_does() -> None:
    policy = Policy.from_yaml(POLICY)
    allowed = policy.explain("fetch", {"url": "https://fass.de/"}, principal=Principal())
    denied = policy.explain("fetch", {"url": "https://faß.de/"}, principal=Principal())
    assert allowed.action == "allow"
    assert (denied.action, denied.reason) == (
        "deny",
        "argument 'url' of fetch: host xn--fa-hia.de is not an allowed domain",
    )


@pytest.mark.parametrize(
    ("domain", "invite", "share"),
    [
        ("fass.de", "allow", "deny"),
        ("FASS.DE.", "allow", "deny"),
        ("faß.de", "deny", "allow"),
        # not a host the client reads: neither list can vouch for it, so both deny
        (FULLWIDTH_FASS, "deny", "deny"),
        (LONG_S_FASS, "deny", "deny"),
        ("☃.fass.de", "deny", "deny"),
    ],
)
def test_domain_lists_compare_hosts_as_the_client_reads_them(
    domain: str, invite: str, share: str
) -> None:
    assert (decide("invite", domain=domain), decide("share", domain=domain)) == (invite, share)


@pytest.mark.parametrize(
    ("user_says", "to", "action"),
    [
        ("write to bob@fass.de", "bob@fass.de", "allow"),
        ("write to Bob@FASS.de.", "bob@fass.de", "allow"),
        ("write to bob@faß.de", "bob@xn--fa-hia.de", "allow"),
        ("write to bob@fass.de", "bob@faß.de", "deny"),  # the user named another host
        ("write to bob@faß.de", "bob@fass.de", "deny"),
        (f"write to bob@{FULLWIDTH_FASS}", "bob@fass.de", "deny"),  # not a host the client reads
        ("write to bob@οδοσ.gr", "bob@οδος.gr", "deny"),  # medial and final sigma differ
    ],
)
def test_provenance_finds_a_host_only_where_the_text_names_that_host(
    user_says: str, to: str, action: str
) -> None:
    assert decide("mail", user_says, to=to) == action
