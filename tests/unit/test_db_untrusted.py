"""The untrusted label: every spelling that can output an untrusted column carries it."""

from __future__ import annotations

import pytest

from agentkit.tools.database.guard import SqlGuard
from tests.integration.db.untrusted_spellings import CLEAN, tainted

DIALECTS = ("postgres", "sqlite")


def guard(dialect: str) -> SqlGuard:
    return SqlGuard(
        dialect, tables=["orders", "messages"], untrusted_columns={"messages": ["body"]}
    )


@pytest.mark.parametrize(("dialect", "sql"), [(d, sql) for d in DIALECTS for sql in tainted(d)])
def test_every_spelling_of_the_untrusted_column_is_labelled(dialect: str, sql: str) -> None:
    assert guard(dialect).check_query(sql).untrusted


@pytest.mark.parametrize(("dialect", "sql"), [(d, sql) for d in DIALECTS for sql in CLEAN])
def test_queries_that_cannot_output_it_are_not(dialect: str, sql: str) -> None:
    assert not guard(dialect).check_query(sql).untrusted
