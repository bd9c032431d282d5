"""xAI server-side search tools: the `web_search` and `x_search` entries of a request.

xAI runs these searches itself; agentkit never executes them. The model reports them as
``web_search_call`` items, and X searches as ``custom_tool_call`` items named after the
search (``x_keyword_search``, ...; older answers: ``x_search_call``), all in
``ModelResponse.server_tool_calls``, decided and recorded as ``web_search`` / ``x_search``; it
cites its sources as ``url_citation`` annotations, which the runner collects into
``RunResult.citations``. What agentkit controls is the entry it sends, so the filters
are fixed here, by the developer and the policy, where the model cannot change them.

```python
class Researcher(Agent):
    server_tools = [web_search(allowed_domains=["docs.python.org"]), x_search()]
```
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

from agentkit.errors import ConfigError
from agentkit.policy.dataflow import HostError, normalise_host

MAX_DOMAINS = 5
"""xAI accepts at most five domains in allowed_domains or excluded_domains."""
MAX_X_HANDLES = 10
"""xAI documents ten handles (newer pages say twenty); agentkit keeps to the stricter."""

_HANDLE_RE = re.compile(r"^[A-Za-z0-9_]{1,15}$")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def web_search(
    *,
    allowed_domains: Sequence[str] | None = None,
    excluded_domains: Sequence[str] | None = None,
    enable_image_understanding: bool | None = None,
) -> dict[str, Any]:
    """The Responses-API entry of xAI's server-side web search.

    Example:
        >>> web_search(allowed_domains=["docs.python.org", "peps.python.org"])
        {'type': 'web_search', 'allowed_domains': ['docs.python.org', 'peps.python.org']}

    Args:
        allowed_domains: Search only these sites (and their subdomains); at most five.
        excluded_domains: Never search these sites; at most five. Exclusive with the above.
        enable_image_understanding: Let the search look at images on the pages.

    Raises:
        ConfigError: a domain is not a bare host name, a list is empty or too long, or
            both lists are given.
    """
    entry: dict[str, Any] = {"type": "web_search"}
    _exclusive(
        "web_search", "allowed_domains", allowed_domains, "excluded_domains", excluded_domains
    )
    if allowed_domains is not None:
        entry["allowed_domains"] = domain_list("allowed_domains", allowed_domains)
    if excluded_domains is not None and (
        excluded := domain_list("excluded_domains", excluded_domains)
    ):
        entry["excluded_domains"] = excluded
    if enable_image_understanding is not None:
        entry["enable_image_understanding"] = bool(enable_image_understanding)
    return entry


def x_search(
    *,
    allowed_x_handles: Sequence[str] | None = None,
    excluded_x_handles: Sequence[str] | None = None,
    from_date: str | date | None = None,
    to_date: str | date | None = None,
    enable_image_understanding: bool | None = None,
    enable_video_understanding: bool | None = None,
) -> dict[str, Any]:
    """The Responses-API entry of xAI's server-side X (Twitter) search.

    Example:
        >>> x_search(allowed_x_handles=["xai"], from_date="2025-01-01")
        {'type': 'x_search', 'allowed_x_handles': ['xai'], 'from_date': '2025-01-01'}

    Args:
        allowed_x_handles: Search only posts by these accounts (no "@"); at most ten.
        excluded_x_handles: Never these accounts; at most ten. Exclusive with the above.
        from_date: Oldest day of posts, YYYY-MM-DD (inclusive).
        to_date: Newest day of posts, YYYY-MM-DD (inclusive).
        enable_image_understanding: Let the search look at images in posts.
        enable_video_understanding: Let the search look at videos in posts.

    Raises:
        ConfigError: a handle is malformed, a list is empty or too long, both lists are
            given, or a date is malformed or the range is backwards.
    """
    entry: dict[str, Any] = {"type": "x_search"}
    _exclusive(
        "x_search", "allowed_x_handles", allowed_x_handles, "excluded_x_handles", excluded_x_handles
    )
    if allowed_x_handles is not None:
        entry["allowed_x_handles"] = handle_list("allowed_x_handles", allowed_x_handles)
    if excluded_x_handles is not None and (
        excluded := handle_list("excluded_x_handles", excluded_x_handles)
    ):
        entry["excluded_x_handles"] = excluded
    start = _day("from_date", from_date)
    end = _day("to_date", to_date)
    if start and end and start > end:
        raise ConfigError(f"x_search: from_date {start} is after to_date {end}")
    if start:
        entry["from_date"] = start
    if end:
        entry["to_date"] = end
    for key, flag in (
        ("enable_image_understanding", enable_image_understanding),
        ("enable_video_understanding", enable_video_understanding),
    ):
        if flag is not None:
            entry[key] = bool(flag)
    return entry


def domain_list(key: str, domains: Iterable[str], *, limit: int | None = MAX_DOMAINS) -> list[str]:
    """Normalised, de-duplicated bare host names, at most ``limit`` (None: no limit).

    Raises:
        ConfigError: naming the offending entry and what to write instead.
    """
    if isinstance(domains, str):
        raise ConfigError(f"{key} must be a list of domains, not the string {domains!r}")
    found: list[str] = []
    for index, domain in enumerate(domains):
        host = _bare_host(key, index, domain)
        if host not in found:
            found.append(host)
    _check_size(key, found, limit, "domains")
    return found


def handle_list(key: str, handles: Iterable[str]) -> list[str]:
    """Validated, de-duplicated X handles without "@", at most ten.

    Raises:
        ConfigError: naming the offending handle.
    """
    if isinstance(handles, str):
        raise ConfigError(f"{key} must be a list of handles, not the string {handles!r}")
    found: list[str] = []
    for index, handle in enumerate(handles):
        if not isinstance(handle, str):
            raise ConfigError(f"{key}[{index}] must be a string, got {handle!r}")
        if handle.startswith("@"):
            raise ConfigError(
                f"{key}[{index}] {handle!r}: write X handles without '@' ({handle[1:]!r})"
            )
        if not _HANDLE_RE.match(handle):
            raise ConfigError(
                f"{key}[{index}] {handle!r} is not an X handle (1-15 letters, digits or _)"
            )
        if handle.casefold() not in (h.casefold() for h in found):
            found.append(handle)
    _check_size(key, found, MAX_X_HANDLES, "handles")
    return found


def _bare_host(key: str, index: int, domain: object) -> str:
    if not isinstance(domain, str):
        raise ConfigError(f"{key}[{index}] must be a string, got {domain!r}")
    if any(ch in domain for ch in "/:@?#") or any(ch.isspace() for ch in domain):
        raise ConfigError(
            f"{key}[{index}] {domain!r} is not a bare domain: write a host such as "
            "'docs.python.org' (no scheme, path, port or user)"
        )
    try:
        return normalise_host(domain.removeprefix("*."))
    except HostError as exc:
        raise ConfigError(f"{key}[{index}]: {exc}") from exc


def _check_size(key: str, found: list[str], limit: int | None, what: str) -> None:
    if not found and key.startswith("allowed"):
        # an empty allow list cannot be sent: dropping it would silently search everywhere
        raise ConfigError(f"{key} is empty: omit it, or name at least one of the {what}")
    if limit is not None and len(found) > limit:
        raise ConfigError(f"{key} has {len(found)} {what}; xAI accepts at most {limit}")


def _exclusive(
    tool: str, first: str, a: Sequence[str] | None, second: str, b: Sequence[str] | None
) -> None:
    if a and b:
        raise ConfigError(f"{tool}: {first} and {second} are mutually exclusive; give one of them")


def _day(key: str, value: str | date | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str) and _DATE_RE.match(value):
        try:
            return date.fromisoformat(value).isoformat()
        except ValueError:
            pass
    raise ConfigError(f"x_search: {key} {value!r} is not a date written YYYY-MM-DD")


MAX_COLLECTIONS = 10
"""xAI's file_search takes at most ten collections per entry."""


def file_search(
    *, collection_ids: Sequence[str] | None = None, max_num_results: int = 10
) -> dict[str, Any]:
    """The Responses-API entry of xAI's server-side search over collections.

    Without `collection_ids`, each run's entry names the collections the policy grants
    its principal (``retrieval.collections``); with them, the policy's grant narrows them
    further. Either way the model never chooses: a principal granted none gets no entry.

    Example:
        >>> file_search(max_num_results=5)
        {'type': 'file_search', 'max_num_results': 5}

    Raises:
        ConfigError: more than ten collections, an empty id, or fewer than one result.
    """
    if max_num_results < 1:
        raise ConfigError("file_search: max_num_results must be at least 1")
    entry: dict[str, Any] = {"type": "file_search", "max_num_results": max_num_results}
    if collection_ids is not None:
        ids = [str(c).strip() for c in collection_ids]
        if not ids or not all(ids) or len(ids) > MAX_COLLECTIONS:
            raise ConfigError(
                f"file_search: collection_ids must be 1 to {MAX_COLLECTIONS} non-empty ids"
            )
        entry["vector_store_ids"] = list(dict.fromkeys(ids))
    return entry


def scoped_file_search(
    entry: Mapping[str, Any], granted: Sequence[str] | None
) -> dict[str, Any] | None:
    """`entry` for one principal: its collections are those `granted` (None: the entry's
    own, as the developer wrote them), narrowed by the entry's own when it names some;
    None when nothing is left. At most the first ten."""
    own = entry.get("vector_store_ids")
    if granted is None:
        ids = list(own or [])
    elif own is None:
        ids = list(granted)
    else:
        ids = [c for c in own if c in set(granted)]
    if not ids:
        return None
    return {**entry, "vector_store_ids": ids[:MAX_COLLECTIONS]}
