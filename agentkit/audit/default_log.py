"""The audit log of an agent given none: one per process, in ``.agentkit/audit/``.

Every agent of a process that was not given an audit recorder shares it, so their records
form one chain. A second process finding the file locked (two writers would fork the
chain) writes ``audit-<pid>.jsonl`` beside it instead; ``agentkit audit verify`` checks
each file. ``AGENTKIT_AUDIT_DIR`` moves the folder; ``audit=None`` turns the log off.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

from agentkit.audit.chain import AuditLog
from agentkit.audit.sinks import JsonlSink
from agentkit.errors import AuditWriteFailed

FOLDER_VARIABLE = "AGENTKIT_AUDIT_DIR"
DEFAULT_FOLDER = Path(".agentkit") / "audit"
FILE_NAME = "audit.jsonl"

logger = logging.getLogger(__name__)
_logs: dict[tuple[Path, int], AuditLog] = {}
_lock = threading.Lock()


def default_folder() -> Path:
    """Where the default log goes: ``$AGENTKIT_AUDIT_DIR``, else ``.agentkit/audit``."""
    return Path(os.environ.get(FOLDER_VARIABLE) or DEFAULT_FOLDER)


def default_audit_log() -> AuditLog:
    """This process's default log, opened (and announced once) on first use.

    Raises:
        AuditWriteFailed: the folder or the file cannot be created or opened.
    """
    folder = default_folder().absolute()
    key = (folder, os.getpid())  # a forked child opens its own
    with _lock:
        log = _logs.get(key)
        if log is None:
            log = _logs[key] = AuditLog(_open_sink(folder))
            logger.warning(
                "agentkit: writing the audit log to %s (audit=None turns it off; %s moves it)",
                log.sink.path if isinstance(log.sink, JsonlSink) else folder,
                FOLDER_VARIABLE,
            )
    return log


def _open_sink(folder: Path) -> JsonlSink:
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise AuditWriteFailed(f"cannot create the audit folder {folder}: {exc}") from exc
    try:
        return JsonlSink(folder / FILE_NAME)
    except AuditWriteFailed:
        if not (folder / FILE_NAME).exists():
            raise
        # another process holds it: a file of this process's own keeps both chains whole
        return JsonlSink(folder / f"audit-{os.getpid()}.jsonl")
