"""Tools: Python callables the model may ask to run, with a strict JSON Schema derived once.

```python
@tool
async def lookup_ticket(ticket_id: int) -> dict[str, str]:
    '''Look up a support ticket.

    Args:
        ticket_id: The ticket's number.
    '''
```

The schema comes from the type hints and the docstring (via pydantic) and is made
strict: every property required, no additional properties. Arguments the model sends
are validated against that schema before anything else sees them.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar, overload

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from agentkit.decision import SIDE_EFFECTS, SideEffect, ToolInfo, ToolOverrides
from agentkit.errors import ConfigError, ToolArgumentsInvalid
from agentkit.json_schema import strict_schema
from agentkit.output_paths import OutputPathError, OutputTrust

if TYPE_CHECKING:
    import jsonschema

DEFAULT_TOOL_TIMEOUT = 30.0
_MAX_REPORTED = 5
_NAME_RE = re.compile(r"^[a-zA-Z0-9_-]{1,64}(\.[a-zA-Z0-9_-]{1,64})?$")
NAME_PART = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
"""One part of a tool's name: an MCP server's name, or one of its tools'."""
"""A tool's name; ``server.tool`` for a tool of an MCP server (the policy names it so)."""


def wire_name(name: str) -> str:
    """The name the model sees and calls: a dot becomes ``__`` (function names on the wire
    are letters, digits, ``_`` and ``-``)."""
    return name.replace(".", "__")


F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True, slots=True)
class ToolOutput:
    """What a tool may return instead of a plain value, to label or annotate its output.

    `content` is text, or a structure (a dict, a list, a pydantic model): the model reads
    a structure as JSON text, and the runner keeps it beside the text as plain JSON, so a
    policy can trust or take values from its fields one by one.
    """

    content: Any
    untrusted: bool | None = None
    """Overrides the tool's default label for this output."""
    citations: tuple[str, ...] = ()
    truncated: bool = False
    metadata: Mapping[str, Any] = field(default_factory=dict)
    """Kept on the step and in the call's audit record; a positive ``cost_usd`` in it is
    added to the run's cost (and so counts against its budget)."""


@dataclass(frozen=True, slots=True)
class _ToolSpec:
    """What `@tool(...)` records on a function before it is bound into a Tool."""

    name: str | None
    description: str | None
    side_effect: SideEffect
    untrusted_output: bool
    timeout: float


_SPEC_ATTR = "__agentkit_tool__"


class Tool:
    """A callable with a strict JSON Schema, a side-effect class and a timeout."""

    __slots__ = (
        "_accepts",
        "_args_model",
        "_validator",
        "always_untrusted",
        "class_from_hints",
        "description",
        "facts",
        "fn",
        "info",
        "is_async",
        "name",
        "output_trust",
        "parameters",
        "side_effect",
        "timeout",
        "untrusted_output",
    )

    def __init__(
        self,
        fn: Callable[..., Any],
        *,
        name: str | None = None,
        description: str | None = None,
        side_effect: SideEffect = "read",
        untrusted_output: bool = False,
        timeout: float = DEFAULT_TOOL_TIMEOUT,
        parameters: dict[str, Any] | None = None,
        facts: Mapping[str, Any] | None = None,
    ) -> None:
        self.fn = fn
        self.facts: dict[str, Any] = dict(facts or {})
        """Settings worth an audit record at the start of every run (e.g. sandbox overrides)."""
        self.name = name or fn.__name__
        if not _NAME_RE.match(self.name):
            raise ConfigError(f"tool name {self.name!r} must match {_NAME_RE.pattern}")
        if side_effect not in SIDE_EFFECTS:
            raise ConfigError(f"tool {self.name!r}: side_effect must be one of {SIDE_EFFECTS}")
        if timeout <= 0:
            raise ConfigError(f"tool {self.name!r}: timeout must be positive")
        summary, arg_docs = parse_docstring(inspect.getdoc(fn) or "")
        self.description = description or summary or self.name
        self.side_effect: SideEffect = side_effect
        self.class_from_hints = False
        """The side-effect class is a default read from the tool's own description (an MCP
        server's annotations): a class the policy declares replaces it."""
        self.untrusted_output = untrusted_output
        self.always_untrusted = False
        """Every output is untrusted, even one the tool labels trusted (an authoriser's mark)."""
        self.output_trust = OutputTrust()
        """Fields of structured outputs an authoriser declares trusted or untrusted."""
        self.timeout = timeout
        self.is_async = inspect.iscoroutinefunction(fn)
        self._args_model = _arguments_model(fn, self.name, arg_docs)
        self._accepts = tuple(self._args_model.model_fields)
        self.parameters = parameters or strict_schema(self._args_model.model_json_schema())
        import jsonschema  # deferred: `import agentkit` stays light; tools are built later

        self._validator = jsonschema.Draft202012Validator(self.parameters)
        self.info = ToolInfo(
            name=self.name,
            side_effect=side_effect,
            untrusted_output=untrusted_output,
            parameters=self.parameters,
        )

    @property
    def destructive(self) -> bool:
        return self.side_effect == "destructive"

    def __repr__(self) -> str:
        return f"Tool({self.name!r}, side_effect={self.side_effect!r})"

    def wire(self) -> dict[str, Any]:
        """The tool as a Responses-API function tool entry."""
        return {
            "type": "function",
            "name": wire_name(self.name),
            "description": self.description,
            "parameters": self.parameters,
            "strict": True,
        }

    def validate(self, arguments: Any) -> dict[str, Any]:
        """Check parsed arguments against the strict schema; return them as Python values.

        Raises:
            ToolArgumentsInvalid: naming the first offending field.
        """
        self._check_schema(arguments)
        try:
            model = self._args_model.model_validate(arguments)
        except ValidationError as exc:  # an explicit schema the signature disagrees with
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"])
            raise ToolArgumentsInvalid(
                f"invalid arguments for {self.name}: {where or 'arguments'}: {first['msg']}",
                tool=self.name,
                field=where or None,
            ) from None
        return {name: getattr(model, name) for name in self._accepts}

    def _check_schema(self, arguments: Any) -> None:
        """Raise `ToolArgumentsInvalid` naming the first offending fields, if any."""
        errors = sorted(self._validator.iter_errors(arguments), key=_relevance)
        if errors:
            problems = "; ".join(
                f"{_error_field(e) or 'arguments'}: {e.message}" for e in errors[:_MAX_REPORTED]
            )
            raise ToolArgumentsInvalid(
                f"invalid arguments for {self.name}: {problems}",
                tool=self.name,
                field=_error_field(errors[0]),
            )

    async def invoke(self, arguments: Mapping[str, Any]) -> Any:
        """Run the tool body with validated arguments (no timeout here: the runner owns it)."""
        if self.is_async:
            return await self.fn(**arguments)
        return await asyncio.to_thread(self.fn, **arguments)

    def bind(self, instance: object) -> Tool:
        """A copy whose function is bound to `instance` (for @tool on Agent methods)."""
        bound = self._copy()
        bound.fn = self.fn.__get__(instance, type(instance))
        return bound

    # --- what an authoriser adds -----------------------------------------------------------

    def with_overrides(self, overrides: ToolOverrides) -> Tool:
        """This tool with what an authoriser adds to it; `self` when it adds nothing.

        The result is never less guarded than `self`: ``untrusted_output`` marks every
        output untrusted (a tool cannot take the mark off one output), ``untrusted_columns``
        go to the database guard of a tool that returns rows, and an output holding one of
        the ``untrusted_fields`` is untrusted. ``trusted_fields`` frame nothing as trusted:
        they only say which fields the authoriser may take values from.

        Raises:
            ConfigError: the overrides' side-effect class differs from the tool's, they
                name untrusted columns for a tool that cannot honour them, or a field path
                is malformed.
        """
        tool = self
        if overrides.side_effect is not None and overrides.side_effect != self.side_effect:
            if not self.class_from_hints:
                raise ConfigError(
                    f"tool {self.name!r}: the policy declares it {overrides.side_effect}, "
                    f"the tool is {self.side_effect}"
                )
            tool = self._copy()
            tool.side_effect = overrides.side_effect
            tool.class_from_hints = False
            tool.info = self.info.model_copy(
                update={"side_effect": overrides.side_effect, "class_from_hints": False}
            )
        if overrides.untrusted_columns:
            tool = tool.with_untrusted_columns(overrides.untrusted_columns)
        if overrides.trusted_fields or overrides.untrusted_fields:
            tool = tool.with_output_trust(overrides.trusted_fields, overrides.untrusted_fields)
        return tool.marked_untrusted() if overrides.untrusted_output else tool

    def with_output_trust(self, trusted: Iterable[str], untrusted: Iterable[str]) -> Tool:
        """A copy whose structured outputs have these fields trusted and untrusted.

        Raises:
            ConfigError: a path is malformed.
        """
        try:
            trust = OutputTrust(tuple(trusted), tuple(untrusted))
        except OutputPathError as exc:
            raise ConfigError(f"tool {self.name!r}: {exc}") from None
        if trust == self.output_trust:
            return self
        labelled = self._copy()
        labelled.output_trust = trust
        fields = {"trusted_fields": list(trust.trusted), "untrusted_fields": list(trust.untrusted)}
        labelled.facts = {**self.facts, **{k: v for k, v in fields.items() if v}}
        return labelled

    def with_untrusted_columns(self, columns: Iterable[str]) -> Tool:
        """This tool with further database columns untrusted; only database tools can.

        Raises:
            ConfigError: always, here: this tool returns no database rows.
        """
        raise ConfigError(
            f"tool {self.name!r}: the policy sets tools.{self.name}.untrusted_columns "
            f"({', '.join(columns)}), but {self.name} returns no database rows, so nothing "
            "could honour them; only the database tools (query_db, execute_db) can"
        )

    def marked_untrusted(self) -> Tool:
        """A copy whose every output is untrusted; `self` when it already is."""
        if self.always_untrusted:
            return self
        marked = self._copy()
        marked.untrusted_output = True
        marked.always_untrusted = True
        marked.info = self.info.model_copy(update={"untrusted_output": True})
        marked.facts = {**self.facts, "untrusted_output": True}
        return marked

    def _copy(self) -> Tool:
        copied = object.__new__(type(self))
        for cls in type(self).__mro__:
            for slot in getattr(cls, "__slots__", ()):
                object.__setattr__(copied, slot, getattr(self, slot))
        return copied


@overload
def tool(fn: F, /) -> F: ...


@overload
def tool(
    *,
    name: str | None = None,
    description: str | None = None,
    side_effect: SideEffect | None = None,
    destructive: bool = False,
    untrusted_output: bool = False,
    timeout: float = DEFAULT_TOOL_TIMEOUT,
) -> Callable[[F], F]: ...


def tool(
    fn: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    side_effect: SideEffect | None = None,
    destructive: bool = False,
    untrusted_output: bool = False,
    timeout: float = DEFAULT_TOOL_TIMEOUT,
) -> Any:
    """Mark a function or an `Agent` method as a tool.

    Args:
        name: Name shown to the model (default: the function's name).
        description: Default: the docstring's first paragraph.
        side_effect: read, write, destructive, external_send, financial, device_control or
            security_settings (destructive, device_control and security_settings calls
            are always confirmed by a person).
        destructive: Shorthand for ``side_effect="destructive"``: always confirmed by a person.
        untrusted_output: The output comes from outside (web, messages): data, never instructions.
        timeout: Seconds before the call is abandoned and reported as timed out.
    """
    if destructive and side_effect not in (None, "destructive"):
        raise ConfigError("destructive=True contradicts side_effect=" + repr(side_effect))
    effect: SideEffect = "destructive" if destructive else (side_effect or "read")
    spec = _ToolSpec(name, description, effect, untrusted_output, timeout)

    def mark(func: F) -> F:
        setattr(func, _SPEC_ATTR, spec)
        return func

    return mark(fn) if fn is not None else mark


def tool_spec(obj: object) -> _ToolSpec | None:
    """The `@tool` marking on a function, if any."""
    return getattr(obj, _SPEC_ATTR, None)


def as_tool(obj: Tool | Callable[..., Any]) -> Tool:
    """A Tool from a Tool or from a function (marked with @tool or not)."""
    if isinstance(obj, Tool):
        return obj
    spec = tool_spec(obj) or _ToolSpec(None, None, "read", False, DEFAULT_TOOL_TIMEOUT)
    return Tool(
        obj,
        name=spec.name,
        description=spec.description,
        side_effect=spec.side_effect,
        untrusted_output=spec.untrusted_output,
        timeout=spec.timeout,
    )


# --- schema -------------------------------------------------------------------------------


def _arguments_model(
    fn: Callable[..., Any], tool_name: str, arg_docs: Mapping[str, str]
) -> type[BaseModel]:
    signature = inspect.signature(fn)
    try:
        hints = inspect.get_annotations(fn, eval_str=True)
    except NameError as exc:
        raise ConfigError(f"tool {tool_name!r}: cannot resolve a type hint: {exc}") from exc
    fields: dict[str, Any] = {}
    for param in signature.parameters.values():
        if param.name in ("self", "cls"):
            continue
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            raise ConfigError(f"tool {tool_name!r}: *args and **kwargs cannot be described")
        if param.name not in hints:
            raise ConfigError(f"tool {tool_name!r}: parameter {param.name!r} needs a type hint")
        default = ... if param.default is param.empty else param.default
        fields[param.name] = (
            hints[param.name],
            Field(default, description=arg_docs.get(param.name)),
        )
    model_name = "".join(part.title() for part in tool_name.split("_")) + "Arguments"
    return create_model(model_name, __config__=ConfigDict(extra="forbid"), **fields)


def parse_docstring(doc: str) -> tuple[str, dict[str, str]]:
    """Split a Google-style docstring into its summary paragraph and its `Args:` entries."""
    summary_lines: list[str] = []
    for line in doc.splitlines():
        if not line.strip():
            break
        summary_lines.append(line.strip())
    args: dict[str, str] = {}
    in_args = False
    current: str | None = None
    for line in doc.splitlines():
        stripped = line.strip()
        if stripped in ("Args:", "Arguments:", "Parameters:"):
            in_args, current = True, None
            continue
        if in_args:
            if stripped.endswith(":") and not line.startswith(" "):
                break  # the next section
            match = re.match(r"^(\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$", stripped)
            if match and line.startswith((" ", "\t")) and _indent(line) <= 8:
                current = match.group(1)
                args[current] = match.group(2)
            elif current and stripped:
                args[current] += " " + stripped
    return " ".join(summary_lines), args


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _relevance(error: jsonschema.ValidationError) -> Any:
    from jsonschema.exceptions import relevance

    return relevance(error)


def _error_field(error: jsonschema.ValidationError) -> str | None:
    path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
    extra: str | None = None
    if error.validator == "required":
        match = re.match(r"^'([^']+)' is a required property", error.message)
        extra = match.group(1) if match else None
    elif error.validator == "additionalProperties":
        match = re.search(r"\('([^']+)'", error.message)
        extra = match.group(1) if match else None
    if extra is not None:
        path = f"{path}.{extra}"
    return path.lstrip(".") or None


def render_output(value: Any) -> str:
    """The text sent back to the model for a tool's return value."""
    if isinstance(value, str):
        return value
    if isinstance(value, BaseModel):
        return value.model_dump_json()
    return json.dumps(value, default=_json_default, ensure_ascii=False)


def output_structure(value: Any, text: str) -> Any:
    """A return value's structure as plain JSON, read back from `text`, its rendering (so it
    is what the model saw); None for text, and for None."""
    if isinstance(value, str) or value is None:
        return None
    return json.loads(text)


def _json_default(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    return str(value)


class SchemaTool(Tool):
    """A tool described by a JSON Schema instead of a signature (an MCP server's tool):
    its body takes the validated arguments as one dict. Its schema is sent as it is
    (``strict`` only when it already meets strict mode's rules)."""

    __slots__ = ("call", "strict")

    def __init__(
        self,
        call: Callable[[dict[str, Any]], Awaitable[Any]],
        *,
        name: str,
        description: str,
        parameters: dict[str, Any],
        side_effect: SideEffect = "read",
        untrusted_output: bool = True,
        timeout: float = DEFAULT_TOOL_TIMEOUT,
        class_from_hints: bool = False,
        facts: Mapping[str, Any] | None = None,
    ) -> None:
        if not _NAME_RE.match(name):
            raise ConfigError(f"tool name {name!r} must match {_NAME_RE.pattern}")
        if side_effect not in SIDE_EFFECTS:
            raise ConfigError(f"tool {name!r}: side_effect must be one of {SIDE_EFFECTS}")
        if timeout <= 0:
            raise ConfigError(f"tool {name!r}: timeout must be positive")
        import jsonschema

        try:
            jsonschema.Draft202012Validator.check_schema(parameters)
        except jsonschema.SchemaError as exc:
            raise ConfigError(
                f"tool {name!r}: its input schema is not JSON Schema: {exc.message}"
            ) from None
        self.call = call
        self.fn = call
        self.name = name
        self.description = description or name
        self.side_effect = side_effect
        self.class_from_hints = class_from_hints
        self.untrusted_output = untrusted_output
        self.always_untrusted = untrusted_output
        self.output_trust = OutputTrust()
        self.timeout = timeout
        self.is_async = True
        self.facts = dict(facts or {})
        self.parameters = parameters
        self.strict = _meets_strict_rules(parameters)
        self._args_model = None  # type: ignore[assignment]  # validated by schema alone
        self._accepts = ()
        self._validator = jsonschema.Draft202012Validator(parameters)
        self.info = ToolInfo(name=name, side_effect=side_effect, untrusted_output=untrusted_output,
                             parameters=parameters, class_from_hints=class_from_hints)  # fmt: skip

    def __repr__(self) -> str:
        return f"SchemaTool({self.name!r}, side_effect={self.side_effect!r})"

    def wire(self) -> dict[str, Any]:
        entry = super().wire()
        entry["strict"] = self.strict
        return entry

    def validate(self, arguments: Any) -> dict[str, Any]:
        """Check the arguments against the schema; return them as given."""
        self._check_schema(arguments)
        return dict(arguments)

    async def invoke(self, arguments: Mapping[str, Any]) -> Any:
        return await self.call(dict(arguments))

    def bind(self, instance: object) -> Tool:
        return self


def _meets_strict_rules(schema: Mapping[str, Any]) -> bool:
    """Whether an object schema already says what strict mode needs: every property
    required and no others allowed, all the way down."""
    if schema.get("type") == "object" or "properties" in schema:
        properties = schema.get("properties") or {}
        if schema.get("additionalProperties") is not False:
            return False
        if set(schema.get("required") or ()) != set(properties):
            return False
        return all(_meets_strict_rules(p) for p in properties.values() if isinstance(p, dict))
    items = schema.get("items")
    return _meets_strict_rules(items) if isinstance(items, dict) else True


def wire_entries(tools: Iterable[Tool]) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """The tools' entries for a request, and each name on the wire -> the tool's own name.

    Raises:
        ConfigError: two tools share a name on the wire (``a.b`` and ``a__b``).
    """
    entries: list[dict[str, Any]] = []
    names: dict[str, str] = {}
    for each in tools:
        entry = each.wire()
        if entry["name"] in names:
            raise ConfigError(
                f"tools {names[entry['name']]!r} and {each.name!r} are both called "
                f"{entry['name']!r} on the wire"
            )
        names[entry["name"]] = each.name
        entries.append(entry)
    return entries, names
