"""A pytest plugin for mutation runs: Hypothesis derandomised and without its example database.

Every mutant then meets the same examples, so a verdict does not depend on the run.
"""

from __future__ import annotations

from hypothesis import settings

settings.register_profile("mutation", derandomize=True, database=None, print_blob=False)
settings.load_profile("mutation")
