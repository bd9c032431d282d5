"""The policies shipped inside the package, named without a path: ``agentkit:baseline``.

``extends: agentkit:baseline`` in a policy file, ``load_policy("agentkit:ops_copilot")``
and ``agentkit policy show baseline`` all read the same files, wherever the package is
installed (a wheel in a virtualenv has no ``policies/`` folder beside the user's code).
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

from agentkit.policy._names import did_you_mean

PREFIX = "agentkit:"
DEFAULT = "default"
"""The policy of an agent given none."""
_NAME = re.compile(r"[a-z][a-z0-9_]*")


def folder() -> Path:
    """The folder of the shipped policy files."""
    return Path(str(resources.files("agentkit") / "policies"))


def names() -> list[str]:
    """The shipped policies, by name."""
    return sorted(path.stem for path in folder().glob("*.yaml"))


def is_builtin(reference: str | Path) -> bool:
    """Whether `reference` names a shipped policy (``agentkit:NAME``) rather than a file."""
    return isinstance(reference, str) and reference.startswith(PREFIX)


def builtin_path(reference: str) -> Path:
    """The file of the shipped policy `reference` names (``agentkit:NAME`` or ``NAME``).

    Raises:
        LookupError: no shipped policy has that name; the message lists those that do.
    """
    name = reference.removeprefix(PREFIX).removesuffix(".yaml")
    shipped = names()
    if _NAME.fullmatch(name) is None or name not in shipped:
        hint = did_you_mean(name, shipped)
        raise LookupError(
            f"no shipped policy is called {name!r}{hint}; shipped: {', '.join(shipped)}"
        )
    return folder() / f"{name}.yaml"
