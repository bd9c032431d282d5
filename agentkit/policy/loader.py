"""Reading policy files: safe YAML, validation with file:line errors, ``extends`` and merging.

Merging, when a later file (or a file over its ``extends`` bases) says something again:

- ``description``, ``default``: the later value replaces the earlier one;
- ``run_limits``, ``approvals``, ``inputs``, ``retrieval``, ``privacy``: merged key by key;
- ``roles``, ``lists``, ``classes``, ``tools``, ``tool_sets``: merged by name; an entry is
  replaced whole;
- ``rules``, ``quotas``, ``sinks``: accumulate; an entry with an existing ``id`` replaces it
  in place, and ``enabled: false`` switches it off.

Each file applies once, at its first appearance, so two policies extending the same
base do not re-apply it.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args, get_origin

from pydantic import BaseModel, ValidationError

from agentkit.errors import PolicyInvalid as PolicyInvalid
from agentkit.errors import PolicyLoadError
from agentkit.policy import dataflow, problems
from agentkit.policy._names import did_you_mean
from agentkit.policy._yaml import MAX_BYTES, YAMLProblem, load_yaml
from agentkit.policy.builtin import builtin_path, is_builtin
from agentkit.policy.compiled import Where
from agentkit.policy.constraints import TrustedList
from agentkit.policy.spec import (
    CONDITION_KEYS,
    ApproverRule,
    ArgConstraint,
    Condition,
    ListSpec,
    PolicyFile,
    Quota,
    Rule,
    Sink,
)
from agentkit.terminal import printable

MAX_EXTENDS_DEPTH = 16


@dataclass(frozen=True)
class _Source:
    path: str
    directory: Path
    lines: dict[tuple[str | int, ...], int]
    spec: PolicyFile

    def line(self, path: Where) -> int | None:
        for end in range(len(path), -1, -1):
            if path[:end] in self.lines:
                return self.lines[path[:end]]
        return None


@dataclass
class Merged:
    """The merged policy and where each entry came from, for error messages."""

    fields: dict[str, Any] = field(default_factory=dict)
    rules: dict[str, Rule] = field(default_factory=dict)
    quotas: dict[str, Quota] = field(default_factory=dict)
    sinks: dict[str, Sink] = field(default_factory=dict)
    approvers: dict[str, ApproverRule] = field(default_factory=dict)
    origin: dict[tuple[str, str], tuple[_Source, Where]] = field(default_factory=dict)
    sources: list[_Source] = field(default_factory=list)

    def apply(self, src: _Source) -> None:
        spec = src.spec
        self.sources.append(src)
        for name in ("description", "default"):
            if getattr(spec, name) is not None:
                self.fields[name] = getattr(spec, name)
                self.origin[(name, "")] = (src, (name,))
        for name in ("run_limits", "approvals", "inputs", "retrieval", "privacy"):
            given = getattr(spec, name)
            if given is not None:
                values = given.model_dump(exclude_unset=True)
                self.fields.setdefault(name, {}).update(values)
                for key in values:
                    self.origin[(name, key)] = (src, (name, key))
        for section in ("roles", "lists", "classes", "tools", "tool_sets"):
            entries: dict[str, Any] = getattr(spec, section)
            self.fields.setdefault(section, {}).update(entries)
            for key in entries:
                self.origin[(section, key)] = (src, (section, key))
        for index, rule in enumerate(spec.rules):
            self.rules[rule.id] = rule
            self.origin[("rules", rule.id)] = (src, ("rules", index))
        for index, quota in enumerate(spec.quotas):
            self.quotas[quota.id] = quota
            self.origin[("quotas", quota.id)] = (src, ("quotas", index))
        for index, sink in enumerate(spec.sinks):
            self.sinks[sink.id] = sink
            self.origin[("sinks", sink.id)] = (src, ("sinks", index))
        for index, entry in enumerate(spec.approvers):
            self.approvers[entry.id] = entry
            self.origin[("approvers", entry.id)] = (src, ("approvers", index))

    def spec(self) -> PolicyFile:
        return PolicyFile(
            version=1,
            **self.fields,
            rules=list(self.rules.values()),
            quotas=list(self.quotas.values()),
            sinks=list(self.sinks.values()),
            approvers=list(self.approvers.values()),
        )

    def set_aside(self, where: Where) -> bool:
        """Empty or remove the entry at `where` (a compile problem's), for `policy check`;
        False when there is nothing there to set aside."""
        section = str(where[0]) if where else ""
        key = where[1] if len(where) > 1 else None
        sections: dict[str, dict[str, Any]] = {
            "rules": self.rules,
            "quotas": self.quotas,
            "sinks": self.sinks,
            "approvers": self.approvers,
        }
        listed = sections.get(section)
        if listed is not None and key in listed:
            del listed[str(key)]
            return True
        entries = self.fields.get(section)
        if isinstance(entries, dict) and key in entries:
            entry = entries[key]
            empty: object
            try:
                empty = type(entry)() if isinstance(entry, BaseModel) else {}
            except ValidationError:
                empty = None  # the model has required fields: nothing empty stands in
            if empty is None or entry == empty:
                del entries[key]
            else:
                entries[key] = empty  # names that refer to it still resolve
            return True
        if section in self.fields:
            del self.fields[section]
            return True
        return False

    def error(self, message: str, where: Where) -> PolicyLoadError:
        """A PolicyLoadError at the file and line that declared ``where``."""
        key = ".".join(str(p) for p in where)
        found = self.origin.get((str(where[0]), str(where[1]) if len(where) > 1 else ""))
        if found is None:
            src = self.sources[-1]
            return PolicyLoadError(message, path=src.path, line=src.line(where), key=key)
        src, prefix = found
        return PolicyLoadError(message, path=src.path, line=src.line(prefix + where[2:]), key=key)


def load_files(paths: Iterable[str | Path]) -> Merged:
    """Load and merge policy files in order (later ones override earlier ones)."""
    merged = Merged()
    applied: set[Path] = set()
    for path in paths:
        shown = str(path) if is_builtin(path) else shown_path(Path(path))
        try:
            target = _locate(path, Path.cwd())
        except _Unreadable as exc:
            raise PolicyLoadError(str(exc), path=shown) from exc
        if target not in applied:
            applied.add(target)
            _expand(_read(target, shown), merged, applied, (target,))
    if not merged.sources:
        raise PolicyLoadError("no policy file given", path="<none>")
    return merged


def load_text(text: str, source: str = "<string>", directory: Path | None = None) -> Merged:
    """Load a policy from text; ``extends`` resolves against ``directory`` (default: cwd)."""
    merged = Merged()
    _expand(_parse(text, source, directory or Path.cwd()), merged, set(), ())
    return merged


def _read(path: Path, shown: str) -> _Source:
    """Read and parse the file at `path`, already resolved; `shown` names it in messages."""
    try:
        text = read_bounded(path)
    except _Unreadable as exc:
        raise PolicyLoadError(str(exc), path=shown) from exc
    return _parse(text, shown, path.parent)


class _Unreadable(ValueError):
    """A policy or list file that cannot be read as text; the message says why."""


def shown_path(path: Path | str) -> str:
    """A path as a message may print it: control characters (a NUL, a newline) escaped."""
    return printable(str(path), one_line=True)


def _check_name(path: Path) -> None:
    """Refuse a name no file can have: a NUL, or a lone surrogate (a YAML escape)."""
    name = str(path)
    if "\0" in name:
        raise _Unreadable("cannot read the file: its name contains a NUL character")
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        raise _Unreadable("cannot read the file: its name is not valid Unicode") from None


def _locate(reference: str | Path, directory: Path) -> Path:
    """The resolved file a policy reference names: ``agentkit:NAME`` (a shipped policy) or
    a path, relative to `directory`."""
    if is_builtin(reference):
        try:
            return resolved(builtin_path(str(reference)))
        except LookupError as exc:
            raise _Unreadable(str(exc)) from None
    return resolved(directory / reference)


def resolved(path: Path) -> Path:
    """`path` made absolute with every symlink followed.

    Raises:
        _Unreadable: the name holds a NUL character, or its symlinks loop or cannot be read.
    """
    _check_name(path)
    try:
        return path.resolve()
    except RuntimeError as exc:  # Python 3.11 raises this for a symlink loop
        raise _Unreadable(f"cannot read the file: {exc}") from None
    except OSError as exc:
        raise _Unreadable(f"cannot read the file: {exc.strerror or exc}") from None


def read_bounded(path: Path, limit: int = MAX_BYTES) -> str:
    """The UTF-8 text of a regular file of at most `limit` bytes, read no further.

    Raises:
        _Unreadable: not a regular file (a device, a FIFO, a directory), larger than the
            limit, not UTF-8, or unreadable.
    """
    _check_name(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except OSError as exc:
        raise _Unreadable(f"cannot read the file: {exc.strerror}") from exc
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise _Unreadable("is not a regular file")
        chunks: list[bytes] = []
        size = 0
        while size <= limit and (chunk := os.read(fd, limit + 1 - size)):
            chunks.append(chunk)
            size += len(chunk)
        data = b"".join(chunks)
    except OSError as exc:
        raise _Unreadable(f"cannot read the file: {exc.strerror}") from exc
    finally:
        os.close(fd)
    if len(data) > limit:
        raise _Unreadable(f"file is larger than {limit} bytes")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _Unreadable(f"file is not UTF-8 text (byte {exc.start})") from None
    return text


def _parse(text: str, display: str, directory: Path) -> _Source:
    try:
        data, lines = load_yaml(text)
    except YAMLProblem as exc:
        raise PolicyLoadError(exc.message, path=display, line=exc.line, key=exc.key) from exc
    if data is None:
        raise PolicyLoadError("the policy is empty; start it with `version: 1`", path=display)
    if not isinstance(data, dict):
        raise PolicyLoadError("a policy must be a mapping of keys", path=display, line=1)
    try:
        spec = PolicyFile.model_validate(data)
    except ValidationError as exc:
        if not problems.collecting():
            raise PolicyInvalid(_problems(exc, display, lines)) from exc
        spec = _salvaged(data, lines, exc, display)
    return _Source(display, directory, lines, spec)


def _salvaged(
    data: dict[str, Any], lines: dict[Any, int], exc: ValidationError, display: str
) -> PolicyFile:
    """The file without its invalid entries, each problem recorded (`policy check`)."""
    shown = lines
    for _ in range(problems.MAX_PASSES):
        problems.record(_problems(exc, display, shown))
        paths = [
            _data_path(e["loc"], shown, keep_last=e["type"] == "missing") for e in exc.errors()
        ]
        pruned = problems.without(data, shown, paths)
        if pruned is None:
            break
        data, shown = pruned
        try:
            return PolicyFile.model_validate(data)
        except ValidationError as again:
            exc = again
    raise PolicyInvalid(problems.recorded())


def _expand(src: _Source, merged: Merged, applied: set[Path], stack: tuple[Path, ...]) -> None:
    bases = src.spec.extends
    for index, base in enumerate([bases] if isinstance(bases, str) else bases or []):
        where: Where = ("extends",) if isinstance(bases, str) else ("extends", index)

        def problem(detail: str, base: str = base, where: Where = where) -> PolicyLoadError:
            return PolicyLoadError(
                f"extends '{shown_path(base)}': {detail}",
                path=src.path,
                line=src.line(where),
                key="extends",
            )

        try:
            target = _locate(base, src.directory)
        except _Unreadable as exc:
            raise problem(str(exc)) from exc
        if target in stack or len(stack) >= MAX_EXTENDS_DEPTH:
            cause = "extends itself in a cycle" if target in stack else "extends too deep"
            raise PolicyLoadError(
                f"{cause}: {base}", path=src.path, line=src.line(where), key="extends"
            )
        if target in applied:
            continue
        applied.add(target)
        try:
            shown = base if is_builtin(base) else shown_path(Path(src.path).parent / base)
            base_src = _read(target, shown)
        except PolicyLoadError as exc:
            if exc.path != shown or exc.line is not None:
                raise
            raise problem(exc.detail) from exc
        _expand(base_src, merged, applied, (*stack, target))
    merged.apply(src)


def _problems(exc: ValidationError, display: str, lines: dict[Any, int]) -> list[PolicyLoadError]:
    problems: dict[tuple[Any, ...], PolicyLoadError] = {}
    for error in exc.errors():
        path = _data_path(error["loc"], lines, keep_last=error["type"] == "missing")
        if path in problems:
            continue  # one message per key: a union reports each of its members
        key = ".".join(str(p) for p in path) or None
        problems[path] = PolicyLoadError(
            _message(error, path), path=display, line=_line(lines, path), key=key
        )
    return sorted(problems.values(), key=lambda p: p.line or 0)


def _data_path(loc: tuple[Any, ...], lines: dict[Any, int], keep_last: bool) -> tuple[Any, ...]:
    """The part of a pydantic location that names keys in the file (not union member tags)."""
    path: tuple[Any, ...] = ()
    for index, part in enumerate(loc):
        if (*path, part) in lines or (keep_last and index == len(loc) - 1):
            path = (*path, part)
    return path


def _line(lines: dict[Any, int], path: tuple[Any, ...]) -> int | None:
    for end in range(len(path), -1, -1):
        if path[:end] in lines:
            return lines[path[:end]]
    return None


def _message(error: Any, loc: tuple[Any, ...]) -> str:
    where = ".".join(str(p) for p in loc) or "policy"
    kind = error["type"]
    if kind == "extra_forbidden":
        known = _fields_at(PolicyFile, loc[:-1])
        return f"unknown key {loc[-1]!r} in {where.rpartition('.')[0] or 'policy'}" + (
            did_you_mean(str(loc[-1]), known)
        )
    if kind == "missing":
        return f"{where}: required key is missing"
    message = f"{where}: {error['msg']}"
    value = error.get("input")
    if kind == "literal_error" and isinstance(value, str):
        options = error.get("ctx", {}).get("expected", "")
        choices = [o.strip(" '") for o in options.replace(" or ", ",").split(",")]
        message += did_you_mean(value, choices)
    if kind == "model_type" and loc and _model_at(PolicyFile, loc[:-1]) is Condition:
        # a key of a condition that is not any_of/all_of/not names an argument, so a
        # misspelt any_of reads as an argument whose constraint is a list
        message += did_you_mean(str(loc[-1]), CONDITION_KEYS)
    return message


def _fields_at(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """Field names of the model found at ``loc`` inside ``model`` (for typo suggestions)."""
    current = _model_at(model, loc)
    if current is None:
        return []
    return [info.alias or name for name, info in current.model_fields.items()]


def _model_at(model: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The model found at ``loc`` inside ``model``, if a model is there."""
    current: Any = model
    for part in loc:
        current = _step(current, part)
        if current is None:
            return None
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _step(annotation: Any, part: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        fields = annotation.model_fields
        info = fields.get(str(part)) or next((f for f in fields.values() if f.alias == part), None)
        if info is None and annotation is Condition:
            return ArgConstraint  # any other key of a condition names an argument
        return _unwrap(info.annotation) if info else None
    origin = get_origin(annotation)
    if origin in (dict, list):
        return _unwrap(get_args(annotation)[-1])
    return None


def _unwrap(annotation: Any) -> Any:
    if get_origin(annotation) in (dict, list):
        return annotation
    for arg in get_args(annotation) or (annotation,):
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg
        if getattr(arg, "__origin__", None) in (dict, list):
            return arg
    return annotation


def resolve_lists(merged: Merged) -> dict[str, TrustedList]:
    """Build each named list from the policy, its file and its environment variable."""
    specs: dict[str, ListSpec] = merged.fields.get("lists", {})
    return {name: _build_list(name, spec, merged) for name, spec in specs.items()}


def _build_list(name: str, spec: ListSpec, merged: Merged) -> TrustedList:
    raw = list(spec.values)
    src = merged.origin[("lists", name)][0]
    if spec.file is not None:
        raw.extend(_list_file(src.directory / spec.file, merged, name))
    if spec.env is not None:
        if spec.env not in os.environ:
            raise merged.error(
                f"list {name!r} reads the environment variable {spec.env}, which is not set",
                ("lists", name, "env"),
            )
        raw.extend(v.strip() for v in os.environ[spec.env].split(",") if v.strip())
    values = set()
    for value in raw:
        entry = value.removeprefix("*.") if spec.normalise == "domain" else value
        try:
            values.add(dataflow.normalise(spec.normalise, entry))
        except dataflow.HostError as exc:
            raise merged.error(f"list {name!r}: {exc}", ("lists", name)) from exc
    return TrustedList(name, spec.normalise, frozenset(values))


def _list_file(path: Path, merged: Merged, name: str) -> list[str]:
    try:
        text = read_bounded(path)
    except _Unreadable as exc:
        raise merged.error(
            f"list {name!r}: cannot read {shown_path(path.name)}: {exc}", ("lists", name, "file")
        ) from exc
    lines = (line.split("#", 1)[0].strip() for line in text.splitlines())
    return [line for line in lines if line]
