"""Docker's exceptions, caught at the seam and re-raised as agentkit's sandbox errors."""

from __future__ import annotations

from typing import Any

from agentkit.errors import SandboxError, SandboxImageMissing, SandboxUnavailable

BUILD_COMMAND = "agentkit sandbox build"


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
