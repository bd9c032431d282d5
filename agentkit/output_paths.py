"""Paths into a tool's structured output, and the trust of each of its fields.

A path names fields of an output as plain JSON: keys joined by dots, as an argument path
is written, with ``[]`` for every element of a list and ``*`` for every value of an
object (a map)::

    [].email            the email of every element of a list
    messages[].sender   the sender of every element of the list under messages
    to[]                every element of the list under to
    accounts.*.iban     the iban of every value of the map under accounts

A path reaches nodes; the values it holds are the scalars (text, numbers, booleans) at or
under them, so ``to`` and ``to[]`` hold the same addresses. A key holds no ``.``, ``[``,
``]``, ``*`` or white space. A list is entered only where the path says ``[]``: ``email``
reaches nothing in a list of contacts.

The runner labels every field of an output it keeps as structure (`OutputTrust.label`);
provenance reads the labels back (`trust_at`).
"""

from __future__ import annotations

import enum
import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict

Key = str | int
"""One step of a concrete path: an object's key or a list's index."""
Concrete = tuple[Key, ...]
Scalar = str | int | float | bool

EACH = "[]"
ANY = "*"
_NAME = r"[^.\[\]*\s]+"
_SEGMENT = rf"(?:(?:{_NAME}|\*)(?:\[\])*|(?:\[\])+)"
PATH_PATTERN = rf"^{_SEGMENT}(?:\.{_SEGMENT})*$"
"""What an output path looks like (the JSON Schema of the policy file carries it)."""
_STEP = re.compile(rf"({_NAME}|\*)?((?:\[\])*)")


class OutputPathError(ValueError):
    """A text is not an output path; the message says why."""


@dataclass(frozen=True, slots=True)
class OutputPath:
    """A parsed path: each segment a key, `EACH` (``[]``) or `ANY` (``*``)."""

    text: str
    segments: tuple[str, ...]

    def __str__(self) -> str:
        return self.text

    def nodes(self, data: Any) -> Iterator[tuple[Concrete, Any]]:
        """The nodes of `data` the path reaches, each with its concrete path."""
        yield from _nodes(data, self.segments, ())

    def values(self, data: Any) -> Iterator[tuple[Concrete, Scalar]]:
        """The scalars at or under the nodes the path reaches, each with its concrete path."""
        for where, node in self.nodes(data):
            for below, value in leaves(node):
                yield where + below, value

    def covers(self, where: Concrete) -> bool:
        """True when `where` is a node the path reaches, or lies under one."""
        if len(self.segments) > len(where):
            return False
        return all(_step_matches(s, k) for s, k in zip(self.segments, where, strict=False))


def within(outer: OutputPath, inner: OutputPath) -> bool:
    """True when every node `inner` reaches is `outer`'s or lies under one of them."""
    return len(outer.segments) <= len(inner.segments) and all(
        o == i or (o == ANY and i != EACH)
        for o, i in zip(outer.segments, inner.segments, strict=False)
    )


def overlaps(first: OutputPath, second: OutputPath) -> bool:
    """True when one path could reach a node at or under a node the other reaches."""
    return all(
        a == b or (ANY in (a, b) and EACH not in (a, b))
        for a, b in zip(first.segments, second.segments, strict=False)
    )


@functools.lru_cache(maxsize=1024)
def parse_path(text: str) -> OutputPath:
    """The path `text` writes.

    Raises:
        OutputPathError: `text` is not a path (empty, an empty segment, a bracket that is not
            ``[]``, a ``*`` inside a key, white space).
    """
    if not isinstance(text, str) or not re.fullmatch(PATH_PATTERN, text):
        raise OutputPathError(
            f"{text!r} is not an output path: write keys joined by dots, [] for every "
            "element of a list and * for every value of an object (for example "
            "'[].email', 'messages[].sender', 'accounts.*.iban')"
        )
    segments: list[str] = []
    for part in text.split("."):
        match = _STEP.fullmatch(part)
        assert match is not None  # the whole path matched PATH_PATTERN
        if match.group(1):
            segments.append(match.group(1))
        segments.extend([EACH] * (len(match.group(2)) // 2))
    return OutputPath(text, tuple(segments))


def leaves(node: Any, where: Concrete = ()) -> Iterator[tuple[Concrete, Scalar]]:
    """Every scalar of a plain JSON value (nulls hold nothing), with its concrete path."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield from leaves(value, (*where, str(key)))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from leaves(value, (*where, index))
    elif isinstance(node, str | int | float):  # bool is an int
        yield where, node


def _nodes(node: Any, segments: tuple[str, ...], where: Concrete) -> Iterator[tuple[Concrete, Any]]:
    if not segments:
        yield where, node
        return
    head, rest = segments[0], segments[1:]
    if head == EACH:
        if isinstance(node, list):
            for index, item in enumerate(node):
                yield from _nodes(item, rest, (*where, index))
    elif isinstance(node, dict):
        if head == ANY:
            for key, item in node.items():
                yield from _nodes(item, rest, (*where, str(key)))
        elif head in node:
            yield from _nodes(node[head], rest, (*where, head))


def _step_matches(segment: str, key: Key) -> bool:
    if segment == EACH:
        return isinstance(key, int)
    if segment == ANY:
        return isinstance(key, str)
    return segment == key


class FieldTrust(enum.IntEnum):
    """How far one field of an output can be trusted."""

    UNTRUSTED = 0
    LABELLED = 1
    """Trusted because the output as a whole is: no path names the field."""
    NAMED = 2
    """Trusted because a trusted path names it."""


class FieldLabels(BaseModel):
    """How the runner labelled the fields of one structured output (kept on its step).

    A field takes the label of the longest path that reaches it (untrusted on a tie);
    a field no path reaches takes the output's own label, ``otherwise_untrusted``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    trusted: tuple[str, ...] = ()
    untrusted: tuple[str, ...] = ()
    otherwise_untrusted: bool = False
    """The label of the output itself: the tool's, or the one the tool gave this output."""


def trust_at(labels: FieldLabels, where: Concrete) -> FieldTrust:
    """The trust of the field at `where`."""
    best, verdict = -1, FieldTrust.UNTRUSTED if labels.otherwise_untrusted else FieldTrust.LABELLED
    for texts, trust in (
        (labels.untrusted, FieldTrust.UNTRUSTED),
        (labels.trusted, FieldTrust.NAMED),
    ):
        for text in texts:
            path = parse_path(text)
            if len(path.segments) > best and path.covers(where):
                best, verdict = len(path.segments), trust
    return verdict


@dataclass(frozen=True, slots=True)
class OutputTrust:
    """What a policy says of the fields of a tool's outputs: paths trusted and untrusted.

    Raises:
        OutputPathError: a path is malformed.
    """

    trusted: tuple[str, ...] = ()
    untrusted: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for text in (*self.trusted, *self.untrusted):
            parse_path(text)

    def __bool__(self) -> bool:
        return bool(self.trusted or self.untrusted)

    def label(self, data: Any, *, untrusted: bool) -> tuple[bool, FieldLabels | None]:
        """The label of an output (is it framed as untrusted data?) and of its fields.

        `data` is the output's structure, or None for a text output; `untrusted` the label
        the output has without field trust. A structure holding a value under an untrusted
        path is untrusted as a whole (its fields keep their own labels); a text output of a
        tool with untrusted paths is, since no field of it can be told apart.
        """
        if data is None:
            return untrusted or bool(self.untrusted), None
        labels = FieldLabels(
            trusted=self.trusted, untrusted=self.untrusted, otherwise_untrusted=untrusted
        )
        framed = untrusted or any(
            trust_at(labels, where) is FieldTrust.UNTRUSTED for where, _ in leaves(data)
        )
        return framed, labels
