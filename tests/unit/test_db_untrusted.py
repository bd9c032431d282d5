"""The untrusted label: every spelling that can output an untrusted column carries it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agentkit.tools.database.guard import SqlGuard

SPELLINGS = json.loads(
    (Path(__file__).resolve().parents[1] / "fixtures" / "untrusted_spellings.json").read_text()
)
CLEAN: list[str] = SPELLINGS["clean"]


def tainted(dialect: str) -> list[str]:
    """Every spelling that can output the untrusted column `body`."""
    return list(SPELLINGS["tainted"][dialect])


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
