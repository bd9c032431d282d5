"""Video jobs that survive a restart: started once, polled with backoff, fetched, checked
and stored.

Each job is kept in SQLite under a key (a tool call's idempotency key, ``<run>:<call>``):
the request id the API gave it, its status and progress, and once it is done where its
file went. A process that dies while a job renders loses nothing: the same call, run
again after a restart, finds the job by its key and polls it instead of starting (and
paying for) another; `VideoJobs.resume` carries on every job still pending.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentkit.decision import Principal
from agentkit.errors import MediaJobFailed
from agentkit.media.moderation import ModerationItem, Moderator, moderate
from agentkit.media.storage import MediaProvenance, MediaStorage, StoredMedia, prompt_digest
from agentkit.media.xai_media import VIDEO_MODEL, MediaClient, VideoAction, VideoStatus

DEFAULT_JOBS_PATH = Path(".agentkit") / "media-jobs.db"
Progress = Callable[[VideoStatus], None]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS video_jobs (
    key TEXT PRIMARY KEY,
    request_id TEXT NOT NULL,
    action TEXT NOT NULL,
    model TEXT NOT NULL,
    prompt_sha256 TEXT NOT NULL,
    user_id TEXT NOT NULL,
    workspace TEXT,
    run_id TEXT,
    status TEXT NOT NULL,
    progress INTEGER NOT NULL DEFAULT 0,
    started_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    sha256 TEXT,
    location TEXT,
    error TEXT,
    media_type TEXT,
    size INTEGER
)
"""


@dataclass(frozen=True)
class VideoJob:
    """A job as the store keeps it."""

    key: str
    request_id: str
    action: str
    model: str
    prompt_sha256: str
    user_id: str
    workspace: str | None
    run_id: str | None
    status: str
    progress: int
    started_at: str
    updated_at: str
    sha256: str | None = None
    location: str | None = None
    error: str | None = None
    media_type: str | None = None
    size: int | None = None

    def stored(self) -> StoredMedia:
        """The file of a job that is done, as storage keeps it."""
        if self.sha256 is None or self.location is None:
            raise MediaJobFailed(self.request_id, self.status, "not_stored", "nothing stored")
        provenance = MediaProvenance(
            "video", self.model, self.prompt_sha256, self.request_id, self.updated_at,
            self.user_id, self.workspace, self.run_id,
        )  # fmt: skip
        return StoredMedia(self.sha256, self.media_type or "video/mp4", self.size or 0,
                           self.location, provenance)  # fmt: skip


class VideoJobStore:
    """Video jobs in a SQLite file (default ``.agentkit/media-jobs.db``)."""

    def __init__(self, path: str | Path = DEFAULT_JOBS_PATH) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(_SCHEMA)
        self._lock = threading.Lock()

    def get(self, key: str) -> VideoJob | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM video_jobs WHERE key = ?", (key,)).fetchone()
        return VideoJob(*row) if row else None

    def pending(self) -> list[VideoJob]:
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM video_jobs WHERE status = 'pending' ORDER BY started_at"
            ).fetchall()
        return [VideoJob(*row) for row in rows]

    def started(self, job: VideoJob) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO video_jobs VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (job.key, job.request_id, job.action, job.model, job.prompt_sha256,
                 job.user_id, job.workspace, job.run_id, job.status, job.progress,
                 job.started_at, job.updated_at, None, None, None, None, None),
            )  # fmt: skip

    def update(self, key: str, status: str, progress: int, **done: str | int | None) -> None:
        fields = {"status": status, "progress": progress, "updated_at": _now(), **done}
        sets = ", ".join(f"{name} = ?" for name in fields)
        with self._lock:
            self._db.execute(f"UPDATE video_jobs SET {sets} WHERE key = ?", (*fields.values(), key))

    def close(self) -> None:
        self._db.close()


@dataclass
class PollPlan:
    """How often to look at a job: `first` seconds, growing by `factor` up to `most`,
    giving up after `timeout` seconds (the job stays pending in the store)."""

    first: float = 1.0
    factor: float = 1.5
    most: float = 10.0
    timeout: float = 600.0


class VideoJobs:
    """Start, follow and store video jobs (one store, one storage, one moderator)."""

    def __init__(
        self,
        client: MediaClient,
        storage: MediaStorage,
        store: VideoJobStore,
        moderator: Moderator,
        *,
        plan: PollPlan | None = None,
        sleep: Callable[[float], Any] = asyncio.sleep,
    ) -> None:
        self.client, self.storage, self.store = client, storage, store
        self.moderator = moderator
        self.plan = plan or PollPlan()
        self._sleep = sleep

    async def run(
        self,
        key: str,
        action: VideoAction,
        prompt: str | None,
        *,
        principal: Principal,
        run_id: str | None = None,
        model: str = VIDEO_MODEL,
        on_progress: Progress | None = None,
        **options: Any,
    ) -> StoredMedia:
        """The job under `key`, started if there is none, followed to its end: its stored
        file (a job done earlier is not fetched again).

        Raises:
            ModerationRefused: the moderator refused the prompt (nothing was sent) or the
                video (nothing was stored).
            MediaJobFailed: the job failed or expired.
            TimeoutError: still pending after the plan's timeout (it stays in the store).
        """
        job = self.store.get(key)
        if job is not None and job.status == "done":
            return job.stored()
        if job is not None and job.status in ("failed", "expired"):
            raise MediaJobFailed(job.request_id, job.status, job.status, job.error or "")
        if job is None:
            item = ModerationItem("prompt", "generate_video", principal, text=prompt or "")
            await moderate(self.moderator, item)
            request_id = await self.client.start_video(action, prompt, model=model, **options)
            now = _now()
            job = VideoJob(key, request_id, action, model, prompt_digest(prompt or ""),
                           principal.user_id, principal.workspace, run_id, "pending", 0,
                           now, now)  # fmt: skip
            self.store.started(job)
        return await self.follow(job, principal, on_progress)

    async def follow(
        self, job: VideoJob, principal: Principal, on_progress: Progress | None = None
    ) -> StoredMedia:
        """Poll `job` to its end, then fetch, check, moderate and store its video."""
        wait, waited, last = self.plan.first, 0.0, None
        while True:
            status = await self.client.video_status(job.request_id)
            if last is None or (status.status, status.progress) != last:
                last = (status.status, status.progress)
                self.store.update(job.key, status.status, status.progress)
                if on_progress is not None:
                    on_progress(status)
            if status.status == "done":
                return await self._keep(job, status, principal)
            if status.status in ("failed", "expired"):
                message = status.error_message or f"the job {status.status}"
                self.store.update(job.key, status.status, status.progress, error=message)
                raise MediaJobFailed(job.request_id, status.status, status.error_code, message)
            if waited >= self.plan.timeout:
                raise TimeoutError(
                    f"video job {job.request_id} still pending after {waited:.0f} s "
                    "(it stays in the store: resume it later)"
                )
            await self._sleep(wait)
            waited += wait
            wait = min(self.plan.most, wait * self.plan.factor)

    async def resume(self, on_progress: Progress | None = None) -> list[StoredMedia]:
        """Carry on every job still pending (after a restart); failed ones are left marked."""
        kept = []
        for job in self.store.pending():
            owner = Principal(user_id=job.user_id, workspace=job.workspace)
            try:
                kept.append(await self.follow(job, owner, on_progress))
            except MediaJobFailed:
                continue
        return kept

    async def _keep(self, job: VideoJob, status: VideoStatus, principal: Principal) -> StoredMedia:
        if not status.url:
            raise MediaJobFailed(job.request_id, "done", "no_video",
                                 "the job is done but gave no video (moderated out?)")  # fmt: skip
        video = await self.client.download(status.url, "video/")
        item = ModerationItem("output", "generate_video", principal, data=video.data,
                              media_type=video.media_type)  # fmt: skip
        await moderate(self.moderator, item)
        provenance = MediaProvenance(
            kind="video",
            model=status.model or job.model,
            prompt_sha256=job.prompt_sha256,
            request_id=job.request_id,
            created_at=_now(),
            user_id=principal.user_id,
            workspace=principal.workspace,
            run_id=job.run_id,
        )
        stored = self.storage.put(video.data, video.media_type, provenance)
        self.store.update(job.key, "done", 100, sha256=stored.sha256, location=stored.location,
                          media_type=stored.media_type, size=stored.size)  # fmt: skip
        return stored


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")
