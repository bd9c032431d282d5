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
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentkit.errors import SandboxBuildError as SandboxBuildError
from agentkit.progress import Reporter
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


def _run(argv: list[str], report: Reporter) -> None:
    """Run `argv`, each output line a detail of the current stage (debootstrap takes about
    a minute; a silent minute looks like a hang)."""
    report.detail("$ " + " ".join(argv))
    proc = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace"
    )
    assert proc.stdout is not None
    tail: deque[str] = deque(maxlen=5)
    with proc.stdout:
        for line in proc.stdout:
            line = line.rstrip()
            if line:
                tail.append(line)
                report.detail(line)
    if proc.wait() != 0:
        raise SandboxBuildError(f"{argv[0]} failed ({proc.returncode}): " + " | ".join(tail))


def make_rootfs(root: Path, mirror: str, report: Reporter) -> None:
    """Debootstrap, trim and prepare the image's root filesystem in ``root``."""
    if shutil.which("debootstrap") is None:
        raise SandboxBuildError("debootstrap is not installed: apt-get install debootstrap")
    if os.geteuid() != 0:
        raise SandboxBuildError("building the image needs root (debootstrap): run it with sudo")
    include = "--include=" + ",".join(PACKAGES)
    report.stage(f"debootstrap {SUITE} from {mirror}")
    _run(["debootstrap", "--variant=minbase", include, SUITE, str(root), mirror], report)
    report.stage("trimming, removing setuid bits, adding the runner")
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


BUILD_STAGES = 3
"""debootstrap, preparing the root filesystem, importing it into Docker."""


def build_image(
    client: Any,
    image: str = DEFAULT_IMAGE,
    *,
    mirror: str | None = None,
    report: Reporter | None = None,
) -> BuildResult:
    """Build ``image`` from the Debian archive; no registry is contacted.

    `report` hears each of the `BUILD_STAGES` stages and debootstrap's output lines
    (default: the ``agentkit.sandbox.build`` logger).

    Example:
        >>> build_image(docker.from_env())  # doctest: +SKIP
    """
    report = report or _LogReporter()
    started = time.monotonic()
    mirror = mirror or debian_mirror()
    with tempfile.TemporaryDirectory(prefix="agentkit-rootfs-", dir="/var/tmp") as tmp:
        root = Path(tmp) / "rootfs"
        make_rootfs(root, mirror, report)
        report.stage(f"importing into Docker as {image}")
        image_id = import_rootfs(client, root, image)
    size = int(client.images.get(image).attrs.get("Size", 0))
    return BuildResult(image, image_id, size, time.monotonic() - started)


class _LogReporter:
    def stage(self, name: str) -> None:
        log.info("sandbox image: %s", name)

    def detail(self, line: str) -> None:
        log.debug("sandbox image: %s", line)


def image_state(client: Any, image: str = DEFAULT_IMAGE) -> str:
    """``"ok"``, ``"missing"`` or ``"stale"`` (built with a different runner)."""
    import docker.errors

    try:
        found = client.images.get(image)
    except docker.errors.ImageNotFound:
        return "missing"
    labels = (found.attrs.get("Config") or {}).get("Labels") or {}
    return "ok" if labels.get(RUNNER_LABEL) == runner_digest() else "stale"
