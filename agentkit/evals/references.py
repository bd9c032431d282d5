"""``MODULE:ATTR`` references in a dataset: judges, fixtures' setups, scripts."""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

from agentkit.errors import ConfigError


def resolve(reference: str, *, what: str) -> Any:
    """The object `reference` (``MODULE:ATTR``, ATTR may be dotted) names, imported as
    `python -m` would from the working directory.

    Raises:
        ConfigError: the reference is malformed, or its module or attribute is missing.
    """
    module_name, _, attribute = reference.partition(":")
    if not module_name or not attribute:
        raise ConfigError(f"{what}: expected MODULE:ATTR, got {reference!r}")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())  # the modules of the project at hand
    try:
        value: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(f"{what}: cannot import {module_name!r}: {exc}") from exc
    for part in attribute.split("."):
        try:
            value = getattr(value, part)
        except AttributeError:
            raise ConfigError(f"{what}: {module_name!r} has no {attribute!r}") from None
    return value
