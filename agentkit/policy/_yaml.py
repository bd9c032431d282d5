"""Safe YAML for policy files: plain data only, with the line of every key.

Refuses what a hostile file could use against the loader: aliases (the "billion
laughs" expansion), tags beyond plain data (``!!python/object``), deep nesting,
duplicate keys (a later key silently winning would hide a rule), and huge files.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.events import AliasEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

MAX_BYTES = 1_000_000
MAX_DEPTH = 32
_PLAIN_TAGS = frozenset(
    f"tag:yaml.org,2002:{name}" for name in ("str", "int", "float", "bool", "null")
)

Path = tuple[str | int, ...]


class YAMLProblem(Exception):
    """A YAML file is unusable; ``line`` is 1-based when known."""

    def __init__(self, message: str, line: int | None = None, key: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.key = key


class _Loader(yaml.SafeLoader):
    """A SafeLoader whose composer refuses aliases and deep nesting."""

    _depth = 0

    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        if self.check_event(AliasEvent):
            raise YAMLProblem(
                "YAML aliases (*name) are not allowed in policy files", line=self._event_line()
            )
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise YAMLProblem(
                    f"nesting deeper than {MAX_DEPTH} levels", line=self._event_line()
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def _event_line(self) -> int:
        event = self.peek_event()  # type: ignore[no-untyped-call]
        return int(event.start_mark.line) + 1


def load_yaml(text: str) -> tuple[Any, dict[Path, int]]:
    """Parse policy YAML into plain data and a map from each key path to its line.

    Raises:
        YAMLProblem: the text is not safe, plain YAML.
    """
    if len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        raise YAMLProblem(f"file is larger than {MAX_BYTES} bytes")
    try:
        loader = _Loader(text)
    except yaml.reader.ReaderError as exc:  # the reader checks every character up front
        raise YAMLProblem(
            f"invalid YAML: unacceptable character #x{exc.character:04x}: {exc.reason}",
            line=text.count("\n", 0, exc.position) + 1,
        ) from exc
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        raise YAMLProblem(f"invalid YAML: {exc.problem or exc}", line=line) from exc
    except yaml.YAMLError as exc:
        raise YAMLProblem(f"invalid YAML: {exc}") from exc
    finally:
        loader.dispose()
    lines: dict[Path, int] = {}
    if node is None:
        return None, lines
    return _convert(node, (), lines, loader), lines


def _convert(node: Node, path: Path, lines: dict[Path, int], loader: _Loader) -> Any:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, MappingNode):
        return _convert_mapping(node, path, lines, loader)
    if isinstance(node, SequenceNode):
        _check_tag(node, "tag:yaml.org,2002:seq", path)
        items = []
        for index, item in enumerate(node.value):
            lines[(*path, index)] = item.start_mark.line + 1
            items.append(_convert(item, (*path, index), lines, loader))
        return items
    if isinstance(node, ScalarNode):
        if node.tag not in _PLAIN_TAGS:
            raise YAMLProblem(
                f"tag {node.tag} is not allowed (plain strings, numbers, booleans and null only)",
                line=node.start_mark.line + 1,
                key=_dotted(path),
            )
        return loader.construct_object(node)
    raise YAMLProblem("unsupported YAML node", line=node.start_mark.line + 1)  # pragma: no cover


def _convert_mapping(
    node: MappingNode, path: Path, lines: dict[Path, int], loader: _Loader
) -> dict[str, Any]:
    _check_tag(node, "tag:yaml.org,2002:map", path)
    result: dict[str, Any] = {}
    for key_node, value_node in node.value:
        line = key_node.start_mark.line + 1
        if not isinstance(key_node, ScalarNode) or key_node.tag != "tag:yaml.org,2002:str":
            raise YAMLProblem(
                f"keys must be plain strings, not {key_node.tag.rsplit(':', 1)[-1]}",
                line=line,
                key=_dotted(path),
            )
        key = str(key_node.value)
        if key == "<<":
            raise YAMLProblem("YAML merge keys (<<) are not allowed", line=line, key=_dotted(path))
        if key in result:
            raise YAMLProblem(
                f"duplicate key {key!r} (first on line {lines[(*path, key)]})",
                line=line,
                key=_dotted((*path, key)),
            )
        lines[(*path, key)] = line
        result[key] = _convert(value_node, (*path, key), lines, loader)
    return result


def _check_tag(node: Node, expected: str, path: Path) -> None:
    if node.tag != expected:
        raise YAMLProblem(
            f"tag {node.tag} is not allowed", line=node.start_mark.line + 1, key=_dotted(path)
        )


def _dotted(path: Path) -> str | None:
    return ".".join(str(p) for p in path) or None
