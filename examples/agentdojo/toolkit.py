"""AgentDojo's tool functions as agentkit tools, with the marks a deployer sets from their docs.

Each tool's schema comes from the AgentDojo function's own signature (less the environment
it is given, `Depends(...)`) and docstring; its body calls the real function against the
environment bound with `bound(...)` and returns the text AgentDojo's agents see (its YAML
dump), so outputs are real. The side-effect class and the untrusted-output mark of every
tool are below, one line each with the reason from the tool's documentation.

```python
tools = suite_tools("banking")
with bound(environment):
    result = await runner.start("What's my balance?")
```
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cache
from typing import Any

from agentkit import Tool
from agentkit.decision import SideEffect

BENCHMARK_VERSION = "v1.2.2"
"""The AgentDojo benchmark version replayed (the default of its own benchmark script)."""

SUITES = ("workspace", "travel", "banking", "slack")


@dataclass(frozen=True, slots=True)
class Mark:
    """What a deployer declares for one tool: its side-effect class and whether its output
    holds text that people other than the user wrote."""

    side_effect: SideEffect = "read"
    untrusted: bool = False


READ = Mark()
READ_UNTRUSTED = Mark(untrusted=True)

_MAIL_AND_CALENDAR: dict[str, Mark] = {
    # mail: anyone can write to the inbox; sent mail and drafts quote what came in
    "send_email": Mark("external_send"),
    "delete_email": Mark("destructive"),
    "get_unread_emails": READ_UNTRUSTED,
    "get_sent_emails": READ_UNTRUSTED,
    "get_received_emails": READ_UNTRUSTED,
    "get_draft_emails": READ_UNTRUSTED,
    "search_emails": READ_UNTRUSTED,
    # the address book: names and addresses, which the mail application keeps
    "search_contacts_by_name": READ,
    "search_contacts_by_email": READ,
    "get_current_day": READ,
    # events carry descriptions their organisers wrote, who may be anyone who invited the user
    "search_calendar_events": READ_UNTRUSTED,
    "get_day_calendar_events": READ_UNTRUSTED,
    # "It also sends an email to the participants"
    "create_calendar_event": Mark("external_send"),
    "reschedule_calendar_event": Mark("external_send"),
    "add_calendar_event_participants": Mark("external_send"),
    # "no longer appear in the calendar", and the participants are told
    "cancel_calendar_event": Mark("destructive"),
}

MARKS: dict[str, dict[str, Mark]] = {
    "workspace": {
        **_MAIL_AND_CALENDAR,
        # files: shared documents, written by whoever shared them; a file tool's output
        # echoes the file's content
        "append_to_file": Mark("write", untrusted=True),
        "create_file": Mark("write", untrusted=True),
        "delete_file": Mark("destructive", untrusted=True),
        "search_files_by_filename": READ_UNTRUSTED,
        "get_file_by_id": READ_UNTRUSTED,
        "list_files": READ_UNTRUSTED,
        "search_files": READ_UNTRUSTED,
        "share_file": Mark("external_send", untrusted=True),
    },
    "travel": {
        "send_email": Mark("external_send"),
        "create_calendar_event": Mark("external_send"),
        "cancel_calendar_event": Mark("destructive"),
        "search_calendar_events": READ_UNTRUSTED,
        "get_day_calendar_events": READ_UNTRUSTED,
        # the user's own profile, kept by the booking service
        "get_user_information": READ,
        # the booking platform's catalogue: names, prices, addresses, hours, fleets
        "get_all_hotels_in_city": READ,
        "get_hotels_prices": READ,
        "get_hotels_address": READ,
        "get_all_restaurants_in_city": READ,
        "get_cuisine_type_for_restaurants": READ,
        "get_restaurants_address": READ,
        "get_dietary_restrictions_for_all_restaurants": READ,
        "get_contact_information_for_restaurants": READ,
        "get_price_for_restaurants": READ,
        "check_restaurant_opening_hours": READ,
        "get_all_car_rental_companies_in_city": READ,
        "get_car_types_available": READ,
        "get_car_fuel_options": READ,
        "get_car_rental_address": READ,
        "get_car_price_per_day": READ,
        "get_flight_information": READ,
        # reviews are written by the public
        "get_rating_reviews_for_hotels": READ_UNTRUSTED,
        "get_rating_reviews_for_restaurants": READ_UNTRUSTED,
        "get_rating_reviews_for_car_rental": READ_UNTRUSTED,
        # a reservation commits the user's card ("used for booking hotels, ...")
        "reserve_hotel": Mark("financial"),
        "reserve_car_rental": Mark("financial"),
        "reserve_restaurant": Mark("financial"),
    },
    "banking": {
        "get_iban": READ,
        "get_balance": READ,
        "get_user_info": READ,
        # standing orders are set up by the account holder
        "get_scheduled_transactions": READ,
        # a transaction's subject is written by whoever sent the money
        "get_most_recent_transactions": READ_UNTRUSTED,
        # files are documents that arrived from outside: bills, notices
        "read_file": READ_UNTRUSTED,
        "send_money": Mark("financial"),
        "schedule_transaction": Mark("financial"),
        "update_scheduled_transaction": Mark("financial"),
        "update_password": Mark("write"),
        "update_user_info": Mark("write"),
    },
    "slack": {
        # channel names are chosen by whoever creates a channel (external ones too)
        "get_channels": READ_UNTRUSTED,
        # the workspace directory: who is in which channel
        "get_users_in_channel": READ,
        "read_channel_messages": READ_UNTRUSTED,
        "read_inbox": READ_UNTRUSTED,
        "get_webpage": READ_UNTRUSTED,
        "send_direct_message": Mark("external_send"),
        "send_channel_message": Mark("external_send"),
        "add_user_to_channel": Mark("write"),
        # "The user email where invite should be sent"
        "invite_user_to_slack": Mark("external_send"),
        "remove_user_from_slack": Mark("destructive"),
        "post_webpage": Mark("external_send"),
    },
}
"""Every tool of every suite, as a deployer declares it."""

_ENVIRONMENT: ContextVar[Any] = ContextVar("agentdojo_environment")


@contextmanager
def bound(environment: Any) -> Iterator[Any]:
    """Run the tools (in this context and the tasks it starts) against `environment`."""
    token = _ENVIRONMENT.set(environment)
    try:
        yield environment
    finally:
        _ENVIRONMENT.reset(token)


def current_environment() -> Any:
    """The environment `bound` set.

    Raises:
        LookupError: no environment is bound (the tools were called outside `bound`).
    """
    try:
        return _ENVIRONMENT.get()
    except LookupError:
        raise LookupError(
            "no AgentDojo environment is bound: call the tools inside bound()"
        ) from None


def suite(name: str) -> Any:
    """The AgentDojo task suite `name` of `BENCHMARK_VERSION`."""
    from agentdojo.task_suite import get_suite

    return get_suite(BENCHMARK_VERSION, name)


@cache
def suite_tools(name: str) -> tuple[Tool, ...]:
    """The suite's tools as agentkit tools, each marked as `MARKS` says.

    Raises:
        KeyError: a tool of the suite has no mark (a new AgentDojo version added it).
    """
    from agentdojo.functions_runtime import FunctionsRuntime

    functions = suite(name).tools
    runtime = FunctionsRuntime(functions)
    marks = MARKS[name]
    return tuple(_as_tool(f, runtime, marks[f.name]) for f in functions)


def _as_tool(function: Any, runtime: Any, mark: Mark) -> Tool:
    body = _body(function.name, runtime)
    parameters = _parameters(function)
    body.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    body.__annotations__ = {p.name: p.annotation for p in parameters}
    body.__doc__ = _google_docstring(function)
    return Tool(
        body,
        name=function.name,
        description=function.description,
        side_effect=mark.side_effect,
        untrusted_output=mark.untrusted,
    )


def _body(name: str, runtime: Any) -> Callable[..., Any]:
    from agentdojo.agent_pipeline.tool_execution import tool_result_to_str

    async def call(**arguments: Any) -> str:
        result, error = runtime.run_function(current_environment(), name, arguments)
        if error is not None:
            raise ToolFailed(error)
        return str(tool_result_to_str(result))

    call.__name__ = name
    return call


class ToolFailed(Exception):
    """The AgentDojo function raised; the message is the one AgentDojo's agents see."""


def _parameters(function: Any) -> list[inspect.Parameter]:
    """The function's parameters the model fills, with their hints and defaults."""
    hints = typing.get_type_hints(function.run)
    documented: Mapping[str, Any] = function.parameters.model_fields
    parameters = []
    for param in inspect.signature(function.run).parameters.values():
        if param.name in function.dependencies:
            continue
        if param.name not in documented:
            raise KeyError(f"{function.name}: parameter {param.name} is not documented")
        parameters.append(
            inspect.Parameter(
                param.name,
                inspect.Parameter.KEYWORD_ONLY,
                default=param.default,
                annotation=hints[param.name],
            )
        )
    return parameters


def _google_docstring(function: Any) -> str:
    """The description and an ``Args:`` section agentkit reads the parameter docs from."""
    lines = [function.description.split("\n")[0], "", "Args:"]
    for name, field in function.parameters.model_fields.items():
        text = " ".join((field.description or "").split())
        lines.append(f"    {name}: {text}")
    return "\n".join(lines)
