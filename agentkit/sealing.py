"""Seals under a deployment key: what a stored run or approval says cannot be edited unseen.

A paused run, its approval ids and the verdicts a store records carry an HMAC-SHA256 under
a key that never enters any state. Whoever can edit the stored file but lacks the key can
change nothing a resume acts on: a tampered state is refused with `RunStateTampered`.

The key comes, in order, from ``AGENTKIT_SEAL_KEY`` (hex, at least 32 bytes), from the
file named by ``AGENTKIT_SEAL_KEY_FILE``, or from ``.agentkit/seal.key`` under the working
directory, created (0600, in a 0700 directory) with 32 random bytes when missing. Every
process that resumes the same runs needs the same key.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import threading
from collections.abc import Mapping
from pathlib import Path

from agentkit.errors import ConfigError

KEY_VARIABLE = "AGENTKIT_SEAL_KEY"
KEY_FILE_VARIABLE = "AGENTKIT_SEAL_KEY_FILE"
DEFAULT_KEY_FILE = Path(".agentkit") / "seal.key"
MIN_KEY_BYTES = 32


class Sealer:
    """Makes and checks seals under one key.

    Example:
        >>> sealer = Sealer(bytes(32))
        >>> sealer.check(sealer.seal("run", "r1"), "run", "r1")
        True
    """

    __slots__ = ("_key",)

    def __init__(self, key: bytes) -> None:
        if len(key) < MIN_KEY_BYTES:
            raise ConfigError(f"a seal key needs at least {MIN_KEY_BYTES} bytes")
        self._key = key

    def __repr__(self) -> str:
        return "Sealer(<key>)"

    def seal(self, *parts: str) -> str:
        """The hex HMAC of `parts` (joined by a separator no part can forge)."""
        material = "\x1f".join(p.replace("\\", "\\\\").replace("\x1f", "\\u") for p in parts)
        return hmac.new(self._key, material.encode(), hashlib.sha256).hexdigest()

    def check(self, seal: str | None, *parts: str) -> bool:
        """Whether `seal` is the seal of `parts` (compared in constant time)."""
        return seal is not None and hmac.compare_digest(seal, self.seal(*parts))

    @classmethod
    def from_environment(
        cls, environ: Mapping[str, str] | None = None, *, default_file: Path = DEFAULT_KEY_FILE
    ) -> Sealer:
        """The deployment's sealer: the key from the environment, a key file, or a new file."""
        env = os.environ if environ is None else environ
        if env.get(KEY_VARIABLE):
            return cls(_hex_key(env[KEY_VARIABLE], KEY_VARIABLE))
        if env.get(KEY_FILE_VARIABLE):
            return cls(_read_key_file(Path(env[KEY_FILE_VARIABLE])))
        return cls(_read_or_create(default_file))


_default: Sealer | None = None
_default_lock = threading.Lock()


def default_sealer() -> Sealer:
    """The process's sealer from the environment, made on first use."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Sealer.from_environment()
        return _default


def _hex_key(text: str, source: str) -> bytes:
    try:
        return bytes.fromhex(text.strip())
    except ValueError:
        raise ConfigError(f"{source} must be hex (for example: openssl rand -hex 32)") from None


def _read_key_file(path: Path) -> bytes:
    try:
        if not path.is_file():
            raise ConfigError(f"seal key file {path} is not a regular file")
        return _hex_key(path.read_text(encoding="ascii")[:1024], str(path))
    except OSError as exc:
        raise ConfigError(f"cannot read the seal key file {path}: {exc.strerror}") from exc
    except UnicodeDecodeError:
        raise ConfigError(f"seal key file {path} must hold hex") from None


def _read_or_create(path: Path) -> bytes:
    if path.exists():
        return _read_key_file(path)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first
        return _read_key_file(path)
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(secrets.token_hex(MIN_KEY_BYTES) + "\n")
    return _read_key_file(path)
