"""The media tools in runs, against the fake xAI server over loopback HTTP: a generated
image lands in storage with its provenance and audit entry; a moderator that refuses
stops a prompt before any request leaves; without a moderator the tools refuse; the
policy counts media calls per run and per user; a video job goes pending -> done across
a restart of the polling process, its file verifies, and failed and expired jobs end
typed."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agentkit import Agent
from agentkit.audit import AuditLog, MemorySink
from agentkit.audit.verify import verify_lines
from agentkit.decision import Principal
from agentkit.errors import MediaJobFailed
from agentkit.media import (
    LocalMediaStorage,
    MediaClient,
    ModerationItem,
    PollPlan,
    Verdict,
    VideoJobs,
    VideoJobStore,
    image_tool,
    video_tool,
)
from agentkit.media.moderation import allow_everything
from agentkit.testing import FakeXAI, Script, Turn
from agentkit.testing.fake_media import MediaBehaviour
from agentkit.testing.scripted_client import scripted_client
from agentkit.testing.server import FakeServer, serve_in_thread

ANA = Principal(user_id="ana", roles=("marketing",))
POLICY = """
version: 1
roles:
  marketing: {}
  support: {}
classes:
  media: {action: allow, roles: [marketing]}
tools:
"""
TOOL_RULES = {
    "generate_image": """
  generate_image:
    side_effect: media
    action: allow
    rate_limit: {per_run: 1, per_minute: 2}
    args: {n: {maximum: 3}}
""",
    "generate_video": "  generate_video: {side_effect: media, action: allow}\n",
}


def _image(prompt: str, n: int = 1) -> dict[str, Any]:
    return {"prompt": prompt, "n": n, "aspect_ratio": "1:1", "resolution": "1k"}


def _video(prompt: str, duration: int = 3) -> dict[str, Any]:
    return {"prompt": prompt, "duration": duration, "aspect_ratio": "16:9", "resolution": "480p"}


async def _no_wait(seconds: float) -> None:
    return None


@pytest.fixture
def served() -> Iterator[tuple[FakeXAI, FakeServer]]:
    fake = FakeXAI(None, media=MediaBehaviour(video_polls=3))
    with serve_in_thread(fake) as server:
        yield fake, server


def _media(server: FakeServer) -> MediaClient:
    return MediaClient(api_key="test-key", base_url=server.base_url, sleep=_no_wait)


class Refusals:
    """A moderator that records what it saw and refuses one stage."""

    def __init__(self, refuse: str | None = None) -> None:
        self.seen: list[ModerationItem] = []
        self.refuse = refuse

    def __call__(self, item: ModerationItem) -> Verdict:
        self.seen.append(item)
        if item.stage == self.refuse:
            return Verdict.refuse(f"no {item.stage}s like that")
        return Verdict.allow()


def _studio(
    fake: FakeXAI, tmp_path: Path, tools: list[Any], turns: list[Turn]
) -> tuple[Agent, MemorySink]:
    rules = "".join(TOOL_RULES[t.name] for t in tools)
    (tmp_path / "policy.yaml").write_text(POLICY + rules)
    fake.script = Script(turns)

    class Studio(Agent):
        instructions = "Make images."

    sink = MemorySink()
    agent = Studio(client=scripted_client(fake), policy=str(tmp_path / "policy.yaml"),
                   tools=tools, audit=AuditLog(sink))  # fmt: skip
    return agent, sink


def _file(location: str) -> bytes:
    return Path(location).read_bytes()


def _executed(sink: MemorySink) -> list[dict[str, Any]]:
    records = [json.loads(line) for line in sink.lines]
    return [r["fields"] for r in records if r["event"] in ("call.executed", "call.failed")]


async def test_a_generated_image_is_stored_with_its_provenance_and_audited(
    served: tuple[FakeXAI, FakeServer], tmp_path: Path
) -> None:
    fake, server = served
    moderator, storage = Refusals(), LocalMediaStorage(tmp_path / "media")
    tool = image_tool(moderator=moderator, client=_media(server), storage=storage)
    agent, sink = _studio(fake, tmp_path, [tool], [
        Turn.call("generate_image", _image("a lighthouse at dawn", 2)),
        Turn.text("Here they are."),
    ])  # fmt: skip
    result = await agent.run("two lighthouse images", principal=ANA, run_id="run-1")
    assert result.status == "completed", result.error
    [step] = result.steps
    assert step.error is None
    assert fake.count("/v1/images/generations") == 1
    assert result.totals.tool_cost_usd == pytest.approx(0.04)  # two images at $0.02
    assert result.totals.cost_usd >= result.totals.tool_cost_usd  # the budget covers it
    [executed] = _executed(sink)
    media = executed["metadata"]["media"]
    assert len(media) == 2
    for kept in media:
        data = _file(kept["location"])
        assert hashlib.sha256(data).hexdigest() == kept["sha256"]
        assert data.startswith(b"\x89PNG")
        provenance = kept["provenance"]
        assert (provenance["user_id"], provenance["run_id"]) == ("ana", "run-1")
        assert provenance["label"] == "generated by AI"
        assert provenance["prompt_sha256"] == hashlib.sha256(b"a lighthouse at dawn").hexdigest()
        assert storage.provenance_of(kept["sha256"])[0]["request_id"] == provenance["request_id"]
    stages = [item.stage for item in moderator.seen]
    assert stages == ["prompt", "output", "output"]  # the prompt first, then every image
    assert moderator.seen[0].principal.user_id == "ana"
    assert verify_lines(line + "\n" for line in sink.lines).ok


@pytest.mark.parametrize("stage", ["prompt", "output"])
async def test_a_refusing_moderator_stops_the_call_and_keeps_nothing(
    served: tuple[FakeXAI, FakeServer], tmp_path: Path, stage: str
) -> None:
    fake, server = served
    storage = LocalMediaStorage(tmp_path / "media")
    tool = image_tool(moderator=Refusals(stage), client=_media(server), storage=storage)
    agent, _ = _studio(fake, tmp_path, [tool], [
        Turn.call("generate_image", _image("someone real")), Turn.text("Refused."),
    ])  # fmt: skip
    result = await agent.run("an image", principal=ANA)
    [step] = result.steps
    assert step.error is not None
    assert f"refused the {stage}" in step.error
    assert step.error_type == "ModerationRefused"
    sent = fake.count("/v1/images/generations")
    assert sent == (0 if stage == "prompt" else 1)  # a refused prompt never leaves
    assert not list((tmp_path / "media").rglob("*.png"))  # nothing kept either way


async def test_without_a_moderator_the_media_tools_refuse_and_say_why(
    served: tuple[FakeXAI, FakeServer], tmp_path: Path
) -> None:
    fake, server = served
    tools = [image_tool(moderator=None, client=_media(server)),
             video_tool(moderator=None, client=_media(server))]  # fmt: skip
    agent, _ = _studio(fake, tmp_path, tools, [
        Turn.call("generate_image", _image("a cat")),
        Turn.call("generate_video", _video("a cat")),
        Turn.text("No."),
    ])  # fmt: skip
    result = await agent.run("a cat", principal=ANA)
    assert [s.tool for s in result.steps] == ["generate_image", "generate_video"]
    for step in result.steps:
        assert step.error is not None
        assert "need a moderator, and none is configured" in step.error
    assert fake.count(None) - fake.count("/v1/responses") == 0  # no media request at all


async def test_the_policy_counts_media_calls_per_run_and_per_user(
    served: tuple[FakeXAI, FakeServer], tmp_path: Path
) -> None:
    fake, server = served
    tool = image_tool(moderator=allow_everything, client=_media(server),
                      storage=LocalMediaStorage(tmp_path / "media"))  # fmt: skip
    twice = [Turn.call("generate_image", _image("one")),
             Turn.call("generate_image", _image("two")), Turn.text("done")]  # fmt: skip
    agent, _ = _studio(fake, tmp_path, [tool], twice)
    first = await agent.run("two images", principal=ANA)
    assert [s.status for s in first.steps] == ["ok", "denied"]  # per_run: 1
    decision = first.steps[1].decision
    assert decision is not None
    assert "per run" in decision.reason
    once = [Turn.call("generate_image", _image("three")), Turn.text("done")]
    fake.script = Script(once)
    assert (await agent.run("one more", principal=ANA)).steps[0].status == "ok"
    fake.script = Script(once)
    third = await agent.run("and another", principal=ANA)  # per_minute: 2 for ana
    assert third.steps[0].status == "denied"
    fake.script = Script(once)
    lee = Principal(user_id="lee", roles=("marketing",))
    assert (await agent.run("for lee", principal=lee)).steps[0].status == "ok"
    fake.script = Script([Turn.call("generate_image", _image("x", 4)), Turn.text(".")])
    assert (await agent.run("four", principal=lee)).steps[0].status == "denied"  # n <= 3
    fake.script = Script(once)
    outsider = Principal(user_id="kim", roles=("support",))
    assert (await agent.run("for kim", principal=outsider)).steps[0].status == "denied"
    assert fake.count("/v1/images/generations") == 3


async def test_a_video_run_reports_progress_and_stores_a_verified_file(
    served: tuple[FakeXAI, FakeServer], tmp_path: Path
) -> None:
    fake, server = served
    tool = video_tool(moderator=allow_everything, client=_media(server),
                      storage=LocalMediaStorage(tmp_path / "media"),
                      jobs=VideoJobStore(tmp_path / "jobs.db"),
                      plan=PollPlan(first=0.001, most=0.001))  # fmt: skip
    agent, sink = _studio(fake, tmp_path, [tool], [
        Turn.call("generate_video", _video("waves on rocks", 4)),
        Turn.text("Done."),
    ])  # fmt: skip
    events: list[Any] = []
    result = await agent.run("a video", principal=ANA, events=events.append)
    assert result.status == "completed", result.error
    progress = [e.data for e in events if e.type == "call.progress"]
    assert [p["stage"] for p in progress][-1] == "done"
    values = [p["detail"]["progress"] for p in progress]
    assert values == sorted(values)
    assert values[-1] == 100
    assert len(values) >= 3  # pending, rising, done
    records = [json.loads(line) for line in sink.lines]
    assert sum(r["event"] == "call.progress" for r in records) == len(progress)
    [executed] = _executed(sink)
    [kept] = executed["metadata"]["media"]
    data = _file(kept["location"])
    assert data[4:8] == b"ftyp"
    assert hashlib.sha256(data).hexdigest() == kept["sha256"]
    assert fake.count("/v1/videos/generations") == 1


async def test_a_video_job_goes_on_after_its_polling_process_restarts(
    served: tuple[FakeXAI, FakeServer], tmp_path: Path
) -> None:
    """The first process gives up while the job is pending (as if it died); a new one,
    with a new store on the same file, finds the job by its key and polls it to done
    without starting another."""
    fake, server = served
    storage, path = LocalMediaStorage(tmp_path / "media"), tmp_path / "jobs.db"
    impatient = VideoJobs(_media(server), storage, VideoJobStore(path), allow_everything,
                          plan=PollPlan(first=0.001, timeout=0.0))  # fmt: skip
    with pytest.raises(TimeoutError):
        await impatient.run("run-1:call-1", "generate", "waves", principal=ANA, duration=3)
    [pending] = VideoJobStore(path).pending()
    assert pending.status == "pending"
    later = VideoJobs(_media(server), storage, VideoJobStore(path), allow_everything,
                      plan=PollPlan(first=0.001, most=0.001))  # fmt: skip
    stored = await later.run("run-1:call-1", "generate", "waves", principal=ANA, duration=3)
    assert fake.count("/v1/videos/generations") == 1  # started once, across the restart
    assert hashlib.sha256(_file(stored.location)).hexdigest() == stored.sha256
    again = await later.run("run-1:call-1", "generate", "waves", principal=ANA, duration=3)
    assert again.sha256 == stored.sha256  # done: not fetched or started again
    assert fake.count("/v1/videos/generations") == 1
    assert VideoJobStore(path).pending() == []


@pytest.mark.parametrize(("marker", "status"), [("[fail]", "failed"), ("[expire]", "expired")])
async def test_failed_and_expired_jobs_end_typed_and_are_not_started_again(
    served: tuple[FakeXAI, FakeServer], tmp_path: Path, marker: str, status: str
) -> None:
    fake, server = served
    path = tmp_path / "jobs.db"
    jobs = VideoJobs(_media(server), LocalMediaStorage(tmp_path / "media"), VideoJobStore(path),
                     allow_everything, plan=PollPlan(first=0.001, most=0.001))  # fmt: skip
    with pytest.raises(MediaJobFailed) as ended:
        await jobs.run("k", "generate", f"waves {marker}", principal=ANA)
    assert ended.value.status == status
    assert VideoJobStore(path).get("k").status == status  # type: ignore[union-attr]
    with pytest.raises(MediaJobFailed):
        await jobs.run("k", "generate", f"waves {marker}", principal=ANA)
    assert fake.count("/v1/videos/generations") == 1
    assert not list((tmp_path / "media").rglob("*.mp4"))


async def test_a_429_on_start_is_retried_and_the_job_starts_once(
    served: tuple[FakeXAI, FakeServer], tmp_path: Path
) -> None:
    fake, server = served
    fake.media.rate_limit_next = 2
    jobs = VideoJobs(_media(server), LocalMediaStorage(tmp_path / "media"),
                     VideoJobStore(tmp_path / "jobs.db"), allow_everything,
                     plan=PollPlan(first=0.001, most=0.001))  # fmt: skip
    stored = await jobs.run("k", "generate", "waves", principal=ANA)
    assert stored.media_type == "video/mp4"
    assert fake.count("/v1/videos/generations") == 3  # two 429s, then the one that started it


async def test_an_agent_answers_about_a_png_the_model_saw_as_an_unstored_image_part() -> None:
    import io

    from PIL import Image

    picture = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 30, 30)).save(picture, "PNG")
    fake = FakeXAI(Script([Turn.text("A red rectangle.")]))

    class Viewer(Agent):
        instructions = "Describe images."

    viewer = Viewer(client=scripted_client(fake), audit=None)
    result = await viewer.run("What is this?", images=[picture.getvalue()])
    assert result.output == "A red rectangle."
    [seen] = fake.images_seen
    assert (seen["endpoint"], seen["url_kind"], seen["media_type"]) == (
        "responses", "data", "image/png",
    )  # fmt: skip
    assert seen["store"] is False


def test_the_transcript_names_each_stored_file_and_its_label() -> None:
    from agentkit.state import RunResult, Step
    from agentkit.transcript import Transcript

    kept = {"media_type": "image/png", "location": "media/ab/abc.png", "sha256": "abc",
            "provenance": {"label": "generated by AI", "model": "grok-imagine-image"}}  # fmt: skip
    step = Step(call_id="c1", tool="generate_image", turn=1, raw_arguments="{}",
                status="ok", output="{}", metadata={"media": [kept]})  # fmt: skip
    run = RunResult(run_id="r", agent="a", model="m", principal=ANA, steps=[step])
    text = Transcript(colour=False).render(run)
    assert "media  image/png media/ab/abc.png (generated by AI, grok-imagine-image" in text


@pytest.mark.parametrize("kind", ["image", "video"])
def test_the_media_command_generates_offline_and_stores_with_provenance(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    from agentkit.cli import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("XAI_API_KEY", raising=False)
    extra = ["--duration", "2", "--jobs", str(tmp_path / "jobs.db")] if kind == "video" else []
    code = main(["media", kind, "a lighthouse", "--out", str(tmp_path / "out"), "--user", "ana",
                 "--moderator", "agentkit.media.moderation:allow_everything", *extra])  # fmt: skip
    assert code == 0
    printed = json.loads(capsys.readouterr().out)
    [kept] = printed if kind == "image" else [printed]
    assert kept["provenance"]["user_id"] == "ana"
    assert hashlib.sha256(_file(kept["location"])).hexdigest() == kept["sha256"]
    assert kept["media_type"] == ("image/png" if kind == "image" else "video/mp4")


def test_the_media_command_needs_a_loadable_moderator(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from agentkit.cli import main

    code = main(["media", "image", "x", "--out", str(tmp_path), "--offline",
                 "--moderator", "no_such_module:check"])  # fmt: skip
    assert code == 2
    assert "cannot be loaded" in capsys.readouterr().err
