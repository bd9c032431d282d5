"""Docker's exceptions (and its absence), caught at the seam and re-raised as sandbox errors."""

from __future__ import annotations

from typing import Any

from agentkit.errors import SandboxError, SandboxImageMissing, SandboxUnavailable

BUILD_COMMAND = "agentkit sandbox build"
INSTALL_COMMAND = "pip install 'agentkit[sandbox]'"


def import_docker() -> Any:
    """The docker package, imported on first use.

    Raises:
        SandboxUnavailable: docker is not installed (the message says how to install it).
    """
    try:
        import docker
    except ImportError as exc:
        raise SandboxUnavailable(
            f"the sandbox needs the docker package, which is not installed: {INSTALL_COMMAND}"
        ) from exc
    return docker


def image_missing(image: str) -> SandboxImageMissing:
    """The error for an image that is not built, naming the command that builds it."""
    return SandboxImageMissing(
        f"the sandbox image {image!r} is not built: run `{BUILD_COMMAND}` "
        "(builds locally from the Debian archive, no registry needed)"
    )


def translate(exc: BaseException, *, image: str) -> SandboxError:
    """A typed sandbox error for an exception raised by docker-py or its transport."""
    import docker.errors
    import requests.exceptions

    if isinstance(exc, SandboxError):
        return exc
    if isinstance(exc, docker.errors.ImageNotFound):
        return image_missing(image)
    if isinstance(exc, requests.exceptions.ConnectionError | ConnectionError | FileNotFoundError):
        return SandboxUnavailable(f"the Docker daemon cannot be reached: {exc}")
    if isinstance(exc, docker.errors.APIError):
        return SandboxError(f"Docker refused the request: {_explain(exc)}")
    if isinstance(exc, docker.errors.DockerException):
        return SandboxUnavailable(f"the Docker daemon cannot be reached: {exc}")
    return SandboxError(f"the sandbox failed: {exc!r}")


def _explain(exc: Any) -> str:
    explanation = getattr(exc, "explanation", None)
    return str(explanation or exc)
