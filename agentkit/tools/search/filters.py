"""Server-side search entries derived from the policy, so the model cannot widen them.

A policy declares where search may look on the ``web_search`` / ``x_search`` tool, with
the ordinary argument constraints (the argument names are a convention; the model never
sends them, so per-call checks pass and only these filters apply)::

    lists:
      official_accounts: {values: [xai, grok]}
    tools:
      web_search:
        action: allow
        untrusted_output: true
        args:
          sources: {domains: {allow: [docs.python.org, peps.python.org]}}   # or deny: [...]
      x_search:
        action: allow
        untrusted_output: true
        args:
          handles: {in_list: official_accounts}   # or not_in_list, or enum: [...]

``server_search_tools(policy)`` turns that into the wire entries. A developer may narrow
the policy's filters further, never widen them: that is a ``ConfigError``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from agentkit.decision import History, Principal, ProposedCall
from agentkit.errors import ConfigError
from agentkit.policy import Policy
from agentkit.policy.dataflow import host_matches
from agentkit.tools.search.entries import domain_list, handle_list, web_search, x_search

HANDLES_ARGUMENT = "handles"
"""The x_search argument whose constraint lists the X accounts search may read."""


@dataclass(frozen=True, slots=True)
class SearchFilters:
    """Where a search may look: ``allowed`` None means anywhere not ``excluded``."""

    allowed: tuple[str, ...] | None = None
    excluded: tuple[str, ...] = ()


def policy_domain_filters(policy: Policy, tool: str = "web_search") -> SearchFilters:
    """The domains the policy allows and denies for ``tool`` (subdomains included)."""
    allowed: list[str] | None = None
    excluded: list[str] = []
    for constraint in _constraints(policy, tool):
        domains = constraint.domains
        if domains is None:
            continue
        excluded.extend(d for d in domains.deny if d not in excluded)
        if domains.restricted:
            mine = list(domains.allow)
            allowed = mine if allowed is None else _intersect(allowed, mine)
    return SearchFilters(None if allowed is None else tuple(allowed), tuple(excluded))


def policy_handle_filters(policy: Policy, tool: str = "x_search") -> SearchFilters:
    """The X handles the policy allows (``in_list`` / ``enum``) or excludes (``not_in_list``)."""
    allowed: list[str] | None = None
    excluded: list[str] = []
    for constraint in _constraints(policy, tool):
        if constraint.field != HANDLES_ARGUMENT:
            continue
        if constraint.in_list is not None:
            allowed = sorted(constraint.in_list.values)
        if constraint.not_in_list is not None:
            excluded = sorted(constraint.not_in_list.values)
    spec = policy.spec.tools.get(tool)
    declared = spec.args.get(HANDLES_ARGUMENT) if spec is not None else None
    if declared is not None and declared.enum is not None:
        enum = [str(v).casefold() for v in declared.enum]
        allowed = enum if allowed is None else [h for h in allowed if h in enum]
    return SearchFilters(None if allowed is None else tuple(allowed), tuple(excluded))


def policy_web_search(
    policy: Policy,
    *,
    allowed_domains: Sequence[str] | None = None,
    excluded_domains: Sequence[str] | None = None,
    enable_image_understanding: bool | None = None,
) -> dict[str, Any]:
    """A ``web_search`` entry within the policy's domains, narrowed by the arguments.

    Raises:
        ConfigError: an argument would widen the policy, or the policy's domains cannot
            be said in xAI's filters (more than five, or a denied subdomain of an
            allowed domain, which one list cannot express).
    """
    base = policy_domain_filters(policy)
    wanted = None if allowed_domains is None else domain_list("allowed_domains", allowed_domains)
    extra = [] if excluded_domains is None else domain_list("excluded_domains", excluded_domains)
    allowed, excluded = _combine("web_search", "domains", base, wanted, extra)
    return web_search(
        allowed_domains=allowed,
        excluded_domains=excluded,
        enable_image_understanding=enable_image_understanding,
    )


def policy_x_search(
    policy: Policy,
    *,
    allowed_x_handles: Sequence[str] | None = None,
    excluded_x_handles: Sequence[str] | None = None,
    **options: Any,
) -> dict[str, Any]:
    """An ``x_search`` entry within the policy's handles; other options go to `x_search`.

    Raises:
        ConfigError: an argument would widen the policy, or a limit of `x_search` is broken.
    """
    base = policy_handle_filters(policy)
    wanted = (
        None if allowed_x_handles is None else handle_list("allowed_x_handles", allowed_x_handles)
    )
    extra = (
        [] if excluded_x_handles is None else handle_list("excluded_x_handles", excluded_x_handles)
    )
    allowed, excluded = _combine(
        "x_search", "handles", base, _folded(wanted), _folded(extra) or [], exact=True
    )
    return x_search(allowed_x_handles=allowed, excluded_x_handles=excluded, **options)


def server_search_tools(
    policy: Policy,
    *,
    principal: Principal | None = None,
    web: bool | Mapping[str, Any] = True,
    x: bool | Mapping[str, Any] = False,
) -> list[dict[str, Any]]:
    """The server-side search entries the policy grants, with its filters.

    A search is included only when the policy allows it outright for ``principal`` (by
    default: anyone holding some role the policy declares). xAI runs these calls, so
    they cannot be paused for a person: a ``confirm`` leaves the search out, as does a
    ``deny``.

    Example:
        >>> class Researcher(Agent):  # doctest: +SKIP
        ...     server_tools = server_search_tools(load_policy("policy.yaml"), x=True)

    Args:
        policy: The loaded policy.
        principal: Whose access to check.
        web: Include web search; a mapping gives `policy_web_search` keyword options.
        x: Include X search; a mapping gives `policy_x_search` keyword options.
    """
    who = principal or Principal(user_id="any", roles=tuple(policy.spec.roles))
    entries: list[dict[str, Any]] = []
    if web is not False and search_allowed(policy, "web_search", who):
        entries.append(policy_web_search(policy, **_options(web)))
    if x is not False and search_allowed(policy, "x_search", who):
        entries.append(policy_x_search(policy, **_options(x)))
    return entries


def search_allowed(policy: Policy, tool: str, principal: Principal) -> bool:
    """True when the policy plainly allows ``tool`` for ``principal``, before any output."""
    info = policy.tool_info(tool).model_copy(update={"untrusted_output": True})
    call = ProposedCall(call_id="server-side", tool=info, arguments={})
    return policy.decide(principal, call, History()).action == "allow"


# --- helpers ---------------------------------------------------------------------------------


def _constraints(policy: Policy, tool: str) -> tuple[Any, ...]:
    # The compiled constraints hold the domains and lists already resolved (files, env),
    # normalised exactly as decide() compares them.
    compiled = policy._compiled.tools.get(tool)
    return () if compiled is None else compiled.constraints


def _options(value: bool | Mapping[str, Any]) -> dict[str, Any]:
    return dict(value) if isinstance(value, Mapping) else {}


def _folded(values: list[str] | None) -> list[str] | None:
    return None if values is None else [v.casefold() for v in values]


def _matches(value: str, entries: Sequence[str], exact: bool) -> bool:
    return value in entries if exact else host_matches(value, entries)


def _intersect(first: list[str], second: list[str]) -> list[str]:
    """Hosts allowed by both lists (a subdomain entry survives when the other allows its parent)."""
    kept = [h for h in first if host_matches(h, second)]
    kept += [h for h in second if host_matches(h, first) and h not in kept]
    return kept


def _combine(
    tool: str,
    what: str,
    base: SearchFilters,
    wanted: list[str] | None,
    extra: list[str],
    *,
    exact: bool = False,
) -> tuple[list[str] | None, list[str] | None]:
    """One allow list or one exclude list that says no more than policy and developer together."""
    allowed = None if base.allowed is None else list(base.allowed)
    excluded = list(base.excluded) + [e for e in extra if e not in base.excluded]
    if wanted is not None:
        if allowed is not None:
            wider = [w for w in wanted if not _matches(w, allowed, exact)]
            if wider:
                raise ConfigError(
                    f"{tool}: {', '.join(wider)} would widen the policy, which allows only "
                    f"the {what} {', '.join(allowed)}"
                )
        allowed = wanted
    if allowed is None:
        return None, excluded or None
    allowed = [a for a in allowed if not _matches(a, excluded, exact)]
    if not allowed:
        raise ConfigError(f"{tool}: every allowed {what[:-1]} is also excluded; nothing to search")
    inside = [e for e in excluded if _matches(e, allowed, exact) and e not in allowed]
    if inside:
        raise ConfigError(
            f"{tool}: cannot exclude {', '.join(inside)} while allowing {', '.join(allowed)}: "
            "xAI takes one list or the other; narrow the allowed list instead"
        )
    return allowed, None
