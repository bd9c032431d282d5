"""The policy's say over media: who may give a run images (``inputs.images``), checked
before anything is sent, over every combination of roles; and ``media`` as a class."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from agentkit import Agent
from agentkit.decision import Principal
from agentkit.errors import ImageInputDenied, PolicyLoadError
from agentkit.policy import load_policy
from agentkit.testing import FakeXAI, Script, Turn
from agentkit.testing.scripted_client import scripted_client

ROLES = ["support", "agent", "guest"]
BASE = """
version: 1
roles:
  support: {}
  agent: {includes: [support]}
  guest: {}
"""


def _policy(tmp_path: Path, inputs: str) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text(BASE + inputs)
    return path


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8)).save(out, "PNG")
    return out.getvalue()


@pytest.fixture(scope="module")
def policies(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    folder = tmp_path_factory.mktemp("policies")
    made = {}
    for name, inputs in {
        "unset": "",
        "support": "inputs: {images: {roles: [support]}}\n",
        "nobody": "inputs: {images: {allow: false}}\n",
    }.items():
        (folder / name).mkdir()
        made[name] = load_policy(_policy(folder / name, inputs))
    return made


@given(st.sampled_from(["unset", "support", "nobody"]), st.sets(st.sampled_from(ROLES)))
def test_who_may_give_images_follows_the_rule_and_role_inclusion(
    policies: dict[str, object], which: str, roles: set[str]
) -> None:
    policy = policies[which]
    refusal = policy.image_input_refusal(Principal(user_id="u", roles=tuple(roles)))  # type: ignore[attr-defined]
    if which == "unset":
        assert refusal is None
    elif which == "nobody":
        assert refusal is not None
    else:  # support, or agent (which includes it)
        assert (refusal is None) == bool(roles & {"support", "agent"})


def test_an_unknown_role_in_the_rule_is_a_load_error(tmp_path: Path) -> None:
    with pytest.raises(PolicyLoadError, match="unknown role 'suport'"):
        load_policy(_policy(tmp_path, "inputs: {images: {roles: [suport]}}\n"))


async def test_a_denied_principal_is_refused_before_any_request(tmp_path: Path) -> None:
    fake = FakeXAI(Script([Turn.text("fine")]))

    class Viewer(Agent):
        instructions = "Describe images."

    path = _policy(tmp_path, "inputs: {images: {roles: [support]}}\n")
    viewer = Viewer(client=scripted_client(fake), policy=str(path), audit=None)
    with pytest.raises(ImageInputDenied, match=r"inputs\.images\.roles"):
        await viewer.run(
            "look", images=[_png()], principal=Principal(user_id="g", roles=("guest",))
        )
    assert fake.count(None) == 0
    text_only = await viewer.run("no image", principal=Principal(user_id="g", roles=("guest",)))
    assert text_only.output == "fine"  # the rule is about images, not runs
    fake.script = Script([Turn.text("an image")])
    allowed = await viewer.run("look", images=[_png()], principal=Principal(roles=("agent",)))
    assert allowed.output == "an image"


async def test_every_input_image_passes_the_moderator_before_anything_is_sent(
    tmp_path: Path,
) -> None:
    from agentkit.errors import ModerationRefused
    from agentkit.media import ModerationItem, Verdict

    seen: list[ModerationItem] = []

    def moderator(item: ModerationItem) -> Verdict:
        seen.append(item)
        return Verdict.refuse("not this one") if item.text else Verdict.allow()

    fake = FakeXAI(Script([Turn.text("two images")]))

    class Viewer(Agent):
        instructions = "Describe images."

    path = _policy(tmp_path, "inputs: {images: {moderated: true}}\n")
    viewer = Viewer(client=scripted_client(fake), policy=str(path), audit=None,
                    moderator=moderator)  # fmt: skip
    ana = Principal(user_id="ana")
    assert (await viewer.run("look", images=[_png(), _png()], principal=ana)).output
    assert [(i.stage, i.data == _png(), i.principal.user_id) for i in seen] == [
        ("input_image", True, "ana"), ("input_image", True, "ana"),
    ]  # fmt: skip
    sent = fake.count(None)
    with pytest.raises(ModerationRefused, match="not this one"):
        await viewer.run("look", images=["https://images.example/x.png"], principal=ana)
    assert fake.count(None) == sent  # refused before it left

    unmoderated = Viewer(client=scripted_client(fake), policy=str(path), audit=None)
    with pytest.raises(ImageInputDenied, match="moderator"):
        await unmoderated.run("look", images=[_png()], principal=ana)
    assert fake.count(None) == sent
