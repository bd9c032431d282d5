"""Loading policy files: malformed and hostile files, extends and merging, lists, the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agentkit.cli import main
from agentkit.decision import ToolInfo
from agentkit.errors import PolicyLoadError
from agentkit.policy import Policy, PolicyInvalid, load_policy, policy_json_schema_text
from agentkit.testing.decisions import decide
from agentkit.testing.decisions import proposed_call as call

REPO = Path(__file__).resolve().parents[2]

MALFORMED = [
    # (name, text, line, words in the message)
    ("not yaml", "version: 1\ntools: [\n", 3, "invalid YAML"),
    ("top-level list", "- a\n- b\n", 1, "mapping"),
    ("missing version", "tools: {}\n", 1, "version"),
    ("wrong version", "version: 2\n", 1, "version"),
    ("unknown top key", "version: 1\ntols: {}\n", 2, "did you mean 'tools'"),
    ("unknown tool key", "version: 1\ntools:\n  a:\n    actoin: allow\n", 4, "'action'"),
    ("bad action", "version: 1\ntools:\n  a:\n    action: alow\n", 4, "did you mean 'allow'"),
    ("bad class", "version: 1\nclasses:\n  destructve: {action: deny}\n", 3, "'destructive'"),
    ("bad side effect", "version: 1\ntools:\n  a: {side_effect: delete}\n", 3, "side_effect"),
    (
        "unknown arg keyword",
        "version: 1\ntools:\n  a:\n    args:\n      x: {maxLen: 3}\n",
        5,
        "'maxLength'",
    ),
    (
        "bad regex",
        "version: 1\ntools:\n  a:\n    args:\n      x: {pattern: '(['}\n",
        5,
        "regular expression",
    ),
    (
        "unknown role",
        "version: 1\nroles: {support: {}}\ntools:\n  a:\n    roles: [suport]\n",
        5,
        "did you mean 'support'",
    ),
    (
        "unknown list",
        "version: 1\nlists: {payees: {}}\ntools:\n  a:\n    args:\n      x: {in_list: payee}\n",
        6,
        "did you mean 'payees'",
    ),
    (
        "destructive allowed",
        "version: 1\ntools:\n  rm:\n    side_effect: destructive\n    action: allow\n",
        3,
        "a destructive tool cannot be allowed",
    ),
    (
        "destructive class allowed",
        "version: 1\nclasses:\n  destructive:\n    action: allow\n",
        4,
        "destructive",
    ),
    ("duplicate key", "version: 1\ntools:\n  a: {}\n  a: {}\n", 4, "duplicate key 'a'"),
    ("alias bomb", "version: 1\na: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\n", 3, "aliases"),
    (
        "python tag",
        "version: 1\ndescription: !!python/object/apply:os.system [id]\n",
        2,
        "not allowed",
    ),
    ("deep nesting", "version: 1\ndescription: " + "[" * 60 + "]" * 60 + "\n", 2, "nesting"),
    ("negative limit", "version: 1\nrun_limits:\n  max_turns: -1\n", 3, "greater than"),
    ("bad rule id", "version: 1\nrules:\n  - id: 'has space'\n", 3, "pattern"),
    ("wrong type", "version: 1\ntools: yes\n", 2, "dictionary"),
    ("non-string key", "version: 1\ntools:\n  1: {}\n", 3, "keys must be plain strings"),
    ("empty", "", None, "empty"),
    (
        "bad domain",
        "version: 1\ntools:\n  a:\n    args:\n      u: {domains: {allow: ['a..b']}}\n",
        5,
        "not a valid host",
    ),
    (
        "missing env list",
        "version: 1\nlists:\n  l: {env: AGENTKIT_TEST_UNSET_LIST}\n",
        3,
        "AGENTKIT_TEST_UNSET_LIST",
    ),
    ("extends missing", "version: 1\nextends: nowhere.yaml\n", 2, "cannot read"),
]


@pytest.mark.parametrize(
    ("text", "line", "words"), [m[1:] for m in MALFORMED], ids=[m[0] for m in MALFORMED]
)
def test_malformed_policy_is_a_clear_error_with_its_line(
    text: str, line: int | None, words: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AGENTKIT_TEST_UNSET_LIST", raising=False)
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PolicyLoadError) as info:
        load_policy(path)
    err = info.value
    assert err.path == str(path)
    assert err.line == line, str(err)
    assert words in str(err)
    assert str(err).startswith(f"{path}:{line}:" if line else f"{path}: ")


def test_all_problems_of_a_file_are_reported() -> None:
    with pytest.raises(PolicyInvalid) as info:
        Policy.from_yaml("version: 1\ntols: {}\nrules: [{id: x, action: alow}]\n")
    assert [p.line for p in info.value.problems] == [2, 3]


def test_huge_file_is_refused_before_parsing(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    path.write_text("version: 1\n" + "#" * 2_000_000, encoding="utf-8")
    with pytest.raises(PolicyLoadError, match="larger than"):
        load_policy(path)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


BASE = """\
version: 1
default: deny
run_limits: {max_turns: 5, max_tool_calls: 10}
roles: {user: {}}
tools:
  a: {action: allow, args: {x: {maxLength: 1}}}
  b: {action: allow}
rules:
  - {id: r1, tools: [a], when: {x: {const: "z"}}}
  - {id: r2, tools: [b]}
"""


def test_extends_merges_maps_by_key_and_rules_by_id(tmp_path: Path) -> None:
    write(tmp_path, "base.yaml", BASE)
    child = write(
        tmp_path,
        "child.yaml",
        """\
version: 1
extends: base.yaml
run_limits: {max_turns: 9}
tools:
  a: {action: confirm}
rules:
  - {id: r2, enabled: false}
  - {id: r3, tools: [a], when: {x: {const: "q"}}}
""",
    )
    p = load_policy(child)
    assert (p.run_limits.max_turns, p.run_limits.max_tool_calls) == (9, 10)
    assert decide(p, call("a", x="long")).action == "confirm"  # the tool rule replaced whole
    assert decide(p, call("b")).action == "allow"  # r2 switched off
    assert decide(p, call("a", x="q")).rule == "rules.r3"
    assert decide(p, call("a", x="z")).rule == "rules.r1"  # base rules accumulate
    assert p.sources == (str(tmp_path / "base.yaml"), str(child))


def test_later_files_override_earlier_ones(tmp_path: Path) -> None:
    base = write(tmp_path, "base.yaml", BASE)
    local = write(tmp_path, "local.yaml", "version: 1\ndefault: confirm\ntools: {b: {}}\n")
    p = load_policy(base, local)
    assert decide(p, call("b")).action == "deny"
    assert decide(p, call("other")).action == "confirm"


def test_a_base_shared_by_two_files_applies_once(tmp_path: Path) -> None:
    write(tmp_path, "base.yaml", BASE)
    one = write(tmp_path, "one.yaml", "version: 1\nextends: base.yaml\ntools: {b: {}}\n")
    two = write(tmp_path, "two.yaml", "version: 1\nextends: [base.yaml]\n")
    assert decide(load_policy(one, two), call("b")).action == "deny"


def test_extends_cycle_is_an_error(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", "version: 1\nextends: b.yaml\n")
    write(tmp_path, "b.yaml", "version: 1\n\nextends: a.yaml\n")
    with pytest.raises(PolicyLoadError, match="cycle") as info:
        load_policy(tmp_path / "a.yaml")
    assert info.value.line == 3


def test_errors_in_a_base_name_the_base_file(tmp_path: Path) -> None:
    write(tmp_path, "base.yaml", "version: 1\ntools:\n  a: {action: nope}\n")
    child = write(tmp_path, "child.yaml", "version: 1\nextends: base.yaml\n")
    with pytest.raises(PolicyLoadError) as info:
        load_policy(child)
    assert (Path(info.value.path).name, info.value.line) == ("base.yaml", 3)


def test_cross_reference_errors_point_at_the_file_that_declared_the_entry(tmp_path: Path) -> None:
    write(tmp_path, "base.yaml", "version: 1\nroles: {user: {}}\n")
    child = write(
        tmp_path, "child.yaml", "version: 1\nextends: base.yaml\n\ntools:\n  a: {roles: [usr]}\n"
    )
    with pytest.raises(PolicyLoadError, match="did you mean 'user'") as info:
        load_policy(child)
    assert (info.value.path, info.value.line, info.value.key) == (str(child), 5, "tools.a.roles.0")


def test_lists_load_from_file_and_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path, "payees.txt", "# saved payees\nDE89 3704 0044 0532 0130 00\n\n")
    monkeypatch.setenv("AGENTKIT_TEST_PAYEES", "GB29 NWBK 6016 1331 9268 19, ")
    path = write(
        tmp_path,
        "p.yaml",
        """\
version: 1
lists:
  payees: {normalise: iban, file: payees.txt, env: AGENTKIT_TEST_PAYEES, values: [FR76 3000]}
tools:
  pay: {action: allow, args: {iban: {in_list: payees}}}
""",
    )
    p = load_policy(path)
    for iban in ("de89370400440532013000", "GB29NWBK60161331926819", "FR763000"):
        assert decide(p, call("pay", iban=iban)).action == "allow"
    assert decide(p, call("pay", iban="NL91ABNA0417164300")).action == "deny"


def test_check_tools_names_missing_and_misdescribed_tools() -> None:
    p = Policy.from_yaml("version: 1\ntools:\n  close_tiket: {action: confirm}\n")
    with pytest.raises(PolicyLoadError, match="did you mean 'close_ticket'") as info:
        p.check_tools([ToolInfo(name="close_ticket", side_effect="destructive")])
    assert info.value.line == 3
    q = Policy.from_yaml("version: 1\ntools:\n  rm:\n    side_effect: read\n    action: deny\n")
    with pytest.raises(PolicyLoadError, match="agent as destructive") as info:
        q.check_tools([ToolInfo(name="rm", side_effect="destructive")])
    assert info.value.line == 4


def test_check_tools_covers_rules_and_provenance_sources() -> None:
    text = "version: 1\nrules:\n  - id: r\n    after_untrusted: [web_serch]\n"
    with pytest.raises(PolicyLoadError, match="web_serch"):
        Policy.from_yaml(text, tools=[ToolInfo(name="web_search")])


def test_shipped_policies_load() -> None:
    for path in sorted((REPO / "agentkit" / "policies").glob("*.yaml")):
        load_policy(path)


def test_schema_file_is_up_to_date() -> None:
    shipped = (REPO / "agentkit" / "policies" / "policy.schema.json").read_text(encoding="utf-8")
    assert shipped == policy_json_schema_text(), "regenerate: agentkit policy schema > ..."


def test_cli_check_reports_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = write(tmp_path, "good.yaml", "version: 1\n")
    bad = write(tmp_path, "bad.yaml", "version: 1\ntols: {}\nrules: [{id: x, action: alow}]\n")
    assert main(["policy", "check", str(good), str(bad)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith(f"{bad}:2: unknown key 'tols'")
    assert err[1].startswith(f"{bad}:3: ")
    assert main(["policy", "check", str(good)]) == 0


def test_cli_explain_and_schema(capsys: pytest.CaptureFixture[str]) -> None:
    ops = str(REPO / "agentkit" / "policies" / "ops_copilot.yaml")
    args = ["policy", "explain", ops, "--tool", "close_ticket", "--args", '{"ticket_id": 7}']
    assert main([*args, "--role", "operator"]) == 0
    assert capsys.readouterr().out.startswith("confirm  rule=tools.close_ticket")
    assert main(args) == 3  # deny
    assert capsys.readouterr().out.startswith("deny  rule=tools.close_ticket.roles")
    assert main([*args, "--role", "operator", "--after-untrusted"]) == 3  # deny
    assert "rules.close-named-tickets-after-untrusted" in capsys.readouterr().out
    assert main([*args[:-1], "[1]"]) == 2
    assert main(["policy", "schema"]) == 0
    assert json.loads(capsys.readouterr().out)["title"] == "agentkit policy"
