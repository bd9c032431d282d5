"""Scripted model turns: what the fake model answers, turn by turn.

A turn calls function tools, answers a text, or runs a server-side search and answers
citing it. Scripts come from Python objects or from a YAML/JSON file::

    turns:
      - call: lookup_ticket
        arguments: {ticket_id: 42}
      - text: The ticket is closed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

import yaml

from agentkit.errors import ConfigError
from agentkit.testing.faults import Fault

SearchKind = Literal["web", "x"]
SEARCH_ITEMS: dict[str, tuple[str, ...]] = {
    "web": ("web_search_call",),
    # xAI sends X searches as custom_tool_call items; x_search_call is the older shape
    "x": ("custom_tool_call", "x_search_call"),
}
"""The output item types a search of each kind may arrive as; the first is the default."""


@dataclass(frozen=True, slots=True)
class ToolCall:
    """One function call the fake model makes."""

    name: str
    arguments: dict[str, Any] | str
    """A dict is sent as JSON; a string is sent verbatim (it may be malformed on purpose)."""

    def arguments_json(self) -> str:
        """The arguments exactly as they go on the wire."""
        if isinstance(self.arguments, str):
            return self.arguments
        return json.dumps(self.arguments, separators=(",", ":"))


@dataclass(frozen=True, slots=True)
class SearchResult:
    """One source a server-side search found."""

    url: str
    title: str = ""


@dataclass(frozen=True, slots=True)
class Search:
    """A server-side search and its sources: a ``web_search_call`` item, or an X search
    as a ``custom_tool_call`` (as xAI sends it) or an ``x_search_call``."""

    kind: SearchKind
    query: str
    results: tuple[SearchResult, ...]
    item: str = ""
    """The output item type; "" is the kind's default (``SEARCH_ITEMS``)."""

    @property
    def item_type(self) -> str:
        """The output item type this search arrives as."""
        return self.item or SEARCH_ITEMS[self.kind][0]


@dataclass(frozen=True, slots=True)
class RemoteMCPCall:
    """A call xAI made to a remote MCP server during the turn (an ``mcp_call`` item)."""

    server_label: str
    name: str
    arguments: dict[str, Any]
    output: str


@dataclass(frozen=True, slots=True)
class Turn:
    """What the fake model answers to one request.

    Example:
        >>> Script([Turn.call("lookup_ticket", {"ticket_id": 42}), Turn.text("done")])
    """

    function_calls: tuple[ToolCall, ...] = ()
    answer: str | None = None
    search_call: Search | None = None
    reasoning: str | None = None
    """A reasoning summary to emit before the output (reasoning items)."""
    fault: Fault | None = None
    incomplete: str | None = None
    """Stop short for this reason (``max_output_tokens``, ``max_prompt_tokens``,
    ``max_time_limit``): ``status: incomplete`` with ``incomplete_details.reason``."""
    reasoning_tokens: int | None = None
    """Reasoning tokens to report, in place of the estimate (a model that thinks long)."""
    mcp_calls: tuple[RemoteMCPCall, ...] = ()
    """Calls xAI made to remote MCP servers before answering (``mcp_call`` items)."""

    @classmethod
    def remote_mcp(cls, label: str, name: str, arguments: dict[str, Any], output: str,
                   *, text: str) -> Turn:  # fmt: skip
        """xAI called ``name`` on the remote MCP server ``label``, then answered ``text``."""
        return cls(answer=text, mcp_calls=(RemoteMCPCall(label, name, arguments, output),))

    @classmethod
    def call(
        cls, name: str, arguments: dict[str, Any] | str | None = None, *, fault: Fault | None = None
    ) -> Turn:
        """Call one function tool."""
        return cls(function_calls=(ToolCall(name, arguments or {}),), fault=fault)

    @classmethod
    def calls(
        cls, calls: Iterable[tuple[str, dict[str, Any] | str]], *, fault: Fault | None = None
    ) -> Turn:
        """Call several function tools in parallel, in this order."""
        specs = tuple(ToolCall(name, args) for name, args in calls)
        if not specs:
            raise ConfigError("Turn.calls needs at least one call")
        return cls(function_calls=specs, fault=fault)

    @classmethod
    def text(cls, text: str, *, fault: Fault | None = None) -> Turn:
        """Answer with a text message."""
        return cls(answer=text, fault=fault)

    @classmethod
    def search(
        cls,
        *,
        kind: SearchKind = "web",
        query: str,
        results: Sequence[dict[str, str] | SearchResult],
        text: str,
        item: str = "",
        fault: Fault | None = None,
    ) -> Turn:
        """Run a server-side search and answer ``text`` citing every result.

        An X search arrives as a ``custom_tool_call`` item, as xAI sends it; pass
        ``item="x_search_call"`` for the older shape.
        """
        if kind not in SEARCH_ITEMS:
            raise ConfigError(f"search kind must be 'web' or 'x', got {kind!r}")
        if item and item not in SEARCH_ITEMS[kind]:
            raise ConfigError(
                f"a {kind} search arrives as one of {SEARCH_ITEMS[kind]}, not {item!r}"
            )
        found = tuple(_search_result(r) for r in results)
        return cls(answer=text, search_call=Search(kind, query, found, item), fault=fault)

    @property
    def has_calls(self) -> bool:
        """Whether this turn makes function calls."""
        return bool(self.function_calls)

    def with_fault(self, fault: Fault | None) -> Turn:
        """This turn carrying ``fault``."""
        return replace(self, fault=fault)


def _search_result(result: dict[str, str] | SearchResult) -> SearchResult:
    if isinstance(result, SearchResult):
        return result
    try:
        return SearchResult(url=result["url"], title=result.get("title", ""))
    except (KeyError, TypeError, AttributeError) as exc:
        raise ConfigError(f"a search result needs a url: {result!r}") from exc


class Script:
    """A fixed sequence of turns; turn ``i`` answers a conversation holding ``i`` model turns.

    Example:
        >>> Script([Turn.call("lookup_ticket", {"ticket_id": 42}), Turn.text("done")])
    """

    def __init__(self, turns: Iterable[Turn]) -> None:
        self.turns: tuple[Turn, ...] = tuple(turns)
        if not self.turns:
            raise ConfigError("a script needs at least one turn")

    def __len__(self) -> int:
        return len(self.turns)

    def __getitem__(self, index: int) -> Turn:
        return self.turns[index]

    def __repr__(self) -> str:
        return f"Script({list(self.turns)!r})"

    @classmethod
    def load(cls, path: str | Path) -> Script:
        """Read a script from a YAML or JSON file (a list of turns, or ``{"turns": [...]}``)."""
        file = Path(path)
        try:
            data = yaml.safe_load(file.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"cannot read fake xAI script {file}: {exc}") from exc
        return cls.from_data(data, source=str(file))

    @classmethod
    def from_data(cls, data: Any, *, source: str = "<script>") -> Script:
        """Build a script from parsed YAML/JSON data."""
        if isinstance(data, dict):
            data = data.get("turns")
        if not isinstance(data, list):
            raise ConfigError(f"{source}: expected a list of turns or a mapping with 'turns'")
        turns = []
        for index, entry in enumerate(data):
            try:
                turns.append(turn_from_dict(entry))
            except ConfigError as exc:
                raise ConfigError(f"{source}: turn {index}: {exc}") from exc
        return cls(turns)


_TURN_KEYS = {
    "call",
    "arguments",
    "calls",
    "text",
    "search",
    "reasoning",
    "fault",
    "incomplete",
    "reasoning_tokens",
}


def turn_from_dict(entry: Any) -> Turn:
    """Build one turn from a script file entry."""
    if not isinstance(entry, dict):
        raise ConfigError(f"a turn must be a mapping, got {entry!r}")
    unknown = set(entry) - _TURN_KEYS
    if unknown:
        raise ConfigError(
            f"unknown key(s) {sorted(unknown)}; expected some of {sorted(_TURN_KEYS)}"
        )
    fault = Fault.from_dict(entry["fault"]) if entry.get("fault") else None
    tokens, reason = entry.get("reasoning_tokens"), entry.get("incomplete")
    if tokens is not None and (not isinstance(tokens, int) or tokens < 0):
        raise ConfigError(f"reasoning_tokens must be a whole number >= 0, got {tokens!r}")
    if reason is not None and not isinstance(reason, str):
        raise ConfigError(f"incomplete must name a reason (max_output_tokens, ...), got {reason!r}")
    return replace(
        _turn_body(entry),
        reasoning=entry.get("reasoning"),
        fault=fault,
        incomplete=reason,
        reasoning_tokens=tokens,
    )


def _turn_body(entry: dict[str, Any]) -> Turn:
    if "call" in entry:
        return Turn.call(str(entry["call"]), entry.get("arguments") or {})
    if "calls" in entry:
        calls = entry["calls"]
        if not isinstance(calls, list):
            raise ConfigError("'calls' must be a list of {name, arguments}")
        return Turn.calls((str(c["name"]), c.get("arguments") or {}) for c in calls)
    if "search" in entry:
        spec = dict(entry["search"])
        text = spec.pop("text", entry.get("text", ""))
        return Turn.search(
            kind=spec.get("kind", "web"),
            query=str(spec.get("query", "")),
            results=spec.get("results", []),
            text=str(text),
            item=str(spec.get("item", "")),
        )
    if "text" in entry:
        return Turn.text(str(entry["text"]))
    raise ConfigError("a turn needs one of 'call', 'calls', 'text' or 'search'")
