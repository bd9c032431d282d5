"""The error of a policy that parses but does not compile, and where in the policy it is."""

from __future__ import annotations

Where = tuple[str | int, ...]
"""A logical key path (``("rules", "rule-id", "when", "to")``); the loader maps it to a line."""


class CompileError(ValueError):
    """A policy is well-formed YAML but inconsistent; ``where`` is the logical key path."""

    def __init__(self, message: str, where: Where) -> None:
        super().__init__(message)
        self.message = message
        self.where = where
