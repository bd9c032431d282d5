"""Argument constraints, compiled once at load and checked on every call.

A constraint is JSON Schema keywords (checked with jsonschema) plus the checks JSON
Schema cannot express: hosts (``domains``), named trusted lists, provenance and its three
tiers (``trust``), on each element of a list or each piece of a ``split`` text.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, cast

import jsonschema
from jsonschema.exceptions import SchemaError, ValidationError, best_match

from agentkit.decision import History
from agentkit.policy import dataflow
from agentkit.policy._names import did_you_mean
from agentkit.policy.provenance_index import ProvenanceIndex, index_of
from agentkit.policy.spec import ArgConstraint, DomainRule, NormaliseKind, Provenance, TierAction
from agentkit.policy.taught import Taught, approved_values
from agentkit.policy.tiers import TrustTiers

_MISSING = object()


class ConstraintError(ValueError):
    """A constraint cannot be compiled (bad regex, bad schema, unknown list)."""


@dataclass(frozen=True)
class TrustedList:
    """A named list of trusted values, normalised for comparison."""

    name: str
    kind: NormaliseKind
    values: frozenset[str]

    def holds(self, value: object) -> bool:
        """True when ``value``, normalised as the list's values were, is on the list (a
        domain list also holds the subdomains of its domains).

        A domain list reads the value as ``domains`` does: the host of a URL, the domain of
        an e-mail address, or a bare host, so ``in_list: internal_domains`` holds for
        ``ana@example.com`` exactly when ``domains: {allow_lists: [internal_domains]}`` does.

        Raises:
            HostError: ``value`` is to be read as a host (a domain, e-mail address or URL
                list) and names none the HTTP client accepts.
        """
        if self.kind == "domain":
            text = value if isinstance(value, str) else dataflow.normalise("exact", value)
            return dataflow.host_matches(dataflow.host_of(text.strip()), self.values)
        return dataflow.normalise(self.kind, value) in self.values

    def vouches_for(self, value: object) -> bool:
        """``holds``, except that no list vouches for a value naming no acceptable host."""
        try:
            return self.holds(value)
        except dataflow.HostError:
            return False


@dataclass(frozen=True)
class DataflowContext:
    """What provenance checks need from the run, computed once per decision."""

    history: History
    untrusted_marked: frozenset[str]
    teach: bool = True
    """``approvals.teach``: approved values are a source where ``user`` is true and a
    constraint does not say ``approved`` itself."""
    teach_except: frozenset[str] = frozenset()
    """``approvals.except_tools``: tools whose approved calls vouch for nothing."""

    @functools.cached_property
    def sources(self) -> ProvenanceIndex:
        """What the run's outputs offer as sources (kept beside the run's output log)."""
        return index_of(self.history)

    @functools.cached_property
    def taught(self) -> Taught:
        """The values of the calls a person approved earlier in the run (see taught.py)."""
        return approved_values(self.history, except_tools=self.teach_except)

    def takes_approved(self, approved: bool | None, user: bool) -> bool:
        """Whether a constraint with these ``approved`` and ``user`` takes approved values."""
        return approved if approved is not None else self.teach and user


@dataclass(frozen=True)
class _Domains:
    allow: tuple[str, ...]
    deny: tuple[str, ...]
    schemes: frozenset[str]
    restricted: bool
    allow_ranges: tuple[str | dataflow.IPNetwork, ...] = ()
    deny_ranges: tuple[str | dataflow.IPNetwork, ...] = ()

    def check(self, value: Any) -> str | None:
        if not isinstance(value, str):
            return "must be a URL, e-mail address or host name"
        try:
            host = dataflow.host_of(value, self.schemes)
        except dataflow.HostError as exc:
            return str(exc)
        if dataflow.host_matches(host, self.deny):
            return f"host {host} is on the deny list"
        if dataflow.in_ranges(host, self.deny_ranges):
            return f"host {host} is in a denied address range"
        allowed = dataflow.host_matches(host, self.allow) or dataflow.in_ranges(
            host, self.allow_ranges
        )
        if self.restricted and not allowed:
            return f"host {host} is not an allowed domain"
        return None


@dataclass(frozen=True)
class _Provenance:
    user: bool
    lists: tuple[TrustedList, ...]
    tools: tuple[str, ...]
    kind: NormaliseKind
    fields: tuple[tuple[str, tuple[str, ...]], ...] = ()
    approved: bool | None = None
    """Approved values: taken, refused, or (None) as ``approvals.teach`` says."""

    def check(self, value: Any, ctx: DataflowContext) -> str | None:
        try:
            norm = dataflow.normalise(self.kind, value)
        except dataflow.HostError as exc:
            return f"value {value!r} has no source: {exc}"
        if self._vouched(value, norm, ctx):
            return None
        tool = ctx.sources.untrusted_source(self.kind, norm, ctx.untrusted_marked) if norm else None
        if tool is not None:
            return (
                f"value {norm!r} appears only in untrusted output of {tool}, "
                "not in the user's messages or a trusted list"
            )
        return f"value {norm!r} does not come from the user's messages or a trusted list"

    def _vouched(self, value: Any, norm: str, ctx: DataflowContext) -> bool:
        if any(lst.vouches_for(value) for lst in self.lists):
            return True
        if not norm:
            return False  # a value that normalises to nothing has no source
        if self.user and any(
            dataflow.appears_in(self.kind, norm, m) for m in ctx.history.user_messages
        ):
            return True
        if ctx.takes_approved(self.approved, self.user) and ctx.taught.vouches(self.kind, norm):
            return True  # a person approved this value earlier in the run
        marked = ctx.untrusted_marked
        if self.tools and ctx.sources.in_outputs(self.kind, norm, self.tools, marked):
            return True
        return any(
            ctx.sources.in_fields(self.kind, norm, tool, paths, marked)
            for tool, paths in self.fields
        )


@dataclass(frozen=True)
class Constraint:
    """One compiled argument constraint."""

    field: str
    path: tuple[str, ...]
    required: bool
    null_passes: bool = True
    null_matches: bool = False
    """In a condition: a null satisfies it (``if_null: pass`` said so explicitly)."""
    validator: jsonschema.protocols.Validator | None = None
    in_list: TrustedList | None = None
    not_in_list: TrustedList | None = None
    domains: _Domains | None = None
    provenance: _Provenance | None = None
    trust: TrustTiers | None = None
    """Judged by `judge_trust`, not `check`: a tier may confirm rather than deny."""
    split: str | None = None

    def check(self, arguments: Mapping[str, Any], ctx: DataflowContext) -> str | None:
        """A violation message, or None when the arguments satisfy the constraint."""
        values = list(_walk(arguments, self.path))
        if not values:
            if self.required:
                return "is required"
            # a path that breaks inside an argument the call has (payee.iban when payee is
            # null or lacks iban) denies: the constraint cannot vouch for a value it cannot
            # see. An argument not sent at all is the strict schema's business; an empty
            # list has no element to check.
            broken = self.path[0] in arguments and _absent(arguments, self.path)
            return "is missing from the arguments" if broken else None
        if not _crosses_list(arguments, self.path):
            return self.check_value(values[0], ctx)
        for value in values:  # the path went through a list: check each element found
            problem = self.check_value(value, ctx)
            if problem:
                return problem
        return None

    def matches(self, arguments: Mapping[str, Any], ctx: DataflowContext) -> bool:
        """True when the argument is present and satisfies the constraint."""
        return self.truth(arguments, ctx) is True

    def truth(self, arguments: Mapping[str, Any], ctx: DataflowContext) -> bool | None:
        """As a condition: True or False on values the call sent, None (unknown) on an
        argument the call lacks or left null (True for a null with ``if_null: pass``)."""
        values = list(_walk(arguments, self.path))
        if not values:
            return None  # a condition never holds on an argument the call lacks
        if all(value is None for value in values):
            return True if self.null_matches else None
        return self.check(arguments, ctx) is None

    def judge_trust(
        self, arguments: Mapping[str, Any], ctx: DataflowContext
    ) -> tuple[TierAction, str] | None:
        """The strictest tier action over the values sent, with its reason (None: no
        ``trust``, or nothing sent; a null passes, as `check` decides nulls)."""
        if self.trust is None:
            return None
        worst: tuple[TierAction, str] | None = None
        for value in _walk(arguments, self.path):
            for element in self._elements(value):
                if element is None:
                    continue
                found = self.trust.judge(element, ctx)
                if worst is None or _SEVERITY[found[0]] > _SEVERITY[worst[0]]:
                    worst = found
        return worst

    def _elements(self, value: Any) -> list[Any]:
        """The values the list, domain, provenance and trust checks see one by one: the
        elements of a list, the pieces of a ``split`` text (the whole text if it has none)."""
        found = []
        for element in value if isinstance(value, list) else (value,):
            if self.split and isinstance(element, str):
                pieces = [p.strip() for p in re.split(f"[{re.escape(self.split)}]", element)]
                found.extend([p for p in pieces if p] or [element])
            else:
                found.append(element)
        return found

    def check_value(self, value: Any, ctx: DataflowContext) -> str | None:
        if value is None:
            if self.required:
                return "is required, and null was sent"
            return None if self.null_passes else "is null, which the policy does not allow"
        if self.validator is not None and not self.validator.is_valid(value):
            error = best_match(self.validator.iter_errors(value))
            return error.message if error is not None else "is invalid"
        for element in self._elements(value):
            problem = self._check_element(element, ctx)
            if problem:
                return problem
        return None

    def _check_element(self, value: Any, ctx: DataflowContext) -> str | None:
        if value is None:
            return None if self.null_passes else "holds a null, which the policy does not allow"
        if self.domains is not None and (problem := self.domains.check(value)):
            return problem
        if self.in_list is not None and (problem := _check_in(self.in_list, value)):
            return problem
        if self.not_in_list is not None and (problem := _check_not_in(self.not_in_list, value)):
            return problem
        if self.provenance is not None:
            return self.provenance.check(value, ctx)
        return None


def _check_in(lst: TrustedList, value: Any) -> str | None:
    try:
        if lst.holds(value):
            return None
    except dataflow.HostError as exc:
        return f"{value!r} is not in the trusted list {lst.name}: {exc}"
    return f"{value!r} is not in the trusted list {lst.name}"


def _check_not_in(lst: TrustedList, value: Any) -> str | None:
    try:
        if not lst.holds(value):
            return None
    except dataflow.HostError as exc:
        # read some other way, it could be on the list: it is not shown to be off it
        return f"{value!r} cannot be checked against the list {lst.name}: {exc}"
    return f"{value!r} is on the list {lst.name}"


def resolve(arguments: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    """The value at a dotted path; lists along the way yield a list of values."""
    values = list(_walk(arguments, path))
    if not values:
        return _MISSING
    return values[0] if len(values) == 1 and not _crosses_list(arguments, path) else values


def is_missing(value: Any) -> bool:
    """True for the marker ``resolve`` returns when the path is absent."""
    return value is _MISSING


def _walk(node: Any, path: tuple[str, ...]) -> Iterator[Any]:
    if not path:
        yield node
        return
    if isinstance(node, list):
        for item in node:
            yield from _walk(item, path)
    elif isinstance(node, Mapping) and path[0] in node:
        yield from _walk(node[path[0]], path[1:])


def _absent(node: Any, path: tuple[str, ...]) -> bool:
    for key in path:
        if isinstance(node, list):
            return False
        if not isinstance(node, Mapping) or key not in node:
            return True
        node = node[key]
    return False


def _crosses_list(node: Any, path: tuple[str, ...]) -> bool:
    for key in path[:-1]:
        node = node.get(key) if isinstance(node, Mapping) else None
        if isinstance(node, list):
            return True
    return False


_SEVERITY = {"allow": 0, "confirm": 1, "deny": 2}

_IMPLIED_TYPES = (
    (("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"), "number"),
    (("pattern", "format", "minLength", "maxLength"), "string"),
    (("minItems", "maxItems", "uniqueItems", "items"), "array"),
)


def implied_type(schema: Mapping[str, Any]) -> list[str]:
    """The JSON types the keywords of `schema` check. JSON Schema passes a value of any
    other type untested (``maximum: 100`` accepts the string ``"1000000"``, which the tool
    may read as a number): a constraint checks its own type unless it sets ``type``."""
    return [kind for keys, kind in _IMPLIED_TYPES if any(k in schema for k in keys)]


def compile_constraint(
    name: str, spec: ArgConstraint, lists: Mapping[str, TrustedList]
) -> Constraint:
    """Compile one constraint; raises ConstraintError naming what is wrong."""
    schema = spec.json_schema()
    if "type" not in schema and (types := implied_type(schema)):
        schema["type"] = types[0] if len(types) == 1 else types
    validator = _validator(schema) if schema else None
    prov = spec.provenance
    trust = spec.trust
    if trust is not None and (trust.trusted, trust.third_party, trust.nowhere) == (
        "allow",
        "deny",
        "deny",
    ):
        # exactly what a provenance constraint does: compile to it
        prov = Provenance(
            user=trust.user,
            lists=trust.lists,
            tools=trust.tools,
            fields=trust.fields,
            approved=trust.approved,
            normalise=trust.normalise,
        )
        trust = None
    return Constraint(
        field=name,
        path=tuple(name.split(".")),
        required=spec.required,
        null_passes=spec.if_null != "deny",
        null_matches=spec.if_null == "pass",
        validator=validator,
        in_list=_lookup(lists, spec.in_list, "in_list"),
        not_in_list=_lookup(lists, spec.not_in_list, "not_in_list"),
        domains=_compile_domains(spec.domains, lists) if spec.domains else None,
        provenance=_compile_provenance(prov, spec.normalise, lists) if prov else None,
        trust=_compile_trust(spec, lists) if trust else None,
        split=spec.split,
    )


def _compile_trust(spec: ArgConstraint, lists: Mapping[str, TrustedList]) -> TrustTiers:
    trust = spec.trust
    assert trust is not None
    return TrustTiers(
        user=trust.user,
        lists=tuple(_require_list(lists, n, "trust.lists") for n in trust.lists),
        tools=tuple(trust.tools),
        kind=trust.normalise or spec.normalise,
        actions={
            "trusted": trust.trusted,
            "third_party": trust.third_party,
            "nowhere": trust.nowhere,
        },
        fields=tuple(trust.field_paths().items()),
        approved=trust.approved,
    )


def _validator(schema: dict[str, Any]) -> jsonschema.protocols.Validator:
    if "pattern" in schema:
        try:
            re.compile(schema["pattern"])
        except re.error as exc:
            raise ConstraintError(f"pattern is not a valid regular expression: {exc}") from exc
    try:
        jsonschema.Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        raise ConstraintError(f"invalid JSON Schema keyword: {exc.message}") from exc
    checker = jsonschema.Draft202012Validator.FORMAT_CHECKER
    return cast(jsonschema.protocols.Validator, _Validator(schema, format_checker=checker))


def _exact_multiple_of(
    validator: Any, step: Any, instance: Any, schema: Mapping[str, Any]
) -> Iterator[ValidationError]:
    """``multipleOf`` in decimal, as a person reads the numbers: 0.07 is a multiple of 0.01
    (binary floats say it is not), and a Decimal compares without a TypeError."""
    if not validator.is_type(instance, "number"):
        return
    try:
        remainder = Decimal(str(instance)) % Decimal(str(step))
    except (InvalidOperation, ValueError):
        remainder = Decimal(1)  # too many digits to divide exactly: not shown a multiple
    if remainder != 0:
        yield ValidationError(f"{instance!r} is not a multiple of {step}")


_Validator: Any = jsonschema.validators.extend(  # type: ignore[no-untyped-call]
    jsonschema.Draft202012Validator, {"multipleOf": _exact_multiple_of}
)


def _lookup(lists: Mapping[str, TrustedList], name: str | None, key: str) -> TrustedList | None:
    if name is None:
        return None
    if name not in lists:
        raise ConstraintError(
            f"{key} names the list {name!r}, which the policy does not declare"
            + did_you_mean(name, lists)
        )
    return lists[name]


def _compile_domains(spec: DomainRule, lists: Mapping[str, TrustedList]) -> _Domains:
    try:
        allow = [dataflow.normalise_host(d.removeprefix("*.")) for d in spec.allow]
        deny = [dataflow.normalise_host(d.removeprefix("*.")) for d in spec.deny]
    except dataflow.HostError as exc:
        raise ConstraintError(f"domains: {exc}") from exc
    for name in spec.allow_lists:
        allow.extend(_require_list(lists, name, "allow_lists").values)
    for name in spec.deny_lists:
        deny.extend(_require_list(lists, name, "deny_lists").values)
    # "localhost" means the loopback, however an address spells it (127.1, 0x7f000001, ::1)
    named_loopback = ["loopback"] if "localhost" in deny else []
    try:
        allow_ranges = tuple(dataflow.compile_range(r) for r in spec.allow_ranges)
        deny_ranges = tuple(dataflow.compile_range(r) for r in [*spec.deny_ranges, *named_loopback])
    except dataflow.HostError as exc:
        raise ConstraintError(f"domains: {exc}") from exc
    restricted = bool(spec.allow or spec.allow_lists or spec.allow_ranges)
    schemes = frozenset(s.lower() for s in spec.schemes)
    return _Domains(tuple(allow), tuple(deny), schemes, restricted, allow_ranges, deny_ranges)


def _compile_provenance(
    spec: Provenance, kind: NormaliseKind, lists: Mapping[str, TrustedList]
) -> _Provenance:
    found = tuple(_require_list(lists, n, "provenance.lists") for n in spec.lists)
    return _Provenance(
        spec.user,
        found,
        tuple(spec.tools),
        spec.normalise or kind,
        fields=tuple(spec.field_paths().items()),
        approved=spec.approved,
    )


def _require_list(lists: Mapping[str, TrustedList], name: str, key: str) -> TrustedList:
    found = _lookup(lists, name, key)
    assert found is not None
    if key.endswith("_lists") and found.kind != "domain":
        raise ConstraintError(f"{key}: list {name!r} must have normalise: domain")
    return found
