"""A tool's compensation: the tool that reverses its effect, and how to fill in its arguments.

`Tool.compensation_arguments` maps each argument of the compensating tool to a CEL expression
over the original call: `args` (its final arguments, as a reviewer may have edited them) and
`result` (its ToolResult as a dict), e.g. {"refund_id": "result.data.refund_id", "amount":
"args.amount"}. The expressions are checked when the tool is saved and evaluated by the
project's bounded evaluator (core/cel/bounded.py) when an action is undone.
"""

import json
import re
import time
from dataclasses import dataclass
from typing import Any

from agents.models import Tool
from core.cel.bounded import cel_evaluate_bounded
from core.cel.conditions import ConditionError, condition_check
from core.errors import Invalid

MAX_MAPPED_ARGUMENTS = 32
ARGUMENT_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,63}$")
# For all the expressions of one compensation together: a mapping is a handful of field reads.
EVALUATION_BUDGET_MS = 250
# The compensation's arguments, as JSON: as much as a tool call's arguments reasonably hold.
MAX_ARGUMENTS_CHARS = 64_000


def compensation_check(tool: Tool) -> None:
    """Raise Invalid (naming the field) unless the tool's compensation and mapping fit together."""
    mapping = tool.compensation_arguments
    compensation = tool.compensation
    if not isinstance(mapping, dict):
        raise Invalid("compensation_arguments must be an object", field="compensation_arguments")
    if compensation is None:
        if mapping:
            raise Invalid(
                "compensation_arguments need a compensation tool to fill in", field="compensation_arguments"
            )
        return
    if compensation.name == tool.name or (compensation.pk is not None and compensation.pk == tool.pk):
        raise Invalid("a tool cannot be its own compensation", field="compensation")
    if len(mapping) > MAX_MAPPED_ARGUMENTS:
        raise Invalid(
            f"compensation_arguments has {len(mapping)} entries; the limit is {MAX_MAPPED_ARGUMENTS}",
            field="compensation_arguments",
        )
    schema = compensation.parameters if isinstance(compensation.parameters, dict) else {}
    properties = schema.get("properties")
    for name, source in mapping.items():
        if not ARGUMENT_NAME.match(name):
            raise Invalid(f"{name[:80]!r} is not an argument name", field="compensation_arguments")
        if isinstance(properties, dict) and name not in properties:
            raise Invalid(f"{compensation.name} takes no argument {name!r}", field="compensation_arguments")
        if not isinstance(source, str) or not source.strip():
            raise Invalid(
                f"compensation_arguments.{name} must be a CEL expression (a string)",
                field="compensation_arguments",
            )
        try:
            condition_check(source)
        except ConditionError as exc:
            # The checks speak of conditions; here each is an argument's expression.
            message = str(exc).replace("the condition", f"compensation_arguments.{name}", 1)
            raise Invalid(message, field="compensation_arguments") from exc
    required = schema.get("required")
    missing = sorted(set(required) - set(mapping)) if isinstance(required, list) else []
    if missing:
        raise Invalid(
            f"{compensation.name} requires {', '.join(map(str, missing))}: map each to an expression",
            field="compensation_arguments",
        )


@dataclass(frozen=True)
class CompensationCall:
    """The compensating call for one executed action, or why there is none (`error`)."""

    tool: str
    arguments: dict[str, Any] | None
    error: str = ""


def compensation_arguments_evaluate(
    *, tool: Tool, compensation: Tool, args: dict[str, Any], result: dict[str, Any]
) -> CompensationCall:
    """The compensation's arguments for one call of `tool` with final `args` and `result`.

    Every expression runs within one budget; the first that fails (a missing field, a type
    error, the budget running out) is the error, and no arguments are given.
    """
    mapping: dict[str, str] = tool.compensation_arguments or {}
    facts = {"args": args, "result": result}
    try:
        facts_json = json.dumps(facts, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError, RecursionError):
        return CompensationCall(compensation.name, None, "the original call is not plain JSON")
    deadline = time.monotonic() + EVALUATION_BUDGET_MS / 1000
    arguments: dict[str, Any] = {}
    for name, source in sorted(mapping.items()):
        outcome = cel_evaluate_bounded(
            source, facts, deadline=deadline, budget_ms=EVALUATION_BUDGET_MS, facts_json=facts_json
        )
        if outcome.error:
            return CompensationCall(compensation.name, None, f"{name}: {outcome.error}")
        arguments[name] = outcome.value
    if len(json.dumps(arguments)) > MAX_ARGUMENTS_CHARS:
        return CompensationCall(
            compensation.name, None, f"the arguments exceed {MAX_ARGUMENTS_CHARS} characters as JSON"
        )
    return CompensationCall(compensation.name, arguments)
