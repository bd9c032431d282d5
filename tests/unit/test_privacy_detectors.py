"""The detectors: each kind on its own shapes, checksums, overlaps, and the corpus."""

from __future__ import annotations

import pytest

from agentkit.privacy import corpus
from agentkit.privacy.detectors import (
    ALL_KINDS,
    CHECKSUMMED_KINDS,
    SECRET_KINDS,
    Finding,
    detect,
)

JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0."
    "dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
)


def kinds_and_texts(text: str) -> list[tuple[str, str]]:
    return [(f.kind, f.text) for f in detect(text)]


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("mail ana.lopez@example.com now", "email", "ana.lopez@example.com"),
        ("call +44 20 7946 0958 today", "phone", "+44 20 7946 0958"),
        ("call (415) 555-2671.", "phone", "(415) 555-2671"),
        ("tel 030 1234 5678", "phone", "030 1234 5678"),
        ("IBAN DE89 3704 0044 0532 0130 00 Thanks", "iban", "DE89 3704 0044 0532 0130 00"),
        ("IBAN GB82WEST12345698765432", "iban", "GB82WEST12345698765432"),
        ("card 4111-1111-1111-1111", "card", "4111-1111-1111-1111"),
        ("amex 378282246310005", "card", "378282246310005"),
        ("from 203.0.113.7:", "ip", "203.0.113.7"),
        ("from 2001:db8::8a2e:370:7334 ok", "ip", "2001:db8::8a2e:370:7334"),
        ("SSN 123-45-6789", "us_ssn", "123-45-6789"),
        ("BSN 111222333", "nl_bsn", "111222333"),
        ("DNI 12345678Z", "es_dni", "12345678Z"),
        ("NIE X1234567L", "es_dni", "X1234567L"),
        ("key xai-" + "a1" * 20, "api_key", "xai-" + "a1" * 20),
        ("key sk-ant-api03-" + "Ab3" * 10, "api_key", "sk-ant-api03-" + "Ab3" * 10),
        ("key ghp_" + "x9" * 18, "api_key", "ghp_" + "x9" * 18),
        ("id AKIAIOSFODNN7EXAMPLE", "api_key", "AKIAIOSFODNN7EXAMPLE"),
        ("s xoxb-1234-abcdEFGH5678", "api_key", "xoxb-1234-abcdEFGH5678"),
        ("s sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc", "api_key", "sk_live_4eC39HqLyjWDarjtT1zdp7dc"),
        ("g AIza" + "SyD" * 11 + "x9", "api_key", "AIza" + "SyD" * 11 + "x9"),
        (f"Authorization: Bearer {JWT}", "jwt", JWT),
        (
            "use postgresql://app:s3cret@db.example.com:5432/app.",
            "connection_string",
            "postgresql://app:s3cret@db.example.com:5432/app",
        ),
        ('password = "hunter22"', "password", "hunter22"),
        ("PASSWORD: Tr0ub4dor", "password", "Tr0ub4dor"),
        ('{"passwd": "open-sesame"}', "password", "open-sesame"),
    ],
)
def test_each_kind_finds_its_shape(text: str, kind: str, value: str) -> None:
    assert (kind, value) in kinds_and_texts(text)


@pytest.mark.parametrize(
    "text",
    [
        "order 4111 1111 1111 1112",  # Luhn fails
        "IBAN DE89 3704 0044 0532 0130 01",  # mod-97 fails
        "DNI 12345678A",  # wrong letter
        "BSN 111222334",  # 11-check fails
        "number 111222333 without the keyword",
        "SSN 666-12-3456 and 900-12-3456 and 123-00-4567",
        "loopback 127.0.0.1, any 0.0.0.0, bad 256.1.1.1",
        "uuid 123e4567-e89b-12d3-a456-426614174000",
        "commit 9fceb02d0ae598e95dc970b74767f19372d61af8",
        "version 1.2.3 and 2024-01-15 at 12:30:45 for $1,299.99",
        "if (a@b) { icon@2x.png } @dataclass user@localhost",
        'password = os.environ["DB_PASSWORD"]; password: str; token=None',
        "password=${DB_PASSWORD} api_key = settings.api_key",
        "eyJmb28iOiJiYXIifQ.abcdefghijk.lmnopqrstuv",  # no "alg"
        "postgresql://localhost:5432/app https://example.com/a?b=1",
        "sk-this-is-not-a-real-key-at-all",
        "mac 00:1a:2b:3c:4d:5e std::vector<int>",
    ],
)
def test_lookalikes_are_not_found(text: str) -> None:
    assert detect(text) == []


def test_pem_blocks_whole_and_cut_short() -> None:
    body = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nBKcwggSjAgEAAoIBAQC7"
    whole = f"-----BEGIN RSA PRIVATE KEY-----\n{body}\n-----END RSA PRIVATE KEY-----"
    assert kinds_and_texts(f"key:\n{whole}\nend") == [("private_key", whole)]
    escaped = whole.replace("\n", "\\n")
    assert kinds_and_texts(f'{{"k": "{escaped}"}}') == [("private_key", escaped)]
    cut = f"-----BEGIN PRIVATE KEY-----\n{body}"
    assert kinds_and_texts(cut + " ...") == [("private_key", cut + " ")]


def test_aws_secret_in_an_assignment_is_the_value_only() -> None:
    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    found = detect(f"aws_secret_access_key = {secret}")
    assert [(f.kind, f.text) for f in found] == [("api_key", secret)]


def test_the_longest_finding_wins_an_overlap() -> None:
    text = "dsn mongodb+srv://reader:pa55word@cluster0.example.net/db"
    assert [f.kind for f in detect(text)] == ["connection_string"]
    only_email = detect(text, kinds={"email"})
    assert [f.text for f in only_email] == ["pa55word@cluster0.example.net"]


def test_findings_are_ordered_spans_of_the_text() -> None:
    text = "a@example.com, 203.0.113.9 and 4111 1111 1111 1111"
    found = detect(text)
    assert found == sorted(found, key=lambda f: f.start)
    assert all(text[f.start : f.end] == f.text for f in found)
    assert isinstance(found[0], Finding)


def test_kinds_filter_and_unknown_kinds() -> None:
    text = "a@example.com 203.0.113.9"
    assert [f.kind for f in detect(text, kinds=["ip"])] == ["ip"]
    with pytest.raises(ValueError, match="unknown"):
        detect(text, kinds=["emails"])


def test_a_large_text_without_hints_is_cheap_and_clean() -> None:
    text = "plain words only, nothing to see here. " * 20_000
    assert detect(text) == []


def test_the_corpus_is_deterministic() -> None:
    assert corpus.build(seed=3, per_kind=5, negatives=20) == corpus.build(
        seed=3, per_kind=5, negatives=20
    )


def test_recall_and_precision_on_the_labelled_corpus() -> None:
    table = corpus.measure()
    assert set(table) == ALL_KINDS
    for kind, row in table.items():
        assert row["tp"] > 0, kind
        assert row["precision"] >= 0.95, (kind, row)
        if kind in SECRET_KINDS | CHECKSUMMED_KINDS:
            assert row["recall"] >= 0.98, (kind, row)
        else:
            assert row["recall"] >= 0.95, (kind, row)
