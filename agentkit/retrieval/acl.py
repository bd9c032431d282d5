"""Who may read a document: `Acl`, decided at ingestion and enforced at every search.

The rules, deny by default:

1. ``public=True``: every principal may read it (a public ACL lists nothing else).
2. Otherwise, when ``workspaces`` is not empty it *scopes* the document: only a principal
   whose ``workspace`` is one of them may read it, whatever else the ACL says.
3. Within that scope, the principal may read it when its ``user_id`` is in ``users`` or
   one of its ``roles`` is in ``roles``. When both lists are empty, the scope alone
   grants: every principal of those workspaces.
4. An ACL with every list empty and ``public=False`` (the default) grants nobody.

So ``Acl(roles=["hr"], workspaces=["acme"])`` is HR of acme only, never HR of another
tenant, and ``Acl(workspaces=["acme"])`` is everyone in acme. Entries compare exactly
(case and all). `readable_by` is the reference; the index's SQL applies the same rules.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from agentkit.decision import Principal
from agentkit.retrieval.retrieval_errors import AclInvalid

EntryKind = Literal["user", "role", "workspace"]


@dataclass(frozen=True, slots=True, init=False)
class Acl:
    """The users, roles and workspaces that may read a document (see the module rules)."""

    users: tuple[str, ...]
    roles: tuple[str, ...]
    workspaces: tuple[str, ...]
    public: bool

    def __init__(
        self,
        users: Iterable[str] = (),
        roles: Iterable[str] = (),
        workspaces: Iterable[str] = (),
        *,
        public: bool = False,
    ) -> None:
        object.__setattr__(self, "users", _entries("users", users))
        object.__setattr__(self, "roles", _entries("roles", roles))
        object.__setattr__(self, "workspaces", _entries("workspaces", workspaces))
        object.__setattr__(self, "public", bool(public))
        if self.public and (self.users or self.roles or self.workspaces):
            raise AclInvalid("a public ACL lists no users, roles or workspaces")

    def readable_by(self, principal: Principal) -> bool:
        """Whether `principal` may read a document with this ACL."""
        if self.public:
            return True
        if self.workspaces and principal.workspace not in self.workspaces:
            return False
        if not self.users and not self.roles:
            return bool(self.workspaces)
        return principal.user_id in self.users or any(r in self.roles for r in principal.roles)

    def entries(self) -> list[tuple[EntryKind, str]]:
        """The rows the index stores for this ACL, one per entry (none when public)."""
        rows: list[tuple[EntryKind, str]] = [("user", u) for u in self.users]
        rows += [("role", r) for r in self.roles]
        rows += [("workspace", w) for w in self.workspaces]
        return rows

    def to_json(self) -> str:
        """Canonical JSON (sorted, deduplicated): equal ACLs have equal text."""
        return json.dumps(
            {
                "users": list(self.users),
                "roles": list(self.roles),
                "workspaces": list(self.workspaces),
                "public": self.public,
            },
            sort_keys=True,
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str) -> Acl:
        data: dict[str, Any] = json.loads(text)
        return cls(
            data.get("users", ()),
            data.get("roles", ()),
            data.get("workspaces", ()),
            public=bool(data.get("public", False)),
        )


def _entries(field: str, values: Iterable[str]) -> tuple[str, ...]:
    if isinstance(values, str):  # Acl(users="ana") would otherwise grant "a" and "n"
        raise AclInvalid(f"{field} must be a list of strings, not one string")
    items = tuple(values)
    for item in items:
        if not isinstance(item, str) or not item:
            raise AclInvalid(f"{field} entries must be non-empty strings, got {item!r}")
    return tuple(sorted(set(items)))
