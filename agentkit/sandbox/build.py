"""Build the sandbox image locally, with no container registry.

``debootstrap --variant=minbase`` lays down a minimal Debian bookworm with Python
from the Debian mirror the host's apt already uses; the tree is trimmed, the
runner is added, and the tree is streamed into ``docker import``. Needs root and
``debootstrap`` (``apt-get install debootstrap``).
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentkit.errors import SandboxBuildError as SandboxBuildError
from agentkit.sandbox.config import DEFAULT_IMAGE

log = logging.getLogger(__name__)

SUITE = "bookworm"
PACKAGES = ("python3-minimal", "python3")
RUNNER_PATH = "/opt/agentkit/runner.py"
RUNNER_LABEL = "agentkit.sandbox.runner"
_TRIM = (
    "usr/share/doc",
    "usr/share/man",
    "usr/share/info",
    "usr/share/locale",
    "usr/share/lintian",
    "var/cache/apt",
    "var/cache/debconf",
    "var/lib/apt/lists",
    "var/log",
)


@dataclass(frozen=True, slots=True)
class BuildResult:
    """What one build produced."""

    image: str
    image_id: str
    size_bytes: int
    seconds: float


def runner_source() -> bytes:
    """The in-container runner, as shipped in this package."""
    return (Path(__file__).with_name("container_runner.py")).read_bytes()


def runner_digest() -> str:
    """A short digest of the runner: the image is stale when its label differs."""
    return hashlib.sha256(runner_source()).hexdigest()[:16]


def debian_mirror(sources_dir: str = "/etc/apt/sources.list.d", sources_list: str = "") -> str:
    """The Debian mirror the host's apt uses for the main suite.

    Raises:
        SandboxBuildError: when no configured source serves ``bookworm``.
    """
    paths = sorted(Path(sources_dir).glob("*.sources")) + sorted(Path(sources_dir).glob("*.list"))
    paths.append(Path(sources_list or "/etc/apt/sources.list"))
    for path in paths:
        try:
            text = path.read_text()
        except OSError:
            continue
        found = _mirror_in(text, deb822=path.suffix == ".sources")
        if found:
            return found
    raise SandboxBuildError(f"no apt source for Debian {SUITE} found in {sources_dir}")


def _mirror_in(text: str, *, deb822: bool) -> str | None:
    if deb822:
        for stanza in re.split(r"\n\s*\n", text):
            fields = dict(re.findall(r"^(\w[\w-]*):\s*(.*)$", stanza, flags=re.M))
            if (
                fields.get("Types", "").split()[:1] == ["deb"]
                and SUITE in fields.get("Suites", "").split()
            ):
                return str(fields.get("URIs", "").split()[0])
        return None
    for line in text.splitlines():
        parts = re.sub(r"\[[^]]*\]", "", line).split()
        if len(parts) >= 3 and parts[0] == "deb" and parts[2] == SUITE:
            return parts[1]
    return None


def _run(argv: list[str], say: Callable[[str], None]) -> None:
    say("$ " + " ".join(argv))
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
        raise SandboxBuildError(f"{argv[0]} failed ({proc.returncode}): " + " | ".join(tail))


def make_rootfs(root: Path, mirror: str, say: Callable[[str], None]) -> None:
    """Debootstrap, trim and prepare the image's root filesystem in ``root``."""
    if shutil.which("debootstrap") is None:
        raise SandboxBuildError("debootstrap is not installed: apt-get install debootstrap")
    if os.geteuid() != 0:
        raise SandboxBuildError("building the image needs root (debootstrap): run it with sudo")
    include = "--include=" + ",".join(PACKAGES)
    _run(["debootstrap", "--variant=minbase", include, SUITE, str(root), mirror], say)
    for rel in _TRIM:
        shutil.rmtree(root / rel, ignore_errors=True)
    _strip_setuid(root)
    runner = root / RUNNER_PATH.lstrip("/")
    runner.parent.mkdir(parents=True, exist_ok=True)
    runner.write_bytes(runner_source())
    runner.chmod(0o644)
    (root / "work").mkdir(mode=0o755, exist_ok=True)


def _strip_setuid(root: Path) -> None:
    """No setuid or setgid binaries in the image (no-new-privileges is the second line)."""
    for dirpath, _, names in os.walk(root):
        for name in names:
            path = os.path.join(dirpath, name)
            mode = os.lstat(path).st_mode
            if mode & 0o6000 and not os.path.islink(path):
                os.chmod(path, mode & 0o1777)


def import_rootfs(client: Any, root: Path, image: str) -> str:
    """Stream ``root`` as a tar into ``docker import``; return the image id."""
    repository, _, tag = image.partition(":")
    changes = [
        "USER 65534",
        "WORKDIR /work",
        f"LABEL {RUNNER_LABEL}={runner_digest()}",
        f'CMD ["python3", "-I", "-S", "{RUNNER_PATH}"]',
    ]
    tar = subprocess.Popen(
        ["tar", "-C", str(root), "--numeric-owner", "-c", "."], stdout=subprocess.PIPE
    )
    assert tar.stdout is not None
    try:
        client.api.import_image_from_stream(
            tar.stdout, repository=repository, tag=tag or "latest", changes=changes
        )
    finally:
        tar.stdout.close()
        tar.wait()
    return str(client.images.get(image).id)


def build_image(
    client: Any,
    image: str = DEFAULT_IMAGE,
    *,
    mirror: str | None = None,
    say: Callable[[str], None] = log.info,
) -> BuildResult:
    """Build ``image`` from the Debian archive; no registry is contacted.

    Example:
        >>> build_image(docker.from_env())  # doctest: +SKIP
    """
    started = time.monotonic()
    mirror = mirror or debian_mirror()
    say(f"building {image} from {mirror} ({SUITE}, {', '.join(PACKAGES)})")
    with tempfile.TemporaryDirectory(prefix="agentkit-rootfs-", dir="/var/tmp") as tmp:
        root = Path(tmp) / "rootfs"
        make_rootfs(root, mirror, say)
        image_id = import_rootfs(client, root, image)
    size = int(client.images.get(image).attrs.get("Size", 0))
    return BuildResult(image, image_id, size, time.monotonic() - started)


def image_state(client: Any, image: str = DEFAULT_IMAGE) -> str:
    """``"ok"``, ``"missing"`` or ``"stale"`` (built with a different runner)."""
    import docker.errors

    try:
        found = client.images.get(image)
    except docker.errors.ImageNotFound:
        return "missing"
    labels = (found.attrs.get("Config") or {}).get("Labels") or {}
    return "ok" if labels.get(RUNNER_LABEL) == runner_digest() else "stale"
