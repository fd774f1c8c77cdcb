"""The one entry point for a tool call a model asked for: validate, dispatch, order the result.

Whatever the model sent and whatever the tool did, the caller gets a ToolResult back, never an
exception: the model reads the result and can correct itself.
"""

import json
import re
from dataclasses import replace
from typing import Any
from uuid import UUID

from agents.models import Tool
from agents.tools.http import http_tool_call
from agents.tools.ordering import result_order
from agents.tools.python import python_tool_call
from agents.tools.result import ToolResult
from agents.tools.schema import EMPTY_PARAMETERS, ToolSchemaError, arguments_errors

# How much of unparsable arguments is quoted back to the model.
MAX_QUOTED_CHARS = 200


def tool_call_execute(
    *, tool: Tool, arguments: dict[str, Any] | None, raw_arguments: str = "", idempotency_key: str
) -> ToolResult:
    """Run `tool` with the model's arguments, validated against its JSON Schema first.

    `arguments` is None when the model's arguments were not valid JSON; `raw_arguments` is
    then what it sent (empty meaning it sent none, which is the same as `{}`).
    """
    parsed = _parsed_arguments(tool, arguments, raw_arguments)
    if isinstance(parsed, ToolResult):
        return parsed
    try:
        errors = arguments_errors(tool.parameters, parsed)
    except ToolSchemaError as exc:
        return ToolResult.error("permanent", f"{tool.name} cannot be called: {exc}; an admin must fix it")
    if errors:
        return ToolResult.error(
            "permanent",
            f"invalid arguments for {tool.name}: " + "; ".join(errors) + ". Fix them and call again.",
        )
    if tool.kind == Tool.Kind.HTTP:
        result = http_tool_call(tool=tool, arguments=parsed, idempotency_key=idempotency_key)
    elif tool.kind == Tool.Kind.PYTHON:
        result = python_tool_call(tool=tool, arguments=parsed, idempotency_key=idempotency_key)
    else:
        return ToolResult.error("permanent", f"{tool.name} has an unknown kind {tool.kind!r}")
    if result.status == "success":
        result = replace(result, data=result_order(result.data))
    return result


def tool_unknown_result(*, name: str, available: list[str]) -> ToolResult:
    """The answer to a model that called a tool this agent does not have."""
    offer = f"Available tools: {', '.join(sorted(available))}." if available else "This agent has no tools."
    return ToolResult.error("permanent", f"There is no tool named {name[:64]!r}. {offer}")


def tool_call_idempotency_key(*, task_id: UUID | str, step_index: int, call_index: int) -> str:
    """The key of one tool call: the same for every delivery of the same step.

    Task ids are UUIDs, so keys are unique across tasks and across Tollgate installations
    calling the same service.
    """
    return f"tollgate-{task_id}-{step_index}-{call_index}"


def tool_call_key_parse(key: str) -> tuple[UUID, int, int] | None:
    """(task id, step index, call index) from a key made by tool_call_idempotency_key, so a
    Python tool can tell which task called it; None for any other key."""
    match = re.fullmatch(r"tollgate-([0-9a-f-]{36})-(\d+)-(\d+)", key)
    if match is None:
        return None
    return UUID(match[1]), int(match[2]), int(match[3])


def tool_spec(tool: Tool) -> dict[str, Any]:
    """`tool` in the OpenAI function-tool format the providers send to models."""
    return {
        "type": "function",
        "function": {
            "name": tool.name,
            "description": tool.description,
            "parameters": tool.parameters or EMPTY_PARAMETERS,
        },
    }


def _parsed_arguments(tool: Tool, arguments: dict[str, Any] | None, raw: str) -> dict[str, Any] | ToolResult:
    if arguments is None:
        if not raw.strip():
            return {}
        try:
            decoded = json.loads(raw)
        except ValueError as exc:
            quoted = raw if len(raw) <= MAX_QUOTED_CHARS else raw[:MAX_QUOTED_CHARS] + "…"
            return ToolResult.error(
                "permanent",
                f"the arguments for {tool.name} are not valid JSON ({exc}): {quoted}. "
                "Send one JSON object matching the tool's parameters.",
            )
        arguments = decoded
    if not isinstance(arguments, dict):
        return ToolResult.error(
            "permanent",
            f"the arguments for {tool.name} must be a JSON object, not {_json_kind(arguments)}.",
        )
    return arguments


def _json_kind(value: Any) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return "null"
