"""Every exception agentkit raises, in one tree.

```
AgentkitError                   base; `exit_code` is what the CLI exits with, `run` the failed run
  ConfigError                   a mistake by the developer using agentkit
    MissingAPIKey               XAI_API_KEY is not set (the key itself never appears anywhere)
    UnsupportedParameter        the model rejects a parameter; raised before any request leaves
  ImageInputError               an image given to a run is refused; nothing was sent
  ModelError                    talking to the model failed
    ModelHTTPError              an HTTP status from the API (status_code, body, request_id)
      AuthenticationError       401 / 403
      BadRequest                400 / 422, with xAI's own message
      NotFound                  404
      RateLimited               429 (retry_after seconds when given)
        QuotaExhausted          429 saying credits are used up: never retried
      ServerError               5xx (retry_after seconds when given)
        Overloaded              529: xAI is overloaded (retried with backoff)
    ModelTimeout                connect or read timed out
    ModelConnectionError        the connection failed or dropped (or a stream ended before output)
    StreamInterrupted           a stream broke after output arrived: never restarted (status_code)
    ModelBehaviorError          the model's output is unusable (malformed, bad schema after a retry)
    ResponseFailed              the API answered status failed
    ResponseIncomplete          the answer stopped short (`status: incomplete`; reason)
  ToolError                     a tool could not produce a result
    ToolArgumentsInvalid        arguments are not JSON or break the tool's schema
    ToolFailed                  the tool raised
      SearchFailed              a search backend failed
      MCPServerError            an MCP server crashed, hung, or could not be reached
        MCPToolChanged          the server changed the tool since it was listed
    ToolTimeout                 the tool exceeded its timeout
    UnknownTool                 the model called a tool the agent does not have
  PolicyError                   the policy itself is unusable
    PolicyLoadError             a policy file is malformed (path, line, key)
      PolicyInvalid             every problem of one file in .problems
  CallDenied                    a call was refused (decision)
    ApprovalRefused             an approval does not match its call, was replayed, or was declined
      StaleRunState             a paused state older than the record of its run (also a
                                RunStateError)
  SandboxError                  running code in a container failed (execution, when it ran)
    SandboxUnavailable          the Docker daemon cannot be reached
    SandboxImageMissing         the image is not built (the message says how to build it)
    SandboxTimeout              killed at the wall-clock deadline
    SandboxOOM                  killed for memory
    SandboxFileError            a file transfer was refused (size, count, link, path)
    SandboxBuildError           the image could not be built
  DatabaseError                 a database tool failed
    QueryRefused                the statement is not allowed (reason)
    QueryParamsInvalid          parameters do not fit the statement
    QueryTimeout                the statement timeout cancelled it
  LimitExceeded                 a run hit one of its limits
    MaxTurnsExceeded            the run used its model turns (calls past max_tool_calls are
                                denied, not raised: the calls before them still run)
    BudgetExceeded              the run spent its cost budget
    TooManyToolErrors           the model kept producing invalid calls
  AuditError                    the audit log failed
    AuditWriteFailed            a record could not be written: the run stops (fail closed)
    AuditChainBroken            verification found a broken record (seq, reason)
  RunStateError                 a run cannot be resumed or continued as asked
    RunStateTampered            a stored run or verdict does not carry its seal
```

Third-party exceptions are caught at the seam and re-raised as one of these
with ``raise ... from exc``. No message ever contains an API key.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agentkit.decision import Decision
    from agentkit.sandbox.execution import Execution
    from agentkit.state import RunResult


class AgentkitError(Exception):
    """Base of every agentkit exception."""

    exit_code: int = 1
    run: RunResult | None = None
    """The run's state when a run failed with this error (nothing is lost)."""


class ConfigError(AgentkitError):
    """A usage mistake by the developer using agentkit."""

    exit_code = 2


class MissingAPIKey(ConfigError):
    def __init__(self, variable: str = "XAI_API_KEY") -> None:
        super().__init__(
            f"{variable} is not set: export it, pass api_key=..., or run offline "
            "against the fake xAI server (agentkit run --offline)"
        )
        self.variable = variable


class UnsupportedParameter(ConfigError):
    def __init__(self, model: str, parameter: str) -> None:
        super().__init__(f"model {model!r} does not accept the parameter {parameter!r}")
        self.model = model
        self.parameter = parameter


class ImageInputError(AgentkitError):
    """An image given to a run was refused before anything was sent: its format (read from
    its content), its size, its dimensions, its URL or its `detail`. The message says what
    was wrong and what is accepted."""

    exit_code = 2


class PrivacyBlocked(AgentkitError):
    """The user's message holds a value the policy's ``privacy:`` rules block (a key, a
    card number...): the run ends before anything is sent."""

    exit_code = 3


class ImageInputDenied(ImageInputError):
    """The policy does not let this principal give a run images (``inputs.images``)."""

    exit_code = 3


# --- model -------------------------------------------------------------------------------


class ModelError(AgentkitError):
    """Talking to the model failed.

    `request_id` is agentkit's own `X-Request-Id`, the same on every retry;
    `server_request_id` is the `x-request-id` xAI answered the last attempt with, when it
    answered at all (quote it to xAI support).
    """

    exit_code = 4
    server_request_id: str | None = None

    def __init__(self, message: str, *, request_id: str | None = None, attempts: int = 1) -> None:
        super().__init__(message)
        self.request_id = request_id
        self.attempts = attempts


class ModelHTTPError(ModelError):
    retry_after: float | None = None
    """Seconds the API asked to wait before retrying (``Retry-After``), when it said."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        body: Any = None,
        request_id: str | None = None,
        attempts: int = 1,
    ) -> None:
        super().__init__(message, request_id=request_id, attempts=attempts)
        self.status_code = status_code
        self.body = body


class AuthenticationError(ModelHTTPError):
    pass


class BadRequest(ModelHTTPError):
    pass


class NotFound(ModelHTTPError):
    pass


class RateLimited(ModelHTTPError):
    def __init__(
        self,
        message: str,
        *,
        status_code: int = 429,
        body: Any = None,
        request_id: str | None = None,
        attempts: int = 1,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(
            message, status_code=status_code, body=body, request_id=request_id, attempts=attempts
        )
        self.retry_after = retry_after


class QuotaExhausted(RateLimited):
    pass


class ServerError(ModelHTTPError):
    pass


class Overloaded(ServerError):
    """HTTP 529, or a stream `error` event saying so: xAI is overloaded; retried with backoff."""


class ModelTimeout(ModelError):
    pass


class ModelConnectionError(ModelError):
    pass


class StreamInterrupted(ModelError):
    """A streamed answer broke after some of it had arrived. It is never sent again on its own:
    a restart would bill and generate the answer twice. `status_code` is the status of a
    stream `error` event that broke it, when one did."""

    status_code: int | None = None


class ModelBehaviorError(ModelError):
    pass


class ResponseFailed(ModelError):
    """The API answered with a failed response (`status: failed`, `response.failed`, `error`)."""


class ResponseIncomplete(ModelError):
    """The model stopped before its answer was complete (`status: incomplete`).

    `reason` is xAI's `incomplete_details.reason` (`max_output_tokens`, `max_prompt_tokens`,
    `max_time_limit`, ...) or None when it gave none; `partial_text` is what it had written.
    """

    def __init__(
        self,
        message: str,
        *,
        reason: str | None,
        partial_text: str = "",
        request_id: str | None = None,
    ) -> None:
        super().__init__(message, request_id=request_id)
        self.reason = reason
        self.partial_text = partial_text


# --- tools -------------------------------------------------------------------------------


class ToolError(AgentkitError):
    """A tool could not produce a result."""

    def __init__(self, message: str, *, tool: str | None = None) -> None:
        super().__init__(message)
        self.tool = tool


class ToolArgumentsInvalid(ToolError):
    def __init__(self, message: str, *, tool: str | None = None, field: str | None = None) -> None:
        super().__init__(message, tool=tool)
        self.field = field


class ToolFailed(ToolError):
    pass


class SearchFailed(ToolFailed):
    """A search backend could not answer (HTTP error, timeout, malformed reply)."""


class MCPServerError(ToolFailed):
    """An MCP server crashed, hung past the call's deadline, or could not be reached; the
    server is named in the message."""


class MCPToolChanged(MCPServerError):
    """The server's description of the tool (its schema or hints) changed after the
    toolset listed it: the policy decided on the old one, so the call is not sent."""


class ToolTimeout(ToolError):
    pass


class UnknownTool(ToolError):
    pass


# --- policy and approval -----------------------------------------------------------------


class PolicyError(AgentkitError):
    exit_code = 2


class PolicyLoadError(PolicyError):
    """A policy file is malformed; `str()` reads ``file:line: message``."""

    def __init__(
        self, message: str, *, path: str, line: int | None = None, key: str | None = None
    ) -> None:
        location = f"{path}:{line}" if line is not None else path
        super().__init__(f"{location}: {message}")
        self.path = path
        self.line = line
        self.key = key
        self.detail = message


class PolicyInvalid(PolicyLoadError):
    """A policy file has several problems; ``problems`` lists each, the message shows the first."""

    def __init__(self, problems: list[PolicyLoadError]) -> None:
        first = problems[0]
        super().__init__(first.detail, path=first.path, line=first.line, key=first.key)
        self.problems = tuple(problems)


class CallDenied(AgentkitError):
    exit_code = 3

    def __init__(self, message: str, *, decision: Decision | None = None) -> None:
        super().__init__(message)
        self.decision = decision


class ApprovalRefused(CallDenied):
    pass


# --- sandbox -----------------------------------------------------------------------------


class SandboxError(AgentkitError):
    exit_code = 5
    execution: Execution | None = None
    """What the program did, on a timeout or OOM raised by `Execution.raise_for_status`."""


class SandboxUnavailable(SandboxError):
    pass


class SandboxImageMissing(SandboxError):
    pass


class SandboxTimeout(SandboxError):
    exit_code = 124


class SandboxOOM(SandboxError):
    exit_code = 137


class SandboxFileError(SandboxError):
    pass


class SandboxBuildError(SandboxError):
    """The image could not be built (missing tool, not root, mirror or daemon failure)."""


# --- database ----------------------------------------------------------------------------


class DatabaseError(AgentkitError):
    exit_code = 6


class QueryRefused(DatabaseError):
    exit_code = 3

    def __init__(self, reason: str) -> None:
        super().__init__(f"query refused: {reason}")
        self.reason = reason


class QueryParamsInvalid(DatabaseError):
    """The parameters given do not match the statement's placeholders."""

    exit_code = 2


class QueryTimeout(DatabaseError):
    """The statement ran past the statement timeout and was cancelled."""


# --- limits ------------------------------------------------------------------------------


class LimitExceeded(AgentkitError):
    def __init__(self, message: str, *, limit: str, value: float | int) -> None:
        super().__init__(message)
        self.limit = limit
        self.value = value


class MaxTurnsExceeded(LimitExceeded):
    pass


class BudgetExceeded(LimitExceeded):
    pass


class TooManyToolErrors(LimitExceeded):
    pass


# --- audit -------------------------------------------------------------------------------


class AuditError(AgentkitError):
    exit_code = 1


class AuditWriteFailed(AuditError):
    pass


class AuditChainBroken(AuditError):
    def __init__(self, message: str, *, seq: int | None = None) -> None:
        super().__init__(message)
        self.seq = seq


class RunStateError(AgentkitError):
    exit_code = 2


class RunStateTampered(RunStateError):
    """A stored run, approval or verdict was changed by someone without the seal key."""


class StaleRunState(ApprovalRefused, RunStateError):
    """An authentic run state older than the record of its run (the audit chain, a ledger):
    a rolled-back store, or a copy kept from before an approval was used. Resuming it would
    replay an approval, so it is an ApprovalRefused, and a RunStateError about the state."""


class MediaError(AgentkitError):
    """Generating, fetching or keeping an image or a video failed."""

    exit_code = 4


class ModerationRefused(MediaError):
    """The deployment's moderator refused a media prompt, an input image or an output;
    nothing was sent (or, for an output, nothing was stored or returned)."""

    def __init__(self, stage: str, reason: str) -> None:
        super().__init__(f"the moderator refused the {stage.replace('_', ' ')}: {reason}")
        self.stage = stage
        self.reason = reason


class MediaJobFailed(MediaError):
    """A media job ended failed (its ``error.code`` in `code`) or expired before it was
    fetched (`code` ``expired``)."""

    def __init__(self, request_id: str, status: str, code: str, message: str) -> None:
        super().__init__(f"media job {request_id} {status}: {code}: {message}")
        self.request_id = request_id
        self.status = status
        self.code = code


class MediaDownloadError(MediaError):
    """A generated file could not be fetched, or is not what was announced (its size, its
    content type by content, its checksum)."""
