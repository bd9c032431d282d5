"""A statement the SQL guard accepted, and the rewriting of its placeholders."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlglot import exp

from agentkit.errors import QueryParamsInvalid, QueryRefused

TableKey = tuple[str, str]
"""(schema, table), normalised; schema is "" when the name is unqualified."""


@dataclass(frozen=True, slots=True)
class CheckedStatement:
    """A statement the guard accepted, ready to run with bound parameters."""

    sql: str
    """The regenerated SQL, with ``:name`` bind parameters only."""
    kind: Literal["select", "insert", "update", "delete"]
    tables: frozenset[TableKey]
    """Every real table it references (CTE names excluded)."""
    target: TableKey | None
    """The table a write statement changes."""
    untrusted: bool
    """It may output a column declared untrusted."""
    binds: tuple[str, ...]
    positional: bool
    """Placeholders were ``?`` (params is a list) rather than ``:name`` (params is a dict)."""

    def bind(self, params: Mapping[str, Any] | Sequence[Any] | None) -> dict[str, Any]:
        """Match `params` to the placeholders; raise QueryParamsInvalid when they differ."""
        params = [] if params is None and (self.positional or not self.binds) else params
        if isinstance(params, Mapping):
            if self.positional:
                raise QueryParamsInvalid("the statement uses ? placeholders: pass a list")
            missing = set(self.binds) - set(params)
            extra = set(params) - set(self.binds)
            if missing or extra:
                raise QueryParamsInvalid(
                    f"params do not match :name placeholders (missing {sorted(missing)}, "
                    f"unexpected {sorted(extra)})"
                )
            return {name: params[name] for name in self.binds}
        if isinstance(params, str | bytes) or params is None:
            raise QueryParamsInvalid("params must be a list (for ?) or a mapping (for :name)")
        values = list(params)
        if self.binds and not self.positional:
            raise QueryParamsInvalid("the statement uses :name placeholders: pass a mapping")
        if len(values) != len(self.binds):
            raise QueryParamsInvalid(
                f"the statement has {len(self.binds)} ? placeholders but {len(values)} params"
            )
        return dict(zip(self.binds, values, strict=True))


def rename_placeholders(tree: exp.Expr) -> tuple[tuple[str, ...], bool]:
    placeholders = list(tree.find_all(exp.Placeholder))
    named = [p for p in placeholders if isinstance(p.this, str) and p.this != "?"]
    if named and len(named) != len(placeholders):
        raise QueryRefused("use either ? placeholders or :name placeholders, not both")
    binds: list[str] = []
    for index, placeholder in enumerate(placeholders):
        name = str(placeholder.this) if named else f"p{index}"
        if not name.isidentifier():
            raise QueryRefused(f"invalid placeholder name {name!r}")
        if name not in binds:
            binds.append(name)
        placeholder.replace(exp.var(f":{name}"))
    return tuple(binds), bool(placeholders) and not named


def escape_colons(tree: exp.Expr) -> None:
    """Keep ``:word`` inside strings and quoted names from reading as a bind parameter."""
    for node in tree.walk():
        if isinstance(node, exp.Literal) and node.is_string and ":" in node.this:
            node.set("this", node.this.replace(":", "\\:"))
        elif isinstance(node, exp.Identifier) and ":" in node.name:
            node.set("this", node.name.replace(":", "\\:"))
