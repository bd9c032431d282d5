"""A labelled corpus for the detectors, generated from a seed, and its measurement.

Positives are made, not collected: valid Luhn card numbers, IBANs with their mod-97
check digits for several countries, e-mails, phones, each provider's key shape with a
random body, PEM blocks, JWTs of base64url JSON, connection strings, password
assignments, national ids with their check digits. Negatives are public formats a
detector could mistake: order numbers, 16-digit numbers failing Luhn, UUIDs, git SHAs,
versions, ISBNs, dates, times, prices, base64 that is not a JWT, ``a@b`` in code,
password-like names assigned a variable. Each is set in a sentence, a log line, JSON or
code. `measure` counts, per kind, planted values covered (recall) and findings that
cover nothing planted (precision).
"""

from __future__ import annotations

import base64
import json
import random
import string
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from agentkit.privacy.detectors import ALL_KINDS, detect

DIGITS, ALNUM = string.digits, string.ascii_letters + string.digits
B64URL = ALNUM + "-_"


@dataclass(frozen=True)
class Example:
    """A text and the planted values in it: (kind, start, end) each."""

    text: str
    labels: tuple[tuple[str, int, int], ...]


def _rand(rng: random.Random, alphabet: str, n: int) -> str:
    return "".join(rng.choices(alphabet, k=n))


def _randmix(rng: random.Random, alphabet: str, n: int) -> str:
    """Random, with at least one digit and one letter (as every real key body has)."""
    letters = [c for c in alphabet if c.isalpha()]
    body = list(_rand(rng, alphabet, n - 2) + rng.choice(DIGITS) + rng.choice(letters))
    rng.shuffle(body)
    return "".join(body)


def _luhn_digit(partial: str) -> str:
    total = 0
    for i, c in enumerate(reversed(partial)):
        d = int(c) * (1 if i % 2 else 2)
        total += d - 9 if d > 9 else d
    return str((10 - total % 10) % 10)


def _group(value: str, sizes: list[int], sep: str) -> str:
    out, at = [], 0
    for size in sizes:
        out.append(value[at : at + size])
        at += size
    if at < len(value):
        out.append(value[at:])
    return sep.join(p for p in out if p)


# --- positives ---------------------------------------------------------------------


def card(rng: random.Random) -> str:
    prefix, length = rng.choice(
        [("4", 16), ("4", 13), ("51", 16), ("55", 16), ("2221", 16), ("34", 15), ("37", 15),
         ("6011", 16), ("65", 16), ("35", 16), ("36", 14), ("4", 19)]
    )  # fmt: skip
    partial = prefix + _rand(rng, DIGITS, length - len(prefix) - 1)
    number = partial + _luhn_digit(partial)
    sep = rng.choice(["", " ", "-"])
    sizes = [4, 6, 5] if length == 15 else [4, 4, 4, 4, 3]
    return _group(number, sizes, sep) if sep else number


_IBAN_BBAN = {
    "DE": "n18", "FR": "n10a11n2", "GB": "A4n14", "NL": "A4n10", "ES": "n20",
    "IT": "A1n10a12", "BE": "n12", "CH": "n5a12", "AT": "n16", "PL": "n24",
}  # fmt: skip


def _bban(rng: random.Random, shape: str) -> str:
    out, i = [], 0
    while i < len(shape):
        code = shape[i]
        j = i + 1
        while j < len(shape) and shape[j].isdigit():
            j += 1
        n = int(shape[i + 1 : j])
        alphabet = {
            "n": DIGITS,
            "a": string.ascii_uppercase + DIGITS,
            "A": string.ascii_uppercase,
        }[code]
        out.append(_rand(rng, alphabet, n))
        i = j
    return "".join(out)


def iban(rng: random.Random) -> str:
    country = rng.choice(sorted(_IBAN_BBAN))
    bban = _bban(rng, _IBAN_BBAN[country])
    numeric = int("".join(str(int(c, 36)) for c in bban + country + "00"))
    compact = f"{country}{98 - numeric % 97:02d}{bban}"
    return _group(compact, [4] * 8, " ") if rng.random() < 0.5 else compact


def email(rng: random.Random) -> str:
    first = rng.choice(["ana", "li", "jonas", "maria", "o.connor", "k_smith", "dev+test", "x"])
    local = first + rng.choice(["", ".lopez", str(rng.randint(1, 999)), "-ops"])
    domain = rng.choice(["example.com", "mail.example.org", "corp.example.co.uk", "ex.io"])
    return f"{local}@{domain}"


def phone(rng: random.Random) -> str:
    def d(n: int) -> str:
        return _rand(rng, DIGITS, n)

    def nanp() -> str:  # a NANP area code or exchange: 2-9 then two digits
        return rng.choice("23456789") + d(2)

    return rng.choice(
        [
            f"+1 {nanp()} {nanp()} {d(4)}",
            f"+44 20 {d(4)} {d(4)}",
            f"+49 30 {d(8)}",
            f"+33 1 {d(2)} {d(2)} {d(2)} {d(2)}",
            f"+34{d(9)}",
            f"({nanp()}) {nanp()}-{d(4)}",
            f"{nanp()}-{nanp()}-{d(4)}",
            f"030 {d(4)} {d(4)}",
            f"020 {d(4)} {d(4)}",
        ]
    )


def ip(rng: random.Random) -> str:
    if rng.random() < 0.6:
        first = rng.choice([n for n in range(1, 224) if n != 127])
        return f"{first}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
    groups = [f"{rng.randint(0, 0xFFFF):x}" for _ in range(8)]
    groups[0] = rng.choice(["2001", "2a02", "fe80", "2606"])
    if rng.random() < 0.5:
        return "2001:db8::" + groups[7]
    return ":".join(groups)


def us_ssn(rng: random.Random) -> str:
    area = rng.choice([n for n in range(1, 900) if n != 666])
    return f"{area:03d}-{rng.randint(1, 99):02d}-{rng.randint(1, 9999):04d}"


def nl_bsn(rng: random.Random) -> str:
    while True:
        digits = [rng.randint(1, 9)] + [rng.randint(0, 9) for _ in range(7)]
        check = sum(x * (9 - i) for i, x in enumerate(digits)) % 11
        if check < 10:
            return "".join(map(str, [*digits, check]))


def es_dni(rng: random.Random) -> str:
    if rng.random() < 0.7:
        number = f"{rng.randint(0, 99_999_999):08d}"
        return number + "TRWAGMYFPDXBNJZSQVHLCKE"[int(number) % 23]
    prefix = rng.choice("XYZ")
    body = f"{rng.randint(0, 9_999_999):07d}"
    return prefix + body + "TRWAGMYFPDXBNJZSQVHLCKE"[int(str("XYZ".index(prefix)) + body) % 23]


def api_key(rng: random.Random) -> str:
    upper = string.ascii_uppercase + DIGITS
    makers: list[Callable[[], str]] = [
        lambda: "xai-" + _randmix(rng, ALNUM, 80),
        lambda: "sk-" + _randmix(rng, ALNUM, 48),
        lambda: "sk-proj-" + _randmix(rng, B64URL, 120),
        lambda: "sk-ant-api03-" + _randmix(rng, B64URL, 93) + "AA",
        lambda: "ghp_" + _randmix(rng, ALNUM, 36),
        lambda: "github_pat_" + _randmix(rng, ALNUM + "_", 82),
        lambda: "AKIA" + _randmix(rng, upper, 16),
        lambda: (
            f"xoxb-{_rand(rng, DIGITS, 12)}-{_rand(rng, DIGITS, 12)}-" + _randmix(rng, ALNUM, 24)
        ),
        lambda: "sk_live_" + _randmix(rng, ALNUM, 24),
        lambda: "AIza" + _randmix(rng, B64URL, 35),
    ]
    return rng.choice(makers)()


def aws_secret(rng: random.Random) -> str:
    return _randmix(rng, ALNUM + "/+", 40)


def private_key(rng: random.Random) -> str:
    kind = rng.choice(["RSA ", "EC ", "OPENSSH ", "", "ENCRYPTED "])
    lines = [_rand(rng, ALNUM + "+/", 64) for _ in range(rng.randint(3, 8))]
    return (
        f"-----BEGIN {kind}PRIVATE KEY-----\n"
        + "\n".join(lines)
        + f"\n-----END {kind}PRIVATE KEY-----"
    )


def _b64url_json(value: object) -> str:
    raw = json.dumps(value, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def jwt(rng: random.Random) -> str:
    header = {"alg": rng.choice(["HS256", "RS256", "ES256"]), "typ": "JWT"}
    payload = {"sub": str(rng.randint(1, 10**9)), "iat": rng.randint(1_600_000_000, 1_800_000_000)}
    return f"{_b64url_json(header)}.{_b64url_json(payload)}.{_rand(rng, B64URL, 43)}"


def connection_string(rng: random.Random) -> str:
    scheme = rng.choice(
        ["postgresql", "postgresql+psycopg", "mysql", "mongodb+srv", "redis", "amqp", "mssql"]
    )
    user = rng.choice(["app", "admin", "svc_reader", ""])
    password = _randmix(rng, ALNUM + "!$%*", rng.randint(8, 20))
    host = rng.choice(["db.internal.example.com", "10.0.3.7", "cluster0.ab1cd.mongodb.net"])
    port = rng.choice(["", ":5432", ":6379", ":5672"])
    return f"{scheme}://{user}:{password}@{host}{port}/{rng.choice(['app', 'prod', '0'])}"


def password(rng: random.Random) -> str:
    return rng.choice(
        [
            _randmix(rng, ALNUM + "!@#%^&*", rng.randint(8, 24)),
            rng.choice(["hunter2", "Tr0ub4dor&3", "correct-horse-9", "S3cure!pass"]),
        ]
    )


_TEMPLATES = (
    "Please contact {} about the invoice.",
    "The value is {} and nothing else.",
    'log: 2024-05-03T10:15:00Z user record updated field="{}" ok',
    '{{"id": 42, "value": "{}", "status": "active"}}',
    "- {}\n",
    "See ({}), then reply.",
    "Forwarded: {}.",
)
_ASSIGNMENTS = (
    'password = "{}"',
    "DB_PASSWORD={}",
    '"passwd": "{}"',
    "PASSWORD: {}",
    "client_secret: '{}'",
    "api_key={}",
)
_NATIONAL_CONTEXT = {
    "us_ssn": ("SSN: {}", "social security number {} on file", "{}"),
    "nl_bsn": ("BSN {}", "burgerservicenummer: {}", "BSN-nummer {}"),
    "es_dni": ("DNI {}", "NIE: {}", "{}"),
}

_POSITIVES: dict[str, Callable[[random.Random], str]] = {
    "card": card,
    "iban": iban,
    "email": email,
    "phone": phone,
    "ip": ip,
    "us_ssn": us_ssn,
    "nl_bsn": nl_bsn,
    "es_dni": es_dni,
    "api_key": api_key,
    "private_key": private_key,
    "jwt": jwt,
    "connection_string": connection_string,
    "password": password,
}


def _embed(template: str, value: str, kind: str) -> Example:
    prefix = template.split("{}", 1)[0].replace("{{", "{").replace("}}", "}")
    text = template.format(value)
    return Example(text, ((kind, len(prefix), len(prefix) + len(value)),))


def _positive(kind: str, rng: random.Random) -> Example:
    value = _POSITIVES[kind](rng)
    if kind == "password":
        return _embed(rng.choice(_ASSIGNMENTS), value, kind)
    if kind == "api_key" and rng.random() < 0.15:
        return _embed(rng.choice(["aws_secret_access_key = {}", "AWS_SECRET_KEY: {}"]),
                      aws_secret(rng), kind)  # fmt: skip
    if kind in _NATIONAL_CONTEXT:
        return _embed(rng.choice(_NATIONAL_CONTEXT[kind]) + " recorded.", value, kind)
    if kind == "private_key" and rng.random() < 0.3:
        value = value.replace("\n", "\\n")  # a key inside a JSON string
    return _embed(rng.choice(_TEMPLATES), value, kind)


# --- negatives ---------------------------------------------------------------------


def _not_luhn(rng: random.Random) -> str:
    partial = rng.choice("3456") + _rand(rng, DIGITS, 14)
    good = _luhn_digit(partial)
    return partial + str((int(good) + rng.randint(1, 9)) % 10)


def _not_jwt(rng: random.Random) -> str:
    if rng.random() < 0.5:
        return f"{_b64url_json({'foo': 'bar'})}.{_rand(rng, B64URL, 20)}.{_rand(rng, B64URL, 20)}"
    return ".".join(_rand(rng, B64URL, rng.randint(10, 40)) for _ in range(3))


_NEGATIVES: tuple[Callable[[random.Random], str], ...] = (
    lambda r: f"order ORD-{r.randint(2015, 2026)}-{r.randint(0, 999999):06d}",
    lambda r: f"ticket #{r.randint(1000, 99999999)}",
    _not_luhn,
    lambda r: _group(_not_luhn(r), [4, 4, 4, 4], r.choice(" -")),
    lambda r: str(uuid.UUID(int=r.getrandbits(128))),
    lambda r: f"commit {r.getrandbits(160):040x}",
    lambda r: f"v{r.randint(0, 9)}.{r.randint(0, 40)}.{r.randint(0, 20)}",
    lambda r: f"Python {r.randint(2, 3)}.{r.randint(0, 13)}.{r.randint(0, 9)}",
    lambda r: f"version 10.0.{r.randint(10000, 22000)}.{r.randint(1, 999)}",
    lambda r: (
        f"ISBN 978-{r.randint(0, 9)}-{r.randint(10, 99)}-{r.randint(100000, 999999)}-"
        f"{r.randint(0, 9)}"
    ),
    lambda r: f"{r.randint(1990, 2030)}-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}",
    lambda r: f"{r.randint(1, 28):02d}/{r.randint(1, 12):02d}/{r.randint(1990, 2030)}",
    lambda r: f"{r.randint(0, 23):02d}:{r.randint(0, 59):02d}:{r.randint(0, 59):02d}",
    lambda r: f"${r.randint(1, 9)},{r.randint(100, 999)}.{r.randint(0, 99):02d}",
    lambda r: f"EUR {r.randint(1, 99)}.{r.randint(100, 999)},{r.randint(0, 99):02d}",
    _not_jwt,
    lambda r: base64.b64encode(r.randbytes(r.randint(12, 48))).decode(),
    lambda r: f"if (a@b) {{ x = {r.randint(1, 9)}; }}",
    lambda r: "user@localhost",
    lambda r: "@dataclass(frozen=True)",
    lambda r: f"icon@{r.randint(2, 3)}x.png",
    lambda r: 'password = os.environ["DB_PASSWORD"]',
    lambda r: "password: str",
    lambda r: "token=None",
    lambda r: "api_key = settings.api_key",
    lambda r: "password=${DB_PASSWORD}",
    lambda r: "sk-learn is installed",
    lambda r: "postgresql://localhost:5432/app",
    lambda r: "https://example.com/a/b?c=1",
    lambda r: ":".join(f"{r.randint(0, 255):02x}" for _ in range(6)),
    lambda r: "std::vector<int> v;",
    lambda r: "127.0.0.1",
    lambda r: f"invoice {r.randint(100_000_000, 999_999_999)}",
    lambda r: f"666-{r.randint(10, 99)}-{r.randint(1000, 9999)}",
    lambda r: f"SKU {r.randint(10_000_000, 99_999_999)}-{r.choice('IOU')}",
)


def build(seed: int = 0, per_kind: int = 200, negatives: int = 1500) -> list[Example]:
    """The corpus: `per_kind` planted examples of every kind and `negatives` without."""
    rng = random.Random(seed)
    examples = [_positive(kind, rng) for kind in sorted(_POSITIVES) for _ in range(per_kind)]
    for _ in range(negatives):
        value = rng.choice(_NEGATIVES)(rng)
        examples.append(Example(rng.choice(_TEMPLATES).format(value), ()))
    return examples


def measure(examples: list[Example] | None = None) -> dict[str, dict[str, float]]:
    """Per kind: ``tp`` planted values a finding of the kind covers, ``fn`` those not
    covered, ``fp`` findings covering no planted value of their kind; recall, precision."""
    counts = {kind: {"tp": 0, "fp": 0, "fn": 0} for kind in sorted(ALL_KINDS)}
    for example in build() if examples is None else examples:
        findings = detect(example.text)
        for kind, start, end in example.labels:
            hit = any(f.kind == kind and f.start <= start and end <= f.end for f in findings)
            counts[kind]["tp" if hit else "fn"] += 1
        for f in findings:
            if not any(k == f.kind and f.start < e and s < f.end for k, s, e in example.labels):
                counts[f.kind]["fp"] += 1
    table: dict[str, dict[str, float]] = {}
    for kind, c in counts.items():
        found, planted = c["tp"] + c["fp"], c["tp"] + c["fn"]
        table[kind] = {
            "recall": round(c["tp"] / planted, 4) if planted else 1.0,
            "precision": round(c["tp"] / found, 4) if found else 1.0,
            **c,
        }
    return table
