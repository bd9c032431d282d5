"""The in-container runner: one request in on stdin, framed results out on stdout.

Copied into the image at ``/opt/agentkit/runner.py`` and started (by the warm pool)
before any code is known. It blocks on stdin until the host sends one request,
runs the program once as a child process, forwards its output, reports how it
ended, hands back the requested files, and exits. Standard library only: it runs
on the image's Python, not the host's.

Request (host -> runner): one JSON header line ``{"code": n, "files": m, "fetch":
[...], "max_file_bytes": b, "max_fetch_bytes": t}``, then ``n`` bytes of code and an
``m``-byte tar of input files.

Frames (runner -> host): a type byte, a 4-byte big-endian length, the payload.
``o``/``e`` are the program's stdout/stderr, ``x`` is the JSON exit report, ``f`` is
the tar of fetched files. The host treats every frame as untrusted: the program
runs as the same user and could forge them, which only changes its own result.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import selectors
import signal
import struct
import subprocess
import sys
import tarfile
from typing import Any

WORK = "/work"
MAIN = "/tmp/agentkit_main.py"
HEADER_LIMIT = 1 << 16
FRAME = struct.Struct(">cI")
CHUNK = 1 << 16
CHILD_ENV = {
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "HOME": WORK,
    "LANG": "C.UTF-8",
    "PYTHONPATH": WORK,
    "PYTHONUNBUFFERED": "1",
    "PYTHONDONTWRITEBYTECODE": "1",
}
_OOM_FILES = ("/sys/fs/cgroup/memory.events", "/sys/fs/cgroup/memory/memory.oom_control")


def encode_frame(kind: bytes, payload: bytes) -> bytes:
    """One frame: type byte, big-endian length, payload."""
    return FRAME.pack(kind, len(payload)) + payload


def _write(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _read_exact(stream: Any, size: int) -> bytes:
    data = stream.read(size)
    if len(data) != size:
        raise ValueError(f"request truncated: wanted {size} bytes, got {len(data)}")
    return bytes(data)


def read_request(stream: Any) -> tuple[dict[str, Any], bytes, bytes]:
    """The header, the code and the input tar from the host."""
    line = stream.readline(HEADER_LIMIT)
    if not line.endswith(b"\n"):
        raise ValueError("request header missing or too long")
    header: dict[str, Any] = json.loads(line)
    code = _read_exact(stream, int(header["code"]))
    files = _read_exact(stream, int(header["files"]))
    return header, code, files


def oom_kills() -> int:
    """The memory cgroup's OOM-kill counter (v2 or v1), or -1 when unreadable."""
    for path in _OOM_FILES:
        try:
            with open(path) as handle:
                for line in handle:
                    key, _, value = line.partition(" ")
                    if key == "oom_kill":
                        return int(value)
        except OSError:
            continue
    return -1


def extract_inputs(data: bytes) -> None:
    """Unpack the host's tar of regular files into the work directory."""
    if not data:
        return
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        for member in archive.getmembers():
            if not member.isfile() or member.name.startswith("/") or ".." in member.name:
                raise ValueError(f"refused input member {member.name!r}")
            target = os.path.join(WORK, member.name)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            source = archive.extractfile(member)
            assert source is not None
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
            with os.fdopen(os.open(target, flags, 0o644), "wb") as out:
                out.write(source.read())


def forward(child: subprocess.Popen[bytes]) -> None:
    """Copy the child's stdout and stderr into frames until both close."""
    selector = selectors.DefaultSelector()
    assert child.stdout is not None
    assert child.stderr is not None
    selector.register(child.stdout, selectors.EVENT_READ, b"o")
    selector.register(child.stderr, selectors.EVENT_READ, b"e")
    reaped = False
    while selector.get_map():
        for key, _ in selector.select(timeout=0.05):
            data = os.read(key.fd, CHUNK)
            if data:
                _write(1, encode_frame(key.data, data))
            else:
                selector.unregister(key.fileobj)
        if not reaped and child.poll() is not None:
            # The program is over; anything it left running could hold the pipes open.
            _kill_everything_else()
            reaped = True


def _refusal(name: str, limit: int) -> str | None:
    if name.startswith("/") or ".." in name.split("/"):
        return "absolute paths and '..' are refused"
    path = os.path.join(WORK, name)
    try:
        info = os.lstat(path)
    except OSError:
        return "no such file"
    if os.path.realpath(path) != os.path.join(os.path.realpath(WORK), name):
        return "the path goes through a link (links are refused)"
    if not os.path.isfile(path) or os.path.islink(path):
        return "not a regular file (links are refused)"
    if info.st_size > limit:
        return f"larger than {limit} bytes"
    return None


def collect_outputs(
    names: list[str], max_file: int, max_total: int
) -> tuple[bytes, dict[str, str]]:
    """A tar of the requested regular files, and a reason for each one refused."""
    buffer, refused, total = io.BytesIO(), {}, 0
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name in names:
            reason = _refusal(name, max_file)
            if reason is None:
                fd = os.open(os.path.join(WORK, name), os.O_RDONLY | os.O_NOFOLLOW)
                with os.fdopen(fd, "rb") as handle:
                    data = handle.read(max_file + 1)
                if total + len(data) > max_total:
                    reason = f"fetched files exceed {max_total} bytes in total"
                else:
                    total += len(data)
                    member = tarfile.TarInfo(name)
                    member.size = len(data)
                    archive.addfile(member, io.BytesIO(data))
            if reason is not None:
                refused[name] = reason
    return buffer.getvalue(), refused


# The child interpreter starts with the container, before any code is known, and waits
# for one byte on a pipe: its ~18 ms of start-up is then off the execution's path. Once
# told to go, it runs MAIN as `python3 MAIN` would (argv, sys.path[0], __main__).
BOOT = """\
import os, sys
go = int(sys.argv[1])
if os.read(go, 1) != b"1":
    raise SystemExit(0)
os.close(go)
sys.argv = [sys.argv[2]]
sys.path[0] = os.path.dirname(sys.argv[0])
with open(sys.argv[0], "rb") as handle:
    source = handle.read()
namespace = {"__name__": "__main__", "__file__": sys.argv[0], "__builtins__": __builtins__}
del go, handle
try:
    exec(compile(source, sys.argv[0], "exec"), namespace)
except SystemExit:
    raise
except BaseException as error:  # as `python3 MAIN` reports it: without this frame
    import traceback
    traceback.print_exception(type(error), error, error.__traceback__.tb_next)
    raise SystemExit(1) from None
"""


def prespawn() -> tuple[subprocess.Popen[bytes], int]:
    """Start the program's interpreter now; it waits for the byte written to the returned fd."""
    wait_end, go_end = os.pipe()
    child = subprocess.Popen(
        [sys.executable, "-c", BOOT, str(wait_end), MAIN],
        cwd=WORK,
        env=CHILD_ENV,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        pass_fds=(wait_end,),
    )
    os.close(wait_end)
    return child, go_end


def run(code: bytes, child: subprocess.Popen[bytes], go: int) -> dict[str, Any]:
    """Run the program once; kill whatever it left behind; report how it ended."""
    with open(MAIN, "wb") as handle:
        handle.write(code)
    before = oom_kills()
    os.write(go, b"1")
    os.close(go)
    forward(child)
    status = child.wait()
    _kill_everything_else()
    after = oom_kills()
    return {"exit_code": status, "oom": after > before >= 0}


def _kill_everything_else() -> None:
    """Kill every process left in the container but init and the runner itself."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(-1, signal.SIGKILL)


def main() -> int:
    """Serve one request; the container is discarded afterwards."""
    child, go = prespawn()
    try:
        header, code, files = read_request(sys.stdin.buffer)
        extract_inputs(files)
    except (ValueError, OSError, tarfile.TarError, KeyError) as exc:
        os.close(go)  # the waiting interpreter reads end-of-file and exits
        _write(1, encode_frame(b"x", json.dumps({"error": str(exc)}).encode()))
        return 2
    report = run(code, child, go)
    tar, refused = collect_outputs(
        list(header.get("fetch", [])), int(header["max_file_bytes"]), int(header["max_fetch_bytes"])
    )
    report["refused"] = refused
    _write(1, encode_frame(b"f", tar))
    _write(1, encode_frame(b"x", json.dumps(report).encode()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
