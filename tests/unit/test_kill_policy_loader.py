"""Reading policy and list files: at most the size cap, whatever the reads return; names no
file can have; and where a bad key deep in a policy is, with a hint when one is close."""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any, ForwardRef

import pytest

from agentkit.errors import PolicyInvalid, PolicyLoadError
from agentkit.policy import Policy, load_policy, loader
from agentkit.policy.spec import ListSpec


class ShortReads:
    """os.read that returns at most `most` bytes a call and counts what it returned."""

    def __init__(self, most: int) -> None:
        self.most = most
        self.returned = 0
        self.real = os.read

    def __call__(self, fd: int, n: int) -> bytes:
        chunk = self.real(fd, min(n, self.most))
        self.returned += len(chunk)
        return chunk


@pytest.fixture
def short_reads(monkeypatch: pytest.MonkeyPatch) -> ShortReads:
    reads = ShortReads(5)
    monkeypatch.setattr(os, "read", reads)
    return reads


def test_a_file_read_in_pieces_is_joined_unchanged(tmp_path: Path, short_reads: ShortReads) -> None:
    path = tmp_path / "f.txt"
    path.write_text("alpha beta\n", encoding="utf-8")
    assert loader.read_bounded(path, limit=11) == "alpha beta\n"


def test_one_byte_over_the_cap_is_refused_when_the_cap_is_reached_in_pieces(
    tmp_path: Path, short_reads: ShortReads
) -> None:
    path = tmp_path / "f.txt"
    path.write_bytes(b"a" * 11)
    with pytest.raises(ValueError) as info:
        loader.read_bounded(path, limit=10)
    assert str(info.value) == "file is larger than 10 bytes"


def test_a_large_file_is_read_no_further_than_one_byte_past_the_cap(
    tmp_path: Path, short_reads: ShortReads
) -> None:
    path = tmp_path / "f.txt"
    path.write_bytes(b"a" * 1000)
    with pytest.raises(ValueError):
        loader.read_bounded(path, limit=10)
    assert short_reads.returned == 11


def test_a_large_file_read_whole_is_read_no_further_than_one_byte_past_the_cap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads = ShortReads(1 << 20)
    monkeypatch.setattr(os, "read", reads)
    path = tmp_path / "f.txt"
    path.write_bytes(b"a" * 1000)
    with pytest.raises(ValueError):
        loader.read_bounded(path, limit=10)
    assert reads.returned == 11


def test_a_file_of_exactly_the_cap_is_read(tmp_path: Path) -> None:
    path = tmp_path / "f.txt"
    path.write_bytes(b"a" * 10)
    assert loader.read_bounded(path, limit=10) == "a" * 10


def test_a_file_is_opened_without_becoming_the_controlling_terminal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    flags: list[int] = []
    real = os.open

    def spy(path: Path, flag: int, *args: int) -> int:
        flags.append(flag)
        return real(path, flag, *args)

    monkeypatch.setattr(os, "open", spy)
    path = tmp_path / "f.txt"
    path.write_text("x", encoding="utf-8")
    loader.read_bounded(path)
    assert flags == [os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY]


def test_a_failing_read_is_reported_with_its_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(fd: int, n: int) -> bytes:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(os, "read", broken)
    path = tmp_path / "p.yaml"
    path.write_text("version: 1\n", encoding="utf-8")
    with pytest.raises(PolicyLoadError) as info:
        load_policy(path)
    err = info.value
    assert (err.path, err.line, err.detail) == (
        str(path),
        None,
        "cannot read the file: Input/output error",
    )


def test_a_directory_is_not_a_policy_file(tmp_path: Path) -> None:
    with pytest.raises(PolicyLoadError) as info:
        load_policy(tmp_path)
    err = info.value
    assert (err.path, err.line, err.detail) == (str(tmp_path), None, "is not a regular file")


def test_a_fifo_as_a_list_file_is_refused_at_the_list_line(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "vals.txt")
    path = tmp_path / "p.yaml"
    path.write_text("version: 1\nlists:\n  l:\n    file: vals.txt\n", encoding="utf-8")
    with pytest.raises(PolicyLoadError) as info:
        loader.resolve_lists(loader.load_files([path]))
    err = info.value
    assert (Path(err.path).name, err.line, err.detail) == (
        "p.yaml",
        4,
        "list 'l': cannot read vals.txt: is not a regular file",
    )


# --- names no file can have, and names that fail to resolve: the exact message -----------------


def load_error(path: str | Path) -> tuple[str, int | None, str]:
    with pytest.raises(PolicyLoadError) as info:
        loader.load_files([path])
    err = info.value
    return (err.path, err.line, err.detail)


def test_a_policy_name_holding_a_nul_is_refused_with_the_nul_escaped() -> None:
    assert load_error("p\0.yaml") == (
        "p\\x00.yaml",
        None,
        "cannot read the file: its name contains a NUL character",
    )


def test_a_policy_name_holding_a_lone_surrogate_is_refused_with_it_escaped() -> None:
    assert load_error("p\udcff.yaml") == (
        "p\\udcff.yaml",
        None,
        "cannot read the file: its name is not valid Unicode",
    )


def test_a_policy_name_holding_a_newline_is_shown_on_one_line(tmp_path: Path) -> None:
    path = tmp_path / "p\n.yaml"
    assert load_error(path) == (
        f"{tmp_path}/p\\x0a.yaml",
        None,
        "cannot read the file: No such file or directory",
    )


def test_a_policy_name_in_a_symlink_loop_is_refused_naming_the_loop(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").symlink_to(tmp_path / "b.yaml")
    (tmp_path / "b.yaml").symlink_to(tmp_path / "a.yaml")
    shown, line, detail = load_error(tmp_path / "a.yaml")
    assert (shown, line) == (str(tmp_path / "a.yaml"), None)
    assert detail.startswith("cannot read the file: ")
    assert "a.yaml" in detail  # the loop, as the OS reports it


@pytest.mark.parametrize(
    ("error", "detail"),
    [
        (PermissionError(errno.EACCES, "Permission denied"), "Permission denied"),
        (OSError("the name cannot be resolved"), "the name cannot be resolved"),
    ],
)
def test_a_policy_name_that_cannot_be_resolved_is_refused_with_the_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error: OSError, detail: str
) -> None:
    def refuse(self: Path, strict: bool = False) -> Path:
        raise error

    monkeypatch.setattr(Path, "resolve", refuse)
    path = tmp_path / "p.yaml"
    assert load_error(path) == (str(path), None, f"cannot read the file: {detail}")


@pytest.mark.parametrize(
    ("extends", "line"),
    [
        ('extends: "base\\0.yaml"', 2),
        ('extends:\n  - "base\\0.yaml"', 3),  # the line of the entry
    ],
)
def test_extends_naming_no_file_can_have_is_refused_at_its_line(extends: str, line: int) -> None:
    with pytest.raises(PolicyLoadError) as info:
        loader.load_text(f"version: 1\n{extends}\n", "p.yaml")
    err = info.value
    assert (err.path, err.line, err.key, err.detail) == (
        "p.yaml",
        line,
        "extends",
        "extends 'base\\x00.yaml': cannot read the file: its name contains a NUL character",
    )


def test_a_merge_of_no_files_has_no_lists() -> None:
    assert loader.resolve_lists(loader.Merged()) == {}


# --- the steps of that walk, on each kind of annotation it meets ------------------------------
# An annotation pydantic has not resolved yet stays a ForwardRef: ToolRule's `sensitive` and
# `side_effect_by` name models defined after it, and stay so until ToolRule is validated on
# its own, so the walk must step over one without failing.


def test_a_step_into_a_model_by_a_part_that_names_no_field_leads_nowhere() -> None:
    assert loader._step(ListSpec, 0) is None
    assert loader._step(ListSpec, "bogus") is None


def test_a_step_through_an_annotation_that_is_not_a_model_leads_nowhere() -> None:
    assert loader._step(ForwardRef("Sensitivity"), 0) is None
    assert loader._step(str, "x") is None


@pytest.mark.parametrize(
    ("annotation", "unwrapped"),
    [
        (bool | ListSpec, ListSpec),  # the model, not the first class of the union
        (ListSpec | None, ListSpec),
        (list[ListSpec] | None, list[ListSpec]),
        (bool | list[str], list[str]),
        (str, str),
    ],
)
def test_an_annotation_unwraps_to_its_model_or_container(annotation: Any, unwrapped: Any) -> None:
    assert loader._unwrap(annotation) == unwrapped


def test_an_unresolved_annotation_unwraps_to_itself() -> None:
    ref = ForwardRef("bool | Sensitivity | list[Sensitivity]")
    assert loader._unwrap(ref) is ref


# --- the walk that finds the known keys for a hint, at every kind of nesting -------------------


def problems_of(body: str) -> dict[str | None, str]:
    with pytest.raises(PolicyInvalid) as info:
        Policy.from_yaml(f"version: 1\n{body}\n")
    return {p.key: p.detail for p in info.value.problems}


@pytest.mark.parametrize(
    ("body", "key", "detail"),
    [
        (
            "rules: [{id: r, when: {any_of: [{a: {maximun: 1}}]}}]",
            "rules.0.when.any_of.0.a.maximun",
            "unknown key 'maximun' in rules.0.when.any_of.0.a (did you mean 'maximum'?)",
        ),
        (
            "rules: [{id: r, unless: {all_of: [{b: {trust: {nowher: deny}}}]}}]",
            "rules.0.unless.all_of.0.b.trust.nowher",
            "unknown key 'nowher' in rules.0.unless.all_of.0.b.trust (did you mean 'nowhere'?)",
        ),
        (
            "rules: [{id: r, when: {any_of: [3]}}]",
            "rules.0.when.any_of.0",
            "rules.0.when.any_of.0: Input should be a valid dictionary or instance of Condition",
        ),
        (
            "tools: {t: {sensitive: [{bogus: x}]}}",
            "tools.t.sensitive.0.bogus",
            "unknown key 'bogus' in tools.t.sensitive.0",
        ),
        (
            "tools: {t: {sensitive: [3]}}",
            "tools.t.sensitive.0",
            "tools.t.sensitive.0: Input should be a valid dictionary or instance of Sensitivity",
        ),
        (
            "tools: {t: {side_effect_by: {bogus: x, arg: a, values: {a: read}}}}",
            "tools.t.side_effect_by.bogus",
            "unknown key 'bogus' in tools.t.side_effect_by",
        ),
    ],
)
def test_a_bad_key_deep_in_a_policy_is_named_with_its_path(
    body: str, key: str, detail: str
) -> None:
    assert problems_of(body)[key] == detail
