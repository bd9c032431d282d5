"""What a run's outputs offer provenance, read once per output instead of at every decision.

The runner records each output in the run's `OutputLog` (`History.outputs`); the index kept
beside the log reads every output once per kind of comparison a policy asks for (and once
per field path), and keeps the normalised tokens and field values it found, grouped by
tool and trust. A decision then looks its value up: the cost of a decision does not grow
with the number of earlier outputs.

An output is read as its structure when the runner kept one (each text, number or boolean
in it a piece of text of its own, with its field's trust), else as its text, trusted or
untrusted as a whole. A lookup agrees with `dataflow.appears_in` on each piece.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol

from agentkit.decision import History, OutputLog, PastCall, has_output
from agentkit.output_paths import FieldTrust, leaves, parse_path, trust_at
from agentkit.policy import dataflow
from agentkit.policy.spec import NormaliseKind

_KEY = "agentkit.policy.provenance_index"
_WORD = re.compile(r"\w+")


@dataclass(frozen=True, slots=True)
class _Output:
    position: int
    call: PastCall
    pieces: tuple[tuple[str, FieldTrust], ...]
    """Each text of the output with its trust: the leaves of its structure, or its text."""


Group = tuple[str, FieldTrust, bool]
"""The outputs of one tool, of one trust, failed or not: what a lookup can ask for at once."""


def _group(output: _Output, trust: FieldTrust) -> Group:
    return (output.call.tool, trust, output.call.failed)


class _Postings(Protocol):
    def add(self, output: _Output) -> None: ...

    def first(self, group: Group, value: str) -> int | None: ...

    def groups(self) -> Iterable[Group]: ...


class _Values:
    """URLs and numbers: each text read into its normalised tokens, once."""

    def __init__(self, kind: NormaliseKind) -> None:
        self.kind = kind
        self._found: dict[Group, dict[str, int]] = {}

    def add(self, output: _Output) -> None:
        for text, trust in output.pieces:
            seen = self._found.setdefault(_group(output, trust), {})
            for token in dataflow.token_values(self.kind, text):
                seen.setdefault(token, output.position)

    def first(self, group: Group, value: str) -> int | None:
        token = value if self.kind == "url" else value.upper()
        return self._found.get(group, {}).get(token)

    def groups(self) -> Iterable[Group]:
        return self._found.keys()


class _Hosts:
    """Domains and addresses: the tokens that may be hosts, by the host they could spell and,
    once a lookup asked for that host, by what they normalise to (each token read once)."""

    def __init__(self, kind: NormaliseKind) -> None:
        self.kind = kind
        self._raw: dict[Group, dict[str, dict[str, int]]] = {}
        self._read: dict[Group, dict[str, dict[str | None, dict[str, int]]]] = {}

    def add(self, output: _Output) -> None:
        for text, trust in output.pieces:
            group = _group(output, trust)
            raw, read = self._raw.setdefault(group, {}), self._read.setdefault(group, {})
            for token in dataflow.host_tokens(self.kind, text):
                key = dataflow.host_key(token.rpartition("@")[2])
                if token in raw.setdefault(key, {}):
                    continue
                raw[key][token] = output.position
                if key in read:
                    norm = dataflow.normalised_or_none(self.kind, token)
                    read[key].setdefault(norm, {})[token] = output.position

    def first(self, group: Group, value: str) -> int | None:
        key = dataflow.host_key(value.rpartition("@")[2])
        read = self._read.get(group)
        if read is None:
            return None
        if key not in read:
            read[key] = {}
            for token, at in self._raw[group].get(key, {}).items():
                read[key].setdefault(dataflow.normalised_or_none(self.kind, token), {})[token] = at
        found = read[key].get(value, {})
        return min(
            (at for token, at in found.items() if dataflow.spells(self.kind, value, token)),
            default=None,
        )

    def groups(self) -> Iterable[Group]:
        return self._raw.keys()


class _Words:
    """Text and exact values: each text's words, and the texts to search a value of several."""

    def __init__(self, kind: NormaliseKind) -> None:
        self.kind = kind
        self._texts: dict[Group, list[tuple[int, str]]] = {}
        self._words: dict[Group, dict[str, set[int]]] = {}
        """Per group, the texts (by index) each word is a word of."""

    def add(self, output: _Output) -> None:
        for text, trust in output.pieces:
            group = _group(output, trust)
            texts = self._texts.setdefault(group, [])
            words = self._words.setdefault(group, {})
            searched = dataflow.haystack(self.kind, text)
            for word in set(_WORD.findall(searched)):
                words.setdefault(word, set()).add(len(texts))
            texts.append((output.position, searched))

    def first(self, group: Group, value: str) -> int | None:
        texts = self._texts.get(group, [])
        form = value if self.kind == "exact" else value.casefold()
        words = _WORD.findall(form)
        if words:  # each of its words is a word of a text that holds it
            known = self._words.get(group, {})
            postings = sorted((known.get(word, set()) for word in set(words)), key=len)
            candidates: Iterable[int] = sorted(postings[0].intersection(*postings[1:]))
            if len(words) == 1 and words[0] == form:  # one word alone: no need to search
                return texts[min(candidates)][0] if candidates else None
        else:
            candidates = range(len(texts))  # punctuation alone: search every text
        pattern = dataflow.token_pattern(self.kind, value)
        return next((texts[i][0] for i in candidates if pattern.search(texts[i][1])), None)

    def groups(self) -> Iterable[Group]:
        return self._texts.keys()


def _postings(kind: NormaliseKind) -> _Postings:
    if kind in dataflow.VALUE_KINDS:
        return _Values(kind)
    if kind in dataflow.HOST_KINDS:
        return _Hosts(kind)
    return _Words(kind)


class _FieldValues:
    """The normalised values at one path of one tool's structured outputs."""

    def __init__(self, kind: NormaliseKind, tool: str, path: str) -> None:
        self.kind, self.tool, self.path = kind, tool, parse_path(path)
        self.found: dict[tuple[FieldTrust, bool], set[str]] = {}

    def add(self, output: _Output) -> None:
        call = output.call
        if call.tool != self.tool or call.data is None:
            return
        for where, value in self.path.values(call.data):
            norm = dataflow.normalised_or_none(self.kind, value)
            if norm:
                self.found.setdefault((_trust(call, where), call.failed), set()).add(norm)


class ProvenanceIndex:
    """What the outputs of one run offer as sources (thread-safe; see the module)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._outputs: list[_Output] = []
        self._tokens: dict[NormaliseKind, _Postings] = {}
        self._fields: dict[tuple[NormaliseKind, str, str], _FieldValues] = {}

    def catch_up(self, log: OutputLog) -> None:
        """Read the outputs recorded since the last call, into every index kept so far."""
        with self._lock:
            self._add(log.since(len(self._outputs)))

    def _add(self, calls: Iterable[PastCall]) -> None:
        for call in calls:
            output = _Output(len(self._outputs), call, tuple(_pieces(call)))
            self._outputs.append(output)
            for tokens in self._tokens.values():
                tokens.add(output)
            for fields in self._fields.values():
                fields.add(output)

    def in_outputs(
        self, kind: NormaliseKind, value: str, tools: Iterable[str], marked: frozenset[str]
    ) -> bool:
        """True when `value` appears in a trusted piece of an output of one of `tools` that
        did not fail; output of a tool in `marked` is trusted only where a path names it."""
        if not value:
            return False  # a value that normalises to nothing has no source
        with self._lock:
            index = self._tokens_for(kind)
            return any(
                index.first((tool, trust, False), value) is not None
                for tool in tools
                for trust in _trusted(tool, marked)
            )

    def in_fields(
        self,
        kind: NormaliseKind,
        value: str,
        tool: str,
        paths: Iterable[str],
        marked: frozenset[str],
    ) -> bool:
        """True when `value` is, whole, a trusted field at one of `paths` of an output of
        `tool` that did not fail."""
        if not value:
            return False
        with self._lock:
            return any(
                value in self._fields_for(kind, tool, path).found.get((trust, False), ())
                for path in paths
                for trust in _trusted(tool, marked)
            )

    def untrusted_source(
        self, kind: NormaliseKind, value: str, marked: frozenset[str]
    ) -> str | None:
        """The tool of the first output whose untrusted pieces hold `value`, if any."""
        if not value:
            return None
        with self._lock:
            index = self._tokens_for(kind)
            found = [
                at
                for group in list(index.groups())
                if _untrusted(group, marked) and (at := index.first(group, value)) is not None
            ]
            return self._outputs[min(found)].call.tool if found else None

    def any_source(self, kind: NormaliseKind, value: str) -> str | None:
        """The tool of the first output that holds `value` anywhere (trusted or not, failed
        or not): where a trust tier finds a value that no named source vouches for."""
        if not value:
            return None
        with self._lock:
            index = self._tokens_for(kind)
            found = [
                at
                for group in list(index.groups())
                if (at := index.first(group, value)) is not None
            ]
            return self._outputs[min(found)].call.tool if found else None

    def _tokens_for(self, kind: NormaliseKind) -> _Postings:
        index = self._tokens.get(kind)
        if index is None:
            index = self._tokens[kind] = _postings(kind)
            for output in self._outputs:
                index.add(output)
        return index

    def _fields_for(self, kind: NormaliseKind, tool: str, path: str) -> _FieldValues:
        index = self._fields.get((kind, tool, path))
        if index is None:
            index = self._fields[(kind, tool, path)] = _FieldValues(kind, tool, path)
            for output in self._outputs:
                index.add(output)
        return index


def index_of(history: History) -> ProvenanceIndex:
    """The index of the outputs of `history`: kept beside the run's log, caught up with it;
    for a history without a log (built by hand), built from its calls."""
    log = history.outputs
    if log is None:
        index = ProvenanceIndex()
        index._add(c for c in history.calls if has_output(c))
        return index
    index = log.derived(_KEY, ProvenanceIndex)
    index.catch_up(log)
    return index


def _pieces(call: PastCall) -> Iterator[tuple[str, FieldTrust]]:
    if call.data is None:
        yield (
            call.output or "",
            FieldTrust.UNTRUSTED if call.untrusted_output else FieldTrust.LABELLED,
        )
        return
    for where, value in leaves(call.data):
        yield dataflow.normalise("exact", value), _trust(call, where)


def _trust(call: PastCall, where: tuple[str | int, ...]) -> FieldTrust:
    if call.fields is not None:
        return trust_at(call.fields, where)
    return FieldTrust.UNTRUSTED if call.untrusted_output else FieldTrust.LABELLED


def _trusted(tool: str, marked: frozenset[str]) -> tuple[FieldTrust, ...]:
    return (FieldTrust.NAMED,) if tool in marked else (FieldTrust.NAMED, FieldTrust.LABELLED)


def _untrusted(group: Group, marked: frozenset[str]) -> bool:
    tool, trust, _failed = group
    return trust is FieldTrust.UNTRUSTED or (trust is FieldTrust.LABELLED and tool in marked)
