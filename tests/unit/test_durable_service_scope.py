"""Who sees a durable run's approval through the service on Temporal: the run's owner, or
someone of its workspace whose roles the rule accepts; never anyone of another workspace."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

pytest.importorskip("temporalio")

from agentkit.decision import Principal
from agentkit.temporal.service import _is_owner, _may_see

names = st.sampled_from(["ana", "lee", "kim"])
spaces = st.sampled_from([None, "red", "blue"])
role_sets = st.lists(st.sampled_from(["clerk", "lead", "ops"]), max_size=3, unique=True)


@given(names, spaces, names, spaces, role_sets, st.none() | role_sets)
def test_an_approval_is_shown_by_workspace_and_role(
    owner: str,
    owner_space: str | None,
    user: str,
    space: str | None,
    roles: list[str],
    rule_roles: list[str] | None,
) -> None:
    memo = {"user_id": owner, "workspace": owner_space}
    pending = {"approvers": {"roles": rule_roles}}
    who = Principal(user_id=user, workspace=space, roles=tuple(roles))
    shown = _may_see(memo, pending, who)
    owns = owner == user and owner_space == space
    assert _is_owner(memo, who) == owns
    if space != owner_space:
        assert not shown  # another workspace never sees it, whatever its roles
    elif owns or rule_roles is None:
        assert shown
    else:
        assert shown == bool(set(rule_roles) & set(roles))
