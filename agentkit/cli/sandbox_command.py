"""`agentkit sandbox build | run | doctor`: the code sandbox from the command line."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from agentkit.errors import AgentkitError, ConfigError


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add the `sandbox` command group."""
    parser = subparsers.add_parser("sandbox", help="the Docker sandbox for model-written code")
    commands = parser.add_subparsers(dest="sandbox_command", required=True, metavar="ACTION")

    build = commands.add_parser("build", help="build the sandbox image locally (no registry)")
    build.add_argument("--image", default=None, help="image name (default agentkit-sandbox:latest)")
    build.add_argument("--mirror", default=None, help="Debian mirror (default: the host's apt's)")
    build.add_argument("--if-missing", action="store_true", help="only when missing or stale")
    build.add_argument(
        "--verbose", action="store_true", help="off a terminal, print every debootstrap line"
    )
    build.set_defaults(handler=_build)

    run = commands.add_parser("run", help="run Python in the sandbox; exits with its code")
    source = run.add_mutually_exclusive_group(required=True)
    source.add_argument("-c", dest="code", help="program text")
    source.add_argument("--file", help="program file ('-' for stdin)")
    run.add_argument("--timeout", type=float, default=None, help="wall-clock seconds")
    run.add_argument("--memory", type=int, default=None, help="memory limit in MB")
    run.set_defaults(handler=_run)

    doctor = commands.add_parser("doctor", help="report the daemon, image, runtime and limits")
    doctor.set_defaults(handler=_doctor)


def _build(args: argparse.Namespace) -> int:
    from agentkit.sandbox.build import build_image, image_state
    from agentkit.sandbox.config import DEFAULT_IMAGE
    from agentkit.sandbox.docker_sandbox import connect

    client = connect()
    image = args.image or DEFAULT_IMAGE
    if args.if_missing and image_state(client, image) == "ok":
        print(f"{image}: present and current")
        return 0
    from agentkit.progress import progress
    from agentkit.sandbox.build import BUILD_STAGES

    with progress(f"building {image}", total=BUILD_STAGES, verbose=args.verbose) as report:
        result = build_image(client, image, mirror=args.mirror, report=report)
    size_mb = result.size_bytes / 1e6
    print(
        f"built {result.image} ({result.image_id[:19]}): {size_mb:.0f} MB in {result.seconds:.0f} s"
    )
    return 0


def _read_program(args: argparse.Namespace) -> str:
    if args.code is not None:
        return str(args.code)
    if args.file == "-":
        return sys.stdin.read()
    try:
        with open(args.file, encoding="utf-8") as handle:
            return handle.read()
    except OSError as exc:
        raise ConfigError(f"cannot read {args.file}: {exc.strerror}") from exc


def _run(args: argparse.Namespace) -> int:
    from agentkit.sandbox.config import make_config
    from agentkit.sandbox.docker_sandbox import DockerSandbox

    code = _read_program(args)
    config = make_config(timeout=args.timeout, memory_mb=args.memory)

    async def once() -> Any:
        async with DockerSandbox(config=config, pool_size=0) as sandbox:
            return await sandbox.execute(code)

    result = asyncio.run(once())
    sys.stdout.write(result.stdout)
    sys.stderr.write(result.stderr)
    if result.truncated:
        print("agentkit: output truncated at the sandbox's cap; program killed", file=sys.stderr)
    if result.timed_out:
        print(f"agentkit: timed out after {config.timeout:g} s; killed", file=sys.stderr)
        return 124
    if result.oom_killed:
        print(f"agentkit: killed for memory (limit {config.memory_mb} MB)", file=sys.stderr)
        return 137
    if result.error:
        print(f"agentkit: {result.error}", file=sys.stderr)
    return result.exit_code if result.exit_code is not None else 1


def _doctor(args: argparse.Namespace) -> int:
    from agentkit.sandbox.build import image_state
    from agentkit.sandbox.config import SandboxConfig
    from agentkit.sandbox.docker_sandbox import connect
    from agentkit.sandbox.hardening import container_kwargs

    config = SandboxConfig()
    try:
        client = connect()
    except AgentkitError as exc:
        print(f"daemon:  UNREACHABLE ({exc})")
        return exc.exit_code
    info = client.info()
    print(f"daemon:  ok (Docker {info.get('ServerVersion')}, cgroup v{info.get('CgroupVersion')})")
    state = image_state(client, config.image)
    hint = "" if state == "ok" else "  -> run `agentkit sandbox build`"
    print(f"image:   {config.image}: {state}{hint}")
    runtimes = ", ".join(sorted(info.get("Runtimes") or {}))
    print(f"runtime: {config.runtime or info.get('DefaultRuntime')} (installed: {runtimes})")
    print("limits:")
    for key, value in container_kwargs(config, {}).items():
        if key not in ("image", "command", "labels", "detach", "stdin_open"):
            print(f"  {key} = {value}")
    print(f"  timeout = {config.timeout:g} s, output cap = {config.output_cap_bytes} B/stream")
    return 0 if state == "ok" else 1
