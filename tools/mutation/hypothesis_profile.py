"""A pytest plugin for mutation runs: Hypothesis derandomised, without its example database, and
with at most MAX_EXAMPLES examples a test.

Every mutant then meets the same examples, so a verdict does not depend on the run. The exact
tests do the killing; the property tests still run, only shorter, so a run over many surviving
mutants stays within minutes.
"""

from __future__ import annotations

from typing import Any

from hypothesis import settings

MAX_EXAMPLES = 25

settings.register_profile(
    "mutation", derandomize=True, database=None, print_blob=False, max_examples=MAX_EXAMPLES
)
settings.load_profile("mutation")


def pytest_collection_modifyitems(items: list[Any]) -> None:
    """Cap a test's own ``@settings(max_examples=...)`` too; it wins over a profile."""
    for item in items:
        test = getattr(getattr(item, "obj", None), "__func__", getattr(item, "obj", None))
        own = getattr(test, "_hypothesis_internal_use_settings", None)
        if isinstance(own, settings) and own.max_examples > MAX_EXAMPLES:
            test._hypothesis_internal_use_settings = settings(own, max_examples=MAX_EXAMPLES)
