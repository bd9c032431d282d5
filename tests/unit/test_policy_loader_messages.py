"""What a policy author reads when a file is wrong: the exact message, file, line and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentkit.decision import ToolInfo
from agentkit.errors import PolicyLoadError
from agentkit.policy import Policy, PolicyInvalid, load_policy, loader
from agentkit.policy._yaml import MAX_BYTES, MAX_DEPTH, YAMLProblem, load_yaml


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def failure(path: Path) -> PolicyLoadError:
    with pytest.raises(PolicyLoadError) as info:
        load_policy(path)
    return info.value


def where(err: PolicyLoadError) -> tuple[str, int | None, str | None, str]:
    return (Path(err.path).name, err.line, err.key, err.detail)


# --- unsafe or malformed YAML -----------------------------------------------------------------

YAML_PROBLEMS = [
    # (name, text, line, key, message)
    (
        "alias",
        "version: 1\ndescription: &d x\n\nextends: *d\n",
        4,
        None,
        "YAML aliases (*name) are not allowed in policy files",
    ),
    (
        "nesting",
        "version: 1\n\ndescription: " + "[" * MAX_DEPTH + "]" * MAX_DEPTH + "\n",
        3,
        None,
        f"nesting deeper than {MAX_DEPTH} levels",
    ),
    (
        "not yaml",
        "version: 1\ntools: [\n",
        3,
        None,
        "invalid YAML: expected the node content, but found '<stream end>'",
    ),
    (
        "scalar tag",
        "version: 1\ntools:\n  a:\n    description: !!binary aGk=\n",
        4,
        "tools.a.description",
        "tag tag:yaml.org,2002:binary is not allowed "
        "(plain strings, numbers, booleans and null only)",
    ),
    (
        "python tag",
        "version: 1\ntools:\n  a: !!python/object:os.system {}\n",
        3,
        "tools.a",
        "tag tag:yaml.org,2002:python/object:os.system is not allowed",
    ),
    (
        "sequence tag",
        "version: 1\nextends: !custom [a]\n",
        2,
        "extends",
        "tag !custom is not allowed",
    ),
    ("root tag", "!custom {version: 1}\n", 1, None, "tag !custom is not allowed"),
    (
        "integer key",
        "version: 1\ntools:\n  a: {}\n  7: {}\n",
        4,
        "tools",
        "keys must be plain strings, not int",
    ),
    (
        "merge key",
        "version: 1\ntools:\n  '<<': {}\n",
        3,
        "tools",
        "YAML merge keys (<<) are not allowed",
    ),
    (
        "duplicate key",
        "version: 1\ntools:\n  a: {}\n\n  a: {}\n",
        5,
        "tools.a",
        "duplicate key 'a' (first on line 3)",
    ),
    (
        "control character",
        "version: 1\n\ndescription: \x07\n",
        3,
        None,
        "invalid YAML: unacceptable character #x0007: special characters are not allowed",
    ),
]


@pytest.mark.parametrize(
    ("text", "line", "key", "message"),
    [case[1:] for case in YAML_PROBLEMS],
    ids=[case[0] for case in YAML_PROBLEMS],
)
def test_unsafe_yaml_is_refused_with_file_line_key_and_reason(
    tmp_path: Path, text: str, line: int | None, key: str | None, message: str
) -> None:
    path = write(tmp_path, "p.yaml", text)
    err = failure(path)
    assert where(err) == ("p.yaml", line, key, message)
    assert str(err) == f"{path}:{line}: {message}"


def test_nesting_up_to_the_limit_is_accepted() -> None:
    data, _ = load_yaml("[" * MAX_DEPTH + "]" * MAX_DEPTH)
    for _ in range(MAX_DEPTH - 1):
        data = data[0]
    assert data == []
    with pytest.raises(YAMLProblem, match="nesting deeper"):
        load_yaml("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1))


def test_a_yaml_problem_reads_as_its_message() -> None:
    with pytest.raises(YAMLProblem) as info:
        load_yaml("a:\n  b: !!binary aGk=\n")
    assert str(info.value) == info.value.message
    assert (info.value.line, info.value.key) == (2, "a.b")


def test_size_limit_counts_utf8_bytes_and_accepts_exactly_the_limit() -> None:
    assert load_yaml("a: " + "x" * (MAX_BYTES - 3))[0] == {"a": "x" * (MAX_BYTES - 3)}
    with pytest.raises(YAMLProblem) as info:
        load_yaml("a: " + "\u00e9" * (MAX_BYTES // 2))
    assert (info.value.message, info.value.line) == (f"file is larger than {MAX_BYTES} bytes", None)


def test_lone_surrogates_are_a_yaml_problem_not_a_crash() -> None:
    with pytest.raises(YAMLProblem, match="unacceptable character #xd800"):
        load_yaml("a: '\ud800'\n")


def test_every_key_and_item_has_its_line() -> None:
    data, lines = load_yaml("a:\n  - x\n\n  - {b: 1}\nc: 2\n")
    assert data == {"a": ["x", {"b": 1}], "c": 2}
    assert lines == {(): 1, ("a",): 1, ("a", 0): 2, ("a", 1): 4, ("a", 1, "b"): 4, ("c",): 5}


def test_an_empty_document_has_no_data_and_no_lines() -> None:
    assert load_yaml("# nothing\n") == (None, {})


# --- reading files ----------------------------------------------------------------------------


def test_file_errors_name_the_file_without_a_line(tmp_path: Path) -> None:
    binary = tmp_path / "bin.yaml"
    binary.write_bytes(b"version: 1\ndescription: \xff\n")
    assert where(failure(binary)) == ("bin.yaml", None, None, "file is not UTF-8 text (byte 24)")
    missing = failure(tmp_path / "nowhere.yaml")
    assert where(missing) == (
        "nowhere.yaml",
        None,
        None,
        "cannot read the file: No such file or directory",
    )
    empty = write(tmp_path, "empty.yaml", "# nothing yet\n")
    assert where(failure(empty)) == (
        "empty.yaml",
        None,
        None,
        "the policy is empty; start it with `version: 1`",
    )
    scalar = write(tmp_path, "scalar.yaml", "just text\n")
    assert where(failure(scalar)) == ("scalar.yaml", 1, None, "a policy must be a mapping of keys")


def test_a_file_of_exactly_the_size_limit_loads_and_one_byte_more_does_not(
    tmp_path: Path,
) -> None:
    head = "version: 1\n"
    exact = write(tmp_path, "exact.yaml", head + "#" * (MAX_BYTES - len(head)))
    assert load_policy(exact).sources == (str(exact),)
    over = write(tmp_path, "over.yaml", head + "#" * (MAX_BYTES - len(head) + 1))
    assert where(failure(over)) == (
        "over.yaml",
        None,
        None,
        f"file is larger than {MAX_BYTES} bytes",
    )


def test_no_files_at_all_is_an_error() -> None:
    with pytest.raises(PolicyLoadError) as info:
        load_policy()
    assert (info.value.path, info.value.line, info.value.detail) == (
        "<none>",
        None,
        "no policy file given",
    )


def test_a_policy_from_text_is_named_string_in_errors() -> None:
    with pytest.raises(PolicyLoadError) as info:
        Policy.from_yaml("version: 1\ntols: {}\n")
    assert str(info.value) == "<string>:2: unknown key 'tols' in policy (did you mean 'tools'?)"


# --- validation problems ----------------------------------------------------------------------

INVALID = [
    # (name, text, [(line, key, message)])
    (
        "unknown top key",
        "version: 1\ntols: {}\n",
        [(2, "tols", "unknown key 'tols' in policy (did you mean 'tools'?)")],
    ),
    (
        "unknown nested key",
        "version: 1\ntools:\n  a:\n    args:\n      x: {maxLen: 3}\n",
        [
            (
                5,
                "tools.a.args.x.maxLen",
                "unknown key 'maxLen' in tools.a.args.x (did you mean 'maxLength'?)",
            )
        ],
    ),
    (
        "unknown key without a near name",
        "version: 1\ntools:\n  a:\n    zzzzqqq: 1\n",
        [(4, "tools.a.zzzzqqq", "unknown key 'zzzzqqq' in tools.a")],
    ),
    (
        "unknown key in a rule",
        "version: 1\nrules:\n  - id: r\n    when:\n      x: {maxLenght: 2}\n",
        [
            (
                5,
                "rules.0.when.x.maxLenght",
                "unknown key 'maxLenght' in rules.0.when.x (did you mean 'maxLength'?)",
            )
        ],
    ),
    (
        "unknown key in an optional section",
        "version: 1\ntools:\n  a:\n    args:\n      u: {domains: {alow: [x]}}\n",
        [
            (
                5,
                "tools.a.args.u.domains.alow",
                "unknown key 'alow' in tools.a.args.u.domains (did you mean 'allow'?)",
            )
        ],
    ),
    (
        "missing key",
        "version: 1\nquotas:\n  - id: q\n    max: 3\n",
        [(3, "quotas.0.sum", "quotas.0.sum: required key is missing")],
    ),
    (
        "misspelt first choice",
        "version: 1\ntools:\n  a:\n    action: alow\n",
        [
            (
                4,
                "tools.a.action",
                "tools.a.action: Input should be 'allow', 'deny' or 'confirm' "
                "(did you mean 'allow'?)",
            )
        ],
    ),
    (
        "misspelt last choice",
        "version: 1\ntools:\n  a:\n    action: confrm\n",
        [
            (
                4,
                "tools.a.action",
                "tools.a.action: Input should be 'allow', 'deny' or 'confirm' "
                "(did you mean 'confirm'?)",
            )
        ],
    ),
    (
        "misspelt class",
        "version: 1\nclasses:\n  destructve: {action: deny}\n",
        [
            (
                3,
                "classes.destructve",
                "classes.destructve: Input should be 'read', 'write', 'destructive', "
                "'external_send', 'financial', 'device_control', 'security_settings' or "
                "'media' (did you mean 'destructive'?)",
            )
        ],
    ),
    (
        "a union problem once, then the next problem",
        "version: 1\nextends: 3\ntols: {}\n",
        [
            (2, "extends", "extends: Input should be a valid string"),
            (3, "tols", "unknown key 'tols' in policy (did you mean 'tools'?)"),
        ],
    ),
    (
        "problems sorted by line",
        "version: 1\ntols: {}\nextends: 3\n",
        [
            (2, "tols", "unknown key 'tols' in policy (did you mean 'tools'?)"),
            (3, "extends", "extends: Input should be a valid string"),
        ],
    ),
    (
        "destructive allowed",
        "version: 1\ntools:\n  rm:\n    side_effect: destructive\n    action: allow\n",
        [
            (
                3,
                "tools.rm",
                "tools.rm: Value error, a destructive tool cannot be allowed: use action: confirm "
                "(a destructive call always waits for a person)",
            )
        ],
    ),
]


@pytest.mark.parametrize(
    ("text", "problems"), [case[1:] for case in INVALID], ids=[case[0] for case in INVALID]
)
def test_validation_problems_are_reported_each_once_with_line_and_key(
    text: str, problems: list[tuple[int, str, str]]
) -> None:
    with pytest.raises(PolicyInvalid) as info:
        Policy.from_yaml(text, source="p.yaml")
    assert [(p.line, p.key, p.detail) for p in info.value.problems] == problems
    assert {p.path for p in info.value.problems} == {"p.yaml"}


# --- extends ----------------------------------------------------------------------------------


def test_an_extends_cycle_names_the_file_that_closes_it(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", "version: 1\nextends: b.yaml\n")
    write(tmp_path, "b.yaml", "version: 1\nextends: [ok.yaml, a.yaml]\n")
    write(tmp_path, "ok.yaml", "version: 1\n")
    assert where(failure(tmp_path / "a.yaml")) == (
        "b.yaml",
        2,
        "extends",
        "extends itself in a cycle: a.yaml",
    )


def test_extends_reaches_sixteen_files_deep_and_no_further(tmp_path: Path) -> None:
    for i in range(loader.MAX_EXTENDS_DEPTH):
        write(tmp_path, f"p{i}.yaml", f"version: 1\nextends: p{i + 1}.yaml\n")
    write(tmp_path, f"p{loader.MAX_EXTENDS_DEPTH}.yaml", "version: 1\ndefault: confirm\n")
    deepest = load_policy(tmp_path / "p1.yaml")
    assert len(deepest.sources) == loader.MAX_EXTENDS_DEPTH
    assert where(failure(tmp_path / "p0.yaml")) == (
        f"p{loader.MAX_EXTENDS_DEPTH - 1}.yaml",
        2,
        "extends",
        f"extends too deep: p{loader.MAX_EXTENDS_DEPTH}.yaml",
    )


def test_an_unreadable_base_is_reported_at_the_extends_line(tmp_path: Path) -> None:
    child = write(tmp_path, "child.yaml", "version: 1\nextends:\n  - ok.yaml\n\n  - missing.yaml\n")
    write(tmp_path, "ok.yaml", "version: 1\n")
    assert where(failure(child)) == (
        "child.yaml",
        5,
        "extends",
        "extends 'missing.yaml': cannot read the file: No such file or directory",
    )


def test_a_problem_inside_a_base_is_reported_in_the_base(tmp_path: Path) -> None:
    child = write(tmp_path, "child.yaml", "version: 1\nextends: sub/base.yaml\n")
    write(tmp_path, "sub/base.yaml", "version: 1\n\ntols: {}\n")
    err = failure(child)
    assert isinstance(err, PolicyInvalid)
    assert (err.path, err.line, err.key) == (str(tmp_path / "sub" / "base.yaml"), 3, "tols")


def test_a_base_that_is_empty_is_reported_at_the_extends_line(tmp_path: Path) -> None:
    child = write(tmp_path, "child.yaml", "version: 1\nextends: empty.yaml\n")
    write(tmp_path, "empty.yaml", "")
    assert where(failure(child)) == (
        "child.yaml",
        2,
        "extends",
        "extends 'empty.yaml': the policy is empty; start it with `version: 1`",
    )


# --- errors found after merging ---------------------------------------------------------------


def test_a_compile_error_in_a_rule_points_at_its_line_in_the_file(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "p.yaml",
        "version: 1\nrules:\n  - id: first\n  - id: second\n    when:\n      x: {pattern: '(['}\n",
    )
    err = failure(path)
    assert (err.line, err.key) == (6, "rules.second.when.x")
    assert err.detail.startswith("pattern is not a valid regular expression: ")


def test_a_compile_error_in_a_base_names_the_base_file(tmp_path: Path) -> None:
    write(tmp_path, "base.yaml", "version: 1\nroles: {user: {}}\n\ntools:\n  a: {roles: [usr]}\n")
    child = write(tmp_path, "child.yaml", "version: 1\nextends: base.yaml\ntools: {b: {}}\n")
    assert where(failure(child)) == (
        "base.yaml",
        5,
        "tools.a.roles.0",
        "unknown role 'usr' (did you mean 'user'?)",
    )


def test_an_error_about_an_unrecorded_entry_points_at_the_last_file(tmp_path: Path) -> None:
    base = write(tmp_path, "base.yaml", "version: 1\nrun_limits: {max_turns: 3}\n")
    top = write(tmp_path, "top.yaml", "version: 1\n\nrun_limits:\n  max_turns: 4\n")
    merged = loader.load_files([base, top])
    err = merged.error("too many turns", ("run_limits", "max_turns"))
    assert (err.path, err.line, err.key, err.detail) == (
        str(top),
        4,
        "run_limits.max_turns",
        "too many turns",
    )
    nearest = merged.error("no cost cap", ("run_limits", "max_cost_usd"))
    assert (nearest.path, nearest.line) == (str(top), 3)


def test_the_tool_check_is_applied_when_loading_files(tmp_path: Path) -> None:
    path = write(tmp_path, "p.yaml", "version: 1\ntools:\n  lookup: {action: allow}\n")
    with pytest.raises(PolicyLoadError) as info:
        load_policy(path, tools=[ToolInfo(name="look_up")])
    assert where(info.value) == (
        "p.yaml",
        3,
        "tools.lookup",
        "the policy names the tool 'lookup', which the agent does not have "
        "(did you mean 'look_up'?)",
    )
    assert load_policy(path, tools=[ToolInfo(name="lookup")]).sources == (str(path),)


# --- lists ------------------------------------------------------------------------------------


def lists_of(path: Path) -> dict[str, frozenset[str]]:
    return {n: lst.values for n, lst in loader.resolve_lists(loader.load_files([path])).items()}


def test_a_list_file_drops_comments_and_blank_lines(tmp_path: Path) -> None:
    write(tmp_path, "vals.txt", "# saved\nalpha  # first # really\n\n  beta\n#gamma\n")
    path = write(tmp_path, "p.yaml", "version: 1\nlists:\n  l: {file: vals.txt}\n")
    assert lists_of(path) == {"l": frozenset({"alpha", "beta"})}


def test_a_list_file_of_exactly_the_size_limit_is_read(tmp_path: Path) -> None:
    write(tmp_path, "vals.txt", "a\n" + "#" * (MAX_BYTES - 2))
    path = write(tmp_path, "p.yaml", "version: 1\nlists:\n  l: {file: vals.txt}\n")
    assert lists_of(path) == {"l": frozenset({"a"})}


LIST_PROBLEMS = [
    # (name, list file bytes or None, list entry, line, key, message)
    (
        "missing file",
        None,
        "\n    file: vals.txt",
        4,
        "lists.l.file",
        "list 'l': cannot read vals.txt: cannot read the file: No such file or directory",
    ),
    (
        "file not UTF-8",
        b"\xff\n",
        "\n    file: vals.txt",
        4,
        "lists.l.file",
        "list 'l': cannot read vals.txt: file is not UTF-8 text (byte 0)",
    ),
    (
        "file too large",
        b"a\n" * (MAX_BYTES // 2 + 1),
        "\n    file: vals.txt",
        4,
        "lists.l.file",
        f"list 'l': cannot read vals.txt: file is larger than {MAX_BYTES} bytes",
    ),
    (
        "unset variable",
        None,
        "\n    env: AGENTKIT_TEST_UNSET_LIST",
        4,
        "lists.l.env",
        "list 'l' reads the environment variable AGENTKIT_TEST_UNSET_LIST, which is not set",
    ),
    (
        "bad domain",
        None,
        "\n    normalise: domain\n    values: ['a..b']",
        3,
        "lists.l",
        "list 'l': 'a..b' is not a valid host name",
    ),
    (
        "address at a domain the HTTP client refuses",
        None,
        "\n    normalise: email\n    values: ['ops@\u2603.example']",
        3,
        "lists.l",
        "list 'l': '\u2603.example' is not a host name the HTTP client accepts (IDNA 2008): "
        "Codepoint U+2603 at position 1 of '\u2603' not allowed",
    ),
]


@pytest.mark.parametrize(
    ("content", "entry", "line", "key", "message"),
    [case[1:] for case in LIST_PROBLEMS],
    ids=[case[0] for case in LIST_PROBLEMS],
)
def test_list_problems_point_at_the_list_entry(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    content: bytes | None,
    entry: str,
    line: int,
    key: str,
    message: str,
) -> None:
    monkeypatch.delenv("AGENTKIT_TEST_UNSET_LIST", raising=False)
    if content is not None:
        (tmp_path / "vals.txt").write_bytes(content)
    path = write(tmp_path, "p.yaml", f"version: 1\nlists:\n  l:{entry}\n")
    assert where(failure(path)) == ("p.yaml", line, key, message.format(dir=tmp_path))


def test_nesting_depth_is_counted_along_each_branch() -> None:
    with pytest.raises(YAMLProblem, match="nesting deeper"):
        load_yaml("[[x, " + "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1) + "]]")


def test_the_line_of_a_bad_character_counts_every_line_before_it() -> None:
    with pytest.raises(YAMLProblem) as info:
        load_yaml("\nversion: 1\ndescription: \x07\n")
    assert info.value.line == 3


def test_a_key_with_a_local_tag_is_refused_by_its_tag() -> None:
    with pytest.raises(YAMLProblem) as info:
        load_yaml("version: 1\n!foo k: v\n")
    assert (info.value.message, info.value.line) == ("keys must be plain strings, not !foo", 2)


def test_errors_about_merged_entries_name_the_file_that_declared_them(tmp_path: Path) -> None:
    base = write(tmp_path, "base.yaml", "version: 1\n\ndefault: confirm\ntools:\n  lookup: {}\n")
    mid = write(tmp_path, "mid.yaml", "version: 1\nrun_limits: {max_turns: 3}\n")
    top = write(tmp_path, "top.yaml", "version: 1\n\n\nrun_limits:\n  max_turns: 4\n")
    merged = loader.load_files([base, mid, top])
    default = merged.error("bad default", ("default",))
    assert (default.path, default.line, default.key) == (str(base), 3, "default")
    tool = merged.error("bad tool", ("tools", "lookup"))
    assert (tool.path, tool.line, tool.key) == (str(base), 5, "tools.lookup")
    limits = merged.error("bad limit", ("run_limits", "max_turns"))
    assert (limits.path, limits.line) == (str(top), 5)


def test_each_file_applies_once_and_every_base_is_visited(tmp_path: Path) -> None:
    shared = write(tmp_path, "shared.yaml", "version: 1\n")
    other = write(tmp_path, "other.yaml", "version: 1\ndefault: confirm\n")
    child = write(tmp_path, "child.yaml", "version: 1\nextends: [shared.yaml, other.yaml]\n")
    again = write(tmp_path, "again.yaml", "version: 1\nextends: shared.yaml\n")
    p = load_policy(shared, child, again, child)
    assert p.sources == (str(shared), str(other), str(child), str(again))


def test_a_base_is_named_relative_to_the_file_that_extends_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "child.yaml", "version: 1\nextends: [sub/base.yaml, gone.yaml]\n")
    write(tmp_path, "sub/base.yaml", "version: 1\n")
    err = failure(Path("child.yaml"))
    assert (err.path, err.line, err.detail) == (
        "child.yaml",
        2,
        "extends 'gone.yaml': cannot read the file: No such file or directory",
    )
    write(tmp_path, "sub/base.yaml", "version: 1\ntols: {}\n")
    assert (failure(Path("child.yaml")).path, failure(Path("child.yaml")).line) == (
        "sub/base.yaml",
        2,
    )


def test_text_policies_extend_files_relative_to_their_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path, "base.yaml", "version: 1\ndefault: confirm\n")
    merged = loader.load_text("version: 1\nextends: base.yaml\n", directory=tmp_path)
    assert [src.path for src in merged.sources] == ["base.yaml", "<string>"]
    monkeypatch.chdir(tmp_path)
    assert len(loader.load_text("version: 1\nextends: base.yaml\n").sources) == 2
    with pytest.raises(PolicyLoadError) as info:
        loader.load_text("version: 1\ntols: {}\n")
    assert info.value.path == "<string>"


def test_a_base_two_files_extend_applies_once(tmp_path: Path) -> None:
    base = write(tmp_path, "base.yaml", "version: 1\n")
    one = write(tmp_path, "one.yaml", "version: 1\nextends: base.yaml\n")
    two = write(tmp_path, "two.yaml", "version: 1\nextends: [base.yaml]\n")
    assert load_policy(one, two).sources == (str(base), str(one), str(two))
