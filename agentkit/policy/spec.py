"""The policy file, as pydantic models: what a YAML policy may say.

Every model forbids unknown keys so a typo is an error, never a silently ignored rule.
The JSON Schema in ``agentkit/policies/policy.schema.json`` is generated from these models.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    WithJsonSchema,
    model_validator,
)

from agentkit.decision import ALWAYS_CONFIRMED, SideEffect
from agentkit.output_paths import PATH_PATTERN, parse_path
from agentkit.privacy.privacy_rules import PrivacyRules

RuleAction = Literal["allow", "deny", "confirm"]
Escalation = Literal["deny", "confirm"]
NormaliseKind = Literal["text", "exact", "email", "account", "iban", "domain", "url"]

_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
_TOOL_NAME_PATTERN = r"^[a-zA-Z0-9_-]{1,64}(\.[a-zA-Z0-9_-]{1,64})?$"
ToolSetName = Annotated[str, Field(pattern=_TOOL_NAME_PATTERN)]
CONDITION_KEYS = ("any_of", "all_of", "not")
"""Keys of a condition that combine conditions; every other key names an argument."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RunLimitsSpec(_Strict):
    """Budgets for one run, as the file writes them (compiled into `agentkit.RunLimits`)."""

    max_turns: int | None = Field(default=None, ge=1)
    """Model turns per run."""
    max_tool_calls: int | None = Field(default=None, ge=0)
    """Executed tool calls per run."""
    max_cost_usd: float | None = Field(default=None, ge=0)
    """Estimated model cost per run, in US dollars."""


class RoleSpec(_Strict):
    """A role principals can hold."""

    description: str = ""
    includes: list[str] = Field(default_factory=list)
    """Roles whose grants this role also has."""


class ListSpec(_Strict):
    """A named list of trusted values: from the policy or configuration, never tool output."""

    values: list[str] = Field(default_factory=list)
    """Values written in the policy."""
    file: str | None = None
    """A text file of values, one a line (``#`` starts a comment); relative to the policy file."""
    env: str | None = None
    """An environment variable holding comma-separated values, read when the policy loads."""
    normalise: NormaliseKind = "text"
    """How values compare: email, account, iban, domain, url, text or exact."""
    description: str = ""


class RateLimit(_Strict):
    """How often a tool (or a side-effect class) may run."""

    per_run: int | None = Field(default=None, ge=0)
    """Executed calls per run."""
    per_minute: int | None = Field(default=None, ge=0)
    """Calls by the same principal in any 60 seconds, across runs."""


class DomainRule(_Strict):
    """Hosts a URL, e-mail address or bare domain argument may (not) name. Subdomains match."""

    allow: list[str] = Field(default_factory=list)
    deny: list[str] = Field(default_factory=list)
    allow_lists: list[str] = Field(default_factory=list)
    """Named lists of allowed domains."""
    deny_lists: list[str] = Field(default_factory=list)
    allow_ranges: list[str] = Field(default_factory=list)
    """Address ranges allowed: networks (``10.0.0.0/8``) or classes (``private``, ...)."""
    deny_ranges: list[str] = Field(default_factory=list)
    """Address ranges denied, whatever spelling of the address a URL uses: networks or the
    classes ``loopback``, ``private``, ``link_local``, ``multicast``, ``reserved``,
    ``unspecified``."""
    schemes: list[str] = Field(default_factory=lambda: ["https", "http"])
    """URL schemes accepted."""


def _output_path(text: str) -> str:
    parse_path(text)  # OutputPathError, a ValueError, names what is wrong
    return text


_PATH_SCHEMA: dict[str, Any] = {
    "type": "string",
    "pattern": PATH_PATTERN,
    "examples": ["[].email", "messages[].sender", "accounts.*.iban"],
}
OutputPathText = Annotated[str, AfterValidator(_output_path), WithJsonSchema(_PATH_SCHEMA)]
"""A path into a structured tool output: keys joined by dots, ``[]`` for every element of a
list, ``*`` for every value of an object."""


def _one_or_more(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


OutputPaths = Annotated[
    list[OutputPathText],
    BeforeValidator(_one_or_more),
    WithJsonSchema({"anyOf": [_PATH_SCHEMA, {"type": "array", "items": _PATH_SCHEMA}]}),
]
"""One path, or a list of them."""


class Provenance(_Strict):
    """Where an argument's value must come from: any one of the sources named."""

    user: bool = True
    """The principal's own messages."""
    lists: list[str] = Field(default_factory=list)
    """Named trusted lists."""
    tools: list[str] = Field(default_factory=list)
    """Outputs of these tools (trusted sources, for example a flight search): the value
    appears in one as a whole token, in its text or in a field of its structure, and only
    in what is labelled trusted."""
    fields: dict[str, OutputPaths] = Field(default_factory=dict)
    """Fields of these tools' structured outputs, a path (or a list of paths) per tool (or
    tool set): the value equals, whole, a field at one of the paths that is labelled
    trusted."""
    approved: bool | None = None
    """Values a person approved earlier in the run (each value, or comma- or semicolon-
    separated piece of one, that a call a person approved sent): ``true`` takes them,
    ``false`` never; unset, as ``approvals.teach`` says where ``user`` is true."""
    normalise: NormaliseKind | None = None
    """Comparison; defaults to the constraint's ``normalise``."""

    def field_paths(self) -> dict[str, tuple[str, ...]]:
        """Each tool of ``fields`` with its paths."""
        return {tool: tuple(paths) for tool, paths in self.fields.items()}


class OutputFields(_Strict):
    """Which fields of a tool's structured outputs are trusted and which untrusted.

    A field takes the label of the longest path that reaches it (untrusted on a tie), a
    field no path reaches the label of the output. An output holding a value under an
    untrusted path counts as untrusted (it is framed as data for the model and sets off
    ``after_untrusted``); provenance may still take values from its trusted fields.
    """

    trusted: list[OutputPathText] = Field(default_factory=list)
    """Fields that are trusted sources even in an output that counts as untrusted."""
    untrusted: list[OutputPathText] = Field(default_factory=list)
    """Fields that are untrusted even in an output of a trusted tool."""


TierAction = Literal["allow", "confirm", "deny"]


class Trust(_Strict):
    """Where an argument's value came from, in three tiers, and what each tier means.

    ``trusted``: the user's messages (and values a person approved in this run), a named
    list, the trusted output of a named tool, or a trusted field named in ``fields``.
    ``third_party``: found only in the output of other calls (e-mails, web pages, a tool
    not named here, an untrusted field). ``nowhere``: found in none.
    """

    user: bool = True
    """The principal's messages (and approved values) are a trusted source."""
    lists: list[str] = Field(default_factory=list)
    """Named trusted lists."""
    tools: list[str] = Field(default_factory=list)
    """Tools (or tool sets) whose trusted output is a trusted source."""
    fields: dict[str, OutputPaths] = Field(default_factory=dict)
    """Fields of these tools' structured outputs that are trusted sources, as in
    ``provenance.fields``."""
    approved: bool | None = None
    """Values a person approved earlier in the run, as in ``provenance.approved``."""
    normalise: NormaliseKind | None = None
    """Comparison; defaults to the constraint's ``normalise``."""
    trusted: TierAction = "allow"
    third_party: TierAction = "confirm"
    nowhere: TierAction = "deny"

    def field_paths(self) -> dict[str, tuple[str, ...]]:
        """Each tool of ``fields`` with its paths."""
        return {tool: tuple(paths) for tool, paths in self.fields.items()}


class ArgConstraint(_Strict):
    """Constraints on one argument: JSON Schema keywords plus domains, lists and provenance.

    A list value is checked element by element for ``domains``, lists and provenance.
    """

    required: bool = False
    """The argument must be present, and not null."""
    if_null: Literal["pass", "deny"] | None = None
    """A null (what a model sends for an optional argument it does not use). In ``args`` it
    passes unless this is ``deny`` (``required: true`` denies it too). In a rule's ``when``
    or ``unless`` it satisfies the condition only with ``pass``: by default a condition
    holds on values the call sent, never on a null or a missing argument."""
    type: str | list[str] | None = None
    enum: list[Any] | None = None
    const: Any = None
    pattern: str | None = None
    format: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    exclusiveMinimum: float | None = None
    exclusiveMaximum: float | None = None
    multipleOf: float | None = Field(default=None, gt=0)
    minLength: int | None = Field(default=None, ge=0)
    maxLength: int | None = Field(default=None, ge=0)
    minItems: int | None = Field(default=None, ge=0)
    maxItems: int | None = Field(default=None, ge=0)
    uniqueItems: bool | None = None
    items: dict[str, Any] | None = None
    """A JSON Schema applied to each element."""
    normalise: NormaliseKind = "text"
    """How values compare with lists and user messages."""
    in_list: str | None = None
    """The value must be in this named trusted list."""
    not_in_list: str | None = None
    domains: DomainRule | None = None
    provenance: Provenance | None = None
    trust: Trust | None = None
    """Three tiers of where the value came from, each with its own action (``args`` only)."""
    split: str | None = Field(default=None, min_length=1)
    """Separator characters (``","``, ``",;"``): a text value is a list of the pieces between
    them, and lists, domains, provenance and trust check each piece (each address of
    ``"a@x.com, b@y.com"``). JSON Schema keywords still see the whole text."""

    @model_validator(mode="after")
    def _trust_or_provenance(self) -> ArgConstraint:
        if self.trust is not None and self.provenance is not None:
            raise ValueError(
                "trust and provenance both say where the value must come from: "
                "give the sources under trust (user, lists, tools)"
            )
        return self

    def json_schema(self) -> dict[str, Any]:
        """The JSON Schema keywords set on this constraint."""
        keys = (
            "type",
            "enum",
            "pattern",
            "format",
            "minimum",
            "maximum",
            "exclusiveMinimum",
            "exclusiveMaximum",
            "multipleOf",
            "minLength",
            "maxLength",
            "minItems",
            "maxItems",
            "uniqueItems",
            "items",
        )
        schema = {k: getattr(self, k) for k in keys if getattr(self, k) is not None}
        if "const" in self.model_fields_set:
            schema["const"] = self.const
        return schema


class ResultCacheRule(_Strict):
    """Keep a read tool's results for a while: a call with the same normalised arguments
    gets the kept result instead of running the tool again."""

    ttl: float = Field(gt=0, le=86_400)
    """Seconds a result is kept."""
    shared: bool = False
    """``true``: every principal shares the results (the tool's answers do not depend on
    who asks); otherwise each principal (user and workspace) has their own."""


class ToolRule(_Strict):
    """What the policy says about one tool."""

    action: RuleAction = "deny"
    description: str = ""
    side_effect: SideEffect | None = None
    """The tool's class as the policy knows it; must agree with the agent's declaration."""
    untrusted_output: bool = False
    """Mark the tool's output untrusted; the policy can add this mark, never remove it."""
    untrusted_columns: list[str] = Field(default_factory=list)
    """For database tools: result columns holding user-written text (untrusted)."""
    output_fields: OutputFields | None = None
    """Trust by field of the tool's structured outputs (``[].sender`` trusted, ``[].body``
    untrusted)."""
    roles: list[str] | None = None
    """Roles that may use the tool; unset means the class rule's roles, else anyone."""
    args: dict[str, ArgConstraint] = Field(default_factory=dict)
    """Constraints per argument (a dotted path reaches into objects)."""
    rate_limit: RateLimit | None = None
    side_effect_by: SideEffectBy | None = None
    """A class per call, read from one argument (``action: delete`` is destructive)."""
    sensitive: bool | Sensitivity | list[Sensitivity] = False
    """Values this tool outputs carry a sensitivity label (``true``: label ``sensitive``,
    the whole output); ``sinks`` say where labelled values may go."""
    cache: ResultCacheRule | None = None
    """Keep this read tool's results (``cache: {ttl: 300}``); per principal unless shared."""

    def sensitivities(self) -> list[Sensitivity]:
        """The ``sensitive`` marks as a list (``true`` is one mark with the defaults)."""
        if self.sensitive is True:
            return [Sensitivity()]
        if isinstance(self.sensitive, Sensitivity):
            return [self.sensitive]
        return self.sensitive or []

    @model_validator(mode="before")
    @classmethod
    def _no_destructive_opt_out(cls, data: Any) -> Any:
        if isinstance(data, dict) and "allow_destructive_unconfirmed" in data:
            raise ValueError(
                "allow_destructive_unconfirmed is not supported: a destructive tool always "
                "waits for a person; if the tool destroys nothing, declare it side_effect: write"
            )
        return data

    @model_validator(mode="after")
    def _destructive_is_confirmed(self) -> ToolRule:
        if self.side_effect in ALWAYS_CONFIRMED and self.action == "allow":
            raise ValueError(
                f"a {self.side_effect} tool cannot be allowed: use action: confirm "
                f"(a {self.side_effect} call always waits for a person)"
            )
        return self


class SideEffectBy(_Strict):
    """A tool's class per call, chosen by the value of one argument."""

    arg: str = Field(min_length=1)
    """The argument (dotted path) whose value picks the class."""
    values: dict[str, SideEffect] = Field(min_length=1)
    """The class of each value, compared exactly (``list: read, delete: destructive``)."""
    default: SideEffect = "destructive"
    """The class of any other value, and of a missing or null argument."""


class Sensitivity(_Strict):
    """A sensitivity label on values a tool outputs."""

    label: str = Field(default="sensitive", pattern=_ID_PATTERN)
    fields: list[str] = Field(default_factory=list)
    """Fields of the output carrying the label: dotted paths into JSON output, or keys of
    ``key: value`` lines in text output. Empty: every value of the output."""
    normalise: NormaliseKind = "text"
    """How the values are found in arguments (``account`` finds a card number however it is
    grouped)."""
    min_length: int = Field(default=4, ge=1)
    """Shorter values (``yes``, ``EUR``) carry no label."""


class Condition(BaseModel):
    """A condition on a call's arguments: every key must hold.

    A key names an argument (a dotted path) and maps to its constraint, or is one of
    ``any_of`` (a list: at least one holds), ``all_of`` (a list: every one holds) and
    ``not`` (one condition: it does not hold). A constraint on an argument the call lacks,
    or left null, is unknown (unless ``if_null: pass``); ``not`` of unknown is unknown, and a
    condition counts only when it certainly holds.
    """

    model_config = ConfigDict(extra="allow", frozen=True)
    __pydantic_extra__: dict[str, ArgConstraint] = Field(init=False)

    any_of: list[Condition] | None = Field(default=None, min_length=1)
    all_of: list[Condition] | None = Field(default=None, min_length=1)
    not_: Condition | None = Field(default=None, alias="not")

    def arguments(self) -> dict[str, ArgConstraint]:
        """The argument constraints at this level (not those inside any_of, all_of, not)."""
        return dict(self.model_extra or {})

    def is_empty(self) -> bool:
        """True for ``{}``, which holds for every call."""
        return (
            not self.model_extra
            and self.any_of is None
            and self.all_of is None
            and (self.not_ is None)
        )


class ClassRule(_Strict):
    """What the policy says about every tool of one side-effect class it does not name."""

    action: RuleAction = "deny"
    description: str = ""
    roles: list[str] | None = None
    rate_limit: RateLimit | None = None
    """Applies to the class as a whole, across its tools."""


class Rule(_Strict):
    """An escalation: when it matches, the call is confirmed or denied.

    A rule matches a call to one of ``tools`` or of ``classes`` (all calls if both are
    empty) when its ``when`` condition certainly holds, its ``unless`` condition does
    not, and, if set, once untrusted output entered the run (``after_untrusted``), one of
    ``after_tools`` ran, or a tool marked sensitive ran (``after_sensitive``).
    """

    id: str = Field(pattern=_ID_PATTERN)
    action: Escalation = "deny"
    reason: str = ""
    """Message for the model; a default names the rule."""
    tools: list[str] = Field(default_factory=list)
    classes: list[SideEffect] = Field(default_factory=list)
    when: Condition = Field(default_factory=Condition)
    """Argument conditions: the rule matches only when the condition certainly holds."""
    unless: Condition = Field(default_factory=Condition)
    """Exceptions: the rule does not match when this condition certainly holds."""
    after_untrusted: bool | list[str] = False
    """``true``: after any untrusted output; a list: after output of these tools."""
    after_tools: list[str] = Field(default_factory=list)
    """Only once one of these tools (or tool sets) ran in this run (a password vault)."""
    after_sensitive: bool | list[str] = False
    """``true``: once a tool marked ``sensitive`` ran; a list: one with these labels."""
    roles: list[str] | None = None
    """Only for principals holding one of these roles (unset: everyone)."""
    unless_roles: list[str] = Field(default_factory=list)
    """Not for principals holding one of these roles (for example a treasurer)."""
    enabled: bool = True
    """``false`` switches off a rule of the same id from a base policy."""


class Quota(_Strict):
    """A cumulative cap: the sum of a numeric argument over a run's executed calls."""

    id: str = Field(pattern=_ID_PATTERN)
    sum: str
    """The argument summed (dotted path)."""
    max: float = Field(ge=0)
    tools: list[str] = Field(default_factory=list)
    classes: list[SideEffect] = Field(default_factory=list)
    action: Escalation = "deny"
    """What happens to the call that would pass the cap."""
    reason: str = ""
    enabled: bool = True


class SinkAllow(_Strict):
    """Where labelled values may go: a call matching every key set here."""

    tools: list[str] = Field(default_factory=list)
    """These tools (or tool sets); empty with no classes: any tool."""
    classes: list[SideEffect] = Field(default_factory=list)
    args: list[str] = Field(default_factory=list)
    """Only in these arguments (dotted paths; a path also covers what is inside it)."""
    when: Condition = Field(default_factory=Condition)
    """And only when this holds, for example on the recipient."""


class Sink(_Strict):
    """A call carrying a labelled value in its arguments is escalated unless a sink allows it."""

    id: str = Field(pattern=_ID_PATTERN)
    labels: list[str] = Field(min_length=1)
    allow: list[SinkAllow] = Field(default_factory=list)
    action: Escalation = "deny"
    reason: str = ""
    enabled: bool = True


class Approvals(_Strict):
    """What a person's approval teaches the policy for the rest of the run."""

    teach: bool = True
    """Values of an approved call are a source for provenance and trust wherever ``user`` is
    true and the constraint does not set ``approved`` (which decides alone where set):
    inviting Dora once approved, Dora's address is trusted."""
    except_tools: list[str] = Field(default_factory=list)
    """Tools (or tool sets) whose approvals vouch for nothing, under ``teach`` and
    ``approved: true`` alike (a transfer's payee)."""


class ApproverRule(_Strict):
    """Who may decide the confirmed calls it matches (the first matching entry counts).

    An entry matches a call to one of ``tools`` or of ``classes`` (every confirmed call if
    both are empty) whose arguments certainly satisfy ``when``. Unmatched calls get the
    defaults: anyone decides, one approval, and no approving one's own destructive,
    financial or external_send call.
    """

    id: str = Field(pattern=_ID_PATTERN)
    tools: list[str] = Field(default_factory=list)
    classes: list[SideEffect] = Field(default_factory=list)
    when: Condition = Field(default_factory=Condition)
    """Argument conditions (``amount: {minimum: 1000}``): only calls that certainly hold them."""
    roles: list[str] | None = None
    """Roles that may decide (or any role that includes one); unset: anyone."""
    self_approval: bool | None = None
    """May the person the run is for approve it? Unset: no for destructive, financial and
    external_send calls, yes otherwise."""
    required: int = Field(default=1, ge=1, le=10)
    """Distinct people who must approve (2: the two-person rule); one denial ends it."""
    expires: float | None = Field(default=None, gt=0)
    """Seconds after the request past which it can no longer be approved."""
    enabled: bool = True
    """``false`` switches off an entry of the same id from a base policy."""


class ImageInputRule(_Strict):
    """Who may give a run images (``Agent.run(..., images=...)``)."""

    allow: bool = True
    """``false``: nobody; the run is refused before anything is sent."""
    roles: list[str] | None = None
    """Roles that may (or any role that includes one); unset: anyone."""
    moderated: bool = False
    """``true``: only an agent with a moderator (``Agent(moderator=...)``) may send them."""


class InputsSpec(_Strict):
    """What a run may carry beside its text."""

    images: ImageInputRule | None = None


class RetrievalSpec(_Strict):
    """What each role may search on xAI: the collections of its ``file_search`` entries.
    A role that includes another may search its collections too. (A local index is a
    tool of its own: who may search it is that tool's ``roles``.)"""

    collections: dict[str, list[str]] = Field(default_factory=dict)
    """Role -> xAI collection ids its ``file_search`` entries may name."""


class PolicyFile(_Strict):
    """One YAML policy file. Later files (and ``extends``) merge as documented in docs/policy.md."""

    version: Literal[1]
    """Format version; always 1 for now."""
    extends: str | list[str] | None = None
    """Base policies: paths relative to this file, or shipped ones by name
    (``agentkit:baseline``); they load first and this file overrides them."""
    description: str | None = None
    default: Escalation | None = None
    """The action for tools the policy names nowhere (``deny`` unless set)."""
    run_limits: RunLimitsSpec | None = None
    roles: dict[str, RoleSpec] = Field(default_factory=dict)
    lists: dict[str, ListSpec] = Field(default_factory=dict)
    classes: dict[SideEffect, ClassRule] = Field(default_factory=dict)
    tools: dict[str, ToolRule] = Field(default_factory=dict)
    rules: list[Rule] = Field(default_factory=list)
    quotas: list[Quota] = Field(default_factory=list)
    tool_sets: dict[ToolSetName, Annotated[list[str], Field(min_length=1)]] = Field(
        default_factory=dict
    )
    """Named tool lists, usable wherever a list of tools is (a set may name sets)."""
    sinks: list[Sink] = Field(default_factory=list)
    approvals: Approvals | None = None
    approvers: list[ApproverRule] = Field(default_factory=list)
    """Who may decide confirmed calls: roles, self-approval, how many, how long."""
    inputs: InputsSpec | None = None
    """What runs may carry beside text: ``inputs: {images: {roles: [support]}}``."""
    retrieval: RetrievalSpec | None = None
    """What each role may search: ``retrieval: {collections: {support: [col_kb]}}``."""
    privacy: PrivacyRules | None = None
    """What leaves for the model: detectors by default, role and tool, each ``block``,
    ``redact`` (a placeholder the model sees) or ``allow`` (`agentkit.privacy`)."""


def policy_json_schema() -> dict[str, Any]:
    """The JSON Schema of a policy file."""
    schema = PolicyFile.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "agentkit policy"
    return schema


def policy_json_schema_text() -> str:
    """The JSON Schema as the text of ``agentkit/policies/policy.schema.json``."""
    return json.dumps(policy_json_schema(), indent=2, sort_keys=True) + "\n"
